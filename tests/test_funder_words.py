"""The funder report's words follow the one verdict rule; page 1 says the design's limits first.

On the shipped default and small studies and on a simulated study of tiny organizations:
every sentence, badge and count the report functions print is parsed back and compared with
stseval.verdict.decide_verdict on the same row (adjusted p-value). The comparison-group
check is tested on hand-made data with a known answer and on the shipped default study,
where the comparison organizations' STSS rose by about 2.3 points.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import stseval
from stseval import report
from stseval.areas import STAFF_OUTCOMES, outcome_direction, outcome_label
from stseval.verdict import decide_verdict, verdict_phrase, verdict_symbol

ROOT = Path(__file__).resolve().parents[1]
PHRASES = {v: verdict_phrase(v) for v in ("improved", "worsened", "unclear", "not_estimable")}


def tiny_study():
    design = stseval.StudyDesign.small().model_copy(
        update={
            "name": "tiny-orgs",
            "areas": ("supervision", "training"),
            "teams_per_org": (1, 1),
            "workers_per_team": (3, 6),
            "comparison_orgs": 3,
        }
    )
    return stseval.simulate(design, seed=7)


@pytest.fixture(scope="module", params=["default", "small", "tiny"])
def case(request):
    if request.param == "tiny":
        study = tiny_study()
    else:
        study = stseval.Study.from_dir(ROOT / "data" / "synthetic" / request.param)
    areas = ["supervision", "training"]
    est = stseval.evaluate_all(study, areas=areas, outcomes=["stss_total", "proqol_bo"])
    return request.param, study, est


def _rule(row) -> str:
    direction = "higher" if row["estimator"] == "rci" else outcome_direction(row["outcome"])
    return decide_verdict(
        row["estimate"],
        row["ci_low"],
        row["ci_high"],
        row["p_adjusted"],
        p_value=row.get("p_value"),
        direction=direction,
    ).verdict


def _said(text: str) -> str:
    """The verdict a sentence states (exactly one phrase must appear)."""
    found = [v for v, p in PHRASES.items() if p in text]
    assert len(found) == 1, text
    return found[0]


def test_every_sentence_states_the_rule_verdict_on_the_adjusted_p(case):
    name, study, est = case
    prim = report.primary_estimates(est)
    assert len(prim) >= 4
    for row in prim.to_dict("records"):
        if not np.isfinite(float(row["estimate"])):
            continue
        want = _rule(row)
        assert _said(report.describe_estimate(row)) == want, (name, row)
        assert _said(report.describe_estimate(row, short=True)) == want, (name, row)
        if want == "unclear":
            assert "clearly" not in report.describe_estimate(row)


def test_verdict_column_badges_and_glance_agree_with_the_rule(case):
    _, _, est = case
    table = report.with_verdicts(est)
    assert table["verdict"].tolist() == [_rule(r) for r in est.to_dict("records")]
    glance = report.at_a_glance(est)
    prim = report.primary_estimates(est)
    for g, r in zip(glance.to_dict("records"), prim.to_dict("records"), strict=True):
        assert g["verdict"] == _rule(r)
        assert g["text"].startswith(verdict_symbol(_rule(r)) + " ")
    shown = report.estimates_table(est, primary_only=True)
    for badge, r in zip(shown["verdict"], prim.to_dict("records"), strict=True):
        assert badge.startswith(verdict_symbol(_rule(r)))


def _counts(text):
    m = re.search(
        r"Of (\d+) .*?, (\d+) clearly improved, (\d+) clearly worsened and (\d+) showed", text
    )
    assert m, text
    return tuple(int(x) for x in m.groups())


def test_counts_match_the_rows_they_count(case):
    _, _, est = case
    prim = report.primary_estimates(est)
    staff = prim[prim["outcome"].isin(STAFF_OUTCOMES)]
    verdicts = [_rule(r) for r in staff.to_dict("records")]
    want = (
        len(staff),
        verdicts.count("improved"),
        verdicts.count("worsened"),
        verdicts.count("unclear"),
    )
    assert _counts(report.overall_count(est)) == want
    bullets = report.summary_bullets(est).splitlines()
    for area, line in zip(report.areas_in(est), bullets, strict=True):
        sub = [v for v, a in zip(verdicts, staff["area"], strict=True) if a == area]
        n = (len(sub), sub.count("improved"), sub.count("worsened"), sub.count("unclear"))
        assert _counts(line) == n
        assert _counts(report.area_section(est, area)) == n
    text = report.summary_bullets(est) + "".join(report.area_section(est, a) for a in ["training"])
    assert "an improvement, but the interval includes zero" not in text
    assert "improved clearly" not in text


def test_design_limits_come_first_and_hold_no_verdict(case):
    name, study, est = case
    limits = report.design_limits(study)
    assert limits.startswith("**What this design can and cannot tell.**")
    assert not any(p in limits for p in PHRASES.values())
    assert "chose to change" in limits and "regression to the mean" in limits
    assert "same" in limits and "comparison organizations" in limits  # shared comparison
    if name in ("small", "tiny"):
        assert "few organizations" in limits.lower()


def test_notebook_puts_the_limits_before_the_first_verdict():
    nb = json.loads((ROOT / "notebooks" / "funder_report.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    first = lambda needle: next(i for i, s in enumerate(sources) if needle in s)
    limits = first("report.design_limits(")
    verdicts = [
        first(n)
        for n in (
            "report.at_a_glance(",
            "report.overall_count(",
            "report.summary_bullets(",
            "report.area_section(",
        )
    ]
    assert limits < min(verdicts)
    assert first("report.comparison_check_text(") < min(verdicts)
    assert first("report.with_verdicts(") < min(verdicts)


def test_design_limits_follow_the_design():
    base = dict(
        describe=lambda: "2 waves, anonymous, 1 organization, no comparison group",
        comparison="none",
        linkage="anonymous",
        assignment="org",
        n_orgs=1,
        n_comparison_orgs=0,
    )
    study = SimpleNamespace(
        design=SimpleNamespace(**base),
        interventions=pd.DataFrame({"org_id": ["A"], "area": ["training"]}),
    )
    text = report.design_limits(study)
    assert "no comparison group" in text and "no estimate here is the effect" in text
    assert "anonymous" in text and "one organization" in text
    assert "comparison organizations" not in text  # nothing shared without a comparison group


# -- the comparison-group check ----------------------------------------------------------
def _fake_study(comp_shift, changed_shift, seed=0, n_orgs=6, n=30):
    rng = np.random.default_rng(seed)
    rows, orgs = [], []
    for g in range(2 * n_orgs):
        org = f"O{g}"
        orgs.append(org)
        shift = comp_shift if g < n_orgs else changed_shift
        org_effect = rng.normal(0, 0.3)
        for i in range(n):
            pre = 40 + rng.normal(0, 5)
            post = pre + shift + org_effect + rng.normal(0, 2)
            w = f"{org}-{i}"
            rows += [
                {"worker_id": w, "org_id": org, "wave": "pre", "stss_total": pre},
                {"worker_id": w, "org_id": org, "wave": "post", "stss_total": post},
            ]
    scored = pd.DataFrame(rows)
    changed = orgs[n_orgs:]
    return SimpleNamespace(
        design=SimpleNamespace(comparison="chosen", n_waves=2, linked=True),
        waves=["pre", "post"],
        orgs=pd.DataFrame({"org_id": orgs}),
        interventions=pd.DataFrame({"org_id": changed, "area": "training"}),
        scored=lambda: scored,
        score_columns=lambda: ["stss_total"],
    ), scored


def test_comparison_check_estimate_is_the_mean_paired_change():
    study, scored = _fake_study(3.0, 0.0)
    check = report.comparison_check(study)
    wide = scored.pivot_table(index=["worker_id", "org_id"], columns="wave", values="stss_total")
    d = (wide["post"] - wide["pre"]).reset_index()
    comp = d[d["org_id"].isin([f"O{g}" for g in range(6)])][0]
    row = check.iloc[0]
    assert row["comparison_change"] == pytest.approx(comp.mean())
    assert row["comparison_orgs"] == 6 and row["changed_orgs"] == 6
    assert row["comparison_ci_low"] < comp.mean() < row["comparison_ci_high"]


@pytest.mark.parametrize(
    "comp,changed,signals,lean",
    [
        (3.0, 0.0, True, "improvement"),  # comparison worse on its own: estimates look better
        (-3.0, 0.0, True, "worse"),  # comparison improved on its own
        (3.0, 3.0, False, ""),  # a trend shared by everybody: what a comparison is for
        (0.0, -3.0, False, ""),  # only the organizations that changed moved
    ],
)
def test_comparison_check_rule(comp, changed, signals, lean):
    study, _ = _fake_study(comp, changed)
    row = report.comparison_check(study).iloc[0]
    assert bool(row["signals"]) is signals and row["lean"] == lean
    text = report.comparison_check_text(report.comparison_check(study))
    if signals:
        word = "rose" if comp > 0 else "fell"
        size = f"{abs(row['comparison_change']):.1f}"
        assert f"secondary traumatic stress (STSS total) {word} by {size} points" in text
        assert ("leans toward improvement" in text) == (lean == "improvement")
    else:
        assert text == ""


def test_comparison_check_signals_on_the_shipped_default_study():
    study = stseval.Study.from_dir(ROOT / "data" / "synthetic" / "default")
    check = report.comparison_check(study).set_index("outcome")
    stss = check.loc["stss_total"]
    assert stss["signals"] and stss["lean"] == "improvement"
    assert stss["comparison_change"] == pytest.approx(2.29, abs=0.05)
    assert stss["comparison_ci_low"] > 0 and stss["changed_ci_low"] < 0
    text = report.comparison_check_text(check.reset_index())
    assert outcome_label("stss_total") + " rose by 2.3 points" in text


def test_report_check_box_counts_covered_intervals():
    study = stseval.Study.from_dir(ROOT / "data" / "synthetic" / "small")
    est = stseval.evaluate_all(study, areas=["supervision"], outcomes=["stss_total"])
    check = report.truth_check(est, study)
    k = int((check["covered"] == "yes").sum())
    box = report.report_check(est, study)
    assert f"**{k} of {len(check)}**" in box and "appendix" in box
    assert report.report_check(est, SimpleNamespace(truth=None)) == ""


def test_glance_keeps_every_later_wave():
    est = pd.DataFrame(
        {
            "area": ["training"] * 2,
            "outcome": ["stss_total"] * 2,
            "estimator": ["ancova"] * 2,
            "estimate": [-2.0, -1.0],
            "ci_low": [-3.0, -2.5],
            "ci_high": [-1.0, 0.5],
            "p_adjusted": [0.01, 0.2],
            "wave": ["post", "follow_up"],
        }
    )
    wide = report.at_a_glance_wide(report.at_a_glance(est))
    label = outcome_label("stss_total")
    assert wide.loc[0, f"{label}, post"] == "\u2713 \u22122.0 (\u22123.0 to \u22121.0)"
    assert wide.loc[0, f"{label}, follow_up"].startswith("\u2013 ")
