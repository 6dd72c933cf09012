"""Turning exported answers into the instrument's numbers, with every problem listed.

An answer cell may hold a number (``4``, ``4.0``), an answer label as the
respondent saw it (``Very often``, ``very often ``, ``5 - Very often``,
``(5) Very often``), a project missing-data code (``-99``) or nothing.
Labels are matched, ignoring case, spacing and a leading number, against the
instrument's own answer labels for that item (``response.anchors`` or the
item's ``anchor_set``) and then against the source's value labels (a REDCap
data dictionary's choices, SPSS value labels). When the source's value labels
are the instrument's labels under other codes (a REDCap field coded 0-4 for a
1-5 scale), the codes are recoded through the labels.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import format_rows
from ..instruments import Instrument

__all__ = ["norm_label", "ItemConverter", "parse_dates", "is_blank"]

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


def _num_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass
class ItemConverter:
    """Converts the answer columns of one instrument and collects the problems.

    Parameters
    ----------
    instrument : Instrument
    file : str
        Source file named in messages.
    missing_codes : dict
        Code text -> reason (from the mapping); matched as text and as numbers.
    recode : dict, optional
        Source code -> instrument value (the mapping's ``recode``), applied to
        numbers and to codes found through the source's value labels.
    """

    instrument: Instrument
    file: str
    missing_codes: dict[str, str] = field(default_factory=dict)
    recode: dict[float, float] | None = None
    failures: list[dict] = field(default_factory=list)
    unknown: dict[str, Counter] = field(default_factory=dict)  # label -> column counts
    unknown_rows: list = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)  # missing-code cells
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        codes = {}
        for code in self.missing_codes:
            try:
                codes[float(code)] = code
            except ValueError:
                pass
        self._numeric_codes = codes
        self._text_codes = {norm_label(c): c for c in self.missing_codes}

    def labels_for(self, number: int) -> dict[str, float]:
        inst = self.instrument
        table = {norm_label(lab): float(v) for v, lab in inst.anchors_for(number).items()}
        if inst.response.not_applicable is not None and inst.response.not_applicable_label:
            table[norm_label(inst.response.not_applicable_label)] = float(
                inst.response.not_applicable
            )
        return table

    def convert(
        self,
        values: pd.Series,
        number: int,
        column: str,
        *,
        choices: dict[str, str] | None = None,
        kit_column: str | None = None,
    ) -> pd.Series:
        """One item column -> float Series (NaN = missing), same index (line numbers)."""
        inst = self.instrument
        labels = self.labels_for(number)
        recode = dict(self.recode or {})
        source_codes: dict[str, float] = {}
        if choices:
            codes = {}
            for code, lab in choices.items():
                try:
                    value = float(code)
                except ValueError:
                    continue
                if value not in self._numeric_codes:  # missing-data codes keep their meaning
                    codes[value] = norm_label(lab)
            if codes and all(lab in labels for lab in codes.values()) and not recode:
                through = {c: labels[lab] for c, lab in codes.items()}
                if any(c != v for c, v in through.items()):
                    recode = through
                    self.notes.append(
                        f"{column}: source codes "
                        f"{', '.join(_num_text(c) for c in through)} recoded to "
                        f"{', '.join(_num_text(v) for v in through.values())} "
                        f"through the answer labels"
                    )
            for c, lab in codes.items():
                source_codes.setdefault(lab, c)

        text = values.astype("str").str.strip()
        blank = is_blank(values)
        out = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
        is_num = out.notna().to_numpy()
        # missing-data codes (as numbers or as text)
        code_hit = np.zeros(len(values), dtype=bool)
        code_of = np.empty(len(values), dtype=object)
        if self._numeric_codes:
            hit = out.isin(list(self._numeric_codes)).to_numpy()
            code_hit |= hit
            code_of[hit] = [self._numeric_codes[v] for v in out[hit]]
        if self._text_codes:
            low = text.str.lower()
            hit = (~blank) & ~is_num & low.isin(list(self._text_codes)).to_numpy()
            code_hit |= hit
            code_of[hit] = [self._text_codes[v] for v in low[hit]]
        for pos in np.flatnonzero(code_hit):
            self.reasons.append(
                {
                    "line": values.index[pos],
                    "column": kit_column or column,
                    "code": code_of[pos],
                    "reason": self.missing_codes[code_of[pos]],
                }
            )
        # labels
        need = (~blank) & ~is_num & ~code_hit
        from_instrument = np.zeros(len(values), dtype=bool)
        if need.any():
            mapped = {}
            for raw in pd.unique(text[need]):
                mapped[raw] = self._label_value(raw, labels, source_codes)
            vals = np.array([mapped[r][0] for r in text[need]], dtype="float64")
            direct = np.array([mapped[r][1] for r in text[need]], dtype=bool)
            out.iloc[np.flatnonzero(need)] = vals
            from_instrument[np.flatnonzero(need)] = direct
            lost = need & out.isna().to_numpy()
            for pos in np.flatnonzero(lost):
                raw = text.iloc[pos]
                self.unknown.setdefault(raw, Counter())[column] += 1
                self.unknown_rows.append(values.index[pos])
        else:
            lost = np.zeros(len(values), dtype=bool)
        out[code_hit] = np.nan
        if recode:
            apply = out.notna().to_numpy() & ~from_instrument
            out[apply] = out[apply].map(lambda v: recode.get(v, v))
        # range check
        resp = inst.response
        allowed = {float(v) for v in resp.values}
        if resp.not_applicable is not None:
            allowed.add(float(resp.not_applicable))
        bad = out.notna().to_numpy() & ~out.isin(list(allowed)).to_numpy()
        if bad.any():
            rows = values.index[bad]
            shown = ", ".join(list(dict.fromkeys(text[bad].tolist()))[:5])
            hint = ""
            if (out[bad] < 0).any() and resp.min >= 0:
                hint = (
                    " (negative codes such as -99 usually mean missing: list them under "
                    "missing_codes in the mapping)"
                )
            elif set(out[bad]) == {float(resp.min - resp.step)} and not recode:
                low, high = resp.min - resp.step, resp.max - resp.step
                hint = (
                    f" (the answers look coded {low}-{high}: if so, add recode: "
                    f"{{{low}: {resp.min}, ...}} to items.{inst.key} in the mapping)"
                )
            self.failures.append(
                {
                    "file": self.file,
                    "column": column,
                    "rows": format_rows(rows),
                    "problem": f"{int(bad.sum())} answer(s) out of range for {inst.key} item "
                    f"{number} (e.g. {shown}); expected {self.allowed_text()} or "
                    f"blank{hint}",
                }
            )
            out[bad] = np.nan
        out[lost] = np.nan
        return out

    def _label_value(
        self, raw: str, labels: dict[str, float], source_codes: dict[str, float]
    ) -> tuple[float, bool]:
        """(value, came straight from the instrument's labels) or (nan, False)."""
        lab = norm_label(raw)
        if lab in labels:
            return labels[lab], True
        if lab in source_codes:
            return source_codes[lab], False
        m = _PREFIX.match(raw.strip())
        if m:
            rest = norm_label(m.group(2))
            if rest in labels:
                return labels[rest], True
            if rest in source_codes:
                return source_codes[rest], False
            return float(m.group(1)), False
        return float("nan"), False

    def allowed_text(self) -> str:
        r = self.instrument.response
        text = f"whole numbers {r.min} to {r.max}" if r.step == 1 else ", ".join(map(str, r.values))
        if r.not_applicable is not None:
            text += f" (or {r.not_applicable} for not applicable)"
        return text

    def finish(self) -> list[dict]:
        """All failures of this instrument, the unknown labels as one row with counts."""
        out = list(self.failures)
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
