"""The simulator's truth: potential-outcome differences, the truth table and the indicators.

``truth.csv`` rows (see :data:`TRUTH_NOTE`): for every later wave (column
``wave`` when the design has more than one later wave), every area with
intervention orgs and, with staggered starts, every start cohort (column
``cohort``: the first wave after the cohort's start; blank = all cohorts that
have started by that wave), the average effect on the treated ``att`` and
``att_sd`` of each score, and for ``separation_rate`` and ``absence_rate``
(``wave`` blank) the indicator effect. With multi-area orgs also
``att_own``/``att_own_sd``: the effect of the area's own change alone.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._simdose import DOSE_NOTE, dose_truth_rows
from ._simindiv import PROGRAM_NOTE, program_truth_rows
from .areas import AREA_KEYS
from .instruments import Instrument

__all__ = [
    "INSTRUMENTS",
    "MISSING",
    "TRUTH_NOTE",
    "fast_scale_scores",
    "potential_differences",
    "org_metrics",
    "truth_table",
]

#: Instruments a synthetic study holds, in column order.
INSTRUMENTS = ("stss", "proqol", "org_guidance")
#: Int8 code of an unanswered item while the simulator builds answers (never a valid answer).
MISSING = -128
TRUTH_NOTE = (
    "att: mean over all workers of the area's intervention orgs (attrition included) of the "
    "post-wave score with minus without the intervention (same item-noise draws, same item "
    "non-response); att_sd: att / pooled within-arm SD of the observed baseline scores of the "
    "area's intervention and comparison workers; separation_rate and absence_rate att: mean over "
    "the intervention orgs' first months from their start (metrics_months) of the expected "
    "monthly rate with minus without the intervention."
)
_EXTRA_NOTE = (
    " Column wave: the later wave the row refers to (every later wave has rows; blank for the "
    "indicators). Column cohort: start cohort, named by the first wave after its start (blank = "
    "all orgs started by that wave). With team assignment the treated are the workers of the "
    "teams that changed; with multi-area orgs an area's att includes the other areas those "
    "orgs changed (the contrast with orgs that changed nothing)."
)
_OWN_NOTE = (
    " att_own, att_own_sd: for the orgs that changed the area, the score with all their changes "
    "minus the score without this area's change only (what a model with one indicator per area "
    "targets); on practice scales it equals att."
)
_OUTCOMES = [("stss", "total"), ("proqol", "sts"), ("proqol", "bo"), ("proqol", "cs")]
_WORKDAYS = 21  # working days per month, as stseval.columns


def fast_scale_scores(
    block: np.ndarray,
    inst: Instrument,
    scale: str,
    offset: int = 0,
    cols: np.ndarray | None = None,
    *,
    missing: int = MISSING,
) -> np.ndarray:
    """Score one scale from raw int8 answers (``missing`` = not answered), items in rows.

    Same rules as :func:`stseval.score` (reverse keys ``min + max - x``,
    prorating above the scale's required number of answered items), for
    instruments whose answers start at 0 or 1 alike; the tests check equality.
    """
    sc = inst.scales[scale]
    idx = np.array(sc.items) - 1 + offset
    sub = (block[idx] if cols is None else block[np.ix_(idx, cols)]).astype(np.int16)
    ans = sub != missing
    rev = np.array([inst.items[i - 1].reverse for i in sc.items])
    lo, hi = inst.response.min, inst.response.max
    sub[~ans] = 0
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


def potential_differences(insts, offsets, y1_all, y_alt, rows, scales) -> dict:
    """Per row of ``rows``: score with all changes minus the counterfactual score, per scale.

    ``scales`` lists the (instrument, scale) pairs the counterfactual answers
    were drawn for (the others are left out).
    """
    diffs = {}
    for key, scale in scales:
        inst = insts[key]
        diffs[(key, scale)] = fast_scale_scores(
            y1_all, inst, scale, offsets[key], rows
        ) - fast_scale_scores(y_alt, inst, scale, offsets[key])
    return diffs


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 and len(b) < 2:
        return float("nan")
    parts = [(len(x) - 1, np.var(x, ddof=1)) for x in (a, b) if len(x) >= 2]
    dof = sum(p[0] for p in parts)
    return math.sqrt(sum(p[0] * p[1] for p in parts) / dof)


def _groups(design, s, names, w: int, rows: np.ndarray, mine: np.ndarray):
    """(cohort label, mask over rows) of the rows whose truth is reported at wave ``w``."""
    out = [("", mine)]
    if design.start_cohorts > 1:
        coh = s.w_cohort[rows]
        out += [(names[c], mine & (coh == c)) for c in range(1, w + 1)]
    return [(label, sel) for label, sel in out if sel.any()]  # no rows: not treated yet


def _score_rows(design, s, cfg, area, diffs, pre_scores, pre_items):
    """Truth rows (area, outcome, estimand, value, wave, cohort) of one area's scores."""
    a = AREA_KEYS.index(area)
    names = design.wave_names
    arm = s.w_treated & s.changes[s.worker_org, a]
    rows_out = []
    for w, entries in sorted(diffs.items()):
        for label, rows, d_all in entries:
            if label is None:
                est, plan = ("att", "att_sd"), _OUTCOMES + [("org_guidance", area)]
                mine = s.changes[s.worker_org[rows], a]
            elif label == a:
                est, plan, mine = ("att_own", "att_own_sd"), _OUTCOMES, np.ones(len(rows), bool)
            else:
                continue
            for cohort, sel in _groups(design, s, names, w, rows, mine):
                for key, scale in plan:
                    if (key, scale) not in pre_scores:
                        pre_scores[(key, scale)] = fast_scale_scores(
                            pre_items, cfg.insts[key], scale, cfg.offsets[key]
                        )
                    pre = pre_scores[(key, scale)]
                    sd = _pooled_sd(pre[arm], pre[~s.w_treated])
                    d = d_all[(key, scale)][sel]
                    ok = ~np.isnan(d)  # both potential scores share their blank items
                    att = float(np.mean(d[ok])) if ok.any() else float("nan")
                    att_sd = att / sd if sd > 0 else float("nan")
                    col = f"{key}_{scale}"
                    rows_out.append((area, col, est[0], att, names[w], cohort))
                    rows_out.append((area, col, est[1], att_sd, names[w], cohort))
    return rows_out


def truth_table(design, s, cfg, diffs, pre_items, indicator_truth) -> tuple[pd.DataFrame, str]:
    """The ``truth`` table and its definition text (see the module docstring)."""
    wave_col = len(design.wave_names) > 2 or design.start_cohorts > 1
    rows: list = []
    pre_scores: dict = {}
    for a, area in enumerate(AREA_KEYS):
        if not s.changes[:, a].any():
            continue
        rows += _score_rows(design, s, cfg, area, diffs, pre_scores, pre_items)
        for cohort, (sep, absn) in indicator_truth[area]:
            rows.append((area, "separation_rate", "att", sep, "", cohort))
            rows.append((area, "absence_rate", "att", absn, "", cohort))
    note = TRUTH_NOTE + (_EXTRA_NOTE if wave_col else "")
    note += _OWN_NOTE if design.multi_area_share > 0 else ""
    if design.mediated_share is not None:
        rows += dose_truth_rows(design, s, diffs)
        note += DOSE_NOTE
    if design.programs:

        def pre_score(key, scale):
            if (key, scale) not in pre_scores:
                pre_scores[(key, scale)] = fast_scale_scores(
                    pre_items, cfg.insts[key], scale, cfg.offsets[key]
                )
            return pre_scores[(key, scale)]

        rows += program_truth_rows(design, s, diffs, pre_score, _pooled_sd)
        note += PROGRAM_NOTE
    truth = pd.DataFrame(rows, columns=["area", "outcome", "estimand", "value", "wave", "cohort"])
    truth = truth.sort_values(["area", "outcome", "estimand"], kind="mergesort")
    keep = ["area", "outcome", "estimand", "value"]
    keep += ["wave"] if wave_col else []
    keep += ["cohort"] if design.start_cohorts > 1 else []
    truth = truth[keep].reset_index(drop=True)
    for col in ("wave", "cohort"):
        if col in truth:
            truth[col] = truth[col].astype(object).where(truth[col] != "", None)
    return truth, note


def _indicator_truth(design, s, diff_sep, diff_abs, window) -> dict:
    names = design.wave_names
    truth = {}
    for a in range(len(AREA_KEYS)):
        sel = s.changes[:, a]
        if not sel.any():
            continue
        groups = [("", sel)]
        if design.start_cohorts > 1:
            groups += [
                (names[c], sel & (s.cohort == c)) for c in range(1, design.start_cohorts + 1)
            ]
        out = []
        for label, g in groups:
            if g.any():
                m = window[g]
                out.append((label, (float(diff_sep[g][m].mean()), float(diff_abs[g][m].mean()))))
        truth[AREA_KEYS[a]] = out
    return truth


def _month(day) -> np.datetime64:
    return np.datetime64(f"{day.year:04d}-{day.month:02d}", "M")


def org_metrics(design, rng, s, lat) -> tuple[pd.DataFrame, dict]:
    """Monthly headcount, separations and absence days per org, and the indicator truth.

    The series runs from ``metrics_months`` before ``start_date`` to
    ``metrics_months`` after the latest possible start. An org's burnout
    moves by its effect (times the share of its workers in changed teams)
    from its start month on.
    """
    n_org, k_before = s.n_org, design.metrics_months
    max_offset = _months_between_first(design) + design.start_spread_months
    n_months = 2 * k_before + max_offset
    first = _month(design.start_date) - k_before
    months = first + np.arange(n_months)
    k_pre = int((_month(design.wave_schedule()[0].date) - first).astype(int))
    k_start = k_before + s.month_offset
    treated = s.org_area >= 0
    annual = np.clip(
        design.turnover_annual_mean + design.turnover_annual_sd * rng.standard_normal(n_org),
        0.05,
        0.65,
    )
    h_base = annual / 12.0  # turnover = separations / average headcount (hires replace leavers)
    b_org = math.sqrt(design.icc_org) * lat.u_org[:, 1]
    hr, rr = design.turnover_hr_per_sd_burnout, design.absence_rr_per_sd_burnout
    d_pm = design.absence_days_per_year / 12.0
    shape = design.absence_overdispersion
    size = np.ceil(np.bincount(s.worker_org, minlength=n_org) / s.coverage).astype(np.int64)
    head = size.copy()
    hires_rate = size * h_base * hr**b_org
    eff_bo = s.eff_org[:, 1] * s.treated_share
    rec = {"_org": [], "month": [], "headcount": [], "separations": [], "absence_days": []}
    diff_sep = np.zeros((n_org, n_months))
    diff_abs = np.zeros((n_org, n_months))
    for k in range(n_months):
        b0 = b_org + design.trend.get("bo", 0.0) * (k - k_pre) / 12.0
        on = treated & (k >= k_start)
        b1 = b0 + on * eff_bo
        hz1 = np.minimum(h_base * hr**b1, 0.5)
        hz0 = np.minimum(h_base * hr**b0, 0.5)
        diff_sep[:, k] = np.where(on, hz1 - hz0, np.nan)
        diff_abs[:, k] = np.where(on, d_pm * (rr**b1 - rr**b0) / _WORKDAYS, np.nan)
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
    ks = np.arange(n_months)[None, :]
    window = (ks >= k_start[:, None]) & (ks < (k_start + k_before)[:, None])
    return frame, _indicator_truth(design, s, diff_sep, diff_abs, window)


def _months_between_first(design) -> int:
    from ._simdesign import cohort_first_months

    last = cohort_first_months(design)[-1]
    return (last.year - design.start_date.year) * 12 + last.month - design.start_date.month
