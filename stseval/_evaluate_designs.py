"""The study-design side of :func:`stseval.evaluate_area`: which estimators a design supports.

:func:`area_shape` reads what matters for one area (waves, linkage, whether
there are comparison units, start cohorts, team assignment, organizations that
changed several areas); :func:`design_worker_rows` and
:func:`design_indicator_rows` run the design estimators of
:mod:`stseval.no_comparison`, :mod:`stseval.cross_section`, :mod:`stseval.waves`,
:mod:`stseval.staggered`, :mod:`stseval.teams` and :mod:`stseval.multi_area` and
return estimate rows (dicts) with ``wave``, ``cohort`` and ``linkage``. A row
that does not apply has NaN numbers and a plain ``note``; nothing here raises
because a design lacks something.

Start cohorts: an organization's cohort is the first later wave whose date is
on or after its ``start_date`` (wave dates from ``study.yaml``, else the median
response ``date`` of each wave). The area is *staggered* when its organizations
fall in more than one cohort, or all start after the second wave.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from . import cross_section, multi_area, no_comparison, reshape, staggered, teams, waves
from ._designrows import DESIGN_COLUMNS
from .errors import StsevalError

__all__ = [
    "AreaShape",
    "area_shape",
    "design_indicator_rows",
    "design_summary",
    "design_worker_rows",
]

NOT_LINKED = "not estimable: waves are not linked"
NO_COMPARISON = "not estimable: no comparison group"


@dataclasses.dataclass(frozen=True)
class AreaShape:
    """What one area of a study allows.

    Attributes
    ----------
    design : Design
        ``study.design``, with ``comparison = "none"`` when the area has no
        comparison units in the data.
    cohorts : dict
        Intervention organization -> its start cohort (a wave name; None when it
        started after the last wave).
    staggered : bool
    overlap : str
        Organizations of the area that also changed other areas, in words ("" if none).
    """

    design: object
    cohorts: dict
    staggered: bool
    overlap: str

    @property
    def waves(self) -> list:
        return list(self.design.waves)

    @property
    def classic(self) -> bool:
        """Today's design: two linked waves, organizations, a comparison, one cohort."""
        d = self.design
        return (
            d.n_waves == 2
            and d.linkage == "linked"
            and d.assignment == "org"
            and d.comparison != "none"
            and not self.staggered
        )


def wave_dates(study) -> dict:
    """Wave name -> date: from ``study.yaml``, else the median response date of each wave."""
    design = study.design
    if all(d is not None for d in design.wave_dates):
        return {w: pd.Timestamp(d) for w, d in zip(design.waves, design.wave_dates, strict=True)}
    resp = study.responses
    if "date" not in resp.columns:
        return {}
    dates = pd.to_datetime(resp["date"], errors="coerce")
    med = dates.groupby(resp["wave"]).median()
    return {w: med.get(w, pd.NaT) for w in design.waves}


def _cohorts(study, table: pd.DataFrame) -> dict:
    dates = wave_dates(study)
    later = [w for w in study.design.waves[1:] if pd.notna(dates.get(w, pd.NaT))]
    starts = table[table["arm"] == "intervention"].groupby("org_id")["start_date"].min()
    out = {}
    for org, start in starts.items():
        if pd.isna(start) or not later:
            out[org] = study.design.waves[1] if study.design.n_waves > 1 else None
            continue
        out[org] = next((w for w in later if dates[w] >= start), None)
    return out


def area_shape(study, area: str, table: pd.DataFrame, overlap_table=None) -> AreaShape:
    """The :class:`AreaShape` of ``area``; ``table`` is :func:`stseval.reshape.arms`.

    ``overlap_table``: :func:`stseval.multi_area.area_overlap` of the study's
    interventions when the caller has it (evaluate_all computes it once for all areas).
    """
    design = study.design
    if not (table["arm"] == "comparison").any() and design.comparison != "none":
        design = dataclasses.replace(design, comparison="none")
    cohorts = _cohorts(study, table) if design.n_waves >= 2 else {}
    started = {c for c in cohorts.values() if c is not None}
    stag = (
        design.n_waves >= 3
        and design.comparison != "none"
        and design.assignment == "org"
        and (len(started) > 1 or (started and design.waves[1] not in started))
    )
    overlap = ""
    inter = study.interventions
    if design.assignment == "org" and len(inter):
        ov = overlap_table
        if ov is None:
            ov = multi_area.area_overlap(inter[["org_id", "area"]])
        row = ov[ov["area"] == area]
        if len(row) and int(row["n_orgs_other_areas"].iloc[0]) > 0:
            r = row.iloc[0]
            overlap = (
                f"{int(r['n_orgs_other_areas'])} of {int(r['n_orgs'])} organizations also "
                f"changed other areas: {r['other_areas']}"
            )
    return AreaShape(design=design, cohorts=cohorts, staggered=bool(stag), overlap=overlap)


