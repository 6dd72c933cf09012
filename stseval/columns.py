"""The column vocabulary: every fixed column name the kit reads or writes, and its rule.

These names are a contract with users' scripts, notebooks and outside checks;
``tests/test_columns.py`` types each public function's columns out literally and
checks the tables the kit produces against them.

The rule (kept by every public function of the statistics modules)
------------------------------------------------------------------
* ``ci_low`` / ``ci_high`` always bound the row's own **primary quantity**:
  ``estimate`` in :mod:`stseval.models` and :func:`stseval.evaluate_area`,
  ``effect_size`` in :mod:`stseval.effects`, the coefficient (``estimate``) in
  :func:`stseval.reliability.alpha` / ``omega``, ``proportion`` in
  :func:`stseval.effects.reliable_change_summary`, ``power`` in
  :func:`stseval.power.simulate_power`.
* ``es_ci_low`` / ``es_ci_high`` bound a **secondary** standardized effect size
  (``effect_size``) when a row carries both a raw estimate and an effect size
  (the estimates table, :func:`stseval.models.org_practice`).
* Counts: ``n`` counts the units of the row's own statistic (pairs, people,
  respondents, groups' members); ``n_workers`` / ``n_orgs`` are used where both
  levels matter (every estimator of a clustered design).
* ``es_type`` is a short code from :data:`ES_TYPES` (``d_z``, ``g_av``,
  ``d_ancova``, ...); ``es_description`` holds the sentence saying what was
  divided by what (``effects`` still also returns it as ``description``, the old
  name, for one release).
* ``note`` is empty unless something needs saying (no estimate and why,
  non-convergence, a fallback); ``method`` names the computation.

Outcome vocabulary
------------------
:data:`OUTCOME_LABELS` (a reader's name for a score column or indicator),
:data:`LOWER_IS_BETTER` and :func:`outcome_direction` (which way is an
improvement) and :data:`WORKDAYS_PER_MONTH` (the denominator of
``absence_rate``).
"""

from __future__ import annotations

__all__ = [
    "ESTIMATE_COLUMNS",
    "EVALUATE_EXTRA_COLUMNS",
    "EVALUATE_DESIGN_COLUMNS",
    "ESTIMATORS",
    "DOSE_ESTIMATORS",
    "STATEMENT_ESTIMATORS",
    "MODEL_COLUMNS",
    "MODEL_ES_COLUMNS",
    "WORKER_COLUMNS",
    "RESPONSE_ID_COLUMNS",
    "ORG_COLUMNS",
    "INTERVENTION_COLUMNS",
    "ORG_METRIC_COLUMNS",
    "TRUTH_COLUMNS",
    "EFFECT_SIZE_COLUMNS",
    "RELIABILITY_COLUMNS",
    "ES_TYPES",
    "DEFAULT_WAVES",
    "OUTCOME_LABELS",
    "LOWER_IS_BETTER",
    "WORKDAYS_PER_MONTH",
    "outcome_direction",
]

#: The estimates table (DESIGN.md, "The estimates table").
ESTIMATE_COLUMNS = [
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
]

#: Columns :func:`stseval.evaluate_area` adds after :data:`ESTIMATE_COLUMNS`.
EVALUATE_EXTRA_COLUMNS = ["p_fdr_all_areas", "direction", "icc_org", "method", "es_description"]

#: Columns :func:`stseval.evaluate_area` appends for the study designs: ``wave`` (the
#: later wave a row compares with the first; ``event +k`` for ``att_event`` rows; blank
#: for monthly indicators and overall summaries), ``cohort`` (start cohort of an
#: ``att_gt`` row), ``primary`` (bool: the design's primary estimator for the outcome,
#: :func:`stseval.design.primary_estimator`), ``linkage`` (which rows the estimator used:
#: ``linked`` by worker ID, ``code_matched`` by self-generated code, ``unlinked``: every
#: response, no link used; blank for indicators), ``icc_team`` and ``design_effect``
#: (team-randomized trials: team ICC(1) at the first wave and 1 + (m - 1) ICC).
EVALUATE_DESIGN_COLUMNS = ["wave", "cohort", "primary", "linkage", "icc_team", "design_effect"]

#: Estimator names used in the `estimator` column: today's, then the design estimators
#: (described in :data:`stseval._designrows.DESIGN_ESTIMATORS`).
ESTIMATORS = [
    "paired_change",
    "ancova",
    "did",
    "mixed",
    "org_practice",
    "its",
    "rci",
    "within_paired",
    "within_unlinked",
    "its_own_level",
    "its_own_slope",
    "did_cross_section",
    "did_org_means",
    "wave_effect",
    "ancova_wave",
    "att_gt",
    "att_event",
    "att_overall",
    "twfe",
    "team_did",
    "did_joint_areas",
]

