"""Evaluate one guidance area: every outcome x estimator in one tidy table.

For an organizational area, the organizations that changed practice in it
(the *intervention* arm: rows of ``interventions.csv`` for the area) are
compared with organizations that changed nothing (the *comparison* arm:
organizations with no row in ``interventions.csv``). Organizations that
changed a different area are left out of this area's comparison.

Outcomes
--------
* staff outcomes of the area (``stss_total``, ``proqol_sts``, ``proqol_bo``,
  ``proqol_cs``) where the study measured them;
* the area's practice score, ``org_guidance_<area>``;
* monthly indicators ``separation_rate`` and ``absence_rate`` when the study
  has ``org_metrics.csv`` data.

Estimators (the ``estimator`` column)
-------------------------------------
``paired_change``
    Mean pre-to-post change within the intervention arm (paired t). Naive:
    it also absorbs any secular trend, so it is biased when everyone changes.
    Effect size g_av (Hedges-corrected d_av).
``ancova``
    The primary controlled estimate: post score adjusted for pre score,
    intervention vs comparison, cluster-robust (CR3) standard errors by
    organization, t on G - 1 df. Effect size: the estimate over the pooled
    pre-test SD.
``did``
    Difference in differences in long form (all observed worker-waves), CR3
    by organization. Effect size: Morris (2008) d_ppc2.
``mixed``
    Linear mixed model with organization random intercepts and repeated
    measures within workers.
``org_practice``
    Practice score aggregated to organization x wave; change compared between
    arms (Welch t); practice score only.
``its``
    Comparative interrupted time series of a monthly indicator (level change).
``rci``
    Difference between arms in the share of workers with reliable improvement
    (Jacobson & Truax, 1991, with the instrument's published reliability);
    Wald interval, not adjusted for clustering (see ``note``).

Study designs
-------------
The estimators above are today's design: two waves linked by worker ID,
organizations assigned, chosen comparison organizations, one start cohort.
:func:`evaluate_area` reads ``study.design`` and the area's data and runs what
the design supports (:mod:`stseval._evaluate_designs`; estimator names in
:data:`stseval._designrows.DESIGN_ESTIMATORS`; the primary one by
:func:`stseval.design.primary_estimator`):

=====================================  =================================================
design                                 rows
=====================================  =================================================
today's design                         the rows above (+ ``did_joint_areas`` when
                                       organizations of the area changed other areas)
no comparison group                    ``within_paired`` (linked) / ``within_unlinked``
                                       (anonymous) per later wave; ``its_own_level`` and
                                       ``its_own_slope`` for the indicators; ``ancova``
                                       and ``did`` say "not estimable: no comparison
                                       group"
anonymous waves                        ``did_cross_section``, ``did_org_means``
                                       (+ ``wave_effect`` with 3+ waves); ``paired_change``,
                                       ``ancova``, ``rci`` say "not estimable: waves are
                                       not linked"
self-generated codes                   linked by :func:`stseval.linking.link_study`
                                       (``link_rule``): today's rows on the matched
                                       workers (``linkage = code_matched``) beside the
                                       anonymous rows on every response (``unlinked``)
3 or more waves (linked)               today's rows at the second wave, ``wave_effect``
                                       and ``ancova_wave`` at every later wave
staggered start cohorts                ``att_gt``, ``att_event``, ``att_overall`` and
                                       ``twfe`` (comparison only, never primary)
teams assigned                         ``team_did`` (+ ``icc_team``, ``design_effect``
                                       when randomized), ``did_cross_section`` and
                                       ``ancova_wave`` clustered by team
=====================================  =================================================

Every estimate is in the outcome's raw units with its sign kept: for STS
and burnout a negative estimate is an improvement (see ``direction``).
Groups smaller than ``min_cell`` workers are not estimated; the row says why
in ``note`` rather than giving a number that could identify people or mislead.
"""

from __future__ import annotations

import contextvars
import warnings

import numpy as np
import pandas as pd

