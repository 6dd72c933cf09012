"""The engine behind :func:`stseval.simulate` (the model is described in :mod:`stseval.synthetic`).

Everything is vectorized NumPy: latent values in float64 (so that the same
seed gives the same answers on any CPU: single-precision rounding differences
between SIMD code paths would flip a few answers sitting on a threshold), item
answers in int8 (:data:`MISSING` = not answered while building), element-wise
arithmetic only (no BLAS matrix products, whose summation order depends on the
machine), one ``numpy.random.Generator`` (PCG64) drawn in a fixed order:

1. structure (arms, start months, teams, workers, coverage, roles, tenure);
2. latent components (org, team, person, rater, effect multipliers), then,
   only for designs that use them, org x wave shocks, selection into
   intervention, multi-area orgs, start cohorts and team assignment;
3. per wave: occasion components, then item answers instrument by instrument
   (later waves: the same draws also give the answers without the intervention);
4. missingness (attrition, item non-response per wave, instrument skips);
5. survey dates; 6. monthly organizational indicators;
7. only for anonymous or code-linked designs: self-generated codes and new IDs.

Designs that do not use a feature draw nothing for it, so the default
designs give the same bytes as before the feature existed.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from ._latent import _NODES, _WEIGHTS, calibrate_scale, draw_items, latent_correlation
from ._simassign import assign_units
from ._simdesign import ScoreTarget
from ._simdose import apply_dose, caseload
from ._simindiv import assign_programs, ind_latents, ind_setup, ind_wave
from ._simtables import build_study
from ._simtruth import (
    INSTRUMENTS,
    MISSING,
    fast_scale_scores,
    org_metrics,
    potential_differences,
)
from .areas import AREA_KEYS, STATEMENT_KEYS
from .errors import UsageError
from .instruments import Instrument, load_instrument

__all__ = ["run", "INSTRUMENTS", "fast_scale_scores", "MISSING"]

_K = {"sts": 0, "bo": 1, "cs": 2}


def _scale_plan(design):
    """(instrument, scale, latent, target key) of every generated scale."""
    plan = [
        ("stss", "total", "sts", "stss_total"),
        ("proqol", "cs", "cs", "proqol_cs"),
        ("proqol", "bo", "bo", "proqol_bo"),
        ("proqol", "sts", "sts", "proqol_sts"),
    ] + [("org_guidance", a, f"practice:{a}", "org_guidance") for a in AREA_KEYS]
    if "ind_guidance" in design.instruments:
        plan += [("ind_guidance", k, f"ind:{k}", f"ind_guidance_{k}") for k in STATEMENT_KEYS]
    return plan


def _target(design, target: str) -> ScoreTarget:
    if target.startswith("ind_guidance_"):
        return ScoreTarget(**design.ind_guidance.targets[target[len("ind_guidance_") :]])
    return design.targets[target]


def _models(design, insts: dict[str, Instrument]):
    models = {}
    for key, scale, _, target in _scale_plan(design):
        inst = insts[key]
        sc = inst.scales[scale]
        t = _target(design, target)
        try:
            models[(key, scale)] = calibrate_scale(len(sc.items), t.mean, t.sd, t.alpha, sc.method)
        except ValueError as exc:
            raise UsageError(f"design target {target}: {exc}") from None
    return models


def _latent_corr(design, models) -> np.ndarray:
    cs, bo, sts = (models[("proqol", s)] for s in ("cs", "bo", "sts"))
    c = design.correlations
    try:
        r_bs = latent_correlation(bo, sts, c["bo_sts"])
        r_cb = latent_correlation(cs, bo, c["cs_bo"])
        r_cs = latent_correlation(cs, sts, c["cs_sts"])
    except ValueError as exc:
        raise UsageError(f"design correlations: {exc}") from None
    return np.array([[1.0, r_bs, r_cs], [r_bs, 1.0, r_cb], [r_cs, r_cb, 1.0]])


def _cholesky(matrix, what):
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise UsageError(
            f"the design's {what} do not form a valid correlation matrix "
            f"(not positive definite): {np.round(matrix, 3).tolist()}"
        ) from None


def _correlate(z: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """``z @ chol.T`` by element-wise products in a fixed order (same bits on every machine)."""
    out = np.zeros_like(z)
    for i in range(chol.shape[0]):
        for j in range(i + 1):
            out[:, i] += chol[i, j] * z[:, j]
    return out


def _nonresponse(rng, items: np.ndarray, p: float) -> np.ndarray:
    """Blank each cell with probability p (Bernoulli process via geometric gaps).

    Returns the flat positions blanked (item-major: ``item * n_rows + row``).
    """
    if p <= 0:
        return np.empty(0, dtype=np.int64)
    flat = items.reshape(-1)
    total = flat.size
    cur = -1
    chunk = int(total * p * 1.05) + 1000
    found = []
    while cur < total:
        pos = cur + np.cumsum(rng.geometric(p, size=chunk))
        found.append(pos[pos < total])
        cur = int(pos[-1])
    blanks = np.concatenate(found)
    flat[blanks] = MISSING
    return blanks


def _attrition_intercept(p: float, slope: float) -> float:
    if p <= 0:
        return -math.inf
    return brentq(lambda a: float(_WEIGHTS @ expit(a + slope * _NODES)) - p, -30, 30)


def _setup(design):
    keys = tuple(design.instruments)
    insts = {k: load_instrument(k) for k in keys}
    models = _models(design, insts)
    corr3 = _latent_corr(design, models)
    chol3 = _cholesky(corr3, "latent correlations of STS, burnout and compassion satisfaction")
    c = design.practice_org_outcome_corr
    corr4 = np.eye(4)
    corr4[:3, :3] = corr3
    corr4[3, :3] = corr4[:3, 3] = [c.get("sts", 0.0), c.get("bo", 0.0), c.get("cs", 0.0)]
    chol4 = _cholesky(corr4, "org-level correlations of practice with the outcomes")
    offsets, pos = {}, 0
    for key in keys:
        offsets[key] = pos
        pos += insts[key].n_items
    ind = ind_setup(design, models, corr3) if "ind_guidance" in keys else None
    return SimpleNamespace(
        keys=keys,
        insts=insts,
        models=models,
        plan=_scale_plan(design),
        chol3=chol3,
        chol4=chol4,
        offsets=offsets,
        n_items=pos,
        ind=ind,
    )


def _structure(design, rng) -> SimpleNamespace:
    """Step 1: arms, start months, teams, workers, coverage, roles, tenure."""
    n_org = design.n_orgs
    codes = np.array(
        [AREA_KEYS.index(a) for a in design.areas for _ in range(design.orgs_per_area)]
        + [-1] * design.comparison_orgs,
        dtype=np.int64,
    )
    org_area = np.empty(n_org, dtype=np.int64)
    org_area[rng.permutation(n_org)] = codes
    start_offset = rng.integers(0, design.start_spread_months + 1, n_org)
    n_teams = rng.integers(design.teams_per_org[0], design.teams_per_org[1] + 1, n_org)
    team_org = np.repeat(np.arange(n_org), n_teams)
    team_size = rng.integers(
        design.workers_per_team[0], design.workers_per_team[1] + 1, len(team_org)
    )
    worker_team = np.repeat(np.arange(len(team_org)), team_size)
    roles = list(design.role_shares)
    shares = np.array([design.role_shares[r] for r in roles], dtype=float)
    coverage = rng.uniform(design.survey_coverage[0], design.survey_coverage[1], n_org)
    n = len(worker_team)
    return SimpleNamespace(
        n_org=n_org,
        org_area=org_area,
        start_offset=start_offset,
        n_teams=n_teams,
        team_org=team_org,
        team_size=team_size,
        worker_team=worker_team,
        worker_org=team_org[worker_team],
        n=n,
        coverage=coverage,
        roles=roles,
        role_idx=rng.choice(len(roles), size=n, p=shares / shares.sum()),
        tenure_z=rng.standard_normal(n),
    )


def _latents(design, rng, s: SimpleNamespace, cfg) -> SimpleNamespace:
    """Step 2: latent components; then the design's assignment (see :mod:`._simassign`)."""
    n_area = len(AREA_KEYS)
    u_org = _correlate(rng.standard_normal((s.n_org, 4)), cfg.chol4)
    rho_a = design.practice_area_corr
    p_org = math.sqrt(rho_a) * u_org[:, 3:4] + math.sqrt(1 - rho_a) * rng.standard_normal(
        (s.n_org, n_area)
    )
    u_team = _correlate(rng.standard_normal((len(s.team_org), 3)), cfg.chol3)
    p_team = rng.standard_normal((len(s.team_org), n_area))
    person = _correlate(rng.standard_normal((s.n, 3)), cfg.chol3)
    cb = design.practice_rater_bo_corr
    rater = cb * person[:, 1] + math.sqrt(1 - cb * cb) * rng.standard_normal(s.n)
    mult = np.maximum(0.0, 1.0 + design.effect_heterogeneity * rng.standard_normal(s.n_org))
    n_waves = len(design.wave_schedule())
    shock = None
    if design.wave_shock_share > 0:
        shock = np.stack(
            [_correlate(rng.standard_normal((s.n_org, 3)), cfg.chol3) for _ in range(n_waves)],
            axis=1,
        )
    lat = SimpleNamespace(u_org=u_org, u_team=u_team, shock=shock)
    assign_units(design, rng, s, lat, mult)
    w_org, w_team = math.sqrt(design.icc_org), math.sqrt(design.icc_team)
    w_person = math.sqrt(design.prepost_r - design.icc_org - design.icc_team)
    lat.w_occ = math.sqrt(1.0 - design.prepost_r - design.wave_shock_share)
    lat.w_shock = math.sqrt(design.wave_shock_share)
    stable = w_org * u_org[s.worker_org, :3] + w_team * u_team[s.worker_team]
    stable += w_person * person
    lat.stable = stable
    pv = [
        design.practice_icc_org,
        design.practice_icc_team,
        design.practice_rater_stable,
        design.practice_rater_wave,
    ]
    lat.pw = [math.sqrt(v) for v in pv] + [math.sqrt(1.0 - sum(pv))]
    p_stable = lat.pw[0] * p_org[s.worker_org] + lat.pw[1] * p_team[s.worker_team]
    p_stable += lat.pw[2] * rater[:, None]
    lat.p_stable = p_stable
    lat.dose_out = lat.dose_prac = None
    if design.mediated_share is not None:
        apply_dose(design, rng, s, lat)
    if cfg.ind is not None:
        ind_latents(rng, s, lat, cfg.ind)
    assign_programs(design, rng, s, lat)
    return lat


