"""Turning exported answers into the instrument's numbers, with every problem listed.

An answer cell may hold a number (``4``, ``4.0``), an answer label as the
respondent saw it (``Very often``, ``very often ``, ``5 - Very often``,
``(5) Very often``), a missing-data code (``-99``), a non-answer ("Prefer not
to say") or nothing. Numbers go through the column's code map
(:mod:`stseval.importers._codemap`: source labels, the mapping's ``codes``,
or numeric identity); labels are matched to the instrument's anchors, the
mapping's synonyms and the source's own labels. Every answer turned into
missing is recorded with its reason; every map is kept for the import report.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import format_rows
from ..instruments import Instrument
from ._codemap import (
    CodeMap,
    CodeMapError,
    anchor_table,
    build_code_map,
    code_text,
    is_non_answer,
    label_key,
)

__all__ = ["norm_label", "ItemConverter", "parse_dates", "is_blank"]

_PREFIX_NUM = re.compile(r"^\(?\s*[-+]?\d+(?:\.\d+)?\s*\)?\s*[-\u2013\u2014=:.)]?\s*(?=\D)")
_PREFIX = re.compile(r"^\(?\s*([-+]?\d+(?:\.\d+)?)\s*\)?\s*(?:[-\u2013\u2014=:.)]|\s)\s*(.+)$")
_SPACE = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]+>")


def norm_label(text) -> str:
    """Lower-case, trimmed, single-spaced label text without HTML tags."""
    return _SPACE.sub(" ", _TAGS.sub(" ", str(text))).strip().lower()


def is_blank(values: pd.Series) -> np.ndarray:
    """True for missing cells and cells holding only spaces."""
    text = values.astype("str").str.strip()
    return (values.isna() | (text == "")).to_numpy()


def _as_number(code: str) -> float | None:
    try:
        number = float(code)
    except ValueError:
        return None
    return None if number != number or number in (float("inf"), float("-inf")) else number


def _columns_text(cols: list[str]) -> str:
    return ", ".join(cols[:4]) + (f" ... {len(cols)} columns" if len(cols) > 4 else "")


def _choices(labels: dict[str, str]) -> str:
    return " | ".join(f"{c}, {lab}" for c, lab in list(labels.items())[:8])


@dataclass
class ItemConverter:
    """Converts the answer columns of one instrument and collects the problems.

    Each column gets its own code map (:mod:`stseval.importers._codemap`),
    built choice by choice from the source's labels, the mapping's ``codes``
    / ``recode`` / ``synonyms``, or numeric identity.

    Parameters
    ----------
    instrument : Instrument
    file : str
        Source file named in messages.
    missing_codes : dict
        Code text -> reason (from the mapping and the source); matched as
        text and as numbers, in every column.
    recode : dict, optional
        The mapping's ``recode`` (source code -> value; other numbers as they are).
    codes : dict, optional
        The mapping's ``codes`` (source code -> value, anchor label, or
        ``null``/reason text for missing; other codes are refused).
    synonyms : dict, optional
        Label -> value pairs matched like the instrument's anchors.
    """

    instrument: Instrument
    file: str
    missing_codes: dict[str, str] = field(default_factory=dict)
    recode: dict[float, float] | None = None
    codes: dict | None = None
    synonyms: dict[str, float] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    unknown: dict[str, Counter] = field(default_factory=dict)  # label -> column counts
    unknown_rows: list = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)  # cells turned into missing
    notes: list[str] = field(default_factory=list)
    maps: list[dict] = field(default_factory=list)  # per column: map and counts (the report)
    map_errors: dict[str, list[str]] = field(default_factory=dict)  # message -> columns
    note_columns: dict[str, list[str]] = field(default_factory=dict)  # note -> columns

    def __post_init__(self):
        self._codes = {code_text(c): r for c, r in self.missing_codes.items()}
        self._text_codes = {norm_label(c): r for c, r in self.missing_codes.items()}

    def allowed(self) -> set[float]:
        resp = self.instrument.response
        out = {float(v) for v in resp.values}
        if resp.not_applicable is not None:
            out.add(float(resp.not_applicable))
        return out

    def anchors(self, number: int) -> dict:
        inst = self.instrument
        anchors = dict(inst.anchors_for(number))
        if inst.response.not_applicable is not None and inst.response.not_applicable_label:
            anchors[inst.response.not_applicable] = inst.response.not_applicable_label
        return anchors

    def code_map(self, number: int, column: str, choices, ranges=None) -> CodeMap | None:
        codes = self.codes
        missing = dict(self.missing_codes)
        spss_missing = []
        for code, label in (choices or {}).items():
            n = _as_number(code_text(code))
            if n is not None and any(lo <= n <= hi for lo, hi, _ in ranges or ()):
                missing[code_text(code)] = str(label)
                spss_missing.append(code_text(code))
        if codes is None and self.recode:
            codes = {code_text(k): v for k, v in self.recode.items()}
        try:
            cmap = build_code_map(
                choices,
                column=column,
                anchors=self.anchors(number),
                allowed=self.allowed(),
                synonyms=self.synonyms,
                codes=codes,
                missing_codes=missing,
                recode_rest=self.codes is None and bool(self.recode),
            )
            for code in spss_missing:
                cmap.how[code] = "SPSS user-missing"
            return cmap
        except CodeMapError as exc:
            self.map_errors.setdefault(str(exc), []).append(column)
            return None

    def convert(
        self,
        values: pd.Series,
        number: int,
        column: str,
        *,
        choices: dict[str, str] | None = None,
        kit_column: str | None = None,
        ranges: list[tuple[float, float, str]] | None = None,
    ) -> pd.Series:
        """One item column -> float Series (NaN = missing), same index (line numbers)."""
        cmap = self.code_map(number, column, choices, ranges)
        out = pd.Series(np.nan, index=values.index, dtype="float64")
        if cmap is None:
            return out
        for note in cmap.notes:
            self.note_columns.setdefault(note, []).append(column)
        text = values.astype("str").str.strip()
        blank = is_blank(values)
        present = text[~blank]
        counts = Counter(code_text(v) for v in present)
        table = anchor_table(self.anchors(number), self.synonyms)
        by_label = {label_key(lab): code for code, lab in cmap.labels.items()}
        decided = {
            raw: self._decide(raw, cmap, table, by_label, ranges) for raw in pd.unique(present)
        }
        kinds = present.map(lambda r: decided[r][0])
        vals = present.map(lambda r: decided[r][1])
        ok = (kinds == "value").to_numpy()
        out[present.index[ok]] = vals[ok].astype("float64").to_numpy()
        for line, raw in present[(kinds == "missing").to_numpy()].items():
            self.reasons.append(
                {
                    "line": line,
                    "column": kit_column or column,
                    "code": code_text(raw),
                    "reason": decided[raw][1],
                }
            )
        unknown = present[(kinds == "unknown").to_numpy()]
        for line, raw in unknown.items():
            self.unknown.setdefault(raw, Counter())[column] += 1
            self.unknown_rows.append(line)
        bad = present[(kinds == "range").to_numpy()]
        if len(bad):
            self._range_failure(bad, number, column, cmap)
        out = self._range_check(out, text, number, column, cmap)
        text_codes = {  # what each code found in the column became (the report's counts)
            code_text(r): (k if k != "range" else "unknown", v) for r, (k, v) in decided.items()
        }
        self.maps.append(
            {
                "column": column,
                "kit_column": kit_column or column,
                "number": number,
                "map": cmap,
                "counts": counts,
                "text": text_codes,
            }
        )
        return out

    def _decide(self, raw: str, cmap: CodeMap, table, by_label, ranges) -> tuple[str, object]:
        """(``value``, v), (``missing``, reason), (``unknown``, None) or (``range``, None)."""
        code = code_text(raw)
        if code in self._codes:
            return "missing", self._codes[code]
        number = _as_number(code)
        if number is not None:
            for lo, hi, reason in ranges or ():
                if lo <= number <= hi:
                    return "missing", cmap.missing.get(code, reason)
            kind, value = cmap.lookup(code)
            return (kind, value) if kind != "unknown" else ("range", None)
        if norm_label(raw) in self._text_codes:
            return "missing", self._text_codes[norm_label(raw)]
        for text in (raw, _PREFIX_NUM.sub("", raw, count=1)):
            key = label_key(text)
            if key in table:
                return "value", table[key]
            if key in by_label:
                return cmap.lookup(by_label[key])
        m = _PREFIX.match(raw)
        if m and _as_number(code_text(m.group(1))) is not None:
            kind, value = cmap.lookup(code_text(m.group(1)))
            return (kind, value) if kind != "unknown" else ("range", None)
        if is_non_answer(raw):
            return "missing", raw
        return "unknown", None

    def _range_check(self, out, text, number, column, cmap) -> pd.Series:
        bad = out.notna().to_numpy() & ~out.isin(list(self.allowed())).to_numpy()
        if bad.any():
            self._range_failure(text[bad], number, column, cmap, mapped=out[bad])
            out[bad] = np.nan
        return out

    def _range_failure(self, bad: pd.Series, number, column, cmap, mapped=None) -> None:
        resp = self.instrument.response
        shown = ", ".join(list(dict.fromkeys(bad.tolist()))[:5])
        nums = pd.to_numeric(bad, errors="coerce")
        hint = ""
        if cmap.how and not cmap.labels and not cmap.identity:
            hint = (
                f" (the mapping's codes for {self.instrument.key} list "
                f"{', '.join(cmap.how)}: add this code, as a value or as missing)"
            )
        elif cmap.labels and not cmap.identity:
            hint = (
                f" (the source's choices are {_choices(cmap.labels)}: a code without a label "
                "cannot be read; list it under missing_codes if it means missing)"
            )
        elif (nums < 0).any() and resp.min >= 0:
            hint = (
                " (negative codes such as -99 usually mean missing: list them under "
                "missing_codes in the mapping)"
            )
        elif set(nums) == {float(resp.min - resp.step)} and cmap.identity and not cmap.values:
            low, high = resp.min - resp.step, resp.max - resp.step
            hint = (
                f" (the answers look coded {low}-{high}: if so, add recode: "
                f"{{{low}: {resp.min}, ...}} to items.{self.instrument.key} in the mapping)"
            )
        self.failures.append(
            {
                "file": self.file,
                "column": column,
                "rows": format_rows(bad.index),
                "problem": f"{len(bad)} answer(s) out of range for {self.instrument.key} item "
                f"{number} (e.g. {shown}); expected {self.allowed_text()} or blank{hint}",
            }
        )

    def allowed_text(self) -> str:
        r = self.instrument.response
        text = f"whole numbers {r.min} to {r.max}" if r.step == 1 else ", ".join(map(str, r.values))
        if r.not_applicable is not None:
            text += f" (or {r.not_applicable} for not applicable)"
        return text

    def finish(self) -> list[dict]:
        """All failures of this instrument, the unknown labels as one row with counts."""
        out = list(self.failures)
        for text, cols in self.note_columns.items():
            self.notes.append(f"{self.instrument.key} ({_columns_text(cols)}): {text}")
        self.note_columns = {}
        for text, cols in self.map_errors.items():
            shown = ", ".join(cols[:6]) + (f" ... ({len(cols)} columns)" if len(cols) > 6 else "")
            out.append(
                {
                    "file": self.file,
                    "column": shown,
                    "rows": "",
                    "problem": f"{self.instrument.key}: the answer codes cannot be decided: {text}",
                }
            )
        if self.unknown:
            inst = self.instrument
            parts = []
            cols: list[str] = []
            for raw, counter in sorted(self.unknown.items(), key=lambda kv: -sum(kv[1].values())):
                in_cols = ", ".join(f"{c} x{n}" for c, n in counter.most_common(4))
                more = len(counter) - 4
                parts.append(
                    f"{raw!r} x{sum(counter.values())} ({in_cols}"
                    f"{f' and {more} more columns' if more > 0 else ''})"
                )
                cols.extend(c for c in counter if c not in cols)
            anchors = ", ".join(dict.fromkeys(inst.response.anchors.values()))
            hint = " If these are missing-data codes, list them under missing_codes in the mapping."
            out.append(
                {
                    "file": self.file,
                    "column": ", ".join(cols[:6]) + (" ..." if len(cols) > 6 else ""),
                    "rows": format_rows(sorted(self.unknown_rows)),
                    "problem": f"unknown answer label(s) for {inst.key}: {'; '.join(parts[:10])}"
                    f"{'; ...' if len(parts) > 10 else ''}. Expected numbers "
                    f"({self.allowed_text()}) or the labels {anchors}.{hint}",
                }
            )
        return out


def parse_dates(values: pd.Series, fmt: str | None) -> tuple[pd.Series, np.ndarray]:
    """Dates as ``YYYY-MM-DD`` text (NaN where blank) and a mask of unparseable cells."""
    blank = is_blank(values)
    text = values.astype("str").str.strip().where(~blank)
    if fmt:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    else:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        retry = parsed.isna().to_numpy() & ~blank
        if retry.any():
            # ISO dates with a time of day in another layout ("2024-03-01 9:05")
            alt = pd.to_datetime(text[retry].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
            parsed[retry] = alt
    bad = parsed.isna().to_numpy() & ~blank
    out = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna())
    return out, bad
