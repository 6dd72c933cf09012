"""Code maps: which instrument value each code of one source column stands for.

A map is built per item column, choice by choice, never all-or-nothing:

1. an explicit ``codes:`` block (or the older ``recode:``) in the mapping file wins;
2. otherwise the source's own labels (REDCap choices, SPSS value labels) are
   matched to the instrument's anchors for that item, ignoring case, spacing,
   punctuation and a leading number (``"5 - Very often"``), and through the
   mapping's ``synonyms``. A choice whose label is not an anchor becomes
   *missing* with its label as the reason when it is a non-answer ("Prefer
   not to say", "Not applicable", "Don't know" ...) or lies outside the span
   of the matched codes (``9, Prefer to skip`` after ``1..5``); it never
   shifts or disables the other choices. When the labels run against the
   anchors (code 1 = "Very often" on a scale whose 1 is "Never"), the labels
   are followed and the map says so. Codes without a label between labelled
   ones (only the end points labelled, common in SPSS) follow the same step
   when the labelled codes agree on one (``value = code + b`` or ``b - code``);
3. without labels, a number is read as itself (numeric identity).

When no rule decides (labels match no anchor, two codes claim one anchor, an
unknown label between anchors), :class:`CodeMapError` names the column, the
codes and the labels.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "CodeMap",
    "CodeMapError",
    "build_code_map",
    "label_key",
    "is_non_answer",
    "code_text",
    "LABELS",
    "MAPPING",
    "IDENTITY",
]

LABELS = "source labels"
MAPPING = "mapping file"
IDENTITY = "numeric identity"

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LEAD_NUMBER = re.compile(r"^\(?\s*[-+]?\d+(?:[.,]\d+)?\s*\)?\s*(?:[-\u2013\u2014=:.)]\s*)?(?=\D)")
#: Label keys (see :func:`label_key`) that mean "no answer" on any scale.
_NON_ANSWERS = {
    "prefernottosay",
    "prefernottoanswer",
    "iprefernottoanswer",
    "iprefernottosay",
    "rathernotsay",
    "declined",
    "declinetoanswer",
    "declinedtoanswer",
    "refused",
    "notapplicable",
    "na",
    "dontknow",
    "donotknow",
    "idontknow",
    "notsure",
    "cantsay",
    "cannotsay",
    "unknown",
    "noanswer",
    "notanswered",
    "missing",
    "skipped",
    "skip",
    "notasked",
    "doesnotapply",
    "notrelevant",
}


def label_key(text) -> str:
    """Case-, spacing- and punctuation-free form of a label (accents folded)."""
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    folded = re.sub(r"<[^>]+>", " ", folded).replace("'", "").replace("\u2019", "")
    return _NON_WORD.sub("", folded.lower())


def _strip_number(text: str) -> str:
    return _LEAD_NUMBER.sub("", str(text).strip(), count=1)


def is_non_answer(label) -> bool:
    """True for labels such as "Prefer not to say", "N/A", "Don't know"."""
    return label_key(_strip_number(label)) in _NON_ANSWERS or label_key(label) in _NON_ANSWERS


def code_text(value) -> str:
    """Canonical text of a code: ``"4.0"`` and ``4`` -> ``"4"``; other text stripped."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number:  # NaN
        return text
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _number(code: str) -> float | None:
    try:
        return float(code)
    except ValueError:
        return None


