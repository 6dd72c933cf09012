"""Disclosure control for the report tables that share margins (part of :mod:`stseval.report`).

The participant flow, the outcome summary and the attrition table of one report describe
the same staff. :func:`protected_tables` builds all three from a study, declares how their
populations fit together, and runs :func:`stseval.disclosure.protect_tables` over them at
once, so that no hidden count or mean follows from the shown ones by addition or
subtraction (issue 12: "responded post 23, analysed 22"; the leavers' hidden baseline mean
recovered from the outcome summary). :func:`participant_flow`, :func:`outcome_summary` and
:func:`attrition_summary` of :mod:`stseval.report` return these protected tables.

Populations, per arm (``intervention``, ``comparison``)
--------------------------------------------------------
* ``invited``: workers listed in ``workers.csv``;
* ``responded <wave>``: any answer in the first two waves;
* ``scored <outcome> <wave>``: a score on an outcome at a wave (the outcome summary's
  rows, with the mean of that outcome at that wave);
* ``analysed``: a score on the primary outcome at the first and the second wave (flow,
  attrition "followed", with the baseline mean of the primary outcome);
* ``left``: a first-wave score but no second-wave score on the primary outcome (attrition).

Relations a reader can use: ``invited = responded <w> + did not respond`` (each of the
first two waves); ``responded <w> = scored <o> <w> + responded but no score`` (first two
waves); ``invited = scored <o> <w> + no score`` (later waves);
``scored <primary> <first> = analysed + left``; ``scored <primary> <second> = analysed +
scored only at the second``. The remainders are never printed and are protected like any
other cell. Each person's score lies within the range observed in the study (what a
reader could assume); a hidden mean must keep a range of at least ``mean_protection``
points.

Ratios that reveal counts follow them: ``pct_of_invited`` and ``attrition_pct`` are shown
only when both counts they are made of are shown; the standard deviation and interval of a
summary row only when its count and mean are shown (a t interval's width gives ``n``).
Fail closed: :class:`stseval.disclosure.DisclosureError` propagates; nothing is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import reshape
from ._report_shape import (
    _RATES,
    ARMS,
    ATTRITION_COLUMNS,
    FLOW_COLUMNS,
    SUMMARY_COLUMNS,
    _attrition_table,
    _flow_table,
    _min_cell,
    _stage_names,
    _summary_table,
)
from .areas import primary_outcome as _primary_outcome
from .disclosure import AUDIT_COLUMNS, CellTable, Relation, protect_tables, write_disclosure_audit

__all__ = [
    "ATTRITION_COLUMNS",
    "FLOW_COLUMNS",
    "SUMMARY_COLUMNS",
    "ProtectedReportTables",
    "protected_tables",
    "run_audits",
    "write_audit",
    "write_run_audit",
]


@dataclass
class ProtectedReportTables:
    """What :func:`protected_tables` returns.

    Attributes
    ----------
    flow, summary, attrition : DataFrame
        :data:`stseval.report.FLOW_COLUMNS`, :data:`stseval.report.SUMMARY_COLUMNS` and
        :data:`ATTRITION_COLUMNS`; hidden cells are NaN, ``suppressed`` marks the row and
        ``note`` says ``"<column>: fewer than <min_cell>"`` or ``"<column>: not shown"``.
    display : dict name -> DataFrame
        The same as text (:attr:`stseval.disclosure.ProtectedTables.display`).
    audit : DataFrame
        ``table, cell, rule`` (:data:`stseval.disclosure.AUDIT_COLUMNS`), no values.
    invited_total : float
        Workers invited in the whole study, as the overview may print it (``area`` None);
        NaN when it must be hidden (or for an area's tables).
    """

    flow: pd.DataFrame
    summary: pd.DataFrame
    attrition: pd.DataFrame
    display: dict
    audit: pd.DataFrame
    invited_total: float = float("nan")


def _arms(study, area) -> pd.DataFrame:
    if area is None:
        changed = set(study.interventions["org_id"])
        orgs = study.orgs[["org_id"]].copy()
        orgs["arm"] = np.where(orgs["org_id"].isin(changed), "intervention", "comparison")
        return orgs
    return reshape.arms(study, area)[["org_id", "arm"]]


def _sets(study, area, outcome, outcomes):
    """Per arm: the worker sets and score series of every population (true values)."""
    people = study.workers[["worker_id", "org_id"]].merge(_arms(study, area), on="org_id")
    waves = list(study.waves)
    resp = study.responses[["worker_id", "wave"]]
    scored = study.scored()
    out = {}
    for arm in ARMS:
        sub = people[people["arm"] == arm]
        ids = set(sub["worker_id"])
        d = {"orgs": dict(zip(sub["worker_id"], sub["org_id"], strict=True)), "invited": ids}
        for w in waves[:2]:
            d[("resp", w)] = ids & set(resp.loc[resp["wave"] == w, "worker_id"])
        mine = scored[scored["worker_id"].isin(ids)]
        for o in outcomes:
            for w in waves:
                s = mine.loc[mine["wave"] == w, ["worker_id", o]].dropna()
                d[("score", o, w)] = s.groupby("worker_id")[o].mean().astype(float)
        if len(waves) >= 2:
            pre, post = d[("score", outcome, waves[0])], d[("score", outcome, waves[1])]
            d["analysed"] = set(pre.index) & set(post.index)
            d["left"] = set(pre.index) - d["analysed"]
        else:
            d["analysed"], d["left"] = set(), set()
        out[arm] = d
    return out


def _cell_tables(sets, waves, outcome, outcomes):
    """CellTables (published and remainders) and the relations between them."""
    flow, summ, attr, rest, rel = [], [], [], [], []
    names = _stage_names(waves)
    for arm, d in sets.items():
        flow.append({"stage": "invited", "arm": arm, "n": len(d["invited"])})
        for w in waves[:2]:
            flow.append({"stage": names[w], "arm": arm, "n": len(d[("resp", w)])})
            rest.append(
                {"stage": f"no response {w}", "arm": arm, "n": len(d["invited"] - d[("resp", w)])}
            )
            rel.append(
                Relation(
                    {"stage": "invited", "arm": arm},
                    [{"stage": names[w], "arm": arm}, {"stage": f"no response {w}", "arm": arm}],
                )
            )
        flow.append({"stage": "analysed", "arm": arm, "n": len(d["analysed"])})
        for o in outcomes:
            for i, w in enumerate(waves):
                s = d[("score", o, w)]
                key = f"scored {o} {w}"
                summ.append(
                    {
                        "stage": key,
                        "arm": arm,
                        "n": len(s),
                        "mean": float(s.mean()) if len(s) else np.nan,
                        "measure": f"{o}@{w}",
                    }
                )
                whole = d[("resp", w)] if i < 2 else d["invited"]
                gap = f"no score {o} {w}"
                rest.append({"stage": gap, "arm": arm, "n": len(whole - set(s.index))})
                top = names[w] if i < 2 else "invited"
                rel.append(
                    Relation(
                        {"stage": top, "arm": arm},
                        [{"stage": key, "arm": arm}, {"stage": gap, "arm": arm}],
                    )
                )
        if len(waves) >= 2:
            pre = d[("score", outcome, waves[0])]
            post_ids = set(d[("score", outcome, waves[1])].index)
            attr.append(
                {
                    "stage": "analysed",
                    "arm": arm,
                    "n": len(d["analysed"]),
                    "mean": _mean(pre, d["analysed"]),
                }
            )
            attr.append(
                {"stage": "left", "arm": arm, "n": len(d["left"]), "mean": _mean(pre, d["left"])}
            )
            rest.append({"stage": "post only", "arm": arm, "n": len(post_ids - d["analysed"])})
            first, second = (f"scored {outcome} {w}" for w in waves[:2])
            rel.append(
                Relation(
                    {"stage": first, "arm": arm},
                    [{"stage": "analysed", "arm": arm}, {"stage": "left", "arm": arm}],
                )
            )
            rel.append(
                Relation(
                    {"stage": second, "arm": arm},
                    [{"stage": "analysed", "arm": arm}, {"stage": "post only", "arm": arm}],
                )
            )
        _nested_remainders(d, arm, waves, outcome, rest, rel)
    measure = f"{outcome}@{waves[0]}"
    specs = [
        CellTable("flow", pd.DataFrame(flow), dims=["stage", "arm"]),
        CellTable(
            "summary", pd.DataFrame(summ), dims=["stage", "arm"], means={"mean": "{measure}"}
        ),
        CellTable("remainders", pd.DataFrame(rest), dims=["stage", "arm"], publish=False),
    ]
    if attr:
        specs.insert(
            2,
            CellTable(
                "attrition", pd.DataFrame(attr), dims=["stage", "arm"], means={"mean": measure}
            ),
        )
    return specs, rel


def _nested_remainders(d, arm, waves, outcome, rest, rel) -> None:
    """Declare ``A - B`` for every pair of nested published groups of the flow and attrition.

    A reader can subtract any shown count from any larger one it contains ("responded post
    23, analysed 22"); each such difference becomes an unpublished population, protected
    like any other. Differences equal to a group already declared reuse it.
    """
    names = _stage_names(waves)
    core = {"invited": d["invited"], "analysed": d["analysed"], "left": d["left"]}
    for w in waves[:2]:
        core[names[w]] = d[("resp", w)]
        core[f"scored {outcome} {w}"] = set(d[("score", outcome, w)].index)
    known = {frozenset(ids): name for name, ids in core.items()}
    for big, big_ids in core.items():
        for small, small_ids in core.items():
            if big == small or not small_ids < big_ids:
                continue
            diff = frozenset(big_ids - small_ids)
            name = known.get(diff)
            if name is None:
                name = f"{big} not {small}"
                known[diff] = name
                rest.append({"stage": name, "arm": arm, "n": len(diff)})
            rel.append(
                Relation(
                    {"stage": big, "arm": arm},
                    [{"stage": small, "arm": arm}, {"stage": name, "arm": arm}],
                )
            )


def _mean(series, ids) -> float:
    s = series[series.index.isin(ids)]
    return float(s.mean()) if len(s) else np.nan


def _value_ranges(study, outcomes):
    """Each measure's range as a reader could assume it: the range observed in the study."""
    scored = study.scored()
    out = {}
    for o in outcomes:
        y = pd.to_numeric(scored[o], errors="coerce").dropna()
        if len(y):
            for w in study.waves:
                out[f"{o}@{w}"] = (float(y.min()), float(y.max()))
    return out


def protected_tables(
    study,
    area: str | None = None,
    *,
    outcome: str | None = None,
    outcomes=None,
    confidence: float = 0.95,
    min_cell: int | None = None,
    mean_protection: float = 1.0,
) -> ProtectedReportTables:
    """Participant flow, outcome summary and attrition of one report, protected together.

    Parameters
    ----------
    study : Study
    area : str, optional
        An area's arms (:func:`stseval.reshape.arms`); None: organizations that changed
        any area against those that changed none.
    outcome : str, optional
        The outcome that defines "analysed" and the attrition table (default: the
        study's primary outcome).
    outcomes : list of str, optional
        Outcomes of the summary (default: the area's outcomes without the monthly rates;
        with ``area`` None, ``[outcome]``).
    confidence : float
        Level of the summary's t intervals (descriptive; they ignore clustering).
    min_cell : int, optional
        Default: the study's ``min_cell``.
    mean_protection : float
        Smallest range (outcome points) a hidden mean must keep for a reader.

    Returns
    -------
    ProtectedReportTables
        See the class and the module docstring (the populations and relations).

    Raises
    ------
    DisclosureError
        A small group stays derivable after every cell that could protect it was
        hidden (fail closed).
    """
    min_cell = _min_cell(study, min_cell)
    outcome = outcome or _primary_outcome(study)
    key = (
        id(study),
        area,
        outcome,
        None if outcomes is None else tuple(outcomes),
        float(confidence),
        min_cell,
        float(mean_protection),
    )
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is study:
        return _copy(hit[1])
    result = _protected(study, area, outcome, outcomes, confidence, min_cell, mean_protection)
    if len(_CACHE) >= 16:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (study, result)
    return _copy(result)


#: Results of :func:`protected_tables` by study object and arguments: a Study is immutable,
#: and the flow, summary and attrition of one report must come from one protection.
_CACHE: dict = {}


def _copy(r: ProtectedReportTables) -> ProtectedReportTables:
    return ProtectedReportTables(
        flow=r.flow.copy(),
        summary=r.summary.copy(),
        attrition=r.attrition.copy(),
        display={k: v.copy() for k, v in r.display.items()},
        audit=r.audit.copy(),
        invited_total=r.invited_total,
    )


def _protected(study, area, outcome, outcomes, confidence, min_cell, mean_protection):
    if outcomes is None:
        if area is None:
            outcomes = [outcome]
        else:
            from .evaluate import area_outcomes

            outcomes = [o for o in area_outcomes(study, area) if o not in _RATES]
    outcomes = list(dict.fromkeys([*outcomes]))
    score_outcomes = list(dict.fromkeys([outcome, *outcomes]))
    waves = list(study.waves)
    sets = _sets(study, area, outcome, score_outcomes)
    specs, relations = _cell_tables(sets, waves, outcome, score_outcomes)
    if min_cell < 2:  # nothing is small: publish as is, and say so in the audit
        result = _unprotected(specs)
    else:
        ranges = _value_ranges(study, score_outcomes)
        if area is None:  # the arms cover every worker: the overview prints the total invited
            specs, relations = _with_total_invited(specs, relations, sets)
            result = protect_tables(
                specs,
                min_cell=min_cell,
                relations=relations,
                value_ranges=ranges,
                mean_protection=mean_protection,
            )
        else:
            result = _protect_by_arm(specs, relations, min_cell, ranges, mean_protection)
    flow = _flow_table(result, sets, waves, min_cell)
    summary = _summary_table(result, sets, waves, outcomes, confidence)
    attrition = _attrition_table(result, min_cell) if "attrition" in result.tables else None
    return ProtectedReportTables(
        flow=flow,
        summary=summary,
        attrition=attrition if attrition is not None else pd.DataFrame(columns=ATTRITION_COLUMNS),
        display=result.display,
        audit=result.audit,
        invited_total=float(result.tables["overview"]["n"].iloc[0])
        if "overview" in result.tables
        else float("nan"),
    )


def _with_total_invited(specs, relations, sets):
    """Add the study's total of invited workers (printed by the overview) and its relation."""
    total = sum(len(d["invited"]) for d in sets.values())
    frame = pd.DataFrame([{"stage": "invited", "arm": "Total", "n": total}])
    rel = Relation(
        {"stage": "invited", "arm": "Total"}, [{"stage": "invited", "arm": a} for a in sets]
    )
    return [*specs, CellTable("overview", frame, dims=["stage", "arm"])], [*relations, rel]


def _protect_by_arm(specs, relations, min_cell, ranges, mean_protection):
    """protect_tables on each arm alone (no relation crosses arms and no table has a total
    row, so the arms are separate systems: the same answer, with LPs half the size)."""
    from types import SimpleNamespace

    parts = []
    for arm in ARMS:
        arm_specs = [
            replace(spec, frame=spec.frame[spec.frame["arm"] == arm].reset_index(drop=True))
            for spec in specs
        ]
        arm_rel = [r for r in relations if r.total.get("arm") == arm]
        parts.append(
            protect_tables(
                arm_specs,
                min_cell=min_cell,
                relations=arm_rel,
                value_ranges=ranges,
                mean_protection=mean_protection,
            )
        )
    names = parts[0].tables.keys()
    return SimpleNamespace(
        tables={n: pd.concat([p.tables[n] for p in parts], ignore_index=True) for n in names},
        display={n: pd.concat([p.display[n] for p in parts], ignore_index=True) for n in names},
        audit=pd.concat([p.audit for p in parts], ignore_index=True).drop_duplicates(
            ignore_index=True
        ),
    )


def _unprotected(specs):
    """What protect_tables returns when min_cell is 1: every cell shown, audit says why."""
    from types import SimpleNamespace

    tables = {s.name: s.frame.assign(note="") for s in specs if s.publish}
    audit = pd.DataFrame(
        [(name, "all cells", "not checked: min_cell is 1") for name in tables],
        columns=AUDIT_COLUMNS,
    )
    return SimpleNamespace(tables=tables, display=tables, audit=audit)


def write_audit(audits, out_dir):
    """Write ``disclosure_audit.csv`` in ``out_dir`` from the audits of one report run.

    ``audits``: audit DataFrames (``table, cell, rule``) of :func:`protected_tables`
    (:attr:`ProtectedReportTables.audit`), :func:`stseval.disclosure.other_org_bands`, or
    a folder's saved ``disclosure_audit*.csv`` files (paths). Duplicate rows are dropped.
    Returns the path written (:func:`stseval.disclosure.write_disclosure_audit`).
    """
    from pathlib import Path

    frames = []
    for a in audits:
        if isinstance(a, str | Path):
            frames.append(pd.read_csv(a, dtype=str, keep_default_na=False))
        else:
            frames.append(a)
    frames = [f[AUDIT_COLUMNS] for f in frames]
    combined = (
        pd.concat(frames, ignore_index=True).drop_duplicates().reset_index(drop=True)
        if frames
        else pd.DataFrame(columns=AUDIT_COLUMNS)
    )
    return write_disclosure_audit(combined, Path(out_dir))


def run_audits(study, *, areas=(), min_cell: int | None = None) -> list[pd.DataFrame]:
    """The audit rows of one report run's tables, one frame per report part.

    :func:`protected_tables` for the whole study (the funder report's flow) and for each
    area in ``areas`` (each area report's flow, summary and attrition), with the same
    arguments the report builders use. Fails closed: a
    :class:`stseval.disclosure.DisclosureError` propagates.
    """
    audits = [
        protected_tables(study, None, min_cell=min_cell).audit.assign(
            table=lambda t: "funder report: " + t["table"]
        )
    ]
    for area in areas:
        a = protected_tables(study, area, min_cell=min_cell).audit
        audits.append(a.assign(table=f"{area}: " + a["table"]))
    return audits


def write_run_audit(study, out_dir, *, areas=(), min_cell: int | None = None, audits=None):
    """Protect the tables of one report run and write its ``disclosure_audit.csv``.

    The rows are :func:`run_audits` (or ``audits``, the same computed beforehand, e.g.
    while the funder notebook ran), written to ``<out_dir>/disclosure_audit.csv``.
    Fails closed: a :class:`stseval.disclosure.DisclosureError` propagates and nothing
    is written.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if audits is None:
        audits = run_audits(study, areas=areas, min_cell=min_cell)
    return write_audit(audits, out_dir)