from . import _areaviews, models, multi_area, reshape
from . import _evaluate_designs as _designs
from ._args import check_choices, check_confidence, check_min_cell
from ._evaluate_designs import design_summary
from ._evaluate_rows import _blank, _indicator_rows, _worker_rows
from .areas import AREA_KEYS, ORG_AREAS, get_area
from .columns import (
    ESTIMATE_COLUMNS,
    ESTIMATORS,
    EVALUATE_DESIGN_COLUMNS,
    EVALUATE_EXTRA_COLUMNS,
    outcome_direction,
)
from .design import primary_estimator
from .errors import NoInterventionError, UsageError
from .instruments import load_instrument

__all__ = [
    "evaluate_area",
    "evaluate_all",
    "design_summary",
    "add_fdr",
    "area_outcomes",
    "missing_data_report",
    "EXTRA_COLUMNS",
]

#: Columns added around the contract columns (``stseval.columns.EVALUATE_EXTRA_COLUMNS``).
EXTRA_COLUMNS = EVALUATE_EXTRA_COLUMNS
#: Columns appended after them for the study designs (``stseval.columns.EVALUATE_DESIGN_COLUMNS``).
DESIGN_COLUMNS = EVALUATE_DESIGN_COLUMNS

_INDICATORS = ("separation_rate", "absence_rate")
#: Estimators that use every response and no link (a coded study is not linked for them).
_ALL_ROWS_ESTIMATORS = {
    "did_cross_section",
    "did_org_means",
    "within_unlinked",
    "its",
    "its_own_level",
    "its_own_slope",
    "did_joint_areas",
}


def area_outcomes(study, area: str) -> list[str]:
    """The outcomes evaluated for ``area`` that this study can measure."""
    spec = get_area(area)
    measured = set()
    for key in study.instruments:
        measured |= {f"{key}_{s}" for s in load_instrument(key).scales}
    out = [o for o in spec.outcomes if o in measured]
    if spec.practice_scale in measured:
        out.append(spec.practice_scale)
    metrics = getattr(study, "org_metrics", None)
    if metrics is not None and len(metrics):
        out += [i for i in spec.indicators if i in _INDICATORS]
    return out


