"""Print-quality numbers: p-values, estimates and intervals as a reader should see them.

Every report (HTML, PDF, DOCX, org reports) formats numbers through these helpers, so the
same value always reads the same way:

* negative numbers use the Unicode minus sign (U+2212), not the hyphen;
* a value that rounds to zero is written without a sign (never ``-0.0``);
* p-values below ``10**-decimals`` read ``"< 0.001"``, p-values that round to 1 read
  ``"> 0.999"``, never ``0.000`` or ``1.000``;
* an estimate with its interval reads ``"−1.2 (−2.3 to −0.1)"`` (``to`` instead of a dash,
  so a negative bound is never confused with a range).

Missing values (None, NaN) are written as ``missing`` (default an em dash).
Rounding is half-to-even on the binary value, as Python's ``format`` does.
"""

from __future__ import annotations

import math
from typing import Any

from stseval.errors import UsageError

__all__ = ["MINUS", "format_number", "format_p", "format_interval", "format_count"]

#: The Unicode minus sign used for every negative number in a report.
MINUS = "\u2212"
_MISSING = "\u2014"


def _check_decimals(decimals: Any) -> int:
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 10:
        raise UsageError(f"decimals must be an integer from 0 to 10, got {decimals!r}")
    return decimals


def _as_float(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing (None, NaN, pandas NA)."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"expected a number, got {value!r}") from exc
    return None if math.isnan(out) else out


def format_number(value: Any, *, decimals: int = 1, missing: str = _MISSING) -> str:
    """Round ``value`` to ``decimals`` places with the Unicode minus and no negative zero.

    Parameters
    ----------
    value : float
        The number (None or NaN gives ``missing``; infinities give ``"∞"`` / ``"−∞"``).
    decimals : int
        Places after the decimal point, 0..10. Trailing zeros are kept (``1.50``),
        so a column of numbers lines up.
    missing : str
        Text for a missing value.

    Returns
    -------
    str
        E.g. ``format_number(-1.25, decimals=1) == "−1.2"``,
        ``format_number(-0.04, decimals=1) == "0.0"``.
    """
    decimals = _check_decimals(decimals)
    x = _as_float(value)
    if x is None:
        return missing
    if math.isinf(x):
        return "\u221e" if x > 0 else MINUS + "\u221e"
    text = f"{x:.{decimals}f}"
    if text.startswith("-"):
        body = text[1:]
        text = body if float(body) == 0 else MINUS + body
    return text


def format_p(p: Any, *, decimals: int = 3, missing: str = _MISSING) -> str:
    """A p-value for print: ``"< 0.001"``, ``"0.042"``, ``"> 0.999"``.

    Parameters
    ----------
    p : float
        In [0, 1]; outside that range is a :class:`UsageError`.
    decimals : int
        Places shown, 1..10 (default 3).
    missing : str
        Text for a missing p-value.

    Returns
    -------
    str
        ``"< 0.001"`` when ``p < 10**-decimals``; ``"> 0.999"`` when ``p`` would round to
        1; otherwise ``p`` with exactly ``decimals`` places.
    """
    decimals = _check_decimals(decimals)
    if decimals < 1:
        raise UsageError("decimals for a p-value must be at least 1")
    x = _as_float(p)
    if x is None:
        return missing
    if not 0.0 <= x <= 1.0:
        raise UsageError(f"a p-value must be between 0 and 1, got {x!r}")
    floor = 10.0**-decimals
    if x < floor:
        return f"< {floor:.{decimals}f}"
    text = f"{x:.{decimals}f}"
    if float(text) >= 1.0:
        return f"> {1 - floor:.{decimals}f}"
    return text


def format_interval(
    estimate: Any,
    low: Any,
    high: Any,
    *,
    decimals: int = 1,
    missing: str = _MISSING,
) -> str:
    """An estimate with its interval: ``"−1.2 (−2.3 to −0.1)"``.

    Parameters
    ----------
    estimate, low, high : float
        The point estimate and the interval's bounds. A missing estimate gives
        ``missing``; a missing bound gives the estimate alone with ``"(interval not
        estimable)"``.
    decimals : int
        Places for all three numbers.
    missing : str
        Text for a missing estimate.
    """
    est = format_number(estimate, decimals=decimals, missing="")
    if not est:
        return missing
    lo = format_number(low, decimals=decimals, missing="")
    hi = format_number(high, decimals=decimals, missing="")
    if not lo or not hi:
        return f"{est} (interval not estimable)"
    return f"{est} ({lo} to {hi})"


def format_count(value: Any, *, min_cell: int | None = None, missing: str = _MISSING) -> str:
    """A count of people: ``"23"``; ``"fewer than 5"`` when ``0 < value < min_cell``.

    Use on counts that already went through disclosure control; the ``min_cell``
    guard makes a forgotten small count print as ``"fewer than <min_cell>"`` instead
    of the number. Thousands are grouped with a comma (``"1,234"``).
    """
    x = _as_float(value)
    if x is None:
        return missing
    if x != int(x) or x < 0:
        raise UsageError(f"a count must be a whole non-negative number, got {value!r}")
    if min_cell is not None and 0 < x < min_cell:
        return f"fewer than {min_cell}"
    return f"{int(x):,}"