#: Estimator names of :mod:`stseval.dose` (dose-response and mediation; associations).
DOSE_ESTIMATORS = [
    "dose_org",
    "dose_org_corrected",
    "dose_org_pooled",
    "dose_bin",
    "dose_between",
    "dose_within",
    "dose_worker",
    "med_a",
    "med_b",
    "med_indirect",
    "med_direct",
    "med_total",
]

#: Estimator names of :func:`stseval.individual.evaluate_statement`.
STATEMENT_ESTIMATORS = ["paired_change", "paired_change_nonparticipants", "ancova"]

#: Every estimator of :mod:`stseval.models` (one row per reported term).
MODEL_COLUMNS = [
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
#: Extra columns of :func:`stseval.models.org_practice` (a secondary effect size).
MODEL_ES_COLUMNS = ["effect_size", "es_type", "es_ci_low", "es_ci_high", "es_description"]

# Study-folder tables (DESIGN.md, "Study folder").
WORKER_COLUMNS = ["worker_id", "org_id", "team_id"]  # optional: role, tenure
RESPONSE_ID_COLUMNS = ["worker_id", "wave", "date"]  # then <instrument>_<NN> items
ORG_COLUMNS = ["org_id", "name", "size"]
INTERVENTION_COLUMNS = ["org_id", "area", "start_date"]
ORG_METRIC_COLUMNS = ["org_id", "month", "headcount", "separations", "absence_days"]
TRUTH_COLUMNS = ["area", "outcome", "estimand", "value"]

DEFAULT_WAVES = ["pre", "post"]

#: Effect-size rows from `stseval.effects` (then ``description``, ``es_description``, ...).
EFFECT_SIZE_COLUMNS = ["es_type", "effect_size", "ci_low", "ci_high", "method", "n"]

#: One-row results of `stseval.reliability.alpha` / `omega` (then ``k``, ``method``).
RELIABILITY_COLUMNS = ["estimate", "ci_low", "ci_high", "n"]

#: Short ``es_type`` codes and what each standardizes.
ES_TYPES = {
    "d_z": "mean change / SD of the changes",
    "g_z": "d_z, Hedges-corrected",
    "d_av": "mean change / average of the pre and post SDs",
    "g_av": "d_av, Hedges-corrected",
    "d_rm": "repeated-measures d (change / SD corrected for the pre/post correlation)",
    "g_rm": "d_rm, Hedges-corrected",
    "d_b": "mean change / pre-test SD (Becker 1988)",
    "g_b": "d_b, Hedges-corrected",
    "g": "difference in means / pooled SD, Hedges-corrected",
    "hedges_g": "baseline difference between the arms / pooled SD, Hedges-corrected",
    "d_ppc2": "difference in mean change / pooled pre-test SD, bias-corrected (Morris 2008)",
    "d_ancova": "ANCOVA estimate / pooled pre-test SD",
    "d_mixed": "mixed-model estimate / pooled pre-test SD",
    "hedges_g_org_change": "Hedges' g of the organizations' mean changes",
    "share_improved": "share of the intervention arm reliably improved",
    "d_first_wave_sd": "design estimate / SD of the outcome at the first wave (all rows)",
}

#: A reader's name for a score column or monthly indicator.
OUTCOME_LABELS = {
    "stss_total": "secondary traumatic stress (STSS total)",
    "proqol_sts": "secondary traumatic stress (ProQOL)",
    "proqol_bo": "burnout (ProQOL)",
    "proqol_cs": "compassion satisfaction (ProQOL)",
    "separation_rate": "monthly staff turnover",
    "absence_rate": "monthly absence rate",
}

#: Score columns and indicators where a lower value is an improvement.
LOWER_IS_BETTER = frozenset(
    {
        "stss_total",
        "stss_intrusion",
        "stss_avoidance",
        "stss_arousal",
        "proqol_sts",
        "proqol_bo",
        "pcl5_total",
        "pss10_total",
        "cbi_personal",
        "cbi_work",
        "cbi_client",
        "separation_rate",
        "absence_rate",
    }
)

#: Working days per month, the denominator of ``absence_rate`` = absence_days /
#: (headcount x WORKDAYS_PER_MONTH) (DERIVED: 5 days x 52 weeks / 12 ~ 21).
WORKDAYS_PER_MONTH = 21


def outcome_direction(outcome: str) -> str:
    """``"lower"`` if a lower value of ``outcome`` is an improvement, else ``"higher"``."""
    return "lower" if outcome in LOWER_IS_BETTER else "higher"
