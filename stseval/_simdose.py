"""The simulator's dose-response model and its truth (issue 11, ``mediated_share`` set).

With the dose model, every org *o* has a realized practice change in every
area *a* (latent practice SD units) from the baseline to each later wave::

    D_oa = T_oa e_p(a) c_o + practice_change_sd z_oa,      z_oa ~ N(0, 1)

(``T_oa`` = 1 if the org, or the worker's team, changed area *a*;
``e_p(a)`` = ``effects[a]["practice"]``; ``c_o`` the cohort multiplier; the
intervention part also takes the wave multiplier). Latent STS, BO and CS
(*k*) move by ``b_k(a) D_oa`` summed over areas, where
``b_k(a) = mediated_share e_k(a) / e_p(a)`` (0 when ``e_p(a)`` is 0), plus a
direct effect ``(1 - mediated_share) e_k(a) m_o c_o`` for the changed area
(``m_o`` the effect-heterogeneity multiplier). The intervention's expected
effect on *k* stays ``e_k(a)``; the share ``mediated_share`` of it runs
through the practice change. ``mediated_share = 0`` is the null: practice
change carries nothing.

``dose_confounder`` (``g``): each org's caseload falls by ``kappa_o`` SD
(standard normal), which lowers latent STS and BO by ``g kappa_o`` without
passing through practice, and the same orgs improve practice: then
``z_oa = sqrt(1/2) kappa_o + sqrt(1/2) z'_oa`` (ASSUMED share 1/2 in every
area). The naive slope of outcome change on one area's practice change is
biased (more negative for STS when ``g > 0``: the caseload, and the other
areas' practice changes that move with it), while the truth stays the causal
``dose_slope``; the measured ``caseload`` column of ``responses.csv`` lets an
analysis adjust for it.
"""

from __future__ import annotations

import math

import numpy as np

from .areas import AREA_KEYS

__all__ = ["apply_dose", "dose_truth_rows", "caseload", "DOSE_NOTE"]

#: Share of every area's practice-change variance shared with the caseload fall (ASSUMED).
_SHARED = 0.5
DOSE_NOTE = (
    " Dose model (design mediated_share): for the intervention orgs (or changed teams) of an "
    "area, at each later wave, with Y(T, M) the score under intervention T and the practice "
    "change M: indirect = mean over their workers (attrition included) of Y(1, M(1)) - "
    "Y(1, M(0)), the part of the outcome change carried by the intervention's practice change "
    "(same item draws; scored as the kit does); direct = att - indirect = mean Y(1, M(0)) - "
    "Y(0, M(0)); dose_slope = indirect / att of org_guidance_<area>: outcome points per "
    "org_guidance scale point of practice change (the latent model is linear, so the same slope "
    "holds for every org's practice change in that area, up to the scoring's mild "
    "nonlinearity); 0 when practice carries nothing. Orgs' practice changes vary (design "
    "practice_change_sd) and a confounder (design dose_confounder) moves STS and burnout "
    "without passing through practice."
)


def _slopes(design) -> np.ndarray:
    """``b`` (n_area x 3): latent STS, BO, CS change per latent unit of practice change."""
    share = float(design.mediated_share)
    b = np.zeros((len(AREA_KEYS), 3))
    for a, area in enumerate(AREA_KEYS):
        ep = design.effect(area, "practice")
        if ep != 0:
            b[a] = [share * design.effect(area, k) / ep for k in ("sts", "bo", "cs")]
    return b


