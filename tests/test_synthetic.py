"""Tests of the simulator: shapes, reproducibility, calibration, ICC, truth, missingness, drift.

Calibration targets come from shared/reference/norms.md section 7 (DERIVED
there from published samples): STSS total N(42, 13); ProQOL CS/BO/STS
N(38, 6)/N(24, 5.5)/N(23, 6); r(BO,STS) .65, r(CS,BO) -.60, r(CS,STS) -.30.
Tolerances are chosen from the sampling error of the simulation sizes used
(stated at each test) so that the tests are deterministic and not fragile.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stseval import reshape
from stseval._simengine import MISSING, fast_scale_scores
from stseval.areas import AREA_KEYS
from stseval.errors import UsageError
from stseval.instruments import load_instrument
from stseval.scoring import item_matrix, score
from stseval.synthetic import StudyDesign, simulate

REPO = Path(__file__).resolve().parent.parent


def _alpha(responses: pd.DataFrame, inst_key: str, scale: str) -> float:
    """Cronbach's alpha on complete cases (own formula, independent of stseval.reliability)."""
    inst = load_instrument(inst_key)
    cols = [inst.item_columns[i - 1] for i in inst.scales[scale].items]
    x = item_matrix(responses, inst)[cols].dropna().to_numpy()
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def _icc1(frame: pd.DataFrame, col: str, group: str) -> float:
    """One-way ANOVA ICC(1) with unequal group sizes (Shrout & Fleiss 1979, k0 of Snedecor)."""
    d = frame[[col, group]].dropna()
    g = d.groupby(group)[col]
    k, n, j = g.size(), len(d), g.ngroups
    msb = (k * (g.mean() - d[col].mean()) ** 2).sum() / (j - 1)
    msw = ((d[col] - g.transform("mean")) ** 2).sum() / (n - j)
    k0 = (n - (k**2).sum() / n) / (j - 1)
    return (msb - msw) / (msb + (k0 - 1) * msw)


@pytest.fixture(scope="module")
def large_study():
    """340 orgs, ~16,000 workers: the 'large simulation' for calibration checks (< 1 s)."""
    design = StudyDesign.default().with_overrides({"orgs_per_area": 40, "comparison_orgs": 60})
    return simulate(design, seed=11)


@pytest.fixture(scope="module")
def default_study():
    return simulate(StudyDesign.default(), seed=3)


# -- design ---------------------------------------------------------------------------
def test_design_presets_and_fields():
    d = StudyDesign.default()
    assert (d.orgs_per_area, d.comparison_orgs, d.n_orgs) == (8, 14, 70)
    assert StudyDesign.small().n_orgs == 18
    null = StudyDesign.null()
    assert all(v == 0 for table in null.effects.values() for v in table.values())
    assert StudyDesign.from_dict(d.to_dict()) == d
    assert pickle.loads(pickle.dumps(d)) == d


def test_with_overrides_parses_strings_and_aliases():
    d = StudyDesign.default().with_overrides(
        {
            "orgs_per_area": "12",
            "teams_per_org": "[2, 4]",
            "effects.supervision.stss_total": "-0.3",
            "targets.stss_total.mean": 40,
        }
    )
    assert d.orgs_per_area == 12 and d.teams_per_org == (2, 4)
    assert d.effect("supervision", "sts") == -0.3
    assert d.effect("supervision", "bo") == -0.15  # untouched
    assert d.targets["stss_total"].mean == 40
    with pytest.raises(UsageError, match="unknown design field"):
        d.with_overrides({"orgs": 3})
    with pytest.raises(UsageError, match="orgs_per_area"):
        d.with_overrides({"orgs_per_area": "-1"})
    with pytest.raises(UsageError, match="unknown outcome"):
        d.with_overrides({"effects.supervision.happiness": 1})
    with pytest.raises(UsageError, match="icc_org"):
        d.with_overrides({"icc_org": 0.5, "icc_team": 0.3})


def test_any_preset_can_be_a_base():
    d = StudyDesign.from_dict({"base": "staggered", "orgs_per_area": 3})
    assert d.start_cohorts == 3 and d.orgs_per_area == 3 and d.wave_names[0] == "t0"
    with pytest.raises(UsageError, match="base must be one of"):
        StudyDesign.from_dict({"base": "huge"})


def test_from_yaml_merges_over_a_base(tmp_path):
    path = tmp_path / "design.yaml"
    path.write_text("base: small\nname: mine\neffects:\n  culture:\n    proqol_cs: 0.4\n")
    d = StudyDesign.from_yaml(path)
    assert d.name == "mine" and d.orgs_per_area == 2
    assert d.effect("culture", "cs") == 0.4 and d.effect("culture", "practice") == 0.7
    path.write_text("orgs_per_area: many\n")
    with pytest.raises(UsageError, match="orgs_per_area"):
        StudyDesign.from_yaml(path)
    with pytest.raises(UsageError, match="does not exist"):
        StudyDesign.from_yaml(tmp_path / "none.yaml")


