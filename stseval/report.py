"""Report helpers: the tables and plain-language sentences the notebooks show.

Everything a notebook would otherwise compute in a cell lives here, so the
notebooks stay thin and the numbers are tested. One namespace for the
notebooks (``from stseval import report``); the code lives in four modules:

* **Finding things** (this module) -- :func:`resolve_path` (a relative path
  works from the repository root and from ``notebooks/``), :func:`output_dir`,
  :func:`load_study`, :func:`read_area_estimates`, :func:`load_estimates`,
  :func:`save_estimates`.
* **Aggregate tables, small cells suppressed** (``_report_tables``) --
  :func:`participant_flow` (CONSORT counts), :func:`outcome_summary` (mean by
  arm and wave), :func:`indicator_summary` (monthly turnover and absence by
  arm), :func:`reliability_table`, :func:`item_table`, :func:`practice_profile`,
  :func:`org_outcomes`, :func:`missing_item_rules`, :func:`study_ids` (every
  identifier of a study, for :func:`stseval.privacy.assert_no_leaks`). Counts
  of workers below the minimum cell size are blanked with
  :func:`stseval.privacy.suppress` (primary and complementary suppression) and
  the row is marked in ``note``.
* **Words** (``_report_text``) -- :func:`outcome_label`,
  :func:`primary_estimates`, :func:`describe_estimate` (one sentence per
  estimate), :func:`executive_summary`, :func:`area_section`,
  :func:`attrition_summary`, :func:`html_table` (a table for a report,
  suppressed cells marked) and the other markdown pieces of the reports.
* **Planning and simulation** (``_report_planning``) -- :func:`design_inputs`,
  :func:`sample_sizes`, :func:`power_grid`, :func:`mde_text`,
  :func:`simulation_check`, :func:`explore`.

Missing-data policy: descriptive tables use every non-missing score (a worker
with only a pre score counts at the pre wave); "analysed" in the participant
flow means a worker with both a pre and a post score on the outcome, the
sample of the primary (ANCOVA) estimate.

Tests (``tests/test_report.py``) check the flow counts by hand on the small
synthetic study, suppression of small cells and its marking, the wording of
sentences for improvements, deteriorations and unclear results, the
reliability table against :func:`stseval.reliability.alpha`, the planning
numbers against :mod:`stseval.power`, and that :func:`study_ids` finds every
ID of the study.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pandas as pd

from ._report_planning import *
from ._report_tables import *
from ._report_tables import _min_cell
from ._report_text import *
from .areas import AREA_KEYS
from .errors import UsageError

__all__ = [
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
    "reliability_table",
    "resolve_path",
    "sample_sizes",
    "save_estimates",
    "simulation_check",
    "study_ids",
    "study_overview",
    "summary_bullets",
]

_REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_path(path, *, must_exist: bool = True) -> Path:
    """Find ``path`` as given, relative to the current folder's parent, or to the repository root.

    Notebooks run with their own folder as the working directory (papermill
    ``cwd``, nbval) while their default parameters are written relative to the
    repository root (``data/synthetic/small``); this makes both work.

    Raises
    ------
    UsageError
        ``must_exist`` and the path is found in none of the places (they are listed).
    """
    if path is None or str(path).strip() == "":
        raise UsageError("a path is required, got an empty value")
    p = Path(str(path)).expanduser()
    candidates = [p] if p.is_absolute() else [Path.cwd() / p, Path.cwd().parent / p, _REPO_ROOT / p]
    for cand in candidates:
        if cand.exists():
            return cand.resolve()
    if must_exist:
        raise UsageError(
            f"{path} was not found; looked in " + ", ".join(str(c.parent) for c in candidates)
        )
    return candidates[0].resolve()


def output_dir(path=None) -> Path:
    """Create and return the folder results are written to; a new temporary folder if ``path`` is empty."""
    if path is None or str(path).strip() == "":
        return Path(tempfile.mkdtemp(prefix="stseval-"))
    out = Path(str(path)).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_study(study_dir):
    """:meth:`stseval.Study.from_dir` on :func:`resolve_path` of ``study_dir`` (validated)."""
    from .study import Study

    return Study.from_dir(resolve_path(study_dir))


def read_area_estimates(results_dir) -> pd.DataFrame:
    """Every area's ``estimates.csv`` under ``results_dir``, in one table with BH across areas.

    Looks for ``<results_dir>/areas/<area>/estimates.csv`` and
    ``<results_dir>/<area>/estimates.csv``. Areas are ordered as in
    :data:`stseval.areas.AREA_KEYS`; ``p_fdr_all_areas`` is recomputed with
    :func:`stseval.evaluate.add_fdr` over all areas found.

    Raises
    ------
    UsageError
        No ``estimates.csv`` was found.
    """
    from .evaluate import add_fdr

    root = resolve_path(results_dir)
    files = sorted(set(root.glob("areas/*/estimates.csv")) | set(root.glob("*/estimates.csv")))
    if not files:
        raise UsageError(
            f"no estimates.csv found under {root} (expected areas/<area>/estimates.csv)"
        )
    tables = [pd.read_csv(f, keep_default_na=True) for f in files]
    est = pd.concat(tables, ignore_index=True)
    for col in ("note", "method", "es_type"):
        if col in est:
            est[col] = est[col].fillna("").astype(str)
    for col in ("n_workers", "n_orgs"):
        if col in est:
            est[col] = pd.to_numeric(est[col], errors="coerce").astype("Int64")
    order = {a: i for i, a in enumerate(AREA_KEYS)}
    est = est.sort_values("area", key=lambda s: s.map(order), kind="mergesort")
    return add_fdr(est.reset_index(drop=True))


def load_estimates(
    results_dir, study, *, areas=None, confidence: float = 0.95, min_cell: int | None = None
) -> pd.DataFrame:
    """The estimates a report shows: read from the area notebooks' output, or computed here.

    With ``results_dir`` (the folder holding ``areas/<area>/estimates.csv``) this is
    :func:`read_area_estimates`; with an empty ``results_dir`` every area with
    intervention organizations is evaluated now (:func:`stseval.evaluate_all`).
    ``areas`` keeps only those areas.
    """
    if results_dir:
        est = read_area_estimates(results_dir)
    else:
        from .evaluate import evaluate_all

        chosen = areas or [a for a in AREA_KEYS if (study.interventions["area"] == a).any()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = evaluate_all(
                study, areas=chosen, confidence=confidence, min_cell=_min_cell(study, min_cell)
            )
    if areas:
        from .evaluate import add_fdr

        unknown = [a for a in areas if a not in AREA_KEYS]
        if unknown:
            raise UsageError(f"unknown area(s) {unknown}; areas are {', '.join(AREA_KEYS)}")
        est = add_fdr(est[est["area"].isin(list(areas))].reset_index(drop=True))
    return est


def save_estimates(estimates: pd.DataFrame, path) -> Path:
    """Write an estimates table as CSV with :func:`stseval.privacy.safe_csv`; return the path."""
    from .privacy import safe_csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_csv(estimates, path, index=False)
    return path
