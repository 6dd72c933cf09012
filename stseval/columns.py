"""The column vocabulary: every fixed column name the kit reads or writes.

These names are a contract with users' scripts, notebooks and outside checks;
`tests/test_columns.py` checks that the tables the kit produces use them.
"""

from __future__ import annotations

__all__ = [
    "ESTIMATE_COLUMNS",
    "ESTIMATORS",
    "WORKER_COLUMNS",
    "RESPONSE_ID_COLUMNS",
    "ORG_COLUMNS",
    "INTERVENTION_COLUMNS",
    "ORG_METRIC_COLUMNS",
    "TRUTH_COLUMNS",
    "EFFECT_SIZE_COLUMNS",
    "RELIABILITY_COLUMNS",
    "DEFAULT_WAVES",
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

#: Estimator names used in the `estimator` column.
ESTIMATORS = ["paired_change", "ancova", "did", "mixed", "org_practice", "its", "rci"]

# Study-folder tables (DESIGN.md, "Study folder").
WORKER_COLUMNS = ["worker_id", "org_id", "team_id"]  # optional: role, tenure
RESPONSE_ID_COLUMNS = ["worker_id", "wave", "date"]  # then <instrument>_<NN> items
ORG_COLUMNS = ["org_id", "name", "size"]
INTERVENTION_COLUMNS = ["org_id", "area", "start_date"]
ORG_METRIC_COLUMNS = ["org_id", "month", "headcount", "separations", "absence_days"]
TRUTH_COLUMNS = ["area", "outcome", "estimand", "value"]

DEFAULT_WAVES = ["pre", "post"]

#: Effect-size rows from `stseval.effects`.
EFFECT_SIZE_COLUMNS = ["es_type", "effect_size", "ci_low", "ci_high", "method", "n"]

#: One-row results of `stseval.reliability.alpha` / `omega`.
RELIABILITY_COLUMNS = ["estimate", "ci_low", "ci_high", "n"]  # then k, method
