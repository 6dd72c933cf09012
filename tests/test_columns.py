"""The column contract, typed out literally.

Each public function's output columns are written here by hand (never imported from
the code), so renaming a column in the code fails this test. The rule of
:mod:`stseval.columns` is checked on real outputs: ``ci_low``/``ci_high`` bound the
row's own primary quantity, ``es_ci_*`` a secondary effect size, ``es_type`` is a
short code with the sentence in ``es_description``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stseval
from stseval import columns, effects, missing_data, models, power, reliability
from stseval.synthetic import StudyDesign

ROOT = Path(__file__).resolve().parents[1]

MODEL = [
    "term",
    "estimate",
    "se",
    "statistic",
    "df",
    "ci_low",
    "ci_high",
    "p_value",
    "n_workers",
    "n_orgs",
    "method",
    "note",
]
ESTIMATES = [
    "area",
    "outcome",
    "estimator",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "effect_size",
    "es_type",
    "es_ci_low",
    "es_ci_high",
    "n_workers",
    "n_orgs",
    "note",
    "p_fdr_all_areas",
    "direction",
    "icc_org",
    "method",
    "es_description",
    "wave",
    "cohort",
    "primary",
    "linkage",
    "icc_team",
    "design_effect",
]
PAIRED_ES = [
    "es_type",
    "effect_size",
    "ci_low",
    "ci_high",
    "method",
    "n",
    "description",
    "es_description",
    "standardizer",
    "mean_change",
    "se_change",
    "change_ci_low",
    "change_ci_high",
    "r",
    "note",
]
ES_HEAD = ["es_type", "effect_size", "ci_low", "ci_high", "method", "n"]
ES_CODES = {
    "d_z",
    "g_z",
    "d_rm",
    "g_rm",
    "d_av",
    "g_av",
    "d_b",
    "g_b",
    "g",
    "d_ppc2",
    "d_ancova",
    "d_mixed",
    "hedges_g",
    "hedges_g_org_change",
    "share_improved",
    "d_first_wave_sd",
}


def _wide(seed=0, n_orgs=12, n_per=6):
    rng = np.random.default_rng(seed)
    org = np.repeat(np.arange(n_orgs), n_per)
    pre = rng.normal(50, 10, len(org)) + rng.normal(0, 3, n_orgs)[org]
    post = pre + rng.normal(-2, 5, len(org))
    return pd.DataFrame(
        {
            "worker_id": np.arange(len(org)),
            "org_id": org,
            "treated": org % 2,
            "pre": pre,
            "post": post,
        }
    )


def _long(wide):
    both = [wide.assign(wave=w, y=wide[w]) for w in ("pre", "post")]
    return pd.concat(both, ignore_index=True)[["worker_id", "org_id", "treated", "wave", "y"]]


def _org_months(n_orgs=8, n_months=18):
    rng = np.random.default_rng(1)
    months = pd.date_range("2023-01-01", periods=n_months, freq="MS")
    rows = []
    for o in range(n_orgs):
        start = months[6 + o % 3] if o % 2 else pd.NaT
        for mo in months:
            rows.append(
                dict(
                    org_id=o,
                    month=mo,
                    headcount=60,
                    separations=rng.poisson(2),
                    absence_days=rng.poisson(50),
                    treated=o % 2,
                    start_date=start,
                )
            )
    return pd.DataFrame(rows)


def test_model_estimators_columns():
    w = _wide()
    long = _long(w)
    outs = [
        models.paired_test(w.pre, w.post),
        models.wilcoxon_test(w.pre, w.post),
        models.ancova(w),
        models.did(long),
        models.mixed(long),
        models.its(_org_months()),
        missing_data.ancova_mi(w.assign(post=w.post.where(w.index % 5 > 0)), n_imputations=3),
    ]
    for out in outs:
        assert list(out.columns) == MODEL
    org = models.org_practice(long)
    assert list(org.columns) == [*MODEL, "effect_size", "es_type", "es_ci_low", "es_ci_high",
                                 "es_description"]  # fmt: skip
    # the rule: ci bounds the estimate, es_ci the effect size
    r = org.iloc[0]
    assert r.ci_low < r.estimate < r.ci_high and r.es_ci_low < r.effect_size < r.es_ci_high
    assert r.es_type in ES_CODES and "Hedges" in r.es_description


def test_effects_columns_and_rule():
    pre, post = [10, 12, 9, 14, 11, 13], [8, 11, 9, 10, 10, 12]
    table = effects.paired(pre, post)
    assert list(table.columns) == PAIRED_ES
    assert list(effects.paired_from_summary(10, 2, 9, 2, 20, 0.5).columns) == PAIRED_ES
    assert list(effects.hedges_g([1, 2, 3], [2, 3, 5]).columns) == [
        *ES_HEAD,
        "description",
        "es_description",
        "n1",
        "n2",
        "mean_difference",
        "sd_pooled",
        "se",
    ]
    ppc_cols = [
        *ES_HEAD,
        "description",
        "es_description",
        "n_t",
        "n_c",
        "change_t",
        "change_c",
        "sd_pre_pooled",
        "r",
        "se",
    ]
    ppc = effects.ppc([1, 2, 3, 4], [2, 3, 5, 4], [1, 2, 3, 5], [1, 3, 3, 6])
    assert list(ppc.columns) == ppc_cols
    assert list(effects.reliable_change([1, 2, 3], [3, 2, 1], reliability=0.8).columns) == [
        "pre",
        "post",
        "change",
        "rci",
        "reliable",
        "category",
        "crossed_cutoff",
        "recovered",
    ]
    summary = effects.reliable_change_summary(["reliably improved", "no reliable change"])
    assert list(summary.columns) == [
        "group",
        "category",
        "count",
        "n",
        "proportion",
        "ci_low",
        "ci_high",
    ]
    # ci bounds effect_size (the row's own quantity); es_type is a code
    for t in (table, ppc):
        assert ((t.ci_low < t.effect_size) & (t.effect_size < t.ci_high)).all()
        assert set(t.es_type) <= ES_CODES
        assert (t.es_description == t.description).all()
    assert (summary.ci_low <= summary.proportion).all()


def test_reliability_and_missing_data_columns():
    rng = np.random.default_rng(2)
    items = pd.DataFrame(rng.normal(size=(60, 4)) + rng.normal(size=(60, 1)))
    for out in (reliability.alpha(items), reliability.omega(items, n_boot=50)):
        assert list(out.columns) == ["estimate", "ci_low", "ci_high", "n", "k", "method"]
        assert out.ci_low[0] < out.estimate[0] < out.ci_high[0]
    assert list(reliability.item_stats(items.round()).columns) == [
        "item",
        "n",
        "mean",
        "sd",
        "item_total_r",
        "alpha_if_deleted",
        "floor_share",
        "ceiling_share",
    ]
    sfc = reliability.scale_floor_ceiling([1, 2, 3], min_value=0, max_value=4)
    assert list(sfc.columns) == ["n", "floor_share", "ceiling_share"]
    w = _wide()
    assert list(reliability.icc(w.pre, w.org_id).columns) == [
        "icc1",
        "icc2",
        "n_groups",
        "n",
        "mean_group_size",
        "f_value",
        "p_value",
        "method",
    ]
    assert list(reliability.rwg(w.pre.round() % 5 + 1, w.org_id, n_options=5).columns) == [
        "group",
        "n",
        "k",
        "rwg",
        "mean_variance",
        "expected_variance",
        "truncated",
    ]
    assert list(missing_data.attrition_table(w).columns) == [
        "arm",
        "n_baseline",
        "n_followed",
        "n_dropped",
        "attrition",
        "differential_attrition",
        "n_orgs_baseline",
        "n_orgs_followed",
        "pre_mean_completers",
        "pre_sd_completers",
        "pre_mean_dropouts",
        "pre_sd_dropouts",
    ]
    assert list(missing_data.wwc_attrition(0.2, 0.05).columns) == [
        "overall",
        "differential",
        "max_differential_cautious",
        "max_differential_optimistic",
        "cautious",
        "optimistic",
    ]
    base = missing_data.baseline_equivalence(w)
    assert list(base.columns) == [
        "effect_size",
        "es_type",
        "mean_treated",
        "mean_comparison",
        "sd_pooled",
        "n_treated",
        "n_comparison",
        "classification",
    ]
    assert set(base.es_type) <= ES_CODES


def test_simulate_power_columns(monkeypatch):
    def fake_simulate(design, seed):
        return seed

    def fake_evaluate(study, area, outcomes, estimators):
        p = 0.01 if study % 2 else 0.5
        return pd.DataFrame(
            {"estimator": ["ancova"], "outcome": outcomes, "p_value": [p], "estimate": [1.0]}
        )

    monkeypatch.setattr(stseval, "simulate", fake_simulate)
    monkeypatch.setattr(stseval, "evaluate_area", fake_evaluate)
    out = power.simulate_power(None, area="supervision", n_reps=4, jobs=1, progress=False)
    assert list(out.columns) == [
        "area",
        "outcome",
        "estimator",
        "n_reps",
        "n_valid",
        "n_significant",
        "power",
        "ci_low",
        "ci_high",
        "mean_estimate",
    ]
    assert out.ci_low[0] <= out.power[0] == 0.5 <= out.ci_high[0]


@pytest.fixture(scope="module")
def estimates():
    study = stseval.simulate(StudyDesign.small(), seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this test checks columns only
        return stseval.evaluate_all(study, areas=["supervision"])


def test_estimates_table_columns_and_rule(estimates):
    assert list(estimates.columns) == ESTIMATES
    est = estimates.dropna(subset=["estimate", "ci_low"])
    assert ((est.ci_low <= est.estimate) & (est.estimate <= est.ci_high)).all()
    es = estimates.dropna(subset=["effect_size", "es_ci_low"])
    assert len(es) and ((es.es_ci_low <= es.effect_size) & (es.effect_size <= es.es_ci_high)).all()
    codes = set(estimates.es_type) - {""}
    assert codes and codes <= ES_CODES
    has_es = estimates.es_type != ""
    assert (estimates.loc[has_es, "es_description"].str.len() > 10).all()
    assert (estimates.loc[~has_es, "es_description"] == "").all()


def test_vocabulary_values():
    assert columns.WORKDAYS_PER_MONTH == 21
    assert columns.outcome_direction("stss_total") == "lower"
    assert columns.outcome_direction("proqol_cs") == "higher"
    assert columns.outcome_direction("absence_rate") == "lower"
    assert columns.OUTCOME_LABELS["proqol_bo"] == "burnout (ProQOL)"
    assert set(columns.ES_TYPES) == ES_CODES
    assert (
        columns.ESTIMATE_COLUMNS + columns.EVALUATE_EXTRA_COLUMNS + columns.EVALUATE_DESIGN_COLUMNS
        == ESTIMATES
    )
    assert models.RESULT_COLUMNS == MODEL


def test_private_columns_alias_is_deprecated():
    import importlib
    import sys

    sys.modules.pop("stseval._columns", None)
    with pytest.warns(DeprecationWarning, match="stseval.columns"):
        mod = importlib.import_module("stseval._columns")
    assert mod.ESTIMATE_COLUMNS == ESTIMATES[:16]


def test_dose_and_statement_estimator_names_are_in_the_vocabulary():
    """Every estimator name the dose and statement tables emit is listed in stseval.columns."""
    from stseval import columns, dose, evaluate_statement

    study = stseval.Study.from_dir(ROOT / "data" / "synthetic" / "individual")
    names = set(dose.dose_table(study, areas=["supervision"], worker_level=False)["estimator"])
    names |= set(dose.mediation(study, "supervision", "stss_total", n_boot=200)["estimator"])
    assert names and names <= set(columns.DOSE_ESTIMATORS)
    got = set(evaluate_statement(study, "skills")["estimator"])
    assert got and got <= set(columns.STATEMENT_ESTIMATORS)