def test_bad_seed_and_unreachable_targets():
    with pytest.raises(UsageError, match="seed"):
        simulate(StudyDesign.small(), seed=-1)
    with pytest.raises(TypeError):
        simulate(StudyDesign.small())  # the seed is required
    with pytest.raises(UsageError, match="correlation"):
        simulate(StudyDesign.small().with_overrides({"correlations.bo_sts": 0.95}), seed=1)


# -- shapes ------------------------------------------------------------------------------
def test_shapes_follow_the_design(small_study):
    d = StudyDesign.small()
    s = small_study
    assert len(s.orgs) == d.n_orgs
    counts = s.interventions.groupby("area").size()
    assert counts.to_dict() == {a: d.orgs_per_area for a in AREA_KEYS}
    assert s.orgs["org_id"].nunique() - s.interventions["org_id"].nunique() == d.comparison_orgs
    teams = s.workers.groupby("org_id")["team_id"].nunique()
    assert teams.between(*d.teams_per_org).all()
    assert s.workers.groupby("team_id").size().between(*d.workers_per_team).all()
    assert (
        s.workers.groupby("team_id")["role"].apply(lambda r: (r == "supervisor").sum()) == 1
    ).all()
    assert (s.orgs.set_index("org_id")["size"] >= s.workers.groupby("org_id").size()).all()
    assert s.waves == ["pre", "post"] and set(s.responses["wave"]) == {"pre", "post"}
    items = [c for k in ("stss", "proqol", "org_guidance") for c in load_instrument(k).item_columns]
    assert list(s.responses.columns) == ["worker_id", "wave", "date", *items]
    assert s.responses.groupby("wave")["worker_id"].nunique()["pre"] == len(s.workers)
    months = s.org_metrics.groupby("org_id")["month"].nunique()
    assert (months == 2 * d.metrics_months + d.start_spread_months).all()
    starts = s.interventions["start_date"]
    pre_last = s.responses.loc[s.responses["wave"] == "pre", "date"].max()
    post_first = s.responses.loc[s.responses["wave"] == "post", "date"].min()
    assert (starts > pre_last).all() and (starts < post_first).all()
    assert s.provenance["seed"] == 2026 and s.provenance["design"] == d.to_dict()


def test_follow_up_wave():
    s = simulate(StudyDesign.small().with_overrides({"follow_up": True}), seed=5)
    assert s.waves == ["pre", "post", "follow_up"]
    waves = s.responses.groupby("worker_id")["wave"].apply(set)
    fu = waves[waves.apply(lambda w: "follow_up" in w)]
    assert len(fu) > 0 and all("post" in w for w in fu)  # attrition is monotone
    assert s.validate() == []
    # The follow-up has its own truth rows: the effect retained (follow_up_retention 0.7).
    t = s.truth[(s.truth["outcome"] == "org_guidance_supervision") & (s.truth["estimand"] == "att")]
    by_wave = t.set_index("wave")["value"]
    assert set(by_wave.index) == {"post", "follow_up"}
    assert 0.4 < by_wave["follow_up"] / by_wave["post"] < 1.0


# -- reproducibility -------------------------------------------------------------------
def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    a = simulate(StudyDesign.small(), seed=42).to_dir(tmp_path / "a")
    b = simulate(StudyDesign.small(), seed=42).to_dir(tmp_path / "b")
    c = simulate(StudyDesign.small(), seed=43).to_dir(tmp_path / "c")
    for name in (
        "study.yaml",
        "workers.csv",
        "responses.csv",
        "orgs.csv",
        "interventions.csv",
        "org_metrics.csv",
        "truth.csv",
    ):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "responses.csv").read_bytes() != (c / "responses.csv").read_bytes()
    assert (a / "truth.csv").read_bytes() != (c / "truth.csv").read_bytes()


