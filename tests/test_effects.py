"""Tests of stseval.effects against published examples and hand computations.

Expected numbers are computed here from the textbook formulas (or copied from the
cited publication), never by calling the module's private helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stseval import effects
from stseval.columns import EFFECT_SIZE_COLUMNS
from stseval.errors import EstimationWarning, UsageError

# Lakens (2013, doi:10.3389/fpsyg.2013.00863), Table 1: ratings of two movies by the
# same 10 people. Published summaries: M 8.7 / 7.7, SD 0.82 / 0.95, r = .726,
# t(9) = 4.74, d_av = 1.13.
MOVIE_1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
MOVIE_2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]


def _rows(table):
    return table.set_index("es_type")


# ----------------------------------------------------------------------------- paired
def test_lakens_2013_movie_example_by_hand():
    # Hand computation (Lakens 2013, Table 1 data, change = Movie 1 - Movie 2):
    # differences 0,1,1,1,1,0,1,2,1,2 -> mean 1, SS 4, SD = sqrt(4/9) = 2/3, d_z = 1.5.
    # SS(Movie 1) = 6.1, SS(Movie 2) = 8.1, cross-products SP = 5.1.
    t = _rows(effects.paired(MOVIE_2, MOVIE_1))
    sd1, sd2 = math.sqrt(6.1 / 9), math.sqrt(8.1 / 9)
    r = 5.1 / math.sqrt(6.1 * 8.1)
    assert t.loc["d_z", "n"] == 10
    assert t.loc["d_z", "r"] == pytest.approx(r, rel=1e-12)
    assert t.loc["d_z", "effect_size"] == pytest.approx(1.5, rel=1e-12)
    assert t.loc["d_rm", "effect_size"] == pytest.approx(1.5 * math.sqrt(2 * (1 - r)), rel=1e-12)
    assert t.loc["d_av", "effect_size"] == pytest.approx(1 / ((sd1 + sd2) / 2), rel=1e-12)
    assert t.loc["d_b", "effect_size"] == pytest.approx(1 / sd2, rel=1e-12)  # pre = Movie 2
    j = 1 - 3 / (4 * 9 - 1)
    for k in ("z", "rm", "av", "b"):
        assert t.loc[f"g_{k}", "effect_size"] == pytest.approx(j * t.loc[f"d_{k}", "effect_size"])
    # Published rounded values of Lakens (2013).
    assert round(sd1, 2) == 0.82 and round(sd2, 2) == 0.95 and round(r, 3) == 0.726
    assert round(t.loc["d_av", "effect_size"], 2) == 1.13
    assert round(t.loc["d_z", "mean_change"] / t.loc["d_z", "se_change"], 2) == 4.74
    # Mean change with its paired-t interval: 1 +/- t(.975, 9) * (2/3)/sqrt(10).
    half = stats.t.ppf(0.975, 9) * (2 / 3) / math.sqrt(10)
    assert t.loc["d_z", "change_ci_low"] == pytest.approx(1 - half)
    assert t.loc["d_z", "change_ci_high"] == pytest.approx(1 + half)


def test_paired_columns_and_descriptions():
    t = effects.paired(MOVIE_2, MOVIE_1)
    assert list(t.columns[:6]) == ["es_type", "effect_size", "ci_low", "ci_high", "method", "n"]
    assert EFFECT_SIZE_COLUMNS == list(t.columns[:6])
    assert list(t["es_type"]) == ["d_z", "d_rm", "d_av", "d_b", "g_z", "g_rm", "g_av", "g_b"]
    desc = t.set_index("es_type")["description"]
    assert desc["g_av"] == (
        "g_av: mean change / mean of pre and post SD, Hedges-corrected (J = 1 - 3/(4(n - 1) - 1))"
    )
    assert desc["d_z"] == "d_z: mean change / SD of the changes"
    assert t["method"].str.len().gt(20).all()


def test_d_z_interval_inverts_the_noncentral_t():
    # Defining property (Steiger & Fouladi 1997): at the limits, the noncentral t with
    # ncp = limit * sqrt(n) puts the observed t at the 97.5% / 2.5% quantile.
    t = _rows(effects.paired(MOVIE_2, MOVIE_1))
    t_obs, n = 1.5 * math.sqrt(10), 10
    assert stats.nct.cdf(t_obs, 9, t.loc["d_z", "ci_low"] * math.sqrt(n)) == pytest.approx(0.975)
    assert stats.nct.cdf(t_obs, 9, t.loc["d_z", "ci_high"] * math.sqrt(n)) == pytest.approx(0.025)
    # the g_z row reports the same interval for delta_z
    assert t.loc["g_z", "ci_low"] == t.loc["d_z", "ci_low"]


def test_bonett_statpsych_single_sd_standardizer():
    # Bonett (2008, doi:10.1037/1082-989X.13.2.99) as documented for statpsych's
    # ci.stdmean.ps(.05, 110.4, 102.1, 15.3, 14.6, .75, 25): "Measurement 1
    # standardizer: 0.5424837 (adj 0.5253526) SE 0.1615500 LL 0.2258515 UL 0.8591158".
    # statpsych reports m1 - m2; our change is post - pre, so the sign flips.
    t = _rows(effects.paired_from_summary(110.4, 15.3, 102.1, 14.6, 25, 0.75))
    assert t.loc["d_b", "effect_size"] == pytest.approx(-0.5424837, abs=1e-7)
    assert t.loc["g_b", "effect_size"] == pytest.approx(-0.5253526, abs=1e-7)
    assert t.loc["d_b", "ci_low"] == pytest.approx(-0.8591158, abs=1e-7)
    assert t.loc["d_b", "ci_high"] == pytest.approx(-0.2258515, abs=1e-7)
    # Second documented example: ci.stdmean.ps(.05, 602.4, 705.6, 33.17, 51.08, .769, 8):
    # "Measurement 1 standardizer: -3.1112 (adj -2.7656) SE 0.91362 LL -4.9019 UL -1.3206".
    t = _rows(effects.paired_from_summary(602.4, 33.17, 705.6, 51.08, 8, 0.769))
    assert t.loc["d_b", "effect_size"] == pytest.approx(3.1112, abs=1e-4)
    assert t.loc["g_b", "effect_size"] == pytest.approx(2.7656, abs=1e-4)
    assert t.loc["d_b", "ci_low"] == pytest.approx(1.3206, abs=1e-4)
    assert t.loc["d_b", "ci_high"] == pytest.approx(4.9019, abs=1e-4)


def test_d_av_and_d_rm_intervals_by_hand():
    m1, s1, m2, s2, n, r = 20.0, 6.0, 17.0, 5.0, 30, 0.6
    t = _rows(effects.paired_from_summary(m1, s1, m2, s2, n, r))
    z = stats.norm.ppf(0.975)
    vd = s1**2 + s2**2 - 2 * r * s1 * s2
    # d_av: delta method for mean change / ((s1 + s2)/2), Bonett's (n - 1) divisors.
    s = (s1 + s2) / 2
    d = (m2 - m1) / s
    se = math.sqrt(
        d**2 * (s1**2 + s2**2 + 2 * r**2 * s1 * s2) / (8 * (n - 1) * s**2) + vd / ((n - 1) * s**2)
    )
    assert t.loc["d_av", "effect_size"] == pytest.approx(d)
    assert t.loc["d_av", "ci_low"] == pytest.approx(d - z * se)
    assert t.loc["d_av", "ci_high"] == pytest.approx(d + z * se)
    # d_rm: Morris & DeShon (2002, doi:10.1037/1082-989X.7.1.105), Table 2 raw-score
    # metric variance, evaluated at the bias-corrected g_rm.
    c = 1 - 3 / (4 * (n - 1) - 1)
    d_rm = (m2 - m1) / math.sqrt(vd) * math.sqrt(2 * (1 - r))
    g = c * d_rm
    var = (2 * (1 - r) / n) * ((n - 1) / (n - 3)) * (1 + n * g**2 / (2 * (1 - r))) - g**2 / c**2
    assert t.loc["d_rm", "effect_size"] == pytest.approx(d_rm)
    width = t.loc["d_rm", "ci_high"] - t.loc["d_rm", "ci_low"]
    assert width == pytest.approx(2 * z * math.sqrt(var))


def test_d_av_equals_bonett_unweighted_standardizer_when_sds_are_equal():
    # With s1 == s2 the mean of the SDs equals Bonett's sqrt((s1^2 + s2^2)/2); his
    # paired-samples SE is then sqrt(d^2 (1 + r^2) / (4 (n-1)) + 2 (1 - r) / (n - 1)).
    n, r = 25, 0.5
    t = _rows(effects.paired_from_summary(10.0, 4.0, 12.0, 4.0, n, r))
    d = 0.5
    se = math.sqrt(d**2 * (1 + r**2) / (4 * (n - 1)) + 2 * (1 - r) / (n - 1))
    assert t.loc["d_av", "ci_low"] == pytest.approx(d - stats.norm.ppf(0.975) * se)


def test_paired_from_summary_matches_raw_data():
    rng = np.random.default_rng(7)
    pre = rng.normal(40, 8, 37)
    post = 0.6 * pre + rng.normal(12, 6, 37)
    raw = effects.paired(pre, post, confidence=0.9)
    summ = effects.paired_from_summary(
        pre.mean(),
        pre.std(ddof=1),
        post.mean(),
        post.std(ddof=1),
        37,
        np.corrcoef(pre, post)[0, 1],
        confidence=0.9,
    )
    num = raw.select_dtypes("number").columns
    np.testing.assert_allclose(raw[num].to_numpy(float), summ[num].to_numpy(float), rtol=1e-10)
    assert (raw["method"] == summ["method"]).all()


def test_paired_drops_incomplete_pairs_and_keeps_caller_data():
    pre = pd.Series([10.0, 12, np.nan, 9, 14, 11, 13])
    post = pd.Series([8.0, 11, 7, None, 12, 10, 9])
    before = pre.copy()
    t = effects.paired(pre, post)
    expected = effects.paired([10, 12, 14, 11, 13], [8, 11, 12, 10, 9])
    assert (t["n"] == 5).all()
    np.testing.assert_allclose(t["effect_size"], expected["effect_size"])
    pd.testing.assert_series_equal(pre, before)


def test_d_z_interval_coverage_by_simulation():
    # 400 seeded samples of n = 20 pairs, true d_z = 0.5: the 95% CI should cover it
    # in about 380 of them; accept the central 99.8% binomial range.
    rng = np.random.default_rng(2013)
    n, reps, rho, shift = 20, 400, 0.5, 0.5
    true_dz = shift / math.sqrt(2 - 2 * rho)
    cov = [[1, rho], [rho, 1]]
    hits = 0
    for _ in range(reps):
        xy = rng.multivariate_normal([0, shift], cov, size=n)
        row = effects.paired(xy[:, 0], xy[:, 1]).iloc[0]
        assert row["es_type"] == "d_z"
        hits += row["ci_low"] <= true_dz <= row["ci_high"]
    lo, hi = stats.binom.ppf([0.001, 0.999], reps, 0.95)
    assert lo <= hits <= hi


# ----------------------------------------------------------------------------- two groups
def test_hedges_g_against_scipy_t_and_hand_variance():
    x = [12.0, 15, 11, 18, 14, 16, 13, 17]
    y = [10.0, 9, 14, 11, 8, 12, 10]
    t_stat = stats.ttest_ind(x, y).statistic
    n1, n2 = len(x), len(y)
    d = t_stat * math.sqrt(1 / n1 + 1 / n2)  # Cohen's d_s from the pooled t
    g = (1 - 3 / (4 * (n1 + n2 - 2) - 1)) * d
    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))  # Hedges & Olkin 1985
    row = effects.hedges_g(x, y).iloc[0]
    assert row["es_type"] == "g" and row["n"] == 15
    assert row["effect_size"] == pytest.approx(g)
    assert row["ci_low"] == pytest.approx(g - stats.norm.ppf(0.975) * se)
    assert row["ci_high"] == pytest.approx(g + stats.norm.ppf(0.975) * se)
    summ = effects.hedges_g_from_summary(
        np.mean(x), np.std(x, ddof=1), n1, np.mean(y), np.std(y, ddof=1), n2
    )
    assert summ["effect_size"].iloc[0] == pytest.approx(g)
    assert "Hedges & Olkin (1985)" in row["method"]


def test_morris_2008_study_5_and_eq_25_variance():
    # Morris (2008, doi:10.1177/1094428106291059), Table 5, Study 5 (data of Carlson &
    # Schmidt 1999 as listed on metafor-project.org/doku.php/analyses:morris2008):
    # treatment n 14, pre 35.6 (SD 4.7), post 36.0; control n 14, pre 34.8 (SD 3.1),
    # post 33.4; r = .44. Published d_ppc2 = 0.44.
    row = effects.ppc_from_summary(14, 35.6, 36.0, 4.7, 14, 34.8, 33.4, 3.1, r=0.44).iloc[0]
    assert round(row["effect_size"], 2) == 0.44
    # hand: SD_pre = sqrt((13*4.7^2 + 13*3.1^2)/26); c_p = 1 - 3/(4*26 - 1)
    sd = math.sqrt((13 * 4.7**2 + 13 * 3.1**2) / 26)
    c_p = 1 - 3 / 103
    d = c_p * ((36.0 - 35.6) - (33.4 - 34.8)) / sd
    assert row["effect_size"] == pytest.approx(d)
    k, r = 28 / 196, 0.44
    var = 2 * c_p**2 * (1 - r) * k * (26 / 24) * (1 + d**2 / (2 * (1 - r) * k)) - d**2
    assert row["se"] == pytest.approx(math.sqrt(var))
    assert row["ci_low"] == pytest.approx(d - stats.norm.ppf(0.975) * math.sqrt(var))


def test_ppc_without_r_gives_no_interval():
    row = effects.ppc_from_summary(14, 35.6, 36.0, 4.7, 14, 34.8, 33.4, 3.1).iloc[0]
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert "give r" in row["method"]


def test_ppc_raw_data_uses_pooled_within_group_correlation():
    rng = np.random.default_rng(3)
    pre_t, pre_c = rng.normal(30, 5, 25), rng.normal(32, 6, 22)
    post_t, post_c = pre_t * 0.7 + rng.normal(5, 4, 25), pre_c * 0.7 + rng.normal(10, 4, 22)
    # hand: correlation of group-mean-centred scores (pooled within-group r)
    cx = np.concatenate([pre_t - pre_t.mean(), pre_c - pre_c.mean()])
    cy = np.concatenate([post_t - post_t.mean(), post_c - post_c.mean()])
    r = (cx * cy).sum() / math.sqrt((cx**2).sum() * (cy**2).sum())
    got = effects.ppc(pre_t, post_t, pre_c, post_c).iloc[0]
    want = effects.ppc_from_summary(
        25,
        pre_t.mean(),
        post_t.mean(),
        pre_t.std(ddof=1),
        22,
        pre_c.mean(),
        post_c.mean(),
        pre_c.std(ddof=1),
        r=r,
    ).iloc[0]
    assert got["r"] == pytest.approx(r)
    assert got["effect_size"] == pytest.approx(want["effect_size"])
    assert got["ci_low"] == pytest.approx(want["ci_low"])


# ----------------------------------------------------------------------------- reliable change
def test_rci_hand_computation_jacobson_truax_and_jfr():
    # Jacobson & Truax (1991): SE = 7.5 sqrt(1 - .88) = 2.598; S_diff = sqrt(2) SE = 3.674;
    # a change of -10 gives RCI = -2.72 (< -1.96: reliable improvement when lower is better).
    pre = pd.Series([30.0, 28, 20, np.nan, 25], index=["a", "b", "c", "d", "e"])
    post = [20.0, 29, 31, 10, 23]
    rc = effects.reliable_change(pre, post, reliability=0.88, sd_pre=7.5, cutoff=25)
    s_diff = 7.5 * math.sqrt(2 * 0.12)
    assert list(rc.index) == ["a", "b", "c", "d", "e"]
    assert list(rc.columns) == [
        "pre",
        "post",
        "change",
        "rci",
        "reliable",
        "category",
        "crossed_cutoff",
        "recovered",
    ]
    assert rc.loc["a", "rci"] == pytest.approx(-10 / s_diff)
    assert round(rc.loc["a", "rci"], 2) == -2.72
    assert list(rc["category"].iloc[[0, 1, 2, 4]]) == [
        "reliably improved",
        "no reliable change",
        "reliably deteriorated",
        "no reliable change",
    ]
    assert rc.loc["a", "crossed_cutoff"] and rc.loc["a", "recovered"]
    # e crosses the cutoff (25 -> 23; 25 counts as dysfunctional) but not reliably
    assert rc.loc["e", "crossed_cutoff"] and not rc.loc["e", "recovered"]
    assert pd.isna(rc.loc["d", "rci"]) and pd.isna(rc.loc["d", "category"])
    assert pd.isna(rc.loc["d", "reliable"])
    # Jacobson, Follette & Revenstorf (1984): divide by SE of measurement, not of difference.
    jfr = effects.reliable_change(
        pre, post, reliability=0.88, sd_pre=7.5, method="jacobson_follette_revenstorf_1984"
    )
    assert jfr.loc["a", "rci"] == pytest.approx(-10 / (7.5 * math.sqrt(0.12)))
    assert jfr["recovered"].isna().all()


def test_rci_direction_and_default_sd():
    pre, post = [10.0, 20, 30, 40], [25.0, 20, 30, 38]
    rc = effects.reliable_change(pre, post, reliability=0.9, lower_is_better=False)
    sd = np.std(pre, ddof=1)  # default: SD of the pre scores given
    assert rc["rci"].iloc[0] == pytest.approx(15 / (sd * math.sqrt(2 * 0.1)))
    assert rc["category"].iloc[0] == "reliably improved"


def test_jacobson_truax_cutoff_c_by_hand():
    # c = (sd_func * m_dys + sd_dys * m_func) / (sd_func + sd_dys) = (4*30 + 6*15)/10 = 21
    assert effects.jacobson_truax_cutoff_c(30, 6, 15, 4) == pytest.approx(21.0)


def test_reliable_change_summary_wilson_by_hand():
    cats = (
        ["reliably improved"] * 6
        + ["no reliable change"] * 3
        + [None]
        + ["reliably deteriorated"] * 1
        + ["reliably improved"] * 2
    )
    groups = ["A"] * 10 + ["B"] * 3
    out = effects.reliable_change_summary(cats, groups)
    assert list(out.columns) == [
        "group",
        "category",
        "count",
        "n",
        "proportion",
        "ci_low",
        "ci_high",
    ]
    a = out[out["group"] == "A"].set_index("category")
    assert a.loc["reliably improved", "n"] == 9  # the missing label is left out
    assert a.loc["reliably deteriorated", "count"] == 0
    # Wilson score interval by hand for 6 of 9
    z, n, p = stats.norm.ppf(0.975), 9, 6 / 9
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert a.loc["reliably improved", "ci_low"] == pytest.approx(centre - half)
    assert a.loc["reliably improved", "ci_high"] == pytest.approx(centre + half)
    # a reliable_change() table is accepted directly; no groups -> "all"
    rc = effects.reliable_change([30.0, 20, 25], [20.0, 21, 35], reliability=0.88, sd_pre=7.5)
    whole = effects.reliable_change_summary(rc)
    assert set(whole["group"]) == {"all"} and whole["count"].sum() == 3


# ----------------------------------------------------------------------------- zero variance
def test_paired_constant_change_gives_no_d_z_but_keeps_d_av():
    # Every change is 0.1, but in floating point SD(post - pre) is ~1e-17, not 0:
    # d_z was 2e15 (issue 9). Hand values: SD_pre = SD_post = sqrt(0.2075 / 3).
    pre, post = [0.1, 0.2, 0.3, 0.7], [0.2, 0.3, 0.4, 0.8]
    with pytest.warns(EstimationWarning, match="same for every pair"):
        out = effects.paired(pre, post).set_index("es_type")
    for code in ("d_z", "g_z", "d_rm", "g_rm"):
        assert np.isnan(out.loc[code, "effect_size"]) and np.isnan(out.loc[code, "ci_low"])
        assert "same for every pair" in out.loc[code, "note"]
    sd = math.sqrt(0.2075 / 3)
    assert out.loc["d_av", "effect_size"] == pytest.approx(0.1 / sd, rel=1e-9)
    assert out.loc["d_b", "effect_size"] == pytest.approx(0.1 / sd, rel=1e-9)
    assert out.loc["g_av", "effect_size"] == pytest.approx((1 - 3 / 11) * 0.1 / sd, rel=1e-9)
    assert out.loc["d_av", "note"] == ""
    assert np.isfinite(out.loc["d_av", "ci_low"])


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: effects.paired([1, 2, 3, 4], [1, 2, 3]), "same length"),
        (lambda: effects.paired([1, 2, 3], [2, 3, 5]), "at least 4 complete pairs"),
        (lambda: effects.paired([1, 2, "x", 4], [1, 2, 3, 5]), "pre must be numeric"),
        (lambda: effects.paired([1, 2, 3, 4], 5), "post must be a sequence"),
        (lambda: effects.paired([1, 2, 3, 4], [5, 5, 5, 5]), "post scores have no variance"),
        (lambda: effects.paired([0.3] * 4, [0.1, 0.2, 0.4, 0.5]), "pre scores have no variance"),
        (lambda: effects.paired([1, 2, 3, 4], [1, 2, 3, 5], confidence="0.9"), "confidence"),
        (lambda: effects.paired([1, 2, 3, 4], [2, 3, 4, 6], confidence=95), "confidence"),
        (lambda: effects.paired_from_summary(1, 1, 2, 1, 10, 1.2), "r .*between -1 and 1"),
        (lambda: effects.paired_from_summary(1, -1, 2, 1, 10, 0.5), "sd_pre"),
        (lambda: effects.paired_from_summary(1, 1, 2, 1, 2.5, 0.5), "n must be a whole number"),
        (lambda: effects.hedges_g([1], [1, 2, 3]), "x needs at least 2"),
        (lambda: effects.ppc_from_summary(1, 1, 2, 1, 10, 1, 1, 1), "n_t"),
        (lambda: effects.reliable_change([1, 2], [1, 2], reliability=1.2), "reliability"),
        (lambda: effects.reliable_change([1, 2], [1, 2], reliability=0), "reliability"),
        (lambda: effects.reliable_change([1, 2], [1, 2, 3], reliability=0.8), "same length"),
        (lambda: effects.reliable_change([1, 2], [1, 2], reliability=0.8, method="rc"), "method"),
        (lambda: effects.reliable_change_summary(["a"], ["x", "y"]), "same length"),
        (lambda: effects.jacobson_truax_cutoff_c(30, 0, 15, 4), "sd_dys"),
    ],
)
def test_bad_input_raises_usage_error(call, match):
    with pytest.raises(UsageError, match=match):
        call()
