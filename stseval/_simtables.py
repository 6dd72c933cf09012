"""The simulator's tables: workers, responses, orgs, interventions, metadata, link codes.

Layouts by design (study.yaml ``design`` block, contract in DESIGN.md):

* ``linkage: linked`` (default): one ``workers.csv`` row per worker; the
  worker's ``worker_id`` repeats across waves in ``responses.csv``.
* ``linkage: anonymous``: every response row has its own ``worker_id``
  (numbered in a random order, so IDs reveal nothing); ``workers.csv`` has
  one row per respondent (``org_id``, ``team_id``, role, tenure).
* ``linkage: code``: as anonymous, plus self-generated code columns
  ``sgic_<element>`` after ``date`` in ``responses.csv`` (named in
  ``design.link_code_columns``). Every respondent has a true code; at each
  later wave a share ``sgic_misremember`` of codes has one element
  misremembered (a neighbouring month, sibling count or day, another
  letter), and at any wave a share ``sgic_unusable`` has one element left
  blank. Different people can share a code by chance.
* ``assignment: team``: ``interventions.csv`` has one row per changed team,
  with ``team_id``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from . import __version__
from ._simindiv import programs_table
from ._simtruth import MISSING, truth_table
from .areas import AREA_KEYS

__all__ = ["build_study", "org_name", "sgic_codes"]

_TREES = [
    "Alder",
    "Birch",
    "Cedar",
    "Elm",
    "Hazel",
    "Juniper",
    "Laurel",
    "Linden",
    "Maple",
    "Oak",
    "Pine",
    "Rowan",
    "Spruce",
    "Willow",
    "Ash",
    "Beech",
    "Cypress",
    "Fir",
    "Hawthorn",
    "Holly",
    "Larch",
    "Poplar",
    "Sycamore",
    "Yew",
]
_KINDS = [
    "Family Services",
    "Counseling Center",
    "Children's Services",
    "Health Unit",
    "Community Care",
    "Youth Services",
]
_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
# ASSUMED: rough shares of first-name initials (common letters A, J, M, S, C, L, D, K, ...).
_LETTER_WEIGHTS = np.array(
    [8, 4, 7, 6, 5, 2, 3, 3, 1, 9, 6, 7, 10, 3, 1, 4, 0.3, 5, 9, 5, 0.5, 2, 2, 0.2, 1, 1]
)
_SIBLING_P = np.array([0.42, 0.30, 0.15, 0.07, 0.03, 0.02, 0.01])
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def org_name(i: int) -> str:
    """Pseudonymous name of the i-th simulated org."""
    tree, kind = _TREES[i % len(_TREES)], _KINDS[(i // len(_TREES)) % len(_KINDS)]
    cycle = i // (len(_TREES) * len(_KINDS))
    return f"{tree} {kind}" + (f" {cycle + 1}" if cycle else "")


def _add_months(day, months: int) -> np.datetime64:
    return np.datetime64(f"{day.year:04d}-{day.month:02d}", "M") + months


def _response_frame(worker_ids, waves, dates, items, present, names) -> pd.DataFrame:
    n, n_w = present.shape
    keep = present.reshape(-1)
    rows = np.flatnonzero(keep)
    cols = {
        "worker_id": worker_ids.take(rows // n_w),
        "wave": pd.array(list(waves), dtype="str").take(rows % n_w),
    }
    when = np.empty(n * n_w, dtype="datetime64[D]")
    for w in range(n_w):
        when[w::n_w] = dates[w]
    cols["date"] = when[keep].astype("datetime64[ns]")
    buf = np.empty(n * n_w, dtype=np.int8)
    for j, name in enumerate(names):
        for w in range(n_w):
            buf[w::n_w] = items[w][j]
        values = buf[keep]
        cols[name] = pd.arrays.IntegerArray(values, values == MISSING)
    return pd.DataFrame(cols, copy=False)


def _people(design, s, cfg):
    """ID arrays and the workers table of the simulated people."""
    n_org, n = s.n_org, s.n
    width_o = max(2, len(str(n_org)))
    org_ids = np.array([f"O{i + 1:0{width_o}d}" for i in range(n_org)], dtype=object)
    team_no = np.arange(len(s.team_org)) - np.repeat(np.cumsum(s.n_teams) - s.n_teams, s.n_teams)
    team_ids = np.array(
        [f"{org_ids[o]}-T{t}" for o, t in zip(s.team_org, team_no + 1, strict=False)],
        dtype=object,
    )
    width_w = max(5, len(str(n)))
    worker_ids = np.array([f"W{i + 1:0{width_w}d}" for i in range(n)], dtype=object)
    first_in_team = np.zeros(n, dtype=bool)
    first_in_team[np.cumsum(s.team_size) - s.team_size] = True
    role_code = s.role_idx.copy()
    tenure = design.tenure_median_years * np.exp(0.7 * s.tenure_z)
    if design.supervisor_per_team:
        role_code[first_in_team] = len(s.roles)
        tenure = tenure + 4.0 * first_in_team
    tenure = np.round(np.clip(tenure, 0.1, 35.0), 1)
    wid, oid, tid = (pd.array(x, dtype="str") for x in (worker_ids, org_ids, team_ids))
    workers = pd.DataFrame(
        {
            "worker_id": wid,
            "org_id": oid.take(s.worker_org),
            "team_id": tid.take(s.worker_team),
            "role": pd.array(s.roles + ["supervisor"], dtype="str").take(role_code),
            "tenure_years": tenure,
        }
    )
    return wid, oid, tid, workers


def _interventions(design, s, oid, tid) -> pd.DataFrame:
    starts = np.array([_add_months(design.start_date, int(k)) for k in s.month_offset])
    starts = starts.astype("datetime64[D]").astype("datetime64[ns]")
    org, area = np.nonzero(s.changes)  # org-major, areas in AREA_KEYS order
    if design.assignment != "team":
        return pd.DataFrame(
            {
                "org_id": oid.take(org),
                "area": pd.array([AREA_KEYS[a] for a in area], dtype="str"),
                "start_date": starts[org],
            }
        )
    teams = np.flatnonzero(s.team_treated)
    t_area = s.org_area[s.team_org[teams]]
    return pd.DataFrame(
        {
            "org_id": oid.take(s.team_org[teams]),
            "area": pd.array([AREA_KEYS[a] for a in t_area], dtype="str"),
            "start_date": starts[s.team_org[teams]],
            "team_id": tid.take(teams),
        }
    )


def sgic_codes(design, rng, n_people: int, person: np.ndarray, wave: np.ndarray) -> dict:
    """Self-generated code columns for response rows of ``person`` at wave index ``wave``.

    Returns ``{column: values}`` (object arrays; ``None`` = left blank).
    """
    true = {
        "initial": rng.choice(26, size=n_people, p=_LETTER_WEIGHTS / _LETTER_WEIGHTS.sum()),
        "birth_month": rng.integers(1, 13, n_people),
        "sibling": rng.choice(len(_SIBLING_P), size=n_people, p=_SIBLING_P),
    }
    true["birth_day"] = 1 + np.floor(
        rng.random(n_people) * _MONTH_DAYS[true["birth_month"] - 1]
    ).astype(np.int64)
    elems = list(design.sgic_elements)
    m = len(person)
    vals = {e: true[e][person].copy() for e in elems}
    wrong = (wave > 0) & (rng.random(m) < design.sgic_misremember)
    which = rng.integers(0, len(elems), m)
    step = np.where(rng.random(m) < 0.5, -1, 1)
    other = rng.integers(1, 26, m)
    for j, e in enumerate(elems):
        hit = wrong & (which == j)
        v = vals[e]
        if e == "initial":
            v[hit] = (v[hit] + other[hit]) % 26
        elif e == "birth_month":
            v[hit] = (v[hit] - 1 + step[hit]) % 12 + 1
        else:  # a neighbouring count or day, never the true one
            top = 9 if e == "sibling" else 31
            bottom = 0 if e == "sibling" else 1
            moved = v[hit] + step[hit]
            v[hit] = np.where(moved < bottom, bottom + 1, np.where(moved > top, top - 1, moved))
    blank = rng.random(m) < design.sgic_unusable
    which_blank = rng.integers(0, len(elems), m)
    out = {}
    for j, e in enumerate(elems):
        v = vals[e]
        col = _LETTERS[v].astype(object) if e == "initial" else v.astype(object)
        col[blank & (which_blank == j)] = None
        out[f"sgic_{e}"] = col
    return out


def _anonymize(design, rng, s, responses, workers, present):
    """New worker ID per response row (random order) and, with linkage code, the SGIC columns."""
    n_w = present.shape[1]
    rows = np.flatnonzero(present.reshape(-1))
    person, wave = rows // n_w, rows % n_w
    m = len(rows)
    codes = sgic_codes(design, rng, s.n, person, wave) if design.linkage == "code" else {}
    order = rng.permutation(m)
    width = max(5, len(str(m)))
    new = pd.array([f"W{k + 1:0{width}d}" for k in order], dtype="str")
    key = pd.DataFrame(
        {"worker_id": new, "person_id": responses["worker_id"], "wave": responses["wave"]}
    )
    responses = responses.copy()
    responses["worker_id"] = new
    for i, (col, values) in enumerate(codes.items()):
        responses.insert(3 + i, col, values)
    people = workers.iloc[person].reset_index(drop=True)
    people["worker_id"] = new
    return responses, people, key


def _design_block(design, codes: list[str]) -> dict | None:
    block = {
        "linkage": design.linkage,
        "link_code_columns": codes,
        "assignment": design.assignment,
        "comparison": design.comparison_kind,
    }
    classic = {"linkage": "linked", "link_code_columns": [], "assignment": "org"}
    if all(block[k] == v for k, v in classic.items()) and block["comparison"] == "chosen":
        return None
    return block


def _meta(design, seed, codes, truth_note) -> dict:
    meta = {
        "name": design.name,
        "description": (
            "Synthetic study simulated by stseval: not real data. The truth of "
            "every effect is in truth.csv."
        ),
        "waves": list(design.wave_names),
        "instruments": list(design.instruments),
        "min_cell": design.min_cell,
        "provenance": {
            "synthetic": True,
            "generator": "stseval.synthetic.simulate",
            "stseval_version": __version__,
            "seed": int(seed),
            "design": design.to_dict(),
            "truth_definition": truth_note,
        },
    }
    block = _design_block(design, codes)
    if block is not None:
        meta["design"] = block
    return meta


def build_study(
    design, seed, rng, s, cfg, items, present, dates, diffs, metrics, ind_truth, cases=None
):
    """Assemble the :class:`~stseval.study.Study` (and the link key, or None).

    ``cases``: the ``caseload`` of every response row (dose confounder designs), put after ``date``.
    """
    from .study import Study

    wid, oid, tid, workers = _people(design, s, cfg)
    counts = np.bincount(s.worker_org, minlength=s.n_org)
    orgs = pd.DataFrame(
        {
            "org_id": oid,
            "name": pd.array([org_name(i) for i in range(s.n_org)], dtype="str"),
            "size": np.ceil(counts / s.coverage).astype(np.int64),
        }
    )
    names = [c for key in cfg.keys for c in cfg.insts[key].item_columns]
    responses = _response_frame(wid, design.wave_names, dates, items, present, names)
    if cases is not None:
        responses.insert(3, "caseload", cases)
    metrics.insert(0, "org_id", oid.take(metrics.pop("_org").to_numpy()))
    truth, note = truth_table(design, s, cfg, diffs, items[0], ind_truth)
    key = None
    if design.linkage != "linked":
        responses, workers, key = _anonymize(design, rng, s, responses, workers, present)
    codes = [c for c in responses.columns if c.startswith("sgic_")]
    programs = programs_table(design, s, tid, wid)
    extra = {}
    if programs is not None and "programs" in inspect.signature(Study).parameters:
        extra["programs"] = programs  # a Study that holds the programs table
    study = Study(
        meta=_meta(design, seed, codes, note),
        workers=workers,
        responses=responses,
        orgs=orgs,
        interventions=_interventions(design, s, oid, tid),
        org_metrics=metrics,
        truth=truth,
        **extra,
    )
    study._normalize()
    if programs is not None and not extra:  # older Study: attach it (make_synthetic writes it)
        study.programs = programs
    return study, key
