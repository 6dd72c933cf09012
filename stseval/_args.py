"""Argument checks shared by the statistics modules: the message says what to type."""

from __future__ import annotations

import math
import numbers

from .errors import UsageError

__all__ = ["real_number", "whole_number"]


def real_number(value, name: str, *, positive: bool = False) -> float:
    """``value`` as a float; a :class:`UsageError` naming ``name`` unless finite (and > 0)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise UsageError(f"{name} must be greater than 0, got {value!r}")
    return float(value)


def whole_number(value, name: str, minimum: int) -> int:
    """``value`` as an int; a :class:`UsageError` unless a whole number of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        raise UsageError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)
