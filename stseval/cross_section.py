"""Anonymous repeated cross-sections: compare group means, not people.

When a survey promises anonymity nobody is followed across waves; the waves are
independent samples of each organization's staff. These estimators compare arm
x wave means of the individual responses (:func:`did_cross_section`) or of the
organizations' means (:func:`org_mean_did`), with inference at the level that
was assigned (organization, or team in a team-assigned study).

Input: a long frame, one row per response, default columns ``worker_id,
org_id, wave, score, treated`` (0/1, constant within the assigned unit).
Output: the design-estimator table (:data:`stseval._designrows.DESIGN_COLUMNS`),
one row per later wave (``wave``), each compared with the first wave.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._designrows import (
    blank,
    check_common,
    cluster_coef,
    first_wave_sd,
    frame,
    numeric,
    standardize,
    t_row,
    wave_order,
)
from ._results import _binary

__all__ = ["did_cross_section", "org_mean_did"]


def _prepare(data, y, wave, treat, cluster, extra, confidence, se_type, waves):
    cols = {"y": y, "wave": wave, "treat": treat, "cluster": cluster, **extra}
    df, confidence, se_type = check_common(data, "data", cols, confidence, se_type)
    df = numeric(df, y)
    df[treat] = _binary(df[treat], treat)
    df = df.dropna(subset=[y, wave, treat, cluster])
    order = wave_order(df, wave, waves)
    return df, order, confidence, se_type


def _arm_clusters(sub, treat, cluster) -> tuple[int, int]:
    per = sub.groupby(treat)[cluster].nunique()
    return int(per.get(1, 0)), int(per.get(0, 0))


def did_cross_section(
    data,
    *,
    y="score",
    wave="wave",
    treat="treated",
    cluster="org_id",
    org="org_id",
    waves=None,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """Difference in differences on worker-wave rows, clustered by the assigned unit.

    For each later wave w, OLS on the responses of the first wave and w:

        y = b0 + b1 treated + b2 later + delta treated x later + e,

    so delta = (mean_T,w - mean_T,first) - (mean_C,w - mean_C,first), the
    difference in the arms' changes of means. Nothing links a worker's answers,
    so this works for anonymous waves (and for linked ones, using every
    response).

    Parameters
    ----------
    data : DataFrame
        Columns ``y``, ``wave``, ``treat`` (0/1), ``cluster`` and ``org``. Not
        modified; rows missing any of them are dropped.
    cluster : str
        The assigned unit: ``"org_id"``, or ``"team_id"`` when teams were assigned.
    org : str
        Organization column, for ``n_orgs``.
    se_type : {"CR3", "CR2", "CR1", "CR0"}
        Cluster-robust SE by ``cluster`` with t on G - 1 df (``stseval._cluster``).

    Returns
    -------
    DataFrame, one row per later wave, ``estimator = "did_cross_section"``;
    ``n_workers`` = responses used; effect size = delta / SD at the first wave.
    A wave with fewer than 2 clusters in an arm gives a row with a ``note``.

    Notes
    -----
    With ``se_type="CR1"`` the SE equals statsmodels ``OLS(...).fit(cov_type=
    "cluster")`` (checked in the tests); the point estimate equals the hand
    difference of the four means.
    """
    extra = {"org": org}
    df, order, confidence, se_type = _prepare(
        data, y, wave, treat, cluster, extra, confidence, se_type, waves
    )
    sd = first_wave_sd(df, y, wave, order[0])
    rows = []
    if len(order) < 2:
        return frame([blank("did_cross_section", "not estimable: the study has only one wave")])
    for later in order[1:]:
        sub = df[df[wave].isin([order[0], later])]
        n_t, n_c = _arm_clusters(sub, treat, cluster)
        base = {"estimator": "did_cross_section", "wave": later}
        if min(n_t, n_c) < 2:
            why = (
                f"not estimable: needs 2 or more clusters ({cluster}) in each arm; "
                f"got {n_t} treated and {n_c} comparison"
            )
            rows.append({**base, "note": why})
            continue
        t = sub[treat].to_numpy(float)
        post = (sub[wave] == later).to_numpy(float)
        X = np.column_stack([np.ones(len(sub)), t, post, t * post])
        r = cluster_coef(
            X,
            sub[y].to_numpy(float),
            sub[cluster].to_numpy(),
            3,
            se_type=se_type,
            confidence=confidence,
        )
        r.update(base, n_workers=len(sub), n_orgs=sub[org].nunique())
        r["method"] = (
            f"OLS y ~ treated * later on responses; {se_type} cluster-robust SE by {cluster}, "
            "t(G-1)"
        )
        rows.append(standardize(r, sd))
    return frame(rows)


def _unit_changes(sub, y, wave, treat, unit, first, later):
    cells = sub.groupby([unit, wave])[y].agg(["mean", "size"]).unstack(wave)
    cells = cells.dropna()
    arm = sub.groupby(unit)[treat].first().loc[cells.index]
    n1, n2 = cells[("size", first)], cells[("size", later)]
    change = cells[("mean", later)] - cells[("mean", first)]
    weight = 1.0 / (1.0 / n1 + 1.0 / n2)
    return pd.DataFrame({"change": change, "weight": weight, "treat": arm, "n": n1 + n2})


def org_mean_did(
    data,
    *,
    y="score",
    wave="wave",
    treat="treated",
    unit="org_id",
    org="org_id",
    waves=None,
    confidence=0.95,
    se_type="CR2",
) -> pd.DataFrame:
    """Difference in differences on organization means, weighted by respondents.

    Each ``unit`` (organization; team when teams were assigned) gives its mean
    at the first wave and at wave w; its change c_u = mean_u,w - mean_u,first
    gets the weight w_u = 1 / (1/n_u,first + 1/n_u,w), the inverse of the
    sampling variance of a change of two independent means (so units with more
    respondents count more). The estimate is the difference between the arms'
    weighted mean changes, from WLS of c_u on treated:

        delta = sum_T w_u c_u / sum_T w_u - sum_C w_u c_u / sum_C w_u.

    Units missing either wave are left out. The SE is heteroskedasticity-robust
    across units (each unit is its own cluster: ``se_type`` HC-type, CR2 = HC2
    by default), with t on U - 2 df (U = units used).

    Parameters
    ----------
    data : DataFrame
        Columns ``y``, ``wave``, ``treat`` (0/1, constant within ``unit``),
        ``unit``, ``org``. Not modified.

    Returns
    -------
    DataFrame, one row per later wave, ``estimator = "did_org_means"``;
    ``n_workers`` = responses used, ``n_orgs`` = organizations used.
    """
    df, order, confidence, se_type = _prepare(
        data, y, wave, treat, unit, {"org": org}, confidence, se_type, waves
    )
    sd = first_wave_sd(df, y, wave, order[0])
    rows = []
    if len(order) < 2:
        return frame([blank("did_org_means", "not estimable: the study has only one wave")])
    for later in order[1:]:
        sub = df[df[wave].isin([order[0], later])]
        ch = _unit_changes(sub, y, wave, treat, unit, order[0], later)
        n_t, n_c = int((ch["treat"] == 1).sum()), int((ch["treat"] == 0).sum())
        base = {"estimator": "did_org_means", "wave": later}
        if min(n_t, n_c) < 2:
            why = (
                f"not estimable: needs 2 or more units ({unit}) with both waves in each arm; "
                f"got {n_t} treated and {n_c} comparison"
            )
            rows.append({**base, "note": why})
            continue
        sw = np.sqrt(ch["weight"].to_numpy(float))
        X = np.column_stack([np.ones(len(ch)), ch["treat"].to_numpy(float)]) * sw[:, None]
        fit = _cluster.ols(X, ch["change"].to_numpy(float) * sw, np.arange(len(ch)))
        V = _cluster.vcov(fit, se_type)
        r = t_row(fit.beta[1], np.sqrt(V[1, 1]), len(ch) - 2, confidence)
        used = sub[sub[unit].isin(ch.index)]
        r.update(base, n_workers=len(used), n_orgs=used[org].nunique())
        r["method"] = (
            f"WLS of {unit} mean change on treated, weights 1/(1/n_first + 1/n_later); "
            f"{se_type} (HC-type) SE across units, t(U-2)"
        )
        rows.append(standardize(r, sd))
    return frame(rows)
