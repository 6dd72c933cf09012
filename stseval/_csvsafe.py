"""CSV safety: defuse spreadsheet formula injection in exported CSV files.

Re-exported by :mod:`stseval.privacy` (``neutralize_formulas``, ``safe_csv``).

References
----------
OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection ;
OWASP Application Security Verification Standard 5.0, requirement 1.2.10 (adds NUL).
"""

from __future__ import annotations

import csv
import re
from typing import Any

import pandas as pd

from stseval.errors import UsageError

__all__ = ["neutralize_formulas", "safe_csv"]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


def _neutral(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _neutral_label(label: Any) -> Any:
    return tuple(_neutral(x) for x in label) if isinstance(label, tuple) else _neutral(label)


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy where text that a spreadsheet would run as a formula is defused.

    A string cell (or column/index label) starting with ``=``, ``+``, ``-``, ``@``,
    tab, carriage return or NUL gets a leading single quote (OWASP CSV Injection;
    NUL from OWASP ASVS). Genuine numbers are left alone: numeric columns are never
    touched, and a string that is a plain number (``"-1.5"``, ``"+2"``,
    ``"-1,234.5"``, ``"-3e2"``, ``"-5%"``) stays as it is -- a spreadsheet reads it
    as that number, which is harmless. ``"-2+3"`` is not a plain number and is
    quoted. Non-string values in text columns and missing values are unchanged.
    """
    if not isinstance(df, pd.DataFrame):
        raise UsageError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    out = df.copy()
    for j, col in enumerate(df.columns):
        s = df.iloc[:, j]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            mapping = {c: _neutral(c) for c in cats if _neutral(c) != c}
            if mapping:
                out.isetitem(j, s.cat.rename_categories(mapping))
        elif pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            out.isetitem(
                j, pd.Series([_neutral(v) for v in s], index=s.index, dtype=s.dtype, name=col)
            )
    out.columns = out.columns.map(_neutral_label)
    out.index = out.index.map(_neutral_label)
    return out


def safe_csv(df: pd.DataFrame, path: Any, **to_csv_kwargs: Any) -> str | None:
    """Write ``df`` to CSV after :func:`neutralize_formulas`.

    ``path`` and ``to_csv_kwargs`` go to :meth:`pandas.DataFrame.to_csv`; as there,
    ``path=None`` returns the CSV text. ``df`` itself is not changed. Unless
    ``quoting`` is given, text fields are wrapped in double quotes
    (``csv.QUOTE_NONNUMERIC``, as OWASP advises): Python's csv writer otherwise
    leaves a bare carriage return unquoted, which splits the row and can start a
    new cell with ``=``. Numbers stay unquoted; pandas reads the file back as usual.
    """
    to_csv_kwargs.setdefault("quoting", csv.QUOTE_NONNUMERIC)
    return neutralize_formulas(df).to_csv(path, **to_csv_kwargs)