def apply_dose(design, rng, s, lat) -> None:
    """Replace the effect arrays of ``s`` by the dose model's and set the org-level shifts.

    Sets ``lat.dose_out`` (n x 3: latent STS/BO/CS shift at later waves from
    every org's own practice change and the confounder), ``lat.dose_prac``
    (n x areas: the practice change), ``s.w_direct`` (n x 3: the direct part
    of the intervention effect) and recomputes ``s.w_eff``, ``s.w_peff``,
    ``s.eff_org``.
    """
    n_area = len(AREA_KEYS)
    b = _slopes(design)
    z = rng.standard_normal((s.n_org, n_area))
    kappa = None
    if design.dose_confounder != 0:
        kappa = rng.standard_normal(s.n_org)
        z = math.sqrt(_SHARED) * kappa[:, None] + math.sqrt(1 - _SHARED) * z
    lat.kappa = kappa
    drift = design.practice_change_sd * z
    shift = np.zeros((s.n_org, 3))
    for a in range(n_area):  # element-wise, in a fixed order
        shift += drift[:, a : a + 1] * b[a]
    if kappa is not None:
        shift[:, 0] -= design.dose_confounder * kappa
        shift[:, 1] -= design.dose_confounder * kappa
    lat.dose_out = shift[s.worker_org]
    lat.dose_prac = drift[s.worker_org]
    cm = np.ones(s.n_org)
    if design.cohort_effects is not None:
        cm = np.array([0.0, *design.cohort_effects])[s.cohort]
    share = float(design.mediated_share)
    carried = np.zeros((s.n_org, 3))
    peff = np.zeros((s.n_org, n_area))
    for o in np.flatnonzero(s.org_area >= 0):
        a = s.org_area[o]
        ep = design.effect(AREA_KEYS[a], "practice")
        peff[o, a] = ep * cm[o]
        carried[o] = b[a] * ep * cm[o]
        if ep == 0:
            carried[o] = 0.0
    direct = (1 - share) * s.eff_org[:, :3]  # e_k m_o c_o
    s.eff_org = s.eff_org.copy()
    s.eff_org[:, :3] = carried + direct
    treated = s.w_treated[:, None]
    s.w_eff = s.eff_org[s.worker_org, :3] * treated
    s.w_direct = direct[s.worker_org] * treated
    s.w_peff = peff[s.worker_org] * treated


def dose_truth_rows(design, s, diffs) -> list[tuple]:
    """Truth rows ``(area, outcome, estimand, value, wave, cohort)`` of the dose model."""
    names = design.wave_names
    plan = [("stss", "total"), ("proqol", "sts"), ("proqol", "bo"), ("proqol", "cs")]
    out = []
    for w, entries in sorted(diffs.items()):
        by_label = {}
        for label, rows, d in entries:
            if label is None or label == "direct":
                by_label[label] = (rows, d)
        if None not in by_label or "direct" not in by_label:
            continue
        rows, d_all = by_label[None]
        _, d_ind = by_label["direct"]
        for a, area in enumerate(AREA_KEYS):
            mine = s.changes[s.worker_org[rows], a]
            if not mine.any():
                continue
            prac = d_all[("org_guidance", area)][mine]
            att_p = float(np.nanmean(prac)) if (~np.isnan(prac)).any() else float("nan")
            for key, scale in plan:
                tot, ind = d_all[(key, scale)][mine], d_ind[(key, scale)][mine]
                ok = ~np.isnan(tot)
                indirect = float(np.mean(ind[ok])) if ok.any() else float("nan")
                direct = float(np.mean(tot[ok])) - indirect if ok.any() else float("nan")
                slope = 0.0 if indirect == 0 else indirect / att_p if att_p else float("nan")
                col = f"{key}_{scale}"
                out.append((area, col, "dose_slope", slope, names[w], ""))
                out.append((area, col, "indirect", indirect, names[w], ""))
                out.append((area, col, "direct", direct, names[w], ""))
    return out


def caseload(design, rng, s, lat, present: np.ndarray) -> np.ndarray | None:
    """Measured caseload of every response row (worker-major, waves in order), or None.

    Only with ``dose_confounder``: a worker's caseload is ``25 + 6 u_i + 2 e_iw``
    (ASSUMED: open cases per worker), minus ``4 kappa_o`` at later waves (the
    org's caseload fall that also lowers STS and burnout), rounded, at least 0.
    Measured, it lets an analysis adjust for the confounder.
    """
    if design.dose_confounder == 0:
        return None
    n, n_w = present.shape
    stable = 25.0 + 6.0 * rng.standard_normal(n)
    value = stable[:, None] + 2.0 * rng.standard_normal((n, n_w))
    value[:, 1:] -= 4.0 * lat.kappa[s.worker_org][:, None]
    value = np.clip(np.round(value), 0, None).astype(np.int64)
    return value.reshape(-1)[present.reshape(-1)]
