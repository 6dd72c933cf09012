"""Tests of stseval.report: aggregate tables, suppression, sentences, IDs (no notebooks run)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stseval
from stseval import report, reshape
from stseval.areas import AREA_KEYS, get_area
from stseval.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "data" / "synthetic" / "small"


@pytest.fixture(scope="module")
def study():
    if (SMALL / "study.yaml").is_file():
        return stseval.Study.from_dir(SMALL)
    return stseval.simulate(stseval.StudyDesign.small(), seed=1)


def _snapshot(study):
    return {
        n: getattr(study, n).copy()
        for n in ("workers", "responses", "orgs", "interventions", "org_metrics")
    }


# -- finding things -----------------------------------------------------------------
def test_resolve_path_from_another_folder(tmp_path, monkeypatch):
    # a notebook runs in notebooks/ or workspace/: its defaults are relative to the folder above
    monkeypatch.chdir(ROOT / "notebooks")
    assert report.resolve_path("data/synthetic") == (ROOT / "data" / "synthetic").resolve()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.txt").write_text("x")
    assert report.resolve_path("here.txt") == (tmp_path / "here.txt").resolve()
    with pytest.raises(UsageError, match="data/synthetic was not found"):
        report.resolve_path("data/synthetic")  # no hidden lookup in the kit's own checkout


def test_resolve_path_missing_names_the_places(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no/such/folder was not found; looked in"):
        report.resolve_path("no/such/folder")
    with pytest.raises(UsageError, match="path is required"):
        report.resolve_path("")


def test_output_dir_empty_gives_new_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    a, b = report.output_dir(""), report.output_dir(None)
    assert a != b and a.is_dir() and a.parent == tmp_path
    assert report.output_dir(tmp_path / "x" / "y") == (tmp_path / "x" / "y").resolve()


def test_read_area_estimates_concatenates_and_recomputes_fdr(tmp_path):
    rows = []
    for area, p in (("training", [0.01, 0.04]), ("policies", [0.03, 0.5])):
        t = pd.DataFrame(
            {
                "area": area,
                "outcome": ["stss_total", "proqol_bo"],
                "estimator": "ancova",
                "estimate": [-1.0, -2.0],
                "p_value": p,
                "note": ["", "x"],
                "n_workers": [10, 11],
            }
        )
        (tmp_path / "areas" / area).mkdir(parents=True)
        t.to_csv(tmp_path / "areas" / area / "estimates.csv", index=False)
        rows.append(t)
    est = report.read_area_estimates(tmp_path)
    assert list(est["area"]) == ["policies", "policies", "training", "training"]  # guidance order
    # BH by hand over the four p-values 0.01, 0.03, 0.04, 0.5: 0.04, 0.0533, 0.0533, 0.5
    expect = {0.03: 0.04 * 4 / 3, 0.5: 0.5, 0.01: 0.04, 0.04: 0.04 * 4 / 3}
    for p, q in zip(est["p_value"], est["p_fdr_all_areas"], strict=True):
        assert q == pytest.approx(expect[p])
    assert est["note"].tolist() == ["", "x", "", "x"]
    with pytest.raises(UsageError, match="no estimates.csv found"):
        report.read_area_estimates(tmp_path / "areas" / "training")


# -- participant flow ------------------------------------------------------------------
def test_participant_flow_counts_by_hand(study):
    before = _snapshot(study)
    flow = report.participant_flow(study, "supervision", min_cell=1)  # nothing hidden
    assert list(flow.columns) == report.FLOW_COLUMNS
    arms = reshape.arms(study, "supervision")
    scored = study.scored()
    for arm in ("intervention", "comparison"):
        orgs = set(arms.loc[arms["arm"] == arm, "org_id"])
        ids = set(study.workers.loc[study.workers["org_id"].isin(orgs), "worker_id"])
        pre = set(study.responses.loc[study.responses["wave"] == "pre", "worker_id"]) & ids
        post = set(study.responses.loc[study.responses["wave"] == "post", "worker_id"]) & ids
        s = scored.dropna(subset=["stss_total"])
        both = (
            set(s.loc[s["wave"] == "pre", "worker_id"])
            & set(s.loc[s["wave"] == "post", "worker_id"])
            & ids
        )
        got = flow[flow["arm"] == arm].set_index("stage")["workers"]
        assert got["invited"] == len(ids)
        assert got["responded pre"] == len(pre)
        assert got["responded post"] == len(post)
        assert got["analysed"] == len(both)
        assert flow[(flow["arm"] == arm) & (flow["stage"] == "invited")]["orgs"].iloc[0] == len(
            orgs
        )
    for name, frame in before.items():  # caller's tables untouched
        pd.testing.assert_frame_equal(frame, getattr(study, name))


def test_participant_flow_suppresses_and_marks_small_cells(study):
    arms = reshape.arms(study, "supervision")
    n_cmp = int(study.workers["org_id"].isin(arms.loc[arms["arm"] == "comparison", "org_id"]).sum())
    n_int = int(
        study.workers["org_id"].isin(arms.loc[arms["arm"] == "intervention", "org_id"]).sum()
    )
    min_cell = min(n_cmp, n_int) + 1  # the smaller arm is below min_cell at every stage
    small = "comparison" if n_cmp < n_int else "intervention"
    exact = report.participant_flow(study, "supervision", min_cell=1)
    flow = report.participant_flow(study, "supervision", min_cell=min_cell)
    mine = flow["arm"] == small
    nonzero = exact["workers"] > 0
    assert flow.loc[mine & nonzero, "workers"].isna().all()
    assert flow.loc[mine & nonzero, "pct_of_invited"].isna().all()
    assert (flow.loc[mine & nonzero, "note"] == f"workers: fewer than {min_cell}").all()
    shown = flow["workers"].dropna()
    assert not ((shown > 0) & (shown < min_cell)).any()  # no small count anywhere
    html = report.html_table(flow).data
    body = html.split("<tbody>")[1]
    hidden = int((mine & nonzero).sum())
    assert body.count(f'<td class="suppressed">fewer than {min_cell}</td>') == hidden
    # shown counts are the true counts
    both = flow["workers"].notna()
    assert (flow.loc[both, "workers"] == exact.loc[both, "workers"]).all()


def test_flow_of_23_responders_and_22_analysed_hides_the_difference(study):
    """Issue 12: 'responded post 23, analysed 22' must not both be shown."""
    from stseval.disclosure import protect_tables  # noqa: F401  (the machinery under test)

    for area in ("supervision", "training", None):
        flow = report.participant_flow(study, area, min_cell=5)
        exact = report.participant_flow(study, area, min_cell=1).set_index(["stage", "arm"])
        for arm in ("intervention", "comparison"):
            got = flow[flow["arm"] == arm].set_index("stage")["workers"]
            post, analysed = got["responded post"], got["analysed"]
            truth = (
                exact.loc[("responded post", arm), "workers"]
                - exact.loc[("analysed", arm), "workers"]
            )
            if 0 < truth < 5:
                assert np.isnan(post) or np.isnan(analysed), (area, arm)


def test_participant_flow_any_area(study):
    flow = report.participant_flow(study)
    invited = flow[flow["stage"] == "invited"].set_index("arm")["workers"]
    changed = set(study.interventions["org_id"])
    assert invited["intervention"] == study.workers["org_id"].isin(changed).sum()
    assert invited.sum() == len(study.workers)


# -- summaries ---------------------------------------------------------------------------
def test_outcome_summary_means_by_hand(study):
    summ = report.outcome_summary(study, "training", ["stss_total"], min_cell=1)
    assert list(summ.columns) == report.SUMMARY_COLUMNS
    arms = reshape.arms(study, "training")
    scored = study.scored().merge(arms, on="org_id")
    for rec in summ.to_dict("records"):
        y = scored.loc[
            (scored["arm"] == rec["arm"]) & (scored["wave"] == rec["wave"]), "stss_total"
        ].dropna()
        assert rec["workers"] == len(y)
        assert rec["mean"] == pytest.approx(y.mean())
        assert rec["ci_low"] < rec["mean"] < rec["ci_high"]


def test_outcome_summary_small_cells_blank_both_arms(study):
    summ = report.outcome_summary(study, "training", ["stss_total"], min_cell=10_000)
    assert summ["suppressed"].all() and summ["mean"].isna().all()


def test_indicator_summary_pooled_and_per_area(study):
    one = report.indicator_summary(study, "supervision")
    assert set(one["indicator"]) == {"separation_rate", "absence_rate"}
    assert set(one["arm"]) == {"intervention", "comparison"}
    months = reshape.org_months(study, "supervision")
    m0 = months[(months["treated"] == 1) & (months["rel_month"] == 0)]
    row = one[
        (one["arm"] == "intervention")
        & (one["rel_month"] == 0)
        & (one["indicator"] == "absence_rate")
    ]
    assert row["value"].iloc[0] == pytest.approx(m0["absence_rate"].mean())
    pooled = report.indicator_summary(study, pooled=True)
    assert set(pooled["area"]) == {"all"}
    n_changed = study.interventions["org_id"].nunique()
    assert pooled.loc[pooled["arm"] == "intervention", "orgs"].max() <= n_changed


def test_reliability_table_matches_alpha_on_the_items(study):
    from stseval.reliability import alpha
    from stseval.scoring import item_matrix

    rel = report.reliability_table(study)
    row = rel[rel["column"] == "stss_total"].iloc[0]
    inst = stseval.load_instrument("stss")
    pre = study.responses[study.responses["wave"] == "pre"]
    items = item_matrix(pre, inst).dropna()
    assert row["alpha"] == pytest.approx(alpha(items)["estimate"].iloc[0])
    assert row["n"] == len(items)
    assert rel.loc[rel["column"].str.startswith("org_guidance"), "kit_authored"].all()


def test_practice_profile_percentiles_and_suppression(study):
    org = study.orgs["org_id"].iloc[0]
    prof = report.practice_profile(study, org)
    assert list(prof["area"]) == list(AREA_KEYS)
    post = study.scored()
    post = post[post["wave"] == study.waves[-1]]
    sizes = post.groupby("org_id")["worker_id"].nunique()
    means = post.groupby("org_id")["org_guidance_training"].mean()[sizes >= study.min_cell]
    own = means[org]
    others = means.drop(org)
    got = prof.set_index("area").loc["training"]
    assert got["org_mean"] == pytest.approx(own)
    assert got["percentile"] == round(100 * (others < own).mean())
    # issue 12: no order statistic that equals an organization's value; a band rounded outward
    assert np.isnan(got["others_median"])
    assert got["others_p25"] <= others.quantile(0.25) and got["others_p75"] >= others.quantile(0.75)
    assert not np.isclose(others.to_numpy(), got["others_p25"]).any()
    assert not np.isclose(others.to_numpy(), got["others_p75"]).any()
    assert not set(prof.astype(str).to_numpy().ravel()) & (set(study.orgs["org_id"]) - {org})
    hidden = report.practice_profile(study, org, min_cell=10_000)
    assert hidden["org_mean"].isna().all() and hidden["note"].str.contains("suppressed").all()
    with pytest.raises(UsageError, match="is not an organization"):
        report.practice_profile(study, "nope")


def test_org_outcomes_blanks_small_groups(study):
    org = study.orgs["org_id"].iloc[0]
    t = report.org_outcomes(study, org, ["stss_total"], min_cell=10_000)
    mine = t[t["group"] == "this organization"]
    assert mine["mean"].isna().all() and mine["note"].str.contains("suppressed").all()
    assert t[t["group"] == "all organizations"]["mean"].notna().all()


def test_attrition_summary_hides_dropout_means_of_small_groups(study):
    table, text = report.attrition_summary(study, "supervision", min_cell=10_000)
    assert table["pre_mean_dropouts"].isna().all()
    assert "What Works Clearinghouse" in text
    table, _ = report.attrition_summary(study, "supervision", min_cell=1)
    assert table["pre_mean_dropouts"].notna().any()


def test_missing_item_rules_state_the_rule(study):
    rules = report.missing_item_rules(study)
    stss = rules[rules["instrument"] == "STSS"].iloc[0]
    assert stss["needs"] <= stss["items"] and "items answered" in stss["rule"]
    assert "Minimum cell size: **5**" in report.methods_facts(study, min_cell=5)


# -- words -------------------------------------------------------------------------------
def _row(**kw):
    base = {
        "area": "supervision",
        "outcome": "stss_total",
        "estimator": "ancova",
        "estimate": -3.1,
        "ci_low": -5.0,
        "ci_high": -1.2,
        "p_value": 0.01,
        "p_adjusted": 0.02,
        "note": "",
        "n_workers": 80,
        "n_orgs": 6,
    }
    base.update(kw)
    return base


def test_sentence_improvement_lower_is_better():
    s = report.describe_estimate(_row())
    assert s.startswith(
        "Staff in organizations that changed supervision reported secondary "
        "traumatic stress (STSS total) 3.1 points lower than expected"
    )
    assert "95% CI −5.0 to −1.2" in s and "an improvement" in s
    assert "a real difference is likely" in s


def test_sentence_worse_and_unclear():
    s = report.describe_estimate(_row(outcome="proqol_cs", estimate=-1.0, ci_low=-3.0, ci_high=1.0))
    # adjusted p 0.02 but the interval includes zero: the one rule says unclear
    assert "1.0 points lower" in s and "verdict: no clear change" in s
    assert "a change for the worse" not in s and "clearly" not in s
    assert "adjusted p = 0.020, but the interval includes zero" in s


def test_sentence_bound_near_zero_is_not_printed_as_zero():
    s = report.describe_estimate(
        _row(outcome="proqol_bo", estimate=-1.0, ci_low=-1.9, ci_high=-0.03)
    )
    assert "95% CI −1.9 to −0.03" in s


def test_sentence_significant_only_before_adjustment():
    s = report.describe_estimate(_row(p_adjusted=0.2))
    assert "verdict: no clear change" in s and "clearly" not in s
    assert "the interval excludes zero, but adjusted p = 0.200" in s


def test_sentence_practice_its_and_missing():
    prac = report.describe_estimate(
        _row(
            outcome="org_guidance_supervision",
            estimator="org_practice",
            estimate=0.6,
            ci_low=0.2,
            ci_high=1.0,
        )
    )
    assert prac.startswith(
        "Organizations that changed supervision moved their staff-rated "
        "practice score 0.6 points higher"
    )
    its = report.describe_estimate(
        _row(
            outcome="separation_rate", estimator="its", estimate=-0.004, ci_low=-0.01, ci_high=0.002
        )
    )
    assert "0.40 percentage points lower" in its and "includes zero" in its
    none = report.describe_estimate(_row(estimate=np.nan, note="suppressed: fewer than 5"))
    assert none.endswith("no estimate (suppressed: fewer than 5).")
    short = report.describe_estimate(_row(), short=True)
    assert (
        short.startswith(
            "**Secondary traumatic stress (STSS total)**: 3.1 points lower than "
            "in comparison organizations"
        )
        and "clearly an improvement" in short
    )


def test_primary_estimates_and_summary():
    est = pd.DataFrame(
        [
            _row(),
            _row(estimator="did"),
            _row(outcome="proqol_cs", estimate=1.0, ci_low=0.2, ci_high=1.8),
            _row(
                outcome="org_guidance_supervision",
                estimator="org_practice",
                estimate=0.5,
                ci_low=0.1,
                ci_high=0.9,
            ),
            _row(outcome="org_guidance_supervision", estimator="ancova"),
            _row(outcome="absence_rate", estimator="its", estimate=0.0, ci_low=-0.01, ci_high=0.01),
        ]
    )
    prim = report.primary_estimates(est)
    assert list(zip(prim["outcome"], prim["estimator"], strict=True)) == [
        ("stss_total", "ancova"),
        ("proqol_cs", "ancova"),
        ("org_guidance_supervision", "org_practice"),
        ("absence_rate", "its"),
    ]
    summ = report.executive_summary(est)
    assert summ["improved"].iloc[0] == 2 and summ["outcomes"].iloc[0] == 2
    text = report.area_section(est, "supervision")
    assert text.startswith("## Supervision") and get_area("supervision").target in text
    assert "Of 2 staff outcomes, 2 clearly improved" in text
    # counts follow the adjusted p: with p_adjusted above 0.05 nothing is clear
    est2 = est.assign(p_adjusted=0.08)
    assert report.executive_summary(est2)["improved"].iloc[0] == 0
    assert "Of 2 staff outcomes, 0 clearly improved" in report.area_section(est2, "supervision")


def test_estimates_table_rates_in_percentage_points():
    est = pd.DataFrame(
        [
            _row(
                outcome="absence_rate",
                estimator="its",
                estimate=-0.004,
                ci_low=-0.01,
                ci_high=0.002,
                effect_size=np.nan,
                n_workers=pd.NA,
                n_orgs=6,
            )
        ]
    )
    t = report.estimates_table(est)
    assert t["estimate"].iloc[0] == pytest.approx(-0.4)
    assert t["interval"].iloc[0] == "\u22121.00 to 0.20"  # the Unicode minus
    assert "percentage points" in t["measure"].iloc[0]


def test_html_table_marks_suppressed_and_blanks_missing():
    t = pd.DataFrame(
        {
            "stage": ["a", "b"],
            "workers": [np.nan, 12.0],
            "x": [pd.NA, 1.5],
            "suppressed": [True, False],
            "note": ["suppressed: n < 5", ""],
        }
    )
    html = report.html_table(t, caption="<cap>").data
    assert html.count('class="suppressed"') == 2
    assert "<NA>" not in html and "nan" not in html
    assert "&lt;cap&gt;" in html and ">12<" in html and ">1.50<" in html
    assert "<th>suppressed</th>" not in html


def test_study_ids_cover_every_identifier(study):
    ids = set(report.study_ids(study))
    assert set(study.workers["worker_id"]) <= ids
    assert set(study.workers["team_id"]) <= ids
    assert set(study.orgs["org_id"]) <= ids and set(study.orgs["name"]) <= ids
    org = study.orgs["org_id"].iloc[0]
    name = study.orgs["name"].iloc[0]
    own = set(report.study_ids(study, keep_org=org))
    assert org not in own and name not in own and len(own) == len(ids) - 2
    keyed = set(report.study_ids(study, key=b"0123456789abcdef0123"))
    assert len(keyed) > len(ids)


def test_funder_title_says_synthetic(study):
    est = pd.DataFrame([_row()])
    text = report.funder_title(study, est)
    assert text.startswith("# ") and "**Synthetic data.**" in text
    real = study.replace(truth=None, meta={**study.meta, "provenance": {}}, validate=False)
    assert "Synthetic data" not in report.funder_title(real, est)


# -- planning ----------------------------------------------------------------------------
def test_design_inputs_against_a_hand_computation(study):
    """ICC(1) from the one-way ANOVA mean squares, r from numpy, sizes by counting."""
    inputs = report.design_inputs(study, "stss_total")
    scored = study.scored()
    pre = scored[scored["wave"] == study.waves[0]].dropna(subset=["stss_total"])
    post = scored[scored["wave"] == study.waves[1]].dropna(subset=["stss_total"])
    groups = [g["stss_total"].to_numpy(float) for _, g in pre.groupby("org_id")]
    n_j = np.array([len(g) for g in groups])
    big_n, k = n_j.sum(), len(groups)
    grand = np.concatenate(groups).mean()
    msb = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / (k - 1)
    msw = sum(((g - g.mean()) ** 2).sum() for g in groups) / (big_n - k)
    n0 = (big_n - (n_j**2).sum() / big_n) / (k - 1)
    icc1 = (msb - msw) / (msb + (n0 - 1) * msw)
    assert inputs["icc"] == pytest.approx(max(icc1, 0.0), abs=1e-9)
    pairs = {}
    for w, x in zip(pre["worker_id"], pre["stss_total"], strict=True):
        pairs[w] = [x]
    both = [
        (pairs[w][0], y)
        for w, y in zip(post["worker_id"], post["stss_total"], strict=True)
        if w in pairs
    ]
    x, y = np.array(both).T
    r = ((x - x.mean()) * (y - y.mean())).sum() / np.sqrt(
        ((x - x.mean()) ** 2).sum() * ((y - y.mean()) ** 2).sum()
    )
    assert inputs["r_prepost"] == pytest.approx(r, rel=1e-9)
    sizes = pre.groupby("org_id")["worker_id"].nunique().to_numpy(float)
    assert inputs["cluster_size"] == pytest.approx(sizes.mean())
    assert inputs["cv"] == pytest.approx(sizes.std() / sizes.mean())
    assert inputs["orgs"] == len(sizes) == study.orgs["org_id"].nunique()


def test_sample_sizes_and_power_grid_meet_the_power_asked_for():
    """The organizations per arm are the smallest number whose design effect-adjusted normal
    approximation (hand formula) comes near the target, and the grid brackets 80%."""
    from scipy import stats

    d, m, icc, r = 0.3, 20, 0.05, 0.5
    sizes = report.sample_sizes([d], cluster_size=m, icc=icc, r_prepost=r)
    k = int(sizes["orgs_per_arm"].iloc[0])
    assert sizes["workers_per_arm"].iloc[0] == int(np.ceil(k * m))
    # hand formula: ANCOVA variance factor (1 - r^2), design effect 1 + (m - 1) icc, z-test
    deff = 1 + (m - 1) * icc
    z_power = lambda kk: stats.norm.cdf(d / np.sqrt(2 * deff * (1 - r**2) / (kk * m)) - 1.959964)
    assert z_power(k) >= 0.8 and z_power(k - 2) < 0.8  # the t-based count is near the z one
    grid = report.power_grid([d], [k - 1, k], cluster_size=m, icc=icc, r_prepost=r)
    assert list(grid.columns) == ["effect_size", "orgs_per_arm", "power"]
    assert grid["power"].iloc[0] < 0.8 <= grid["power"].iloc[1]
    # one group before/after: n = ((z_a + z_b) / d)^2 plus the t correction of about 2
    paired = int(sizes["paired_workers"].iloc[0])
    z = ((1.959964 + stats.norm.ppf(0.8)) / d) ** 2
    assert z <= paired <= z + 4
    text = report.mde_text(k, cluster_size=m, icc=icc, r_prepost=r)
    assert f"{k} organizations per arm" in text and "SD" in text


def test_truth_check_sets_main_estimates_beside_the_truth(tmp_path):
    """Checked against truth.csv read as a plain file and a join written out by hand."""
    import csv
    from types import SimpleNamespace

    study = stseval.Study.from_dir(SMALL)
    est = stseval.evaluate_area(study, "supervision")
    check = report.truth_check(est, study)
    assert list(check.columns) == [
        "area",
        "outcome",
        "estimator",
        "estimate",
        "ci_low",
        "ci_high",
        "truth",
        "covered",
    ]
    with open(SMALL / "truth.csv", newline="") as fh:
        truth = {
            (r["area"], r["outcome"]): float(r["value"])
            for r in csv.DictReader(fh)
            if r["estimand"] == "att" and not r.get("wave") and not r.get("cohort")
        }
    lead = {
        "separation_rate": "its",
        "absence_rate": "its",
        "org_guidance_supervision": "org_practice",
    }
    expected = []
    for r in est.to_dict("records"):
        if r["estimator"] != lead.get(r["outcome"], "ancova"):
            continue
        value = truth.get((r["area"], r["outcome"]))
        if value is None:
            continue
        inside = r["ci_low"] <= value and value <= r["ci_high"]
        expected.append(
            (r["outcome"], r["estimator"], r["estimate"], value, "yes" if inside else "no")
        )
    got = list(
        zip(
            check["outcome"],
            check["estimator"],
            check["estimate"],
            check["truth"],
            check["covered"],
            strict=True,
        )
    )
    assert sorted(got) == sorted(expected)
    assert len(expected) >= 5 and {"yes", "no"} >= {e[-1] for e in expected}
    assert report.truth_check(est, SimpleNamespace(truth=None)).empty  # real data: no truth


@pytest.mark.parametrize(
    "est,lo,hi,p_adj,expected",
    [
        (-4.7, -6.2, -3.2, 0.01, "improved"),
        (-0.7, -2.6, 1.2, 0.01, "unclear"),  # interval includes zero
        (1.5, 1.0, 2.0, 0.01, "worsened"),
        (-4.7, -6.2, -3.2, 0.08, "unclear"),  # issue 12: "clearly" beside adjusted p 0.08
        (1.5, 1.0, 2.0, 0.09, "unclear"),
        (-4.7, -6.2, 0.0, 0.01, "unclear"),  # an interval touching zero does not exclude it
    ],
)
def test_words_follow_the_one_rule_on_the_adjusted_p(est, lo, hi, p_adj, expected):
    from stseval.verdict import decide_verdict, verdict_phrase

    row = {
        "area": "leadership",
        "outcome": "stss_total",
        "estimator": "ancova",
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": 0.001,
        "p_adjusted": p_adj,
        "note": "",
    }
    assert decide_verdict(est, lo, hi, p_adj, p_value=0.001).verdict == expected
    for text in (report.describe_estimate(row), report.describe_estimate(row, short=True)):
        assert verdict_phrase(expected) in text
        others = {"improved", "worsened", "unclear"} - {expected}
        assert not any(verdict_phrase(v) in text for v in others)
        assert ("clearly" in text) == (expected != "unclear")


# -- the namespace the notebooks import ----------------------------------------------------
def _names_used_by_notebooks() -> set[str]:
    import ast

    import nbformat

    used = set()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "report"
                ):
                    used.add(node.attr)
    return used


def test_all_holds_every_name_the_notebooks_use():
    used = _names_used_by_notebooks()
    assert {"truth_check", "read_estimates", "load_study", "html_table"} <= used
    assert used <= set(report.__all__), sorted(used - set(report.__all__))
    assert len(report.__all__) == len(set(report.__all__))


def test_report_imports_explicitly():
    import ast

    tree = ast.parse(Path(report.__file__).read_text())
    stars = [
        n.module
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
    ]
    assert stars == []


def _behaviour(study, tmp):
    """One call per public name of stseval.report, on the small study: name -> check."""
    from IPython.display import HTML

    est = stseval.evaluate_area(study, "supervision", outcomes=["stss_total"])
    frame = lambda cols: lambda out: isinstance(out, pd.DataFrame) and set(cols) <= set(out)
    text = lambda out: isinstance(out, str) and len(out) > 20
    org = study.orgs["org_id"].iloc[0]
    inst = study.instrument_objects()[0]
    answers = study.responses[study.responses["wave"] == study.waves[0]]
    inputs = report.design_inputs(study)
    return {
        "FLOW_COLUMNS": (lambda: report.FLOW_COLUMNS, lambda out: "workers" in out),
        "SUMMARY_COLUMNS": (lambda: report.SUMMARY_COLUMNS, lambda out: "mean" in out),
        "HEADERS": (lambda: report.HEADERS, lambda out: out["n_workers"] == "workers"),
        "CHECK_COLUMNS": (lambda: report.CHECK_COLUMNS, lambda out: "signals" in out),
        "ATTRITION_COLUMNS": (lambda: report.ATTRITION_COLUMNS, lambda out: "workers_left" in out),
        "ProtectedReportTables": (
            lambda: report.protected_tables(study, "supervision"),
            lambda out: (
                isinstance(out, report.ProtectedReportTables)
                and list(out.flow.columns) == report.FLOW_COLUMNS
            ),
        ),
        "protected_tables": (
            lambda: report.protected_tables(study, "supervision").audit,
            lambda out: list(out.columns) == ["table", "cell", "rule"] and len(out) > 0,
        ),
        "write_audit": (
            lambda: report.write_audit([report.protected_tables(study).audit], tmp),
            lambda out: out.name == "disclosure_audit.csv" and out.is_file(),
        ),
        "write_run_audit": (
            lambda: report.write_run_audit(study, tmp, areas=["supervision"]),
            lambda out: "supervision: flow" in out.read_text(),
        ),
        "GLANCE_COLUMNS": (lambda: report.GLANCE_COLUMNS, lambda out: "verdict" in out),
        "at_a_glance": (lambda: report.at_a_glance(est), frame(report.GLANCE_COLUMNS)),
        "at_a_glance_wide": (
            lambda: report.at_a_glance_wide(report.at_a_glance(est)),
            lambda out: list(out["area"]) == ["Supervision"],
        ),
        "comparison_check": (
            lambda: report.comparison_check(study),
            lambda out: list(out.columns) == report.CHECK_COLUMNS and len(out) >= 1,
        ),
        "comparison_check_text": (
            lambda: report.comparison_check_text(report.comparison_check(study)),
            lambda out: isinstance(out, str),
        ),
        "design_limits": (lambda: report.design_limits(study), text),
        "glance_key": (lambda: report.glance_key(), lambda out: "\u2713" in out),
        "overall_count": (lambda: report.overall_count(est), lambda out: out.startswith("Of 1")),
        "report_check": (lambda: report.report_check(est, study), lambda out: isinstance(out, str)),
        "with_verdicts": (lambda: report.with_verdicts(est), frame(["verdict"])),
        "area_section": (
            lambda: report.area_section(est, "supervision", study),
            lambda out: out.startswith("## "),
        ),
        "areas_in": (lambda: report.areas_in(est), lambda out: out == ["supervision"]),
        "attrition_summary": (
            lambda: report.attrition_summary(study, "supervision"),
            lambda out: isinstance(out[0], pd.DataFrame) and "attrition" in out[1],
        ),
        "certainty": (lambda: report.certainty(est.iloc[0]), text),
        "describe_estimate": (lambda: report.describe_estimate(est.iloc[0]), text),
        "design_inputs": (lambda: inputs, lambda out: out["orgs"] > 2),
        "design_inputs_text": (
            lambda: report.design_inputs_text(inputs, icc=0.05, cluster_size=20),
            text,
        ),
        "estimates_table": (lambda: report.estimates_table(est), frame(["measure", "interval"])),
        "executive_summary": (lambda: report.executive_summary(est), frame(["improved"])),
        "explore": (
            lambda: inspect.signature(report.explore),
            lambda sig: list(sig.parameters)[:3] == ["area", "effect", "icc"],
        ),
        "funder_title": (lambda: report.funder_title(study, est), text),
        "html_table": (
            lambda: report.html_table(est[["outcome", "estimate"]]),
            lambda out: isinstance(out, HTML) and "<table" in out.data,
        ),
        "indicator_summary": (lambda: report.indicator_summary(study, pooled=True), frame([])),
        "instrument_heading": (lambda: report.instrument_heading(inst), text),
        "item_table": (lambda: report.item_table(answers, inst), frame(["item"])),
        "its_table": (lambda: report.its_table(est), frame(["indicator"])),
        "load_estimates": (
            lambda: pytest.deprecated_call(report.load_estimates, "", study, areas=["supervision"]),
            frame(["p_fdr_all_areas"]),
        ),
        "load_study": (lambda: report.load_study(SMALL), lambda out: out.name == study.name),
        "mde_text": (lambda: report.mde_text(8, cluster_size=20, icc=0.05), text),
        "methods_facts": (lambda: report.methods_facts(study), text),
        "missing_item_rules": (lambda: report.missing_item_rules(study), frame(["rule"])),
        "notebooks_dir": (
            lambda: report.notebooks_dir(),
            lambda out: (out / "funder_report.ipynb").is_file(),
        ),
        "org_outcomes": (lambda: report.org_outcomes(study, org), frame(["outcome", "mean"])),
        "org_title": (lambda: report.org_title(study, org), text),
        "outcome_label": (
            lambda: report.outcome_label("proqol_bo"),
            lambda out: out == "burnout (ProQOL)",
        ),
        "outcome_summary": (
            lambda: report.outcome_summary(study, "supervision"),
            frame(report.SUMMARY_COLUMNS),
        ),
        "output_dir": (lambda: report.output_dir(""), lambda out: out.is_dir()),
        "participant_flow": (
            lambda: report.participant_flow(study, "supervision"),
            frame(report.FLOW_COLUMNS),
        ),
        "plain_language": (lambda: report.plain_language(est), lambda out: out.startswith("- ")),
        "power_grid": (
            lambda: report.power_grid([0.3], [4], cluster_size=20, icc=0.05),
            frame(["power"]),
        ),
        "practice_profile": (
            lambda: report.practice_profile(study, org),
            frame(["percentile"]),
        ),
        "primary_estimates": (
            lambda: report.primary_estimates(est),
            lambda out: set(out["estimator"]) == {"ancova"},
        ),
        "primary_estimator": (
            lambda: report.primary_estimator("absence_rate"),
            lambda out: out == "its",
        ),
        "profile_reading": (
            lambda: report.profile_reading(report.practice_profile(study, org)),
            text,
        ),
        "read_area_estimates": (
            lambda: inspect.signature(report.read_area_estimates),
            lambda sig: "areas" in sig.parameters,
        ),
        "read_estimates": (
            lambda: inspect.signature(report.read_estimates),
            lambda sig: list(sig.parameters) == ["path"],
        ),
        "reliability_table": (
            lambda: report.reliability_table(study, n_boot=0),
            frame(["alpha"]),
        ),
        "resolve_path": (lambda: report.resolve_path(SMALL), lambda out: out == SMALL.resolve()),
        "sample_sizes": (
            lambda: report.sample_sizes([0.5], cluster_size=20, icc=0.05),
            frame(["orgs_per_arm"]),
        ),
        "save_estimates": (
            lambda: inspect.signature(report.save_estimates),
            lambda sig: list(sig.parameters) == ["estimates", "path"],
        ),
        "simulation_check": (
            lambda: inspect.signature(report.simulation_check),
            lambda sig: sig.parameters["area"].kind is inspect.Parameter.KEYWORD_ONLY,
        ),
        "study_ids": (
            lambda: report.study_ids(study),
            lambda out: set(study.workers["worker_id"]) <= set(out),
        ),
        "study_overview": (lambda: report.study_overview(study), text),
        "summary_bullets": (lambda: report.summary_bullets(est), lambda out: out.startswith("- ")),
        "truth_check": (lambda: report.truth_check(est, study), frame(["truth", "covered"])),
    }


def test_public_names_are_importable_and_behave(study, tmp_path, monkeypatch):
    import importlib

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    checks = _behaviour(study, tmp_path)
    assert set(checks) == set(report.__all__), "a new public name needs a behaviour check here"
    module = importlib.import_module("stseval.report")
    for name in report.__all__:
        assert getattr(module, name) is not None
        make, ok = checks[name]
        assert ok(make()), name


@pytest.mark.parametrize("bad", [0, "5", True, 2.5])
def test_bad_min_cell_is_a_usage_error(study, bad):
    with pytest.raises(UsageError, match="min_cell must be"):
        report.participant_flow(study, "supervision", min_cell=bad)
