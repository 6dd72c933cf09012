"""Team-level assignment: some teams of an organization changed practice, others did not.

As in the Resilience Alliance trial (Orsi-Hunt et al., 2023), where supervisory
units were randomized within agencies. The comparison is made within
organizations (organization x period fixed effects: the organization is a
stratum) and inference is at the level that was assigned, the team.

Input: a long frame, one row per response, default columns ``worker_id,
org_id, team_id, wave, score, treated`` (0/1, constant within team). Output: the
design-estimator table (:data:`stseval._designrows.DESIGN_COLUMNS`) plus
``icc_team`` and ``design_effect``, one row per later wave.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster, models
from ._designrows import (
    blank,
    check_common,
    coef_test,
    first_wave_sd,
    frame,
    numeric,
    standardize,
    t_row,
    wave_order,
)
from ._results import _binary
from .errors import StsevalError

__all__ = ["team_effect", "design_effect"]

EXTRA = ("icc_team", "design_effect")


def design_effect(values, teams) -> tuple[float, float, float]:
    """Team ICC(1), mean team size m and the design effect 1 + (m - 1) ICC.

    ICC(1) from a one-way ANOVA of ``values`` by team
    (:func:`stseval.models.icc_by_org`); m = responses per team on average. The
    design effect is the factor by which clustering in teams inflates the
    variance of a mean compared with independent workers (Donner & Klar, 2000).

    Returns
    -------
    tuple (icc, m, design_effect); NaNs when fewer than 2 teams.
    """
    v = pd.Series(np.asarray(values, dtype=float))
    t = pd.Series(np.asarray(teams, dtype=object))
    keep = v.notna() & t.notna()
    if t[keep].nunique() < 2:
        return np.nan, np.nan, np.nan
    icc = float(models.icc_by_org(v[keep], t[keep]))
    m = float(keep.sum() / t[keep].nunique())
    return icc, m, 1.0 + (m - 1.0) * icc


def _demean(M: np.ndarray, codes: np.ndarray) -> np.ndarray:
    n = codes.max() + 1
    cnt = np.bincount(codes, minlength=n)
    sums = np.column_stack(
        [np.bincount(codes, weights=M[:, j], minlength=n) for j in range(M.shape[1])]
    )
    return M - (sums / cnt[:, None])[codes]


def _fit_wave(sub, y, treat, team, org, later_mask, se_type, confidence):
    codes = pd.factorize(sub[team])[0]
    org_codes = pd.factorize(sub[org])[0]
    post = later_mask.astype(float)
    org_post = np.eye(org_codes.max() + 1)[org_codes] * post[:, None]
    M = np.column_stack([sub[y].to_numpy(float), org_post, sub[treat].to_numpy(float) * post])
    M = _demean(M, codes)
    X = M[:, 1:]
    keep = np.abs(X).sum(axis=0) > 1e-12  # org x later columns of orgs with one team vanish
    X = X[:, keep]
    fit = _cluster.ols(X, M[:, 0], codes)
    est, se, _, dof = coef_test(fit, X.shape[1] - 1, se_type)
    return t_row(est, se, dof, confidence)


def team_effect(
    data,
    *,
    y="score",
    wave="wave",
    treat="treated",
    team="team_id",
    org="org_id",
    worker="worker_id",
    randomized=False,
    waves=None,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """Treated vs untreated teams within organizations, clustered by team.

    For each later wave w, OLS on the responses of the first wave and w:

        y = team_j + org x later + delta treated_j x later + e,

    team fixed effects (they absorb the organization and arm levels) and an
    organization-specific change from the first wave (organization as a
    stratum), so delta compares treated and untreated teams of the *same*
    organizations; organizations whose teams are all in one arm add nothing to
    delta. Works for linked and anonymous waves (every response is used). Fitted
    on within-team deviations; the team effects are nested in the team
    clusters, so CR3 there is the leave-one-team-out jackknife of the full model.

    Parameters
    ----------
    data : DataFrame
        Columns ``y, wave, treat, team, org, worker``. Not modified.
    randomized : bool
        True for a cluster-randomized trial: ``icc_team`` (team ICC(1) of ``y``
        at the first wave) and ``design_effect`` = 1 + (m - 1) ICC (m = mean
        responses per team) are filled in, for planning and for reading the
        precision; NaN otherwise.
    se_type : {"CR3", "CR2", "CR1", "CR0"}
        Cluster-robust SE by team, t on (teams - 1) df.

    Returns
    -------
    DataFrame, one row per later wave, ``estimator = "team_did"``, with the
    extra columns ``icc_team`` and ``design_effect``. ``n_workers`` = distinct
    workers, ``n_orgs`` = organizations. Not estimable (a row with a note) when
    an arm has fewer than 2 teams or no organization has teams in both arms.

    References
    ----------
    Donner, A., & Klar, N. (2000). *Design and analysis of cluster randomization
    trials in health research*. London: Arnold.
    Orsi-Hunt, R., et al. (2023). Resilience Alliance cluster randomized trial (see
    ``norms.md`` section 6 of the project's reference notes).
    """
    cols = {"y": y, "wave": wave, "treat": treat, "team": team, "org": org, "worker": worker}
    df, confidence, se_type = check_common(data, "data", cols, confidence, se_type)
    df = numeric(df, y)
    df[treat] = _binary(df[treat], treat)
    df = df.dropna(subset=[y, wave, treat, team, org]).reset_index(drop=True)
    order = wave_order(df, wave, waves)
    first = df[df[wave] == order[0]]
    icc, _, deff = design_effect(first[y], first[team]) if randomized else (np.nan,) * 3
    sd = first_wave_sd(df, y, wave, order[0])
    rows = []
    for later in order[1:] or [None]:
        base = {"estimator": "team_did", "wave": later, "icc_team": icc, "design_effect": deff}
        sub = df[df[wave].isin([order[0], later])].reset_index(drop=True)
        per = sub.groupby(treat)[team].nunique()
        n_t, n_c = int(per.get(1, 0)), int(per.get(0, 0))
        mixed_orgs = int((sub.groupby(org)[treat].nunique() == 2).sum())
        why = ""
        if later is None:
            why = "not estimable: only one wave"
        elif min(n_t, n_c) < 2:
            why = f"not estimable: needs 2 or more teams in each arm; got {n_t} and {n_c}"
        elif mixed_orgs == 0:
            why = "not estimable: no organization has both treated and untreated teams"
        if why:
            rows.append(blank(note=why, **base))
            continue
        try:
            r = _fit_wave(
                sub, y, treat, team, org, (sub[wave] == later).to_numpy(), se_type, confidence
            )
        except StsevalError as exc:
            rows.append(blank(note=f"not estimable: {exc}", **base))
            continue
        r.update(base, n_workers=sub[worker].nunique(), n_orgs=sub[org].nunique())
        r["method"] = (
            f"OLS y ~ team FE + org x later + treated x later ({mixed_orgs} organizations with "
            f"both arms); {se_type} cluster-robust SE by team, t(teams-1)"
        )
        rows.append(standardize(r, sd))
    return frame(rows, EXTRA)
