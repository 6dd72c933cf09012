"""Comparative interrupted time series of a monthly organizational indicator.

Private home of :func:`stseval.models.its` (re-exported there); split out of
:mod:`stseval.models` to keep modules small (issue 9). Organization fixed effects
are swept out (:func:`stseval._cluster.ols_absorbed`), so the CR2/CR3 standard
errors cost time linear in the number of organizations (issue 14).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._results import (
    _binary,
    _check_confidence,
    _check_frame,
    _cluster_row,
    _frame,
    _numeric,
    _se_type,
)
from .columns import WORKDAYS_PER_MONTH
from .errors import UsageError

__all__ = ["its"]

_ITS_RATES = {"separation_rate": "separations", "absence_rate": "absence_days"}


def its(
    org_months,
    *,
    indicator="separation_rate",
    org="org_id",
    month="month",
    treat="treated",
    start="start_date",
    working_days=WORKDAYS_PER_MONTH,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """Comparative interrupted time series of a monthly organizational indicator.

    Indicator: ``separation_rate`` = separations / headcount, ``absence_rate``
    = absence_days / (headcount * ``working_days``), or any numeric column
    already in the frame. Months with a missing indicator or headcount <= 0
    are dropped.

    Time is counted in months relative to each organization's reference month:
    a treated organization's ``start_date`` month (month 0 is the first
    "post" month), and for comparison organizations the median treated
    reference month (a pseudo start). Segmented regression, OLS on the rate
    with organization fixed effects:

        rate = org + b1 rel + b2 post + b3 since
               + treated x (g1 rel + g2 post + g3 since) + e,

    ``post`` = 1 from month 0, ``since`` = months since the start (0 before).
    ``level_change`` = g2 (the treated step at the start beyond the comparison
    series' step) and ``slope_change`` = g3 (per month), on the rate scale
    (e.g. -0.004 = 0.4 percentage points fewer separations a month).
    With fewer than 2 comparison organizations the comparison series is
    dropped and b2, b3 of the treated organizations alone are reported
    (single-group ITS, said in ``note``).

    Standard errors: cluster-robust by organization (``se_type``, CR3 by
    default, with the pseudo-inverse because of the fixed effects), which
    allows any autocorrelation within an organization; t on G - 1 df.
    Estimated with OLS rather than a count GLM so the estimate is directly a
    rate difference; months are unweighted.

    Returns
    -------
    DataFrame, two rows: terms ``level_change`` (primary) and
    ``slope_change``; ``n_orgs`` = organizations used, ``n_workers`` = <NA>.

    References
    ----------
    Bernal, J. L., Cummins, S., & Gasparrini, A. (2017). Interrupted time series
    regression for the evaluation of public health interventions: a tutorial.
    *International Journal of Epidemiology*, 46(1), 348-355. doi:10.1093/ije/dyw098
    """
    confidence = _check_confidence(confidence)
    se_type = _se_type(se_type)
    df = _its_frame(org_months, indicator, org, month, treat, start, working_days)
    treated_orgs, comp_orgs, ref = _its_reference(df, org, treat, start)
    comparative = len(comp_orgs) >= 2
    note = ""
    if not comparative:
        note = (
            f"only {len(comp_orgs)} comparison organization(s): single-group ITS of the "
            "treated organizations"
        )
        df = df[df[org].isin(treated_orgs)]
    X, names, codes, n_orgs = _its_design(df, org, treat, start, ref, comparative)
    # organization fixed effects swept out (same estimates and SEs as the dummies,
    # linear in the number of organizations; see _cluster.ols_absorbed)
    fit = _cluster.ols_absorbed(X, df["_rate"].to_numpy(float), codes, names=names)
    base = 3 if comparative else 0
    label = "comparative" if comparative else "single-group"
    rows = []
    for term, col in (("level_change", base + 1), ("slope_change", base + 2)):
        r = _cluster_row(
            fit,
            col,
            term,
            se_type=se_type,
            df_method="G-1",
            confidence=confidence,
            n_workers=pd.NA,
            n_orgs=n_orgs,
            method=f"{label} interrupted time series of {indicator} "
            "(OLS, organization fixed effects)",
        )
        r["note"] = "; ".join(n for n in (note, r["note"]) if n)
        rows.append(r)
    return _frame(rows)


def _its_frame(org_months, indicator, org, month, treat, start, working_days) -> pd.DataFrame:
    """The needed columns, the rate ``_rate`` and month indices ``_m`` / ``_s``; rows usable."""
    cols = {"org": org, "month": month, "treat": treat, "start": start}
    if indicator in _ITS_RATES:
        cols.update(
            {
                f"indicator={indicator!r}, denominator": "headcount",
                f"indicator={indicator!r}, numerator": _ITS_RATES[indicator],
            }
        )
    elif not (isinstance(org_months, pd.DataFrame) and indicator in org_months.columns):
        raise UsageError(
            f"indicator must be one of {', '.join(_ITS_RATES)} or a column of "
            f"org_months; got {indicator!r}"
        )
    else:
        cols["indicator"] = indicator
    df = _check_frame(org_months, "org_months", cols)
    if indicator in _ITS_RATES:
        hc = _numeric(df["headcount"], "headcount")
        num = _numeric(df[_ITS_RATES[indicator]], _ITS_RATES[indicator])
        denom = hc * (float(working_days) if indicator == "absence_rate" else 1.0)
        df["_rate"] = num / denom.where(hc > 0)
    else:
        df["_rate"] = _numeric(df[indicator], indicator)
    df[treat] = _binary(df[treat], treat)
    months = pd.to_datetime(df[month], errors="coerce")
    starts = pd.to_datetime(df[start], errors="coerce")
    df["_m"] = months.dt.year * 12 + months.dt.month - 1
    df["_s"] = starts.dt.year * 12 + starts.dt.month - 1
    return df.dropna(subset=["_rate", "_m", treat, org])


def _its_reference(df, org, treat, start):
    """Treated and comparison organizations and each organization's reference month."""
    per_org = _per_org(df, org, treat)
    if (per_org["t_min"] != per_org["t_max"]).any():
        raise UsageError(f"column {treat!r} must be constant within each organization")
    treated_orgs = per_org.index[per_org["t_min"] == 1]
    no_start = per_org.loc[treated_orgs, "s"].isna()
    if no_start.any():
        raise UsageError(
            f"treated organizations need a {start!r}; missing for "
            f"{', '.join(map(str, treated_orgs[no_start][:5]))}"
        )
    comp_orgs = per_org.index[per_org["t_min"] == 0]
    if len(treated_orgs) < 2:
        raise UsageError(
            f"the interrupted time series needs at least 2 treated organizations "
            f"with monthly data; got {len(treated_orgs)}"
        )
    ref = per_org["s"].copy()
    ref.loc[comp_orgs] = np.floor(per_org.loc[treated_orgs, "s"].median())
    return treated_orgs, comp_orgs, ref


def _per_org(df, org, treat) -> pd.DataFrame:
    """``groupby(org).agg(t_min=(treat, "min"), t_max=(treat, "max"), s=("_s", "min"))``.

    The same table (organizations sorted, a missing ``_s`` skipped) from sorted
    reductions, without pandas' per-call aggregation machinery.
    """
    codes, labels = pd.factorize(df[org], sort=True)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    t = df[treat].to_numpy(float)[order]
    s = df["_s"].to_numpy(float)[order]
    s_min = np.fmin.reduceat(s, starts) if len(s) else s  # fmin skips NaN, as pandas' min
    index = pd.Index(labels, name=org)
    return pd.DataFrame(
        {"t_min": np.minimum.reduceat(t, starts) if len(t) else t,
         "t_max": np.maximum.reduceat(t, starts) if len(t) else t, "s": s_min},
        index=index,
    )  # fmt: skip


def _its_design(df, org, treat, start, ref, comparative):
    """Segmented-regression columns (without the fixed effects), their names, org codes."""
    rel = df["_m"] - df[org].map(ref)
    post = (rel >= 0).astype(float)
    since = rel.clip(lower=0)
    if not ((rel < 0) & (df[treat] == 1)).any() or not ((rel >= 0) & (df[treat] == 1)).any():
        raise UsageError(
            "the treated organizations need months both before and after their "
            f"{start!r} for an interrupted time series"
        )
    codes, uniq = pd.factorize(df[org])
    cols_x = [rel.to_numpy(float), post.to_numpy(float), since.to_numpy(float)]
    names = ["rel", "post", "since"]
    if comparative:
        t = df[treat].to_numpy(float)
        cols_x += [t * c for c in cols_x]
        names += ["treated:rel", "treated:post", "treated:since"]
    return np.column_stack(cols_x), names, codes, len(uniq)
