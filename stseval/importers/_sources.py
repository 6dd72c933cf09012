"""Reading an export into one text table plus what the source says about it.

Every reader returns a :class:`Source`: the cells as text (``NaN`` = blank),
indexed by the line number a user sees in a spreadsheet (header = line 1;
for SPSS files the case number), and the metadata that helps the import:
value labels per column, columns the source marks as identifiers, missing
value codes, question text. Files are only read, never written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._io import read_table
from ..errors import DataValidationError, UsageError
from ._redcap import read_redcap
from ._source import Source, text_frame

__all__ = ["Source", "read_source", "detect_format", "QUALTRICS_IDENTIFIERS"]

#: Qualtrics metadata columns that identify a person or place; always dropped.
QUALTRICS_IDENTIFIERS = (
    "IPAddress",
    "LocationLatitude",
    "LocationLongitude",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "ExternalDataReference",
)
#: Other Qualtrics metadata columns (kept out of the study; listed for the template).
QUALTRICS_METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "ResponseID",
    "DistributionChannel",
    "UserLanguage",
    *QUALTRICS_IDENTIFIERS,
)
# Qualtrics Status codes: 0 IP Address, 1 Survey Preview, 2 Survey Test, 4 Imported,
# 8 Spam, 9 Preview Spam, 12 Imported Spam, 16 Offline, 17 Offline Survey Preview.
_NOT_RESPONSES = {
    "1",
    "2",
    "8",
    "9",
    "12",
    "17",
    "survey preview",
    "survey test",
    "spam",
    "preview spam",
    "imported spam",
    "offline survey preview",
}


def detect_format(path: Path, *, dictionary=None, hint: str = "auto") -> str:
    """``redcap``, ``qualtrics``, ``csv``, ``excel`` or ``spss`` for an export file."""
    if hint and hint != "auto":
        return hint
    suffix = path.suffix.lower()
    if suffix in {".sav", ".zsav"}:
        return "spss"
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        return "excel"
    if dictionary is not None:
        return "redcap"
    try:
        head = path.read_bytes()[:65536].decode("utf-8-sig", errors="replace")
    except OSError:
        return "csv"
    lines = head.splitlines()
    if len(lines) >= 3 and '"ImportId"' in lines[2].replace('""', '"'):
        return "qualtrics"
    first = lines[0] if lines else ""
    if "redcap_event_name" in first or "redcap_repeat_instrument" in first:
        return "redcap"
    if "ResponseId" in first and "StartDate" in first:
        return "qualtrics"
    return "csv"


def read_source(path, *, format: str = "auto", dictionary=None, sheet=0) -> Source:
    """Read an export (any supported format) as a :class:`Source`.

    Parameters
    ----------
    path : str or Path
        The export file.
    format : {"auto", "redcap", "qualtrics", "csv", "excel", "spss"}
        ``auto`` looks at the extension and the header rows.
    dictionary : str or Path, optional
        REDCap data dictionary (CSV), needed for REDCap exports.
    sheet : str or int
        Excel sheet.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(
            f"{path} is a folder; give the export file itself (e.g. {path / 'export.csv'})"
        )
    if not path.is_file():
        raise UsageError(f"input file {path} does not exist")
    known = {".csv", ".tsv", ".txt", "", ".xlsx", ".xlsm", ".xls", ".sav", ".zsav"}
    if path.suffix.lower() not in known:
        raise UsageError(
            f"unsupported file type {path.suffix!r} for {path}; use a CSV/TSV "
            "export (.csv, .tsv), Excel (.xlsx) or SPSS (.sav)"
        )
    fmt = detect_format(path, dictionary=dictionary, hint=format)
    if fmt == "redcap":
        return read_redcap(path, dictionary)
    if fmt == "qualtrics":
        return read_qualtrics(path)
    if fmt == "spss":
        return read_spss(path)
    if fmt in ("csv", "excel"):
        frame = read_table(path, sheet=sheet)
        if frame.empty:
            raise DataValidationError(
                [
                    {
                        "file": str(path),
                        "column": "",
                        "rows": "",
                        "problem": "the file has a header but no data rows",
                    }
                ]
            )
        return Source(
            path=path,
            format=fmt,
            frame=text_frame(frame),
            encoding=frame.attrs.get("encoding"),
            notes=list(frame.attrs.get("notes", [])),
        )
    raise UsageError(f"unknown format {fmt!r}; use auto, redcap, qualtrics, csv, excel or spss")


