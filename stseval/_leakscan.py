"""The leak scan every shared report passes before it is written.

No worker ID (raw or pseudonymous), no free-text answer, no row-level table.
Re-exported by :mod:`stseval.privacy` (the public names live there).
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stseval.errors import StsevalError, UsageError

__all__ = [
    "PrivacyLeakError",
    "LeakFinding",
    "FREE_TEXT_MIN_CHARS",
    "scan_for_leaks",
    "assert_no_leaks",
]

FREE_TEXT_MIN_CHARS = 12


class PrivacyLeakError(StsevalError):
    """Something in a table or report would identify a person if shared.

    Attributes
    ----------
    source : str
        What was checked (a report name, file or table name).
    findings : list of LeakFinding
        Every problem found. ``str(finding)`` is safe to log (values are masked).
    """

    def __init__(self, source: str, findings: Sequence[LeakFinding], *, limit: int = 20):
        self.source = str(source)
        self.findings = list(findings)
        lines = [f"{self.source} is not safe to share ({len(self.findings)} finding(s)):"]
        lines += [f"  - {f}" for f in self.findings[:limit]]
        if len(self.findings) > limit:
            lines.append(f"  ... and {len(self.findings) - limit} more")
        super().__init__("\n".join(lines))

    def __reduce__(self):
        # rebuilt from its fields, so the error travels back from a worker process
        return (type(self), (self.source, self.findings))


@dataclass(frozen=True)
class LeakFinding:
    """One problem found by :func:`scan_for_leaks` or :func:`check_min_cell`.

    ``kind`` is one of ``"id"``, ``"free_text"``, ``"identifier_column"``,
    ``"row_level_table"``, ``"small_cell"``. ``shown`` is safe to log (leaked values
    are masked to their first two characters); ``value`` holds the raw leaked
    string so the caller can find and fix it -- it is left out of ``repr``/``str``.
    """

    kind: str
    shown: str
    line: int | None = None
    count: int = 1
    detail: str = ""
    value: str = field(default="", repr=False, compare=False)

    def __str__(self) -> str:
        where = f" (first at line {self.line})" if self.line is not None else ""
        times = f", {self.count} time(s)" if self.count > 1 else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.kind} {self.shown}{where}{times}{detail}"


def _id_str(value: Any) -> str | None:
    """Canonical text of an ID: stripped, integral floats without '.0', None if missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    elif isinstance(value, np.integer):
        value = int(value)
    text = str(value).strip()
    return text or None


def _mask(value: str) -> str:
    return repr(value[:2] + "…")


# --------------------------------------------------------------------------- leak scan

_DATA_URI = re.compile(r"data:[\w/+.-]*(?:;[\w=.+-]*)*,[A-Za-z0-9+/=%_.~-]*")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{100,}={0,2}")
_TOKEN = re.compile(r"[\w.@-]+")
_SEP = re.compile(r"[.@-]")
_NUMLIKE = re.compile(r"[\d.,:/+-]+")
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[A-Za-z!/?][^>]*>")
_TABLE = re.compile(r"<table\b.*?</table\s*>", re.I | re.S)
_TR = re.compile(r"<tr\b", re.I)
_CELL = re.compile(r"<(t[hd])\b[^>]*>(.*?)</t[hd]\s*>", re.I | re.S)
_MD_TABLE = re.compile(
    r"^([^\n|]*\|[^\n]*)\n"  # header line
    r"[ \t]*\|?[ \t]*:?-{3,}[-|: \t]*\n"  # |---|:--:|
    r"((?:[^\n|]*\|[^\n]*(?:\n|$))*)",
    re.M,
)  # body lines
_IDENT_COL = re.compile(
    r"(?:worker|respondent|participant|employee|staff|person|user|subject|member)"
    r"(?:_?(?:id|code|no|number|key|name|email))|worker|respondent|participant|employee"
    r"|(?:full_?|first_?|last_?|given_?|family_?|sur)?name|e_?mail(?:_?address)?"
    r"|id|uid|pid|ssn|national_id|phone(?:_?number)?"
)
_IDLIKE = re.compile(r"[A-Za-z]{1,3}-[0-9a-f]{8,64}|[A-Za-z]{1,4}[-_]?\d{3,}")
_PATH_SUFFIXES = (".html", ".htm", ".md", ".csv", ".tsv", ".txt", ".ipynb", ".json")


