"""The engine behind :func:`stseval.simulate` (the model is described in :mod:`stseval.synthetic`).

Everything is vectorized NumPy: latent values in float64 (so that the same
seed gives the same answers on any CPU: single-precision rounding differences
between SIMD code paths would flip a few answers sitting on a threshold), item
answers in int8 (0 = missing while building), element-wise arithmetic only (no
BLAS matrix products, whose summation order depends on the machine), one
``numpy.random.Generator`` (PCG64) drawn in a fixed order:

1. structure (arms, start months, teams, workers, coverage, roles, tenure);
2. latent components (org, team, person, rater, effect multipliers);
3. per wave: occasion components, then item answers instrument by instrument
   (post wave: the same draws also give the answers without the intervention);
4. missingness (attrition, item non-response per wave, instrument skips);
5. survey dates; 6. monthly organizational indicators.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from . import __version__
from ._latent import _NODES, _WEIGHTS, calibrate_scale, draw_items, latent_correlation
from .areas import AREA_KEYS
from .errors import UsageError
from .instruments import Instrument, load_instrument

__all__ = ["run", "INSTRUMENTS", "fast_scale_scores"]

#: Instruments a synthetic study holds, in column order.
INSTRUMENTS = ("stss", "proqol", "org_guidance")
_K = {"sts": 0, "bo": 1, "cs": 2}
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
_TRUTH_NOTE = (
    "att: mean over all workers of the area's intervention orgs (attrition included) of the "
    "post-wave score with minus without the intervention (same item-noise draws, same item "
    "non-response); att_sd: att / pooled within-arm SD of the observed baseline scores of the "
    "area's intervention and comparison workers; separation_rate and absence_rate att: mean over "
    "the intervention orgs' first months from their start (metrics_months) of the expected "
    "monthly rate with minus without the intervention."
)


def _scale_plan():
    """(instrument, scale, latent, target key) of every generated scale."""
    return [
        ("stss", "total", "sts", "stss_total"),
        ("proqol", "cs", "cs", "proqol_cs"),
        ("proqol", "bo", "bo", "proqol_bo"),
        ("proqol", "sts", "sts", "proqol_sts"),
    ] + [("org_guidance", a, f"practice:{a}", "org_guidance") for a in AREA_KEYS]


def _models(design, insts: dict[str, Instrument]):
    models = {}
    for key, scale, _, target in _scale_plan():
        inst = insts[key]
        sc = inst.scales[scale]
        t = design.targets[target]
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


def fast_scale_scores(
    block: np.ndarray, inst: Instrument, scale: str, offset: int = 0, cols: np.ndarray | None = None
) -> np.ndarray:
    """Score one scale from raw int8 answers (0 = missing), items in rows.

    Same rules as :func:`stseval.score` (reverse keys, prorating above the
    scale's required number of answered items); the tests check equality.
    """
    sc = inst.scales[scale]
    idx = np.array(sc.items) - 1 + offset
    sub = (block[idx] if cols is None else block[np.ix_(idx, cols)]).astype(np.int16)
    ans = sub > 0
    rev = np.array([inst.items[i - 1].reverse for i in sc.items])
    lo, hi = inst.response.min, inst.response.max
    if rev.any():
        sub[rev] = np.where(ans[rev], lo + hi - sub[rev], 0)
    n_ans = ans.sum(axis=0)
    k = len(sc.items)
    need = inst.scale_rule(scale).required(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sub.sum(axis=0) / n_ans
    out = mean * k if sc.method == "sum" else mean
    out[(n_ans < need) | (n_ans == 0)] = np.nan
    return out


def _add_months(day, months: int) -> np.datetime64:
    return np.datetime64(f"{day.year:04d}-{day.month:02d}", "M") + months


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
    flat[blanks] = 0
    return blanks


def _attrition_intercept(p: float, slope: float) -> float:
    if p <= 0:
        return -math.inf
    return brentq(lambda a: float(_WEIGHTS @ expit(a + slope * _NODES)) - p, -30, 30)


def run(design, seed: int):
    from .study import Study

    rng = np.random.Generator(np.random.PCG64(seed))
    insts = {k: load_instrument(k) for k in INSTRUMENTS}
    models = _models(design, insts)
    corr3 = _latent_corr(design, models)
    chol3 = _cholesky(corr3, "latent correlations of STS, burnout and compassion satisfaction")
    c = design.practice_org_outcome_corr
    corr4 = np.eye(4)
    corr4[:3, :3] = corr3
    corr4[3, :3] = corr4[:3, 3] = [c.get("sts", 0.0), c.get("bo", 0.0), c.get("cs", 0.0)]
    chol4 = _cholesky(corr4, "org-level correlations of practice with the outcomes")

    # 1. structure -----------------------------------------------------------------
    n_org = design.n_orgs
    n_area = len(AREA_KEYS)
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
    worker_org = team_org[worker_team]
    n = len(worker_team)
    coverage = rng.uniform(design.survey_coverage[0], design.survey_coverage[1], n_org)
    roles = list(design.role_shares)
    shares = np.array([design.role_shares[r] for r in roles], dtype=float)
    role_idx = rng.choice(len(roles), size=n, p=shares / shares.sum())
    tenure_z = rng.standard_normal(n)

    # 2. latent components -------------------------------------------------------------
    u_org = _correlate(rng.standard_normal((n_org, 4)), chol4)
    rho_a = design.practice_area_corr
    p_org = math.sqrt(rho_a) * u_org[:, 3:4] + math.sqrt(1 - rho_a) * rng.standard_normal(
        (n_org, n_area)
    )
    u_team = _correlate(rng.standard_normal((len(team_org), 3)), chol3)
    p_team = rng.standard_normal((len(team_org), n_area))
    person = _correlate(rng.standard_normal((n, 3)), chol3)
    cb = design.practice_rater_bo_corr
    rater = cb * person[:, 1] + math.sqrt(1 - cb * cb) * rng.standard_normal(n)
    mult = np.maximum(0.0, 1.0 + design.effect_heterogeneity * rng.standard_normal(n_org))
    eff = np.zeros((n_org, 4))
    for o in np.flatnonzero(org_area >= 0):
        area = AREA_KEYS[org_area[o]]
        eff[o] = [design.effect(area, k) for k in ("sts", "bo", "cs", "practice")]
    eff *= mult[:, None]

    w_org, w_team = math.sqrt(design.icc_org), math.sqrt(design.icc_team)
    w_person = math.sqrt(design.prepost_r - design.icc_org - design.icc_team)
    w_occ = math.sqrt(1.0 - design.prepost_r)
    stable = w_org * u_org[worker_org, :3] + w_team * u_team[worker_team]
    stable += w_person * person
    pv = [
        design.practice_icc_org,
        design.practice_icc_team,
        design.practice_rater_stable,
        design.practice_rater_wave,
    ]
    pw = [math.sqrt(v) for v in pv] + [math.sqrt(1.0 - sum(pv))]
    p_stable = pw[0] * p_org[worker_org] + pw[1] * p_team[worker_team]
    p_stable += pw[2] * rater[:, None]
    w_eff = eff[worker_org]
    w_area = org_area[worker_org]
    treated_rows = np.flatnonzero(w_area >= 0)

    # 3. waves: latent values and items ---------------------------------------------------
    offsets, pos = {}, 0
    for key in INSTRUMENTS:
        offsets[key] = pos
        pos += insts[key].n_items
    n_items = pos
    waves = design.waves
    items = []
    y0 = None
    for w, _wave in enumerate(waves):
        factor = 0.0 if w == 0 else (1.0 if w == 1 else design.follow_up_retention)
        occ = _correlate(rng.standard_normal((n, 3)), chol3)
        r_wave = rng.standard_normal(n)
        spec = rng.standard_normal((n, n_area))
        base = stable + w_occ * occ
        if w > 0:
            base += np.array([design.trend.get(k, 0.0) for k in ("sts", "bo", "cs")])
        eta = base + factor * w_eff[:, :3]
        p_base = p_stable + pw[3] * r_wave[:, None] + pw[4] * spec
        if w > 0:
            p_base += design.trend.get("practice", 0.0)
        arr = np.empty((n_items, n), dtype=np.int8)
        if w == 1:
            y0 = np.empty((n_items, len(treated_rows)), dtype=np.int8)
        for key, scale, latent, _ in _scale_plan():
            inst = insts[key]
            idx = offsets[key] + np.array(inst.scales[scale].items) - 1
            if latent.startswith("practice:"):
                a = AREA_KEYS.index(latent.split(":")[1])
                col0 = np.ascontiguousarray(p_base[:, a])
                col = col0 + factor * w_eff[:, 3] * (w_area == a)
            else:
                k = _K[latent]
                col0 = np.ascontiguousarray(base[:, k])
                col = np.ascontiguousarray(eta[:, k])
            tmp = np.empty((len(idx), n), dtype=np.int8)
            if w == 1:
                tmp0 = np.empty((len(idx), len(treated_rows)), dtype=np.int8)
                draw_items(
                    col,
                    models[(key, scale)],
                    rng,
                    tmp,
                    eta0=col0[treated_rows],
                    rows0=treated_rows,
                    out0=tmp0,
                )
                y0[idx] = tmp0
            else:
                draw_items(col, models[(key, scale)], rng, tmp)
            arr[idx] = tmp
        for key in INSTRUMENTS:  # stored raw: reverse-keyed items are flipped back
            inst = insts[key]
            rev = offsets[key] + np.array(inst.reverse_items, dtype=np.int64) - 1
            if len(rev):
                top = inst.response.min + inst.response.max
                arr[rev] = top - arr[rev]
                if w == 1:
                    y0[rev] = top - y0[rev]
        items.append(arr)

    # 4. missingness ---------------------------------------------------------------
    st = design.targets["stss_total"]
    stss_idx = slice(offsets["stss"], offsets["stss"] + insts["stss"].n_items)
    z_pre = (items[0][stss_idx].sum(axis=0, dtype=np.int32) - st.mean) / st.sd
    slope = design.attrition_logodds_per_sd
    present = np.ones((n, len(waves)), dtype=bool)
    u_att = rng.random(n)
    if len(waves) > 1:
        present[:, 1] = u_att >= expit(
            _attrition_intercept(design.attrition, slope) + slope * z_pre
        )
    if len(waves) > 2:
        u_fu = rng.random(n)
        present[:, 2] = present[:, 1] & (
            u_fu >= expit(_attrition_intercept(design.follow_up_attrition, slope) + slope * z_pre)
        )
    diffs = {}
    for w in range(len(waves)):
        blanks = _nonresponse(rng, items[w], design.item_nonresponse)
        if w == 1:
            # The same cells are blank in the answers without the intervention.
            where = np.full(n, -1, dtype=np.int64)
            where[treated_rows] = np.arange(len(treated_rows))
            j, col = np.divmod(blanks, n)
            hit = where[col] >= 0
            y0[j[hit], where[col[hit]]] = 0
            diffs = _potential_differences(
                insts, offsets, items[1], y0, treated_rows, org_area[worker_org][treated_rows]
            )
        skip = rng.random((len(INSTRUMENTS), n)) < design.instrument_skip
        for s, key in enumerate(INSTRUMENTS):
            if skip[s].any():
                block = items[w][offsets[key] : offsets[key] + insts[key].n_items]
                block[:, skip[s]] = 0

    # 5. dates ------------------------------------------------------------------------
    wave_dates = [design.pre_date, design.post_date, design.follow_up_date][: len(waves)]
    dates = [
        np.datetime64(d, "D") + rng.integers(0, design.survey_window_days, n) for d in wave_dates
    ]

    # 6. organizational indicators ------------------------------------------------------
    metrics, indicator_truth = _org_metrics(
        design, rng, u_org, org_area, start_offset, eff, worker_org, coverage
    )

    # -- tables -------------------------------------------------------------------------
    width_o = max(2, len(str(n_org)))
    org_ids = np.array([f"O{i + 1:0{width_o}d}" for i in range(n_org)], dtype=object)
    team_no = np.arange(len(team_org)) - np.repeat(np.cumsum(n_teams) - n_teams, n_teams) + 1
    team_ids = np.array(
        [f"{org_ids[o]}-T{t}" for o, t in zip(team_org, team_no, strict=False)], dtype=object
    )
    width_w = max(5, len(str(n)))
    worker_ids = np.array([f"W{i + 1:0{width_w}d}" for i in range(n)], dtype=object)
    first_in_team = np.zeros(n, dtype=bool)
    first_in_team[np.cumsum(team_size) - team_size] = True
    role_code = role_idx.copy()
    tenure = design.tenure_median_years * np.exp(0.7 * tenure_z)
    if design.supervisor_per_team:
        role_code[first_in_team] = len(roles)
        tenure = tenure + 4.0 * first_in_team
    tenure = np.round(np.clip(tenure, 0.1, 35.0), 1)
    wid, oid, tid = (pd.array(x, dtype="str") for x in (worker_ids, org_ids, team_ids))
    workers = pd.DataFrame(
        {
            "worker_id": wid,
            "org_id": oid.take(worker_org),
            "team_id": tid.take(worker_team),
            "role": pd.array(roles + ["supervisor"], dtype="str").take(role_code),
            "tenure_years": tenure,
        }
    )
    counts = np.bincount(worker_org, minlength=n_org)
    names = [_org_name(i) for i in range(n_org)]
    orgs = pd.DataFrame(
        {
            "org_id": oid,
            "name": pd.array(names, dtype="str"),
            "size": np.ceil(counts / coverage).astype(np.int64),
        }
    )
    treated_orgs = np.flatnonzero(org_area >= 0)
    starts = np.array([_add_months(design.start_date, int(k)) for k in start_offset])
    interventions = pd.DataFrame(
        {
            "org_id": oid.take(treated_orgs),
            "area": pd.array([AREA_KEYS[org_area[o]] for o in treated_orgs], dtype="str"),
            "start_date": starts[treated_orgs].astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )
    responses = _responses(wid, waves, dates, items, present, insts)
    metrics.insert(0, "org_id", oid.take(metrics.pop("_org").to_numpy()))
    truth = _truth(
        design, insts, offsets, org_area, worker_org, treated_rows, diffs, items[0], indicator_truth
    )
    meta = {
        "name": design.name,
        "description": (
            "Synthetic study simulated by stseval: not real data. The truth of "
            "every effect is in truth.csv."
        ),
        "waves": list(waves),
        "instruments": list(INSTRUMENTS),
        "min_cell": design.min_cell,
        "provenance": {
            "synthetic": True,
            "generator": "stseval.synthetic.simulate",
            "stseval_version": __version__,
            "seed": int(seed),
            "design": design.to_dict(),
            "truth_definition": _TRUTH_NOTE,
        },
    }
    study = Study(
        meta=meta,
        workers=workers,
        responses=responses,
        orgs=orgs,
        interventions=interventions,
        org_metrics=metrics,
        truth=truth,
    )
    study._normalize()
    return study


def _org_name(i: int) -> str:
    tree, kind = _TREES[i % len(_TREES)], _KINDS[(i // len(_TREES)) % len(_KINDS)]
    cycle = i // (len(_TREES) * len(_KINDS))
    return f"{tree} {kind}" + (f" {cycle + 1}" if cycle else "")


def _responses(worker_ids, waves, dates, items, present, insts) -> pd.DataFrame:
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
    names = [c for key in INSTRUMENTS for c in insts[key].item_columns]
    buf = np.empty(n * n_w, dtype=np.int8)
    for j, name in enumerate(names):
        for w in range(n_w):
            buf[w::n_w] = items[w][j]
        values = buf[keep]
        cols[name] = pd.arrays.IntegerArray(values, values == 0)
    return pd.DataFrame(cols, copy=False)


def _org_metrics(design, rng, u_org, org_area, start_offset, eff, worker_org, coverage):
    n_org = len(org_area)
    k_before = design.metrics_months
    n_months = 2 * k_before + design.start_spread_months
    first = _add_months(design.start_date, -k_before)
    months = first + np.arange(n_months)
    k_pre = int((_add_months(design.pre_date, 0) - first).astype(int))
    k_start = k_before + start_offset
    treated = org_area >= 0
    annual = np.clip(
        design.turnover_annual_mean + design.turnover_annual_sd * rng.standard_normal(n_org),
        0.05,
        0.65,
    )
    h_base = annual / 12.0  # turnover = separations / average headcount (hires replace leavers)
    b_org = math.sqrt(design.icc_org) * u_org[:, 1]
    hr, rr = design.turnover_hr_per_sd_burnout, design.absence_rr_per_sd_burnout
    d_pm = design.absence_days_per_year / 12.0
    shape = design.absence_overdispersion
    size = np.ceil(np.bincount(worker_org, minlength=n_org) / coverage).astype(np.int64)
    head = size.copy()
    hires_rate = size * h_base * hr**b_org
    rec = {"_org": [], "month": [], "headcount": [], "separations": [], "absence_days": []}
    diff_sep = np.zeros((n_org, n_months))
    diff_abs = np.zeros((n_org, n_months))
    for k in range(n_months):
        b0 = b_org + design.trend.get("bo", 0.0) * (k - k_pre) / 12.0
        on = treated & (k >= k_start)
        b1 = b0 + on * eff[:, 1]
        hz1 = np.minimum(h_base * hr**b1, 0.5)
        hz0 = np.minimum(h_base * hr**b0, 0.5)
        diff_sep[:, k] = np.where(on, hz1 - hz0, np.nan)
        diff_abs[:, k] = np.where(on, d_pm * (rr**b1 - rr**b0) / 21.0, np.nan)
        seps = rng.binomial(head, hz1)
        hires = rng.poisson(hires_rate)
        gamma = rng.gamma(shape, 1.0 / shape, n_org)
        absence = rng.poisson(head * d_pm * rr**b1 * gamma)
        rec["_org"].append(np.arange(n_org))
        rec["month"].append(np.repeat(months[k], n_org))
        rec["headcount"].append(head.copy())
        rec["separations"].append(seps)
        rec["absence_days"].append(absence)
        head = np.maximum(head - seps + hires, 1)
    frame = pd.DataFrame({k: np.concatenate(v) for k, v in rec.items()})
    frame["month"] = frame["month"].astype("datetime64[ns]")
    frame = frame.sort_values(["_org", "month"], kind="mergesort").reset_index(drop=True)
    # Truth window: each intervention org's first metrics_months months from its start.
    window = (np.arange(n_months)[None, :] >= k_start[:, None]) & (
        np.arange(n_months)[None, :] < (k_start + k_before)[:, None]
    )
    truth = {}
    for a in range(len(AREA_KEYS)):
        sel = org_area == a
        if sel.any():
            m = window[sel]
            truth[AREA_KEYS[a]] = (float(diff_sep[sel][m].mean()), float(diff_abs[sel][m].mean()))
    return frame, truth


_OUTCOMES = [("stss", "total"), ("proqol", "sts"), ("proqol", "bo"), ("proqol", "cs")]


def _potential_differences(insts, offsets, y1_all, y0, treated_rows, area_of_row):
    """Per treated worker: post score with minus without the intervention, per outcome."""
    diffs = {}
    for key, scale in _OUTCOMES:
        inst = insts[key]
        diffs[(key, scale)] = fast_scale_scores(
            y1_all, inst, scale, offsets[key], treated_rows
        ) - fast_scale_scores(y0, inst, scale, offsets[key])
    for a, area in enumerate(AREA_KEYS):
        sel = np.flatnonzero(area_of_row == a)
        if len(sel):
            inst = insts["org_guidance"]
            diffs[("org_guidance", area)] = fast_scale_scores(
                y1_all, inst, area, offsets["org_guidance"], treated_rows[sel]
            ) - fast_scale_scores(y0, inst, area, offsets["org_guidance"], sel)
    return diffs


def _truth(
    design, insts, offsets, org_area, worker_org, treated_rows, diffs, pre_items, indicator_truth
) -> pd.DataFrame:
    rows = []
    area_of_row = org_area[worker_org][treated_rows]
    area_of_worker = org_area[worker_org]
    comparison = area_of_worker == -1
    pre_scores = {}
    for a, area in enumerate(AREA_KEYS):
        sel = np.flatnonzero(area_of_row == a)
        if not len(sel):
            continue
        arm = area_of_worker == a
        for key, scale in _OUTCOMES + [("org_guidance", area)]:
            inst = insts[key]
            d = diffs[(key, scale)]
            d = d if key == "org_guidance" else d[sel]
            ok = ~np.isnan(d)  # both potential scores share their blank items
            att = float(np.mean(d[ok])) if ok.any() else float("nan")
            if (key, scale) not in pre_scores:
                pre_scores[(key, scale)] = fast_scale_scores(pre_items, inst, scale, offsets[key])
            pre = pre_scores[(key, scale)]
            sd = _pooled_sd(pre[arm], pre[comparison])
            col = f"{key}_{scale}"
            rows.append((area, col, "att", att))
            rows.append((area, col, "att_sd", att / sd if sd > 0 else float("nan")))
        sep, absn = indicator_truth[area]
        rows.append((area, "separation_rate", "att", sep))
        rows.append((area, "absence_rate", "att", absn))
    truth = pd.DataFrame(rows, columns=["area", "outcome", "estimand", "value"])
    return truth.sort_values(["area", "outcome", "estimand"], kind="mergesort").reset_index(
        drop=True
    )


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 and len(b) < 2:
        return float("nan")
    parts = [(len(x) - 1, np.var(x, ddof=1)) for x in (a, b) if len(x) >= 2]
    dof = sum(p[0] for p in parts)
    return math.sqrt(sum(p[0] * p[1] for p in parts) / dof)
