"""Tests of the simulator's study shapes (issue 10 item 3): presets, truth per wave and cohort,
and one simulation-with-known-truth check per feature.

Recovery checks compare a plain difference in differences of observed means
(all answers at each wave, treated minus comparison) with the truth table.
The SE is the large-sample SE of a difference of overlapping means (the same
formula as ``test_difference_in_differences_recovers_the_truth``); org and
team effects cancel in a change, so workers are the right unit, and the
tolerance is 4 SE (a false alarm about once in 16,000 runs per check).
Rates are checked against binomial SEs in the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stseval._simengine import MISSING, fast_scale_scores, run
from stseval.errors import UsageError
from stseval.instruments import load_instrument
from stseval.scoring import score
from stseval.synthetic import PRESET_NAMES, StudyDesign, simulate

NEW_PRESETS = ("single_org", "anonymous", "coded", "three_wave", "staggered", "team_rct")


def _did(scored, treated_workers, control_workers, first, later, outcome):
    """Treated minus control change in mean ``outcome`` from ``first`` to ``later``, and its SE."""
    est, var = 0.0, 0.0
    for workers, sign in ((treated_workers, 1), (control_workers, -1)):
        d = scored[scored["worker_id"].isin(workers)]
        a = d[d["wave"] == first].set_index("worker_id")[outcome].dropna()
        b = d[d["wave"] == later].set_index("worker_id")[outcome].dropna()
        both = a.index.intersection(b.index)
        cov = np.cov(a[both], b[both])[0, 1] if len(both) > 1 else 0.0
        est += sign * (b.mean() - a.mean())
        var += a.var() / len(a) + b.var() / len(b) - 2 * cov * len(both) / (len(a) * len(b))
    return est, float(np.sqrt(var))


def _truth(study, **where) -> float:
    t = study.truth
    mask = np.ones(len(t), dtype=bool)
    for col, value in where.items():
        mask &= (t[col].fillna("") == value).to_numpy()
    assert mask.sum() == 1, where
    return float(t.loc[mask, "value"].iloc[0])


# -- presets ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_simulates_with_truth_for_every_later_wave(name):
    design = StudyDesign.preset(name)
    s = simulate(design, seed=4)
    assert s.waves == design.wave_names and set(s.responses["wave"]) == set(design.wave_names)
    t = s.truth
    scores = t[~t["outcome"].isin(["separation_rate", "absence_rate"])]
    later = design.wave_names[1:]
    if "wave" in t:
        assert set(scores["wave"]) == set(later)
    else:
        assert len(later) == 1
    per_area = scores.groupby("area").size()
    statements = {st for p in design.programs for st in p.statements}  # program truth rows
    assert set(per_area.index) == set(design.areas) | statements
    assert (per_area > 0).all() and scores["value"].notna().all()
    if name == "null":
        assert (t["value"] == 0).all()
    else:
        assert (t.loc[t["outcome"] == "stss_total", "value"] != 0).any()


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_nullified_design_has_zero_truth(name):
    design = StudyDesign.preset(name, null=True)
    assert design == StudyDesign.preset(name).nullified()
    s = simulate(design.with_overrides({"orgs_per_area": 2}), seed=8)
    assert len(s.truth) and (s.truth["value"] == 0).all()


def test_design_block_of_study_yaml():
    expect = {
        "default": None,
        "small": None,
        "single_org": ("linked", "org", "none"),
        "anonymous": ("anonymous", "org", "chosen"),
        "coded": ("code", "org", "chosen"),
        "team_rct": ("linked", "team", "randomized"),
    }
    for name, want in expect.items():
        meta = simulate(StudyDesign.preset(name), seed=1).meta
        if want is None:
            assert "design" not in meta
            continue
        block = meta["design"]
        assert (block["linkage"], block["assignment"], block["comparison"]) == want
        codes = ["sgic_initial", "sgic_birth_month", "sgic_sibling"] if name == "coded" else []
        assert block["link_code_columns"] == codes


def test_staggered_truth_has_every_cohort_at_every_wave_after_its_start():
    d = StudyDesign.staggered()
    s = simulate(d, seed=2)
    t = s.truth[s.truth["outcome"] == "stss_total"]
    pairs = set(zip(t["wave"], t["cohort"].fillna(""), strict=True))
    names = d.wave_names
    want = {(names[w], names[c]) for w in range(1, 4) for c in range(1, w + 1)}
    want |= {(names[w], "") for w in range(1, 4)}
    assert pairs == want
    ind = s.truth[s.truth["outcome"] == "separation_rate"]
    assert set(ind["cohort"].fillna("")) == {"", "t1", "t2", "t3"} and ind["wave"].isna().all()


def test_start_dates_and_metrics_follow_the_cohorts():
    d = StudyDesign.staggered()
    s = simulate(d, seed=2)
    waves = {w.name: pd.Timestamp(w.date) for w in d.wave_schedule()}
    window = pd.Timedelta(days=d.survey_window_days)
    starts = s.interventions.set_index("org_id")["start_date"]
    cohort_of = {}
    for org, start in starts.items():
        later = [n for n, day in waves.items() if day > start]
        cohort_of[org] = later[0]
        before = [n for n, day in waves.items() if day < start][-1]
        assert start >= waves[before] + window  # not during a survey window
    assert pd.Series(cohort_of).value_counts().to_dict() == {"t1": 4, "t2": 4, "t3": 4}
    m = s.org_metrics.groupby("org_id")["month"].agg(["min", "max"])
    for org, start in starts.items():
        assert m.loc[org, "min"] <= start - pd.DateOffset(months=d.metrics_months)
        assert m.loc[org, "max"] >= start + pd.DateOffset(months=d.metrics_months - 1)


def test_design_checks_name_the_problem():
    d = StudyDesign.default()
    bad = {
        "waves": [{"name": "pre", "date": "2024-03-04"}, {"name": "pre", "date": "2025-03-03"}],
    }
    with pytest.raises(UsageError, match="listed twice"):
        d.with_overrides(bad)
    with pytest.raises(UsageError, match="must start after the pre survey window"):
        d.with_overrides(
            {"waves": [{"name": "pre", "date": "2024-03-04"}, {"name": "b", "date": "2024-03-10"}]}
        )
    with pytest.raises(UsageError, match="effect_by_wave needs one multiplier per later wave"):
        d.with_overrides({"effect_by_wave": [1.0, 0.5]})
    with pytest.raises(UsageError, match="start_cohorts must be between 1"):
        d.with_overrides({"start_cohorts": 2})
    with pytest.raises(UsageError, match="either waves"):
        StudyDesign.three_wave().with_overrides({"follow_up": True})
    with pytest.raises(UsageError, match="selection_strength must be 0"):
        d.with_overrides({"comparison": "randomized", "selection_strength": 1})
    with pytest.raises(UsageError, match="at least 2 teams"):
        d.with_overrides({"assignment": "team", "teams_per_org": [1, 3]})
    with pytest.raises(UsageError, match="unknown sgic_elements"):
        d.with_overrides({"linkage": "code", "sgic_elements": ["shoe_size"]})
    with pytest.raises(UsageError, match="linkage"):
        d.with_overrides({"linkage": "hashed"})
    with pytest.raises(UsageError, match="unknown design preset"):
        StudyDesign.preset("huge")
    assert d.with_overrides({"follow_up": True}).wave_names == ["pre", "post", "follow_up"]
    assert d.with_overrides({"follow_up": True}).wave_effects() == [1.0, 0.7]


# -- recovery of the truth, one feature at a time -------------------------------------
def _arm_workers(study, area):
    w = study.workers
    changed = set(study.interventions.loc[study.interventions["area"] == area, "org_id"])
    comparison = set(study.orgs["org_id"]) - set(study.interventions["org_id"])
    return (
        w.loc[w["org_id"].isin(changed), "worker_id"],
        w.loc[w["org_id"].isin(comparison), "worker_id"],
    )


def test_three_waves_recover_the_truth_at_every_later_wave():
    d = StudyDesign.three_wave().with_overrides(
        {"areas": ["supervision"], "orgs_per_area": 120, "comparison_orgs": 120}
    )
    s = simulate(d, seed=31)
    scored = s.scored()
    treated, control = _arm_workers(s, "supervision")
    for wave in ("post", "follow_up"):
        for outcome in ("stss_total", "proqol_bo", "org_guidance_supervision"):
            est, se = _did(scored, treated, control, "pre", wave, outcome)
            truth = _truth(s, outcome=outcome, estimand="att", wave=wave)
            assert abs(est - truth) < 4 * se, (wave, outcome, est, truth, se)
    post = _truth(s, outcome="stss_total", estimand="att", wave="post")
    fu = _truth(s, outcome="stss_total", estimand="att", wave="follow_up")
    assert fu / post == pytest.approx(0.6, abs=0.05)  # effect_by_wave (1.0, 0.6)


def test_staggered_cohorts_recover_the_truth_per_cohort_and_wave():
    d = StudyDesign.staggered().with_overrides({"orgs_per_area": 240, "comparison_orgs": 100})
    s = simulate(d, seed=32)
    scored = s.scored()
    waves = {w.name: pd.Timestamp(w.date) for w in d.wave_schedule()}
    starts = s.interventions.set_index("org_id")["start_date"]
    cohort = starts.map(lambda day: next(n for n, t in waves.items() if t > day))
    _, control = _arm_workers(s, "supervision")
    for c, w in (("t1", "t1"), ("t1", "t3"), ("t2", "t2"), ("t3", "t3")):
        orgs = cohort[cohort == c].index
        treated = s.workers.loc[s.workers["org_id"].isin(orgs), "worker_id"]
        est, se = _did(scored, treated, control, "t0", w, "stss_total")
        truth = _truth(s, outcome="stss_total", estimand="att", wave=w, cohort=c)
        assert abs(est - truth) < 4 * se, (c, w, est, truth, se)
    # Effects grow with exposure: cohort t1 at t3 (3rd wave after start) > at t1.
    assert _truth(s, outcome="stss_total", estimand="att", wave="t3", cohort="t1") < 1.5 * _truth(
        s, outcome="stss_total", estimand="att", wave="t1", cohort="t1"
    )


def test_randomized_team_assignment_is_balanced_and_recovers_the_truth():
    d = StudyDesign.team_rct().with_overrides({"orgs_per_area": 150})
    s = simulate(d, seed=33)
    inter = s.interventions
    assert list(inter.columns) == ["org_id", "area", "start_date", "team_id"]
    teams = s.workers.groupby("org_id")["team_id"].nunique()
    changed = inter.groupby("org_id")["team_id"].nunique()
    assert ((changed - teams // 2).between(0, 1) & (changed <= teams - teams // 2)).all()
    treated = s.workers.loc[s.workers["team_id"].isin(inter["team_id"]), "worker_id"]
    control = s.workers.loc[~s.workers["team_id"].isin(inter["team_id"]), "worker_id"]
    scored = s.scored()
    pre = scored[scored["wave"] == "pre"].set_index("worker_id")["stss_total"]
    a, b = pre[pre.index.isin(treated)].dropna(), pre[pre.index.isin(control)].dropna()
    # Balance: org effects cancel (both arms in every org); team clustering (observed ICC
    # ~.07, ~7 workers a team: design effect ~1.4) inflates the SE ~x1.2; x1.4 is generous.
    se = np.sqrt(a.var() / len(a) + b.var() / len(b)) * 1.4
    assert abs(a.mean() - b.mean()) < 4 * se
    est, se = _did(scored, treated, control, "pre", "post", "stss_total")
    truth = _truth(s, outcome="stss_total", estimand="att")
    assert abs(est - truth) < 4 * se and truth < -4 * se


def test_selection_puts_worse_off_orgs_into_the_intervention_and_regresses_to_the_mean():
    base = {"areas": ["supervision"], "orgs_per_area": 100, "comparison_orgs": 200}
    rtm = {"selection_strength": 1.5, "org_wave_icc": 0.08}
    plain = StudyDesign.null().with_overrides(base)
    chosen = plain.with_overrides(rtm)
    results = {}
    for label, design in (("random", plain), ("chosen", chosen)):
        s = simulate(design, seed=34)
        scored = s.scored()
        treated, control = _arm_workers(s, "supervision")
        pre = scored[scored["wave"] == "pre"].groupby("org_id")["stss_total"].mean()
        arm = pre.index.isin(s.interventions["org_id"])
        gap = pre[arm].mean() - pre[~arm].mean()
        gap_se = np.sqrt(pre[arm].var() / arm.sum() + pre[~arm].var() / (~arm).sum())
        results[label] = (gap, gap_se, _did(scored, treated, control, "pre", "post", "stss_total"))
    gap, gap_se, (did, did_se) = results["random"]
    assert abs(gap) < 4 * gap_se and abs(did) < 4 * did_se  # no selection, no effect: nothing
    gap, gap_se, (did, did_se) = results["chosen"]
    assert gap > 4 * gap_se  # treated orgs start worse off
    assert did < -4 * did_se  # and "improve" with no effect at all: regression to the mean
    # Selection alone brings a transient org x wave shock by default (so RTM is in the data).
    assert StudyDesign().with_overrides({"selection_strength": 1}).wave_shock_share == 0.03
    assert StudyDesign().wave_shock_share == 0.0


def test_chosen_teams_are_the_worse_off_teams():
    d = StudyDesign.team_rct().with_overrides(
        {"orgs_per_area": 150, "comparison": "chosen", "selection_strength": 2.0}
    )
    s = simulate(d.nullified(), seed=39)
    scored = s.scored()
    pre = scored[scored["wave"] == "pre"].groupby("team_id")["stss_total"].mean()
    chosen = pre.index.isin(s.interventions["team_id"])
    gap = pre[chosen].mean() - pre[~chosen].mean()
    se = np.sqrt(pre[chosen].var() / chosen.sum() + pre[~chosen].var() / (~chosen).sum())
    assert gap > 4 * se


def test_wave_count_shorthand_spaces_waves_six_months_apart():
    d = StudyDesign.default().with_overrides({"waves": "5", "start_cohorts": 3})
    assert d.wave_names == ["t0", "t1", "t2", "t3", "t4"]
    days = [w.date for w in d.wave_schedule()]
    assert [
        (b.year - a.year) * 12 + b.month - a.month for a, b in zip(days[:-1], days[1:], strict=True)
    ] == [6] * 4
    assert d.wave_effects() == [1.0, 0.7, 0.7**2, 0.7**3]
    assert StudyDesign.from_dict(d.to_dict()) == d


def test_multi_area_orgs_change_several_areas_and_comparison_orgs_none():
    d = StudyDesign.default().with_overrides(
        {"multi_area_share": 0.4, "multi_area_count": 3, "orgs_per_area": 30}
    )
    s = simulate(d, seed=35)
    per_org = s.interventions.groupby("org_id")["area"].nunique()
    n = len(per_org)
    assert set(per_org.unique()) == {1, 3}
    share = (per_org == 3).mean()
    assert abs(share - 0.4) < 4 * np.sqrt(0.4 * 0.6 / n)
    assert len(s.orgs) - n == d.comparison_orgs
    assert (s.interventions.groupby("org_id")["start_date"].nunique() == 1).all()
    treated, control = _arm_workers(s, "training")
    est, se = _did(s.scored(), treated, control, "pre", "post", "org_guidance_training")
    assert abs(
        est - _truth(s, area="training", outcome="org_guidance_training", estimand="att")
    ) < (4 * se)


def test_no_comparison_group_with_one_or_several_orgs():
    for orgs in (1, 4):
        d = StudyDesign.single_org().with_overrides({"orgs_per_area": orgs})
        s = simulate(d, seed=36)
        assert set(s.interventions["org_id"]) == set(s.orgs["org_id"])
        assert len(s.orgs) == orgs and s.meta["design"]["comparison"] == "none"
        sd = s.truth[s.truth["estimand"] == "att_sd"]["value"]
        assert sd.notna().all() and (sd != 0).all()


# -- linkage ----------------------------------------------------------------------------
def test_anonymous_waves_have_a_new_id_per_response():
    s, key = run(StudyDesign.anonymous(), 37, return_key=True)
    r, w = s.responses, s.workers
    assert r["worker_id"].is_unique and len(w) == len(r)
    assert set(w["worker_id"]) == set(r["worker_id"])
    assert not any(c.startswith("sgic_") for c in r.columns)
    linked = simulate(StudyDesign.anonymous().with_overrides({"linkage": "linked"}), seed=37)
    people = linked.workers.set_index("worker_id")
    # Each respondent row belongs to the org and team of the person who answered.
    k = key.set_index("worker_id").loc[w["worker_id"]]
    assert (w["org_id"].to_numpy() == people.loc[k["person_id"], "org_id"].to_numpy()).all()
    assert (w["team_id"].to_numpy() == people.loc[k["person_id"], "team_id"].to_numpy()).all()
    # IDs carry no order: the first wave's IDs are not the lowest ones.
    first = r.loc[r["wave"] == "pre", "worker_id"]
    assert first.max() > r.loc[r["wave"] == "post", "worker_id"].min()
    # Answers are the linked study's answers (only IDs differ).
    merged = r.merge(key, on=["worker_id", "wave"]).sort_values(["person_id", "wave"])
    plain = linked.responses.sort_values(["worker_id", "wave"])
    np.testing.assert_array_equal(
        merged["stss_01"].to_numpy(dtype=float, na_value=np.nan),
        plain["stss_01"].to_numpy(dtype=float, na_value=np.nan),
    )


def test_self_generated_codes_match_true_pairs_at_the_expected_rate():
    """True pairs match exactly with P = (1 - misremember) (1 - unusable)^2 = .767 by default."""
    d = StudyDesign.coded().with_overrides({"orgs_per_area": 60, "comparison_orgs": 60})
    s, key = run(d, 38, return_key=True)
    cols = s.meta["design"]["link_code_columns"]
    codes = s.responses[["worker_id", *cols]].merge(key, on="worker_id")
    pre = codes[codes["wave"] == "pre"].set_index("person_id")[cols]
    post = codes[codes["wave"] == "post"].set_index("person_id")[cols]
    both = pre.index.intersection(post.index)
    a, b = pre.loc[both].astype(str), post.loc[both].astype(str)
    usable = pre.loc[both].notna().all(axis=1) & post.loc[both].notna().all(axis=1)
    same = (a == b).all(axis=1) & usable
    p = 0.85 * 0.95**2
    assert abs(same.mean() - p) < 4 * np.sqrt(p * (1 - p) / len(both))
    # A misremembered code differs from the true one in exactly one element.
    differ = (a != b).sum(axis=1)[usable & ~same]
    assert len(differ) > 0 and (differ == 1).all()
    assert abs((~usable).mean() - (1 - 0.95**2)) < 4 * np.sqrt(0.0975 * 0.9025 / len(both))
    # Pre-wave codes do not identify people uniquely: chance collisions exist.
    full = pre.dropna().astype(str).agg("|".join, axis=1)
    assert full.duplicated().any()
    assert s.responses["sgic_initial"].dropna().str.fullmatch("[A-Z]").all()
    assert pd.to_numeric(s.responses["sgic_birth_month"].dropna()).between(1, 12).all()


# -- the truth's scorer -----------------------------------------------------------------
@pytest.mark.parametrize("key", ["pcl5", "pss10", "proqol"])
def test_fast_scorer_handles_zero_based_answers(key):
    """Answers of 0 are valid on 0-based instruments (PCL-5, PSS-10): only MISSING is blank."""
    inst = load_instrument(key)
    rng = np.random.default_rng(5)
    lo, hi = inst.response.min, inst.response.max
    block = rng.integers(lo, hi + 1, size=(inst.n_items, 400)).astype(np.int8)
    block[rng.random(block.shape) < 0.1] = MISSING
    frame = pd.DataFrame(
        {
            c: pd.array(np.where(row == MISSING, None, row), dtype="Int8")
            for c, row in zip(inst.item_columns, block, strict=True)
        }
    )
    frame.insert(0, "worker_id", [f"W{i}" for i in range(400)])
    ref = score(frame, [inst])
    for scale in inst.scales:
        np.testing.assert_allclose(
            fast_scale_scores(block, inst, scale), ref[f"{key}_{scale}"].to_numpy(dtype=float)
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {"linkage": "code", "waves": 4, "start_cohorts": 3, "multi_area_share": 0.5},
        {"linkage": "anonymous", "assignment": "team", "waves": 4, "start_cohorts": 3},
        {"assignment": "team", "comparison_orgs": 0, "selection_strength": 1.0},
        {"selection_strength": 1.0, "org_wave_icc": 0.05, "comparison_orgs": 0, "waves": 3},
        {"multi_area_share": 1.0, "multi_area_count": 3, "follow_up": True},
    ],
)
def test_feature_combinations_have_a_complete_truth(overrides):
    """Few orgs per area and cohort: no truth row may be NaN (groups not yet treated are left out)."""
    base = {"orgs_per_area": 2, "areas": ["supervision", "culture", "training"]}
    design = StudyDesign.small().with_overrides({**base, **overrides})
    s = simulate(design, seed=40)
    assert len(s.truth) and s.truth["value"].notna().all()
    assert set(s.responses["wave"]) == set(design.wave_names)


def test_own_area_truth_of_multi_area_orgs():
    """Every org changes training and supervision; supervision does nothing to STS.

    So, exactly: the STSS effect of supervision's own change is 0 and that of
    training's own change is the whole STSS effect (the same item draws give
    all three potential answers). Burnout moves with both, so there each
    own effect is smaller in size than the total.
    """
    d = StudyDesign.small().with_overrides(
        {
            "areas": ["training", "supervision"],
            "orgs_per_area": 6,
            "multi_area_share": 1.0,
            "effects.supervision.sts": 0.0,
        }
    )
    s = simulate(d, seed=41)
    assert (s.interventions.groupby("org_id")["area"].nunique() == 2).all()
    stss = dict(outcome="stss_total")
    assert _truth(s, area="supervision", estimand="att_own", **stss) == 0.0
    total = _truth(s, area="training", estimand="att", **stss)
    assert _truth(s, area="training", estimand="att_own", **stss) == total != 0
    bo_total = _truth(s, area="training", outcome="proqol_bo", estimand="att")
    for area in ("training", "supervision"):
        own = _truth(s, area=area, outcome="proqol_bo", estimand="att_own")
        assert 0 < own / bo_total < 1
    single = simulate(StudyDesign.small(), seed=41)
    assert "att_own" not in set(single.truth["estimand"])
