"""Keep staff survey data safe to share: pseudonyms, small-cell suppression, leak scans.

Five tools, all used before anything leaves the analyst's machine:

* **Pseudonymization** -- :func:`load_key`, :func:`pseudonymize`,
  :func:`pseudonymize_frame`, :func:`drop_identifiers`. IDs become keyed hashes
  (HMAC-SHA256, RFC 2104) so the same worker gets the same pseudonym in every
  table, but nobody without the key (kept outside the study folder) can link a
  pseudonym back to a person by hashing a list of candidate IDs.
* **Minimum cell size** -- :func:`suppress` (primary and complementary suppression with an
  audit table), :func:`suppress_mask` (figures), :func:`check_min_cell` (a last check).
* **Across tables** -- :func:`protect_tables` etc., re-exported from :mod:`stseval.disclosure`.
* **Leak scan** -- :func:`scan_for_leaks` / :func:`assert_no_leaks` look for worker IDs,
  free-text answers and row-level tables in a finished report.
* **CSV safety** -- :func:`neutralize_formulas` / :func:`safe_csv` defuse
  spreadsheet formula injection in exported CSV files.

Nothing here ever prints the key, a suppressed count or a leaked value in full:
messages show at most the first two characters of a leaked value.

References
----------
Krawczyk, H., Bellare, M. & Canetti, R. (1997). HMAC: Keyed-hashing for message
authentication. RFC 2104. https://doi.org/10.17487/RFC2104
Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley.
https://doi.org/10.1002/9781118348239 (primary/complementary cell suppression)
OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection ;
OWASP Application Security Verification Standard 5.0, requirement 1.2.10 (adds NUL).
The leak scan lives in :mod:`stseval._leakscan`; tests in ``tests/test_privacy.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stseval._csvsafe import neutralize_formulas, safe_csv
from stseval._leakscan import (
    LeakFinding,
    PrivacyLeakError,
    _id_str,
    assert_no_leaks,
    scan_for_leaks,
)
from stseval.disclosure import (
    CellTable,
    DisclosureError,
    Relation,
    other_org_bands,
    protect_tables,
    write_disclosure_audit,
)
from stseval.errors import DataValidationError, UsageError, format_rows

__all__ = [
    "PrivacyLeakError",
    "LeakFinding",
    "DEFAULT_PSEUDONYM_COLUMNS",
    "load_key",
    "pseudonymize",
    "pseudonymize_frame",
    "drop_identifiers",
    "suppress",
    "suppress_mask",
    "check_min_cell",
    "scan_for_leaks",
    "assert_no_leaks",
    "neutralize_formulas",
    "safe_csv",
    "CellTable",
    "Relation",
    "DisclosureError",
    "protect_tables",
    "other_org_bands",
    "write_disclosure_audit",
]

MIN_KEY_BYTES = 16
#: Columns :func:`pseudonymize_frame` handles by default, with their prefixes.
DEFAULT_PSEUDONYM_COLUMNS = {"worker_id": "W", "team_id": "T", "org_id": "O"}
AUDIT_COLUMNS = ["table", "row", "column", "reason"]

# --------------------------------------------------------------------------- keys, IDs


def load_key(*, env_var: str = "STSEVAL_KEY", key_file: str | os.PathLike | None = None) -> bytes:
    """Read the pseudonymization key.

    Parameters
    ----------
    env_var : str
        Environment variable holding the key (used when ``key_file`` is None).
    key_file : path, optional
        File holding the key; wins over ``env_var``. Keep it outside the study
        folder (and out of version control). Surrounding whitespace is stripped.

    Returns
    -------
    bytes
        The key: the variable's text encoded as UTF-8, or the file's bytes.

    Raises
    ------
    UsageError
        No key found, the file is missing, or the key is shorter than 16 bytes.
        The key itself never appears in a message. A key file readable by other
        users only gives a warning.
    """
    hint = (
        'create one with `python -c "import secrets; print(secrets.token_hex(32))" '
        "> ~/stseval.key` (outside the study folder) and pass key_file=, or set "
        f"the environment variable {env_var}"
    )
    if key_file is not None:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise UsageError(f"key_file {str(path)!r} does not exist or is not a file; {hint}")
        if os.name == "posix" and path.stat().st_mode & 0o077:
            warnings.warn(
                f"key_file {str(path)!r} is readable by other users; consider `chmod 600 {path}`",
                stacklevel=2,
            )
        key, origin = path.read_bytes().strip(), f"key_file {str(path)!r}"
    else:
        text = os.environ.get(env_var, "").strip()
        if not text:
            raise UsageError(
                f"no pseudonymization key: environment variable {env_var} is "
                f"not set and no key_file was given; {hint}"
            )
        key, origin = text.encode("utf-8"), f"environment variable {env_var}"
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(
            f"the key in {origin} is shorter than {MIN_KEY_BYTES} bytes; "
            f"use a longer random key; {hint}"
        )
    return key


def _check_key(key: Any) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes | bytearray):
        raise UsageError(f"key must be bytes (see load_key), got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(f"key must be at least {MIN_KEY_BYTES} bytes long (see load_key)")
    return bytes(key)


def pseudonymize(ids: Iterable, key: bytes, *, prefix: str = "W", length: int = 12) -> pd.Series:
    """Replace IDs by keyed-hash pseudonyms.

    ``pseudonym = f"{prefix}-" + HMAC_SHA256(key, id_text.encode()).hexdigest()[:length]``

    Parameters
    ----------
    ids : Series or iterable
        IDs. Each is turned into text first: surrounding whitespace stripped,
        integral floats written without ``.0`` (so ``101.0`` and ``"101"`` agree).
    key : bytes
        From :func:`load_key`; at least 16 bytes.
    prefix : str
        Marks the kind of ID (``W`` workers, ``T`` teams, ``O`` orgs). ``""`` gives
        the bare hex digest.
    length : int
        Hex characters kept, 8..64. 12 hex = 48 bits: collisions are negligible
        for studies of thousands of people.

    Returns
    -------
    pandas.Series
        Object dtype, same index and name as a Series input. Missing or empty IDs
        stay NaN. The same key always gives the same pseudonym, so tables still join.
    """
    key = _check_key(key)
    if isinstance(ids, str | bytes):
        raise UsageError("ids must be a Series or list of IDs; for one ID pass [id]")
    if isinstance(length, bool) or not isinstance(length, int) or not 8 <= length <= 64:
        raise UsageError(f"length must be an integer from 8 to 64, got {length!r}")
    if not isinstance(prefix, str):
        raise UsageError(f"prefix must be a string, got {type(prefix).__name__}")
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    lead = f"{prefix}-" if prefix else ""
    cache: dict[Any, Any] = {}

    def one(value: Any) -> Any:
        text = _id_str(value)
        if text is None:
            return np.nan
        if text not in cache:
            digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
            cache[text] = lead + digest[:length]
        return cache[text]

    return pd.Series([one(v) for v in series], index=series.index, name=series.name, dtype=object)


def pseudonymize_frame(
    df: pd.DataFrame, key: bytes, *, columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return a copy of ``df`` with ID columns pseudonymized.

    Parameters
    ----------
    df : DataFrame
    key : bytes
    columns : mapping column -> prefix, optional
        Default :data:`DEFAULT_PSEUDONYM_COLUMNS` (``worker_id: W, team_id: T,
        org_id: O``); with the default, absent columns are skipped. An explicit
        mapping naming a column ``df`` lacks is a :class:`UsageError`.
    """
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    key = _check_key(key)
    if columns is None:
        columns = {c: p for c, p in DEFAULT_PSEUDONYM_COLUMNS.items() if c in df.columns}
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(f"columns {missing} are not in the table (it has {list(df.columns)})")
    out = df.copy()
    for col, prefix in columns.items():
        out[col] = pseudonymize(df[col], key, prefix=prefix)
    return out


