"""The mapping file: which source column is which study-folder field.

See :func:`stseval.importers.load_mapping` for the format (it is documented
there, in one place, for the README). This module parses and checks the YAML
against its own structure; :func:`resolve_mapping` then checks it against
the columns of an actual export and lists every column it names that the
export lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..columns import DEFAULT_WAVES
from ..errors import DataValidationError, StsevalError, UsageError
from ..instruments import Instrument, load_instrument
from ._itemspec import parse_codes, parse_recode, resolve_synonyms
from ._resolve import close_matches, resolve_items

__all__ = [
    "Mapping",
    "FieldSpec",
    "ItemSpec",
    "load_mapping",
    "resolve_items",
    "close_matches",
]

FORMATS = ("auto", "redcap", "qualtrics", "csv", "excel", "spss")
_KEYS = {
    "format",
    "study_name",
    "worker_id",
    "org_id",
    "team_id",
    "role",
    "tenure_years",
    "wave",
    "date",
    "identifiers",
    "items",
    "orgs_file",
    "interventions_file",
    "org_metrics_file",
    "missing_codes",
    "waves",
    "min_cell",
    "layout",
    "long",
    "sheet",
    "redcap",
    "keep_org_names",
    "synonyms",
}
_FIELD_KEYS = {"column", "values", "format", "value"}
_ITEM_KEYS = {"prefix", "columns", "items", "recode", "codes", "synonyms"}
#: The study-folder fields a mapping may fill from a source column.
PERSON_FIELDS = ("worker_id", "org_id", "team_id", "role", "tenure_years")


@dataclass
class FieldSpec:
    """One mapped field: a source ``column`` (or a constant ``value``) plus options."""

    column: str | None = None
    values: dict[str, str | None] | None = None
    format: str | None = None
    value: str | None = None


@dataclass
class ItemSpec:
    """How one instrument's items are found: explicit, by prefix or by an ordered list."""

    instrument: Instrument
    explicit: dict[str, int] | None = None
    prefix: str | None = None
    columns: list[str] | None = None
    recode: dict[float, float] | None = None
    codes: dict[str, Any] | None = None
    synonyms: dict[str, float] = field(default_factory=dict)


@dataclass
class Mapping:
    """A parsed mapping file (see :func:`stseval.importers.load_mapping`)."""

    source: str
    base: Path
    format: str = "auto"
    study_name: str | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    wave: FieldSpec | None = None
    date: FieldSpec | None = None
    identifiers: list[str] = field(default_factory=list)
    items: dict[str, ItemSpec] = field(default_factory=dict)
    orgs_file: Path | None = None
    interventions_file: Path | None = None
    org_metrics_file: Path | None = None
    missing_codes: dict[str, str] = field(default_factory=dict)
    waves: list[str] = field(default_factory=list)
    min_cell: int | None = None
    layout: str = "wide"
    long_item: str = "item"
    long_value: str = "value"
    sheet: str | int = 0
    require_complete: bool = False
    keep_org_names: bool = False

    def input_files(self) -> list[Path]:
        """The side files the mapping names (orgs, interventions, org metrics)."""
        return [p for p in (self.orgs_file, self.interventions_file, self.org_metrics_file) if p]


def _problem(source: str, key: str, text: str) -> dict:
    return {"file": source, "column": key, "rows": "", "problem": text}