def _read(text_or_path: Any) -> tuple[str, str]:
    """Return (text, kind) where kind is 'csv' or 'text'."""
    if isinstance(text_or_path, bytes | bytearray):
        return bytes(text_or_path).decode("utf-8", errors="replace"), "text"
    path = None
    if isinstance(text_or_path, os.PathLike):
        path = Path(text_or_path)
    elif isinstance(text_or_path, str):
        s = text_or_path
        if (
            "\n" not in s
            and "<" not in s
            and len(s) < 4096
            and (s.lower().endswith(_PATH_SUFFIXES) or Path(s).is_file())
        ):
            path = Path(s)
    else:
        raise UsageError(
            f"text_or_path must be text, bytes or a path, got {type(text_or_path).__name__}"
        )
    if path is None:
        return text_or_path, "text"
    if not path.is_file():
        raise UsageError(f"text_or_path: file {str(path)!r} does not exist")
    kind = "csv" if path.suffix.lower() in (".csv", ".tsv") else "text"
    return path.read_text(encoding="utf-8", errors="replace"), kind


def _strip_blobs(text: str) -> str:
    """Remove data: URIs and long base64 runs, keeping line numbers."""

    def blank(m: re.Match) -> str:
        return " " + "\n" * m.group().count("\n")

    return _BASE64_RUN.sub(blank, _DATA_URI.sub(blank, text))


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _scan_ids(text: str, ids: Any, min_id_length: int) -> tuple[list[LeakFinding], set[str]]:
    if isinstance(ids, str | bytes) or np.isscalar(ids):
        ids = [ids]
    elif isinstance(ids, pd.DataFrame):
        ids = ids.to_numpy().ravel()
    wanted: dict[str, str] = {}
    short = 0
    for value in ids:
        s = _id_str(value)
        if s is None:
            continue
        if len(s) < min_id_length:
            short += 1
            continue
        wanted[s.lower()] = s
    if short:
        warnings.warn(
            f"{short} ID(s) shorter than min_id_length={min_id_length} were not scanned for",
            stacklevel=3,
        )
    if not wanted:
        return [], set()
    token_ids = {k for k in wanted if _TOKEN.fullmatch(k) and k.strip(".@-") == k}
    other_ids = set(wanted) - token_ids
    max_parts = 1 + max((len(_SEP.findall(k)) for k in token_ids), default=0)
    hits: set[str] = set()
    for tok in set(_TOKEN.findall(text)):
        t = tok.strip(".@-").lower()
        if not t:
            continue
        if t in token_ids:
            hits.add(t)
        if _NUMLIKE.fullmatch(t) or max_parts == 1 and not _SEP.search(t):
            continue
        cuts = [0] + [m.start() for m in _SEP.finditer(t)] + [len(t)]
        for i in range(len(cuts) - 1):
            start = cuts[i] + (i > 0)
            for j in range(i + 1, min(i + max_parts, len(cuts) - 1) + 1):
                piece = t[start : cuts[j]]
                if piece in token_ids:
                    hits.add(piece)
    for k in other_ids:
        if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", text, re.I):
            hits.add(k)
    findings = []
    for k in sorted(hits):
        matches = list(re.finditer(rf"(?<!\w){re.escape(k)}(?!\w)", text, re.I))
        line = _line_of(text, matches[0].start()) if matches else None
        findings.append(
            LeakFinding(
                "id",
                _mask(wanted[k]),
                line,
                max(len(matches), 1),
                "worker ID appears in the text",
                wanted[k],
            )
        )
    return findings, set(wanted)


