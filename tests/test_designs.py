"""Tests of the design estimators: no comparison group, repeated cross-sections.

Each estimator gets a hand-worked or independent check (statsmodels with the same
formula, scipy) and a recovery test on data simulated here with a known truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from designsim import simulate
from scipy import stats

from stseval import models
from stseval._designrows import DESIGN_COLUMNS
from stseval.cross_section import did_cross_section, org_mean_did
from stseval.errors import UsageError
from stseval.no_comparison import its_own_trend, within_change
from stseval.waves import ancova_by_wave, wave_effects


def _row(res, wave):
    sel = res[res["wave"] == wave]
    assert len(sel) == 1
    return sel.iloc[0]


# --------------------------------------------------------------------------- within_change


def test_within_paired_hand_check_and_statsmodels_cluster_se():
    rng = np.random.default_rng(1)
    data = simulate(rng, n_orgs=8, per_org=10, treated_share=1.0)
    data = data.drop(index=rng.choice(data.index, 20, replace=False))  # some missed a wave
    before = data.copy()
    res = within_change(data, se_type="CR1")
    pd.testing.assert_frame_equal(data, before)
    assert list(res.columns) == DESIGN_COLUMNS
    wide = data.pivot(index="worker_id", columns="wave", values="score")
    d = (wide["post"] - wide["pre"]).dropna()
    orgs = data.groupby("worker_id")["org_id"].first().loc[d.index]
    fit = sm.OLS(d.to_numpy(), np.ones(len(d))).fit(
        cov_type="cluster", cov_kwds={"groups": orgs.to_numpy()}
    )
    r = _row(res, "post")
    assert r["estimator"] == "within_paired"
    assert r["estimate"] == pytest.approx(d.mean())
    assert r["se"] == pytest.approx(fit.bse[0], rel=1e-8)
    assert r["n_workers"] == len(d) and r["n_orgs"] == 8
    assert "no comparison group" in r["note"]
    sd = data.loc[data["wave"] == "pre", "score"].std(ddof=1)
    assert r["effect_size"] == pytest.approx(d.mean() / sd)
    assert r["es_type"] == "d_first_wave_sd"


def test_within_paired_one_org_says_clustering_impossible():
    rng = np.random.default_rng(2)
    data = simulate(rng, n_orgs=1, per_org=14, treated_share=1.0, waves=["pre", "post"])
    res = within_change(data)
    r = res.iloc[0]
    wide = data.pivot(index="worker_id", columns="wave", values="score")
    tt = stats.ttest_rel(wide["post"], wide["pre"])
    assert r["p_value"] == pytest.approx(tt.pvalue)
    assert "clustering is impossible" in r["note"]


def test_within_unlinked_two_sample_and_one_org_welch():
    rng = np.random.default_rng(3)
    data = simulate(rng, n_orgs=6, per_org=15, treated_share=1.0, linked=False)
    res = within_change(data, linked=False, se_type="CR1")
    sub = data[data["wave"].isin(["pre", "follow_up"])].copy()
    sub["later"] = (sub["wave"] == "follow_up").astype(float)
    fit = smf.ols("score ~ later", sub).fit(cov_type="cluster", cov_kwds={"groups": sub["org_id"]})
    r = _row(res, "follow_up")
    assert r["estimator"] == "within_unlinked"
    assert r["estimate"] == pytest.approx(fit.params["later"])
    assert r["se"] == pytest.approx(fit.bse["later"], rel=1e-8)
    one = data[data["org_id"] == 0]
    r1 = _row(within_change(one, linked=False), "post")
    tt = stats.ttest_ind(
        one.loc[one["wave"] == "post", "score"],
        one.loc[one["wave"] == "pre", "score"],
        equal_var=False,
    )
    assert r1["p_value"] == pytest.approx(tt.pvalue)
    assert "clustering is impossible" in r1["note"]


@pytest.mark.parametrize("linked", [True, False])
def test_within_change_recovers_the_total_change(linked):
    """Without a comparison group the estimand is trend + effect (the whole change)."""
    errs = []
    for seed in range(20):
        data = simulate(
            np.random.default_rng(100 + seed),
            n_orgs=12,
            per_org=15,
            treated_share=1.0,
            linked=linked,
        )
        res = within_change(data, linked=linked)
        for k, w in enumerate(["post", "follow_up"]):
            r = _row(res, w)
            truth = (0.2, 0.4)[k] + (0.5, 0.3)[k]
            errs.append((r["estimate"] - truth) / r["se"])
    errs = np.array(errs)
    assert abs(errs.mean()) < 0.5  # bias well within the SE
    assert np.mean(np.abs(errs) < stats.t.ppf(0.975, 11)) >= 0.85  # coverage, 40 intervals


def test_within_change_single_wave_is_a_note():
    data = simulate(np.random.default_rng(4), n_orgs=3, waves=["pre"], effect=(0,), trend=(0,))
    res = within_change(data)
    assert np.isnan(res["estimate"].iloc[0]) and "only one wave" in res["note"].iloc[0]


def test_within_change_bad_column():
    data = simulate(np.random.default_rng(4), n_orgs=3)
    with pytest.raises(UsageError, match="no column 'stss'"):
        within_change(data, y="stss")


# --------------------------------------------------------------------------- ITS


def _months(rng, n_orgs, level=-0.02, slope=-0.001, n_pre=24, n_post=24, sd=0.004):
    rows = []
    for o in range(n_orgs):
        start = pd.Timestamp(2022, 1 + int(rng.integers(0, 6)), 1)
        a, b = 0.05 + rng.normal(0, 0.01), 0.0005 + rng.normal(0, 0.0003)
        for rel in range(-n_pre, n_post):
            m = start + pd.DateOffset(months=rel)
            v = a + b * rel + level * (rel >= 0) + slope * max(rel, 0) + rng.normal(0, sd)
            rows.append((o, m.strftime("%Y-%m"), v, start.strftime("%Y-%m-%d")))
    return pd.DataFrame(rows, columns=["org_id", "month", "value", "start_date"])


def _newey_west(X, e, lags):
    bread = np.linalg.inv(X.T @ X)
    u = X * e[:, None]
    S = u.T @ u
    for j in range(1, lags + 1):
        w = 1 - j / (lags + 1)
        G = u[j:].T @ u[:-j]
        S += w * (G + G.T)
    return bread @ S @ bread


def test_its_one_org_matches_lstsq_and_hand_newey_west():
    data = _months(np.random.default_rng(5), 1)
    res = its_own_trend(data).set_index("estimator")
    rel = np.arange(-24, 24, dtype=float)
    X = np.column_stack([np.ones(48), rel, rel >= 0, np.clip(rel, 0, None)])
    beta, *_ = np.linalg.lstsq(X, data["value"].to_numpy(), rcond=None)
    e = data["value"].to_numpy() - X @ beta
    V = _newey_west(X, e, int(np.floor(4 * (48 / 100) ** (2 / 9))))
    assert res.loc["its_own_level", "estimate"] == pytest.approx(beta[2])
    assert res.loc["its_own_slope", "estimate"] == pytest.approx(beta[3])
    assert res.loc["its_own_level", "se"] == pytest.approx(np.sqrt(V[2, 2]), rel=1e-6)
    assert "not separated" in res.loc["its_own_level", "note"]


def test_its_several_orgs_recovers_level_and_slope():
    hits = []
    for seed in range(15):
        res = its_own_trend(_months(np.random.default_rng(200 + seed), 8)).set_index("estimator")
        for name, truth in (("its_own_level", -0.02), ("its_own_slope", -0.001)):
            r = res.loc[name]
            hits.append(r["ci_low"] <= truth <= r["ci_high"])
    assert np.mean(hits) >= 0.85


def test_its_too_few_months_is_a_note():
    data = _months(np.random.default_rng(6), 2, n_pre=2, n_post=10)
    res = its_own_trend(data)
    assert res["estimate"].isna().all()
    assert res["note"].str.startswith("not estimable").all()


# --------------------------------------------------------------------------- cross-sections


def test_did_cross_section_hand_means_and_statsmodels_cr1():
    data = simulate(np.random.default_rng(7), n_orgs=10, per_org=12, linked=False)
    res = did_cross_section(data, se_type="CR1")
    sub = data[data["wave"].isin(["pre", "post"])].copy()
    m = sub.groupby(["treated", "wave"])["score"].mean()
    hand = (m[1, "post"] - m[1, "pre"]) - (m[0, "post"] - m[0, "pre"])
    sub["later"] = (sub["wave"] == "post").astype(float)
    fit = smf.ols("score ~ treated * later", sub).fit(
        cov_type="cluster", cov_kwds={"groups": sub["org_id"]}
    )
    r = _row(res, "post")
    assert r["estimate"] == pytest.approx(hand)
    assert r["se"] == pytest.approx(fit.bse["treated:later"], rel=1e-8)
    assert r["n_workers"] == len(sub) and r["n_orgs"] == 10
    # the kit's two-wave did (CR3) uses the same model
    old = models.did(sub.rename(columns={"score": "y"}), waves=("pre", "post"))
    r3 = _row(did_cross_section(data), "post")
    assert r3["se"] == pytest.approx(old["se"].iloc[0])


def test_did_cross_section_recovers_effect_at_every_wave():
    errs = []
    for seed in range(20):
        data = simulate(np.random.default_rng(300 + seed), n_orgs=16, per_org=15, linked=False)
        res = did_cross_section(data)
        for w, truth in (("post", 0.5), ("follow_up", 0.3)):
            r = _row(res, w)
            errs.append((r["estimate"] - truth) / r["se"])
    assert abs(np.mean(errs)) < 0.5
    assert np.mean(np.abs(errs) < stats.t.ppf(0.975, 15)) >= 0.85


def test_did_cross_section_team_clusters_and_too_few_clusters():
    data = simulate(
        np.random.default_rng(8),
        n_orgs=4,
        per_org=20,
        teams_per_org=4,
        team_assignment=True,
        linked=False,
    )
    res = did_cross_section(data, cluster="team_id")
    assert res["se"].notna().all() and (res["n_orgs"] == 4).all()
    few = simulate(np.random.default_rng(8), n_orgs=3, per_org=10, linked=False)
    res = did_cross_section(few)
    assert res["estimate"].isna().all()
    assert res["note"].str.contains("needs 2 or more clusters").all()


def test_org_mean_did_hand_weights_and_statsmodels_hc():
    rng = np.random.default_rng(9)
    data = simulate(
        rng,
        n_orgs=10,
        per_org=12,
        linked=False,
        waves=["pre", "post"],
        effect=(0, 0.5),
        trend=(0, 0.2),
    )
    data = data.drop(index=rng.choice(data.index, 60, replace=False))  # unequal org sizes
    res = org_mean_did(data, se_type="CR1")
    cells = data.groupby(["org_id", "wave"])["score"].agg(["mean", "size"]).unstack()
    ch = cells["mean"]["post"] - cells["mean"]["pre"]
    w = 1 / (1 / cells["size"]["pre"] + 1 / cells["size"]["post"])
    arm = data.groupby("org_id")["treated"].first()
    hand = np.average(ch[arm == 1], weights=w[arm == 1]) - np.average(
        ch[arm == 0], weights=w[arm == 0]
    )
    fit = sm.WLS(ch.to_numpy(), sm.add_constant(arm.to_numpy(float)), weights=w.to_numpy()).fit(
        cov_type="HC1"
    )
    r = res.iloc[0]
    assert r["estimator"] == "did_org_means"
    assert r["estimate"] == pytest.approx(hand)
    assert r["se"] == pytest.approx(fit.bse[1], rel=1e-8)
    assert r["n_workers"] == len(data) and r["n_orgs"] == 10


def test_org_mean_did_recovers_effect():
    errs = []
    for seed in range(20):
        data = simulate(np.random.default_rng(400 + seed), n_orgs=16, per_org=15, linked=False)
        r = _row(org_mean_did(data), "follow_up")
        errs.append((r["estimate"] - 0.3) / r["se"])
    assert abs(np.mean(errs)) < 0.5
    assert np.mean(np.abs(errs) < stats.t.ppf(0.975, 14)) >= 0.85


# --------------------------------------------------------------------------- waves


def test_wave_effects_linked_equals_difference_in_paired_change_when_complete():
    data = simulate(np.random.default_rng(10), n_orgs=10, per_org=10)
    res = wave_effects(data, se_type="CR1")
    wide = data.pivot(index="worker_id", columns="wave", values="score")
    arm = data.groupby("worker_id")["treated"].first()
    for w in ("post", "follow_up"):
        d = wide[w] - wide["pre"]
        assert _row(res, w)["estimate"] == pytest.approx(d[arm == 1].mean() - d[arm == 0].mean())
    # the same model with worker dummies in statsmodels: same estimate; CR1 SE equal up to the
    # (n - 1) / (n - k) factor, which counts the dummies there (k_sm) and not here (k = 4)
    sub = data[data["org_id"].isin([0, 1, 2, 5, 6, 7])].copy()
    for w in ("post", "follow_up"):
        sub[f"W_{w}"] = (sub["wave"] == w).astype(float)
        sub[f"T_{w}"] = sub[f"W_{w}"] * sub["treated"]
    fit = smf.ols("score ~ C(worker_id) + W_post + W_follow_up + T_post + T_follow_up", sub).fit(
        cov_type="cluster", cov_kwds={"groups": sub["org_id"]}
    )
    r = _row(wave_effects(sub, se_type="CR1"), "post")
    n, k_sm = len(sub), len(fit.params)
    assert r["estimate"] == pytest.approx(fit.params["T_post"])
    factor = (n - k_sm) / (n - 4)
    assert r["se"] ** 2 == pytest.approx(fit.bse["T_post"] ** 2 * factor, rel=1e-6)


def test_wave_effects_recovers_effects_linked_and_anonymous():
    for linked in (True, False):
        errs = []
        for seed in range(15):
            rng = np.random.default_rng(500 + seed)
            data = simulate(rng, n_orgs=16, per_org=12, linked=linked)
            data = data.drop(index=rng.choice(data.index, 100, replace=False))  # attrition
            res = wave_effects(data, linked=linked)
            for w, truth in (("post", 0.5), ("follow_up", 0.3)):
                r = _row(res, w)
                errs.append((r["estimate"] - truth) / r["se"])
        assert abs(np.mean(errs)) < 0.5
        assert np.mean(np.abs(errs) < stats.t.ppf(0.975, 15)) >= 0.85


def test_wave_effects_without_comparison_is_a_note():
    data = simulate(np.random.default_rng(11), n_orgs=4, treated_share=1.0)
    res = wave_effects(data)
    assert res["estimate"].isna().all() and res["note"].str.contains("within_change").all()
    assert list(res["wave"]) == ["post", "follow_up"]


def test_ancova_by_wave_matches_models_ancova_and_recovers():
    data = simulate(np.random.default_rng(12), n_orgs=12, per_org=10)
    res = ancova_by_wave(data)
    wide = data.pivot(index="worker_id", columns="wave", values="score")
    meta = data.groupby("worker_id")[["treated", "org_id"]].first()
    w2 = wide.join(meta).rename(columns={"follow_up": "post_", "post": "p"})
    old = models.ancova(w2.rename(columns={"post_": "post"}).reset_index())
    assert _row(res, "follow_up")["estimate"] == pytest.approx(old["estimate"].iloc[0])
    assert _row(res, "follow_up")["se"] == pytest.approx(old["se"].iloc[0])
    hits = []
    for seed in range(15):
        d = simulate(np.random.default_rng(600 + seed), n_orgs=16, per_org=12)
        r = _row(ancova_by_wave(d), "post")
        hits.append(r["ci_low"] <= 0.5 <= r["ci_high"])
    assert np.mean(hits) >= 0.8


def test_ancova_by_wave_anonymous_says_not_linked():
    data = simulate(np.random.default_rng(13), n_orgs=6, linked=False)
    res = ancova_by_wave(data, linked=False)
    assert list(res["note"]) == ["not estimable: waves are not linked"] * 2
    assert res["estimate"].isna().all()


def test_every_estimator_name_is_in_the_vocabulary():
    from stseval._designrows import DESIGN_ESTIMATORS
    from stseval.multi_area import joint_areas
    from stseval.staggered import att_gt, twfe_did
    from stseval.teams import team_effect

    data = simulate(np.random.default_rng(14), n_orgs=8, per_org=8, teams_per_org=2)
    data["cohort"] = np.where(data["treated"] == 1, "post", None)
    tables = [
        within_change(data),
        within_change(data, linked=False),
        its_own_trend(_months(np.random.default_rng(15), 2)),
        did_cross_section(data),
        org_mean_did(data),
        wave_effects(data),
        ancova_by_wave(data),
        att_gt(data),
        twfe_did(data),
        team_effect(data),
        joint_areas(data, areas=["treated"]),
    ]
    names = set().union(*(set(t["estimator"]) for t in tables))
    assert names <= set(DESIGN_ESTIMATORS)
    assert all(list(t.columns[: len(DESIGN_COLUMNS)]) == DESIGN_COLUMNS for t in tables)