# -- Qualtrics ---------------------------------------------------------------------------
def read_qualtrics(path: Path) -> Source:
    """A Qualtrics CSV export: three header rows (names, question text, ImportId JSON).

    Exports with two header rows (older "legacy" format) and with one are read
    too. Preview, test and spam responses (``Status``) are left out, with a
    note. Metadata columns that identify people (IP address, location, names,
    e-mail, external reference) are marked as identifiers and never imported
    except as the worker ID, which is pseudonymized.
    """
    frame = read_table(path)
    labels: dict[str, str] = {}
    drop = []
    if len(frame) >= 2 and str(frame.iloc[1, 0]).lstrip().startswith('{"ImportId"'):
        labels = {c: str(v) for c, v in frame.iloc[0].items() if pd.notna(v)}
        drop = list(frame.index[:2])
    elif len(frame) >= 1 and any(
        str(v).replace(" ", "").lower() == "responseid" for v in frame.iloc[0].tolist()
    ):
        labels = {c: str(v) for c, v in frame.iloc[0].items() if pd.notna(v)}
        drop = list(frame.index[:1])
    data = frame.drop(index=drop)
    notes = list(frame.attrs.get("notes", []))
    if "Status" in data.columns:
        status = data["Status"].astype("str").str.strip().str.lower()
        skip = status.isin(_NOT_RESPONSES).to_numpy()
        if skip.any():
            notes.append(f"{int(skip.sum())} preview/test/spam response(s) (Status) left out")
            data = data[~skip]
    if data.empty:
        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": "",
                    "rows": "",
                    "problem": "the Qualtrics export has no responses below its header rows",
                }
            ]
        )
    idents = [c for c in QUALTRICS_IDENTIFIERS if c in data.columns]
    return Source(
        path=path,
        format="qualtrics",
        frame=text_frame(data),
        labels=labels,
        identifier_columns=idents,
        notes=notes,
        encoding=frame.attrs.get("encoding"),
        missing_codes={"-99": "seen but unanswered (Qualtrics)"},
    )


# -- SPSS ---------------------------------------------------------------------------------
def read_spss(path: Path) -> Source:
    """An SPSS ``.sav`` file with value labels and user-defined missing values (pyreadstat).

    Answers keep their codes; value labels let the import recode through the
    instrument's labels and read label text. User-missing values become
    missing answers, their label kept as the reason. Rows are case numbers.
    """
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    except Exception as exc:  # pyreadstat raises its own ReadstatError and others
        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": "",
                    "rows": "",
                    "problem": f"could not read the SPSS file: {exc}",
                }
            ]
        ) from None
    if frame.empty:
        raise DataValidationError(
            [{"file": str(path), "column": "", "rows": "", "problem": "the SPSS file has no cases"}]
        )
    text = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            text[col] = s.dt.strftime("%Y-%m-%d").where(s.notna())
        elif pd.api.types.is_numeric_dtype(s):
            text[col] = pd.Series([_num(v) for v in s], index=s.index, dtype=object)
        else:
            t = s.astype(object)
            text[col] = t.where(s.notna() & (s.astype("str").str.strip() != ""))
    out = pd.DataFrame(text, columns=list(frame.columns))
    out.index = pd.RangeIndex(1, len(out) + 1, name="case")
    value_labels = getattr(meta, "variable_value_labels", {}) or {}
    choices = {
        col: {_num(k) if not isinstance(k, str) else k: str(v) for k, v in labs.items()}
        for col, labs in value_labels.items()
    }
    missing, ranges = _spss_missing(meta, choices)
    labels = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    return Source(
        path=path,
        format="spss",
        frame=out,
        choices=choices,
        missing_codes=missing,
        missing_ranges=ranges,
        labels={k: v for k, v in labels.items() if v},
        row_word="case",
    )


def _spss_missing(meta, choices) -> tuple[dict[str, str], dict[str, list]]:
    """User-missing values: numeric ones per column as ``(lo, hi, reason)`` ranges (discrete
    values are ranges with ``lo == hi``); text ones as codes for every column."""
    text_codes: dict[str, str] = {}
    ranges: dict[str, list[tuple[float, float, str]]] = {}
    spans = dict(getattr(meta, "missing_ranges", {}) or {})
    for col, vals in (getattr(meta, "missing_user_values", {}) or {}).items():
        spans.setdefault(col, []).extend({"lo": v, "hi": v} for v in vals)
    for col, spans_of in spans.items():
        for rng in spans_of:
            lo, hi = rng.get("lo"), rng.get("hi")
            if isinstance(lo, str) or isinstance(hi, str):
                code = str(lo).strip()
                text_codes.setdefault(code, choices.get(col, {}).get(code, "user-missing (SPSS)"))
                continue
            if lo is None or hi is None:
                continue
            lo, hi = float(lo), float(hi)
            shown = _num(lo) if lo == hi else f"{_num(lo)} thru {_num(hi)}"
            ranges.setdefault(col, []).append((lo, hi, f"user-missing (SPSS: {shown})"))
    return text_codes, ranges


def _num(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (int, np.integer)) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))
