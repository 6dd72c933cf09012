"""Reading users' tables: encodings, delimiters, headers, clear errors. Never writes to inputs.

One reader for ``stseval import`` and ``stseval check`` alike, so both refuse
the same things with the same message:

* encodings: UTF-16 when the file starts with its byte-order mark (Excel's
  "Unicode text"), else UTF-8 (with or without BOM), Windows-1252, Latin-1.
  The one used is reported in ``frame.attrs["encoding"]`` (``utf-8``,
  ``utf-8 with BOM``, ``utf-16``, ``latin-1 (windows-1252)``, ``latin-1``). A file with
  NUL bytes and no UTF-16 mark is refused as not plain text;
* headers: duplicated names, names equal after trimming spaces or ignoring
  case, and empty names over a column that holds data are errors listing
  the columns (an empty-named column with no data, as left by a trailing
  delimiter, is dropped and said in ``frame.attrs["notes"]``);
* size: the header and every line are checked in one linear pass before
  pandas sees the text, so a very wide or very long line is refused at once
  (more than :data:`MAX_COLUMNS` columns or :data:`MAX_LINE` characters);
* a folder given where a file belongs is said to be a folder.
"""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, UsageError

__all__ = [
    "read_table",
    "read_text",
    "decode_text",
    "header_problems",
    "line_numbers",
    "MAX_COLUMNS",
    "MAX_LINE",
]

#: Most columns a table may have (REDCap/Qualtrics exports stay far below).
MAX_COLUMNS = 20_000
#: Most characters on one line of a table.
MAX_LINE = 2_000_000
_ENCODINGS = (
    ("utf-8-sig", None),
    ("cp1252", "latin-1 (windows-1252)"),
    ("latin-1", "latin-1"),
)


def _fail(path, column, rows, problem) -> DataValidationError:
    return DataValidationError(
        [{"file": str(path), "column": column, "rows": rows, "problem": problem}]
    )


def _check_file(path: Path, what: str = "input file") -> None:
    if path.is_dir():
        raise UsageError(f"{path} is a folder; a {what} is expected here (give the file itself)")
    if not path.is_file():
        raise UsageError(f"{what} {path} does not exist")


