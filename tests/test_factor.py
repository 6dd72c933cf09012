"""One-factor confirmatory check per scale (stseval.factor): recovery and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stseval import factor
from stseval.errors import UsageError

LOAD = np.array([0.8, 0.7, 0.6, 0.5, 0.7, 0.65])


def _one_factor(rng, n=3000, load=LOAD):
    f = rng.normal(size=(n, 1))
    x = f * load + rng.normal(size=(n, len(load))) * np.sqrt(1 - load**2)
    return pd.DataFrame(x, columns=[f"it_{i + 1:02d}" for i in range(len(load))])


def _two_factor(rng, n=3000, r=0.3):
    cov = np.array([[1, r], [r, 1]])
    f = rng.multivariate_normal([0, 0], cov, size=n)
    load = np.array([0.8, 0.75, 0.7, 0.8, 0.75, 0.7])
    which = np.array([0, 0, 0, 1, 1, 1])
    x = f[:, which] * load + rng.normal(size=(n, 6)) * np.sqrt(1 - load**2)
    return pd.DataFrame(x, columns=[f"it_{i + 1:02d}" for i in range(6)])


SCALES = {"s": [f"it_{i + 1:02d}" for i in range(6)]}


def test_one_factor_data_recovers_loadings_and_fits_well():
    items = _one_factor(np.random.default_rng(1))
    lo = factor.one_factor_loadings(items, scales=SCALES)
    assert list(lo.columns) == factor.LOADING_COLUMNS
    # SE of a loading ~ (1 - l^2) / sqrt(n) < 0.02 here
    np.testing.assert_allclose(lo["loading"], LOAD, atol=0.05)
    fit = factor.one_factor_check(items, scales=SCALES).iloc[0]
    assert fit["df"] == 9
    assert fit["srmr"] < 0.02
    assert fit["rmsea"] < 0.03
    assert fit["cfi"] > 0.99
    assert fit["max_abs_residual"] < 0.05


def test_two_factor_data_is_flagged():
    items = _two_factor(np.random.default_rng(2))
    fit = factor.one_factor_check(items, scales=SCALES).iloc[0]
    good = factor.one_factor_check(_one_factor(np.random.default_rng(3)), scales=SCALES).iloc[0]
    assert fit["srmr"] > 0.08 > good["srmr"]
    assert fit["rmsea"] > 0.10 > good["rmsea"]
    assert fit["cfi"] < 0.9
    assert fit["p_value"] < 1e-10
    assert fit["max_abs_residual"] > 0.15
    # the largest residual is within one of the two item triples
    pair = fit["largest_residuals"].split(";")[0].split(":")[0].split("~")
    nums = [int(p[-2:]) for p in pair]
    assert (max(nums) <= 3) or (min(nums) >= 4)


def test_srmr_chi2_and_loadings_against_statsmodels_fit():
    from statsmodels.multivariate.factor import Factor

    items = _one_factor(np.random.default_rng(4), n=500)
    r = np.corrcoef(items.to_numpy(), rowvar=False)
    sm = Factor(corr=r, n_factor=1, method="ml", nobs=500).fit()
    lam = np.abs(sm.loadings[:, 0])
    lo = factor.one_factor_loadings(items, scales=SCALES)
    np.testing.assert_allclose(lo["loading"], lam, atol=1e-3)
    # hand SRMR and chi-square from the statsmodels solution
    sigma = np.outer(lam, lam) + np.diag(sm.uniqueness)
    res = r - sigma
    srmr = np.sqrt(np.mean(res[np.tril_indices(6)] ** 2))
    F = np.linalg.slogdet(sigma)[1] - np.linalg.slogdet(r)[1] + np.trace(r @ np.linalg.inv(sigma))
    chi2 = 499 * (F - 6)
    fit = factor.one_factor_check(items, scales=SCALES).iloc[0]
    assert fit["srmr"] == pytest.approx(srmr, abs=1e-4)
    assert fit["chi2"] == pytest.approx(chi2, rel=0.02, abs=0.05)
    assert fit["rmsea"] == pytest.approx(np.sqrt(max(chi2 - 9, 0) / (9 * 499)), abs=2e-3)


def test_instrument_scales_and_three_item_scale():
    rng = np.random.default_rng(5)
    inst_items = _one_factor(rng, n=400, load=np.full(4, 0.7))
    inst_items.columns = [f"ind_guidance_{i:02d}" for i in range(1, 5)]
    fit = factor.one_factor_check(inst_items, instrument="ind_guidance", scales=["education"])
    assert list(fit["scale"]) == ["education"] and fit["k"].iloc[0] == 4
    three = factor.one_factor_check(inst_items, scales={"t": list(inst_items.columns[:3])})
    assert three["df"].iloc[0] == 0 and np.isnan(three["rmsea"].iloc[0])
    assert "just identified" in three["note"].iloc[0]


def test_errors_name_the_problem_and_input_is_untouched():
    items = _one_factor(np.random.default_rng(6), n=50)
    before = items.copy()
    with pytest.raises(UsageError, match="no column 'zz'"):
        factor.one_factor_check(items, scales={"s": ["it_01", "it_02", "zz"]})
    with pytest.raises(UsageError, match="at least 3 items"):
        factor.one_factor_check(items, scales={"s": ["it_01", "it_02"]})
    with pytest.raises(UsageError, match="scales"):
        factor.one_factor_check(items)
    factor.one_factor_check(items, scales=SCALES)
    pd.testing.assert_frame_equal(items, before)
    const = items.assign(it_01=1.0)
    out = factor.one_factor_check(const, scales=SCALES)
    assert out["note"].iloc[0].startswith("not fitted")