def _wave_factor(design, s, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Effect multiplier of every worker at wave ``w`` (0 where not (yet) treated), and who is."""
    exposure = w - s.w_cohort
    on = s.w_treated & (exposure >= 0)
    table = np.array([0.0, *design.wave_effects()])
    return table[np.where(on, exposure + 1, 0)], on


def _own_area_alternates(s, base, factor, rows0) -> list:
    """(area, rows, latent STS/BO/CS without that area's change) for multi-area designs."""
    out = []
    for a, contrib in s.w_contrib.items():
        rows = rows0[s.changes[s.worker_org[rows0], a]]
        if len(rows):
            eta = base[rows] + factor[rows, None] * (s.w_eff[rows] - contrib[rows])
            out.append((a, rows, eta))
    return out


def _latent_wave(design, rng, s, lat, cfg, w: int) -> SimpleNamespace:
    """Latent values of every worker at wave ``w`` (outcomes, practice, statements)."""
    n, n_area = s.n, len(AREA_KEYS)
    factor, on = _wave_factor(design, s, w) if w > 0 else (None, None)
    occ = _correlate(rng.standard_normal((n, 3)), cfg.chol3)
    r_wave = rng.standard_normal(n)
    spec = rng.standard_normal((n, n_area))
    base = lat.stable + lat.w_occ * occ
    if lat.shock is not None:
        base += lat.w_shock * lat.shock[s.worker_org, w]
    ind = None if cfg.ind is None else ind_wave(rng, lat, cfg.ind, base)
    if w > 0:
        base += np.array([design.trend.get(k, 0.0) for k in ("sts", "bo", "cs")])
        if lat.dose_out is not None:
            base += lat.dose_out
    p_base = lat.p_stable + lat.pw[3] * r_wave[:, None] + lat.pw[4] * spec
    if w > 0:
        p_base += design.trend.get("practice", 0.0)
        if lat.dose_prac is not None:
            p_base += lat.dose_prac
    v = SimpleNamespace(base=base, p_base=p_base, factor=factor, on=on, ind=ind, prog=None)
    v.eta = base if factor is None else base + factor[:, None] * s.w_eff
    v.pf = design.wave_effects()[w - 1] if w > 0 else 0.0
    if w > 0 and design.programs:
        v.prog = v.pf * sum(lat.prog_out)
        v.eta = v.eta + v.prog
        v.ind = v.ind + v.pf * sum(lat.prog_ind)
    return v


def _cf(label, rows, out, prac=None, ind=None) -> dict:
    return {"label": label, "rows": rows, "out": out, "prac": prac, "ind": ind}


def _counterfactuals(s, lat, v, w: int) -> list[dict]:
    """Counterfactual latent values at a later wave (see :func:`_draw_wave`)."""
    if w == 0:
        return []

    def plus(rows, x):
        return x if v.prog is None else x + v.prog[rows]

    cfs = []
    rows0 = np.flatnonzero(v.on)
    if len(rows0):
        cfs.append(_cf(None, rows0, plus(rows0, v.base[rows0]), prac=v.p_base[rows0]))
        for a, rows, e in _own_area_alternates(s, v.base, v.factor, rows0):
            cfs.append(_cf(a, rows, plus(rows, e)))
        if lat.dose_out is not None:
            e = v.base[rows0] + v.factor[rows0, None] * s.w_direct[rows0]
            cfs.append(_cf("direct", rows0, plus(rows0, e)))
    for i, member in enumerate(s.prog_members):
        rows = np.flatnonzero(member)
        if len(rows):
            out = v.eta[rows] - v.pf * lat.prog_out[i][rows]
            cfs.append(
                _cf(("program", i), rows, out, ind=v.ind[rows] - v.pf * lat.prog_ind[i][rows])
            )
    return cfs


def _column(s, v, latent: str):
    """(latent values of one scale for every worker, counterfactual part, column index)."""
    kind, _, name = latent.partition(":")
    if kind == "practice":
        j = AREA_KEYS.index(name)
        col = np.ascontiguousarray(v.p_base[:, j])
        return (col if v.factor is None else col + v.factor * s.w_peff[:, j]), "prac", j
    if kind == "ind":
        j = STATEMENT_KEYS.index(name)
        return np.ascontiguousarray(v.ind[:, j]), "ind", j
    return np.ascontiguousarray(v.eta[:, _K[kind]]), "out", _K[kind]


def _draw_wave(design, rng, s, lat, cfg, w: int):
    """Step 3 for one wave: item answers and, at later waves, the counterfactual answers.

    Returns ``(answers, counterfactuals)``; each counterfactual is ``(label,
    rows, answers, scales)`` (``scales``: the (instrument, scale) pairs drawn
    for it): label ``None`` = the rows treated by then without any change;
    an area code = without that area's change (multi-area orgs); ``"direct"``
    = without the practice-carried part of the effect (dose model);
    ``("program", i)`` = program i's participants without the program.
    """
    n = s.n
    v = _latent_wave(design, rng, s, lat, cfg, w)
    cfs = _counterfactuals(s, lat, v, w)
    arr = np.empty((cfg.n_items, n), dtype=np.int8)
    outs = [np.zeros((cfg.n_items, len(cf["rows"])), dtype=np.int8) for cf in cfs]
    drawn: list[list] = [[] for _ in cfs]
    for key, scale, latent, _ in cfg.plan:
        idx = cfg.offsets[key] + np.array(cfg.insts[key].scales[scale].items) - 1
        col, part, j = _column(s, v, latent)
        use = [c for c, cf in enumerate(cfs) if cf[part] is not None]
        alts = [
            (
                np.ascontiguousarray(cfs[c][part][:, j]),
                cfs[c]["rows"],
                np.empty((len(idx), len(cfs[c]["rows"])), dtype=np.int8),
            )
            for c in use
        ]
        tmp = np.empty((len(idx), n), dtype=np.int8)
        draw_items(col, cfg.models[(key, scale)], rng, tmp, alternates=alts)
        arr[idx] = tmp
        for c, (_, _, got) in zip(use, alts, strict=True):
            outs[c][idx] = got
            drawn[c].append((key, scale))
    for key in cfg.keys:  # stored raw: reverse-keyed items are flipped back
        inst = cfg.insts[key]
        rev = cfg.offsets[key] + np.array(inst.reverse_items, dtype=np.int64) - 1
        if len(rev):
            top = inst.response.min + inst.response.max
            for block in (arr, *outs):
                block[rev] = top - block[rev]
    return arr, [
        (cf["label"], cf["rows"], out, sc) for cf, out, sc in zip(cfs, outs, drawn, strict=True)
    ]


def _present(design, rng, cfg, s, first: np.ndarray, n_waves: int) -> np.ndarray:
    """Step 4a: who answers each wave (attrition rises with the baseline STSS total)."""
    st = design.targets["stss_total"]
    stss = slice(cfg.offsets["stss"], cfg.offsets["stss"] + cfg.insts["stss"].n_items)
    z_pre = (first[stss].sum(axis=0, dtype=np.int32) - st.mean) / st.sd
    slope = design.attrition_logodds_per_sd
    present = np.ones((s.n, n_waves), dtype=bool)
    u_att = rng.random(s.n)
    if n_waves > 1:
        a = _attrition_intercept(design.attrition, slope)
        present[:, 1] = u_att >= expit(a + slope * z_pre)
    if n_waves > 2:
        a = _attrition_intercept(design.follow_up_attrition, slope)
        for w in range(2, n_waves):
            u = rng.random(s.n)
            present[:, w] = present[:, w - 1] & (u >= expit(a + slope * z_pre))
    return present


def _mirror(blanks, n: int, rows, answers) -> None:
    """Blank in a counterfactual the cells blanked in the answers (same item non-response)."""
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    j, col = np.divmod(blanks, n)
    hit = where[col] >= 0
    answers[j[hit], where[col[hit]]] = MISSING


def _blank(design, rng, cfg, s, items, later) -> dict:
    """Step 4b: item non-response (mirrored in the counterfactual answers) and skips.

    Returns ``{wave: [(label, rows, differences)]}`` (see :func:`_draw_wave`).
    """
    diffs = {}
    for w in range(len(items)):
        blanks = _nonresponse(rng, items[w], design.item_nonresponse)
        for label, rows, answers, scales in later.get(w, []):
            _mirror(blanks, s.n, rows, answers)
            d = potential_differences(cfg.insts, cfg.offsets, items[w], answers, rows, scales)
            diffs.setdefault(w, []).append((label, rows, d))
        skip = rng.random((len(cfg.keys), s.n)) < design.instrument_skip
        for k, key in enumerate(cfg.keys):
            if skip[k].any():
                block = items[w][cfg.offsets[key] : cfg.offsets[key] + cfg.insts[key].n_items]
                block[:, skip[k]] = MISSING
    return diffs


def run(design, seed: int, *, return_key: bool = False):
    """Simulate ``design`` with ``seed``; see :func:`stseval.synthetic.simulate`.

    With ``return_key=True`` also returns the link key of an anonymous or
    code-linked study (``worker_id, person_id, wave``: which simulated person
    gave each response), for tests and validation; it is never written.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    cfg = _setup(design)
    s = _structure(design, rng)
    lat = _latents(design, rng, s, cfg)
    schedule = design.wave_schedule()
    items, later = [], {}
    for w in range(len(schedule)):
        arr, counterfactuals = _draw_wave(design, rng, s, lat, cfg, w)
        items.append(arr)
        if counterfactuals:
            later[w] = counterfactuals
    present = _present(design, rng, cfg, s, items[0], len(schedule))
    diffs = _blank(design, rng, cfg, s, items, later)
    dates = [
        np.datetime64(wave.date, "D") + rng.integers(0, design.survey_window_days, s.n)
        for wave in schedule
    ]
    metrics, indicator_truth = org_metrics(design, rng, s, lat)
    cases = caseload(design, rng, s, lat, present)
    study, key = build_study(
        design, seed, rng, s, cfg, items, present, dates, diffs, metrics, indicator_truth, cases
    )
    return (study, key) if return_key else study