@dataclass
class CodeMap:
    """How one source column's codes become instrument values.

    Attributes
    ----------
    values : dict
        Code text -> instrument value.
    missing : dict
        Code text -> reason; answers with these codes become missing.
    labels : dict
        Code text -> the source's label (empty without labels).
    how : dict
        Code text -> how it was decided (``source labels``, ``mapping file``,
        ``numeric identity``, ``source labels (step)``, ``missing code``).
    step : tuple or None
        ``(sign, offset, low, high)``: unlabelled numeric codes between ``low``
        and ``high`` follow ``value = sign * code + offset``.
    identity : bool
        Numbers are read as themselves (no labels, no mapping codes).
    notes : list of str
        Reverse order, unlabelled codes, partial labels.
    """

    values: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    step: tuple[int, float, float, float] | None = None
    identity: bool = False
    notes: list[str] = field(default_factory=list)

    def lookup(self, code: str) -> tuple[str, float | str | None]:
        """``("value", v)``, ``("missing", reason)`` or ``("unknown", None)`` for a code."""
        if code in self.missing:
            return "missing", self.missing[code]
        if code in self.values:
            return "value", self.values[code]
        number = _number(code)
        if self.step is not None and number is not None:
            sign, offset, low, high = self.step
            if low < number < high:
                return "value", sign * number + offset
        if self.identity and number is not None:
            return "value", number
        return "unknown", None

    def signature(self) -> tuple:
        """Hashable summary, to group items that share one map in the report."""
        return (
            tuple(sorted(self.values.items())),
            tuple(sorted(self.missing.items())),
            tuple(sorted(self.labels.items())),
            tuple(sorted(self.how.items())),
            self.step,
            self.identity,
        )


class CodeMapError(ValueError):
    """No rule decides the map of a column; the message names codes and labels."""


def anchor_table(anchors: dict[int, str], synonyms: dict[str, float]) -> dict[str, float]:
    """Label key -> value from the instrument's anchors and the mapping's synonyms."""
    table = {label_key(lab): float(v) for v, lab in anchors.items()}
    for lab, v in synonyms.items():
        table.setdefault(label_key(lab), float(v))
    return table


def _match(label: str, table: dict[str, float], allowed: set[float]) -> float | None:
    for text in (label, _strip_number(label)):
        key = label_key(text)
        if key in table:
            return table[key]
    number = _number(str(label).strip())
    if number is not None and number in allowed:
        return number
    return None


def _choices_text(choices: dict[str, str]) -> str:
    return " | ".join(f"{c}, {lab}" for c, lab in list(choices.items())[:12])


def _from_mapping(codes: dict[str, object], table, missing_codes) -> CodeMap:
    out = CodeMap()
    for raw, target in codes.items():
        code = code_text(raw)
        out.how[code] = MAPPING
        if target is None:
            out.missing[code] = missing_codes.get(code, "missing (mapping codes)")
        elif isinstance(target, (int, float)) and not isinstance(target, bool):
            out.values[code] = float(target)
        elif label_key(target) in table:
            out.values[code] = table[label_key(target)]
        else:
            out.missing[code] = str(target)
    return out


def _order_note(out: CodeMap, column: str) -> None:
    pairs = sorted(
        (_number(c), v)
        for c, v in out.values.items()
        if out.how.get(c) == LABELS and _number(c) is not None
    )
    if len(pairs) < 2:
        return
    vals = [v for _, v in pairs]
    if all(a > b for a, b in zip(vals, vals[1:], strict=False)):
        out.notes.append(
            f"the source's labels run opposite to the instrument's anchors "
            f"(code {code_text(pairs[0][0])} = {vals[0]:g}); the labels were followed"
        )
    elif not all(a < b for a, b in zip(vals, vals[1:], strict=False)):
        out.notes.append(
            "the source's codes are not in the anchors' order; the labels were followed"
        )


def _fit_step(out: CodeMap) -> tuple[int, float, float, float] | None:
    pairs = [(_number(c), v) for c, v in out.values.items() if _number(c) is not None]
    if len(pairs) < 2 or len(pairs) != len(out.values):
        return None
    codes = [c for c, _ in pairs]
    for sign in (1, -1):
        offsets = {v - sign * c for c, v in pairs}
        if len(offsets) == 1:
            return sign, offsets.pop(), min(codes), max(codes)
    return None