def evaluate_area(
    study,
    area: str,
    *,
    outcomes=None,
    confidence: float = 0.95,
    comparison: str = "no_intervention",
    min_cell: int = 5,
    se_type: str = "CR3",
    estimators=None,
    link_rule: str = "exact",
    link_k: int | None = None,
) -> pd.DataFrame:
    """Estimates for one organizational guidance area.

    Parameters
    ----------
    study : Study
    area : str
        One of ``policies, training, workforce_support, culture, supervision,
        leadership, monitoring``.
    outcomes : list of str, optional
        Score columns or indicator names; default :func:`area_outcomes`.
    confidence : float
        Two-sided confidence level of every interval.
    comparison : {"no_intervention"}
        Which organizations form the comparison arm (only organizations with
        no intervention in any area, for now).
    min_cell : int
        Minimum number of workers per arm for a worker-level estimate (and
        organizations report nothing on fewer workers).
    se_type : {"CR3", "CR2", "CR1"}
        Cluster-robust variance for the worker-level regressions.
    estimators : list of str, optional
        Run only these estimators (default: all that apply to each outcome and
        design; names of :data:`stseval.columns.ESTIMATORS`).
    link_rule : {"exact", "k_of_m"}
        With ``design.linkage: code``: how waves are matched by the code
        (:func:`stseval.linking.link_codes`).
    link_k : int, optional
        With ``link_rule="k_of_m"``: elements that must agree.

    Returns
    -------
    DataFrame
        The estimates table (``stseval.columns.ESTIMATE_COLUMNS``) plus
        ``p_fdr_all_areas`` (filled by :func:`evaluate_all` / :func:`add_fdr`),
        ``direction`` (``lower`` or ``higher`` is better), ``icc_org`` (ICC(1)
        of the pre-wave outcome by organization), ``method`` and
        ``es_description``. Following the rule of :mod:`stseval.columns`,
        ``ci_low``/``ci_high`` bound ``estimate`` (raw units) and
        ``es_ci_low``/``es_ci_high`` bound ``effect_size``; ``es_type`` is a short
        code (``g_av``, ``d_ancova``, ``d_ppc2``, ``d_mixed``, ``hedges_g_org_change``,
        ``share_improved``) and ``es_description`` the sentence (which, until this
        release, was in ``es_type``). A row with no estimate says why in ``note``;
        convergence trouble is in ``note`` and also raised as
        :class:`~stseval.errors.EstimationWarning`. Then the design columns
        (:data:`stseval.columns.EVALUATE_DESIGN_COLUMNS`): ``wave`` (the later
        wave compared with the first; ``event +k`` for ``att_event``; blank for
        indicators and ``att_overall``/``twfe``), ``cohort`` (``att_gt``),
        ``primary`` (bool), ``linkage`` (``linked``, ``code_matched`` or
        ``unlinked``: which rows the estimator used), ``icc_team`` and
        ``design_effect``. ``p_adjusted`` is Holm within the area per estimator
        and wave. A design that lacks something (no comparison group, one
        organization, unlinked waves) gives rows with a ``note``, never an
        exception.

    Raises
    ------
    UsageError
        Unknown area, outcome or estimator, a bad ``confidence`` or ``min_cell``
        (checked by :mod:`stseval._args`, the same message as everywhere); a
        bad ``link_rule`` / ``link_k``.
    NoInterventionError
        No organization changed practice in the area (a :class:`UsageError`;
        :func:`evaluate_all` skips such areas with a warning).
    """
    if area not in ORG_AREAS:
        get_area(area)  # raises for unknown keys with the list of valid ones
        raise UsageError(
            f"{area!r} is an individual guidance statement; evaluate_area takes an "
            f"organizational area: {', '.join(AREA_KEYS)}"
        )
    if comparison != "no_intervention":
        raise UsageError(f"comparison must be 'no_intervention', got {comparison!r}")
    confidence = check_confidence(confidence)
    min_cell = check_min_cell(min_cell)
    arms = reshape.arms(study, area)
    if not (arms["arm"] == "intervention").any():
        raise NoInterventionError(
            f"no organization changed practice in area {area!r}: interventions.csv "
            "has no row for it, so there is nothing to evaluate"
        )
    shape = _designs.area_shape(study, area, arms, _run_memo(study, "overlap", _overlap))
    available = area_outcomes(study, area)
    outcomes = available if outcomes is None else check_choices(outcomes, available, "outcome")
    wanted = set(
        ESTIMATORS if estimators is None else check_choices(estimators, ESTIMATORS, "estimator")
    )
    src, lk = study, ("linked" if shape.design.linkage == "linked" else "unlinked")
    if shape.design.linkage == "code" and not wanted <= _ALL_ROWS_ESTIMATORS:
        src, lk = _link(study, link_rule, link_k), "code_matched"
    opts = dict(confidence=confidence, min_cell=int(min_cell), se_type=se_type)
    views = _Views(area, [o for o in outcomes if o not in _INDICATORS])
    months = None  # reshape.org_months(study, area), made once for both indicators
    rows: list[dict] = []
    for outcome in outcomes:
        if outcome in _INDICATORS:
            if shape.design.comparison == "none" or shape.design.assignment == "team":
                rows += _designs.design_indicator_rows(
                    study,
                    area,
                    outcome,
                    shape,
                    confidence=confidence,
                    se_type=se_type,
                    wanted=wanted,
                )
            elif "its" in wanted:
                months = reshape.org_months(study, area) if months is None else months
                rows += _indicator_rows(study, area, outcome, confidence, months)
            continue
        rows += _outcome_rows(views, study, src, lk, area, outcome, shape, wanted, **opts)
    rows = [r for r in rows if r["estimator"] in wanted]
    if not rows:
        raise UsageError("the chosen estimators do not apply to the chosen outcomes")
    return _finish(pd.DataFrame(rows), area, shape)


#: Work shared by the areas of one evaluate_all call: {(id(study), key): (study, value)}.
#: Set only while evaluate_all runs (a context variable: safe with threads), so a study
#: changed between two calls is never answered from an earlier call.
_RUN: contextvars.ContextVar = contextvars.ContextVar("stseval_evaluate_run", default=None)


