"""evaluate_area / evaluate_all follow the study design (issue 10 items 2 and 5).

Every shipped study evaluates without an exception, with the estimators its
design supports, finite primary estimates and a plain note where a row is not
estimable; hand computations check the design rows; a fast simulation per
preset checks that the primary estimator recovers the truth in ``truth.csv``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import stseval
from stseval import StudyDesign, evaluate_all, evaluate_area, reshape
from stseval.columns import (
    ESTIMATE_COLUMNS,
    ESTIMATORS,
    EVALUATE_DESIGN_COLUMNS,
    EVALUATE_EXTRA_COLUMNS,
)
from stseval.design import primary_estimator

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "synthetic"

# Expected, understood warnings of these runs (areas without interventions are skipped;
# tiny simulated studies give boundary variance components; team_rct says that every
# organization has a row in interventions.csv).
QUIET = [
    pytest.mark.filterwarnings("ignore:no organization changed practice:UserWarning"),
    pytest.mark.filterwarnings("ignore::stseval.errors.EstimationWarning"),
    pytest.mark.filterwarnings("ignore:.*there is no comparison group:UserWarning"),
]
pytestmark = QUIET

_CACHE: dict = {}


def _evaluate(name, **kwargs):
    key = (name, repr(sorted(kwargs.items())))
    if key not in _CACHE:
        study = stseval.Study.from_dir(SHIPPED / name)
        _CACHE[key] = (study, evaluate_all(study, **kwargs))
    return _CACHE[key]


def _common_checks(table):
    assert list(table.columns) == ESTIMATE_COLUMNS + EVALUATE_EXTRA_COLUMNS + (
        EVALUATE_DESIGN_COLUMNS
    )
    assert set(table["estimator"]) <= set(ESTIMATORS)
    assert table["primary"].dtype == bool
    prim = table[table["primary"]]
    assert len(prim) and np.isfinite(prim["estimate"].astype(float)).all()
    assert np.isfinite(prim["se"].astype(float)).all()
    missing = table[table["estimate"].isna()]
    assert (missing["note"].str.len() > 10).all()
    est = table.dropna(subset=["estimate", "ci_low"])
    assert ((est["ci_low"] <= est["estimate"]) & (est["estimate"] <= est["ci_high"])).all()
    # at most one primary row per area, outcome, wave and cohort
    keys = ["area", "outcome", "wave", "cohort"]
    assert not prim.duplicated(keys).any()


# -- every shipped design study -------------------------------------------------------
def test_single_org_no_comparison_does_not_raise_and_uses_within_change():
    study, table = _evaluate("single_org")
    _common_checks(table)
    assert {"within_paired", "its_own_level", "its_own_slope"} <= set(table["estimator"])
    prim = table[table["primary"]]
    assert set(prim["estimator"]) == {"within_paired", "its_own_level"}
    blanks = table[table["estimator"].isin(["ancova", "did"])]
    assert len(blanks) and blanks["estimate"].isna().all()
    assert (blanks["note"] == "not estimable: no comparison group").all()
    # hand computation: the mean paired change of the workers with both waves
    row = table[(table["estimator"] == "within_paired") & (table["outcome"] == "stss_total")]
    wide = reshape.wide(study, "stss_total", "supervision").dropna(subset=["pre", "post"])
    assert row["estimate"].iloc[0] == pytest.approx((wide["post"] - wide["pre"]).mean())
    assert row["n_workers"].iloc[0] == len(wide)


def test_anonymous_uses_cross_sections_and_says_paired_rows_are_not_estimable():
    study, table = _evaluate("anonymous")
    _common_checks(table)
    staff = table[table["outcome"] == "stss_total"]
    assert {"did_cross_section", "did_org_means"} <= set(staff["estimator"])
    assert set(staff.loc[staff["primary"], "estimator"]) == {"did_cross_section"}
    for est in ("paired_change", "ancova", "rci"):
        r = staff[staff["estimator"] == est]
        assert len(r) == len(staff["area"].unique())
        assert r["estimate"].isna().all()
        assert (r["note"] == "not estimable: waves are not linked").all()
    # hand computation: difference of the arms' changes of means (all responses)
    row = staff[(staff["estimator"] == "did_cross_section") & (staff["area"] == "supervision")]
    long = reshape.long(study, "stss_total", "supervision")
    m = long.groupby(["treated", "wave"])["y"].mean()
    hand = (m[1, "post"] - m[1, "pre"]) - (m[0, "post"] - m[0, "pre"])
    assert row["estimate"].iloc[0] == pytest.approx(hand)
    assert (staff["linkage"] == "unlinked").all()


def test_coded_study_links_itself_and_shows_matched_and_all_rows_side_by_side():
    study, table = _evaluate("coded")
    _common_checks(table)
    staff = table[(table["outcome"] == "stss_total") & (table["area"] == "supervision")]
    matched = staff[staff["linkage"] == "code_matched"]
    every = staff[staff["linkage"] == "unlinked"]
    assert {"ancova", "paired_change", "rci"} <= set(matched["estimator"])
    assert np.isfinite(matched.loc[matched["estimator"] == "ancova", "estimate"]).all()
    assert {"did_cross_section", "did_org_means"} <= set(every["estimator"])
    assert set(staff.loc[staff["primary"], "estimator"]) == {"did_cross_section"}
    # the matched ANCOVA uses fewer workers than responded at the first wave
    n_pre = (study.responses["wave"] == "pre").sum()
    assert 0 < matched.loc[matched["estimator"] == "ancova", "n_workers"].iloc[0] < n_pre


def test_three_waves_give_an_effect_at_every_later_wave():
    _, table = _evaluate("three_wave")
    _common_checks(table)
    staff = table[(table["outcome"] == "stss_total") & (table["area"] == "supervision")]
    for est in ("wave_effect", "ancova_wave"):
        assert set(staff.loc[staff["estimator"] == est, "wave"]) == {"post", "follow_up"}
    prim = staff[staff["primary"]]
    assert set(prim["estimator"]) == {"ancova_wave"} and set(prim["wave"]) == {
        "post",
        "follow_up",
    }
    # the two-wave ANCOVA is the first later wave's ANCOVA
    a = staff[(staff["estimator"] == "ancova")]["estimate"].iloc[0]
    b = staff[(staff["estimator"] == "ancova_wave") & (staff["wave"] == "post")]["estimate"]
    assert a == pytest.approx(b.iloc[0])


def _holm(p):
    """Holm (1979) step-down adjustment, written out (not the kit's code)."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    m = len(p)
    adj = np.maximum.accumulate([(m - i) * p[j] for i, j in enumerate(order)])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def test_holm_within_area_per_estimator_and_wave():
    _, table = _evaluate("three_wave")
    for _, g in table.groupby(["area", "estimator", "wave"]):
        ok = g["p_value"].notna()
        if ok.sum() < 2:
            continue
        hand = _holm(g.loc[ok, "p_value"])
        np.testing.assert_allclose(g.loc[ok, "p_adjusted"], hand)


def test_staggered_starts_use_group_time_effects_and_twfe_only_for_comparison():
    _, table = _evaluate("staggered")
    _common_checks(table)
    staff = table[table["outcome"] == "stss_total"]
    assert {"att_gt", "att_event", "att_overall", "twfe"} <= set(staff["estimator"])
    assert set(staff.loc[staff["primary"], "estimator"]) == {"att_overall"}
    assert set(staff.loc[staff["estimator"] == "att_gt", "cohort"]) == {"t1", "t2", "t3"}
    assert not staff.loc[staff["estimator"] == "twfe", "primary"].any()
    assert "paired_change" not in set(staff["estimator"])


def test_team_rct_compares_teams_and_reports_design_effect():
    study, table = _evaluate("team_rct")
    _common_checks(table)
    staff = table[table["outcome"] == "stss_total"]
    row = staff[staff["estimator"] == "team_did"]
    assert row["primary"].all()
    assert np.isfinite(row[["icc_team", "design_effect"]].to_numpy(float)).all()
    assert (row["design_effect"] >= 1 - 1e-9).all()
    ind = table[table["outcome"].isin(["separation_rate", "absence_rate"])]
    assert ind["estimate"].isna().all() and ind["note"].str.contains("teams were assigned").all()


def test_team_arms_are_the_named_teams():
    study = stseval.Study.from_dir(SHIPPED / "team_rct")
    arms = reshape.arms(study, "supervision")
    assert list(arms.columns) == ["org_id", "arm", "start_date", "team_id"]
    named = study.interventions.query("area == 'supervision'")
    treated = set(arms.loc[arms["arm"] == "intervention", "team_id"])
    assert treated == set(named["team_id"])
    people = reshape.arm_workers(study, "supervision")
    assert set(people.loc[people["treated"] == 1, "team_id"]) == treated
    assert not set(people.loc[people["treated"] == 0, "team_id"]) & treated
    # organization-level months: every org with a treated team is in the intervention arm
    months = reshape.org_months(study, "supervision")
    assert set(months.loc[months["treated"] == 1, "org_id"]) == set(named["org_id"])


@pytest.mark.parametrize("name", ["default", "small", "null", "dose", "individual"])
def test_todays_design_gives_todays_rows_plus_design_columns(name):
    _, table = _evaluate(name, areas=["supervision"], outcomes=["stss_total", "absence_rate"])
    _common_checks(table)
    staff = table[table["outcome"] == "stss_total"]
    today = {"paired_change", "ancova", "did", "mixed", "rci"}
    assert today <= set(staff["estimator"]) <= today | {"did_joint_areas"}
    assert set(staff.loc[staff["primary"], "estimator"]) == {"ancova"}
    assert (staff["wave"] == "post").all() and (staff["linkage"] != "code_matched").all()
    assert set(table.loc[table["outcome"] == "absence_rate", "estimator"]) == {"its"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["default", "small", "null", "dose", "individual"])
def test_evaluate_all_on_every_area_of_todays_studies(name):
    _, table = _evaluate(name)
    _common_checks(table)


def test_no_comparison_group_in_a_simulated_study_does_not_raise(small_study):
    changed = set(small_study.interventions["org_id"])
    keep = small_study.orgs[small_study.orgs["org_id"].isin(changed)]
    workers = small_study.workers[small_study.workers["org_id"].isin(changed)]
    responses = small_study.responses[small_study.responses["worker_id"].isin(workers["worker_id"])]
    metrics = small_study.org_metrics[small_study.org_metrics["org_id"].isin(changed)]
    study = small_study.replace(
        orgs=keep, workers=workers, responses=responses, org_metrics=metrics, validate=False
    )
    table = evaluate_area(study, "supervision", outcomes=["stss_total"])
    assert set(table["estimator"]) == {"within_paired", "ancova", "did"}
    assert table.loc[table["estimator"] == "within_paired", "primary"].all()


def test_primary_estimator_rule():
    study = stseval.Study.from_dir(SHIPPED / "anonymous")
    d = study.design
    rep = dataclasses.replace
    linked = rep(d, linkage="linked")
    assert primary_estimator(linked, "stss_total") == "ancova"
    assert primary_estimator(linked, "org_guidance_supervision") == "org_practice"
    assert primary_estimator(linked, "separation_rate") == "its"
    assert primary_estimator(d, "stss_total") == "did_cross_section"
    assert primary_estimator(rep(d, linkage="code"), "proqol_bo") == "did_cross_section"
    assert primary_estimator(rep(linked, waves=("a", "b", "c")), "stss_total") == "ancova_wave"
    assert primary_estimator(linked, "stss_total", staggered=True) == "att_overall"
    none = rep(d, comparison="none")
    assert primary_estimator(none, "stss_total") == "within_unlinked"
    assert primary_estimator(rep(none, linkage="linked"), "stss_total") == "within_paired"
    assert primary_estimator(none, "absence_rate") == "its_own_level"
    team = rep(linked, assignment="team")
    assert primary_estimator(team, "stss_total") == "team_did"
    assert primary_estimator(team, "absence_rate") is None


# -- fast recovery: the primary estimator against truth.csv ------------------------------
RECOVERY = {
    # preset -> (design overrides, number of replications)
    "anonymous": ({"areas": '["supervision"]', "comparison_orgs": "6"}, 20),
    "coded": ({"areas": '["supervision"]', "comparison_orgs": "6"}, 16),
    "three_wave": ({"areas": '["supervision"]'}, 20),
    "staggered": ({}, 20),
    "team_rct": ({"orgs_per_area": "6"}, 20),
}


def _truth_rows(study, table):
    truth = study.truth
    truth = truth[truth["estimand"] == "att"].copy()
    for col in ("wave", "cohort"):
        if col not in truth:
            truth[col] = ""
        truth[col] = truth[col].fillna("").astype(str)
    truth.loc[truth["wave"] == "", "wave"] = study.waves[1]
    rows = table[table["primary"]].copy()
    rows.loc[rows["wave"] == "", "wave"] = study.waves[1]
    merged = rows.merge(truth, on=["area", "outcome", "wave", "cohort"], how="inner")
    return merged


def _replicate(name, overrides, reps):
    design = StudyDesign.preset(name)
    if overrides:
        design = design.with_overrides(overrides)
    out = []
    for seed in range(reps):
        study = stseval.simulate(design, seed=1000 + seed)
        prim = primary_estimator(study.design, "stss_total", staggered=name == "staggered")
        wanted = ["att_gt"] if name == "staggered" else [prim]
        table = evaluate_area(study, "supervision", outcomes=["stss_total"], estimators=wanted)
        if name == "staggered":  # the group-time cells carry truth rows
            table = table.assign(primary=table["estimator"] == "att_gt")
        m = _truth_rows(study, table).assign(seed=seed)
        out.append(m[["seed", "wave", "cohort", "estimate", "ci_low", "ci_high", "value"]])
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize("name", sorted(RECOVERY))
def test_primary_estimator_recovers_the_truth(name):
    overrides, reps = RECOVERY[name]
    res = _replicate(name, overrides, reps).dropna(subset=["estimate"])
    assert res["seed"].nunique() >= reps - 1  # (nearly) every replication estimated
    for (wave, cohort), g in res.groupby(["wave", "cohort"]):
        err = g["estimate"] - g["value"]
        # mean bias within 3.5 Monte Carlo SEs (plus 0.2 raw points of slack)
        tol = 3.5 * err.std(ddof=1) / np.sqrt(len(err)) + 0.2
        assert abs(err.mean()) < tol, (name, wave, cohort, err.mean(), tol)
        covered = int(((g["ci_low"] <= g["value"]) & (g["value"] <= g["ci_high"])).sum())
        # coverage not clearly below 80%: one-sided binomial test at 1%
        p = stats.binomtest(covered, len(g), 0.8, alternative="less").pvalue
        assert p > 0.01, (name, wave, cohort, covered, len(g))


# -- the area notebook on every design study (papermill; slow) ----------------------------
def _notebook_text(path) -> str:
    import nbformat

    executed = nbformat.read(path, as_version=4)
    return "\n".join(
        str(out.get("data", {}).get("text/markdown", "")) + str(out.get("text", ""))
        for cell in executed.cells
        for out in cell.get("outputs", [])
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["single_org", "anonymous", "coded", "three_wave", "staggered", "team_rct"]
)
def test_area_notebook_runs_on_every_design_study(name, tmp_path):
    from stseval import pipeline

    nb = ROOT / "notebooks" / "area_evaluation.ipynb"
    params = {"study_dir": str(SHIPPED / name), "area": "supervision", "out_dir": str(tmp_path)}
    pipeline.run_notebook(nb, tmp_path / "run.ipynb", params, cwd=tmp_path)
    text = _notebook_text(tmp_path / "run.ipynb")
    assert "**Design:**" in text and "Primary estimates" in text
    saved = pd.read_csv(tmp_path / "estimates.csv")
    assert saved["primary"].any()
    if name in ("single_org", "anonymous", "coded"):
        assert "Attrition by arm is not shown" in text


@pytest.mark.slow
def test_area_notebook_writes_next_to_the_study_by_default(tmp_path):
    import shutil

    from stseval import pipeline

    study_dir = tmp_path / "studies" / "mine"
    shutil.copytree(SHIPPED / "single_org", study_dir)
    nb = ROOT / "notebooks" / "area_evaluation.ipynb"
    params = {"study_dir": str(study_dir), "area": "supervision", "out_dir": ""}
    pipeline.run_notebook(nb, tmp_path / "run.ipynb", params, cwd=tmp_path)
    assert (tmp_path / "studies" / "results" / "supervision" / "estimates.csv").is_file()


def test_link_rule_of_a_coded_study_is_an_option():
    study = stseval.Study.from_dir(SHIPPED / "coded")
    opts = dict(outcomes=["stss_total"], estimators=["ancova"])
    exact = evaluate_area(study, "supervision", **opts)
    loose = evaluate_area(study, "supervision", link_rule="k_of_m", link_k=2, **opts)
    assert (exact["linkage"] == "code_matched").all()
    assert loose["n_workers"].iloc[0] > exact["n_workers"].iloc[0]
    with pytest.raises(stseval.UsageError, match="k"):
        evaluate_area(study, "supervision", link_rule="k_of_m", **opts)


def test_organizations_that_changed_several_areas_get_a_joint_sensitivity_row():
    design = StudyDesign.preset("small").with_overrides(
        {
            "multi_area_share": "0.5",
            "multi_area_count": "2",
            "areas": '["supervision", "training"]',
            "orgs_per_area": "4",
        }
    )
    study = stseval.simulate(design, seed=3)
    inter = study.interventions
    sup = set(inter.loc[inter["area"] == "supervision", "org_id"])
    both = sup & set(inter.loc[inter["area"] == "training", "org_id"])
    assert both  # the design made some
    table = evaluate_area(study, "supervision", outcomes=["stss_total"])
    row = table[table["estimator"] == "did_joint_areas"]
    assert len(row) == 1 and np.isfinite(row["estimate"].iloc[0])
    assert not row["primary"].iloc[0]
    assert (
        f"{len(both)} of {len(sup)} organizations also changed other areas" in (row["note"].iloc[0])
    )
