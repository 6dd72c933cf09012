"""The answer-code options of one instrument in a mapping: ``recode``, ``codes``, ``synonyms``.

``codes`` maps every source code of the instrument's columns to a response
value (a number or an anchor label) or to missing (``null``, ``missing`` or
any other text, which becomes the reason)::

    items:
      proqol:
        prefix: pq_
        codes: {1: 5, 2: 4, 3: 3, 4: 2, 5: 1, 9: "prefer not to say"}
        synonyms: {"Sometimes": 3, "Nie": Never}

``synonyms`` (per instrument, or at the top level for every instrument) maps
a source label to an anchor label or a response value, so a source that
words an anchor differently is still read choice by choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..instruments import Instrument
from ._codemap import code_text, label_key

__all__ = ["parse_recode", "parse_codes", "resolve_synonyms"]

Report = Callable[[str, str], None] | None


def _allowed(inst: Instrument) -> set[float]:
    resp = inst.response
    out = {float(v) for v in resp.values}
    if resp.not_applicable is not None:
        out.add(float(resp.not_applicable))
    return out


def _anchor_keys(inst: Instrument) -> dict[str, float]:
    out = {}
    for anchors in (inst.response.anchors, *inst.response.anchor_sets.values()):
        for v, lab in anchors.items():
            out.setdefault(label_key(lab), float(v))
    return out


def _value(target: Any, inst: Instrument) -> float | None:
    """A response value from a number or an anchor label; None when neither."""
    if isinstance(target, bool):
        return None
    if isinstance(target, (int, float)):
        return float(target) if float(target) in _allowed(inst) else None
    return _anchor_keys(inst).get(label_key(target))


def parse_recode(raw: Any, report: Report) -> dict[float, float] | None:
    """``recode: {source code: value}`` as floats; problems go to ``report(key, text)``."""
    if not isinstance(raw, dict):
        report(
            "recode", "recode must map source codes to the instrument's values, e.g. {1: 0, 2: 1}"
        )
        return None
    try:
        return {float(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        report("recode", "recode keys and values must be numbers")
        return None


def parse_codes(raw: Any, inst: Instrument, report: Report) -> dict[str, Any] | None:
    """``codes:`` as code text -> value (float), ``None`` (missing) or a reason (str)."""
    if not isinstance(raw, dict) or not raw:
        report("codes", "codes must map each source code to a value, e.g. {1: 5, 2: 4, 9: missing}")
        return None
    out: dict[str, Any] = {}
    bad = []
    for code, target in raw.items():
        key = code_text(code)
        if target is None or (isinstance(target, str) and label_key(target) == "missing"):
            out[key] = None
        elif isinstance(target, (int, float)) and not isinstance(target, bool):
            value = _value(target, inst)
            if value is None:
                bad.append(f"{key}: {target}")
            out[key] = value
        else:
            value = _value(target, inst)
            out[key] = value if value is not None else str(target)
    if bad:
        r = inst.response
        report(
            "codes",
            f"codes map to values outside {inst.key}'s answers ({', '.join(bad)}); expected "
            f"{', '.join(str(v) for v in r.values)}, an anchor label, or missing",
        )
    return out


def resolve_synonyms(raw: Any, inst: Instrument, report: Report, *, strict: bool) -> dict:
    """Label -> value for ``inst``; with ``strict``, targets that are no anchor are reported."""
    if not isinstance(raw, dict):
        if report is not None:
            report("synonyms", "synonyms must map LABEL: ANCHOR LABEL or LABEL: VALUE")
        return {}
    out, bad = {}, []
    for label, target in raw.items():
        value = _value(target, inst)
        if value is None:
            bad.append(f"{label!s}: {target!s}")
        else:
            out[str(label)] = value
    if strict and bad and report is not None:
        report(
            "synonyms",
            f"synonym target(s) that are not {inst.key} answers: {', '.join(bad)} (expected an "
            f"anchor label such as {next(iter(inst.response.anchors.values()))!r} or a value)",
        )
    return out