def decode_text(raw: bytes, path: str | Path) -> tuple[str, str]:
    """Text and encoding name of a file's bytes (see the module docstring).

    Raises
    ------
    DataValidationError
        NUL bytes without a UTF-16 mark, or undecodable UTF-16.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _fail(
                path,
                "",
                "",
                "the file starts like UTF-16 text but cannot be decoded; save it as CSV UTF-8",
            ) from None
    if b"\x00" in raw:
        raise _fail(
            path,
            "",
            "",
            "the file holds NUL bytes, so it is not a plain-text table (UTF-16 without a "
            "byte-order mark, or a binary file?); save it as CSV UTF-8",
        )
    for enc, name in _ENCODINGS:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if name is None:
            name = "utf-8 with BOM" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
        return text, name
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def read_text(path: str | Path, *, what: str = "file") -> tuple[str, str]:
    """A text file (YAML, CSV) as ``(text, encoding)``; folders and absent files refused."""
    path = Path(path)
    _check_file(path, what)
    return decode_text(path.read_bytes(), path)


def _sniff_delimiter(sample: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample.split("\n", 1)[0] + "\n", delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _check_lines(text: str, path: Path) -> None:
    """Refuse over-long lines in one linear pass (before any quadratic parsing)."""
    start, n = 0, 1
    size = len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end
        if end - start > MAX_LINE:
            raise _fail(
                path,
                "",
                str(n),
                f"line {n} is {end - start:,} characters long (at most {MAX_LINE:,} are read); "
                "is the file a table with intact line endings?",
            )
        start, n = end + 1, n + 1


def header_problems(names: list, path: str | Path, *, empty_ok: set[int] = frozenset()) -> list:
    """Failures for duplicated, trim/case-equal and empty column names (positions 1-based)."""
    out = []
    groups: dict[str, list[int]] = {}
    for pos, name in enumerate(names):
        groups.setdefault(str(name).strip().casefold(), []).append(pos)
    empty = [p for p in groups.pop("", []) if p not in empty_ok]
    if empty:
        out.append(
            {
                "file": str(path),
                "column": ", ".join(f"#{p + 1}" for p in empty[:10]),
                "rows": "1",
                "problem": f"{len(empty)} column(s) have no name in the header "
                f"(column number(s) {', '.join(str(p + 1) for p in empty[:10])}); "
                "every column needs a name",
            }
        )
    clashes = [ps for ps in groups.values() if len(ps) > 1]
    for ps in clashes[:10]:
        more = f" ... ({len(ps)} in all)" if len(ps) > 10 else ""
        shown = [repr(str(names[p])) for p in ps[:10]]
        same = len({str(names[p]) for p in ps}) == 1
        why = (
            "appears more than once"
            if same
            else "are the same name after trimming spaces and ignoring case"
        )
        out.append(
            {
                "file": str(path),
                "column": ", ".join(dict.fromkeys(str(names[p]) for p in ps)),
                "rows": "1",
                "problem": f"column name(s) {', '.join(shown)}{more} at column numbers "
                f"{', '.join(str(p + 1) for p in ps[:10])}{more} {why}; rename or remove the "
                "extra column",
            }
        )
    if len(clashes) > 10:
        out.append(
            {
                "file": str(path),
                "column": "",
                "rows": "1",
                "problem": f"... and {len(clashes) - 10} more repeated column names",
            }
        )
    return out


def _header(text: str, delimiter: str, path: Path) -> list[str]:
    try:
        names = next(csv.reader(StringIO(text), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise _fail(path, "", "1", f"could not read the header line: {exc}") from None
    if len(names) > MAX_COLUMNS:
        raise _fail(
            path,
            "",
            "1",
            f"the header has {len(names):,} columns (at most {MAX_COLUMNS:,} are read); "
            "is this an export table?",
        )
    return names


def _numbered(names: list[str]) -> list[str]:
    """Repeated names made unique as ``name.1``, ``name.2`` (linear, unlike pandas)."""
    seen: dict[str, int] = {}
    taken = set(names)
    out = []
    for name in names:
        if name not in seen:
            seen[name] = 0
            out.append(name)
            continue
        while True:
            seen[name] += 1
            cand = f"{name}.{seen[name]}"
            if cand not in taken:
                break
        taken.add(cand)
        out.append(cand)
    return out


def _read_delimited(path: Path, dtype, duplicates: str) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise _fail(path, "", "", "the file is empty")
    text, encoding = decode_text(raw, path)
    if not text.strip():
        raise _fail(path, "", "", "the file is empty (it holds only a byte-order mark or spaces)")
    _check_lines(text, path)
    delimiter = _sniff_delimiter(text[:4096], path)
    names = _header(text, delimiter, path)
    problems = header_problems(names, path, empty_ok=set(range(len(names))))
    if problems and duplicates == "error":  # before pandas, whose renaming is quadratic
        raise DataValidationError(problems, title=f"the header of {path} has problems")
    placeholders = [n if n.strip() else f"\x00empty{i}" for i, n in enumerate(names)]
    if problems:
        placeholders = _numbered(placeholders)
    try:
        frame = pd.read_csv(
            StringIO(text),
            dtype=dtype,
            sep=delimiter,
            header=0,
            names=placeholders,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise _fail(path, "", "", f"could not parse as a delimited table: {exc}") from None
    frame.attrs.update(encoding=encoding, delimiter=delimiter, header_problems=problems)
    return _clean_header(frame, names, path, check=not problems)


def _read_excel(path: Path, dtype, sheet) -> pd.DataFrame:
    try:
        grid = pd.read_excel(path, dtype=str, sheet_name=sheet, header=None)
    except Exception as exc:  # openpyxl raises many kinds
        raise _fail(path, "", "", f"could not read the Excel file: {exc}") from None
    if grid.empty:
        raise _fail(path, "", "", "the sheet is empty")
    names = ["" if pd.isna(v) else str(v) for v in grid.iloc[0]]
    body = grid.iloc[1:].reset_index(drop=True)
    body.columns = [n if n.strip() else f"\x00empty{i}" for i, n in enumerate(names)]
    body.attrs.update(encoding="xlsx", delimiter="")
    return _clean_header(body, names, path)


def _clean_header(
    frame: pd.DataFrame, names: list[str], path: Path, *, check: bool = True
) -> pd.DataFrame:
    """Drop empty-named empty columns (trailing delimiters); refuse other header faults."""
    empty_ok = set()
    notes = []
    for i, name in enumerate(names):
        if not name.strip() and i < frame.shape[1] and frame.iloc[:, i].isna().all():
            empty_ok.add(i)
    problems = header_problems(names, path, empty_ok=empty_ok)
    if not check:  # repeated names were numbered for the caller to judge; empty ones still fail
        problems = [p for p in problems if p["column"].startswith("#")]
    if problems:
        raise DataValidationError(problems, title=f"the header of {path} has problems")
    if empty_ok:
        notes.append(f"{len(empty_ok)} empty column(s) without a name were ignored")
        frame = frame.drop(columns=[frame.columns[i] for i in sorted(empty_ok)])
    frame.attrs["notes"] = notes
    frame.attrs.setdefault("header_problems", [])
    return frame


def read_table(
    path: str | Path, *, dtype=str, sheet: str | int | None = 0, duplicates: str = "error"
) -> pd.DataFrame:
    """Read a CSV/TSV (any common encoding and delimiter) or Excel file as strings.

    The index is set to the file's line numbers (the header is line 1), so
    error messages can point at the row a user sees in a spreadsheet.
    ``frame.attrs`` holds ``encoding`` (see the module docstring),
    ``delimiter`` and ``notes`` (what was tolerated, e.g. empty trailing columns).

    Parameters
    ----------
    path : str or Path
    dtype : type or dict
        Passed to pandas (default: every column as text).
    sheet : str or int
        Excel sheet.
    duplicates : {"error", "number"}
        ``error`` (default) refuses repeated header names; ``number`` (for
        REDCap label exports, whose "Complete?" columns repeat) renames them
        ``name.1``, ``name.2`` and keeps the problems in
        ``frame.attrs["header_problems"]`` for the caller to judge.

    Raises
    ------
    UsageError
        The file does not exist, is a folder or has an unsupported extension.
    DataValidationError
        The file is empty, cannot be parsed, or its header has duplicated,
        trim/case-equal or empty names (all listed), or a line is too long.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        frame = _read_excel(path, dtype, sheet)
    elif suffix in {".csv", ".tsv", ".txt", ""}:
        frame = _read_delimited(path, dtype, duplicates)
    else:
        raise UsageError(
            f"unsupported file type {path.suffix!r} for {path}; use .csv, .tsv or .xlsx"
        )
    if frame.shape[1] <= 1 and delimiter_hint(frame):
        raise _fail(
            path,
            str(frame.columns[0]),
            "",
            "only one column was found; the delimiter looks wrong "
            "(expected comma, semicolon or tab)",
        )
    attrs = dict(frame.attrs)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = line_numbers(len(frame))
    frame.attrs.update(attrs)
    return frame


def delimiter_hint(frame: pd.DataFrame) -> bool:
    """True if a one-column table's header looks like it holds several fields."""
    header = str(frame.columns[0]) if len(frame.columns) else ""
    return any(sep in header for sep in (",", ";", "\t", "|"))


def line_numbers(n: int) -> pd.Index:
    """Spreadsheet line numbers of ``n`` data rows under a header line."""
    return pd.RangeIndex(2, n + 2, name="line")