def drop_identifiers(
    df: pd.DataFrame, columns: str | Iterable[str], *, missing: str = "ignore"
) -> pd.DataFrame:
    """Return a copy of ``df`` without the identifying ``columns``.

    ``missing="ignore"`` (default) skips columns ``df`` does not have, so one list
    can be used on every table; ``missing="raise"`` makes that a UsageError
    (use it to catch typos).
    """
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if missing not in ("ignore", "raise"):
        raise UsageError(f"missing must be 'ignore' or 'raise', got {missing!r}")
    cols = [columns] if isinstance(columns, str) else list(columns)
    absent = [c for c in cols if c not in df.columns]
    if absent and missing == "raise":
        raise UsageError(f"columns {absent} are not in the table (it has {list(df.columns)})")
    return df.drop(columns=[c for c in cols if c in df.columns])


# --------------------------------------------------------------------------- cell suppression

_PCT_NAME = re.compile(r"pct|perc|prop|share|%", re.I)


def _check_min_cell(min_cell: Any) -> int:
    if isinstance(min_cell, bool) or not isinstance(min_cell, int | np.integer) or min_cell < 1:
        raise UsageError(f"min_cell must be a positive integer, got {min_cell!r}")
    return int(min_cell)


def _counts(table: pd.DataFrame, count_col: str, name: str) -> np.ndarray:
    if not isinstance(table, pd.DataFrame):
        raise UsageError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    if count_col not in table.columns:
        raise UsageError(
            f"count_col {count_col!r} is not a column (columns: {list(table.columns)})"
        )
    raw = table[count_col]
    counts = pd.to_numeric(raw, errors="coerce")
    bad = counts.isna() & raw.notna()
    neg = counts < 0
    if bad.any() or neg.any():
        rows = table.index[bad | neg]
        raise DataValidationError(
            [
                {
                    "file": name,
                    "column": count_col,
                    "rows": format_rows(rows),
                    "problem": "counts must be non-negative numbers",
                }
            ]
        )
    return counts.to_numpy(dtype=float)


