"""Instrument definitions: load, validate and list scoring keys.

An instrument file is YAML holding the scoring structure of one questionnaire
(response range, items with our own short labels and reverse flags, scales,
missing-item rule, severity bands, published reliabilities, licence and
citation). It never holds item wording. The schema is enforced by pydantic;
a malformed file raises :class:`~stseval.errors.InstrumentDefinitionError`
naming every offending field by its key path.

Built-in instruments live in the repository's ``instruments/`` folder and ship
inside the wheel (``stseval/_builtin_instruments``); they load through
:mod:`importlib.resources`, so a non-editable install works.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InstrumentDefinitionError, UsageError

__all__ = [
    "Instrument",
    "Scale",
    "Item",
    "MissingRule",
    "BandSet",
    "load_instrument",
    "list_instruments",
    "builtin_keys",
    "item_column",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Licence(_Frozen):
    status: str
    summary: str
    confirmed: bool = False


class Response(_Frozen):
    """Allowed answers: ``min``, ``min + step``, ..., ``max``; optional N/A code."""

    min: int
    max: int
    step: int = 1
    anchors: dict[int, str]
    anchor_sets: dict[str, dict[int, str]] = Field(default_factory=dict)
    not_applicable: int | None = None
    not_applicable_label: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Response:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        if self.step < 1 or (self.max - self.min) % self.step:
            raise ValueError(f"step {self.step} must divide max - min ({self.max - self.min})")
        for name, anchors in {"anchors": self.anchors, **self.anchor_sets}.items():
            bad = [v for v in anchors if v < self.min or v > self.max or (v - self.min) % self.step]
            if bad:
                raise ValueError(f"{name} has values outside the response range: {bad}")
        if self.not_applicable is not None and self.min <= self.not_applicable <= self.max:
            raise ValueError("not_applicable code must lie outside the response range")
        return self

    @property
    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1, self.step))


class Item(_Frozen):
    number: int = Field(ge=1)
    label: str = Field(min_length=1, max_length=40)
    reverse: bool = False
    anchor_set: str | None = None

    @model_validator(mode="after")
    def _short_label(self) -> Item:
        if len(self.label.split()) > 5:
            raise ValueError(
                "label must be a short paraphrase (at most 5 words), never item wording"
            )
        return self


class MissingRule(_Frozen):
    """Missing-item rule of a scale.

    ``rule="prorate"``: the score is computed from the answered items (a sum
    is prorated as mean of answered x number of items) when at least
    ``min_answered`` items are answered; ``min_answered`` below 1 is a
    fraction of the scale's items (rounded up), 1 or more an item count.
    ``rule="complete"``: every item must be answered. ``source`` says whose
    rule it is: the instrument's ``author`` or a ``kit`` convention.
    """

    rule: Literal["prorate", "complete"] = "prorate"
    min_answered: float = Field(default=0.8, gt=0)
    source: Literal["author", "kit", "user"] = "kit"
    note: str | None = None

    def required(self, n_items: int) -> int:
        """Number of answered items needed for a score on a scale of ``n_items``."""
        if self.rule == "complete":
            return n_items
        if self.min_answered < 1:
            return min(n_items, max(1, math.ceil(self.min_answered * n_items - 1e-9)))
        return min(n_items, int(self.min_answered))


class Scale(_Frozen):
    label: str
    items: tuple[int, ...] = Field(min_length=1)
    method: Literal["sum", "mean"]
    missing_rule: MissingRule | None = None


class Band(_Frozen):
    label: str
    lower: float


class BandSet(_Frozen):
    """Severity bands: a score gets the last band whose ``lower`` it reaches."""

    default: bool = False
    scale: str | tuple[str, ...]
    source: str
    bands: tuple[Band, ...] = Field(min_length=2)

    @property
    def scales(self) -> tuple[str, ...]:
        return (self.scale,) if isinstance(self.scale, str) else tuple(self.scale)

    @model_validator(mode="after")
    def _ordered(self) -> BandSet:
        lowers = [b.lower for b in self.bands]
        if lowers != sorted(lowers) or len(set(lowers)) != len(lowers):
            raise ValueError("bands must be listed with strictly increasing 'lower' bounds")
        return self


class DiagnosticRule(_Frozen):
    label: str
    source: str
    endorsed_at: int
    require: dict[str, int]


class Reliability(_Frozen):
    scale: str
    statistic: Literal["alpha", "omega", "test_retest"]
    value: float = Field(gt=0, lt=1)
    source: str
    confirmed: bool = False


class Instrument(_Frozen):
    """A validated, immutable instrument definition (see the module docstring)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
    name: str
    short_name: str
    version: str
    citation: str
    doi: str | None = None
    licence: Licence
    recall_period: str | None = None
    kit_authored: bool = False
    validated: bool = True
    validation_note: str | None = None
    response: Response
    items: tuple[Item, ...] = Field(min_length=1)
    scales: dict[str, Scale] = Field(min_length=1)
    missing_rule: MissingRule = MissingRule()
    band_sets: dict[str, BandSet] = Field(default_factory=dict)
    diagnostic_rules: dict[str, DiagnosticRule] = Field(default_factory=dict)
    reliability: tuple[Reliability, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        numbers = [i.number for i in self.items]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"items must be numbered 1..{len(numbers)} in order; got {numbers}")
        known_sets = set(self.response.anchor_sets)
        for item in self.items:
            if item.anchor_set is not None and item.anchor_set not in known_sets:
                raise ValueError(
                    f"item {item.number}: anchor_set {item.anchor_set!r} is not in "
                    f"response.anchor_sets ({sorted(known_sets) or 'none defined'})"
                )
        for name, scale in self.scales.items():
            bad = sorted(set(scale.items) - set(numbers))
            if bad:
                raise ValueError(f"scale {name!r} lists items that do not exist: {bad}")
            if len(set(scale.items)) != len(scale.items):
                raise ValueError(f"scale {name!r} lists an item twice")
        defaults = [n for n, b in self.band_sets.items() if b.default]
        if self.band_sets and len(defaults) != 1:
            raise ValueError(
                f"exactly one band set must have default: true; got {defaults or 'none'}"
            )
        for name, bset in self.band_sets.items():
            unknown = [s for s in bset.scales if s not in self.scales]
            if unknown:
                raise ValueError(f"band set {name!r} refers to unknown scales {unknown}")
        for name, rule in self.diagnostic_rules.items():
            unknown = [s for s in rule.require if s not in self.scales]
            if unknown:
                raise ValueError(f"diagnostic rule {name!r} refers to unknown scales {unknown}")
        for rel in self.reliability:
            if rel.scale not in self.scales:
                raise ValueError(f"reliability entry refers to unknown scale {rel.scale!r}")
        return self

    # -- convenience -------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def item_columns(self) -> list[str]:
        """Item column names ``<key>_<NN>`` in item order."""
        return [item_column(self.key, i.number, self.n_items) for i in self.items]

    @property
    def reverse_items(self) -> list[int]:
        return [i.number for i in self.items if i.reverse]

    def scale_columns(self) -> list[str]:
        return [f"{self.key}_{name}" for name in self.scales]

    def scale_rule(self, scale: str) -> MissingRule:
        """The missing-item rule in force for ``scale`` (its own, else the instrument's)."""
        return self.scales[scale].missing_rule or self.missing_rule

    def default_band_set(self) -> str | None:
        return next((n for n, b in self.band_sets.items() if b.default), None)

    def published_reliability(self, scale: str, statistic: str = "alpha") -> float | None:
        """The published reliability of ``scale`` (confirmed or not), or ``None``."""
        for rel in self.reliability:
            if rel.scale == scale and rel.statistic == statistic:
                return rel.value
        return None

    def score_range(self, scale: str) -> tuple[float, float]:
        """Theoretical minimum and maximum of a scale score."""
        s = self.scales[scale]
        k = len(s.items) if s.method == "sum" else 1
        return (self.response.min * k, self.response.max * k)

    def anchors_for(self, number: int) -> dict[int, str]:
        item = self.items[number - 1]
        if item.anchor_set:
            return self.response.anchor_sets[item.anchor_set]
        return self.response.anchors

    def summary(self) -> pd.DataFrame:
        """One row per scale: items, method, range, missing rule, bands, reliability."""
        rows = []
        for name, s in self.scales.items():
            rule = self.scale_rule(name)
            lo, hi = self.score_range(name)
            bands = [n for n, b in self.band_sets.items() if name in b.scales]
            rows.append(
                {
                    "column": f"{self.key}_{name}",
                    "scale": s.label,
                    "n_items": len(s.items),
                    "items": ", ".join(map(str, s.items)),
                    "method": s.method,
                    "min": lo,
                    "max": hi,
                    "reverse_items": ", ".join(
                        str(i) for i in s.items if self.items[i - 1].reverse
                    ),
                    "min_answered": rule.required(len(s.items)),
                    "rule_source": rule.source,
                    "band_sets": ", ".join(bands),
                    "alpha_published": self.published_reliability(name),
                }
            )
        return pd.DataFrame(rows)


