"""Estimators for studies without a comparison group: change over time, and ITS on own trend.

All take a long frame, one row per response, and return the design-estimator
table (:data:`stseval._designrows.DESIGN_COLUMNS`): ``estimator, estimate, se,
ci_low, ci_high, p_value, effect_size, es_type, es_ci_low, es_ci_high,
n_workers, n_orgs, note, wave, cohort, es_description, method``. ``wave`` is
the later wave a row compares with the first. A design that lacks something
gives a row with NaN numbers and a plain ``note``, never an exception; a user
mistake (a missing column, a non-numeric score) raises :class:`UsageError`.

Default columns: ``worker_id, org_id, wave, score, treated`` (0/1: the unit
that changed practice). Estimates are in the outcome's units with their sign
(later minus earlier); effect sizes divide by the SD of the outcome at the
first wave.

Estimators (``estimator`` column)
---------------------------------
``within_paired``
    No comparison group, linked waves: mean change of the workers who answered
    both waves.
``within_unlinked``
    No comparison group, anonymous waves: difference of the two waves' means
    (two independent samples).
``its_own_level`` / ``its_own_slope``
    Interrupted time series of a monthly indicator against the organizations'
    own pre-period trends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._designrows import (
    blank,
    check_common,
    cluster_coef,
    coef_test,
    first_wave_sd,
    frame,
    numeric,
    standardize,
    t_row,
    wave_order,
)

__all__ = ["within_change", "its_own_trend"]

NO_COMPARISON = (
    "no comparison group: the change includes everything else that changed over the same "
    "period (secular trends, regression to the mean, who answered)"
)
ONE_ORG = (
    "one organization: clustering is impossible, so the SE treats workers as independent "
    "and is too small if they share their organization's ups and downs"
)


def _join(*parts) -> str:
    return "; ".join(p for p in parts if p)


def _paired_rows(df, y, wave, worker, cluster, first, later, se_type, confidence):
    wide = df.pivot_table(index=worker, columns=wave, values=y, aggfunc="mean")
    orgs = df.groupby(worker)[cluster].first()
    pair = wide[[first, later]].dropna() if later in wide else wide.iloc[:0]
    if len(pair) < 2:
        return {"note": f"not estimable: fewer than 2 workers answered {first} and {later}"}
    d = (pair[later] - pair[first]).to_numpy(float)
    g = orgs.loc[pair.index].to_numpy()
    G = len(pd.unique(g))
    out = {"n_workers": len(d), "n_orgs": G}
    if G >= 2:
        out.update(
            cluster_coef(np.ones((len(d), 1)), d, g, 0, se_type=se_type, confidence=confidence)
        )
        out["method"] = f"mean paired change; {se_type} cluster-robust SE by {cluster}, t(G-1)"
    else:
        out.update(t_row(d.mean(), d.std(ddof=1) / np.sqrt(len(d)), len(d) - 1, confidence))
        out.update(method="mean paired change; paired t (worker-level SE)", note=ONE_ORG)
    return out


def _unlinked_rows(df, y, wave, cluster, first, later, se_type, confidence):
    sub = df[df[wave].isin([first, later])]
    a, b = sub.loc[sub[wave] == first, y], sub.loc[sub[wave] == later, y]
    if len(a) < 2 or len(b) < 2:
        return {"note": f"not estimable: fewer than 2 responses at {first} or {later}"}
    G = sub[cluster].nunique()
    out = {"n_workers": len(sub), "n_orgs": G}
    if G >= 2:
        X = np.column_stack([np.ones(len(sub)), (sub[wave] == later).to_numpy(float)])
        out.update(
            cluster_coef(
                X,
                sub[y].to_numpy(float),
                sub[cluster].to_numpy(),
                1,
                se_type=se_type,
                confidence=confidence,
            )
        )
        out["method"] = (
            f"difference of wave means; {se_type} cluster-robust SE by {cluster}, t(G-1)"
        )
    else:
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = np.sqrt(va + vb)
        df_w = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        out.update(t_row(b.mean() - a.mean(), se, df_w, confidence))
        out.update(method="difference of wave means; Welch t (worker-level SE)", note=ONE_ORG)
    return out


def within_change(
    data,
    *,
    y="score",
    wave="wave",
    worker="worker_id",
    cluster="org_id",
    linked=True,
    waves=None,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """Change at each later wave against the first, in a study without a comparison group.

    Parameters
    ----------
    data : DataFrame
        One row per response: ``y``, ``wave``, ``worker``, ``cluster``. Every row
        belongs to the group that changed practice. Not modified.
    linked : bool
        True: ``worker`` repeats across waves; the mean of the workers' own
        changes (``within_paired``). False: anonymous waves (``worker`` is a
        response id); the difference of the two waves' means
        (``within_unlinked``), all respondents of both waves.
    waves : list, optional
        Waves in order (default: pre, post, follow_up, or the sorted values).
    se_type : {"CR3", "CR2", "CR1", "CR0"}
        Cluster-robust SE by ``cluster`` (t on G - 1 df) when there are at least 2
        organizations. With one organization clustering is impossible: a paired
        t (linked) or Welch t (anonymous) with worker-level SE, said in ``note``.

    Returns
    -------
    DataFrame, one row per later wave (``wave``): estimate = mean(later) -
    mean(first) (of paired changes when linked). ``n_workers`` = pairs (linked)
    or responses in the two waves (anonymous). ``note`` always says that without
    a comparison group the change is not an effect of the program.

    Notes
    -----
    The paired estimate with clustering equals OLS of the changes on a constant
    with a cluster-robust SE; the anonymous one, OLS of the score on a
    later-wave indicator (tests check both against statsmodels with
    ``cov_type="cluster"``, the CR1 formula).
    """
    cols = {"y": y, "wave": wave, "worker": worker, "cluster": cluster}
    df, confidence, se_type = check_common(data, "data", cols, confidence, se_type)
    df = numeric(df, y).dropna(subset=[y, wave, cluster])
    order = wave_order(df, wave, waves)
    sd = first_wave_sd(df, y, wave, order[0])
    name = "within_paired" if linked else "within_unlinked"
    rows = []
    if len(order) < 2:
        return frame([blank(name, "not estimable: the study has only one wave")])
    for later in order[1:]:
        if linked:
            r = _paired_rows(df, y, wave, worker, cluster, order[0], later, se_type, confidence)
        else:
            r = _unlinked_rows(df, y, wave, cluster, order[0], later, se_type, confidence)
        r.update(estimator=name, wave=later, note=_join(r.get("note"), NO_COMPARISON))
        rows.append(standardize(r, sd))
    return frame(rows)


def _months(s: pd.Series) -> pd.Series:
    d = pd.to_datetime(s, errors="coerce")
    return d.dt.year * 12 + d.dt.month - 1


def _its_design(df, org, min_months):
    """Keep organizations with ``min_months`` months on each side of their start."""
    counts = df.groupby(org)["_rel"].agg(pre=lambda r: (r < 0).sum(), post=lambda r: (r >= 0).sum())
    ok = counts.index[(counts["pre"] >= min_months) & (counts["post"] >= min_months)]
    dropped = len(counts) - len(ok)
    return df[df[org].isin(ok)], dropped


def _its_fit(df, org, se_type, confidence):
    codes, uniq = pd.factorize(df[org])
    rel = df["_rel"].to_numpy(float)
    post = (rel >= 0).astype(float)
    since = np.clip(rel, 0, None)
    fe = np.eye(len(uniq))[codes]
    X = np.column_stack([fe, fe * rel[:, None], post, since])
    yv = df["_y"].to_numpy(float)
    k = X.shape[1]
    if len(uniq) >= 2:
        fit = _cluster.ols(X, yv, codes)
        res = [coef_test(fit, c, se_type) for c in (k - 2, k - 1)]
        method = f"OLS, own intercept and pre-trend per organization; {se_type} SE by organization, t(G-1)"
        return [t_row(e, s, d, confidence) for e, s, _, d in res], method
    import statsmodels.api as sm

    lags = int(np.floor(4 * (len(yv) / 100) ** (2 / 9)))
    fit = sm.OLS(yv, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    out = [t_row(fit.params[c], fit.bse[c], len(yv) - k, confidence) for c in (k - 2, k - 1)]
    return out, f"OLS, one organization; Newey-West HAC SE ({lags} lags), t(n-k)"


def its_own_trend(
    data,
    *,
    y="value",
    org="org_id",
    month="month",
    start="start_date",
    min_months=3,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """Interrupted time series of a monthly indicator against the organizations' own pre-trends.

    For studies without a comparison group: every organization in ``data``
    changed practice, each at its own ``start``. Segmented regression
    (Bernal, Cummins & Gasparrini, 2017), OLS:

        y = a_org + b_org * rel + level * post + slope * since + e,

    ``rel`` = months since the organization's start month (0 = first month of
    the new practice), ``post`` = 1 from month 0, ``since`` = max(rel, 0).
    ``level`` is the step at the start and ``slope`` the change in the monthly
    trend, both against the extrapolated pre-period trend of the same
    organization.

    Parameters
    ----------
    data : DataFrame
        One row per organization and month: ``y`` (e.g. a separation rate),
        ``org``, ``month`` and ``start`` (dates or ``YYYY-MM`` text). Rows with a
        missing value or month are dropped. Not modified.
    min_months : int
        Months needed on each side of the start; organizations with fewer are
        left out (said in ``note``).
    se_type : str
        With 2 or more organizations: cluster-robust SE by organization
        (``se_type``, t on G - 1 df), which allows any autocorrelation within an
        organization. With one organization: Newey-West HAC SE with
        floor(4 (n/100)^(2/9)) lags, t on n - k df.

    Returns
    -------
    DataFrame, two rows: ``its_own_level`` and ``its_own_slope`` (per month),
    in the indicator's units; ``n_orgs`` = organizations used, ``n_workers``
    empty, no effect size. ``note`` says that secular change that began at the
    same time is not separated from the program's effect.

    References
    ----------
    Bernal, J. L., Cummins, S., & Gasparrini, A. (2017). Interrupted time series
    regression for the evaluation of public health interventions: a tutorial.
    *International Journal of Epidemiology*, 46(1), 348-355. doi:10.1093/ije/dyw098
    Newey, W. K., & West, K. D. (1994). Automatic lag selection in covariance matrix
    estimation. *Review of Economic Studies*, 61(4), 631-653. doi:10.2307/2297912
    """
    cols = {"y": y, "org": org, "month": month, "start": start}
    df, confidence, se_type = check_common(data, "data", cols, confidence, se_type)
    df["_y"] = numeric(df, y)[y]
    df["_rel"] = _months(df[month]) - _months(df[start])
    no_start = df.loc[df[start].isna() | _months(df[start]).isna(), org].nunique()
    df = df.dropna(subset=["_y", "_rel", org])
    df, dropped = _its_design(df, org, min_months)
    secular = (
        "no comparison series: a change that began at the same time for other reasons "
        "(secular trend, a new policy) is not separated from the program's effect"
    )
    left_out = (
        f"{dropped + no_start} organization(s) without a start date or with fewer than "
        f"{min_months} months before and after it left out"
        if dropped + no_start
        else ""
    )
    names = ("its_own_level", "its_own_slope")
    if df.empty:
        why = f"not estimable: no organization has {min_months} months before and after its start"
        return frame([blank(n, _join(why, left_out)) for n in names])
    res, method = _its_fit(df, org, se_type, confidence)
    note = _join(left_out, secular)
    n_orgs = df[org].nunique()
    rows = [
        {**r, "estimator": n, "n_orgs": n_orgs, "method": method, "note": note}
        for n, r in zip(names, res, strict=True)
    ]
    return frame(rows)
