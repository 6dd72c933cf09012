"""Who changes what, when: assignment of the simulator's orgs and teams to interventions.

:func:`assign_units` runs after the latent components are drawn (so that
selection can depend on them) and sets on the structure namespace:

* ``org_area`` (primary area code, -1 = comparison org), ``changes`` (org x
  area: the areas each org changed; a share ``multi_area_share`` of
  intervention orgs change ``multi_area_count`` areas);
* ``cohort`` (1..start_cohorts, 0 = never; as equal as possible within each
  area) and ``month_offset`` (start month counted from ``start_date``):
  cohort *c* starts between wave *c-1* and wave *c*;
* ``team_treated``: with ``assignment: team``, half the teams of each
  intervention org (odd counts: a coin decides the extra team), picked at
  random or, with ``selection_strength``, more often the teams with higher
  latent STS;
* worker-level ``w_treated``, ``w_cohort``, ``w_eff`` (STS, BO, CS effects),
  ``w_peff`` (practice effect per area) and, with multi-area orgs,
  ``w_contrib`` (area -> the STS, BO, CS effect of that area's change
  alone), and org-level ``eff_org`` and ``treated_share`` for the indicators.

Selection into intervention: the set of intervention orgs is drawn without
replacement with probabilities proportional to ``exp(selection_strength *
z_o)`` (Gumbel top-k), where ``z_o`` is the org's standardized baseline
latent STS level (stable org component plus, with ``org_wave_icc``, the
baseline org x wave shock that later waves do not share: the source of
regression to the mean). For a small share of orgs chosen this is a logistic
choice model with slope ``selection_strength``.
"""

from __future__ import annotations

import math

import numpy as np

from ._simdesign import cohort_first_months
from .areas import AREA_KEYS

__all__ = ["assign_units", "NEVER"]

#: Cohort wave of workers who are never treated.
NEVER = 1_000_000


def _months_between(a, b) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _select_orgs(design, rng, s, lat) -> None:
    """Re-draw which orgs change (same area mix), favouring high baseline STS."""
    var = design.icc_org + design.wave_shock_share
    level = math.sqrt(design.icc_org) * lat.u_org[:, 0]
    if lat.shock is not None:
        level = level + math.sqrt(design.wave_shock_share) * lat.shock[:, 0, 0]
    keys = design.selection_strength * level / math.sqrt(var) + rng.gumbel(size=s.n_org)
    codes = s.org_area[s.org_area >= 0]  # in a random order already
    chosen = np.sort(np.argsort(-keys, kind="mergesort")[: len(codes)])
    s.org_area = np.full(s.n_org, -1, dtype=np.int64)
    s.org_area[chosen] = codes


def _multi_area(design, rng, s) -> None:
    n_area = len(AREA_KEYS)
    s.changes = np.zeros((s.n_org, n_area), dtype=bool)
    treated = np.flatnonzero(s.org_area >= 0)
    s.changes[treated, s.org_area[treated]] = True
    if design.multi_area_share <= 0:
        return
    several = rng.random(len(treated)) < design.multi_area_share
    pool = np.array([AREA_KEYS.index(a) for a in design.areas])
    for o in treated[several]:
        others = pool[pool != s.org_area[o]]
        extra = rng.permutation(others)[: design.multi_area_count - 1]
        s.changes[o, extra] = True


def _cohorts(design, rng, s) -> None:
    treated = np.flatnonzero(s.org_area >= 0)
    s.cohort = np.zeros(s.n_org, dtype=np.int64)
    s.cohort[treated] = 1
    if design.start_cohorts > 1:  # balanced within each area
        for a in np.unique(s.org_area[treated]):
            orgs = np.flatnonzero(s.org_area == a)
            labels = np.arange(len(orgs)) % design.start_cohorts + 1
            s.cohort[orgs] = rng.permutation(labels)
    firsts = cohort_first_months(design)
    base = np.array([0] + [_months_between(design.start_date, f) for f in firsts])
    s.month_offset = base[s.cohort] + s.start_offset


def _teams(design, rng, s, lat) -> None:
    n_team = len(s.team_org)
    org_on = s.org_area >= 0
    if design.assignment != "team":
        s.team_treated = org_on[s.team_org]
        return
    keys = rng.gumbel(size=n_team) + design.selection_strength * lat.u_team[:, 0]
    coin = rng.random(s.n_org) < 0.5
    s.team_treated = np.zeros(n_team, dtype=bool)
    first = np.cumsum(s.n_teams) - s.n_teams
    for o in np.flatnonzero(org_on):
        k = s.n_teams[o] // 2 + int(s.n_teams[o] % 2 == 1 and coin[o])
        mine = np.arange(first[o], first[o] + s.n_teams[o])
        pick = mine[np.argsort(-keys[mine], kind="mergesort")[:k]]
        s.team_treated[pick] = True


def _effects(design, s, mult) -> None:
    n_area = len(AREA_KEYS)
    eff = np.zeros((s.n_org, 4))
    peff = np.zeros((s.n_org, n_area))
    for o in np.flatnonzero(s.org_area >= 0):
        areas = [s.org_area[o]] + [a for a in np.flatnonzero(s.changes[o]) if a != s.org_area[o]]
        for i, a in enumerate(areas):
            vals = np.array([design.effect(AREA_KEYS[a], k) for k in ("sts", "bo", "cs")])
            eff[o, :3] = vals if i == 0 else eff[o, :3] + vals
            peff[o, a] = design.effect(AREA_KEYS[a], "practice") * mult[o]
        eff[o, 3] = design.effect(AREA_KEYS[s.org_area[o]], "practice")
    scale = mult.copy()
    eff *= mult[:, None]
    if design.cohort_effects is not None:
        cm = np.array([0.0, *design.cohort_effects])[s.cohort]
        eff *= cm[:, None]
        peff *= cm[:, None]
        scale = scale * cm
    s.eff_org = eff
    s.w_contrib = {}  # area -> each worker's STS/BO/CS effect from that area's change alone
    if design.multi_area_share > 0:
        for a in np.flatnonzero(s.changes.any(axis=0)):
            vals = np.array([design.effect(AREA_KEYS[a], k) for k in ("sts", "bo", "cs")])
            own = s.changes[:, a, None] * vals[None, :] * scale[:, None]
            s.w_contrib[a] = own[s.worker_org] * s.team_treated[s.worker_team][:, None]
    s.w_treated = s.team_treated[s.worker_team]
    s.w_cohort = np.where(s.w_treated, s.cohort[s.worker_org], NEVER)
    s.w_eff = eff[s.worker_org, :3] * s.w_treated[:, None]
    s.w_peff = peff[s.worker_org] * s.w_treated[:, None]
    counts = np.bincount(s.worker_org, minlength=s.n_org)
    s.treated_share = np.bincount(s.worker_org, weights=s.w_treated, minlength=s.n_org) / counts


def assign_units(design, rng, s, lat, mult: np.ndarray) -> None:
    """Set the assignment attributes listed in the module docstring on ``s``."""
    if design.selection_strength != 0 and design.assignment == "org":
        _select_orgs(design, rng, s, lat)
    _multi_area(design, rng, s)
    _cohorts(design, rng, s)
    _teams(design, rng, s, lat)
    _effects(design, s, mult)
