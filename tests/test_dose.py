"""Dose-response and mediation (stseval.dose): hand checks and recovery of a known truth.

Every recovery test simulates, inside the test, organizations whose outcome
change runs through their practice change with a known slope ``b`` and a
known indirect effect ``a * b``; see ``_simulate``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from stseval import dose, reshape
from stseval.errors import UsageError

PRACTICE = "org_guidance_culture"


def _simulate(
    rng,
    *,
    G=30,
    m=20,
    a=0.6,
    b=-4.0,
    direct=0.0,
    kappa=0.0,
    g=0.0,
    stable=0.0,
    rater_sd=0.1,
):
    """Long worker x wave scores for G organizations of m workers, two waves.

    Org practice P_jt: baseline P0_j ~ N(3, 0.5), change dP_j = a T_j + N(0, 0.3)
    (T_j = 1 for the first half of the organizations). Caseload C_jt: baseline
    N(0, 1), change dC_j = -kappa dP_j + N(0, 0.3) (kappa > 0: organizations that
    improve practice also see caseloads fall). Outcome level
    y_ijt = alpha_j + b P_jt + g C_jt + direct T_j t + u_i + e_ijt with
    alpha_j = 40 + stable (P0_j - 3) + N(0, 2) (stable > 0 or < 0: a stable
    confounder of practice level and outcome level), u_i ~ N(0, 6), e ~ N(0, 5).
    A worker's practice rating is P_jt + N(0, rater_sd); caseload is the org's.
    Truth: org slope of dy on dp = b (kappa = g = direct = 0); indirect = a b.
    """
    T = (np.arange(G) < G // 2).astype(float)
    P0 = rng.normal(3.0, 0.5, G)
    dP = a * T + rng.normal(0, 0.3, G)
    C0 = rng.normal(0, 1, G)
    dC = -kappa * dP + rng.normal(0, 0.3, G)
    alpha = 40 + stable * (P0 - 3) + rng.normal(0, 2, G)
    org = np.repeat(np.arange(G), m)
    u = rng.normal(0, 6, G * m)
    frames = []
    for t, wave in enumerate(["pre", "post"]):
        P = P0 + t * dP
        C = C0 + t * dC
        y = alpha + b * P + g * C + direct * T * t
        frames.append(
            pd.DataFrame(
                {
                    "worker_id": [f"W{i:05d}" for i in range(G * m)],
                    "org_id": [f"O{j:03d}" for j in org],
                    "wave": wave,
                    "stss_total": y[org] + u + rng.normal(0, 5, G * m),
                    PRACTICE: P[org] + rng.normal(0, rater_sd, G * m),
                    "caseload": C[org],
                    "treated": T[org],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _org(frame, **kw):
    return dose.org_dose_response(frame, "culture", "stss_total", **kw)


def _slope(frame, **kw):
    out = _org(frame, **kw)
    return out[out["estimator"] == "dose_org"].iloc[0]


# ----------------------------------------------------------------------------- hand checks


def _hand_org_means(frame):
    """Org changes computed with plain loops (independent of the module)."""
    rows = []
    for o in sorted(set(frame["org_id"])):
        sub = frame[frame["org_id"] == o]
        pre, post = sub[sub["wave"] == "pre"], sub[sub["wave"] == "post"]
        n0, n1 = len(pre), len(post)
        rows.append(
            (
                post[PRACTICE].mean() - pre[PRACTICE].mean(),
                post["stss_total"].mean() - pre["stss_total"].mean(),
                2 / (1 / n0 + 1 / n1),
            )
        )
    return np.array(rows)


def test_slope_equals_numpy_weighted_least_squares_and_hc2():
    rng = np.random.default_rng(1)
    frame = _simulate(rng, G=12, m=8)
    # unequal org sizes, so the weights matter
    frame = frame.drop(frame.index[(frame["org_id"] == "O001") & (frame["wave"] == "post")][:3])
    frame = frame.drop(frame.index[(frame["org_id"] == "O004")][:2])
    dp, dy, w = _hand_org_means(frame).T
    T = (np.arange(12) < 6).astype(float)  # the arm is held fixed: a column of the model
    X = np.column_stack([np.ones_like(dp), dp, T])
    bread = np.linalg.inv(X.T @ np.diag(w) @ X)
    beta = bread @ X.T @ np.diag(w) @ dy
    e = dy - X @ beta
    h = w * np.einsum("gi,ij,gj->g", X, bread, X)
    meat = (X * (w**2 * e**2 / (1 - h))[:, None]).T @ X
    se = np.sqrt((bread @ meat @ bread)[1, 1])
    row = _slope(frame, min_cell=3, change="cross_section")
    assert row["estimate"] == pytest.approx(beta[1], rel=1e-10)
    assert row["se"] == pytest.approx(se, rel=1e-8)
    assert row["n_orgs"] == 12
    # Bell-McCaffrey df: Gamma = (I - H) diag(a), a_g = (1 - h_g)^-1/2 x_g' (X'WX)^-1 c
    from scipy import stats

    Xs = X * np.sqrt(w)[:, None]
    H = Xs @ bread @ Xs.T
    a = (Xs @ bread[:, 1]) / np.sqrt(1 - np.diag(H))
    gam = (np.eye(12) - H) * a[None, :]
    gg = gam.T @ gam
    dfree = np.trace(gg) ** 2 / np.sum(gg * gg)
    assert 2 < dfree < 10
    q = stats.t.ppf(0.975, dfree)
    assert row["ci_low"] == pytest.approx(beta[1] - q * se, rel=1e-8)
    assert "association" in row["es_description"]
    assert "arm held fixed" in row["method"]
    # the pooled variant drops the arm column and says so
    pooled = _org(frame, min_cell=3, change="cross_section", pooled=True)
    pooled = pooled.set_index("estimator").loc["dose_org_pooled"]
    X2 = X[:, :2]
    b2 = np.linalg.lstsq(X2 * np.sqrt(w)[:, None], dy * np.sqrt(w), rcond=None)[0]
    assert pooled["estimate"] == pytest.approx(b2[1], rel=1e-10)
    assert "not the dose-response" in pooled["es_description"]


def test_panel_change_uses_only_workers_with_both_waves():
    rng = np.random.default_rng(7)
    frame = _simulate(rng, G=10, m=8)
    # the three lowest-practice post-wave raters of O002 leave after the first wave
    post = frame[(frame["org_id"] == "O002") & (frame["wave"] == "post")]
    leavers = set(post.nsmallest(3, PRACTICE)["worker_id"])
    frame = frame[~(frame["worker_id"].isin(leavers) & (frame["wave"] == "post"))]
    stayers = frame[~frame["worker_id"].isin(leavers)]
    dp, dy, w = _hand_org_means(stayers).T
    X = np.column_stack([np.ones_like(dp), dp, np.arange(10) < 5])
    beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], dy * np.sqrt(w), rcond=None)[0]
    row = _slope(frame, min_cell=3)  # change="auto": linked workers -> panel
    assert row["estimate"] == pytest.approx(beta[1], rel=1e-10)
    assert row["method"].startswith("mean within-worker change")
    assert row["n_workers"] == 80 - 3
    cross = _slope(frame, min_cell=3, change="cross_section")
    assert cross["estimate"] != pytest.approx(beta[1], rel=1e-6)
    with pytest.raises(UsageError, match="change must be"):
        _slope(frame, change="wide")


def test_bin_with_equal_weights_is_the_plain_mean_and_t_interval():
    rng = np.random.default_rng(2)
    frame = _simulate(rng, G=40, m=6, a=0.5)
    dp, dy, _ = _hand_org_means(frame).T
    out = _org(frame, min_cell=5)
    bins = out[out["estimator"] == "dose_bin"].set_index("bin")
    for label, mask in [("gain < 0", dp < 0), ("gain > 0.5", dp > 0.5)]:
        sel = dy[mask]
        if len(sel) < 5:
            assert bins.loc[label, "note"].startswith("suppressed")
            continue
        assert bins.loc[label, "estimate"] == pytest.approx(sel.mean(), rel=1e-10)
        assert bins.loc[label, "se"] == pytest.approx(sel.std(ddof=1) / np.sqrt(len(sel)))
        assert bins.loc[label, "n_orgs"] == len(sel)
    assert bins["n_orgs"].sum() == 40  # the three scale-point bands cover every org


def test_small_bins_are_suppressed_with_a_note():
    rng = np.random.default_rng(3)
    frame = _simulate(rng, G=12, m=6, a=0.0)
    out = _org(frame, min_cell=5)
    b = out[out["estimator"] == "dose_bin"].set_index("bin")
    # With a = 0 and practice sd 0.3 hardly any org gains more than 0.5 points.
    assert b.loc["gain > 0.5", "note"].startswith("suppressed")
    assert np.isnan(b.loc["gain > 0.5", "estimate"])
    assert pd.isna(b.loc["gain > 0.5", "n_orgs"])
    assert list(out.columns) == dose.DOSE_COLUMNS


def test_orgs_with_too_few_respondents_are_left_out_and_said_so():
    rng = np.random.default_rng(4)
    frame = _simulate(rng, G=10, m=6)
    frame = frame[~((frame["org_id"] == "O000") & (frame["wave"] == "post"))]
    frame = frame.drop(frame.index[frame["org_id"] == "O001"][:3])
    row = _slope(frame, min_cell=6)
    assert row["n_orgs"] == 8  # O000 lacks a post wave; O001 loses 3 pre-wave workers
    assert "2 organization(s) with fewer than 6" in row["note"]


def test_stsioa_total_gets_the_ten_point_band():
    rng = np.random.default_rng(5)
    frame = _simulate(rng, G=20, m=6).rename(columns={PRACTICE: "stsioa_total"})
    out = dose.org_dose_response(frame, "culture", "stss_total", practice="stsioa_total")
    bins = set(out["bin"])
    assert {">= 10 STSI-OA points", "gain < 10 STSI-OA points"} <= bins
    ten = out[out["bin"] == ">= 10 STSI-OA points"].iloc[0]
    dp, dy, _ = _hand_org_means(frame.rename(columns={"stsioa_total": PRACTICE})).T
    assert ten["n_orgs"] == int((dp * 40 >= 10).sum())  # 40 items, kit scores the mean


def test_bad_input_raises_usage_errors():
    frame = _simulate(np.random.default_rng(6), G=6, m=5)
    with pytest.raises(UsageError, match="no column 'nope'"):
        _org(frame, practice="nope")
    with pytest.raises(UsageError, match="waves"):
        _org(frame.assign(wave=frame["wave"].map({"pre": "t0", "post": "t1"})))
    with pytest.raises(UsageError, match="confidence"):
        _org(frame, confidence=95)
    with pytest.raises(UsageError, match="n_boot"):
        dose.mediation(frame, "culture", "stss_total", n_boot=10)
    before = frame.copy()
    _org(frame)
    pd.testing.assert_frame_equal(frame, before)


# ----------------------------------------------------------------------------- recovery


def test_org_slope_recovers_known_slope_with_coverage():
    rng = np.random.default_rng(10)
    b, R = -4.0, 100
    rows = [_slope(_simulate(rng, b=b)) for _ in range(R)]
    est = np.array([r["estimate"] for r in rows])
    cover = np.mean([r["ci_low"] <= b <= r["ci_high"] for r in rows])
    assert abs(est.mean() - b) < 3 * est.std(ddof=1) / np.sqrt(R)
    assert cover >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / R)


def test_org_slope_false_positive_rate_under_null():
    rng = np.random.default_rng(11)
    R = 200
    p = np.array([_slope(_simulate(rng, b=0.0, G=24, m=10))["p_value"] for _ in range(R)])
    assert np.mean(p < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / R)


def test_mediation_recovers_indirect_effect_with_coverage():
    rng = np.random.default_rng(12)
    a, b, direct, R = 0.6, -4.0, -1.5, 100
    res = []
    for i in range(R):
        out = dose.mediation(
            _simulate(rng, G=40, m=10, a=a, b=b, direct=direct),
            "culture",
            "stss_total",
            n_boot=400,
            seed=i,
        ).set_index("estimator")
        res.append(out)
    ind = np.array([r.loc["med_indirect", "estimate"] for r in res])
    dirr = np.array([r.loc["med_direct", "estimate"] for r in res])
    assert abs(ind.mean() - a * b) < 3 * ind.std(ddof=1) / np.sqrt(R)
    assert abs(dirr.mean() - direct) < 3 * dirr.std(ddof=1) / np.sqrt(R)
    cover = np.mean(
        [r.loc["med_indirect", "ci_low"] <= a * b <= r.loc["med_indirect", "ci_high"] for r in res]
    )
    assert cover >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / R)
    r = res[0]
    assert r.loc["med_total", "estimate"] == pytest.approx(
        r.loc["med_direct", "estimate"] + r.loc["med_indirect", "estimate"]
    )
    assert "sequential ignorability" in r.loc["med_indirect", "note"]
    assert "not randomized" in r.loc["med_indirect", "note"]


def test_mediation_total_equals_weighted_difference_in_mean_change():
    frame = _simulate(np.random.default_rng(13), G=16, m=7)
    dp, dy, w = _hand_org_means(frame).T
    T = np.arange(16) < 8
    total = np.average(dy[T], weights=w[T]) - np.average(dy[~T], weights=w[~T])
    a = np.average(dp[T], weights=w[T]) - np.average(dp[~T], weights=w[~T])
    out = dose.mediation(frame, "culture", "stss_total", n_boot=200).set_index("estimator")
    assert out.loc["med_total", "estimate"] == pytest.approx(total, rel=1e-9)
    assert out.loc["med_a", "estimate"] == pytest.approx(a, rel=1e-9)
    again = dose.mediation(frame, "culture", "stss_total", n_boot=200).set_index("estimator")
    assert again.loc["med_indirect", "ci_low"] == out.loc["med_indirect", "ci_low"]  # seeded


def test_mediation_bootstrap_is_fast():
    frame = _simulate(np.random.default_rng(14), G=70, m=45)
    t0 = time.perf_counter()
    dose.mediation(frame, "culture", "stss_total", n_boot=1000)
    assert time.perf_counter() - t0 < 5.0


# ----------------------------------------------------------------------------- confounding


def _worker(frame, **kw):
    return dose.worker_dose_response(frame, "culture", "stss_total", **kw).set_index("estimator")


def test_time_varying_confounder_biases_org_slope_and_within_alike():
    """Orgs that improve practice also see caseloads fall (kappa > 0; caseload raises STS).

    The naive org slope is pushed below the truth by -g kappa / (1 + ...) ~ -2.4
    (it credits practice with the caseload relief); centring cannot remove a
    confounder that changes over time, so the within estimate is pushed the same
    way; adjusting for the measured caseload change recovers b.
    """
    rng = np.random.default_rng(20)
    b, R = -4.0, 12
    naive, adj, within = [], [], []
    for _ in range(R):
        f = _simulate(rng, b=b, kappa=0.8, g=3.0, m=10)
        naive.append(_slope(f)["estimate"])
        adj.append(_slope(f, covariates=["caseload"])["estimate"])
        within.append(_worker(f).loc["dose_within", "estimate"])
    naive, adj, within = map(np.array, (naive, adj, within))
    se = lambda x: x.std(ddof=1) / np.sqrt(R)  # noqa: E731
    assert naive.mean() < b - 4 * se(naive)  # biased toward "more benefit"
    assert within.mean() < b - 4 * se(within)
    assert abs(adj.mean() - b) < 3 * se(adj)


def test_stable_confounder_biases_between_not_within():
    """Orgs with better practice to begin with have lower STS for other reasons."""
    rng = np.random.default_rng(21)
    b, R = -4.0, 12
    between, within, org = [], [], []
    for _ in range(R):
        f = _simulate(rng, b=b, stable=-10.0, m=10)
        w = _worker(f)
        between.append(w.loc["dose_between", "estimate"])
        within.append(w.loc["dose_within", "estimate"])
        org.append(_slope(f)["estimate"])
    between, within, org = map(np.array, (between, within, org))
    se = lambda x: x.std(ddof=1) / np.sqrt(R)  # noqa: E731
    assert between.mean() < b - 4 * se(between)
    assert abs(within.mean() - b) < 3 * se(within)
    assert abs(org.mean() - b) < 3 * se(org)  # change-on-change also removes it


def test_worker_rows_and_words():
    f = _simulate(np.random.default_rng(22), G=12, m=8)
    out = dose.worker_dose_response(f, "culture", "stss_total")
    assert list(out["estimator"]) == ["dose_between", "dose_within", "dose_worker"]
    assert out["es_description"].str.contains("association").all()
    assert "speaks to change" in out.set_index("estimator").loc["dose_within", "es_description"]
    assert not out["es_description"].str.contains(" effect of").any()
    assert (out["n_orgs"] == 12).all()
    # Balanced two-wave panel: the within-organization coefficient (wave fixed effect,
    # worker and org intercepts, centred practice) is the org change-on-change slope.
    within = out.set_index("estimator").loc["dose_within", "estimate"]
    assert within == pytest.approx(_slope(f)["estimate"], rel=1e-6)


def test_noisy_practice_change_shrinks_the_slope_and_reliability_says_by_how_much():
    """Raters' noise N(0, 1) per worker and wave, 10 workers per org: the org practice
    change has noise variance 2/10 = 0.2. The arm is held fixed, so the slope uses the
    within-arm variance of the true change, 0.3^2 = 0.09: reliability 0.09/0.29 = 0.31
    and the slope shrinks from -4 to about -1.24."""
    rng = np.random.default_rng(30)
    outs = [
        _org(_simulate(rng, b=-4.0, m=10, rater_sd=1.0)).set_index("estimator") for _ in range(40)
    ]
    rows = [o.loc["dose_org"] for o in outs]
    rel = np.array([r["reliability"] for r in rows])
    est = np.array([r["estimate"] for r in rows])
    lam = 0.09 / 0.29
    assert abs(rel.mean() - lam) < 0.06
    assert abs(est.mean() - lam * -4.0) < 3 * est.std(ddof=1) / np.sqrt(40)
    assert "slope shrunk toward 0" in rows[0]["note"]
    corrected = outs[0].loc["dose_org_corrected"]
    for c in ("estimate", "se", "ci_low", "ci_high"):
        assert corrected[c] == pytest.approx(rows[0][c] / rel[0], rel=1e-12)
    assert corrected["p_value"] == rows[0]["p_value"]
    clean = _slope(_simulate(rng, b=-4.0))
    assert clean["reliability"] > 0.9 and "shrunk" not in clean["note"]


# ----------------------------------------------------------------------------- on a study


def test_study_path_table_and_mediation(shipped_synthetic):
    from stseval.study import Study

    study = Study.from_dir(shipped_synthetic / "small")
    area = study.interventions["area"].iloc[0]
    arms = reshape.arms(study, area)
    out = dose.org_dose_response(study, area, "stss_total", min_cell=2)
    row = out[out["estimator"] == "dose_org"].iloc[0]
    assert row["practice"] == f"org_guidance_{area}" and row["wave"] == study.waves[1]
    assert 3 <= row["n_orgs"] <= len(arms)
    table = dose.dose_table(study, areas=[area], outcomes=["stss_total"], min_cell=2)
    assert list(table.columns) == dose.DOSE_COLUMNS
    assert set(table["estimator"]) >= {"dose_org", "dose_bin", "dose_within", "dose_between"}
    med = dose.mediation(study, area, "stss_total", n_boot=200, min_cell=2)
    assert list(med["estimator"]) == ["med_a", "med_b", "med_indirect", "med_direct", "med_total"]
    assert med["note"].str.contains("sequential ignorability").all()
    with pytest.raises(UsageError, match="two waves"):
        dose.org_dose_response(study, area, "stss_total", waves=("pre", "later"))
