"""Reading users' tables: encodings, delimiters, clear errors. Never writes to inputs.

Encodings tried: UTF-16 when the file starts with its byte-order mark (Excel's
"Unicode text"), else UTF-8 (with or without BOM), Windows-1252, Latin-1. A
file with NUL bytes and no UTF-16 mark is refused as not plain text.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, UsageError

__all__ = ["read_table", "line_numbers"]

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def _sniff_delimiter(sample: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample.split("\n", 1)[0] + "\n", delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_table(path: str | Path, *, dtype=str, sheet: str | int | None = 0) -> pd.DataFrame:
    """Read a CSV/TSV (any common encoding and delimiter) or Excel file as strings.

    The index is set to the file's line numbers (the header is line 1), so
    error messages can point at the row a user sees in a spreadsheet.

    Raises
    ------
    UsageError
        The file does not exist or has an unsupported extension.
    DataValidationError
        The file is empty or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        try:
            frame = pd.read_excel(path, dtype=dtype, sheet_name=sheet)
        except Exception as exc:  # openpyxl raises many kinds
            raise DataValidationError(
                [
                    {
                        "file": str(path),
                        "column": "",
                        "rows": "",
                        "problem": f"could not read the Excel file: {exc}",
                    }
                ]
            ) from None
    elif suffix in {".csv", ".tsv", ".txt", ""}:
        raw = path.read_bytes()
        if not raw.strip():
            raise DataValidationError(
                [{"file": str(path), "column": "", "rows": "", "problem": "the file is empty"}]
            )
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
            try:  # (Excel "Unicode text")
                text = raw.decode("utf-16")
            except UnicodeDecodeError:
                raise DataValidationError(
                    [
                        {
                            "file": str(path),
                            "column": "",
                            "rows": "",
                            "problem": "the file starts like UTF-16 text but "
                            "cannot be decoded; save it as CSV "
                            "UTF-8",
                        }
                    ]
                ) from None
        elif b"\x00" in raw[:4096]:
            raise DataValidationError(
                [
                    {
                        "file": str(path),
                        "column": "",
                        "rows": "",
                        "problem": "the file holds NUL bytes, so it is not a "
                        "plain-text table (UTF-16 without a byte-order "
                        "mark, or a binary file?); save it as CSV "
                        "UTF-8",
                    }
                ]
            )
        else:
            for enc in _ENCODINGS:
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
        delimiter = _sniff_delimiter(text[:4096], path)
        try:
            from io import StringIO

            frame = pd.read_csv(
                StringIO(text), dtype=dtype, sep=delimiter, keep_default_na=False, na_values=[""]
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataValidationError(
                [
                    {
                        "file": str(path),
                        "column": "",
                        "rows": "",
                        "problem": f"could not parse as a delimited table: {exc}",
                    }
                ]
            ) from None
    else:
        raise UsageError(
            f"unsupported file type {path.suffix!r} for {path}; use .csv, .tsv or .xlsx"
        )
    if frame.shape[1] <= 1 and delimiter_hint(frame):
        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": str(frame.columns[0]),
                    "rows": "",
                    "problem": "only one column was found; the delimiter looks "
                    "wrong (expected comma, semicolon or tab)",
                }
            ]
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = line_numbers(len(frame))
    return frame


def delimiter_hint(frame: pd.DataFrame) -> bool:
    """True if a one-column table's header looks like it holds several fields."""
    header = str(frame.columns[0]) if len(frame.columns) else ""
    return any(sep in header for sep in (",", ";", "\t", "|"))


def line_numbers(n: int) -> pd.Index:
    """Spreadsheet line numbers of ``n`` data rows under a header line."""
    return pd.RangeIndex(2, n + 2, name="line")
