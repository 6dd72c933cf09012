"""Three or more waves: the effect at every later wave ("did it last to the follow-up?").

:func:`wave_effects` fits one model to all waves (arm x wave, with worker fixed
effects when the waves are linked) and reports the arm difference in change
from the first wave to each later wave; :func:`ancova_by_wave` regresses each
later wave on the first (linked waves only).

Input: a long frame, one row per response, default columns ``worker_id,
org_id, wave, score, treated`` (0/1, constant within organization). Output: the
design-estimator table (:data:`stseval._designrows.DESIGN_COLUMNS`), one row per
later wave (``wave``).
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
from ._results import _binary

__all__ = ["wave_effects", "ancova_by_wave"]

NOT_LINKED = "not estimable: waves are not linked"


def _prepare(data, y, wave, treat, worker, cluster, confidence, se_type, waves):
    cols = {"y": y, "wave": wave, "treat": treat, "worker": worker, "cluster": cluster}
    df, confidence, se_type = check_common(data, "data", cols, confidence, se_type)
    df = numeric(df, y)
    df[treat] = _binary(df[treat], treat)
    df = df.dropna(subset=[y, wave, treat, worker, cluster]).reset_index(drop=True)
    order = wave_order(df, wave, waves)
    return df, order, confidence, se_type


def _within(M: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Columns of ``M`` minus their mean within each code (one-way fixed effects)."""
    n = codes.max() + 1
    cnt = np.bincount(codes, minlength=n)
    sums = np.column_stack(
        [np.bincount(codes, weights=M[:, j], minlength=n) for j in range(M.shape[1])]
    )
    return M - (sums / cnt[:, None])[codes]


def _arm_check(df, treat, cluster):
    per = df.groupby(treat)[cluster].nunique()
    n_t, n_c = int(per.get(1, 0)), int(per.get(0, 0))
    if min(n_t, n_c) >= 2:
        return ""
    return (
        f"not estimable: needs 2 or more organizations in each arm; got {n_t} treated and "
        f"{n_c} comparison (without a comparison group use within_change)"
    )


