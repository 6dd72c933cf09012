"""The explorer's power sentence and status; the psychometrics views and notebook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stseval.errors import UsageError
from stseval.explorer import power_sentence, simulation_check, two_arm_power
from stseval.power import cluster_power
from stseval.psychometrics import factor_check_view, reliability_view
from stseval.synthetic import StudyDesign

ROOT = Path(__file__).resolve().parents[1]
ARGS = dict(cluster_size=14.0, icc=0.075, r_prepost=0.6)


@pytest.mark.parametrize("d, k", [(0.54, 4), (0.3, 10), (0.8, 2), (0.1, 25)])
def test_two_arm_power_equals_cluster_power_with_equal_arms(d, k):
    got = two_arm_power(d, n_intervention=k, n_comparison=k, **ARGS)
    assert got == pytest.approx(cluster_power(d, n_clusters_per_arm=k, **ARGS), rel=1e-12)


def test_two_arm_power_with_the_real_arms_lies_between_the_equal_arm_powers():
    # issue 12: "10 organizations per arm, power 97%" while the comparison arm had 4
    unequal = two_arm_power(0.54, n_intervention=10, n_comparison=4, **ARGS)
    low = cluster_power(0.54, n_clusters_per_arm=4, **ARGS)
    high = cluster_power(0.54, n_clusters_per_arm=10, **ARGS)
    assert low < unequal < high


def test_two_arm_power_matches_a_t_test_on_simulated_organization_means():
    """Organization means with the design's variance; the pooled t test rejects at that rate."""
    k1, k2, d = 9, 4, 0.6
    m, icc, r = ARGS["cluster_size"], ARGS["icc"], ARGS["r_prepost"]
    sd = np.sqrt((1 + (m - 1) * icc) * (1 - r**2) / m)  # SD of one organization's mean
    rng = np.random.default_rng(12)
    reps = 40_000
    a = rng.normal(d, sd, (reps, k1))
    b = rng.normal(0.0, sd, (reps, k2))
    p = stats.ttest_ind(a, b, axis=1).pvalue
    rate = float((p < 0.05).mean())
    expected = two_arm_power(d, n_intervention=k1, n_comparison=k2, **ARGS)
    assert rate == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / reps))


def test_two_arm_power_rejects_empty_arms():
    with pytest.raises(UsageError, match="at least 1 organization"):
        two_arm_power(0.5, n_intervention=0, n_comparison=4, **ARGS)


def test_power_sentence_names_the_real_arms_and_its_power():
    design = StudyDesign.small().with_overrides({"orgs_per_area": 10})
    text, pw = power_sentence(-0.6, n_intervention=10, n_comparison=4, design=design, icc=0.05)
    m = np.mean(design.teams_per_org) * np.mean(design.workers_per_team) * 0.8
    expected = two_arm_power(
        0.54, n_intervention=10, n_comparison=4, cluster_size=m, icc=0.075, r_prepost=0.6
    )
    assert pw == pytest.approx(expected)
    assert "10 intervention and 4 comparison organizations" in text
    assert f"**{expected:.0%}**" in text
    assert pw < cluster_power(0.54, n_clusters_per_arm=10, cluster_size=m, icc=0.075, r_prepost=0.6)


def test_simulation_check_reports_the_arms_of_the_simulated_study():
    design = StudyDesign.small().with_overrides({"orgs_per_area": 5, "areas": ["supervision"]})
    reps = simulation_check(design, area="supervision", seeds=[3])
    assert set(reps["n_intervention_orgs"]) == {5}
    assert set(reps["n_comparison_orgs"]) == {design.comparison_orgs}


@pytest.mark.filterwarnings(
    "ignore:mixed model. variance component:stseval.errors.EstimationWarning"
)
def test_explore_shows_simulating_first_and_the_real_arms(monkeypatch):
    import IPython.display as ipd

    from stseval import explorer, plots

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", getattr(obj, "data", obj)))

    def fake_display(obj, display_id=None, **kw):
        shown.append(("display", getattr(obj, "data", obj)))
        return Handle() if display_id else None

    monkeypatch.setattr(ipd, "display", fake_display)
    monkeypatch.setattr(plots, "show", lambda fig: None)
    explorer.explore(area="supervision", effect=-0.5, orgs_per_area=6, replications=1, seed=2)
    assert shown[0] == ("display", "*Simulating…*")
    assert shown[1][0] == "update"
    final = shown[-1][1]
    comparison = StudyDesign.small().comparison_orgs
    assert f"With 6 intervention and {comparison} comparison organizations" in final


def test_reliability_view_puts_each_interval_in_one_column():
    rel = pd.DataFrame(
        {
            "scale": ["Total", "Short"],
            "k": [17, 2],
            "n": [203, 210],
            "alpha": [0.9412, np.nan],
            "alpha_ci_low": [0.9231, np.nan],
            "alpha_ci_high": [0.9555, np.nan],
            "omega": [0.9461, np.nan],
            "omega_ci_low": [np.nan, np.nan],
            "omega_ci_high": [np.nan, np.nan],
            "alpha_published": [0.94, np.nan],
        }
    )
    v = reliability_view(rel)
    assert list(v.columns) == [
        "scale", "items", "staff", "alpha (interval)", "omega (interval)", "published alpha"
    ]  # fmt: skip
    assert v["alpha (interval)"].iloc[0] == "0.94 (0.92 to 0.96)"
    assert v["omega (interval)"].iloc[0] == "0.95 (interval not estimable)"
    assert v["published alpha"].tolist() == ["0.94", ""]


def test_factor_check_view_on_the_small_study(small_study):
    from stseval.factor import one_factor_check

    answers = small_study.responses[small_study.responses["wave"] == small_study.waves[0]]
    fit = one_factor_check(answers, instrument="org_guidance")
    v = factor_check_view(fit)
    assert len(v) == 7 and v["scale"].tolist() == fit["scale"].tolist()
    assert v["CFI"].iloc[0] == f"{fit['cfi'].iloc[0]:.3f}"
    assert (v["staff"] == fit["n"]).all()


def test_psychometrics_notebook_runs_on_the_small_study_with_the_factor_check(tmp_path):
    import papermill as pm

    out = tmp_path / "psy.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "psychometrics.ipynb"),
        str(out),
        parameters={"study_dir": str(ROOT / "data" / "synthetic" / "small"), "n_boot": 20},
        cwd=str(ROOT),
        progress_bar=False,
        kernel_name="python3",
    )
    nb = json.loads(out.read_text())
    html = " ".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )
    assert html.count("One-factor check per scale") == 1  # org_guidance only in this study
    assert "alpha (interval)" in html and "omega (interval)" in html
    progress = [
        o
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if "psychometrics" in json.dumps(o.get("data", {})) + "".join(o.get("text", ""))
    ]
    assert progress, "the progress bar is shown"
