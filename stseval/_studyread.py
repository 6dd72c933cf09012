"""Reading a study folder's files: formats, encodings, study.yaml, and the table checks.

The lowest layer of :mod:`stseval.validate`: :class:`stseval.study.Study` reads through it,
and :mod:`stseval.validate` re-exports its public names, so neither imports the other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from .errors import DataValidationError, UsageError

__all__ = ["TABLE_NAMES", "decode_text", "read_study_files", "table_failures"]

#: Tables of a study folder; each is ``<name>.csv`` or ``<name>.parquet``.
TABLE_NAMES = (
    "workers",
    "responses",
    "orgs",
    "interventions",
    "org_metrics",
    "truth",
    "programs",
)
REQUIRED_TABLES = ("workers", "responses", "orgs", "interventions")
_FORMATS = {".csv": "csv", ".parquet": "parquet"}
#: Columns held as text (IDs and labels) when a CSV table is read.
TEXT_COLUMNS = {
    "workers": ["worker_id", "org_id", "team_id", "role"],
    "responses": ["worker_id", "wave"],
    "orgs": ["org_id", "name"],
    "interventions": ["org_id", "area", "team_id"],
    "org_metrics": ["org_id"],
    "truth": ["area", "outcome", "estimand", "wave", "cohort"],
    "programs": ["program", "statement", "team_id", "worker_id"],
}
_DATE_COLUMNS = ["date", "start_date", "month"]


def _fail(file, column, rows, problem) -> dict:
    return {"file": file, "column": column, "rows": rows, "problem": problem}


def decode_text(raw: bytes, file: str) -> tuple[str | None, list[dict], list[str]]:
    """Decode a text file's bytes; return the text, failures and warnings.

    UTF-8 (with or without a byte-order mark) and UTF-16 with its mark are read
    silently; text that is not UTF-8 is read as Windows-1252 (Latin-1 where
    Windows-1252 has no character) with a warning naming the first line that
    is not UTF-8; NUL bytes without a UTF-16 mark are refused.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), [], []
        except UnicodeDecodeError:
            return None, [_fail(file, "", "", "starts like UTF-16 but cannot be decoded")], []
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        problem = (
            "holds NUL bytes, so it is not a plain-text file (UTF-16 without a byte-order "
            "mark, or a binary file?); save it as UTF-8"
        )
        return None, [_fail(file, "", f"line {line}", problem)], []
    try:
        return raw.decode("utf-8-sig"), [], []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
    try:
        text, name = raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, name = raw.decode("latin-1"), "Latin-1"
    note = (
        f"{file} is not UTF-8 (first at line {line}); it was read as {name} (Latin-1 family). "
        "Save it as UTF-8 so that every program reads the same characters"
    )
    return text, [], [note]


def _find_file(folder: Path, name: str) -> tuple[Path | None, list[dict]]:
    found = []
    failures = []
    for ext in _FORMATS:
        path = folder / f"{name}{ext}"
        if path.is_dir():
            failures.append(
                _fail(path.name, "", "", f"{path.name} is a folder; expected a {ext[1:]} file")
            )
        elif path.exists():
            found.append(path)
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        failures.append(_fail(found[0].name, "", "", f"both {names} exist; keep only one"))
        return None, failures
    return (found[0] if found else None), failures


class _TextDates(yaml.SafeLoader):
    """A safe loader that keeps dates as text (so a date that does not exist is not a crash)."""


_TextDates.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str):
    """``yaml.safe_load``; where a date does not exist (2024-13-01) dates are kept as text,
    and the pydantic model of study.yaml then names the field that holds it."""
    try:
        return yaml.safe_load(text)
    except ValueError:  # PyYAML's date constructor: "month must be in 1..12"
        return yaml.load(text, Loader=_TextDates)  # noqa: S506 - a SafeLoader subclass


def _read_meta(folder: Path) -> tuple[dict, list[dict], list[str]]:
    file = folder / "study.yaml"
    if file.is_dir():
        return {}, [_fail("study.yaml", "", "", "study.yaml is a folder; expected a file")], []
    if not file.is_file():
        problem = "missing table: study.yaml is required (name, waves, instruments, min_cell)"
        return {}, [_fail("study.yaml", "", "", problem)], []
    text, failures, warns = decode_text(file.read_bytes(), "study.yaml")
    if text is None:
        return {}, failures, warns
    try:
        loaded = _load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"
        return {}, [_fail("study.yaml", "", "", problem)], warns
    if isinstance(loaded, dict):
        return loaded, [], warns
    problem = (
        "must hold a mapping of fields (name, waves, instruments, min_cell); "
        f"found {type(loaded).__name__}"
    )
    return {}, [_fail("study.yaml", "", "", problem)], warns