def item_column(key: str, number: int, n_items: int | None = None) -> str:
    """Item column name, zero-padded to two digits (three for 100+ items)."""
    width = 3 if (n_items or 0) >= 100 else 2
    return f"{key}_{number:0{width}d}"


# -- loading -------------------------------------------------------------------
def _builtin_dir():
    packaged = resources.files("stseval") / "_builtin_instruments"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "instruments"


def builtin_keys() -> list[str]:
    """Keys of the built-in instruments, sorted."""
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".yaml"))


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _parse(text: str, source: str) -> Instrument:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstrumentDefinitionError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise InstrumentDefinitionError(source, ["the file must hold a mapping of fields"])
    try:
        return Instrument.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_format_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InstrumentDefinitionError(source, problems) from None


@lru_cache(maxsize=64)
def _load_builtin(key: str) -> Instrument:
    path = _builtin_dir() / f"{key}.yaml"
    inst = _parse(path.read_text(encoding="utf-8"), f"built-in {key}.yaml")
    if inst.key != key:
        raise InstrumentDefinitionError(f"built-in {key}.yaml", [f"key: {inst.key!r} != file name"])
    return inst


def load_instrument(key_or_path: str | Path | Instrument) -> Instrument:
    """Load a built-in instrument by key, or a user's own YAML file by path.

    Parameters
    ----------
    key_or_path : str, path or Instrument
        A built-in key (see :func:`list_instruments`), a path to a YAML file
        following the same schema, or an already loaded :class:`Instrument`.

    Raises
    ------
    UsageError
        Unknown key and no such file.
    InstrumentDefinitionError
        The file does not follow the schema (every problem listed, by field).
    """
    if isinstance(key_or_path, Instrument):
        return key_or_path
    text = str(key_or_path)
    if text in builtin_keys():
        return _load_builtin(text)
    path = Path(text)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise UsageError(f"instrument file {path} does not exist")
        return _parse(path.read_text(encoding="utf-8"), str(path))
    raise UsageError(
        f"unknown instrument {text!r}; built-in keys are {', '.join(builtin_keys())} "
        "(or give the path of your own .yaml file)"
    )


def list_instruments() -> pd.DataFrame:
    """One row per built-in instrument: key, name, items, range, scales, licence, validated."""
    rows = []
    for key in builtin_keys():
        inst = _load_builtin(key)
        rows.append(
            {
                "key": key,
                "name": inst.name,
                "short_name": inst.short_name,
                "n_items": inst.n_items,
                "response": f"{inst.response.min}-{inst.response.max}",
                "scales": ", ".join(inst.scales),
                "licence": inst.licence.status,
                "kit_authored": inst.kit_authored,
                "validated": inst.validated,
                "citation": inst.citation,
            }
        )
    return pd.DataFrame(rows)
