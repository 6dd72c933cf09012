"""Shaping of the protected report tables (part of :mod:`stseval.report`).

The column sets of the participant flow, outcome summary and attrition table, and the
functions that turn :func:`stseval.disclosure.protect_tables` results back into those
tables (see :mod:`stseval._report_disclosure` for the populations and the rules).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from ._args import whole_number

__all__ = ["ARMS", "ATTRITION_COLUMNS", "FLOW_COLUMNS", "SUMMARY_COLUMNS"]

#: Columns of :func:`stseval.report.participant_flow`.
FLOW_COLUMNS = ["stage", "arm", "orgs", "workers", "pct_of_invited", "suppressed", "note"]

#: Columns of :func:`stseval.report.outcome_summary`.
SUMMARY_COLUMNS = [
    "outcome",
    "arm",
    "wave",
    "workers",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "suppressed",
    "note",
]

_RATES = ("separation_rate", "absence_rate")


def _min_cell(study, min_cell) -> int:
    """``min_cell`` checked (a whole number >= 1); None: the study's own."""
    return whole_number(study.min_cell if min_cell is None else min_cell, "min_cell", 1)


#: Columns of the protected attrition table.
ATTRITION_COLUMNS = [
    "arm",
    "workers_baseline",
    "workers_followed",
    "workers_left",
    "attrition_pct",
    "pre_mean_completers",
    "pre_mean_dropouts",
    "suppressed",
    "note",
]

ARMS = ("intervention", "comparison")


def _stage_names(waves):
    return {"invited": "invited", **{w: f"responded {w}" for w in waves[:2]}}


def _state(note: str, col: str = "n") -> str:
    """``"fewer than 5"`` / ``"not shown"`` for ``col`` from a protect_tables note, or ""."""
    m = re.search(rf"(?:^|; ){re.escape(col)}: (fewer than \d+|not shown)", note or "")
    return m.group(1) if m else ""


def _flow_table(result, sets, waves, min_cell):
    t = result.tables["flow"]
    names = _stage_names(waves)
    stage_ids = {"invited": "invited", **{names[w]: ("resp", w) for w in waves[:2]}}
    base = {(r.arm): r.n for r in t[t["stage"] == "invited"].itertuples()}
    rows = []
    for r in t.itertuples():
        d = sets[r.arm]
        ids = d["analysed"] if r.stage == "analysed" else d[stage_ids[r.stage]]
        orgs = len({d["orgs"][i] for i in ids if i in d["orgs"]})
        state = _state(r.note)
        inv = base.get(r.arm, np.nan)
        pct = 100 * r.n / inv if np.isfinite(r.n) and np.isfinite(inv) and inv else np.nan
        hidden = bool(state) or (np.isfinite(r.n) and not np.isfinite(inv) and r.n > 0)
        note = f"workers: {state}" if state else ""
        if not state and not np.isfinite(pct) and np.isfinite(r.n) and r.n:
            note = "% of invited: not shown"
        rows.append(
            {
                "stage": r.stage,
                "arm": r.arm,
                "orgs": orgs,
                "workers": r.n,
                "pct_of_invited": pct,
                "suppressed": hidden or bool(note),
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def _summary_table(result, sets, waves, outcomes, confidence):
    t = result.tables["summary"]
    rows = []
    for r in t.itertuples():
        o, w = r.measure.split("@", 1)
        if o not in outcomes:
            continue
        y = sets[r.arm][("score", o, w)]
        n, mean = r.n, r.mean
        shown = np.isfinite(n) and np.isfinite(mean) and n > 1
        sd = float(y.std(ddof=1)) if shown else np.nan
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n) if shown else np.nan
        parts = [p for p in (r.note or "").split("; ") if p]
        parts = [p.replace("n: ", "workers: ", 1) for p in parts]
        rows.append(
            {
                "outcome": o,
                "arm": r.arm,
                "wave": w,
                "workers": n,
                "mean": mean,
                "sd": sd,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "suppressed": bool(parts),
                "note": "; ".join(parts),
            }
        )
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["wave"] = pd.Categorical(out["wave"], categories=waves, ordered=True)
    return out.sort_values(["outcome", "arm", "wave"], key=_order(outcomes)).reset_index(drop=True)


def _order(outcomes):
    rank = {o: i for i, o in enumerate(outcomes)}
    arms = {a: i for i, a in enumerate(ARMS)}

    def key(s):
        if s.name == "outcome":
            return s.map(rank)
        if s.name == "arm":
            return s.map(arms)
        return s

    return key


def _attrition_table(result, min_cell):
    t = result.tables["attrition"]
    base = result.tables["summary"]
    rows = []
    for arm in ARMS:
        a = t[(t["arm"] == arm) & (t["stage"] == "analysed")].iloc[0]
        left = t[(t["arm"] == arm) & (t["stage"] == "left")].iloc[0]
        first = base[(base["arm"] == arm)].iloc[0]  # scored <primary> <first wave>
        n0, n1, nl = first["n"], a["n"], left["n"]
        pct = 100 * nl / n0 if np.isfinite(nl) and np.isfinite(n0) and n0 else np.nan
        notes = [
            f"workers at baseline: {_state(first['note'])}" if _state(first["note"]) else "",
            f"workers followed up: {_state(a['note'])}" if _state(a["note"]) else "",
            f"workers who left: {_state(left['note'])}" if _state(left["note"]) else "",
            "baseline mean of those who stayed: not shown"
            if np.isnan(a["mean"]) and np.isfinite(n1) and n1
            else "",
            "baseline mean of those who left: not shown"
            if np.isnan(left["mean"]) and nl != 0
            else "",
        ]
        notes = [x for x in notes if x]
        rows.append(
            {
                "arm": arm,
                "workers_baseline": n0,
                "workers_followed": n1,
                "workers_left": nl,
                "attrition_pct": pct,
                "pre_mean_completers": a["mean"],
                "pre_mean_dropouts": left["mean"],
                "suppressed": bool(notes),
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=ATTRITION_COLUMNS)