def _scan_free_text(plain_words: list[str], free_text: Any) -> list[LeakFinding]:
    if isinstance(free_text, str):
        free_text = [free_text]
    elif isinstance(free_text, pd.DataFrame):
        free_text = free_text.to_numpy().ravel()
    answers: dict[tuple[str, ...], str] = {}
    for value in free_text:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        s = " ".join(str(value).split())
        words = tuple(_WORD.findall(s.lower()))
        if len(s) >= FREE_TEXT_MIN_CHARS and words:
            answers.setdefault(words, s)
    if not answers or not plain_words:
        return []
    hw = plain_words
    seen: dict[int, set] = {}
    for k in (1, 2, 3):
        grams = {
            w[i : i + k]
            for w in answers
            if len(w) >= k and (k == 3 or len(w) == k)
            for i in range(len(w) - k + 1)
        }
        seen[k] = (
            grams.intersection(zip(*(hw[i:] for i in range(k)), strict=False)) if grams else set()
        )
    joined = None
    findings = []
    for words, original in answers.items():
        k = min(len(words), 3)
        if any(words[i : i + k] not in seen[k] for i in range(len(words) - k + 1)):
            continue
        if joined is None:
            joined = " " + " ".join(hw) + " "
        count = joined.count(" " + " ".join(words) + " ")
        if count:
            findings.append(
                LeakFinding(
                    "free_text",
                    _mask(original),
                    None,
                    count,
                    "free-text answer quoted in the text",
                    original,
                )
            )
    return findings


def _check_table(
    header: list[str], rows: list[list[str]], label: str, line: int, ids: set[str], max_rows: int
) -> list[LeakFinding]:
    findings = []
    for h in header:
        norm = re.sub(r"[\s.\-]+", "_", h.strip().lower()).strip("_")
        if norm and _IDENT_COL.fullmatch(norm):
            findings.append(
                LeakFinding(
                    "identifier_column",
                    f"{label}: column {h.strip()!r}",
                    line,
                    detail="looks like a row-level table of people",
                )
            )
    if len(rows) > max_rows:
        keyed = sum(any(_IDLIKE.fullmatch(c) or c.lower() in ids for c in row) for row in rows)
        if keyed > len(rows) / 2:
            findings.append(
                LeakFinding(
                    "row_level_table",
                    label,
                    line,
                    detail=f"{len(rows)} rows, {keyed} of them keyed by ID-like values "
                    f"(more than max_rows={max_rows})",
                )
            )
    return findings


def _scan_tables(text: str, kind: str, ids: set[str], max_rows: int) -> list[LeakFinding]:
    findings: list[LeakFinding] = []
    for t, m in enumerate(_TABLE.finditer(text), start=1):
        header: list[str] = []
        rows: list[list[str]] = []
        for chunk in _TR.split(m.group())[1:]:
            cells = _CELL.findall(chunk)
            texts = [_plain(c) for _, c in cells]
            if any(tag.lower() == "td" for tag, _ in cells):
                rows.append(texts)
            else:
                header += texts
        findings += _check_table(
            header, rows, f"HTML table {t}", _line_of(text, m.start()), ids, max_rows
        )
    for t, m in enumerate(_MD_TABLE.finditer(text), start=1):

        def split(line: str) -> list[str]:
            return [_plain(c) for c in line.strip().strip("|").split("|")]

        rows = [split(r) for r in m.group(2).splitlines() if r.strip()]
        findings += _check_table(
            split(m.group(1)), rows, f"markdown table {t}", _line_of(text, m.start()), ids, max_rows
        )
    first, _, rest = text.lstrip().partition("\n")
    delim = max(",\t;", key=first.count)
    if kind == "csv" or (
        "<" not in first
        and first.count(delim) >= 1
        and rest.partition("\n")[0].count(delim) == first.count(delim)
    ):
        reader = list(csv.reader(io.StringIO(text.lstrip()), delimiter=delim))
        if reader:
            findings += _check_table(
                reader[0], [r for r in reader[1:] if r], "CSV", 1, ids, max_rows
            )
    return findings


