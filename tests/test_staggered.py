"""Tests of stseval.staggered: hand-built ATT(g, t), simulation (CS vs TWFE), SE checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from stseval._designrows import DESIGN_COLUMNS
from stseval.errors import UsageError
from stseval.staggered import att_gt, twfe_did

WAVES = ["t0", "t1", "t2"]

# Hand-built panel of organizations (one row per org and wave):
#   never treated N1, N2: change t0->t1 = 1, t0->t2 = 2, t1->t2 = 1
#   cohort t1 (A1, A2, A3): change t0->t1 = 3, t0->t2 = 5
#   cohort t2 (B1, B2): change t0->t1 = 2, t1->t2 = 3
# ATT(t1, t1) = 3 - 1 = 2; ATT(t1, t2) = 5 - 2 = 3 (base t0);
# ATT(t2, t1) = 2 - 1 = 1 (placebo, base t0); ATT(t2, t2) = 3 - 1 = 2 (base t1).
# Event time 0: (3/5) 2 + (2/5) 2 = 2; overall ("group"): theta_t1 = 2.5, theta_t2 = 2,
# weights 3/5 and 2/5: 0.6 * 2.5 + 0.4 * 2 = 2.3.
HAND_SERIES = {
    "N1": ([1, 2, 3], None),
    "N2": ([3, 4, 5], None),
    "A1": ([2, 5, 7], "t1"),
    "A2": ([4, 7, 9], "t1"),
    "A3": ([0, 3, 5], "t1"),
    "B1": ([0, 2, 5], "t2"),
    "B2": ([2, 4, 7], "t2"),
}


def _hand():
    rows = [
        (org, w, float(v), cohort)
        for org, (vals, cohort) in HAND_SERIES.items()
        for w, v in zip(WAVES, vals, strict=True)
    ]
    return pd.DataFrame(rows, columns=["org_id", "wave", "score", "cohort"])


def _cell(res, cohort, wave):
    sel = res[(res["estimator"] == "att_gt") & (res["cohort"] == cohort) & (res["wave"] == wave)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_hand_built_two_cohorts_never_treated():
    data = _hand()
    before = data.copy()
    res = att_gt(data, waves=WAVES)
    pd.testing.assert_frame_equal(data, before)
    assert list(res.columns) == DESIGN_COLUMNS + ["event_time"]
    assert _cell(res, "t1", "t1")["estimate"] == pytest.approx(2.0)
    assert _cell(res, "t1", "t2")["estimate"] == pytest.approx(3.0)
    assert _cell(res, "t2", "t1")["estimate"] == pytest.approx(1.0)
    assert _cell(res, "t2", "t1")["event_time"] == -1
    assert _cell(res, "t2", "t2")["estimate"] == pytest.approx(2.0)
    ev = res[res["estimator"] == "att_event"].set_index("event_time")["estimate"]
    assert ev[0] == pytest.approx(2.0) and ev[1] == pytest.approx(3.0) and ev[-1] == 1.0
    overall = res[res["estimator"] == "att_overall"].iloc[0]
    assert overall["estimate"] == pytest.approx(2.3)
    assert overall["n_orgs"] == 7 and pd.isna(overall["n_workers"])


def test_hand_built_not_yet_treated_controls():
    res = att_gt(_hand(), waves=WAVES, control="notyet")
    # ATT(t1, t1): controls are N1, N2 (change 1) and B1, B2 (change 2, not treated at t1)
    assert _cell(res, "t1", "t1")["estimate"] == pytest.approx(3 - 1.5)
    # at t2 the cohort t2 is treated: controls are the never-treated only
    assert _cell(res, "t1", "t2")["estimate"] == pytest.approx(3.0)


def test_worker_rows_averaged_to_org_means():
    """Repeated cross-sections: respondents are averaged within organization and wave."""
    hand = _hand()
    rows = []
    for r in hand.itertuples(index=False):  # two respondents per org-wave, mean = the value
        rows += [
            (r.org_id, r.wave, r.score - 1.0, r.cohort),
            (r.org_id, r.wave, r.score + 1.0, r.cohort),
        ]
    workers = pd.DataFrame(rows, columns=hand.columns)
    a = att_gt(workers, waves=WAVES)
    b = att_gt(hand, waves=WAVES)
    np.testing.assert_allclose(a["estimate"], b["estimate"])


def test_cell_se_equals_statsmodels_cluster_difference_in_means():
    """One ATT(g, t) is a difference in mean changes; its IF SE is CR1 without (n-1)/(n-k)."""
    rng = np.random.default_rng(3)
    n_orgs, per = 30, 8
    rows = []
    for o in range(n_orgs):
        g = "t1" if o < 15 else None
        a = rng.normal()
        for w in range(per):
            u = rng.normal()
            for t, wave in enumerate(WAVES[:2]):
                eff = 0.5 if (g and t == 1) else 0.0
                rows.append((f"{o}-{w}", o, wave, a + u + eff + rng.normal(), g))
    df = pd.DataFrame(rows, columns=["worker_id", "org_id", "wave", "score", "cohort"])
    res = att_gt(df, unit="worker_id", cluster="org_id", waves=WAVES[:2])
    cell = _cell(res, "t1", "t1")
    wide = df.pivot(index="worker_id", columns="wave", values="score")
    meta = df.groupby("worker_id")[["org_id", "cohort"]].first()
    d = pd.DataFrame({"dy": wide["t1"] - wide["t0"], "treat": meta["cohort"].notna() * 1.0})
    d["org_id"] = meta["org_id"]
    fit = smf.ols("dy ~ treat", d).fit(cov_type="cluster", cov_kwds={"groups": d["org_id"]})
    n = len(d)
    assert cell["estimate"] == pytest.approx(fit.params["treat"])
    assert cell["se"] == pytest.approx(fit.bse["treat"] * np.sqrt((n - 2) / (n - 1)), rel=1e-8)
    assert cell["n_workers"] == n_orgs * per and cell["n_orgs"] == n_orgs


def _simulate(rng, n_orgs=400, per_org=1, T=6, sd=0.5):
    """Cohorts start at waves 2, 3, 4 (25% never); effects grow with exposure, differ by cohort."""
    slope = {2: 1.0, 3: 0.5, 4: 0.2}
    cohorts = rng.choice([2.0, 3.0, 4.0, np.nan], n_orgs, p=[0.25, 0.25, 0.25, 0.25])
    cohorts[cohorts >= T] = np.nan  # starts after the last wave: never treated in the data
    org = np.repeat(np.arange(n_orgs), per_org * T)
    worker = np.repeat(np.arange(n_orgs * per_org), T)
    t = np.tile(np.arange(T), n_orgs * per_org)
    g = cohorts[org]
    exposure = np.where(np.isfinite(g) & (t >= g), t - np.nan_to_num(g) + 1, 0)
    eff = exposure * np.array([slope.get(x, 0.0) for x in np.nan_to_num(g)])
    y = rng.normal(size=n_orgs)[org] + rng.normal(size=n_orgs * per_org)[worker] + 0.3 * t
    y = y + eff + rng.normal(0, sd, len(t))
    df = pd.DataFrame({"org_id": org, "worker_id": worker, "wave": t, "score": y, "cohort": g})
    df["_eff"] = eff
    # truth: theta_g = mean effect over waves t >= g, weighted by cohort shares
    theta_g = {c: np.mean([(s - c + 1) * slope[c] for s in range(c, T)]) for c in slope if c < T}
    shares = pd.Series(cohorts[np.isfinite(cohorts)]).value_counts(normalize=True)
    truth = float(sum(shares[c] * theta_g[int(c)] for c in shares.index))
    event0 = float(sum(shares[c] * slope[int(c)] for c in shares.index))
    return df, truth, event0


def test_simulation_cs_recovers_truth_and_twfe_is_biased():
    rng = np.random.default_rng(2021)
    df, truth, event0 = _simulate(rng)
    cs = att_gt(df)
    overall = cs[cs["estimator"] == "att_overall"].iloc[0]
    tw = twfe_did(df).iloc[0]
    assert abs(overall["estimate"] - truth) < 3 * overall["se"]
    assert abs(overall["estimate"] - truth) < 0.15
    e0 = cs[(cs["estimator"] == "att_event") & (cs["event_time"] == 0)].iloc[0]
    assert abs(e0["estimate"] - event0) < 3 * e0["se"]
    # placebo (pre-period) effects are near zero
    pre = cs[(cs["estimator"] == "att_event") & (cs["event_time"] < 0)]
    assert (pre["estimate"].abs() < 3 * pre["se"]).all()
    # TWFE from the same data: far below the truth (about -0.54 over seeds, SD 0.05)
    assert truth - tw["estimate"] > 0.35
    assert abs(tw["estimate"] - truth) > 5 * overall["se"]
    assert "biased" in tw["note"]


def test_analytic_se_agrees_with_cluster_bootstrap():
    rng = np.random.default_rng(77)
    df, _, _ = _simulate(rng, n_orgs=40, per_org=4, T=4, sd=1.0)
    res = att_gt(df, unit="worker_id", cluster="org_id", share_variance=True)
    se = res.loc[res["estimator"] == "att_overall", "se"].iloc[0]
    rows_of = [np.flatnonzero(df["org_id"].to_numpy() == o) for o in df["org_id"].unique()]
    boot = []
    for _ in range(100):
        pick = rng.integers(len(rows_of), size=len(rows_of))
        idx = np.concatenate([rows_of[o] for o in pick])
        new_org = np.repeat(np.arange(len(pick)), [len(rows_of[o]) for o in pick])
        b = df.iloc[idx].assign(org_id=new_org)
        b["worker_id"] = b["worker_id"] * 1000 + new_org  # a resampled org's workers are new
        r = att_gt(b, unit="worker_id", cluster="org_id")
        boot.append(r.loc[r["estimator"] == "att_overall", "estimate"].iloc[0])
    assert 0.75 < se / np.std(boot, ddof=1) < 1.33


def test_conditional_se_covers_the_truth_of_these_cohorts():
    """Default inference is conditional on the cohort sizes: ~95% coverage of the truth
    defined by the realized cohorts; share_variance=True is wider (population weights)."""
    hits, ratio = [], []
    for seed in range(50):
        df, truth, event0 = _simulate(np.random.default_rng(900 + seed), n_orgs=30, per_org=4, T=5)
        res = att_gt(df, unit="worker_id")
        o = res[res["estimator"] == "att_overall"].iloc[0]
        e0 = res[(res["estimator"] == "att_event") & (res["event_time"] == 0)].iloc[0]
        hits += [o["ci_low"] <= truth <= o["ci_high"], e0["ci_low"] <= event0 <= e0["ci_high"]]
        wide = att_gt(df, unit="worker_id", share_variance=True)
        ratio.append(wide.loc[wide["estimator"] == "att_overall", "se"].iloc[0] / o["se"])
    assert 0.88 <= np.mean(hits) <= 0.995, np.mean(hits)
    assert min(ratio) >= 1.0 - 1e-9 and np.mean(ratio) > 1.2


def test_twfe_matches_statsmodels_dummies_on_unbalanced_panel():
    rng = np.random.default_rng(5)
    df, _, _ = _simulate(rng, n_orgs=40, T=5)
    df = df.drop(index=rng.choice(df.index, 25, replace=False))
    df["treated_now"] = (df["wave"] >= df["cohort"].fillna(np.inf)).astype(float)
    fit = smf.ols("score ~ treated_now + C(org_id) + C(wave)", df).fit()
    tw = twfe_did(df).iloc[0]
    assert tw["estimate"] == pytest.approx(fit.params["treated_now"], rel=1e-7)
    assert tw["se"] > 0 and tw["ci_low"] < tw["estimate"] < tw["ci_high"]


def test_twfe_recovers_a_constant_effect_and_equals_cs_then():
    """With one effect for every cohort and wave TWFE is unbiased (and agrees with CS)."""
    errs = []
    for seed in range(20):
        rng = np.random.default_rng(700 + seed)
        df, _, _ = _simulate(rng, n_orgs=60, T=5)
        treated_now = df["wave"] >= df["cohort"].fillna(np.inf)
        df["score"] = df["score"] - df["_eff"] + 0.4 * treated_now
        tw = twfe_did(df).iloc[0]
        errs.append((tw["estimate"] - 0.4) / tw["se"])
    assert abs(np.mean(errs)) < 0.5
    assert np.mean(np.abs(errs) < 2.0) >= 0.85
    cs = att_gt(df)
    assert cs.loc[cs["estimator"] == "att_overall", "estimate"].iloc[0] == pytest.approx(
        0.4, abs=0.15
    )


def test_no_never_treated_units_gives_a_note_not_an_error():
    data = _hand()
    data = data[data["cohort"].notna()]
    res = att_gt(data, waves=WAVES)
    assert len(res) == 1 and np.isnan(res["estimate"].iloc[0])
    assert res["note"].iloc[0].startswith("not estimable")
    # with not-yet-treated controls the early cohort is compared with the late one at t1
    res = att_gt(data, waves=WAVES, control="notyet")
    assert _cell(res, "t1", "t1")["estimate"] == pytest.approx(3 - 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"control": "later"}, "control must be one of"),
        ({"y": "stss"}, "no column 'stss'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(UsageError, match=match):
        att_gt(_hand(), waves=WAVES, **kwargs)


def test_cohort_must_be_constant_and_a_wave():
    data = _hand()
    data.loc[0, "cohort"] = "t2"
    with pytest.raises(UsageError, match="same in every row"):
        att_gt(data, waves=WAVES)
    data = _hand()
    data.loc[data["cohort"] == "t1", "cohort"] = "2019"
    with pytest.raises(UsageError, match="first treated wave"):
        att_gt(data, waves=WAVES)
