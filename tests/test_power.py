"""Tests of stseval.power: published sample sizes, hand formulas, and simulate_power
against fake simulators (so they do not depend on stseval.synthetic / stseval.evaluate).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import proportion_confint

import stseval
from stseval import power
from stseval.errors import UsageError


# ----------------------------------------------------------------------------- paired t
def test_paired_n_matches_gpower():
    # G*Power 3.1, "Means: difference between two dependent means (matched pairs)",
    # two-tailed, alpha .05, power .80: d_z = 0.5 -> 34 pairs; d_z = 0.3 -> 90 pairs.
    assert power.paired_n(0.5) == 34
    assert power.paired_n(0.3) == 90
    assert power.paired_n(-0.5) == 34


def test_paired_power_by_noncentral_t_hand_formula():
    # power = P(|T| > t_crit), T ~ noncentral t(df = n - 1, ncp = d sqrt(n))
    d, n = 0.5, 34
    tc = stats.t.ppf(0.975, n - 1)
    ncp = d * math.sqrt(n)
    expected = stats.nct.sf(tc, n - 1, ncp) + stats.nct.cdf(-tc, n - 1, ncp)
    assert power.paired_power(d, n) == pytest.approx(expected, rel=1e-6)
    assert power.paired_power(0.5, 34) >= 0.8 > power.paired_power(0.5, 33)


def test_paired_mde_round_trip():
    mde = power.paired_mde(34)
    assert power.paired_power(mde, 34) == pytest.approx(0.8, abs=1e-5)
    assert 0.45 < mde < 0.5


# ----------------------------------------------------------------------------- cluster
def test_design_effect_hand_cases():
    # 1 + (m - 1) icc
    assert power.cluster_design_effect(0.05, 21) == pytest.approx(2.0)
    assert power.cluster_design_effect(0.1, 11) == pytest.approx(2.0)
    assert power.cluster_design_effect(0.0, 50) == pytest.approx(1.0)
    assert power.cluster_design_effect(0.02, 12.5) == pytest.approx(1.23)  # average size
    # Eldridge et al. (2006): 1 + ((cv^2 + 1) m - 1) icc = 1 + (1.25 * 20 - 1) * .05 = 2.2
    assert power.cluster_design_effect(0.05, 20, cv=0.5) == pytest.approx(2.2)


def test_cluster_power_reduces_to_independent_t_test():
    # With icc = 0, one person per cluster and no pre-test, k clusters per arm is a
    # plain two-sample t test with k per group (df = 2k - 2).
    assert power.cluster_power(
        0.5, n_clusters_per_arm=64, cluster_size=1, icc=0.0
    ) == pytest.approx(TTestIndPower().power(0.5, nobs1=64, alpha=0.05), rel=1e-8)


def test_cluster_power_equals_t_test_on_effective_effect():
    # Hand formula: ncp = d / sqrt(2 DE (1 - r^2) / (k m)), df = 2k - 2, which is the
    # independent t test with k per arm and effect d * sqrt(m / (DE (1 - r^2))).
    d, k, m, icc, r = 0.3, 10, 20, 0.05, 0.5
    de = 1 + (m - 1) * icc
    expected = TTestIndPower().power(d * math.sqrt(m / (de * (1 - r**2))), nobs1=k, alpha=0.05)
    got = power.cluster_power(d, n_clusters_per_arm=k, cluster_size=m, icc=icc, r_prepost=r)
    assert got == pytest.approx(expected, rel=1e-8)


def test_cluster_n_clusters_is_the_smallest_sufficient_and_near_normal_formula():
    kw = dict(cluster_size=20, icc=0.05, r_prepost=0.5)
    k = power.cluster_n_clusters(0.3, **kw)
    assert power.cluster_power(0.3, n_clusters_per_arm=k, **kw) >= 0.8
    assert power.cluster_power(0.3, n_clusters_per_arm=k - 1, **kw) < 0.8
    # normal-approximation formula (Donner & Klar 2000):
    # k = 2 (z_.975 + z_.8)^2 DE (1 - r^2) / (m d^2); t critical values add a little.
    de = 1 + 19 * 0.05
    k_normal = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 * de * 0.75 / (20 * 0.09)
    assert math.ceil(k_normal) <= k <= math.ceil(k_normal) + 2


def test_cluster_mde_round_trip():
    kw = dict(n_clusters_per_arm=8, cluster_size=15, icc=0.08, r_prepost=0.4)
    mde = power.cluster_mde(**kw)
    assert power.cluster_power(mde, **kw) == pytest.approx(0.8, abs=1e-8)


# ----------------------------------------------------------------------------- tails (issue 9)
def _upper_tail_power(ncp, df, alpha=0.05):
    """Independent two-sided power: upper tail only (the lower tail is < 1e-12 here)."""
    return stats.nct.sf(stats.t.ppf(1 - alpha / 2, df), df, ncp)


def test_paired_power_far_in_the_tail_is_one_not_nan():
    # n = 300 pairs at d_z = 0.5: ncp = 8.66, the lower tail is ~1e-50; 1 - cdf gave NaN.
    got = power.paired_power(0.5, 300)
    assert got == pytest.approx(_upper_tail_power(0.5 * math.sqrt(300), 299), abs=1e-12)
    assert got > 1 - 1e-9


def test_paired_power_lower_tail_is_added():
    # Small n and d: both tails matter. The lower tail computed independently by the
    # noncentral t cdf (accurate here, near the centre) equals the sign-flipped sf.
    d, n = 0.1, 5
    tc = stats.t.ppf(0.975, n - 1)
    ncp = d * math.sqrt(n)
    expected = stats.nct.sf(tc, n - 1, ncp) + stats.nct.cdf(-tc, n - 1, ncp)
    assert power.paired_power(d, n) == pytest.approx(expected, rel=1e-9)
    # and with d = 0 the power would be alpha: at a tiny d it is just above 0.05
    assert 0.05 < power.paired_power(1e-6, n) < 0.0501


def test_cluster_power_many_clusters_no_icc_is_finite():
    # icc = 0, 40 x 40 per arm, r = .5: ncp = 0.3 / sqrt(2 * 0.75 / 1600) = 9.80, df = 78
    got = power.cluster_power(0.3, n_clusters_per_arm=40, cluster_size=40, icc=0, r_prepost=0.5)
    ncp = 0.3 / math.sqrt(2 * 0.75 / 1600)
    assert math.isfinite(got)
    assert got == pytest.approx(_upper_tail_power(ncp, 78), abs=1e-12)


def test_cluster_mde_with_two_clusters_per_arm_round_trips():
    kw = dict(n_clusters_per_arm=2, cluster_size=30, icc=0.05, r_prepost=0.5)
    mde = power.cluster_mde(**kw)
    # independent check: at the MDE, the upper tail of t(df = 2) alone gives ~0.8
    de = 1 + 29 * 0.05
    ncp = mde / math.sqrt(2 * de * 0.75 / 60)
    assert _upper_tail_power(ncp, 2) == pytest.approx(0.8, abs=1e-6)


def test_cluster_n_clusters_two_suffice_for_a_large_effect():
    kw = dict(cluster_size=30, icc=0.05, r_prepost=0.5)
    assert power.cluster_n_clusters(2.1, **kw) == 2
    de = 1 + 29 * 0.05
    assert _upper_tail_power(2.1 / math.sqrt(2 * de * 0.75 / 60), 2) >= 0.8


def test_paired_n_for_a_huge_effect():
    # smallest n with upper-tail power >= .8, found by counting up in the test
    n = 2
    while _upper_tail_power(6 * math.sqrt(n), n - 1) < 0.8:
        n += 1
    assert power.paired_n(6) == n == 3


def test_power_over_a_realistic_grid_has_no_nan():
    values = []
    for d in (0.05, 0.2, 0.5, 1.0, 2.5):
        for k in (2, 5, 20, 80, 300):
            for m in (2, 15, 60):
                for icc in (0.0, 0.05, 0.3):
                    for r in (0.0, 0.5, 0.9):
                        values.append(
                            power.cluster_power(
                                d, n_clusters_per_arm=k, cluster_size=m, icc=icc, r_prepost=r
                            )
                        )
        for n in (2, 10, 100, 1000, 10000):
            values.append(power.paired_power(d, n))
    values = np.array(values)
    assert not np.isnan(values).any()
    assert ((values > 0.05 - 1e-9) & (values <= 1.0)).all()


def test_same_confidence_message_everywhere():
    from stseval import effects, evaluate, reliability

    calls = [
        lambda: power.paired_power(0.5, 20, confidence="0.9"),
        lambda: reliability.alpha(pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 4]}), confidence="0.9"),
        lambda: effects.paired([1, 2, 3, 4], [1, 2, 4, 5], confidence="0.9"),
        lambda: evaluate.evaluate_area(None, "supervision", confidence="0.9"),
    ]
    messages = set()
    for call in calls:
        with pytest.raises(UsageError) as info:
            call()
        messages.add(str(info.value))
    assert messages == {"confidence must be a number between 0 and 1 (e.g. 0.95), got '0.9'"}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: power.paired_n(0), "d must not be 0"),
        (lambda: power.paired_n(0.5, power=1.2), "power"),
        (lambda: power.paired_power(0.5, 1), "n must be at least 2"),
        (lambda: power.paired_mde(20, confidence=1.0), "confidence"),
        (lambda: power.cluster_design_effect(1.5, 10), "icc"),
        (lambda: power.cluster_design_effect(0.1, 0.5), "cluster_size"),
        (lambda: power.cluster_design_effect(0.1, 10, cv=-1), "cv"),
        (
            lambda: power.cluster_power(0.3, n_clusters_per_arm=1, cluster_size=10, icc=0.1),
            "n_clusters_per_arm",
        ),
        (
            lambda: power.cluster_power(
                0.3, n_clusters_per_arm=5, cluster_size=10, icc=0.1, r_prepost=1
            ),
            "r_prepost",
        ),
        (
            lambda: power.cluster_n_clusters(0.01, cluster_size=10, icc=0.1, max_clusters=50),
            "max_clusters",
        ),
        (lambda: power.simulate_power(None, area="x", n_reps=0), "n_reps"),
        (lambda: power.simulate_power(None, area="x", jobs=0), "jobs"),
        (lambda: power.paired_n(0.5, confidence="0.95"), "confidence must be a number"),
    ],
)
def test_bad_input_raises_usage_error(call, match):
    with pytest.raises(UsageError, match=match):
        call()


# ----------------------------------------------------------------------------- simulate_power
# Module-level fakes so that they pickle by reference into worker processes.
def fake_simulate(design, seed):
    return {"seed": seed, "kind": design["kind"]}


def fake_evaluate_area(study, area, **kwargs):
    seed = study["seed"]
    if study["kind"] == "every_fourth":
        # significant exactly when seed % 4 == 0; seed % 10 == 9 has no ancova row
        p = 0.001 if seed % 4 == 0 else 0.5
        ancova = (
            []
            if seed % 10 == 9
            else [
                {
                    "area": area,
                    "outcome": "stss_total",
                    "estimator": "ancova",
                    "estimate": float(seed),
                    "p_value": p,
                }
            ]
        )
    else:  # "null": p ~ Uniform(0, 1), as under a true null hypothesis
        p = float(np.random.default_rng(seed).uniform())
        ancova = [
            {
                "area": area,
                "outcome": "stss_total",
                "estimator": "ancova",
                "estimate": 0.0,
                "p_value": p,
            }
        ]
    decoys = [  # rows simulate_power must ignore
        {
            "area": area,
            "outcome": "proqol_bo",
            "estimator": "ancova",
            "estimate": 9.0,
            "p_value": 0.0,
        },
        {
            "area": area,
            "outcome": "stss_total",
            "estimator": "did",
            "estimate": 9.0,
            "p_value": 0.0,
        },
    ]
    return pd.DataFrame(decoys + ancova)


@pytest.fixture
def fakes(monkeypatch):
    # setitem on the module dict: the real functions may not exist yet, and getattr on
    # the lazy package would try to import them.
    monkeypatch.setitem(vars(stseval), "simulate", fake_simulate)
    monkeypatch.setitem(vars(stseval), "evaluate_area", fake_evaluate_area)


@pytest.mark.parametrize("jobs", [1, 2])
def test_simulate_power_counts_significant_ancova_rows(fakes, jobs):
    # seeds 0..39: 4 lack the ancova row (9, 19, 29, 39); of the 36 left, the
    # multiples of 4 (10 of them) are significant.
    out = power.simulate_power(
        {"kind": "every_fourth"}, area="supervision", n_reps=40, jobs=jobs, progress=False
    )
    assert list(out.columns) == power.SIMULATED_POWER_COLUMNS
    row = out.iloc[0]
    assert (row["area"], row["outcome"], row["estimator"]) == (
        "supervision",
        "stss_total",
        "ancova",
    )
    assert (row["n_reps"], row["n_valid"], row["n_significant"]) == (40, 36, 10)
    assert row["power"] == pytest.approx(10 / 36)
    lo, hi = proportion_confint(10, 36, alpha=0.05, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    valid_seeds = [s for s in range(40) if s % 10 != 9]
    assert row["mean_estimate"] == pytest.approx(np.mean(valid_seeds))


def test_simulate_power_seed_offsets_replications(fakes):
    # seeds 1..40 instead of 0..39: multiples of 4 among valid seeds -> 4, 8, ..., 40 = 10
    out = power.simulate_power(
        {"kind": "every_fourth"}, area="a", n_reps=40, seed=1, jobs=1, progress=False
    )
    assert out["n_valid"].iloc[0] == 36 and out["n_significant"].iloc[0] == 10


def test_simulate_power_under_null_is_near_alpha(fakes):
    # p ~ U(0, 1): share below .05 is Binomial(400, .05)/400; central 99.8% range.
    out = power.simulate_power({"kind": "null"}, area="a", n_reps=400, jobs=1, progress=False)
    lo, hi = stats.binom.ppf([0.001, 0.999], 400, 0.05)
    assert lo <= out["n_significant"].iloc[0] <= hi
    assert out["ci_low"].iloc[0] < 0.05 < out["ci_high"].iloc[0]


def test_simulate_power_with_the_real_simulator_matches_direct_calls():
    """Integration: simulate_power repeats simulate + evaluate_area with seeds seed + i."""
    import warnings

    design = stseval.StudyDesign.small()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = power.simulate_power(
            design, area="training", n_reps=3, jobs=1, seed=40, progress=False
        ).iloc[0]
        direct = [
            stseval.evaluate_area(
                stseval.simulate(design, seed=40 + i),
                "training",
                outcomes=["stss_total"],
                estimators=["ancova"],
            ).iloc[0]
            for i in range(3)
        ]
    assert res["n_valid"] == 3
    assert res["mean_estimate"] == pytest.approx(np.mean([d["estimate"] for d in direct]))
    assert res["n_significant"] == sum(d["p_value"] < 0.05 for d in direct)