def _partitions(group_cols: Any, table: pd.DataFrame) -> list[list[str]]:
    if group_cols is None:
        return [[]]
    if isinstance(group_cols, str):
        parts = [[group_cols]]
    else:
        group_cols = list(group_cols)
        if group_cols and all(isinstance(g, list | tuple) for g in group_cols):
            parts = [list(g) for g in group_cols]
        else:
            parts = [group_cols]
    for col in (c for p in parts for c in p):
        if col not in table.columns:
            raise UsageError(
                f"group_cols: {col!r} is not a column (columns: {list(table.columns)})"
            )
    return parts


def _total_mask(total_rows: Any, table: pd.DataFrame) -> np.ndarray:
    n = len(table)
    if total_rows is None:
        return np.zeros(n, dtype=bool)
    if callable(total_rows):
        total_rows = total_rows(table)
    arr = np.asarray(total_rows)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise UsageError(f"total_rows mask has {arr.size} values; the table has {n} rows")
        return arr.copy()
    labels = list(total_rows)
    unknown = [lab for lab in labels if lab not in table.index]
    if unknown:
        raise UsageError(f"total_rows: labels {unknown} are not in the table's index")
    return np.asarray(table.index.isin(labels), dtype=bool)


def suppress(
    table: pd.DataFrame,
    *,
    count_col: str = "n",
    min_cell: int = 5,
    value_cols: Sequence[str] | None = None,
    group_cols: Any = None,
    total_rows: Any = None,
    marker: str = "suppressed",
    name: str = "table",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hide small cells (primary) and the cells that would reveal them (complementary).

    Parameters
    ----------
    table : DataFrame
        One row per cell, with a count column.
    count_col : str
        The count (number of people) behind each row.
    min_cell : int
        Smallest count that may be shown (5 is common; some agencies use 11).
    value_cols : list of str, optional
        Columns computed from the people in the cell (means, percentages...),
        blanked together with the count. Default: every numeric, non-boolean
        column other than ``count_col`` and ``group_cols`` (so a numeric label
        such as a year is blanked too unless listed in ``group_cols``). Text
        columns holding numbers (``"12 (34%)"``) must be named explicitly.
    group_cols : str, list of str, or list of lists, optional
        Columns defining sets of cells that add up to a total (e.g. ``["wave"]``:
        the arms within one wave). A list of lists gives several crossing sets
        (``[["wave"], ["arm"]]``). None: the whole table is one set.
    total_rows : bool mask, index labels or callable(table) -> mask, optional
        Rows holding the total of their set. They are never chosen as a
        complement unless their set has no other cell left.
    marker : str
        First word of the ``note`` written on suppressed rows.
    name : str
        Table name written in the audit's ``table`` column.

    Returns
    -------
    table : DataFrame
        A copy with ``count_col`` and ``value_cols`` set to NaN on suppressed rows
        (numeric ones cast to float), plus ``suppressed`` (bool) and ``note``
        (``"<marker>: n < <min_cell>"`` or ``"<marker>: protects another cell"``;
        an existing ``note`` is kept and extended with ``"; "``). Rows already
        flagged ``suppressed`` in the input count as hidden.
    audit : DataFrame
        Columns ``table, row, column, reason``: one row per blanked cell, ``row``
        the index label, ``reason`` ``"primary: n < min_cell 5"`` or
        ``"complementary: protects row X"``. The audit never contains the hidden
        count, so it does not undo the suppression if it travels with a report.

    Notes
    -----
    Primary: ``0 < n < min_cell`` (zeros and missing counts stay visible).
    Complementary: a set with exactly one hidden cell lets a reader recover it as
    total minus the visible cells whenever the total is known: when the set has a
    visible total row, when a percentage-like value column (name containing
    pct/perc/prop/share/%) is present, or whenever ``group_cols`` is given (the
    caller declared the cells additive; totals are usually printed elsewhere). In
    such a set the smallest visible positive cell (else a zero cell, else the
    total row) is hidden too; this repeats until no set has exactly one hidden
    cell. With no ``group_cols``, no total rows and no percentage column, cells are
    treated as independent and only primary suppression happens. See Hundepool
    et al. (2012), ch. 4, for the method; this greedy version does not minimise
    the information lost.
    """
    counts = _counts(table, count_col, name)
    min_cell = _check_min_cell(min_cell)
    parts = _partitions(group_cols, table)
    value_cols = _value_columns(table, value_cols, parts, count_col)
    is_total = _total_mask(total_rows, table)
    pct_present = any(_PCT_NAME.search(str(c)) for c in value_cols)
    n = len(table)
    hidden = (
        table["suppressed"].fillna(False).astype(bool).to_numpy()
        if "suppressed" in table.columns
        else np.zeros(n, dtype=bool)
    )
    reason: dict[int, str] = {}
    visible_count = ~np.isnan(counts)
    for i in np.flatnonzero(~hidden & visible_count & (counts > 0) & (counts < min_cell)):
        hidden[i] = True
        reason[i] = f"primary: n < min_cell {min_cell}"
    sets = _cell_sets(table, parts)
    _complement(
        counts, hidden, reason, sets, is_total, group_cols is not None or pct_present, table.index
    )
    blank = [count_col, *value_cols]
    out = _blank_rows(table, hidden, reason, blank, marker, min_cell)
    audit = pd.DataFrame(
        [
            {"table": name, "row": table.index[i], "column": col, "reason": reason[i]}
            for i in sorted(reason)
            for col in blank
        ],
        columns=AUDIT_COLUMNS,
    )
    return out, audit


def _value_columns(table, value_cols, parts, count_col) -> list:
    grouped = {c for p in parts for c in p}
    if value_cols is None:
        return [
            c
            for c in table.columns
            if c not in grouped
            and c not in (count_col, "suppressed", "note")
            and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])
        ]
    value_cols = [value_cols] if isinstance(value_cols, str) else list(value_cols)
    bad = [c for c in value_cols if c not in table.columns or c in grouped or c == count_col]
    if bad:
        raise UsageError(
            f"value_cols {bad} are missing from the table or are the count or group columns"
        )
    return value_cols


def _cell_sets(table: pd.DataFrame, parts: list[list[str]]) -> list[list[np.ndarray]]:
    """Row positions of each set of additive cells, one list per partition."""
    sets = [[np.arange(len(table))]] if parts == [[]] else []
    flat = table.reset_index(drop=True)
    for p in parts:
        if p:
            groups = flat.groupby(p, dropna=False, sort=False).indices.values()
            sets.append([np.asarray(ix) for ix in groups])
    return sets


def _complement(counts, hidden, reason, sets, is_total, additive, labels) -> None:
    """Hide one more cell in any set with exactly one hidden cell, until none is left."""
    visible_count = ~np.isnan(counts)
    changed = True
    while changed:
        changed = False
        for groups in sets:
            for idx in groups:
                cells, totals = idx[~is_total[idx]], idx[is_total[idx]]
                lone = cells[hidden[cells]]
                if lone.size != 1 or not (additive or (~hidden[totals]).any()):
                    continue
                open_cells = cells[~hidden[cells] & visible_count[cells]]
                pool = open_cells[counts[open_cells] > 0]
                if pool.size == 0:
                    pool = open_cells if open_cells.size else totals[~hidden[totals]]
                if pool.size == 0:
                    continue
                pick = pool[np.argsort(counts[pool], kind="stable")[0]]
                hidden[pick] = True
                reason[pick] = f"complementary: protects row {labels[lone[0]]}"
                changed = True


def _blank_rows(table, hidden, reason, blank, marker, min_cell) -> pd.DataFrame:
    out = table.copy()
    rows = np.flatnonzero(hidden)
    for col in blank:
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype(float)
        else:
            out[col] = out[col].astype(object)
        if rows.size:
            out.iloc[rows, out.columns.get_loc(col)] = np.nan
    notes = [""] * len(table)
    for i, why in reason.items():
        notes[i] = (
            f"{marker}: n < {min_cell}"
            if why.startswith("primary")
            else f"{marker}: protects another cell"
        )
    if "note" in table.columns:
        old = table["note"].astype(object).where(table["note"].notna(), "").astype(str).tolist()
        notes = ["; ".join(s for s in (o, m) if s) for o, m in zip(old, notes, strict=True)]
    out["suppressed"] = hidden
    out["note"] = notes
    return out


def suppress_mask(counts: Any, min_cell: int = 5) -> Any:
    """True where ``0 < count < min_cell`` (primary suppression only), for figure code.

    Accepts a Series, DataFrame, array or list and returns a boolean object of the
    same kind (list -> ndarray). Missing counts give False. Complementary cells
    are not added: use :func:`suppress` when the numbers also appear in a table.
    """
    min_cell = _check_min_cell(min_cell)
    if isinstance(counts, pd.DataFrame):
        values = counts.apply(pd.to_numeric, errors="coerce")
    elif isinstance(counts, pd.Series):
        values = pd.to_numeric(counts, errors="coerce")
    else:
        values = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore"):
        mask = (values > 0) & (values < min_cell)
    return mask.astype(bool) if isinstance(mask, pd.Series | pd.DataFrame) else np.asarray(mask)


def check_min_cell(
    table: pd.DataFrame, count_col: str = "n", min_cell: int = 5, *, name: str = "table"
) -> None:
    """Raise :class:`PrivacyLeakError` if any visible count is below ``min_cell``.

    Visible means not missing; zero counts are allowed. The message names the
    rows but not the counts.
    """
    counts = _counts(table, count_col, name)
    min_cell = _check_min_cell(min_cell)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((counts > 0) & (counts < min_cell))
    if bad.size:
        findings = [
            LeakFinding(
                "small_cell",
                f"row {table.index[i]}, column {count_col!r}",
                detail=f"count below min_cell {min_cell}",
            )
            for i in bad
        ]
        raise PrivacyLeakError(name, findings)
