"""Words of the issue-11 report sections (stseval._report_dose): chosen by the verdict rule.

Dose rows are associations (never an effect of practice); every indirect effect sentence
carries the sequential-ignorability assumption; individual-program rows say participants
were not randomized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stseval import _report_dose as rd
from stseval import dose
from stseval.study import Study
from stseval.verdict import add_verdicts


def _row(est, lo, hi, p, outcome="stss_total", **kw):
    base = dict(
        area="supervision",
        outcome=outcome,
        practice="org_guidance_supervision",
        estimator="dose_org",
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        p_adjusted=p,
        note="",
    )
    base.update(kw)
    return pd.Series(base)


@pytest.mark.parametrize(
    "row, words",
    [
        (_row(-3.0, -5.0, -1.0, 0.001), "clearly associated with lower secondary traumatic"),
        (_row(3.0, 1.0, 5.0, 0.001), "clearly associated with higher secondary traumatic"),
        (_row(-3.0, -5.0, 1.0, 0.2), "not clearly associated with a change"),
        # adjusted p above the threshold beside an interval excluding 0: the rule says unclear
        (_row(-3.0, -5.0, -1.0, 0.01, p_adjusted=0.08), "not clearly associated"),
        (_row(2.0, 1.0, 3.0, 0.001, outcome="proqol_cs"), "clearly associated with higher compa"),
        (_row(np.nan, np.nan, np.nan, np.nan, note="not estimable: 2 orgs"), "2 orgs"),
    ],
)
def test_dose_sentence_follows_the_verdict_and_says_association(row, words):
    text = rd.dose_sentence(row)
    assert words in text
    if np.isfinite(row["estimate"]):
        assert "association between organizations, not an effect of practice" in text
        # "effect" appears only in the denial
        assert text.count("effect") == 1


def test_dose_sentence_prints_the_adjusted_p_it_used():
    text = rd.dose_sentence(_row(-3.0, -5.0, -1.0, 0.01, p_adjusted=0.08))
    assert "adjusted p = 0.080" in text and "(95% interval −5.00 to −1.00" in text


def _med(ind, ind_ci, direct, direct_ci, p_ind, p_dir):
    rows = []
    for name, est, ci, p in [
        ("med_indirect", ind, ind_ci, p_ind),
        ("med_direct", direct, direct_ci, p_dir),
    ]:
        rows.append(
            dict(
                estimator=name,
                outcome="stss_total",
                estimate=est,
                ci_low=ci[0],
                ci_high=ci[1],
                p_value=p,
                p_adjusted=p,
                note="",
            )
        )
    return pd.DataFrame(rows)


def test_mediation_sentences_always_carry_the_assumption():
    clear = rd.mediation_sentences(_med(-2.0, (-3.0, -1.0), -0.5, (-2.0, 1.0), 0.001, 0.5))
    assert "indirect effect): −2.00 points" in clear and "clearly an improvement" in clear
    assert "direct effect): −0.50" in clear and "not clearly different from zero" in clear
    assert "sequential ignorability" in clear and "not randomized" in clear
    none = rd.mediation_sentences(
        _med(np.nan, (np.nan, np.nan), np.nan, (np.nan, np.nan), np.nan, np.nan)
    )
    assert "could not be estimated" in none and "sequential ignorability" in none


def test_dose_section_on_the_shipped_dose_study(shipped_synthetic):
    study = Study.from_dir(shipped_synthetic / "dose")
    sec = rd.dose_section(study, n_boot=200, outcomes=["stss_total", "proqol_bo"])
    t = sec.tables["dose"]
    assert list(t.columns) == dose.DOSE_COLUMNS
    assert set(t["area"]) == {"supervision", "workforce_support"}
    org = add_verdicts(t[t["estimator"] == "dose_org"])
    clear = org["verdict"].isin(["improved", "worsened"]).sum()
    # one "clearly associated" sentence per clear dose_org verdict, no more
    assert sec.markdown.count("was clearly associated") == clear
    assert sec.markdown.count("not clearly associated") == len(org) - clear
    med = sec.tables["mediation"]
    assert med["p_adjusted"].notna().all()
    # one per area beside the numbers, one in the limits paragraph
    assert sec.markdown.count("sequential ignorability") == 2 + 1
    assert rd.DOSE_LIMITS in sec.markdown
    assert " effect of practice." in sec.markdown and "caused" in sec.markdown


def test_individual_section_on_the_shipped_individual_study(shipped_synthetic):
    study = Study.from_dir(shipped_synthetic / "individual")
    assert rd.has_programs(study)
    sec = rd.individual_section(study)
    t = sec.tables["statements"]
    assert set(t["area"]) == set(study.programs["statement"])
    ancova = add_verdicts(t[t["estimator"] == "ancova"])
    better = (ancova["verdict"] == "improved").sum()
    assert sec.markdown.count("participants clearly did better") == better
    assert sec.markdown.count("not randomized") == len(ancova)


def test_studies_without_programs_or_dose_data_say_so(shipped_synthetic):
    study = Study.from_dir(shipped_synthetic / "small")
    assert not rd.has_programs(study)
    assert "no individual programs" in rd.individual_section(study).markdown
    r = study.responses
    meta = dict(study.meta)
    meta["waves"] = [study.waves[0]]
    with pytest.warns(UserWarning, match="one wave"):
        one_wave = study.replace(meta=meta, responses=r[r["wave"] == study.waves[0]])
    assert rd.has_dose_data(study) and not rd.has_dose_data(one_wave)
    assert "cannot answer" in rd.dose_section(one_wave).markdown


def test_team_assignment_has_no_organization_dose():
    """Teams changed, not whole organizations: the dose part says why it cannot answer."""
    from stseval import Study
    from stseval._report_dose import dose_section, has_dose_data

    study = Study.from_dir(Path(__file__).resolve().parents[1] / "data" / "synthetic" / "team_rct")
    assert not has_dose_data(study)
    assert "not some of their teams" in dose_section(study).markdown