def _run_memo(study, key: str, make):
    """``make(study)``, computed once per evaluate_all call (every call outside one)."""
    memo = _RUN.get()
    if memo is None:
        return make(study)
    hit = memo.get((id(study), key))
    if hit is None or hit[0] is not study:
        hit = memo[(id(study), key)] = (study, make(study))
    return hit[1]


def _overlap(study):
    inter = study.interventions
    if study.design.assignment != "org" or not len(inter):
        return None
    return multi_area.area_overlap(inter[["org_id", "area"]])


#: The last linked study: (study, rule, k, linked). Holding ``study`` keeps its id unique,
#: so evaluate_all links a coded study once, not once per area.
_LAST_LINK: list = []


def _link(study, rule, k):
    from .linking import link_study

    if _LAST_LINK:
        last, last_rule, last_k, linked = _LAST_LINK[0]
        if last is study and last_rule == rule and last_k == k:
            return linked
    linked = link_study(study, rule=rule, k=k)[0]
    _LAST_LINK[:] = [(study, rule, k, linked)]
    return linked


def _finish(table: pd.DataFrame, area: str, shape) -> pd.DataFrame:
    for col in ESTIMATE_COLUMNS + EXTRA_COLUMNS + DESIGN_COLUMNS:
        if col not in table:
            table[col] = np.nan
    table = table[ESTIMATE_COLUMNS + EXTRA_COLUMNS + DESIGN_COLUMNS].copy()
    blank_dup = table["estimate"].isna() & table.duplicated(["outcome", "estimator", "note"])
    table = table[~blank_dup]
    table["area"] = area
    table["direction"] = table["outcome"].map(outcome_direction)
    for col in ("note", "method", "es_type", "es_description", "wave", "cohort", "linkage"):
        table[col] = table[col].map(lambda v: "" if v is None or v != v else str(v))
    for col in ("n_workers", "n_orgs"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    for col in ("icc_team", "design_effect", "icc_org"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    table["primary"] = [
        primary_estimator(shape.design, o, staggered=shape.staggered) == e
        for o, e in zip(table["outcome"], table["estimator"], strict=True)
    ]
    table["p_adjusted"] = np.nan
    for _, idx in table.groupby(["estimator", "wave"], sort=False).groups.items():
        table.loc[idx, "p_adjusted"] = np.asarray(
            models.adjust_p(table.loc[idx, "p_value"], method="holm")
        )
    return table.reset_index(drop=True)


class _Views:
    """The area's :class:`stseval._areaviews.AreaViews` per study (the study or its linked copy)."""

    def __init__(self, area: str, outcomes: list[str]):
        self.area, self.outcomes, self.made = area, outcomes, []

    def __call__(self, study) -> _areaviews.AreaViews:
        for src, views in self.made:
            if src is study:
                return views
        index = _run_memo(study, "scores", _areaviews.ScoreIndex)
        views = _areaviews.AreaViews(study, self.area, self.outcomes, index)
        self.made.append((study, views))
        return views


def _outcome_rows(
    views, study, src, lk, area, outcome, shape, wanted, *, confidence, min_cell, se_type
):
    """Every estimate row of one staff outcome (or practice score) that the design supports."""
    d, later = shape.design, shape.waves[1] if len(shape.waves) > 1 else ""
    if d.n_waves < 2:
        return [_blank(outcome, "within_paired", "not estimable: the study has one wave")]
    if shape.classic:
        rows = _worker_rows(views(study), area, outcome, confidence, min_cell, se_type, wanted)
        rows = [dict(r, wave=later, linkage="linked") for r in rows]
        return rows + _joint_rows(study, area, outcome, shape, wanted, confidence, se_type)
    long = views(src).long(outcome)
    arms_used = (1,) if d.comparison == "none" else (0, 1)
    small = _designs.small_arm(long, min_cell, arms_used)
    des = dict(confidence=confidence, se_type=se_type)
    if small:
        rows = [_blank(outcome, _primary(shape, outcome), small)]
    else:
        rows = _designs.design_worker_rows(long, outcome, shape, linkage=lk, wanted=wanted, **des)
    linked = lk != "unlinked"
    if linked and d.comparison != "none" and d.assignment == "org" and not shape.staggered:
        if not small:  # the two-wave estimators on the first later wave (matched rows)
            classic = _worker_rows(views(src), area, outcome, confidence, min_cell, se_type, wanted)
            rows += [dict(r, wave=later, linkage=lk) for r in classic]
    elif not linked and d.comparison != "none" and not shape.staggered:
        rows += _designs.not_linked_rows(outcome, ("paired_change", "ancova", "rci"))
    if d.linkage == "code" and not shape.staggered:  # the same estimators on every response
        all_long = views(study).long(outcome)
        if not _designs.small_arm(all_long, min_cell, arms_used):
            rows += _designs.design_worker_rows(all_long, outcome, shape, linkage="unlinked", **des)
    return rows + _joint_rows(study, area, outcome, shape, wanted, confidence, se_type)


def _primary(shape, outcome) -> str:
    return primary_estimator(shape.design, outcome, staggered=shape.staggered) or "its"


def _joint_rows(study, area, outcome, shape, wanted, confidence, se_type) -> list[dict]:
    d = shape.design
    if not shape.overlap or "did_joint_areas" not in wanted or d.comparison == "none":
        return []
    if d.assignment != "org" or outcome.startswith("org_guidance_"):
        return []
    return _designs.joint_area_rows(
        study, area, outcome, shape, confidence=confidence, se_type=se_type
    )


def evaluate_all(study, *, areas=None, progress: bool = False, **kwargs) -> pd.DataFrame:
    """:func:`evaluate_area` for every area with intervention organizations, then BH across areas.

    Areas with no intervention organizations (:class:`~stseval.errors.NoInterventionError`)
    are skipped with a warning; any other error stops the run. ``areas`` are checked
    against :data:`stseval.areas.AREA_KEYS` first.
    """
    areas = list(AREA_KEYS) if areas is None else check_choices(areas, AREA_KEYS, "area")
    token = _RUN.set({})
    try:
        tables = _evaluate_areas(study, areas, progress, kwargs)
    finally:
        _RUN.reset(token)
    if not tables:
        raise UsageError("no area has intervention organizations; nothing to evaluate")
    return add_fdr(pd.concat(tables, ignore_index=True))


def _evaluate_areas(study, areas, progress, kwargs) -> list[pd.DataFrame]:
    tables = []
    iterator = areas
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(areas, desc="areas")
    for area in iterator:
        try:
            tables.append(evaluate_area(study, area, **kwargs))
        except NoInterventionError as exc:
            warnings.warn(str(exc), stacklevel=3)
    return tables


def add_fdr(estimates: pd.DataFrame) -> pd.DataFrame:
    """Fill ``p_fdr_all_areas``: Benjamini-Hochberg across all areas and outcomes, per estimator."""
    out = estimates.copy()
    out["p_fdr_all_areas"] = np.nan
    for _, idx in out.groupby("estimator", sort=False).groups.items():
        out.loc[idx, "p_fdr_all_areas"] = np.asarray(
            models.adjust_p(out.loc[idx, "p_value"], method="fdr_bh")
        )
    return out


def missing_data_report(
    study,
    area: str,
    outcome: str = "stss_total",
    *,
    confidence: float = 0.95,
    n_imputations: int = 20,
    seed: int = 0,
) -> dict:
    """Attrition by arm, WWC attrition and baseline-equivalence ratings, and an MI sensitivity.

    Returns a dict of DataFrames: ``attrition``, ``wwc``, ``baseline``, ``mi``.
    """
    wide = reshape.wide(study, outcome, area)
    attr = models.attrition_table(wide)
    base = wide.dropna(subset=["pre"])
    n_base = base.groupby("treated")["worker_id"].count()
    n_follow = base.dropna(subset=["post"]).groupby("treated")["worker_id"].count()
    rate = 1 - n_follow / n_base
    overall = 1 - n_follow.sum() / n_base.sum()
    differential = abs(rate.get(1, np.nan) - rate.get(0, np.nan))
    return {
        "attrition": attr,
        "wwc": models.wwc_attrition(overall, differential),
        "baseline": models.baseline_equivalence(wide),
        "mi": models.ancova_mi(wide, n_imputations=n_imputations, seed=seed, confidence=confidence),
    }
