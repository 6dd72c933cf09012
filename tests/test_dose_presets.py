"""Dose-response on the simulator's dose presets: the org slope recovers truth.csv's dose_slope.

``dose``: 60% of every effect carried by practice change; ``dose_null``: practice change
carries nothing (the whole effect is direct). The slope must hold the arm fixed: pooled over
both arms it also credits the intervention's direct effect to practice. A measured caseload
confounder (``dose_confounder``) biases the slope until the caseload change is adjusted for.
"""

from __future__ import annotations

import numpy as np
import pytest

from stseval import dose
from stseval.errors import UsageError
from stseval.study import Study
from stseval.synthetic import StudyDesign, simulate

AREA, OUT = "supervision", "stss_total"


def _truth(study, estimand, area=AREA, outcome=OUT) -> float:
    t = study.truth
    sel = (t["area"] == area) & (t["outcome"] == outcome) & (t["estimand"] == estimand)
    return float(t.loc[sel, "value"].iloc[0])


def _org(study, **kw):
    return dose.org_dose_response(study, AREA, OUT, **kw).set_index("estimator")


def _mcse(x) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(len(x)))


def test_shipped_dose_study_slope_recovers_truth(shipped_synthetic):
    study = Study.from_dir(shipped_synthetic / "dose")
    for area in ("supervision", "workforce_support"):
        for outcome in ("stss_total", "proqol_bo", "proqol_cs"):
            out = dose.org_dose_response(study, area, outcome).set_index("estimator")
            row = out.loc["dose_org_corrected"]
            truth = _truth(study, "dose_slope", area, outcome)
            assert abs(row["estimate"] - truth) < 3 * row["se"], (area, outcome)
            assert "arm held fixed" in out.loc["dose_org", "method"]


def test_dose_null_slope_is_zero_with_arm_held_but_not_pooled():
    design = StudyDesign.preset("dose_null")
    held, pooled = [], []
    for seed in range(8):
        study = simulate(design, seed=500 + seed)
        assert _truth(study, "dose_slope") == 0.0 and _truth(study, "direct") < -1.0
        out = _org(study, pooled=True)
        held.append(out.loc["dose_org", "estimate"])
        pooled.append(out.loc["dose_org_pooled", "estimate"])
    assert abs(np.mean(held)) < 3 * _mcse(held)
    # the pooled slope credits the direct effect to practice: clearly below 0
    assert np.mean(pooled) < -4 * _mcse(pooled)


def test_dose_preset_corrected_slope_and_indirect_effect_recover_truth():
    design = StudyDesign.preset("dose")
    est, truth, ind, ind_truth = [], [], [], []
    for seed in range(8):
        study = simulate(design, seed=600 + seed)
        est.append(_org(study).loc["dose_org_corrected", "estimate"])
        truth.append(_truth(study, "dose_slope"))
        med = dose.mediation(study, AREA, OUT, n_boot=200, seed=seed).set_index("estimator")
        ind.append(med.loc["med_indirect", "estimate"])
        ind_truth.append(_truth(study, "indirect"))
        # med_b is the same arm-held slope as dose_org
        assert med.loc["med_b", "estimate"] == pytest.approx(
            _org(study).loc["dose_org", "estimate"], rel=1e-9
        )
    err = np.array(est) - np.array(truth)
    assert abs(err.mean()) < 3 * _mcse(err)
    # the indirect effect a*b uses the uncorrected b: attenuated toward 0, not beyond it
    ind_err = np.array(ind) - np.array(ind_truth)
    assert np.mean(ind) < 0 and np.mean(ind_err) > -3 * _mcse(ind_err)


def test_caseload_adjustment_recovers_the_truth_the_naive_slope_misses():
    """Organizations that improve practice also see caseloads fall (dose_confounder 0.4).

    ``caseload`` is a column of responses.csv, not a score: the slope reads it from there.
    Large organizations keep the practice change reliable after the adjustment.
    """
    design = StudyDesign.preset("dose").with_overrides(
        {"dose_confounder": 0.4, "workers_per_team": [25, 30], "attrition": 0.05}
    )
    naive, adjusted, truth = [], [], []
    for seed in range(10):
        study = simulate(design, seed=700 + seed)
        assert "caseload" in study.responses.columns
        assert "caseload" not in study.scored().columns
        truth.append(_truth(study, "dose_slope"))
        naive.append(_org(study).loc["dose_org_corrected", "estimate"])
        adj = _org(study, covariates=["caseload"]).loc["dose_org_corrected"]
        assert "caseload" in adj["method"]
        adjusted.append(adj["estimate"])
    truth = np.array(truth)
    naive_err, adj_err = np.array(naive) - truth, np.array(adjusted) - truth
    assert naive_err.mean() < -10 * _mcse(naive_err)  # falling caseloads credited to practice
    assert abs(adj_err.mean()) < 3 * _mcse(adj_err)
    assert abs(adj_err.mean()) < 0.1 * abs(naive_err.mean())


def test_covariate_neither_score_nor_response_column_is_refused(shipped_synthetic):
    study = Study.from_dir(shipped_synthetic / "dose")
    with pytest.raises(UsageError, match="neither a score nor a column of responses.csv"):
        dose.org_dose_response(study, AREA, OUT, covariates=["caseload"])


def test_mediation_with_a_covariate_matches_numpy_and_the_total_identity():
    design = StudyDesign.preset("dose").with_overrides({"dose_confounder": 0.4})
    study = simulate(design, seed=800)
    med = dose.mediation(study, AREA, OUT, covariates=["caseload"], n_boot=200)
    med = med.set_index("estimator")
    org = _org(study, covariates=["caseload"])
    # med_b is the caseload-adjusted, arm-held dose_org slope
    assert med.loc["med_b", "estimate"] == pytest.approx(org.loc["dose_org", "estimate"], rel=1e-9)
    assert "adjusted for the change in caseload" in med.loc["med_a", "method"]
    # total = coefficient of T in dy ~ 1 + T + dcaseload (same weights), by numpy
    from stseval._dosedata import long_scores, org_changes, panel_rows

    long, _, _ = long_scores(study, AREA, OUT, practice=None, waves=None, covariates=["caseload"])
    long, _, panel = panel_rows(long, "auto")
    ch, _ = org_changes(long, ["caseload"], study.min_cell, panel=panel)
    X = np.column_stack([np.ones(len(ch)), ch["treated"], ch["d_caseload"]])
    s = np.sqrt(ch["w"].to_numpy())
    total = np.linalg.lstsq(X * s[:, None], ch["dy"].to_numpy() * s, rcond=None)[0][1]
    assert med.loc["med_total", "estimate"] == pytest.approx(total, rel=1e-8)
    a = np.linalg.lstsq(X * s[:, None], ch["dp"].to_numpy() * s, rcond=None)[0][1]
    assert med.loc["med_a", "estimate"] == pytest.approx(a, rel=1e-8)