def scan_for_leaks(
    text_or_path: Any,
    *,
    ids: Any = (),
    free_text: Any = (),
    min_id_length: int = 4,
    max_rows: int = 20,
) -> list[LeakFinding]:
    """Look for identifying content in a report (HTML, markdown, CSV, notebook, text).

    Parameters
    ----------
    text_or_path : str, bytes or path
        The text, or a file to read. A one-line string without ``<`` that ends in
        .html/.htm/.md/.csv/.tsv/.txt/.ipynb/.json or names an existing file is read
        as a path; a path that does not exist is a UsageError (never a silent pass).
    ids : iterable
        Worker IDs to look for, raw and/or pseudonymous (a Series or DataFrame of
        them is fine). Matched case-insensitively as whole tokens: ``W0012`` is
        found in ``"W0012."``, ``worker-W0012`` or ``W0012.csv`` but not in
        ``W00123``; numbers and dates (``1234.5``, ``2023-10-12``) are only matched
        whole. IDs shorter than ``min_id_length`` are skipped with a warning.
    free_text : iterable of str
        The study's free-text answers. Answers of at least 12 characters (after
        collapsing whitespace) are looked for as word sequences, ignoring case,
        punctuation, HTML tags and entities. Partial quotes are not detected.
    min_id_length : int
        Shorter IDs give too many false positives (short numbers are everywhere).
    max_rows : int
        An HTML/markdown/CSV table with more rows than this, most of them holding
        an ID-like value (``W0012``, ``EMP-00123``, ``W-3fa9c2d1e0b4`` or a listed
        ID), is reported as row-level.

    Returns
    -------
    list of LeakFinding
        ``id`` (one per distinct ID, with count and first line), ``free_text``,
        ``identifier_column`` (a table column named like worker_id, respondent,
        name, email, id...) and ``row_level_table``. Empty when nothing was found.

    Notes
    -----
    ``data:`` URIs and runs of 100+ base64 characters (embedded images, notebook
    outputs) are removed before scanning, so random base64 cannot match an ID.
    The work is a few regex passes plus set lookups over the distinct tokens, so
    a several-MB report with thousands of IDs scans in well under a second.
    """
    if isinstance(min_id_length, bool) or not isinstance(min_id_length, int) or min_id_length < 1:
        raise UsageError(f"min_id_length must be a positive integer, got {min_id_length!r}")
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise UsageError(f"max_rows must be a positive integer, got {max_rows!r}")
    raw, kind = _read(text_or_path)
    text = _strip_blobs(raw)
    findings, id_set = _scan_ids(text, ids, min_id_length)
    plain_words = _WORD.findall(html.unescape(_TAG.sub(" ", text)).lower())
    findings += _scan_free_text(plain_words, free_text)
    findings += _scan_tables(text, kind, id_set, max_rows)
    return findings


def assert_no_leaks(
    text_or_path: Any, *, ids: Any, free_text: Any = (), source: str = "report", **scan_kwargs: Any
) -> None:
    """Raise :class:`PrivacyLeakError` if :func:`scan_for_leaks` finds anything.

    ``ids`` is required (pass every raw and pseudonymous worker ID of the study).
    The message names ``source`` and lists each finding with the leaked value
    masked to its first two characters, so it can be logged. ``scan_kwargs`` go to
    :func:`scan_for_leaks` (``min_id_length``, ``max_rows``).
    """
    findings = scan_for_leaks(text_or_path, ids=ids, free_text=free_text, **scan_kwargs)
    if findings:
        raise PrivacyLeakError(source, findings)