def _read_table(path: Path, key: str) -> tuple[pd.DataFrame | None, list[dict], list[str]]:
    if path.suffix == ".parquet":
        return _read_parquet(path)
    from ._io import read_table

    raw = path.read_bytes()
    text, failures, warns = decode_text(raw, path.name)
    if text is None:
        return None, failures, warns
    if not raw.strip():
        return None, [_fail(path.name, "", "", "the file is empty; expected a header line")], []
    dtype = {c: "str" for c in [*TEXT_COLUMNS[key], *_DATE_COLUMNS]}
    try:
        frame = read_table(path, dtype=dtype)
    except DataValidationError as exc:
        recs = [{**r, "file": path.name} for r in exc.failures.to_dict("records")]
        return None, recs, warns
    except UsageError as exc:
        return None, [_fail(path.name, "", "", str(exc))], warns
    return frame, [], warns


def _read_parquet(path: Path) -> tuple[pd.DataFrame | None, list[dict], list[str]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None, [_fail(path.name, "", "", "reading Parquet needs pyarrow")], []
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for a broken file
        problem = f"could not read the Parquet file ({type(exc).__name__}: {exc})"
        return None, [_fail(path.name, "", "", problem)], []
    return frame.reset_index(drop=True), [], []


def read_study_files(path) -> tuple[dict, dict, list[dict], list[str], dict]:
    """Read a study folder's files without checking their content.

    Returns
    -------
    (meta, tables, failures, warnings, files)
        ``tables`` maps each name of :data:`TABLE_NAMES` to a DataFrame (text
        columns as read) or None; ``files`` maps each table to the file name it
        was read from (``workers.csv`` or ``workers.parquet``).

    Raises
    ------
    UsageError
        ``path`` is not a folder (a file, or nothing).
    """
    folder = Path(path)
    if folder.is_file():
        raise UsageError(f"{folder} is a file; expected a study folder (study.yaml and tables)")
    if not folder.is_dir():
        raise UsageError(f"study folder {folder} does not exist or is not a folder")
    meta, failures, warns = _read_meta(folder)
    tables: dict = {}
    files: dict = {}
    for key in TABLE_NAMES:
        file, found = _find_file(folder, key)
        failures += found
        files[key] = file.name if file is not None else f"{key}.csv"
        tables[key] = None
        if file is None:
            if key in REQUIRED_TABLES and not found:
                problem = f"missing table: {key}.csv is required (or {key}.parquet)"
                failures.append(_fail(f"{key}.csv", "", "", problem))
            continue
        tables[key], bad, more = _read_table(file, key)
        failures += bad
        warns += more
    return meta, tables, failures, warns, files


def _rename_files(records: list[dict], files: dict) -> list[dict]:
    """Failure records name ``<table>.csv``; point them at the file actually read.

    Rows of a Parquet table are given as ``row N`` (1 = its first row), not as lines.
    """
    names = {f"{key}.csv": name for key, name in files.items()}
    out = []
    for rec in records:
        name = names.get(rec.get("file"), rec.get("file"))
        rows = rec.get("rows") or ""
        if str(name).endswith(".parquet") and str(rows).startswith("line "):
            # a Parquet file has no header line: name the data row (1 = first row)
            rows = "row " + re.sub(r"\d+", lambda m: str(int(m.group()) - 1), rows[5:])
        out.append({**rec, "file": name, "rows": rows})
    return out


def table_failures(study, *, base=None, report_missing: bool = False, files=None):
    """Every failure record and warning of a study's tables and ``study.yaml``.

    Parameters
    ----------
    study : Study or namespace
        Anything with ``meta``, ``min_cell``, ``waves`` and the table attributes
        (``Study._raw()`` gives the tables as read, before typing).
    base : Path, optional
        Folder for instrument files named by a relative path.
    report_missing : bool
        Report a missing required table as a failure.
    files : dict, optional
        Table name -> file name actually read (``workers.parquet``), used in messages.

    Returns
    -------
    (list of dict, list of str)
        Failure records ``file, column, rows, problem`` and warnings.
    """
    from ._tablecheck import table_checks

    errors, warns = table_checks(study, base=base, report_missing=report_missing)
    return _rename_files(errors, files or {}), warns
