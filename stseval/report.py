"""Report helpers: the tables and plain-language sentences the notebooks show.

Everything a notebook would otherwise compute in a cell lives in the kit, so
the notebooks stay thin and the numbers are tested. This module is the one
namespace the notebooks import (``from stseval import report``); every name is
imported explicitly from the module that does the work:

* **Notebook support** (``_notebook_support``) -- :func:`notebooks_dir` (the
  packaged notebooks), :func:`resolve_path` (a relative path works from the
  repository root and from a notebook's folder), :func:`output_dir`,
  :func:`load_study`, :func:`read_estimates`; here: :func:`read_area_estimates`
  (every area's estimates with BH across areas) and :func:`save_estimates`.
* **Aggregate tables, small cells suppressed** (``_report_tables``) --
  :func:`participant_flow` (CONSORT counts), :func:`outcome_summary` (mean by
  arm and wave), :func:`indicator_summary` (monthly turnover and absence by
  arm), :func:`reliability_table`, :func:`item_table`, :func:`practice_profile`,
  :func:`org_outcomes`, :func:`missing_item_rules`, :func:`study_ids` (every
  identifier of a study, for :func:`stseval.privacy.assert_no_leaks`). Counts
  of workers below the minimum cell size are blanked with
  :func:`stseval.privacy.suppress` (primary and complementary suppression) and
  the row is marked in ``note``.
* **Words about estimates** (``_report_text``) -- :func:`primary_estimates`,
  :func:`describe_estimate` (one sentence per estimate),
  :func:`executive_summary`, :func:`area_section`, :func:`truth_check` and the
  other summaries; **pieces about a study** (``_report_sections``) --
  :func:`html_table` (a table for a report, suppressed cells marked),
  :func:`study_overview`, :func:`attrition_summary`, :func:`funder_title`,
  :func:`methods_facts`, :func:`org_title`.
* **Disclosure control across tables** (``_report_disclosure``) --
  :func:`protected_tables` (participant flow, outcome summary and attrition of one
  report protected together with :func:`stseval.disclosure.protect_tables`; the three
  builders return its tables) and :func:`write_audit` (``disclosure_audit.csv``).
* **Page 1 of the funder report** (``_report_front``) -- :func:`design_limits`
  (the design's limits before any verdict), :func:`comparison_check` and
  :func:`comparison_check_text` (did the shared comparison group move on its own?),
  :func:`at_a_glance` / :func:`at_a_glance_wide` (verdict symbol, estimate and
  interval per area and outcome), :func:`overall_count`, :func:`report_check`
  (synthetic data: intervals that cover the truth) and :func:`with_verdicts` (the
  ``verdict`` column of :mod:`stseval.verdict`, adjusted p-values).
* **Planning** (:mod:`stseval.power`) --
  :func:`design_inputs`, :func:`sample_sizes`, :func:`power_grid`,
  :func:`mde_text`, :func:`design_inputs_text`.
* **The explorer** (:mod:`stseval.explorer`) -- :func:`explore`,
  :func:`simulation_check`.

Missing-data policy: descriptive tables use every non-missing score (a worker
with only a pre score counts at the pre wave); "analysed" in the participant
flow means a worker with both a pre and a post score on the outcome, the
sample of the primary (ANCOVA) estimate.

Tests (``tests/test_report.py``) check the flow counts by hand on the small
synthetic study, suppression of small cells and its marking, the wording of
sentences for improvements, deteriorations and unclear results, the
reliability table against :func:`stseval.reliability.alpha`, the planning
numbers against :mod:`stseval.power`, that :func:`study_ids` finds every ID of
the study, and that ``__all__`` holds every name the notebooks use.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ._notebook_support import (
    load_study,
    notebooks_dir,
    output_dir,
    read_estimates,
    resolve_path,
)
from ._report_disclosure import (
    ATTRITION_COLUMNS,
    ProtectedReportTables,
    protected_tables,
    write_audit,
    write_run_audit,
)
from ._report_front import (
    CHECK_COLUMNS,
    GLANCE_COLUMNS,
    at_a_glance,
    at_a_glance_wide,
    comparison_check,
    comparison_check_text,
    design_limits,
    glance_key,
    overall_count,
    report_check,
    with_verdicts,
)
from ._report_sections import (
    HEADERS,
    attrition_summary,
    funder_title,
    html_table,
    instrument_heading,
    methods_facts,
    org_title,
    profile_reading,
    study_overview,
)
from ._report_tables import (
    FLOW_COLUMNS,
    SUMMARY_COLUMNS,
    _min_cell,
    indicator_summary,
    item_table,
    missing_item_rules,
    org_outcomes,
    outcome_label,
    outcome_summary,
    participant_flow,
    practice_profile,
    reliability_table,
    study_ids,
)
from ._report_text import (
    area_section,
    areas_in,
    certainty,
    describe_estimate,
    estimates_table,
    executive_summary,
    its_table,
    plain_language,
    primary_estimates,
    primary_estimator,
    summary_bullets,
    truth_check,
)
from .areas import AREA_KEYS
from .errors import UsageError
from .explorer import explore, simulation_check
from .power import design_inputs, design_inputs_text, mde_text, power_grid, sample_sizes

__all__ = [
    "ATTRITION_COLUMNS",
    "ProtectedReportTables",
    "protected_tables",
    "write_audit",
    "write_run_audit",
    "CHECK_COLUMNS",
    "GLANCE_COLUMNS",
    "at_a_glance",
    "at_a_glance_wide",
    "comparison_check",
    "comparison_check_text",
    "design_limits",
    "glance_key",
    "overall_count",
    "report_check",
    "with_verdicts",
    "FLOW_COLUMNS",
    "HEADERS",
    "SUMMARY_COLUMNS",
    "area_section",
    "areas_in",
    "attrition_summary",
    "certainty",
    "describe_estimate",
    "design_inputs",
    "design_inputs_text",
    "estimates_table",
    "executive_summary",
    "explore",
    "funder_title",
    "html_table",
    "indicator_summary",
    "instrument_heading",
    "item_table",
    "its_table",
    "load_estimates",
    "load_study",
    "mde_text",
    "methods_facts",
    "missing_item_rules",
    "notebooks_dir",
    "org_outcomes",
    "org_title",
    "outcome_label",
    "outcome_summary",
    "output_dir",
    "participant_flow",
    "plain_language",
    "power_grid",
    "practice_profile",
    "primary_estimates",
    "primary_estimator",
    "profile_reading",
    "read_area_estimates",
    "read_estimates",
    "reliability_table",
    "resolve_path",
    "sample_sizes",
    "save_estimates",
    "simulation_check",
    "study_ids",
    "study_overview",
    "summary_bullets",
    "truth_check",
]


def read_area_estimates(results_dir, *, areas=None) -> pd.DataFrame:
    """Every area's ``estimates.csv`` under ``results_dir``, in one table with BH across areas.

    Looks for ``<results_dir>/areas/<area>/estimates.csv`` and
    ``<results_dir>/<area>/estimates.csv`` (with ``areas``: only those areas'
    folders). Areas are ordered as in :data:`stseval.areas.AREA_KEYS`;
    ``p_fdr_all_areas`` is recomputed with :func:`stseval.evaluate.add_fdr`
    over all the areas read. This is the one place the kit adjusts across areas.

    Raises
    ------
    UsageError
        No ``estimates.csv`` was found, or an unknown area was asked for.
    """
    root = resolve_path(results_dir)
    unknown = [a for a in (areas or ()) if a not in AREA_KEYS]
    if unknown:
        raise UsageError(f"unknown area(s) {unknown}; areas are {', '.join(AREA_KEYS)}")
    files = sorted(set(root.glob("areas/*/estimates.csv")) | set(root.glob("*/estimates.csv")))
    if areas is not None:
        files = [f for f in files if f.parent.name in set(areas)]
    if not files:
        raise UsageError(
            f"no estimates.csv found under {root} (expected areas/<area>/estimates.csv)"
        )
    from .evaluate import add_fdr

    est = pd.concat([read_estimates(f) for f in files], ignore_index=True)
    order = {a: i for i, a in enumerate(AREA_KEYS)}
    est = est.sort_values("area", key=lambda s: s.map(order), kind="mergesort")
    return add_fdr(est.reset_index(drop=True))


def load_estimates(
    results_dir, study, *, areas=None, confidence: float = 0.95, min_cell: int | None = None
) -> pd.DataFrame:
    """Deprecated: read estimates with :func:`read_estimates` / :func:`read_area_estimates`.

    The funder notebook now receives the pipeline's combined estimates CSV by
    path and reads it with :func:`read_estimates`. This function still works
    for one release: with ``results_dir`` it is :func:`read_area_estimates`;
    with an empty ``results_dir`` every area with intervention organizations is
    evaluated now (:func:`stseval.evaluate_all`). ``areas`` keeps only those
    areas (BH recomputed over them).
    """
    warnings.warn(
        "stseval.report.load_estimates is deprecated; use report.read_estimates(path) on the "
        "estimates CSV that stseval report writes, or stseval.evaluate_all",
        DeprecationWarning,
        stacklevel=2,
    )
    if areas:
        unknown = [a for a in areas if a not in AREA_KEYS]
        if unknown:
            raise UsageError(f"unknown area(s) {unknown}; areas are {', '.join(AREA_KEYS)}")
    if results_dir:
        est = read_area_estimates(results_dir)
    else:
        from .evaluate import evaluate_all

        chosen = areas or [a for a in AREA_KEYS if (study.interventions["area"] == a).any()]
        est = evaluate_all(
            study, areas=chosen, confidence=confidence, min_cell=_min_cell(study, min_cell)
        )
    if areas:
        from .evaluate import add_fdr

        est = add_fdr(est[est["area"].isin(list(areas))].reset_index(drop=True))
    return est


def save_estimates(estimates: pd.DataFrame, path) -> Path:
    """Write an estimates table as CSV with :func:`stseval.privacy.safe_csv`; return the path."""
    from .privacy import safe_csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_csv(estimates, path, index=False)
    return path