def wave_effects(
    data,
    *,
    y="score",
    wave="wave",
    treat="treated",
    worker="worker_id",
    cluster="org_id",
    linked=True,
    waves=None,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """The effect at every later wave from one model of all waves (arm x wave).

    Model, OLS on every response of every wave (k = 1..K later waves):

        y_it = a_i + sum_k g_k W_k + sum_k delta_k treated x W_k + e_it,

    with a_i a worker fixed effect when ``linked`` (the model is fitted on
    within-worker deviations, Frisch-Waugh-Lovell; workers seen once add
    nothing) and an intercept plus ``treated`` otherwise. delta_k is the
    difference between the arms in change from the first wave to wave k; with
    complete linked data it equals the difference in mean paired change.

    Standard errors: cluster-robust by ``cluster`` (``se_type``, CR3 by default,
    t on G - 1 df), which allows any correlation of a worker's (and an
    organization's) responses across waves. The worker effects are nested in the
    clusters, so CR3 on the within-transformed data is exactly the
    leave-one-organization-out jackknife of the full fixed-effects model.

    Parameters
    ----------
    data : DataFrame
        Columns ``y, wave, treat, worker, cluster``. Not modified.
    linked : bool
        Whether ``worker`` repeats across waves (worker fixed effects).

    Returns
    -------
    DataFrame, one row per later wave, ``estimator = "wave_effect"``;
    ``n_workers`` = distinct workers in the model, ``n_orgs`` = clusters.

    References
    ----------
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to
    cluster-robust inference. *Journal of Human Resources*, 50(2), 317-372.
    doi:10.3368/jhr.50.2.317
    """
    df, order, confidence, se_type = _prepare(
        data, y, wave, treat, worker, cluster, confidence, se_type, waves
    )
    why = _arm_check(df, treat, cluster) if len(order) > 1 else "not estimable: only one wave"
    if why:
        return frame([blank("wave_effect", why, wave=w) for w in order[1:] or [None]])
    t = df[treat].to_numpy(float)
    W = np.column_stack([(df[wave] == w).to_numpy(float) for w in order[1:]])
    K = W.shape[1]
    X = np.column_stack([W, W * t[:, None]])
    yv = df[y].to_numpy(float)
    if linked:
        codes = pd.factorize(df[worker])[0]
        M = _within(np.column_stack([yv, X]), codes)
        yv, X = M[:, 0], M[:, 1:]
        keep = np.abs(X).sum(axis=1) > 0  # workers seen once drop out
        yv, X, used = yv[keep], X[keep], df[keep]
    else:
        X = np.column_stack([np.ones(len(df)), t, X])
        used = df
    fit = _cluster.ols(X, yv, used[cluster].to_numpy())
    sd = first_wave_sd(df, y, wave, order[0])
    fe = "worker fixed effects" if linked else "no worker link"
    rows = []
    for k, later in enumerate(order[1:]):
        col = X.shape[1] - K + k
        est, se, _, dof = coef_test(fit, col, se_type)
        r = t_row(est, se, dof, confidence)
        r.update(estimator="wave_effect", wave=later, n_orgs=used[cluster].nunique())
        r["n_workers"] = used[worker].nunique()
        r["method"] = (
            f"OLS on all {len(order)} waves, arm x wave, {fe}; {se_type} cluster-robust SE by "
            f"{cluster}, t(G-1)"
        )
        rows.append(standardize(r, sd))
    return frame(rows)


def ancova_by_wave(
    data,
    *,
    y="score",
    wave="wave",
    treat="treated",
    worker="worker_id",
    cluster="org_id",
    linked=True,
    waves=None,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """ANCOVA of each later wave on the first: y_k = b0 + delta_k treated + b1 y_first + e.

    One regression per later wave k on the workers who answered the first wave
    and wave k (complete cases), cluster-robust SE by ``cluster`` (``se_type``,
    t on G - 1 df). For two waves this is :func:`stseval.models.ancova`. Adjusting
    for the first-wave score removes the part of a baseline imbalance that
    predicts later scores (e.g. regression to the mean after self-selection).

    Parameters
    ----------
    linked : bool
        False (anonymous waves): every row says "not estimable: waves are not
        linked".

    Returns
    -------
    DataFrame, one row per later wave, ``estimator = "ancova_wave"``;
    ``n_workers`` = workers with both scores.
    """
    df, order, confidence, se_type = _prepare(
        data, y, wave, treat, worker, cluster, confidence, se_type, waves
    )
    later_waves = order[1:] or [None]
    if not linked:
        return frame([blank("ancova_wave", NOT_LINKED, wave=w) for w in later_waves])
    sd = first_wave_sd(df, y, wave, order[0])
    wide = df.pivot_table(index=worker, columns=wave, values=y, aggfunc="mean")
    meta = df.groupby(worker)[[treat, cluster]].first()
    rows = []
    for later in order[1:]:
        pair = wide[[order[0], later]].dropna().join(meta)
        why = _arm_check(pair, treat, cluster)
        if why:
            rows.append(blank("ancova_wave", why, wave=later))
            continue
        X = np.column_stack([np.ones(len(pair)), pair[treat], pair[order[0]]])
        r = cluster_coef(
            X,
            pair[later].to_numpy(float),
            pair[cluster].to_numpy(),
            1,
            se_type=se_type,
            confidence=confidence,
        )
        r.update(estimator="ancova_wave", wave=later, n_workers=len(pair))
        r["n_orgs"] = pair[cluster].nunique()
        r["method"] = (
            f"OLS {later} ~ treated + {order[0]}; {se_type} cluster-robust SE by {cluster}, t(G-1)"
        )
        rows.append(standardize(r, sd))
    if not rows:
        rows = [blank("ancova_wave", "not estimable: only one wave")]
    return frame(rows)
