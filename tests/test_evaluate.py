"""evaluate_area: the estimates contract, agreement with the models, suppression, recovery."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_columns import ESTIMATES as CONTRACT_COLUMNS

import stseval
from stseval import StudyDesign, UsageError, evaluate_all, evaluate_area, models, reshape
from stseval.areas import AREA_KEYS
from stseval.columns import ESTIMATE_COLUMNS, ESTIMATORS
from stseval.errors import NoInterventionError


@pytest.fixture(scope="module")
def study():
    return stseval.simulate(StudyDesign.small(), seed=11)


@pytest.fixture(scope="module")
def table(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_area(study, "supervision")


def test_contract_columns_and_names(table):
    # the typed-out contract lives once, in tests/test_columns.py (not imported from the code)
    assert list(table.columns) == CONTRACT_COLUMNS
    assert list(table.columns[:16]) == ESTIMATE_COLUMNS
    assert set(table["estimator"]) <= set(ESTIMATORS)
    assert set(table["estimator"]) >= {
        "paired_change",
        "ancova",
        "did",
        "mixed",
        "org_practice",
        "its",
        "rci",
    }
    assert set(table["outcome"]) == {
        "stss_total",
        "proqol_sts",
        "proqol_bo",
        "proqol_cs",
        "org_guidance_supervision",
        "separation_rate",
        "absence_rate",
    }
    assert (table["area"] == "supervision").all()
    # one row per outcome x estimator
    assert not table.duplicated(["outcome", "estimator"]).any()
    est = table.dropna(subset=["estimate"])
    assert ((est["ci_low"] <= est["estimate"]) & (est["estimate"] <= est["ci_high"])).all()
    assert table.loc[table["outcome"] == "stss_total", "direction"].iloc[0] == "lower"
    assert table.loc[table["outcome"] == "proqol_cs", "direction"].iloc[0] == "higher"


def test_ancova_row_equals_direct_model_call(study, table):
    wide = reshape.wide(study, "proqol_bo", "supervision")
    direct = models.ancova(wide, se_type="CR3").iloc[0]
    row = table[(table["outcome"] == "proqol_bo") & (table["estimator"] == "ancova")].iloc[0]
    for col in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert row[col] == pytest.approx(direct[col])
    assert row["n_workers"] == direct["n_workers"] and row["n_orgs"] == direct["n_orgs"]


def test_ancova_point_estimate_by_independent_least_squares(study, table):
    wide = reshape.wide(study, "stss_total", "supervision").dropna(subset=["pre", "post"])
    x = np.column_stack([np.ones(len(wide)), wide["treated"], wide["pre"]])
    beta = np.linalg.lstsq(x, wide["post"].to_numpy(float), rcond=None)[0]
    row = table[(table["outcome"] == "stss_total") & (table["estimator"] == "ancova")].iloc[0]
    assert row["estimate"] == pytest.approx(beta[1])


def test_paired_change_is_the_mean_change_in_the_intervention_arm(study, table):
    wide = reshape.wide(study, "stss_total", "supervision")
    arm = wide[wide["treated"] == 1].dropna(subset=["pre", "post"])
    change = arm["post"] - arm["pre"]
    row = table[(table["outcome"] == "stss_total") & (table["estimator"] == "paired_change")]
    assert row["estimate"].iloc[0] == pytest.approx(change.mean())
    t = stats.ttest_rel(arm["post"], arm["pre"])
    assert row["p_value"].iloc[0] == pytest.approx(t.pvalue)


def test_holm_within_area_per_estimator(table):
    anc = table[table["estimator"] == "ancova"]
    expected = models.adjust_p(anc["p_value"].to_numpy(), method="holm")
    np.testing.assert_allclose(anc["p_adjusted"], expected)
    # Holm by hand for the smallest p: m * p_min (capped at 1)
    m = anc["p_value"].notna().sum()
    assert anc["p_adjusted"].min() == pytest.approx(min(1, m * anc["p_value"].min()))


def test_min_cell_suppresses_with_a_note(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = evaluate_area(study, "supervision", min_cell=10_000, outcomes=["stss_total"])
    assert table["estimate"].isna().all()
    assert table["note"].str.contains("suppressed|left out|not estimated").all()


def test_no_intervention_orgs_gives_a_clear_message(study, tmp_path):
    study.to_dir(tmp_path / "s")
    path = tmp_path / "s" / "interventions.csv"
    table = pd.read_csv(path, dtype=str)
    table[table["area"] != "supervision"].to_csv(path, index=False)
    no_int = stseval.Study.from_dir(tmp_path / "s")
    with pytest.raises(NoInterventionError, match="no organization changed practice in area"):
        evaluate_area(no_int, "supervision")
    # evaluate_all tells this case apart by its class: skipped with a warning ...
    areas = ["supervision", *sorted(set(no_int.interventions["area"]))[:1]]
    with pytest.warns(UserWarning, match="no organization changed practice in area"):
        out = evaluate_all(no_int, areas=areas, estimators=["ancova"])
    assert set(out["area"]) == set(areas[1:])
    # ... while any other UsageError stops it
    with pytest.raises(UsageError, match="confidence must be a number"):
        evaluate_all(no_int, areas=areas, confidence="0.95")
    with pytest.raises(UsageError, match="unknown area"):
        evaluate_all(no_int, areas=["supervisor"])


def test_argument_errors(study):
    with pytest.raises(UsageError, match="unknown area 'supervisor'"):
        evaluate_area(study, "supervisor")
    with pytest.raises(UsageError, match="individual guidance statement"):
        evaluate_area(study, "education")
    for bad in (95, "0.9", None):
        with pytest.raises(UsageError, match="confidence must be a number between 0 and 1"):
            evaluate_area(study, "supervision", confidence=bad)
    for bad in (0, 2.5, "5"):
        with pytest.raises(UsageError, match="min_cell must be a positive whole number"):
            evaluate_area(study, "supervision", min_cell=bad)
    with pytest.raises(UsageError, match="unknown outcome"):
        evaluate_area(study, "supervision", outcomes=["pcl5_total"])
    with pytest.raises(UsageError, match="unknown estimator"):
        evaluate_area(study, "supervision", estimators=["t_test"])


def test_evaluate_all_adds_fdr_across_areas(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = evaluate_all(study, estimators=["ancova"])
    assert set(table["area"]) == set(AREA_KEYS)
    expected = models.adjust_p(table["p_value"].to_numpy(), method="fdr_bh")
    np.testing.assert_allclose(table["p_fdr_all_areas"], expected)


# -- recovery: a small, fast version of validation/recovery.py ------------------------------
def _replicate(design, seeds, area="supervision", outcome="stss_total"):
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in seeds:
            s = stseval.simulate(design, seed=seed)
            est = evaluate_area(s, area, outcomes=[outcome], estimators=["ancova", "paired_change"])
            truth = s.truth.query("area == @area and outcome == @outcome and estimand == 'att'")
            est = est.assign(truth=float(truth["value"].iloc[0]))
            rows.append(est)
    return pd.concat(rows, ignore_index=True)


@pytest.mark.slow
@pytest.mark.recovery
def test_ancova_recovers_truth_and_holds_false_positive_rate():
    design = StudyDesign.small().with_overrides({"orgs_per_area": 5, "comparison_orgs": 8})
    null = StudyDesign.null().with_overrides({"orgs_per_area": 5, "comparison_orgs": 8})
    n = 30
    res = _replicate(design, range(100, 100 + n))
    anc = res[res["estimator"] == "ancova"]
    covered = ((anc["ci_low"] <= anc["truth"]) & (anc["truth"] <= anc["ci_high"])).sum()
    # Binomial(30, .95): P(X <= 24) < .002, so a correct 95% interval fails this rarely;
    # an interval that ignores clustering or is centred wrongly falls well below it.
    assert covered >= 25, f"coverage {covered}/{n}"
    # Mean error within 3 Monte-Carlo SEs of zero.
    err = anc["estimate"] - anc["truth"]
    assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(n) + 0.5
    res0 = _replicate(null, range(500, 500 + n))
    anc0 = res0[res0["estimator"] == "ancova"]
    assert (anc0["truth"] == 0).all()
    # Binomial(30, .05): P(X >= 6) < .01.
    assert (anc0["p_value"] < 0.05).sum() <= 5
