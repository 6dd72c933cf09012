"""Simulator for issue 11: dose-response truth, the individual guidance inventory, programs.

Known-truth checks: the organization-level weighted slope of outcome change
on practice change (arm held fixed, as the mediation ``b`` path) recovers
``dose_slope``; with the confounder the naive slope is biased in the stated
direction while the truth does not move; the null (``mediated_share`` 0)
has slope and indirect effect 0; the statement scales have the target
means, SDs, alphas, correlations and ICCs; participants' change minus
non-participants' change recovers the program truth. Slopes are computed
here with plain numpy weighted least squares (independent of
``stseval.dose``); tolerances are stated in SEs of the simulation sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stseval.areas import STATEMENT_KEYS
from stseval.errors import UsageError
from stseval.instruments import load_instrument
from stseval.synthetic import StudyDesign, simulate, write_programs

_IND = ["stss", "proqol", "org_guidance", "ind_guidance"]
_BIG = {
    "areas": ["supervision"],
    "orgs_per_area": 100,
    "comparison_orgs": 100,
    "teams_per_org": [4, 5],
    "workers_per_team": [12, 16],
    "practice_change_sd": 0.8,
}


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray, j: int) -> tuple[float, float]:
    """Coefficient j of weighted least squares and its HC1 (sandwich) standard error."""
    xtwx = X.T @ (X * w[:, None])
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    u = (X * (w * (y - X @ beta))[:, None]).T
    bread = np.linalg.inv(xtwx)
    cov = bread @ (u @ u.T) @ bread * len(y) / (len(y) - X.shape[1])
    return float(beta[j]), float(np.sqrt(cov[j, j]))


def _org_changes(study, outcome: str, practice: str) -> pd.DataFrame:
    """Per org: mean within-worker change of practice (dp) and outcome (dy), n, arm."""
    sc = study.scored()
    wide = sc.pivot_table(index="worker_id", columns="wave", values=[practice, outcome])
    ch = (wide.xs("post", level=1, axis=1) - wide.xs("pre", level=1, axis=1)).dropna()
    ch["org_id"] = study.workers.set_index("worker_id").loc[ch.index, "org_id"].to_numpy()
    g = ch.groupby("org_id").agg(dp=(practice, "mean"), dy=(outcome, "mean"), n=(practice, "size"))
    g["arm"] = g.index.isin(study.interventions["org_id"]).astype(float)
    return g[g["n"] >= 5]


def _slope(study, outcome: str, *, adjust: bool) -> tuple[float, float]:
    g = _org_changes(study, outcome, "org_guidance_supervision")
    cols = [np.ones(len(g)), g["dp"].to_numpy()] + ([g["arm"].to_numpy()] if adjust else [])
    return _wls(np.column_stack(cols), g["dy"].to_numpy(), g["n"].to_numpy(float), 1)


def _truth(study, estimand: str, outcome: str, area: str = "supervision") -> float:
    t = study.truth
    sel = (t["estimand"] == estimand) & (t["outcome"] == outcome) & (t["area"] == area)
    assert sel.sum() == 1
    return float(t.loc[sel, "value"].iloc[0])


@pytest.fixture(scope="module")
def dose_big():
    return simulate(StudyDesign.default().with_overrides({**_BIG, "mediated_share": 0.6}), seed=5)


# -- design fields ------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"mediated_share": 1.5}, "mediated_share"),
        ({"dose_confounder": 0.3}, "dose_confounder needs the dose model"),
        ({"mediated_share": 0.5, "multi_area_share": 0.3}, "multi_area_share 0"),
        ({"instruments": ["stss", "proqol"]}, "instruments must be"),
        ({"programs": [{"name": "p", "statements": ["skills"]}]}, "need ind_guidance"),
        (
            {"instruments": _IND, "programs": [{"name": "p", "statements": ["typing"]}]},
            "unknown statement",
        ),
        (
            {
                "instruments": _IND,
                "programs": [
                    {"name": "p", "statements": ["skills"]},
                    {"name": "q", "statements": ["skills", "education"]},
                ],
            },
            "targeted by p and q",
        ),
        (
            {
                "instruments": _IND,
                "programs": [{"name": "p", "statements": ["skills"], "start_date": "2025-06-01"}],
            },
            "before wave post",
        ),
        (
            {
                "instruments": _IND,
                "programs": [{"name": "p", "statements": ["skills"], "selection_strength": 1.0}],
            },
            "selection_strength must be 0",
        ),
    ],
)
def test_bad_issue11_fields_are_named(overrides, words):
    with pytest.raises(UsageError, match=words):
        StudyDesign.default().with_overrides(overrides)


def test_new_fields_are_written_only_when_set_and_round_trip():
    d = StudyDesign.default()
    assert "mediated_share" not in d.to_dict() and "programs" not in d.to_dict()
    for name in ("dose", "individual"):
        p = StudyDesign.preset(name)
        assert StudyDesign.from_dict(p.to_dict()) == p
    assert StudyDesign.individual().to_dict()["programs"][0]["statements"] == [
        "skills",
        "self_monitoring",
    ]
    assert set(StudyDesign.dose().describe()["field"]) >= {"mediated_share", "programs"}


# -- dose-response truth --------------------------------------------------------------
def test_dose_truth_rows_and_their_identities():
    study = simulate(StudyDesign.dose(), seed=1)
    t = study.truth
    for area in ("supervision", "workforce_support"):
        for out in ("stss_total", "proqol_sts", "proqol_bo", "proqol_cs"):
            att = _truth(study, "att", out, area)
            ind = _truth(study, "indirect", out, area)
            direct = _truth(study, "direct", out, area)
            assert ind + direct == pytest.approx(att, abs=1e-9)
            # 60% carried by practice on the latent scale; the scoring is close to linear
            assert ind / att == pytest.approx(0.6, abs=0.12)
            prac = _truth(study, "att", f"org_guidance_{area}", area)
            assert _truth(study, "dose_slope", out, area) == pytest.approx(ind / prac, rel=1e-9)
    assert _truth(study, "dose_slope", "stss_total") < 0 < _truth(study, "dose_slope", "proqol_cs")
    assert "dose_slope = indirect / att" in study.meta["provenance"]["truth_definition"]
    assert set(t["estimand"]) == {"att", "att_sd", "indirect", "direct", "dose_slope"}


def test_org_slope_recovers_the_dose_slope(dose_big):
    """Arm held fixed (the mediation b path): within 3 SE (200 orgs, ~60 workers each).

    The org's practice change is measured with sampling error, which attenuates
    the slope by about 5% here (less than half an SE); without holding the arm
    fixed the slope would also pick up the direct effect (see the next test).
    """
    for out in ("stss_total", "proqol_sts", "proqol_bo", "proqol_cs"):
        est, se = _slope(dose_big, out, adjust=True)
        truth = _truth(dose_big, "dose_slope", out)
        assert abs(est - truth) < 3 * se, (out, est, se, truth)
        assert se < abs(truth)  # the test has power: the slope is clearly away from 0


def test_pooled_slope_recovers_the_truth_when_all_is_mediated():
    d = StudyDesign.default().with_overrides({**_BIG, "mediated_share": 1.0})
    study = simulate(d, seed=6)
    for out in ("stss_total", "proqol_bo"):
        est, se = _slope(study, out, adjust=False)
        assert abs(est - _truth(study, "dose_slope", out)) < 3 * se
        assert abs(_truth(study, "direct", out)) < 0.05 * abs(_truth(study, "att", out))


def test_confounder_biases_the_naive_slope_not_the_truth(dose_big):
    d = StudyDesign.default().with_overrides(
        {**_BIG, "mediated_share": 0.6, "dose_confounder": 0.4}
    )
    conf = simulate(d, seed=5)  # same seed and draws: the truth moves only by the scoring's
    for out in ("stss_total", "proqol_bo"):  # nonlinearity at the shifted latent levels
        truth = _truth(conf, "dose_slope", out)
        assert truth == pytest.approx(_truth(dose_big, "dose_slope", out), rel=0.1)
        est, se = _slope(conf, out, adjust=True)
        assert est < truth - 3 * se, (out, est, se, truth)  # falling caseloads: more negative
    # the measured caseload (responses.csv) lets the analysis adjust for the confounder
    assert "caseload" not in dose_big.responses
    r = conf.responses
    wide = r.pivot_table(index="worker_id", columns="wave", values="caseload")
    dc = (
        (wide["post"] - wide["pre"])
        .rename("dc")
        .to_frame()
        .join(conf.workers.set_index("worker_id")["org_id"])
    )
    for out in ("stss_total", "proqol_bo"):
        g = _org_changes(conf, out, "org_guidance_supervision")
        g = g.join(dc.groupby("org_id")["dc"].mean())
        X = np.column_stack([np.ones(len(g)), g["dp"], g["arm"], g["dc"]])
        est, se = _wls(X, g["dy"].to_numpy(), g["n"].to_numpy(float), 1)
        assert abs(est - _truth(conf, "dose_slope", out)) < 3 * se, (out, est, se)


def test_dose_null_preset_carries_nothing():
    study = simulate(StudyDesign.preset("dose_null"), seed=2)
    t = study.truth
    assert (t.loc[t["estimand"].isin(["dose_slope", "indirect"]), "value"] == 0).all()
    direct = t[t["estimand"] == "direct"].set_index(["area", "outcome"])["value"]
    att = t[t["estimand"] == "att"].set_index(["area", "outcome"])["value"]
    assert np.allclose(direct, att.loc[direct.index])
    assert (direct.abs() > 0).any()


def test_null_dose_model_has_zero_slope():
    d = StudyDesign.default().with_overrides({**_BIG, "mediated_share": 0.0})
    study = simulate(d, seed=7)
    for out in ("stss_total", "proqol_sts", "proqol_bo", "proqol_cs"):
        assert _truth(study, "dose_slope", out) == 0.0
        assert _truth(study, "indirect", out) == 0.0
        assert _truth(study, "direct", out) == pytest.approx(_truth(study, "att", out))
        est, se = _slope(study, out, adjust=True)
        assert abs(est) < 3 * se, (out, est, se)


# -- individual guidance inventory ------------------------------------------------------
def _alpha(x: np.ndarray) -> float:
    x = x[~np.isnan(x).any(axis=1)]
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def _icc1(frame: pd.DataFrame, col: str, group: str) -> float:
    d = frame[[col, group]].dropna()
    g = d.groupby(group)[col]
    k, n, j = g.size(), len(d), g.ngroups
    msb = (k * (g.mean() - d[col].mean()) ** 2).sum() / (j - 1)
    msw = ((d[col] - g.transform("mean")) ** 2).sum() / (n - j)
    k0 = (n - (k**2).sum() / n) / (j - 1)
    return (msb - msw) / (msb + (k0 - 1) * msw)


def test_ind_guidance_scales_match_their_calibration():
    """~200 orgs, ~10,000 workers at baseline; ICC of a mean of 4 items is about alpha x latent."""
    d = StudyDesign.default().with_overrides(
        {"instruments": _IND, "orgs_per_area": 20, "comparison_orgs": 60}
    )
    study = simulate(d, seed=8)
    spec = d.ind_guidance
    pre = study.scored()
    pre = pre[pre["wave"] == "pre"].merge(study.workers[["worker_id", "org_id"]])
    resp = study.responses[study.responses["wave"] == "pre"]
    inst = load_instrument("ind_guidance")
    for key in STATEMENT_KEYS:
        col = f"ind_guidance_{key}"
        target = spec.targets[key]
        assert pre[col].mean() == pytest.approx(target["mean"], abs=0.05)
        assert pre[col].std() == pytest.approx(target["sd"], abs=0.05)
        items = [inst.item_columns[i - 1] for i in inst.scales[key].items]
        assert _alpha(resp[items].to_numpy(float)) == pytest.approx(target["alpha"], abs=0.03)
        for k, score in (("sts", "proqol_sts"), ("bo", "proqol_bo"), ("cs", "proqol_cs")):
            r = pre[[col, score]].dropna().corr().iloc[0, 1]
            assert r == pytest.approx(spec.correlations[key][k], abs=0.05), (key, k)
        icc = _icc1(pre, col, "org_id")
        assert icc == pytest.approx(target["alpha"] * spec.icc_org, abs=0.03), (key, icc)


def test_statement_icc_follows_the_design():
    base = {"instruments": _IND, "orgs_per_area": 10, "comparison_orgs": 60, "icc_team": 0.0}
    low = simulate(StudyDesign.default().with_overrides(base), seed=9)
    hi_design = StudyDesign.default().with_overrides({**base, "ind_guidance.icc_org": 0.25})
    high = simulate(hi_design, seed=9)
    for study, latent in ((low, 0.05), (high, 0.25)):
        pre = study.scored()
        pre = pre[pre["wave"] == "pre"].merge(study.workers[["worker_id", "org_id"]])
        icc = _icc1(pre, "ind_guidance_team_support", "org_id")
        assert icc == pytest.approx(0.82 * latent, abs=0.04)


def test_unreachable_statement_icc_is_a_usage_error():
    d = StudyDesign.default().with_overrides({"instruments": _IND, "ind_guidance.icc_org": 0.0})
    with pytest.raises(UsageError, match="latent ICCs"):
        simulate(d.with_overrides({"icc_org": 0.5, "icc_team": 0.0}), seed=1)


# -- individual programs ----------------------------------------------------------------
def _program_design(**program):
    spec = {
        "name": "course",
        "statements": ["skills", "self_monitoring"],
        "statement_effect": {"skills": 0.6, "self_monitoring": 0.4},
        "outcome_effects": {"sts": -0.3, "bo": -0.2},
        "unit": "team",
        "share": 0.4,
        **program,
    }
    return StudyDesign.default().with_overrides(
        {"instruments": _IND, "programs": [spec], "orgs_per_area": 10, "comparison_orgs": 30}
    )


def _team_contrast(study, outcome: str, members: set) -> tuple[float, float]:
    """Participants' minus non-participants' mean change: difference of team means, Welch SE."""
    sc = study.scored()
    wide = sc.pivot_table(index="worker_id", columns="wave", values=outcome)
    ch = (wide["post"] - wide["pre"]).dropna().rename("d").to_frame()
    ch = ch.join(study.workers.set_index("worker_id")["team_id"])
    team = ch.groupby("team_id")["d"].mean()
    on = team.index.isin(members)
    a, b = team[on], team[~on]
    return a.mean() - b.mean(), float(np.sqrt(a.var() / len(a) + b.var() / len(b)))


def test_program_change_recovers_the_truth():
    """Randomized teams (~400 teams): contrast within 3.5 SE of the truth for every outcome."""
    study = simulate(_program_design(), seed=10)
    progs = study.programs
    assert list(progs.columns) == ["program", "statement", "start_date", "team_id", "worker_id"]
    assert (progs["worker_id"] == "").all() and (progs["team_id"] != "").all()
    assert set(progs["statement"]) == {"skills", "self_monitoring"}
    members = set(progs["team_id"])
    n_teams = study.workers["team_id"].nunique()
    assert len(members) == round(0.4 * n_teams)
    for st in ("skills", "self_monitoring"):
        for out in (f"ind_guidance_{st}", "stss_total", "proqol_bo", "proqol_cs"):
            est, se = _team_contrast(study, out, members)
            truth = _truth(study, "att", out, st)
            assert abs(est - truth) < 3.5 * se, (st, out, est, se, truth)
    assert _truth(study, "att", "ind_guidance_skills", "skills") > 0.3
    assert _truth(study, "att", "proqol_cs", "skills") == 0.0  # cs effect 0: same draws
    untouched = study.truth[study.truth["outcome"] == "ind_guidance_education"]
    assert untouched.empty  # only targeted statements get truth rows


def test_program_of_workers_chosen_on_sts():
    study = simulate(
        _program_design(unit="worker", share=0.2, selection="chosen", selection_strength=1.5),
        seed=11,
    )
    progs = study.programs
    assert (progs["team_id"] == "").all() and (progs["worker_id"] != "").all()
    chosen = study.workers["worker_id"].isin(progs["worker_id"])
    assert chosen.mean() == pytest.approx(0.2, abs=0.01)
    sc = study.scored()
    pre = sc[sc["wave"] == "pre"].set_index("worker_id")["stss_total"]
    on = pre.index.isin(progs["worker_id"])
    assert pre[on].mean() > pre[~on].mean() + 3  # chosen: worse-off workers enrol more


def test_write_programs_round_trip_and_stale_file(tmp_path):
    study = simulate(StudyDesign.individual(), seed=5)
    write_programs(study, tmp_path)
    back = pd.read_csv(tmp_path / "programs.csv", dtype=str, keep_default_na=False)
    assert len(back) == len(study.programs)
    assert set(back["team_id"]) == set(study.programs["team_id"])
    assert (back["start_date"] == "2024-05-01").all()
    write_programs(simulate(StudyDesign.small(), seed=1), tmp_path)
    assert not (tmp_path / "programs.csv").exists()


def test_nullified_program_has_zero_truth_and_presets_ship_programs():
    study = simulate(StudyDesign.individual().nullified(), seed=3)
    rows = study.truth[study.truth["area"].isin(STATEMENT_KEYS)]
    assert len(rows) and (rows["value"] == 0).all()
    ind = simulate(StudyDesign.individual(), seed=2026)
    assert "ind_guidance" in ind.instruments
    assert ind.programs["statement"].isin(STATEMENT_KEYS).all()
    assert getattr(simulate(StudyDesign.small(), seed=1), "programs", None) is None


@pytest.mark.parametrize("name", ["three_wave", "staggered", "team_rct", "coded"])
def test_dose_and_programs_work_with_every_study_shape(name):
    d = StudyDesign.preset(name).with_overrides(
        {
            "mediated_share": 0.5,
            "dose_confounder": 0.2,
            "instruments": _IND,
            "programs": [{"name": "c", "statements": ["team_support"], "unit": "team"}],
        }
    )
    study = simulate(d, seed=1)
    t = study.truth
    later = d.wave_names[1:]
    for estimand in ("dose_slope", "indirect", "direct"):
        rows = t[t["estimand"] == estimand]
        assert len(rows) == 4 * len(d.areas) * len(later) and rows["value"].notna().all()
    prog = t[t["area"] == "team_support"]
    assert len(prog) == 2 * 5 * len(later) and prog["value"].notna().all()
    assert set(study.programs["team_id"]) <= set(study.workers["team_id"])
    assert "caseload" in study.responses


def test_design_yaml_with_a_program(tmp_path):
    path = tmp_path / "design.yaml"
    path.write_text(
        "base: small\n"
        "instruments: [stss, proqol, org_guidance, ind_guidance]\n"
        "mediated_share: 0.5\n"
        "programs:\n"
        "  - name: peer_support\n"
        "    statements: [team_support]\n"
        "    statement_effect: 0.4\n"
        "    unit: worker\n"
        "    share: 0.25\n",
        encoding="utf-8",
    )
    d = StudyDesign.from_yaml(path)
    assert d.programs[0].effect_on("team_support") == 0.4 and d.mediated_share == 0.5
    study = simulate(d, seed=2)
    assert (study.programs["statement"] == "team_support").all()
    assert study.meta["provenance"]["design"]["programs"][0]["name"] == "peer_support"
