"""Staggered starts: group-time average effects (Callaway & Sant'Anna, 2021) and TWFE.

When organizations start changing practice at different waves and the effect
differs by start cohort or grows with time since the start, the two-way fixed
effects (TWFE) difference-in-differences coefficient is a weighted average of
2 x 2 comparisons, some of which use already-treated units as controls; it can
be far from every group's effect, even of the wrong sign (Goodman-Bacon, 2021).
:func:`att_gt` estimates each cohort's effect at each wave against clean
controls and aggregates them; :func:`twfe_did` gives the TWFE number for
comparison, from the same data.

Why written here rather than taken from PyPI (checked 2026-11): ``differences``
0.3.0 is GPLv3 (not allowed at run time); ``csdid`` 0.4.3 declares MIT and
Apache at once and pulls ``twine``, ``plotnine`` and ``drdid`` in at run time;
``pyfixest`` 0.60 (MIT, well kept) has TWFE, did2s, local projections and a
saturated event study but not the Callaway-Sant'Anna ATT(g, t). Without
covariates ATT(g, t) is a difference of mean changes, a few lines of numpy.

Data
----
A long frame, one row per response (or per unit and wave): ``y``, ``unit``,
``time``, ``cohort`` (the first wave in which the unit is treated, NaN / None
for never-treated; constant within a unit) and ``cluster``. Rows are averaged to
unit x wave means first. A linked panel of workers uses ``unit="worker_id"``;
anonymous repeated cross-sections use ``unit="org_id"`` (a panel of
organization means: "repeated cross-sections of unit means"). Treatment is
assigned to organizations, so each unit must lie in one cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._designrows import (
    check_common,
    first_wave_sd,
    frame,
    numeric,
    standardize,
    t_row,
    wave_order,
)
from .errors import UsageError

__all__ = ["att_gt", "twfe_did"]

CONTROLS = ("never", "notyet")


def _prepare(data, y, unit, time, cohort, cluster, waves, confidence):
    cols = {"y": y, "unit": unit, "time": time, "cohort": cohort, "cluster": cluster}
    df, confidence, _ = check_common(data, "data", cols, confidence)
    df = numeric(df, y).dropna(subset=[y, unit, time, cluster])
    order = wave_order(df, time, waves)
    pos = {w: i for i, w in enumerate(order)}
    df[cohort] = df[cohort].mask(df[cohort].astype(str).str.strip() == "")
    bad_c = df[cohort].notna() & ~df[cohort].isin(order)
    if bad_c.any():
        raise UsageError(
            f"column {cohort!r} must hold the first treated wave (one of {order!r}) or be "
            f"blank for never-treated units; found {df.loc[bad_c, cohort].iloc[0]!r}"
        )
    for col, what in ((cohort, "start cohort"), (cluster, "cluster")):
        n_vals = df.groupby(unit)[col].nunique(dropna=False)
        if (n_vals > 1).any():
            raise UsageError(
                f"the {what} (column {col!r}) must be the same in every row of a unit; "
                f"differs for unit {n_vals.index[n_vals > 1][0]!r}"
            )
    df["_t"] = df[time].map(pos).astype(int)
    df["_g"] = df[cohort].map(pos).astype(float)
    sd = first_wave_sd(df, y, "_t", 0)
    means = df.groupby([unit, "_t"])[y].mean().unstack("_t").reindex(columns=range(len(order)))
    units = df.groupby(unit)[["_g", cluster]].first().loc[means.index]
    return means.to_numpy(float), units, order, confidence, sd, df


def _gt_cells(Y, g_idx, control, T):
    """ATT(g, t) and per-unit linear contributions for every estimable (g, t)."""
    cohorts = sorted({int(g) for g in g_idx[np.isfinite(g_idx)] if g >= 1})
    cells, contrib = [], []
    for g in cohorts:
        for t in range(1, T):
            base = g - 1 if t >= g else t - 1
            dy = Y[:, t] - Y[:, base]
            ok = np.isfinite(dy)
            treat = ok & (g_idx == g)
            if control == "never":
                ctrl = ok & ~np.isfinite(g_idx)
            else:
                ctrl = ok & (~np.isfinite(g_idx) | (g_idx > max(t, base))) & (g_idx != g)
            n1, n0 = int(treat.sum()), int(ctrl.sum())
            if n1 == 0 or n0 == 0:
                continue
            m1, m0 = dy[treat].mean(), dy[ctrl].mean()
            e = np.zeros(len(dy))
            e[treat] = (dy[treat] - m1) / n1
            e[ctrl] = -(dy[ctrl] - m0) / n0
            cells.append(dict(g=g, t=t, att=m1 - m0, n1=n1, n0=n0))
            contrib.append(e)
    return cells, np.column_stack(contrib) if contrib else np.zeros((len(Y), 0))


def _aggregate(att, E, a, gk, g_idx, share_set, share_variance):
    """theta = sum_k a_k p_gk ATT_k / sum_{g in S} p_g and its per-unit contributions.

    p_g = share of units in cohort g. With ``share_variance`` the contribution
    adds the estimation of the weights (Callaway & Sant'Anna, 2021, section 4).
    """
    N = len(g_idx)
    groups = sorted(set(gk.tolist()))
    onehot = np.column_stack([(g_idx == g).astype(float) for g in groups])
    p = onehot.mean(axis=0)
    in_s = np.array([g in share_set for g in groups], dtype=float)
    P = float(np.sum(p * in_s))
    pk = p[np.searchsorted(groups, gk)]
    theta = float(np.sum(a * pk * att) / P)
    per_g = np.array([np.sum(a[gk == g] * att[gk == g]) for g in groups]) - in_s * theta
    infl = E @ (a * pk / P)
    if share_variance:
        infl = infl + ((onehot - p) / N) @ (per_g / P)
    return theta, infl


def _se(infl, clusters):
    """Cluster-robust SE of a linear statistic: sqrt(G/(G-1) sum_c (sum_i in c e_i)^2)."""
    codes, uniq = pd.factorize(clusters)
    G = len(uniq)
    s = np.bincount(codes, weights=infl, minlength=G)
    return float(np.sqrt(G / (G - 1) * np.sum(s * s))) if G > 1 else np.nan, G


def att_gt(
    data,
    *,
    y="score",
    unit="org_id",
    time="wave",
    cohort="cohort",
    cluster="org_id",
    waves=None,
    control="never",
    share_variance=False,
    confidence=0.95,
) -> pd.DataFrame:
    """Group-time average treatment effects ATT(g, t), aggregated by event time and overall.

    Parameters
    ----------
    data : DataFrame
        Long frame with columns ``y``, ``unit``, ``time``, ``cohort``, ``cluster``
        (see the module docstring). Not modified. Rows with a missing ``y`` are
        dropped; a unit missing a wave drops out of the comparisons that need it.
    y, unit, time, cohort, cluster : str
        Column names.
    waves : list, optional
        The waves in order (default: sorted values of ``time``).
    control : {"never", "notyet"}
        Comparison units: never treated, or also those not yet treated at the
        later of the two waves compared (Callaway & Sant'Anna's
        ``control_group = "notyettreated"``).
    share_variance : bool
        False (default): inference for the aggregations is conditional on the
        cohort sizes, i.e. on which organizations started when; the estimand is
        the average effect in the cohorts of this study, as the simulator's
        truth rows define it. True: the cohort shares are treated as estimates of
        population shares and their sampling variance is added (Callaway &
        Sant'Anna's default; wider when effects differ much between cohorts).
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    DataFrame with the design-estimator columns (:data:`stseval._designrows.DESIGN_COLUMNS`)
    plus ``event_time``. Rows:

    * ``att_gt``: one per cohort g (``cohort``) and wave t >= 1 (``wave``),
      ATT(g, t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | control], with base wave
      b = g - 1 for t >= g (effects) and b = t - 1 for t < g (pre-trend
      placebos, the "varying" base period); ``event_time`` = t - g.
    * ``att_event``: theta(e) = sum_g P(G = g) ATT(g, g + e) / sum_g P(G = g) over
      the cohorts observed at event time e (``event_time``; e < 0 are placebos).
    * ``att_overall`` (primary): theta = sum_g P(G = g | treated) theta_g, with
      theta_g the mean of ATT(g, t) over the waves t >= g: the average effect of
      the program over the waves after each cohort started (Callaway & Sant'Anna's
      "group" aggregation, their recommended overall summary).

    Units treated from the first wave have no pre-period and are left out
    (said in ``note``). Effect sizes: estimate / SD of ``y`` over all rows of the
    first wave.

    Inference
    ---------
    Analytic influence functions, summed within clusters: each estimate is
    (asymptotically) linear in the units, theta - theta0 ~ sum_i psi_i, so
    Var = G / (G - 1) sum_c (sum_{i in c} psi_i)^2, with t on G - 1 df (G =
    clusters with units in use). For aggregations psi includes the estimation of
    the cohort-share weights when ``share_variance``. Chosen over a cluster bootstrap because it is
    exact for these linear statistics, deterministic, and fast (500
    organizations x 6 waves in milliseconds); the tests check it against a
    cluster bootstrap over organizations (which resamples the cohort sizes too,
    so it is compared with ``share_variance=True``). Intervals are pointwise, not uniform
    bands.

    References
    ----------
    Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with
    multiple time periods. *Journal of Econometrics*, 225(2), 200-230.
    doi:10.1016/j.jeconom.2020.12.001
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment
    timing. *Journal of Econometrics*, 225(2), 254-277.
    doi:10.1016/j.jeconom.2021.03.014
    """
    if control not in CONTROLS:
        raise UsageError(f"control must be one of {', '.join(CONTROLS)}; got {control!r}")
    Y, units, order, confidence, sd, _ = _prepare(
        data, y, unit, time, cohort, cluster, waves, confidence
    )
    g_idx = units["_g"].to_numpy(float)
    clusters = units[cluster].to_numpy()
    note = ""
    early = g_idx == 0
    if early.any():
        note = f"{int(early.sum())} unit(s) treated from the first wave left out (no pre-period)"
        Y, g_idx, clusters = Y[~early], g_idx[~early], clusters[~early]
    cells, E = _gt_cells(Y, g_idx, control, len(order))
    label = "never-treated" if control == "never" else "not-yet-treated"
    method = (
        f"Callaway & Sant'Anna (2021) ATT(g,t), {label} controls, unit = {unit}; "
        f"influence-function SE clustered by {cluster}, t(G-1)"
    )
    if not cells:
        why = "not estimable: no start cohort with a pre-period and comparison units"
        return frame([{"estimator": "att_overall", "note": why}], ("event_time",))
    att = np.array([c["att"] for c in cells])
    gk = np.array([c["g"] for c in cells])
    tk = np.array([c["t"] for c in cells])
    rows = []
    for j, c in enumerate(cells):
        r = dict(estimator="att_gt", wave=order[c["t"]], cohort=order[c["g"]])
        r.update(event_time=c["t"] - c["g"], n_workers=c["n1"] + c["n0"])
        rows.append((r, c["att"], E[:, j]))
    for e in sorted(set((tk - gk).tolist())):
        k = (tk - gk) == e
        theta, infl = _aggregate(
            att, E, k.astype(float), gk, g_idx, set(gk[k].tolist()), share_variance
        )
        rows.append(({"estimator": "att_event", "event_time": int(e)}, theta, infl))
    post = tk >= gk
    if post.any():
        n_post = {g: int(np.sum(post & (gk == g))) for g in set(gk[post].tolist())}
        a = np.array([1.0 / n_post[g] if p else 0.0 for g, p in zip(gk, post, strict=True)])
        theta, infl = _aggregate(att, E, a, gk, g_idx, set(n_post), share_variance)
        rows.append(({"estimator": "att_overall"}, theta, infl))
    out = []
    for r, est, infl in rows:
        se, G = _se(infl, clusters)
        r.update(t_row(est, se, G - 1, confidence), method=method, note=note)
        r["n_orgs"] = len(pd.unique(clusters))
        if unit == cluster:  # a panel of organization means: no worker count here
            r["n_workers"] = None
        elif "n_workers" not in r:
            r["n_workers"] = len(g_idx)
        out.append(standardize(r, sd))
    return frame(out, ("event_time",))


def _demean_two_way(M, ui, ti, tol=1e-12, max_iter=10_000):
    """Residuals of the columns of ``M`` on unit and time dummies (alternating projections).

    Exact in one sweep for a balanced panel; iterated to convergence otherwise
    (Guimaraes & Portugal, 2010).
    """
    M = M.copy()
    nu, nt = ui.max() + 1, ti.max() + 1
    cu, ct = np.bincount(ui, minlength=nu), np.bincount(ti, minlength=nt)
    for _ in range(max_iter):
        old = M.copy()
        for idx, cnt, n in ((ui, cu, nu), (ti, ct, nt)):
            for j in range(M.shape[1]):
                M[:, j] -= (np.bincount(idx, weights=M[:, j], minlength=n) / cnt)[idx]
        if np.max(np.abs(M - old)) < tol:
            return M
    raise UsageError("the two-way fixed effects did not converge: check for isolated units")


def twfe_did(
    data,
    *,
    y="score",
    unit="org_id",
    time="wave",
    cohort="cohort",
    cluster="org_id",
    waves=None,
    confidence=0.95,
) -> pd.DataFrame:
    """Two-way fixed effects DiD: unit means ~ unit + wave + D(treated by then), for comparison.

    Same data and arguments as :func:`att_gt` (rows averaged to unit x wave
    means). D_it = 1 from the unit's start cohort on. The coefficient of D from
    OLS with unit and wave fixed effects, computed on the two-way demeaned data
    (Frisch-Waugh-Lovell; alternating projections when the panel is
    unbalanced). Standard error: cluster-robust CR1 by ``cluster`` with t on
    G - 1 df; the fixed effects are not counted in k (they are nested in the
    clusters, as in Stata's reghdfe and fixest).

    With staggered starts and effects that differ by cohort or grow with time
    this is *not* an average treatment effect: it weights 2 x 2 comparisons,
    some against already-treated units, and can even have the wrong sign
    (Goodman-Bacon, 2021). Reported as a comparison row (``estimator = "twfe"``)
    beside :func:`att_gt`; never primary.

    Returns
    -------
    DataFrame, one row with the design-estimator columns plus ``event_time`` (NaN).

    References
    ----------
    Goodman-Bacon, A. (2021). *Journal of Econometrics*, 225(2), 254-277.
    doi:10.1016/j.jeconom.2021.03.014
    Guimaraes, P., & Portugal, P. (2010). A simple feasible procedure to fit models
    with high-dimensional fixed effects. *Stata Journal*, 10(4), 628-649.
    """
    Y, units, order, confidence, sd, _ = _prepare(
        data, y, unit, time, cohort, cluster, waves, confidence
    )
    ui, ti = np.nonzero(np.isfinite(Y))
    yv = Y[ui, ti]
    g = units["_g"].to_numpy(float)[ui]
    D = (np.isfinite(g) & (ti >= np.nan_to_num(g, nan=np.inf))).astype(float)
    n_orgs = int(units[cluster].nunique())
    note = "comparison only: biased when effects differ by start cohort or grow over time"
    base = {"estimator": "twfe", "n_orgs": n_orgs, "note": note}
    if D.min() == D.max():
        return frame(
            [{**base, "note": "not estimable: no unit changes treatment status"}], ("event_time",)
        )
    _, ui = np.unique(ui, return_inverse=True)
    M = _demean_two_way(np.column_stack([yv, D]), ui, ti)
    codes = units[cluster].to_numpy()[np.unique(np.nonzero(np.isfinite(Y))[0])][ui]
    fit = _cluster.ols(M[:, [1]], M[:, 0], codes)
    est, se, _, df = _cluster.coef_test(fit, 0, se_type="CR1")
    row = {**base, **t_row(est, se, df, confidence)}
    row["n_workers"] = None if unit == cluster else int(len(units))
    row["method"] = f"two-way fixed effects OLS on {unit} x {time} means; CR1 by {cluster}, t(G-1)"
    return frame([standardize(row, sd)], ("event_time",))