def _text(value: Any) -> str:
    """Canonical text of a YAML scalar used as a code or value (``-99``, ``1.0`` -> ``1``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    source = str(path)
    if not path.is_file():
        if path.is_dir():
            raise UsageError(f"{path} is a folder; --mapping needs the mapping YAML file")
        raise UsageError(
            f"mapping file {path} does not exist (write a starter one with "
            f"`stseval import SOURCE --template > mapping.yaml`)"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataValidationError(
            [_problem(source, "", "the mapping file is not UTF-8 text; save it as UTF-8")]
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise DataValidationError(
            [
                _problem(
                    source,
                    "",
                    f"not valid YAML{where}: {what} (check indentation and "
                    "that values with ':' or '#' are quoted)",
                )
            ],
            title="the mapping file could not be read",
        ) from None


def load_mapping(mapping: str | Path | dict, *, source_name: str | None = None) -> Mapping:
    """Parse a mapping (YAML file or dict) and check its structure; see the package docs."""
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        data, source, base = mapping, source_name or "mapping", Path.cwd()
    else:
        path = Path(mapping)
        data = _read_yaml(path)
        source, base = str(path), path.resolve().parent
    if not isinstance(data, dict):
        raise DataValidationError(
            [
                _problem(
                    source,
                    "",
                    "the mapping must be a YAML mapping of "
                    "fields (worker_id: ..., items: ...); got "
                    f"{type(data).__name__}",
                )
            ],
            title="the mapping file could not be read",
        )
    problems: list[dict] = []
    out = Mapping(source=source, base=base)
    for step in (_parse_top, _parse_fields, _parse_waves, _parse_items, _parse_codes, _parse_rest):
        step(data, out, problems)
    if problems:
        raise DataValidationError(problems, title=f"the mapping {source} has problems")
    return out


def _parse_top(data: dict, out: Mapping, problems: list) -> None:
    source = out.source
    for key in sorted(str(k) for k in data if k not in _KEYS):
        hint = close_matches(key, _KEYS)
        problems.append(
            _problem(
                source,
                key,
                f"unknown mapping key {key!r}{hint}; allowed keys: {', '.join(sorted(_KEYS))}",
            )
        )
    fmt = str(data.get("format", "auto")).lower()
    if fmt not in FORMATS:
        problems.append(
            _problem(source, "format", f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        )
    out.format = fmt if fmt in FORMATS else "auto"
    out.study_name = None if data.get("study_name") is None else str(data["study_name"])


_REQUIRED_FIELDS = {
    "worker_id": "the mapping must say which column holds the worker ID (worker_id: COLUMN)",
    "org_id": "the mapping must say which column holds the organization (org_id: COLUMN)",
    "wave": "the mapping must say which column holds the wave (wave: COLUMN, or "
    "wave: {value: pre} for a one-wave file)",
}


def _parse_fields(data: dict, out: Mapping, problems: list) -> None:
    source = out.source
    for name in PERSON_FIELDS:
        if data.get(name) is not None:
            spec = _field(data[name], name, source, problems)
            if spec is not None:
                out.fields[name] = spec
    for name, text in _REQUIRED_FIELDS.items():
        if data.get(name) is None:
            problems.append(_problem(source, name, text))
    if data.get("wave") is not None:
        out.wave = _field(data["wave"], "wave", source, problems)
    if data.get("date") is not None:
        out.date = _field(data["date"], "date", source, problems)
    ids = data.get("identifiers") or []
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list):
        problems.append(_problem(source, "identifiers", "identifiers must be a list of columns"))
        ids = []
    out.identifiers = [str(c) for c in ids]


def _parse_waves(data: dict, out: Mapping, problems: list) -> None:
    source = out.source
    waves = data.get("waves")
    if waves is not None:
        if not isinstance(waves, list) or not waves or len({str(w) for w in waves}) != len(waves):
            problems.append(
                _problem(
                    source,
                    "waves",
                    f"waves must be a list of distinct wave "
                    f"names in order, e.g. [pre, post]; got {waves!r}",
                )
            )
        else:
            out.waves = [str(w) for w in waves]
    if not out.waves:
        out.waves = list(DEFAULT_WAVES)
        targets = (out.wave.values or {}).values() if out.wave else []
        for t in targets:
            if t is not None and t not in out.waves:
                out.waves.append(t)
    if out.wave is not None:
        targets = list((out.wave.values or {}).values()) + (
            [out.wave.value] if out.wave.value else []
        )
        bad = sorted({t for t in targets if t is not None and t not in out.waves})
        if bad:
            problems.append(
                _problem(
                    source,
                    "wave.values",
                    f"wave(s) {', '.join(bad)} are not in waves ({', '.join(out.waves)})",
                )
            )


def _parse_items(data: dict, out: Mapping, problems: list) -> None:
    items = data.get("items")
    if not isinstance(items, dict) or not items:
        problems.append(
            _problem(
                out.source,
                "items",
                "the mapping must list the instrument items, e.g. items: {stss: {prefix: stss_}}",
            )
        )
        return
    shared = data.get("synonyms") or {}
    if not isinstance(shared, dict):
        problems.append(_problem(out.source, "synonyms", "synonyms must map LABEL: ANCHOR"))
        shared = {}
    for key, spec in items.items():
        parsed = _items(str(key), spec, out.source, problems)
        if parsed is not None:
            own = resolve_synonyms(shared, parsed.instrument, None, strict=False)
            parsed.synonyms = {**own, **parsed.synonyms}
            out.items[parsed.instrument.key] = parsed


def _parse_codes(data: dict, out: Mapping, problems: list) -> None:
    codes = data.get("missing_codes") or {}
    if isinstance(codes, list):
        codes = {c: "missing" for c in codes}
    if not isinstance(codes, dict):
        problems.append(
            _problem(
                out.source,
                "missing_codes",
                "missing_codes must map each code to "
                "its reason, e.g. {-99: refused, -98: not applicable}",
            )
        )
        return
    out.missing_codes = {_text(k): str(v if v is not None else "missing") for k, v in codes.items()}


def _parse_rest(data: dict, out: Mapping, problems: list) -> None:
    source = out.source
    for name in ("orgs_file", "interventions_file", "org_metrics_file"):
        if data.get(name):
            p = Path(str(data[name])).expanduser()
            setattr(out, name, p if p.is_absolute() else out.base / p)
    if data.get("min_cell") is not None:
        mc = data["min_cell"]
        if isinstance(mc, bool) or not isinstance(mc, int) or mc < 1:
            problems.append(
                _problem(
                    source, "min_cell", f"min_cell must be a whole number of at least 1; got {mc!r}"
                )
            )
        else:
            out.min_cell = mc
    layout = str(data.get("layout", "wide")).lower()
    if layout not in ("wide", "long"):
        problems.append(_problem(source, "layout", f"layout must be wide or long; got {layout!r}"))
    out.layout = layout
    long = data.get("long") or {}
    if not isinstance(long, dict):
        problems.append(_problem(source, "long", "long must be {item: COLUMN, value: COLUMN}"))
    else:
        out.long_item = str(long.get("item", "item"))
        out.long_value = str(long.get("value", "value"))
    if data.get("sheet") is not None:
        out.sheet = data["sheet"]
    redcap = data.get("redcap") or {}
    if not isinstance(redcap, dict):
        problems.append(_problem(source, "redcap", "redcap must be {require_complete: true}"))
    else:
        out.require_complete = bool(redcap.get("require_complete", False))
    out.keep_org_names = bool(data.get("keep_org_names", False))


def _field(raw: Any, name: str, source: str, problems: list) -> FieldSpec | None:
    if isinstance(raw, (str, int)) and not isinstance(raw, bool):
        return FieldSpec(column=str(raw))
    if not isinstance(raw, dict):
        problems.append(
            _problem(
                source,
                name,
                f"{name} must be a column name or a mapping {{column: ...}}; got {raw!r}",
            )
        )
        return None
    extra = sorted(str(k) for k in raw if k not in _FIELD_KEYS)
    if extra:
        problems.append(
            _problem(
                source,
                name,
                f"{name} has unknown key(s) {', '.join(extra)} "
                f"(allowed: column, values, format, value)",
            )
        )
    spec = FieldSpec(
        column=None if raw.get("column") is None else str(raw["column"]),
        format=None if raw.get("format") is None else str(raw["format"]),
        value=None if raw.get("value") is None else str(raw["value"]),
    )
    if raw.get("values") is not None:
        if not isinstance(raw["values"], dict):
            problems.append(
                _problem(
                    source,
                    f"{name}.values",
                    "values must map source values to study values, e.g. {baseline_arm_1: pre}",
                )
            )
        else:
            spec.values = {
                _text(k): (None if v is None else str(v)) for k, v in raw["values"].items()
            }
    if spec.column is None and spec.value is None:
        problems.append(_problem(source, name, f"{name} needs a column (or a constant value)"))
    return spec


def _items(key: str, spec: Any, source: str, problems: list) -> ItemSpec | None:
    where = f"items.{key}"
    try:
        inst = load_instrument(key)
    except StsevalError as exc:
        problems.append(_problem(source, where, str(exc)))
        return None
    if isinstance(spec, list):
        spec = {"columns": spec}
    if isinstance(spec, str):
        spec = {"prefix": spec}
    if not isinstance(spec, dict) or not spec:
        problems.append(
            _problem(
                source,
                where,
                f"say where the {key} items are: "
                f"{{prefix: {key}_}}, {{columns: [...]}} or {{COLUMN: NUMBER}}",
            )
        )
        return None
    out = ItemSpec(instrument=inst)
    special = {k: spec[k] for k in spec if k in _ITEM_KEYS}
    _item_columns(
        out, special, {k: v for k, v in spec.items() if k not in _ITEM_KEYS}, source, problems
    )
    where_problem = lambda col, text: problems.append(_problem(source, f"{where}.{col}", text))  # noqa: E731
    if "recode" in special:
        out.recode = parse_recode(special["recode"], where_problem)
    if "codes" in special:
        out.codes = parse_codes(special["codes"], inst, where_problem)
        if out.recode is not None:
            where_problem("codes", "give codes or recode, not both")
    if "synonyms" in special:
        raw = special["synonyms"]
        out.synonyms = resolve_synonyms(raw, inst, where_problem, strict=True)
    return out


def _item_columns(out: ItemSpec, special: dict, explicit: dict, source: str, problems) -> None:
    inst, where = out.instrument, f"items.{out.instrument.key}"
    if "items" in special:
        if not isinstance(special["items"], dict):
            problems.append(_problem(source, where, "items must map COLUMN: NUMBER"))
        else:
            explicit.update(special["items"])
    if explicit:
        parsed = {}
        for col, num in explicit.items():
            if isinstance(num, bool) or not isinstance(num, int):
                problems.append(
                    _problem(
                        source,
                        f"{where}.{col}",
                        f"item number for column "
                        f"{col!r} must be a whole number 1-{inst.n_items}; got "
                        f"{num!r}",
                    )
                )
                continue
            parsed[str(col)] = num
        out.explicit = parsed
    if "prefix" in special:
        out.prefix = str(special["prefix"])
    if "columns" in special:
        cols = special["columns"]
        if not isinstance(cols, list):
            problems.append(
                _problem(
                    source,
                    f"{where}.columns",
                    "columns must be a list of source columns in item order",
                )
            )
        else:
            out.columns = [str(c) for c in cols]
    if sum(x is not None for x in (out.explicit, out.prefix, out.columns)) != 1:
        problems.append(
            _problem(
                source,
                where,
                f"give exactly one of prefix, columns or COLUMN: NUMBER pairs for {inst.key}",
            )
        )
