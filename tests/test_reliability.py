"""Reference tests for stseval.reliability (hand-worked values and simulations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.multivariate.factor import Factor

from stseval.columns import RELIABILITY_COLUMNS
from stseval.errors import DataValidationError, UsageError
from stseval.reliability import (
    ALPHA_COLUMNS,
    FLOOR_CEILING_COLUMNS,
    ICC_COLUMNS,
    ITEM_STATS_COLUMNS,
    RWG_COLUMNS,
    alpha,
    icc,
    item_stats,
    omega,
    rwg,
    scale_floor_ceiling,
)

# Hand-worked table: 5 respondents x 3 items on a 1-5 scale.
#   item a: 1 2 3 4 5   mean 3.0  SS 10.0  var 2.5
#   item b: 2 3 3 5 5   mean 3.6  SS  7.2  var 1.8
#   item c: 2 3 4 4 5   mean 3.6  SS  5.2  var 1.3
#   total : 5 8 10 13 15  mean 10.2  SS 62.8  var 15.7
# alpha = k/(k-1) * (1 - sum var_i / var_total) = 3/2 * (1 - 5.6/15.7) = 303/314
TABLE = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 3, 3, 5, 5], "c": [2, 3, 4, 4, 5]})
TABLE_ALPHA = 303 / 314


def _parallel(rng, n, k, loading):
    """Standardized parallel items: x_i = loading * f + sqrt(1 - loading^2) * e_i."""
    f = rng.standard_normal((n, 1))
    return loading * f + np.sqrt(1 - loading**2) * rng.standard_normal((n, k))


def _one_factor(rng, n, loadings):
    f = rng.standard_normal((n, 1))
    loadings = np.asarray(loadings)
    return f * loadings + rng.standard_normal((n, len(loadings))) * np.sqrt(1 - loadings**2)


# --------------------------------------------------------------------------- alpha


def test_columns_extend_the_vocabulary():
    # stseval/columns.py fixes the first columns of alpha/omega results.
    assert RELIABILITY_COLUMNS == ["estimate", "ci_low", "ci_high", "n"]  # typed out
    assert ALPHA_COLUMNS == ["estimate", "ci_low", "ci_high", "n", "k", "method"]


def test_alpha_hand_worked_table():
    # Source: hand computation in the TABLE comment above (Cronbach 1951 formula).
    before = TABLE.copy()
    out = alpha(TABLE)
    assert list(out.columns) == ALPHA_COLUMNS and len(out) == 1
    row = out.iloc[0]
    assert row["estimate"] == pytest.approx(TABLE_ALPHA, abs=1e-12)
    assert row["n"] == 5 and row["k"] == 3
    assert "Feldt" in row["method"] and "listwise" in row["method"]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    pd.testing.assert_frame_equal(TABLE, before)


def test_alpha_matches_mean_covariance_form_on_random_data():
    # Independent formula: alpha = k cbar / (vbar + (k-1) cbar), cbar = mean
    # off-diagonal covariance, vbar = mean item variance (Cronbach 1951, eq. 16 form).
    rng = np.random.default_rng(11)
    x = _one_factor(rng, 80, [0.7, 0.5, 0.6, 0.3, 0.8, 0.4]) * [1, 2, 0.5, 3, 1, 1.5]
    cov = np.cov(x, rowvar=False)
    k = cov.shape[0]
    vbar = np.trace(cov) / k
    cbar = (cov.sum() - np.trace(cov)) / (k * (k - 1))
    expected = k * cbar / (vbar + (k - 1) * cbar)
    assert alpha(pd.DataFrame(x)).at[0, "estimate"] == pytest.approx(expected, rel=1e-12)


def test_alpha_feldt_ci_against_scipy_f():
    # Feldt (1965): (1 - alpha) / (1 - a) ~ F(n-1, (n-1)(k-1)); computed here directly.
    rng = np.random.default_rng(3)
    x = pd.DataFrame(_parallel(rng, 40, 4, 0.6))
    for conf in (0.90, 0.95, 0.99):
        row = alpha(x, confidence=conf).iloc[0]
        a, n, k = row["estimate"], 40, 4
        df1, df2 = n - 1, (n - 1) * (k - 1)
        q = (1 - conf) / 2
        assert row["ci_low"] == pytest.approx(1 - (1 - a) * stats.f.ppf(1 - q, df1, df2))
        assert row["ci_high"] == pytest.approx(1 - (1 - a) * stats.f.ppf(q, df1, df2))
        assert row["ci_low"] < a < row["ci_high"]


def test_alpha_feldt_ci_coverage_on_parallel_items():
    # Population alpha of k parallel standardized items with inter-item r = l^2:
    # k r / (1 + (k-1) r) (Spearman-Brown). Feldt's interval is exact for normal
    # parallel items, so coverage should be Binomial(300, 0.95).
    rng = np.random.default_rng(2024)
    k, load, n, reps = 5, 0.6, 50, 300
    r = load**2
    pop = k * r / (1 + (k - 1) * r)
    hits = 0
    for _ in range(reps):
        row = alpha(pd.DataFrame(_parallel(rng, n, k, load))).iloc[0]
        hits += row["ci_low"] <= pop <= row["ci_high"]
    lo, hi = stats.binom.interval(0.999, reps, 0.95)
    assert lo <= hits <= hi


def test_alpha_listwise_deletion():
    # Listwise: a row with a missing item is dropped and n counts rows used.
    x = pd.concat([TABLE, pd.DataFrame({"a": [3.0], "b": [np.nan], "c": [1.0]})], ignore_index=True)
    before = x.copy()
    row = alpha(x).iloc[0]
    assert row["n"] == 5
    assert row["estimate"] == pytest.approx(TABLE_ALPHA)
    pd.testing.assert_frame_equal(x, before)


def test_alpha_zero_variance_total_warns_nan():
    # Items that cancel out: a + b is constant, so the total has no variance.
    x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [4, 3, 2, 1]})
    with pytest.warns(RuntimeWarning, match="zero variance"):
        out = alpha(x)
    assert out[["estimate", "ci_low", "ci_high"]].isna().all(axis=None)


@pytest.mark.parametrize(
    "frame, match",
    [
        (pd.DataFrame({"a": [1, 2, 3]}), "at least 2 item columns"),
        (pd.DataFrame({"a": [1, 2, np.nan, 4], "b": [1, np.nan, 3, 4]}), "at least 3 rows"),
        (pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), "non-numeric column.*b"),
        (np.ones((5, 3)), "must be a pandas DataFrame"),
    ],
)
def test_alpha_errors(frame, match):
    with pytest.raises(UsageError, match=match):
        alpha(frame)


def test_alpha_bad_confidence():
    with pytest.raises(UsageError, match="confidence must be a number between 0 and 1"):
        alpha(TABLE, confidence=95)


# --------------------------------------------------------------------------- omega


def test_omega_close_to_population_value():
    # Population omega for standardized one-factor items (McDonald 1999):
    # (sum l)^2 / ((sum l)^2 + sum(1 - l^2)).
    load = np.array([0.8, 0.7, 0.6, 0.5, 0.4, 0.7])
    pop = load.sum() ** 2 / (load.sum() ** 2 + (1 - load**2).sum())
    rng = np.random.default_rng(5)
    z = _one_factor(rng, 3000, load)
    x = pd.DataFrame(z * [1, 2, 3, 0.5, 1, 4])
    before = x.copy()
    assert omega(pd.DataFrame(z)).at[0, "estimate"] == pytest.approx(pop, abs=0.025)
    # Rescaled items c_i * z_i (the unweighted sum of raw items): loadings c_i l_i,
    # uniquenesses c_i^2 (1 - l_i^2) on the covariance scale.
    c = np.array([1, 2, 3, 0.5, 1, 4])
    pop_raw = (c * load).sum() ** 2 / ((c * load).sum() ** 2 + (c**2 * (1 - load**2)).sum())
    out = omega(x)
    assert list(out.columns) == ALPHA_COLUMNS
    row = out.iloc[0]
    assert row["estimate"] == pytest.approx(pop_raw, abs=0.025)
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert row["n"] == 3000 and row["k"] == 6 and "n_boot=0" in row["method"]
    pd.testing.assert_frame_equal(x, before)


def test_omega_equals_alpha_on_tau_equivalent_data():
    # Tau-equivalent items (equal covariance-scale loadings, unequal error
    # variances): population omega == population alpha (McDonald 1999, ch. 6).
    rng = np.random.default_rng(8)
    n = 3000
    f = rng.standard_normal((n, 1))
    x = pd.DataFrame(f + rng.standard_normal((n, 5)) * np.sqrt([0.5, 1.0, 1.5, 2.0, 0.8]))
    assert omega(x).at[0, "estimate"] == pytest.approx(alpha(x).at[0, "estimate"], abs=0.01)


def test_omega_matches_statsmodels_ml_loadings():
    # Independent ML fit: statsmodels Factor(method="ml") on the correlation
    # matrix, rescaled by item SDs, plugged into the omega formula.
    rng = np.random.default_rng(21)
    x = _one_factor(rng, 400, [0.75, 0.6, 0.5, 0.65, 0.4]) * [2, 1, 1, 3, 0.5]
    r = np.corrcoef(x, rowvar=False)
    fit = Factor(corr=r, n_factor=1, method="ml", nobs=len(x)).fit()
    sd = x.std(axis=0, ddof=1)
    lam = np.abs(fit.loadings.ravel()) * sd
    psi = fit.uniqueness * sd**2
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    assert omega(pd.DataFrame(x)).at[0, "estimate"] == pytest.approx(expected, abs=1e-5)


def test_omega_bootstrap_ci_seeded():
    rng = np.random.default_rng(9)
    x = pd.DataFrame(_one_factor(rng, 150, [0.7, 0.6, 0.5, 0.6]))
    a = omega(x, n_boot=150, random_state=1).iloc[0]
    b = omega(x, n_boot=150, random_state=1).iloc[0]
    c = omega(x, n_boot=150, random_state=2).iloc[0]
    assert a["ci_low"] < a["estimate"] < a["ci_high"]
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])
    assert "bootstrap, 150 resamples" in a["method"]


def test_omega_heywood_case_warns():
    # Correlations r_0j = 0.8, r_ij = 0.5 imply lambda_0^2 = 0.8^2 / 0.5 = 1.28 > 1
    # under one factor, so the ML uniqueness of item 0 sits on its bound.
    r = np.full((4, 4), 0.5)
    r[0, :] = r[:, 0] = 0.8
    np.fill_diagonal(r, 1.0)
    x = pd.DataFrame(np.random.default_rng(0).multivariate_normal(np.zeros(4), r, size=500))
    with pytest.warns(RuntimeWarning, match="Heywood"):
        est = omega(x).at[0, "estimate"]
    assert 0 < est < 1


def test_omega_errors():
    with pytest.raises(UsageError, match="at least 3 item columns"):
        omega(TABLE[["a", "b"]])
    with pytest.raises(UsageError, match="n_boot must be a non-negative integer"):
        omega(TABLE, n_boot=-1)
    x = TABLE.assign(d=3)
    with pytest.warns(RuntimeWarning, match="undefined"):
        assert np.isnan(omega(x).at[0, "estimate"])


# --------------------------------------------------------------------------- item stats


def test_item_stats_hand_worked_table():
    # Hand computation on TABLE (see module comment):
    # item a: rest = b+c = 4 6 7 9 10, SS_rest 22.8, cross-products 15
    #   r = 15 / sqrt(10 * 22.8); alpha without a (b, c: vars 1.8, 1.3, var(b+c) 5.7)
    #   = 2 * (1 - 3.1/5.7) = 52/57
    # item b: rest = a+c = 3 5 7 8 10, SS 29.2, cross 13.2
    #   r = 13.2 / sqrt(7.2 * 29.2); alpha without b = 2 * (1 - 3.8/7.3) = 70/73
    # item c: rest = a+b = 3 5 6 9 10, SS 33.2, cross 12.2
    #   r = 12.2 / sqrt(5.2 * 33.2); alpha without c = 2 * (1 - 4.3/8.3) = 80/83
    # floor (=1) / ceiling (=5) shares: a 1/5, 1/5; b 0, 2/5; c 0, 1/5.
    before = TABLE.copy()
    out = item_stats(TABLE, min_value=1, max_value=5)
    assert list(out.columns) == ITEM_STATS_COLUMNS
    assert out["item"].tolist() == ["a", "b", "c"]
    assert out["n"].tolist() == [5, 5, 5]
    np.testing.assert_allclose(out["mean"], [3.0, 3.6, 3.6])
    np.testing.assert_allclose(out["sd"], np.sqrt([2.5, 1.8, 1.3]))
    np.testing.assert_allclose(
        out["item_total_r"],
        [15 / np.sqrt(10 * 22.8), 13.2 / np.sqrt(7.2 * 29.2), 12.2 / np.sqrt(5.2 * 33.2)],
    )
    np.testing.assert_allclose(out["alpha_if_deleted"], [52 / 57, 70 / 73, 80 / 83])
    np.testing.assert_allclose(out["floor_share"], [0.2, 0.0, 0.0])
    np.testing.assert_allclose(out["ceiling_share"], [0.2, 0.4, 0.2])
    pd.testing.assert_frame_equal(TABLE, before)


def test_item_stats_without_range_has_nan_floor_ceiling():
    out = item_stats(TABLE)
    assert out["floor_share"].isna().all() and out["ceiling_share"].isna().all()


def test_item_stats_errors():
    with pytest.raises(UsageError, match="min_value and max_value must be given together"):
        item_stats(TABLE, min_value=1)
    with pytest.raises(UsageError, match="min_value must be below max_value"):
        item_stats(TABLE, min_value=5, max_value=1)
    with pytest.raises(DataValidationError, match="column b.*outside the response range"):
        item_stats(TABLE, min_value=1, max_value=4)


def test_scale_floor_ceiling_hand_count():
    # 8 scores on 0-40: two at 0, three at 40, one missing -> 7 used.
    scores = pd.Series([0, 0, 12.5, 40, 40, 40, 20, np.nan])
    out = scale_floor_ceiling(scores, min_value=0, max_value=40)
    assert list(out.columns) == FLOOR_CEILING_COLUMNS
    assert out.iloc[0].tolist() == [7, pytest.approx(2 / 7), pytest.approx(3 / 7)]
    with pytest.raises(DataValidationError, match="outside the possible range"):
        scale_floor_ceiling(scores, min_value=0, max_value=30)
    with pytest.raises(UsageError, match="no non-missing values"):
        scale_floor_ceiling([np.nan], min_value=0, max_value=1)


# --------------------------------------------------------------------------- icc


def test_icc_hand_worked_balanced():
    # 3 groups of 3: [1,2,3] [3,4,5] [5,6,7]; group means 2, 4, 6; grand mean 4.
    # SSB = 3 * (4 + 0 + 4) = 24, df 2 -> MSB 12; SSW = 2 + 2 + 2 = 6, df 6 -> MSW 1.
    # ICC(1) = (12 - 1) / (12 + 2 * 1) = 11/14; ICC(2) = 11/12 (Bliese 2000).
    # F = 12 on (2, 6): for F(2, d) the survival function is (1 + 2F/d)^(-d/2) = 5^-3.
    scores = pd.Series([1, 2, 3, 3, 4, 5, 5, 6, 7], dtype=float)
    groups = pd.Series(list("aaabbbccc"))
    out = icc(scores, groups)
    assert list(out.columns) == ICC_COLUMNS
    row = out.iloc[0]
    assert row["icc1"] == pytest.approx(11 / 14)
    assert row["icc2"] == pytest.approx(11 / 12)
    assert (row["n_groups"], row["n"], row["mean_group_size"]) == (3, 9, pytest.approx(3))
    assert row["f_value"] == pytest.approx(12)
    assert row["p_value"] == pytest.approx(1 / 125)


def test_icc_hand_worked_unbalanced():
    # Groups [1, 3] and [4, 5, 6]: N = 5, k0 = (5 - (4 + 9)/5) / 1 = 2.4.
    # Means 2 and 5, grand 3.8: SSB = 2*1.8^2 + 3*1.2^2 = 10.8 (df 1), MSB 10.8;
    # SSW = 2 + 2 = 4 (df 3), MSW 4/3.
    # ICC(1) = (10.8 - 4/3) / (10.8 + 1.4 * 4/3) = 71/95; ICC(2) = (10.8 - 4/3)/10.8 = 71/81.
    row = icc([1, 3, 4, 5, 6], [1, 1, 2, 2, 2]).iloc[0]
    assert row["mean_group_size"] == pytest.approx(2.4)
    assert row["icc1"] == pytest.approx(71 / 95)
    assert row["icc2"] == pytest.approx(71 / 81)
    assert row["f_value"] == pytest.approx(10.8 / (4 / 3))


def test_icc_f_matches_scipy_oneway_and_drops_missing():
    # Independent: scipy.stats.f_oneway on unbalanced random groups.
    rng = np.random.default_rng(4)
    sizes = [3, 7, 5, 9, 4]
    g = np.repeat(np.arange(5), sizes)
    y = rng.standard_normal(len(g)) + g * 0.3
    y_na = np.append(y, np.nan)
    g_na = np.append(g, 0)
    row = icc(y_na, g_na).iloc[0]
    ref = stats.f_oneway(*[y[g == j] for j in range(5)])
    assert row["n"] == len(y)
    assert row["f_value"] == pytest.approx(ref.statistic)
    assert row["p_value"] == pytest.approx(ref.pvalue)


def test_icc_simulation_known_value():
    # 200 groups of 10, between-variance 0.1, within 0.9: ICC(1) = 0.1 and
    # ICC(2) = 10*0.1 / (1 + 9*0.1) = 0.526 (Spearman-Brown, Bliese 2000).
    # Sampling SD of ICC(1) here is about 0.018, of ICC(2) about 0.05.
    rng = np.random.default_rng(17)
    g = np.repeat(np.arange(200), 10)
    y = rng.normal(0, np.sqrt(0.1), 200)[g] + rng.normal(0, np.sqrt(0.9), len(g))
    row = icc(pd.Series(y), pd.Series(g)).iloc[0]
    assert row["icc1"] == pytest.approx(0.1, abs=0.055)
    assert row["icc2"] == pytest.approx(1 / 1.9, abs=0.15)
    assert row["n_groups"] == 200 and row["mean_group_size"] == pytest.approx(10)


def test_icc_errors():
    with pytest.raises(UsageError, match="at least 2 groups"):
        icc([1, 2, 3], ["a", "a", "a"])
    with pytest.raises(UsageError, match="more scores than groups"):
        icc([1, 2, 3], ["a", "b", "c"])
    with pytest.raises(UsageError, match="one label per row"):
        icc([1, 2, 3, 4], ["a", "b"])
    with pytest.raises(UsageError, match="share the same index"):
        icc(pd.Series([1.0, 2, 3, 4]), pd.Series(list("aabb"), index=[5, 6, 7, 8]))
    with pytest.raises(UsageError, match="scores must be numeric"):
        icc(pd.Series(list("abcd")), list("aabb"))


# --------------------------------------------------------------------------- rwg


def test_rwg_single_item_hand_worked():
    # James, Demaree & Wolf (1984): r_wg = 1 - s^2 / sigma_EU^2, sigma_EU^2 = (A^2-1)/12.
    # 5-point scale: sigma_EU^2 = 24/12 = 2.
    # group x: [3,3,4,4,3], mean 3.4, SS = 3*0.16 + 2*0.36 = 1.2, s^2 = 0.3 -> 0.85.
    # group y: [1,5,1,5,3], s^2 = 16/4 = 4 > 2 -> negative, truncated to 0.
    # group z: one rater -> NaN.
    scores = pd.Series([3, 3, 4, 4, 3, 1, 5, 1, 5, 3, 2], dtype=float)
    groups = pd.Series(list("xxxxxyyyyyz"))
    before = scores.copy()
    out = rwg(scores, groups, n_options=5)
    assert list(out.columns) == RWG_COLUMNS
    assert out["group"].tolist() == ["x", "y", "z"]
    assert out["n"].tolist() == [5, 5, 1] and (out["k"] == 1).all()
    np.testing.assert_allclose(out["rwg"], [0.85, 0.0, np.nan])
    np.testing.assert_allclose(out["mean_variance"], [0.3, 4.0, np.nan])
    assert (out["expected_variance"] == 2.0).all()
    assert out["truncated"].tolist() == [False, True, False]
    pd.testing.assert_series_equal(scores, before)


def test_rwg_multi_item_hand_worked():
    # r_wg(J) = J(1 - sbar^2/s_EU^2) / (J(1 - sbar^2/s_EU^2) + sbar^2/s_EU^2) (James et al. 1984).
    # item 1 [3,3,4,4,3]: s^2 0.3; item 2 [2,3,4,3,3]: mean 3, SS 2, s^2 0.5.
    # sbar^2 = 0.4, ratio 0.4/2 = 0.2 -> 2*0.8 / (2*0.8 + 0.2) = 8/9.
    items = pd.DataFrame({"i1": [3, 3, 4, 4, 3, 4], "i2": [2, 3, 4, 3, 3, np.nan]})
    out = rwg(items, ["t"] * 6, n_options=5)
    assert out.iloc[0][["n", "k"]].tolist() == [5, 2]
    assert out.at[0, "mean_variance"] == pytest.approx(0.4)
    assert out.at[0, "rwg"] == pytest.approx(8 / 9)


def test_rwg_errors():
    with pytest.raises(UsageError, match="n_options must be an integer of at least 2"):
        rwg([1, 2, 3], [1, 1, 1], n_options=1)
    with pytest.raises(DataValidationError, match="span more than the 5 response options"):
        rwg([1, 7, 3], [1, 1, 1], n_options=5)