def build_code_map(
    choices: dict[str, str] | None,
    *,
    column: str,
    anchors: dict[int, str],
    allowed: set[float],
    synonyms: dict[str, float] | None = None,
    codes: dict[str, object] | None = None,
    missing_codes: dict[str, str] | None = None,
    recode_rest: bool = False,
) -> CodeMap:
    """The code map of one source column (see the module docstring).

    Parameters
    ----------
    choices : dict or None
        Source code -> source label (REDCap choices, SPSS value labels).
    column : str
        Source column, named in notes and errors.
    anchors : dict
        The instrument's value -> anchor label for this item.
    allowed : set of float
        The instrument's response values (plus its not-applicable code).
    synonyms : dict, optional
        Extra label -> value pairs from the mapping file.
    codes : dict, optional
        The mapping's explicit code -> value (number, anchor label, or
        ``None``/other text for missing with that reason).
    missing_codes : dict, optional
        Code -> reason from the mapping and the source (user-missing values).
    recode_rest : bool
        Numbers not in ``codes`` are read as themselves (the older ``recode:``).

    Raises
    ------
    CodeMapError
        The labels do not decide the map.
    """
    table = anchor_table(anchors, synonyms or {})
    missing_codes = {code_text(k): v for k, v in (missing_codes or {}).items()}
    if codes:
        out = _from_mapping(codes, table, missing_codes)
        out.identity = recode_rest
        out.labels = {code_text(k): str(v) for k, v in (choices or {}).items()}
        return out
    if not choices:
        return CodeMap(identity=True)
    return _from_labels(choices, column, table, allowed, missing_codes)


def _from_labels(choices, column, table, allowed, missing_codes) -> CodeMap:
    out = CodeMap(labels={code_text(k): str(v) for k, v in choices.items()})
    unmatched = []
    for code, label in out.labels.items():
        if code in missing_codes:
            out.missing[code], out.how[code] = missing_codes[code], "missing code"
            continue
        value = _match(label, table, allowed)
        if value is not None:
            out.values[code], out.how[code] = value, LABELS
        elif is_non_answer(label):
            out.missing[code], out.how[code] = label.strip(), LABELS
        else:
            unmatched.append(code)
    shown = _choices_text(out.labels)
    if not out.values:
        if not unmatched:  # every choice is a non-answer or a missing code: only missing
            return out
        raise CodeMapError(
            f"none of the source's labels is an answer of the instrument "
            f"({shown}); expected labels such as {', '.join(list(dict.fromkeys(table))[:5])} "
            "- add synonyms or a codes: block for this instrument in the mapping"
        )
    _decide_unmatched(out, unmatched, column, shown)
    _check_clashes(out, column, shown)
    _order_note(out, column)
    out.step = _fit_step(out)
    return out


def _decide_unmatched(out: CodeMap, unmatched: list[str], column: str, shown: str) -> None:
    numbers = [_number(c) for c in out.values if _number(c) is not None]
    low, high = (min(numbers), max(numbers)) if numbers else (None, None)
    inside = []
    for code in unmatched:
        n = _number(code)
        if n is not None and low is not None and not (low < n < high):
            out.missing[code], out.how[code] = out.labels[code].strip(), LABELS
            out.notes.append(
                f"choice {code} {out.labels[code]!r} is not an answer of the "
                "instrument and lies outside the scale's codes: read as missing"
            )
        else:
            inside.append(code)
    if inside:
        listed = ", ".join(f"{c} {out.labels[c]!r}" for c in inside)
        raise CodeMapError(
            f"choice(s) {listed} are not answers of the instrument and sit "
            f"among its answers ({shown}); add the label under synonyms (label: value) or "
            "give a codes: block for this instrument in the mapping"
        )


def _check_clashes(out: CodeMap, column: str, shown: str) -> None:
    seen: dict[float, str] = {}
    for code, value in out.values.items():
        if value in seen:
            raise CodeMapError(
                f"codes {seen[value]} and {code} both stand for the answer "
                f"{value:g} ({shown}); give a codes: block for this instrument in the mapping"
            )
        seen[value] = code
