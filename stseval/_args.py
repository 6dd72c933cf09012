"""Argument checks shared by every statistics module: one check, one message each.

``confidence``, ``min_cell``, areas and outcomes are checked here and nowhere else,
so :func:`stseval.reliability.alpha`, :func:`stseval.effects.paired`,
:func:`stseval.evaluate_area` and the rest refuse the same bad value with the same
:class:`~stseval.errors.UsageError` and the same words.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import UsageError

__all__ = [
    "real_number",
    "whole_number",
    "check_confidence",
    "check_min_cell",
    "check_choices",
    "negligible_spread",
    "as_numeric",
    "pair_up",
    "check_items",
]

#: Relative tolerance below which a standard deviation counts as zero.
SPREAD_RTOL = 1e-10


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def real_number(value, name: str, *, positive: bool = False) -> float:
    """``value`` as a float; a :class:`UsageError` naming ``name`` unless finite (and > 0)."""
    if not _is_real(value) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise UsageError(f"{name} must be greater than 0, got {value!r}")
    return float(value)


def whole_number(value, name: str, minimum: int) -> int:
    """``value`` as an int; a :class:`UsageError` unless a whole number of at least ``minimum``."""
    if not _is_real(value) or not math.isfinite(value) or value != int(value):
        raise UsageError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


def check_confidence(confidence) -> float:
    """The confidence level as a float strictly between 0 and 1 (a number, not a string)."""
    if not _is_real(confidence) or not 0 < confidence < 1:
        raise UsageError(
            f"confidence must be a number between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )
    return float(confidence)


def check_min_cell(min_cell) -> int:
    """The smallest group size shown or estimated: a whole number of at least 1."""
    if not _is_real(min_cell) or not math.isfinite(min_cell) or min_cell != int(min_cell):
        raise UsageError(f"min_cell must be a positive whole number (e.g. 5), got {min_cell!r}")
    if min_cell < 1:
        raise UsageError(f"min_cell must be a positive whole number (e.g. 5), got {min_cell!r}")
    return int(min_cell)


def check_choices(values, allowed: Sequence[str], name: str) -> list[str]:
    """``values`` (one string or several) as a list, each one of ``allowed``.

    Used for areas (``name="area"``), outcomes and estimators: the message lists the
    unknown values and every allowed one.
    """
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        raise UsageError(f"{name} must be a list of names, got {values!r}")
    values = list(values)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise UsageError(
            f"unknown {name}(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(map(str, allowed))}"
        )
    return values


def negligible_spread(sd: float, values) -> bool:
    """True when ``sd`` is zero up to rounding: ``sd <= SPREAD_RTOL * max|values|``.

    A relative tolerance, not ``sd == 0``: a constant column's SD computed in floating
    point is often ~1e-17 rather than 0, and dividing by it gives nonsense (issue 9).
    """
    scale = float(np.max(np.abs(np.asarray(values, dtype=float)), initial=0.0))
    return not np.isfinite(sd) or sd <= SPREAD_RTOL * scale


def as_numeric(x, name: str) -> pd.Series:
    """A float Series (positional, index kept) or UsageError naming ``name``."""
    if x is None or isinstance(x, (str, bytes)) or np.ndim(x) == 0:
        raise UsageError(f"{name} must be a sequence of numbers (one per person), got {x!r}")
    if isinstance(x, pd.Series):
        s = x
    else:
        if np.ndim(x) != 1:
            raise UsageError(f"{name} must be one-dimensional (one value per person)")
        arr = np.asarray(x)
        s = pd.Series(arr if arr.dtype.kind in "biuf" else np.asarray(x, dtype=object))
    if pd.api.types.is_bool_dtype(s):
        raise UsageError(f"{name} must be numeric scores, got true/false values")
    if pd.api.types.is_numeric_dtype(s):
        out = s.astype("Float64").astype(float)
    else:
        bad = [
            v
            for v in s
            if not (
                v is None or v is pd.NA or (isinstance(v, numbers.Real) and not isinstance(v, bool))
            )
        ]
        if bad:
            raise UsageError(f"{name} must be numeric; got non-numeric value(s) such as {bad[0]!r}")
        out = pd.Series(
            [np.nan if (v is None or v is pd.NA) else float(v) for v in s],
            index=s.index,
            dtype=float,
        )
    if np.isinf(out.to_numpy()).any():
        raise UsageError(f"{name} contains infinite values")
    return out


def pair_up(a, b, name_a: str, name_b: str) -> tuple[pd.Series, pd.Series]:
    """Two :func:`as_numeric` series of the same length (matched by position)."""
    sa, sb = as_numeric(a, name_a), as_numeric(b, name_b)
    if len(sa) != len(sb):
        raise UsageError(
            f"{name_a} and {name_b} must have the same length (one value per "
            f"person, matched by position), got {len(sa)} and {len(sb)}"
        )
    return sa, sb


def check_items(items, *, min_items: int, name: str = "items") -> pd.DataFrame:
    """Validate an item matrix and return it as a float copy (caller's frame untouched)."""
    if not isinstance(items, pd.DataFrame):
        raise UsageError(
            f"{name} must be a pandas DataFrame (rows = respondents, columns = "
            f"items); got {type(items).__name__}"
        )
    bad = [
        str(c)
        for c in items.columns
        if not pd.api.types.is_numeric_dtype(items[c]) or pd.api.types.is_bool_dtype(items[c])
    ]
    if bad:
        raise UsageError(
            f"{name} must have numeric columns only; non-numeric column(s): "
            f"{', '.join(bad)} (score or recode them first)"
        )
    if items.shape[1] < min_items:
        raise UsageError(f"{name} needs at least {min_items} item columns; got {items.shape[1]}")
    if items.columns.duplicated().any():
        dup = [str(c) for c in items.columns[items.columns.duplicated()]]
        raise UsageError(f"{name} has duplicated column name(s): {', '.join(dup)}")
    return items.astype(float)