# -- rows ---------------------------------------------------------------------------
def _rows(table: pd.DataFrame, outcome: str, linkage: str) -> list[dict]:
    out = []
    for rec in table.to_dict("records"):
        event = rec.get("event_time")
        rec = {k: v for k, v in rec.items() if k in _KEEP}
        if rec["estimator"] == "att_event" and event is not None and event == event:
            rec["wave"] = f"event {int(event):+d}"
        rec.update(outcome=outcome, linkage=linkage)
        out.append(rec)
    return out


_KEEP = {*DESIGN_COLUMNS, "area"}  # the design rows as they reach the estimates table


def blank(outcome, estimator, note, **extra) -> dict:
    return {"outcome": outcome, "estimator": estimator, "note": note, **extra}


#: Estimators whose function also returns rows of other names.
_ALSO = {"att_overall": {"att_gt", "att_event"}, "its_own_level": {"its_own_slope"}}


def _run(wanted, fn, outcome, estimator, linkage, *args, **kwargs) -> list[dict]:
    """Run a design estimator; a refusal (too few clusters, a singular fit) becomes a note.

    Skipped (no rows) when ``wanted`` is a set without ``estimator`` (``att_overall``
    stands for the three ``att_*`` rows).
    """
    names = {estimator} | _ALSO.get(estimator, set())
    if wanted is not None and not names & set(wanted):
        return []
    try:
        return _rows(fn(*args, **kwargs), outcome, linkage)
    except StsevalError as exc:
        return [blank(outcome, estimator, f"not estimated: {exc}", linkage=linkage)]
    except (np.linalg.LinAlgError, ValueError) as exc:
        why = f"not estimated: the model could not be fitted ({exc})"
        return [blank(outcome, estimator, why, linkage=linkage)]


def small_arm(long: pd.DataFrame, min_cell: int, arms=(0, 1)) -> str:
    """A suppression note when an arm has fewer than ``min_cell`` respondents at a wave."""
    counts = long.groupby(["treated", "wave"])["worker_id"].nunique()
    waves_ = long["wave"].unique()
    for a in arms:
        for w in waves_:
            if counts.get((a, w), 0) < min_cell:
                return f"suppressed: fewer than {min_cell} respondents in an arm at wave {w}"
    return ""


def design_worker_rows(
    long, outcome, shape, *, confidence, se_type, linkage, wanted=None
) -> list[dict]:
    """Design-estimator rows for one staff outcome (or practice score) of one area.

    ``long`` is :func:`stseval.reshape.long` (plus ``cohort`` when staggered);
    ``linkage`` says whether the worker ids link the waves (``linked``,
    ``code_matched``) or not (``unlinked``).
    """
    linked = linkage != "unlinked"
    if shape.staggered:
        return _staggered_rows(long, outcome, shape, linked, confidence, linkage, wanted)
    run = dict(wanted=wanted, outcome=outcome, linkage=linkage, long=long, se_type=se_type)
    opts = {"y": "y", "waves": shape.waves, "confidence": confidence}
    if shape.design.assignment == "team":
        return _team_rows(run, opts, shape.design.comparison == "randomized", linked)
    if shape.design.comparison == "none":
        return _no_comparison_rows(run, opts, linked)
    return _comparison_rows(run, opts, shape.design.n_waves, linked)


def _team_rows(run, opts, randomized, linked) -> list[dict]:
    """Teams assigned: team DiD (with ICC and design effect), DiD and ANCOVA by team."""
    w, o, k, long, se = (run[x] for x in ("wanted", "outcome", "linkage", "long", "se_type"))
    rows = _run(
        w, teams.team_effect, o, "team_did", k, long, randomized=randomized, se_type=se, **opts
    )
    for r in rows:  # the team ICC and design effect are read beside the estimate
        r.update(_team_extra(long, randomized))
    rows += _run(
        w, cross_section.did_cross_section, o, "did_cross_section", "unlinked", long,
        cluster="team_id", se_type=se, **opts,
    )  # fmt: skip
    if linked:
        rows += _run(
            w, waves.ancova_by_wave, o, "ancova_wave", k, long, cluster="team_id", se_type=se,
            **opts,
        )  # fmt: skip
    return rows


def _no_comparison_rows(run, opts, linked) -> list[dict]:
    """No comparison group: change within the changing organizations at each later wave."""
    w, o, k, long, se = (run[x] for x in ("wanted", "outcome", "linkage", "long", "se_type"))
    est = "within_paired" if linked else "within_unlinked"
    arm = long[long["treated"] == 1]
    rows = _run(w, no_comparison.within_change, o, est, k, arm, linked=linked, se_type=se, **opts)
    return rows + [blank(o, e, NO_COMPARISON) for e in ("ancova", "did")]


def _comparison_rows(run, opts, n_waves, linked) -> list[dict]:
    """A comparison group: cross-section DiD when not linked; every later wave when 3+."""
    w, o, k, long, se = (run[x] for x in ("wanted", "outcome", "linkage", "long", "se_type"))
    rows = []
    if not linked:
        rows += _run(
            w, cross_section.did_cross_section, o, "did_cross_section", k, long, se_type=se,
            **opts,
        )  # fmt: skip
        rows += _run(w, cross_section.org_mean_did, o, "did_org_means", k, long, **opts)
    if n_waves >= 3:
        rows += _run(
            w, waves.wave_effects, o, "wave_effect", k, long, linked=linked, se_type=se, **opts
        )
        if linked:
            rows += _run(w, waves.ancova_by_wave, o, "ancova_wave", k, long, se_type=se, **opts)
    return rows


