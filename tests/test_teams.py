"""Tests of stseval.teams: team-level assignment within organizations."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf
from designsim import simulate
from scipy import stats

from stseval import models
from stseval._designrows import DESIGN_COLUMNS
from stseval.teams import design_effect, team_effect


def _team_data(seed, **kw):
    args = dict(n_orgs=6, per_org=24, teams_per_org=4, team_assignment=True, sd_team=0.3)
    args.update(kw)
    return simulate(np.random.default_rng(seed), **args)


def test_team_effect_matches_statsmodels_with_dummies():
    data = _team_data(1, waves=["pre", "post"], effect=(0, 0.5), trend=(0, 0.2))
    before = data.copy()
    res = team_effect(data, se_type="CR1")
    assert data.equals(before)
    assert list(res.columns) == DESIGN_COLUMNS + ["icc_team", "design_effect"]
    d = data.copy()
    d["later"] = (d["wave"] == "post").astype(float)
    d["txl"] = d["treated"] * d["later"]
    fit = smf.ols("score ~ C(team_id) + C(org_id):later + txl", d).fit(
        cov_type="cluster", cov_kwds={"groups": d["team_id"]}
    )
    r = res.iloc[0]
    assert r["estimator"] == "team_did"
    assert r["estimate"] == pytest.approx(fit.params["txl"])
    # CR1's (n - 1) / (n - k): k counts the within-team regressors here (one org x later
    # per organization, plus treated x later) and every dummy in statsmodels
    n, k_sm = len(d), int(np.linalg.matrix_rank(fit.model.exog))
    k_me = 1 + d["org_id"].nunique()
    factor = (n - k_sm) / (n - k_me)
    assert r["se"] ** 2 == pytest.approx(fit.bse["txl"] ** 2 * factor, rel=1e-6)
    assert r["n_orgs"] == 6 and np.isnan(r["icc_team"])


def test_team_effect_recovers_effect_and_design_effect_formula():
    errs = []
    for seed in range(15):
        data = _team_data(100 + seed, n_orgs=8)
        res = team_effect(data, randomized=True)
        for w, truth in (("post", 0.5), ("follow_up", 0.3)):
            r = res[res["wave"] == w].iloc[0]
            errs.append((r["estimate"] - truth) / r["se"])
    assert abs(np.mean(errs)) < 0.5
    assert np.mean(np.abs(errs) < stats.t.ppf(0.975, 31)) >= 0.85
    first = data[data["wave"] == "pre"]
    icc = models.icc_by_org(first["score"], first["team_id"])
    m = len(first) / first["team_id"].nunique()
    assert r["icc_team"] == pytest.approx(icc)
    assert r["design_effect"] == pytest.approx(1 + (m - 1) * icc)
    assert design_effect(first["score"], first["team_id"])[1] == pytest.approx(m)


def test_team_effect_not_estimable_without_mixed_organizations():
    data = _team_data(3)
    # make every organization's teams all treated or all untreated
    data["treated"] = (data["org_id"] < 3).astype(int)
    res = team_effect(data)
    assert res["estimate"].isna().all()
    assert res["note"].str.contains("both treated and untreated teams").all()