def test_shipped_data_match_the_code(tmp_path, shipped_synthetic):
    spec = importlib.util.spec_from_file_location(
        "make_synthetic", REPO / "scripts" / "make_synthetic.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in module.PRESETS:
        fresh = module.make(name, tmp_path)
        shipped = shipped_synthetic / name
        names = sorted(p.name for p in fresh.iterdir())
        assert names == sorted(p.name for p in shipped.iterdir()), name
        for file in names:
            assert (fresh / file).read_bytes() == (shipped / file).read_bytes(), (
                f"data/synthetic/{name}/{file} drifted from the code; run "
                "scripts/make_synthetic.py and commit the result"
            )
    for name in (
        "small",
        "single_org",
        "anonymous",
        "coded",
        "three_wave",
        "staggered",
        "team_rct",
        "dose",
        "individual",
    ):
        assert sum(p.stat().st_size for p in (shipped_synthetic / name).iterdir()) < 1_000_000
    assert sum(p.stat().st_size for p in (shipped_synthetic / "default").iterdir()) < 3_000_000


# -- calibration --------------------------------------------------------------------------
def test_scores_inside_their_theoretical_ranges(default_study):
    scored = default_study.scored()
    for inst in default_study.instrument_objects():
        for scale in inst.scales:
            lo, hi = inst.score_range(scale)
            v = scored[f"{inst.key}_{scale}"].dropna()
            assert len(v) > 0.9 * len(scored)
            assert v.between(lo, hi).all(), (inst.key, scale)


def test_means_sds_alphas_and_correlations(large_study):
    """~16,000 baseline respondents: SE of a mean is ~0.01 SD, of an SD ~0.6%, of r ~.006."""
    pre_rows = large_study.responses["wave"] == "pre"
    scored = large_study.scored()
    pre = scored[scored["wave"] == "pre"]
    targets = {
        "stss_total": (42, 13),
        "proqol_cs": (38, 6),
        "proqol_bo": (24, 5.5),
        "proqol_sts": (23, 6),
        "org_guidance_training": (2.9, 0.8),
    }
    for col, (mean, sd) in targets.items():
        v = pre[col].dropna()
        assert abs(v.mean() - mean) < 0.06 * sd, col  # org clustering widens the SE ~ x3
        assert abs(v.std() / sd - 1) < 0.05, col
    resp = large_study.responses[pre_rows]
    for key, scale, published in [
        ("stss", "total", 0.92),
        ("proqol", "cs", 0.88),
        ("proqol", "bo", 0.78),
        ("proqol", "sts", 0.81),
        ("org_guidance", "policies", 0.85),
    ]:
        a = _alpha(resp, key, scale)
        assert 0.75 <= a <= 0.93 and abs(a - published) < 0.02, (key, scale, a)
    r = pre[["proqol_bo", "proqol_sts", "proqol_cs", "stss_total"]].corr()
    assert r.loc["proqol_bo", "proqol_sts"] == pytest.approx(0.65, abs=0.04)
    assert r.loc["proqol_cs", "proqol_bo"] == pytest.approx(-0.60, abs=0.04)
    assert r.loc["proqol_cs", "proqol_sts"] == pytest.approx(-0.30, abs=0.04)
    assert r.loc["stss_total", "proqol_sts"] > 0.7  # norms.md section 2: "high (>= .7)"
    # About 30% of STSS totals in the 'severe' band (>= 49), norms.md section 1.1.
    assert (pre["stss_total"] >= 49).mean() == pytest.approx(0.30, abs=0.04)
    wide = reshape.wide(large_study, "stss_total", "supervision")
    comp = wide[wide["treated"] == 0].dropna()
    assert comp["pre"].corr(comp["post"]) == pytest.approx(0.6, abs=0.06)


def test_icc_of_sts_by_org_is_near_its_setting():
    """ICC(1) by org of observed STSS: latent ICC x reliability (~.92).

    Team variance is set to 0 here because a one-way ICC by org also absorbs a
    share of team variance. 340 orgs of ~47 workers: SD of the estimate ~.004
    (six seeds in development), so +-0.015 is about 4 SD.
    """
    for icc in (0.05, 0.15):
        d = StudyDesign.default().with_overrides(
            {"orgs_per_area": 40, "comparison_orgs": 60, "icc_org": icc, "icc_team": 0.0}
        )
        s = simulate(d, seed=21)
        scored = s.scored()
        got = _icc1(scored[scored["wave"] == "pre"], "stss_total", "org_id")
        assert got == pytest.approx(icc * 0.92, abs=0.015 + 0.05 * icc)


def test_practice_perceptions_cluster_by_org(large_study):
    scored = large_study.scored()
    got = _icc1(scored[scored["wave"] == "pre"], "org_guidance_culture", "org_id")
    assert got == pytest.approx(0.20 * 0.85, abs=0.04)


# -- truth -------------------------------------------------------------------------------
def test_truth_table_structure(small_study):
    t = small_study.truth
    assert list(t.columns) == ["area", "outcome", "estimand", "value"]
    assert set(t["area"]) == set(AREA_KEYS)
    per_area = t.groupby("area").size()
    assert (per_area == 12).all()  # 5 scores x (att, att_sd) + 2 indicators
    sup = t[t["area"] == "supervision"].set_index(["outcome", "estimand"])["value"]
    assert sup["org_guidance_supervision", "att"] > 0.3  # practice clearly improves
    assert sup["stss_total", "att"] < 0 and sup["proqol_cs", "att"] > 0
    assert sup["separation_rate", "att"] < 0 and sup["absence_rate", "att"] < 0
    ratio = sup["stss_total", "att"] / sup["stss_total", "att_sd"]
    assert 10 < ratio < 16  # the baseline SD of STSS totals


def test_null_design_has_zero_truth():
    s = simulate(StudyDesign.null(), seed=9)
    assert len(s.truth) == 7 * 12
    assert (s.truth["value"] == 0).all()


def test_fast_scorer_equals_stseval_score(small_study):
    """The truth is scored by a NumPy twin of stseval.score: identical on the same answers."""
    resp = small_study.responses
    scored = score(resp, ["stss", "proqol", "org_guidance"])
    for key in ("stss", "proqol", "org_guidance"):
        inst = load_instrument(key)
        block = resp[inst.item_columns].fillna(MISSING).to_numpy(dtype=np.int8).T
        for scale in inst.scales:
            np.testing.assert_allclose(
                fast_scale_scores(block, inst, scale),
                scored[f"{key}_{scale}"].to_numpy(dtype=float),
            )


def test_difference_in_differences_recovers_the_truth():
    """150 intervention and 150 comparison orgs in one area (~14,000 workers).

    A plain difference in differences of observed means (all answers at each
    wave) must land within 4 standard errors of the truth; the SE is the exact
    large-sample SE of a difference of overlapping means (pre and post share
    the completers). Org and team effects cancel in the change, so
    worker-level errors are the right unit. The truth's own SD units tie the
    scale: 4 SE is ~0.06 baseline SD for STSS.
    """
    d = StudyDesign.default().with_overrides(
        {"areas": ["supervision"], "orgs_per_area": 150, "comparison_orgs": 150}
    )
    s = simulate(d, seed=17)
    truth = s.truth.set_index(["outcome", "estimand"])["value"]
    for outcome in (
        "stss_total",
        "proqol_sts",
        "proqol_bo",
        "proqol_cs",
        "org_guidance_supervision",
    ):
        wide = reshape.wide(s, outcome, "supervision")
        est, var = 0.0, 0.0
        for arm, sign in ((1, 1), (0, -1)):
            w = wide[wide["treated"] == arm]
            pre, post = w["pre"].dropna(), w["post"].dropna()
            both = w.dropna(subset=["pre", "post"])
            cov = both["pre"].cov(both["post"])
            est += sign * (post.mean() - pre.mean())
            var += (
                pre.var() / len(pre)
                + post.var() / len(post)
                - 2 * cov * len(both) / (len(pre) * len(post))
            )
        att = truth[outcome, "att"]
        assert abs(est - att) < 4 * np.sqrt(var), (outcome, est, att, np.sqrt(var))
    assert truth["stss_total", "att"] < -4 * np.sqrt(var)  # and the effect is not tiny


# -- missingness and indicators -----------------------------------------------------------
def test_attrition_and_item_missingness(default_study):
    s = default_study
    scored = s.scored()
    pre = scored[scored["wave"] == "pre"].set_index("worker_id")["stss_total"]
    stayed = set(scored.loc[scored["wave"] == "post", "worker_id"])
    lost = ~pre.index.isin(stayed)
    assert lost.mean() == pytest.approx(0.15, abs=0.03)
    # Attrition rises with baseline STS (design: +0.5 log-odds per SD); ~490 leavers.
    assert pre[lost].mean() - pre[~lost].mean() > 2.5
    items = s.responses.iloc[:, 3:]
    blank = items.isna().to_numpy().mean()
    assert blank == pytest.approx(0.03, abs=0.006)  # 2% of cells + 1% whole-instrument skips
    whole = [
        items[load_instrument(k).item_columns].isna().all(axis=1).mean() for k in ("stss", "proqol")
    ]
    assert all(0.003 < w < 0.02 for w in whole)


def test_turnover_and_absence_are_realistic_and_linked(large_study):
    m = large_study.org_metrics
    annual = (
        m.groupby("org_id")["separations"].sum()
        / m.groupby("org_id")["headcount"].mean()
        * 12
        / m.groupby("org_id").size()
    )
    assert annual.mean() == pytest.approx(0.25, abs=0.03)  # norms.md 5.1: ~25%/yr
    assert 0.08 < annual.std() < 0.16  # SD .10 across orgs plus binomial noise
    days = m["absence_days"].sum() / m["headcount"].sum() * 12
    assert 6 < days < 12  # norms.md 5.2: 5-14 days a year
    # Orgs with higher baseline burnout have more absence (rate ratio 1.2 per latent SD).
    scored = large_study.scored()
    bo = scored[scored["wave"] == "pre"].groupby("org_id")["proqol_bo"].mean()
    rate = m.groupby("org_id")["absence_days"].sum() / m.groupby("org_id")["headcount"].sum()
    assert np.corrcoef(bo.loc[rate.index], rate)[0, 1] > 0.1