def _team_extra(long, randomized) -> dict:
    if not randomized:
        return {}
    first = long[long["wave"] == long["wave"].iloc[0]] if len(long) else long
    try:
        icc, _, deff = teams.design_effect(first["y"], first["team_id"])
    except StsevalError:
        return {}
    return {"icc_team": icc, "design_effect": deff}


def not_linked_rows(outcome, estimators) -> list[dict]:
    return [blank(outcome, e, NOT_LINKED, linkage="unlinked") for e in estimators]


def _staggered_rows(long, outcome, shape, linked, confidence, linkage, wanted) -> list[dict]:
    data = long.assign(cohort=long["org_id"].map(shape.cohorts))
    # intervention organizations that started after the last wave are left out
    data = data[(data["treated"] == 0) | data["cohort"].notna()]
    data.loc[data["treated"] == 0, "cohort"] = None
    unit = "worker_id" if linked else "org_id"
    opts = dict(y="y", unit=unit, time="wave", cohort="cohort", cluster="org_id")
    opts.update(waves=shape.waves, confidence=confidence)
    rows = _run(wanted, staggered.att_gt, outcome, "att_overall", linkage, data, **opts)
    return rows + _run(wanted, staggered.twfe_did, outcome, "twfe", linkage, data, **opts)


def design_indicator_rows(
    study, area, indicator, shape, *, confidence, se_type, wanted=None
) -> list[dict]:
    """Rows for a monthly indicator in a design without a comparison group or with teams."""
    if shape.design.assignment == "team":
        why = "not estimable: teams were assigned and the monthly indicators are per organization"
        return [blank(indicator, "its", why)]
    data = reshape.org_months(study, area)
    data = data[data["treated"] == 1]
    return _run(
        wanted,
        no_comparison.its_own_trend,
        indicator,
        "its_own_level",
        "",
        data,
        y=indicator,
        month="month",
        start="start_date",
        confidence=confidence,
        se_type=se_type,
    )


def joint_area_rows(study, area, outcome, shape, *, confidence, se_type, wanted=None) -> list[dict]:
    """``did_joint_areas`` for ``area``: one indicator per area changed (sensitivity)."""
    inter = study.interventions
    scores = reshape.outcome_scores(study, outcome).rename(columns={outcome: "y"})
    workers = study.workers[["worker_id", "org_id"]]
    data = workers.merge(scores, on="worker_id", how="inner").dropna(subset=["y"])
    data = data[data["wave"].isin(shape.waves)]
    areas = sorted(set(inter["area"]))
    changed = {a: set(inter.loc[inter["area"] == a, "org_id"]) for a in areas}
    cols = {a: data["org_id"].isin(changed[a]).astype(int) for a in areas}
    data = data.assign(**{f"_a_{a}": v for a, v in cols.items()})
    rows = _run(
        wanted,
        multi_area.joint_areas,
        outcome,
        "did_joint_areas",
        "unlinked",
        data,
        areas=[f"_a_{a}" for a in areas],
        y="y",
        waves=shape.waves,
        confidence=confidence,
        se_type=se_type,
    )
    table_rows = []
    for r in rows:
        if r.get("area", f"_a_{area}") not in (f"_a_{area}",):
            continue
        r.pop("area", None)
        r["note"] = "; ".join(x for x in (r.get("note") or "", shape.overlap) if x)
        table_rows.append(r)
    return table_rows


def design_summary(study, estimates: pd.DataFrame) -> str:
    """Markdown: the study's design, what follows from it, and the primary estimates.

    Parameters
    ----------
    study : Study
    estimates : DataFrame
        :func:`stseval.evaluate_area` or :func:`stseval.evaluate_all` output.

    Returns
    -------
    str
        ``**Design:** <Design.describe()>``, one bullet per
        :meth:`~stseval.design.Design.implications` sentence, then one bullet per
        primary row: outcome, wave (and cohort), estimator, estimate and interval,
        or the row's note when it has no estimate.
    """
    design = study.design
    lines = [f"**Design:** {design.describe()}.", ""]
    lines += [f"- {text}" for text in design.implications()]
    prim = estimates[estimates["primary"].astype(bool)]
    if len(prim):
        lines += ["", "**Primary estimates** (the design's main estimator for each outcome):", ""]
    for r in prim.itertuples():
        where = " ".join(x for x in (str(r.wave), str(r.cohort) and f"cohort {r.cohort}") if x)
        head = f"- {r.outcome}{f' ({where})' if where else ''}, `{r.estimator}`: "
        if pd.notna(r.estimate):
            lines.append(f"{head}{r.estimate:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}]")
        else:
            lines.append(f"{head}{r.note}")
    return "\n".join(lines)
