"""Multiple-comparison adjustments (Holm, Benjamini-Hochberg) in NumPy.

Private home of :func:`stseval.models.adjust_p` (re-exported there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import UsageError

__all__ = ["adjust_p"]


def adjust_p(p, method="holm"):
    """Adjust p-values for multiple comparisons, ignoring NaNs.

    Parameters
    ----------
    p : array-like or Series
        p-values; NaNs stay NaN and do not count toward the number of tests.
    method : {"holm", "fdr_bh"}
        Holm's step-down family-wise correction or Benjamini-Hochberg false
        discovery rate, in NumPy (the same numbers as statsmodels'
        ``multipletests``, which calls ``gc.collect()`` on every call and was a
        large share of :func:`stseval.evaluate_all`'s time; issue 14).

    Holm: with sorted p_(1) <= ... <= p_(m), p~_(i) = max_{j <= i} min(1, (m - j + 1)
    p_(j)). BH: p~_(i) = min_{j >= i} min(1, m p_(j) / j).

    Returns
    -------
    Series (same index and name) if ``p`` is a Series, else an ndarray of the
    same shape.
    """
    if method not in ("holm", "fdr_bh"):
        raise UsageError(f"method must be 'holm' or 'fdr_bh'; got {method!r}")
    values = p.to_numpy() if isinstance(p, pd.Series) else p
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise UsageError("p must contain numbers (p-values) or NaN") from None
    flat = arr.ravel()
    ok = ~np.isnan(flat)
    if ((flat[ok] < 0) | (flat[ok] > 1)).any():
        raise UsageError("p-values must lie between 0 and 1")
    out = np.full(flat.shape, np.nan)
    if ok.any():
        out[ok] = _holm(flat[ok]) if method == "holm" else _bh(flat[ok])
    out = out.reshape(arr.shape)
    if isinstance(p, pd.Series):
        return pd.Series(out, index=p.index, name=p.name)
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="mergesort")[::-1]  # largest first
    adj = np.minimum(1.0, np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out
