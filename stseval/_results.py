"""Shared pieces of the estimators: argument checks and the one shape of their results.

Every estimator in :mod:`stseval.models` and :mod:`stseval.missing_data` returns a
DataFrame with :data:`RESULT_COLUMNS`, built with :func:`_row` and :func:`_frame`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import _cluster
from ._args import check_confidence as _check_confidence  # noqa: F401 (re-exported)
from .columns import MODEL_COLUMNS, MODEL_ES_COLUMNS
from .errors import EstimationWarning, UsageError

#: Columns of every estimate table returned here (in this order).
RESULT_COLUMNS = MODEL_COLUMNS

#: Extra columns of :func:`org_practice`.
ES_COLUMNS = MODEL_ES_COLUMNS


def _check_frame(data, what: str, columns: dict[str, str]) -> pd.DataFrame:
    """Return a copy of the needed columns; ``columns`` maps parameter name -> column."""
    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"{what} must be a pandas DataFrame; got {type(data).__name__}")
    missing = [
        f"{col!r} (parameter {param})" for param, col in columns.items() if col not in data.columns
    ]
    if missing:
        raise UsageError(
            f"{what} has no column {', '.join(missing)}; "
            f"its columns are {', '.join(map(str, data.columns))}"
        )
    cols = list(dict.fromkeys(columns.values()))
    return data.loc[:, cols].copy()


def _binary(s: pd.Series, col: str) -> pd.Series:
    vals = pd.to_numeric(s.astype("float64") if s.dtype == bool else s, errors="coerce")
    bad = ~vals.isin([0, 1]) & vals.notna()
    if bad.any() or (vals.isna() & s.notna()).any():
        shown = ", ".join(map(repr, pd.unique(s[bad | (vals.isna() & s.notna())])[:5]))
        raise UsageError(f"column {col!r} must be 0/1 (treated = 1, comparison = 0); found {shown}")
    return vals


def _numeric(s: pd.Series, col: str) -> pd.Series:
    vals = pd.to_numeric(s, errors="coerce")
    bad = vals.isna() & s.notna()
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(s[bad])[:5]))
        raise UsageError(f"column {col!r} must be numeric; found {shown}")
    return vals.astype(float)


def _check_arms(df: pd.DataFrame, treat: str, cluster: str, what: str) -> None:
    t = df[treat].to_numpy()
    c = pd.factorize(df[cluster], use_na_sentinel=False)[0]  # labels as codes (NaN: one code)
    n_t, n_c = len(np.unique(c[t == 1])), len(np.unique(c[t == 0]))
    if n_t < 2 or n_c < 2:
        raise UsageError(
            f"{what} needs at least 2 treated and 2 comparison organizations (column "
            f"{cluster!r}) in the rows with complete data; got {n_t} treated and {n_c} comparison"
        )


def _t_interval(est, se, df, confidence):
    if not (np.isfinite(se) and se > 0 and np.isfinite(df) and df > 0):
        return np.nan, np.nan, np.nan
    q = stats.t.ppf(0.5 + confidence / 2, df)
    p = 2 * stats.t.sf(abs(est / se), df)
    return est - q * se, est + q * se, float(p)


def _row(term, est, se, stat, df, lo, hi, p, n_workers, n_orgs, method, note="") -> dict:
    return dict(
        term=term,
        estimate=est,
        se=se,
        statistic=stat,
        df=df,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        n_workers=n_workers,
        n_orgs=n_orgs,
        method=method,
        note=note,
    )


def _frame(rows: list[dict], extra: Sequence[str] = ()) -> pd.DataFrame:
    data = {}
    for col in RESULT_COLUMNS + list(extra):
        vals = [r.get(col) for r in rows]
        if col in ("n_workers", "n_orgs"):
            data[col] = pd.array(
                [None if v is None or v is pd.NA else int(v) for v in vals], dtype="Int64"
            )
        elif col in ("term", "method", "note", "es_type", "es_description"):
            data[col] = [("" if v is None else str(v)) for v in vals]
        else:
            data[col] = np.array([np.nan if v is None else v for v in vals], dtype=float)
    return pd.DataFrame(data)


def _se_type(se_type: str) -> str:
    st = str(se_type).upper()
    if st not in _cluster.SE_TYPES:
        raise UsageError(f"se_type must be one of {', '.join(_cluster.SE_TYPES)}; got {se_type!r}")
    return st


_EXACT_FIT = (
    "no standard error: the model fits every row exactly (residuals are 0 up to rounding), "
    "so there is no variation left to estimate one; the estimate is exact for these data"
)


def _exact_fit(fit) -> bool:
    """True when every residual is zero up to rounding, relative to the outcome's size."""
    scale = float(np.max(np.abs(fit.y), initial=0.0)) + float(np.std(fit.y))
    return float(np.max(np.abs(fit.resid), initial=0.0)) <= 1e-10 * max(scale, 1e-300)


def not_estimable(term, reason, n_workers, n_orgs, method) -> dict:
    """A result row without numbers, ``note`` saying why; also an :class:`EstimationWarning`."""
    warnings.warn(reason, EstimationWarning, stacklevel=3)
    nan = np.nan
    return _row(term, nan, nan, nan, nan, nan, nan, nan, n_workers, n_orgs, method, reason)


def _cluster_row(fit, col, term, *, se_type, df_method, confidence, n_workers, n_orgs, method):
    if _exact_fit(fit):
        row = not_estimable(term, _EXACT_FIT, n_workers, n_orgs, method)
        row["estimate"] = float(fit.beta[col])
        return row
    est, se, stat, df = _cluster.coef_test(fit, col, se_type=se_type, df_method=df_method)
    lo, hi, p = _t_interval(est, se, df, confidence)
    dflabel = "t(G-1)" if df_method == "G-1" else "t(Satterthwaite)"
    return _row(
        term,
        est,
        se,
        stat,
        df,
        lo,
        hi,
        p,
        n_workers,
        n_orgs,
        f"{method}; {se_type} cluster-robust SE by organization, {dflabel}",
    )


def _long_frame(long, y, wave, treat, cluster, worker, waves):
    if len(waves) != 2 or waves[0] == waves[1]:
        raise UsageError(f"waves must name two different waves (before, after); got {waves!r}")
    df = _check_frame(
        long, "long", {"y": y, "wave": wave, "treat": treat, "cluster": cluster, "worker": worker}
    )
    present = set(pd.unique(df[wave]))
    absent = [w for w in waves if w not in present]
    if absent:
        raise UsageError(
            f"column {wave!r} has no rows for wave(s) {', '.join(map(repr, absent))}; "
            f"found {', '.join(map(repr, sorted(map(str, present))))}"
        )
    df = df[df[wave].isin(waves)].copy()
    df[treat] = _binary(df[treat], treat)
    df[y] = _numeric(df[y], y)
    df = df.dropna(subset=[y, treat, cluster, worker])
    df["_post"] = (df[wave] == waves[1]).astype(float)
    df["_txp"] = df[treat] * df["_post"]
    return df
