"""Rows of :mod:`stseval.dose`: the organization slope, its corrected and pooled variants,
the practice-gain bands, and the shared table builder.

Private. :func:`stseval.dose.org_dose_response` documents every formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._dosedata import change_reliability, weighted_mean, wls_cr2
from ._results import _t_interval
from .columns import ESTIMATE_COLUMNS
from .errors import StsevalError, UsageError

__all__: list[str] = []

#: Columns of every table returned here: the estimates-table contract plus six.
#: ``reliability`` (``dose_org`` rows): see :func:`org_dose_response`.
DOSE_COLUMNS = ESTIMATE_COLUMNS + [
    "practice",
    "bin",
    "reliability",
    "es_description",
    "wave",
    "method",
]

_ASSOC = "association, not an effect: organizations were not assigned their practice change"
_STSIOA_POINTS = 10.0  # Sprang, Miech & Gusler (2023): gain of >= 10 summed STSI-OA points


def _min_cell(data, min_cell) -> int:
    if min_cell is None:
        min_cell = getattr(data, "min_cell", 5)
    if isinstance(min_cell, bool) or int(min_cell) != min_cell or int(min_cell) < 1:
        raise UsageError(f"min_cell must be a positive whole number; got {min_cell!r}")
    return int(min_cell)


_TEXT = {"area", "outcome", "estimator", "es_type", "practice", "bin", "es_description"}
_TEXT |= {"wave", "method", "note"}


def _blank_value(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _out(rows: list[dict], **fixed) -> pd.DataFrame:
    data = {}
    for col in DOSE_COLUMNS:
        vals = [fixed[col] if col in fixed else r.get(col) for r in rows]
        if col in _TEXT:
            data[col] = ["" if _blank_value(v) else str(v) for v in vals]
        elif col in ("n_workers", "n_orgs"):
            ints = [None if _blank_value(v) else int(round(float(v))) for v in vals]
            data[col] = pd.array(ints, dtype="Int64")
        else:
            data[col] = np.array([np.nan if _blank_value(v) else v for v in vals], dtype=float)
    return pd.DataFrame(data)


def _bins(practice: str) -> list[tuple[str, float, float]]:
    """(label, low, high) of the practice-gain bands; gain in scale points, low <= g < high."""
    out = [("gain < 0", -np.inf, 0.0), ("0 <= gain <= 0.5", 0.0, 0.5 + 1e-12)]
    out.append(("gain > 0.5", 0.5 + 1e-12, np.inf))
    if practice == "stsioa_total":
        from .instruments import load_instrument

        k = len(load_instrument("stsioa").scales["total"].items)
        cut = _STSIOA_POINTS / k  # the kit scores the STSI-OA as an item mean
        out += [
            ("gain < 10 STSI-OA points", -np.inf, cut - 1e-12),
            (">= 10 STSI-OA points", cut - 1e-12, np.inf),
        ]
    return out


def _corrected_row(slope: dict) -> dict:
    """``dose_org`` divided by the practice-change reliability (regression-dilution correction)."""
    row = dict(estimator="dose_org_corrected", bin="", n_orgs=slope.get("n_orgs"))
    row.update(
        n_workers=slope.get("n_workers"), method=slope["method"] + "; divided by reliability"
    )
    row["es_description"] = (
        "the dose_org slope divided by the reliability of the organizations' practice change "
        "(corrects the shrinkage toward 0 from measuring practice on few staff); " + _ASSOC
    )
    rel = slope.get("reliability", np.nan)
    if _blank_value(slope.get("estimate")) or not (np.isfinite(rel) and rel >= 0.2):
        row["note"] = "not estimable: " + (
            slope.get("note") or f"practice change reliability {rel:.2f} below 0.2"
        )
        return row
    row.update(reliability=rel, p_value=slope["p_value"])
    for c in ("estimate", "se", "ci_low", "ci_high"):
        row[c] = slope[c] / rel
    row["note"] = (
        f"estimate, SE and interval of dose_org divided by the estimated reliability {rel:.2f}; "
        "the interval ignores the reliability's own uncertainty; p as dose_org"
    )
    return row


def _arm_term(ch) -> tuple[np.ndarray | None, str]:
    """The arm column the slope holds fixed (None when there is nothing to hold), and words."""
    t = ch["treated"].to_numpy(float)
    if np.isnan(t).all():
        return None, "arm unknown, not held fixed"
    t = np.nan_to_num(t, nan=0.0)
    if t.min() == t.max():
        return None, "one arm only: within-arm slope"
    return t, "arm held fixed (intervention indicator in the model)"


def _slope_row(ch, covariates, confidence, note, *, hold_arm: bool) -> dict:
    arm, arm_words = _arm_term(ch) if hold_arm else (None, "arms pooled, arm NOT held fixed")
    G = len(ch)
    k = 2 + len(covariates) + (arm is not None)
    name = "dose_org" if hold_arm else "dose_org_pooled"
    row = dict(estimator=name, bin="", n_orgs=G, n_workers=ch["n_workers"].sum())
    row["method"] = (
        "WLS of org outcome change on org practice change"
        + (f" + change in {', '.join(covariates)}" if covariates else "")
        + f"; {arm_words}; weights 2/(1/n_pre+1/n_post); CR2 (HC2) SE, t(Bell-McCaffrey df)"
    )
    row["es_description"] = (
        "outcome change per 1 scale point more practice gain, comparing organizations "
        "of the same arm; between-organization " + _ASSOC
        if hold_arm
        else "pooled over both arms, so it also picks up the intervention's direct effect: "
        "not the dose-response, shown for comparison only; " + _ASSOC
    )
    if G <= k or ch["dp"].std() == 0:
        row["note"] = f"not estimable: {G} organization(s) with both waves; need more than {k}"
        return row
    X = np.column_stack(
        [np.ones(G), ch["dp"]]
        + [ch[f"d_{c}"] for c in covariates]
        + ([arm] if arm is not None else [])
    )
    try:
        est, se, dfree = wls_cr2(X, ch["dy"].to_numpy(float), ch["w"].to_numpy(float), 1)
    except StsevalError as exc:
        row["note"] = f"not estimable: {exc}"
        return row
    lo, hi, p = _t_interval(est, se, dfree, confidence)
    row.update(estimate=est, se=se, ci_low=lo, ci_high=hi, p_value=p, note=note)
    rel = change_reliability(ch, np.delete(X, 1, axis=1))
    row["reliability"] = rel
    if np.isfinite(rel) and rel < 0.8:
        row["note"] = "; ".join(
            filter(None, [note, f"practice change reliability {rel:.2f}: slope shrunk toward 0"])
        )
    return row


def _bin_row(ch, b, confidence, mc) -> dict:
    label, low, high = b
    dp = ch["dp"].to_numpy(float)
    sel = (dp >= low) & (dp < high)
    row = dict(
        estimator="dose_bin",
        bin=label,
        es_description="mean outcome change of the organizations in this band of practice "
        "gain, both arms together (descriptive: the top bands hold mostly intervention "
        "organizations, so they also show the intervention's direct effect); " + _ASSOC,
    )
    row["method"] = "weighted mean of org outcome change, sandwich SE, t(G_bin-1)"
    n_w, n_o = int(ch["n_workers"].to_numpy()[sel].sum()), int(sel.sum())
    if n_o < max(mc, 2) or n_w < mc:
        row["note"] = (
            f"suppressed: fewer than {max(mc, 2)} organizations or {mc} workers in this band"
        )
        return row
    m, se, dfree = weighted_mean(ch["dy"].to_numpy(float)[sel], ch["w"].to_numpy(float)[sel])
    lo, hi, p = _t_interval(m, se, dfree, confidence)
    row.update(estimate=m, se=se, ci_low=lo, ci_high=hi, p_value=p)
    row.update(n_orgs=n_o, n_workers=n_w, note="")
    return row
