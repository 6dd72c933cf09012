"""Rows of today's design (two linked waves, organizations, a comparison) for evaluate_area.

The estimators ``paired_change``, ``ancova``, ``did``, ``mixed``,
``org_practice``, ``rci`` and ``its`` as described in :mod:`stseval.evaluate`;
each function returns estimate rows (dicts) that :func:`stseval.evaluate_area`
puts in the estimates table. Split out of :mod:`stseval.evaluate` to keep
modules small; nothing here is public.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from . import effects, models, reshape
from .areas import get_area
from .columns import MODEL_COLUMNS, MODEL_ES_COLUMNS, outcome_direction
from .errors import StsevalError
from .instruments import load_instrument

__all__: list[str] = []

_WORKER_ESTIMATORS = ("paired_change", "ancova", "did", "mixed", "rci")
_PRACTICE_ESTIMATORS = ("org_practice", "paired_change", "ancova", "did")


# -- pieces -------------------------------------------------------------------------
def _blank(outcome, estimator, note, n_workers=np.nan, n_orgs=np.nan) -> dict:
    return {
        "outcome": outcome,
        "estimator": estimator,
        "note": note,
        "n_workers": n_workers,
        "n_orgs": n_orgs,
    }


#: What an estimates row takes from a model's row (the rest are the model's own statistics).
_ROW_FROM_MODEL = [c for c in MODEL_COLUMNS if c not in ("term", "statistic", "df")]


def _from_model(outcome, estimator, res: pd.DataFrame, term=None) -> dict:
    r = res.iloc[0] if term is None else res.loc[res["term"] == term].iloc[0]
    row = {"outcome": outcome, "estimator": estimator}
    for col in _ROW_FROM_MODEL:
        row[col] = r.get(col)
    for col in MODEL_ES_COLUMNS:
        if col in r:
            row[col] = r[col]
    return row


def _icc(wide: pd.DataFrame) -> float:
    data = wide.dropna(subset=["pre"])
    if data["org_id"].nunique() < 2 or len(data) < 3:
        return np.nan
    res = models.icc_by_org(data["pre"], data["org_id"])
    return float(res["icc1"].iloc[0]) if isinstance(res, pd.DataFrame) else float(res)


def _arm_counts(wide: pd.DataFrame) -> pd.Series:
    complete = wide.dropna(subset=["pre", "post"])
    return complete.groupby("treated")["worker_id"].nunique().reindex([0, 1], fill_value=0)


def _safe(fn, outcome, estimator, *args, **kwargs) -> dict:
    """Run an estimator; a user-level refusal (too few orgs, ...) becomes a note."""
    try:
        return fn(*args, **kwargs)
    except StsevalError as exc:
        return _blank(outcome, estimator, f"not estimated: {exc}")
    except (np.linalg.LinAlgError, ValueError) as exc:
        return _blank(outcome, estimator, f"not estimated: the model could not be fitted ({exc})")


def _worker_rows(views, area, outcome, confidence, min_cell, se_type, wanted) -> list[dict]:
    """Rows of one outcome; ``views`` is the area's :class:`stseval.reshape._AreaViews`."""
    wide = views.wide(outcome)
    long = views.long(outcome)
    icc = _icc(wide)
    counts = _arm_counts(wide)
    practice = outcome == get_area(area).practice_scale
    estimators = [
        e for e in (_PRACTICE_ESTIMATORS if practice else _WORKER_ESTIMATORS) if e in wanted
    ]
    rows = []
    small = counts.min() < min_cell
    for est in estimators:
        if small and est != "org_practice":
            rows.append(
                _blank(
                    outcome,
                    est,
                    f"suppressed: fewer than {min_cell} workers with pre and post scores in an arm",
                )
            )
            continue
        fn = {
            "paired_change": _paired_row,
            "ancova": _ancova_row,
            "did": _did_row,
            "mixed": _mixed_row,
            "rci": _rci_row,
            "org_practice": _org_practice_row,
        }[est]
        rows.append(_safe(fn, outcome, est, outcome, wide, long, confidence, min_cell, se_type))
    for r in rows:
        r["icc_org"] = icc
    return rows


def _pooled_pre_sd(wide) -> float:
    pre = wide["pre"].to_numpy(float)
    arm = wide["treated"].to_numpy()
    seen = ~np.isnan(pre)
    groups = [pre[seen & (arm == a)] for a in np.unique(arm[seen])]  # arms in sorted order
    num = sum((len(g) - 1) * g.var(ddof=1) for g in groups if len(g) > 1)
    den = sum(len(g) - 1 for g in groups if len(g) > 1)
    return float(np.sqrt(num / den)) if den > 0 else np.nan


def _standardize(row: dict, sd: float, label: str) -> dict:
    if np.isfinite(sd) and sd > 0 and row.get("estimate") is not None:
        row["effect_size"] = row["estimate"] / sd
        row["es_ci_low"] = row["ci_low"] / sd
        row["es_ci_high"] = row["ci_high"] / sd
        row["es_type"] = label
        row["es_description"] = (
            f"{label}: estimate / pooled pre-test SD ({sd:.2f}; SD treated as known)"
        )
    return row


def _paired_row(outcome, wide, long, confidence, min_cell, se_type) -> dict:
    arm = wide[wide["treated"] == 1].dropna(subset=["pre", "post"])
    res = models.paired_test(arm["pre"], arm["post"], orgs=arm["org_id"], confidence=confidence)
    row = _from_model(outcome, "paired_change", res)
    es = effects.paired(arm["pre"], arm["post"], confidence=confidence)
    g = es.loc[es["es_type"] == "g_av"].iloc[0]
    row.update(
        effect_size=g["effect_size"],
        es_ci_low=g["ci_low"],
        es_ci_high=g["ci_high"],
        es_type="g_av",
        es_description=g["description"],
    )
    row["note"] = (
        (row.get("note") or "") + " intervention arm only, no comparison: includes "
        "any change that happened everywhere"
    ).strip()
    return row


def _ancova_row(outcome, wide, long, confidence, min_cell, se_type) -> dict:
    res = models.ancova(wide, confidence=confidence, se_type=se_type)
    return _standardize(_from_model(outcome, "ancova", res), _pooled_pre_sd(wide), "d_ancova")


def _did_row(outcome, wide, long, confidence, min_cell, se_type) -> dict:
    res = models.did(long, confidence=confidence, se_type=se_type)
    row = _from_model(outcome, "did", res)
    complete = wide.dropna(subset=["pre", "post"])
    t, c = complete[complete["treated"] == 1], complete[complete["treated"] == 0]
    if len(t) >= 4 and len(c) >= 4:
        es = effects.ppc(t["pre"], t["post"], c["pre"], c["post"], confidence=confidence)
        e = es.iloc[0]
        row.update(
            effect_size=e["effect_size"],
            es_ci_low=e["ci_low"],
            es_ci_high=e["ci_high"],
            es_type="d_ppc2",
            es_description="d_ppc2 (Morris 2008): difference in mean change / pooled "
            "pre-test SD, bias-corrected; completers",
        )
    return row


def _mixed_row(outcome, wide, long, confidence, min_cell, se_type) -> dict:
    res = models.mixed(long, confidence=confidence)
    return _standardize(_from_model(outcome, "mixed", res), _pooled_pre_sd(wide), "d_mixed")


def _org_practice_row(outcome, wide, long, confidence, min_cell, se_type) -> dict:
    # Organizations with fewer than min_cell respondents in a wave do not report a mean.
    sizes = long.dropna(subset=["y"]).groupby(["org_id", "wave"])["worker_id"].nunique()
    small = sizes[sizes < min_cell].index.get_level_values(0).unique()
    data = long[~long["org_id"].isin(small)]
    res = models.org_practice(data, confidence=confidence)
    row = _from_model(outcome, "org_practice", res)
    if len(small):
        row["note"] = (
            (row.get("note") or "") + f" {len(small)} organization(s) with fewer than "
            f"{min_cell} respondents in a wave left out"
        ).strip()
    return row


def _rci_row(outcome, wide, long, confidence, min_cell, se_type) -> dict:
    key, _, scale = outcome.partition("_")
    inst = load_instrument(key)
    rel = inst.published_reliability(scale)
    if rel is None:
        return _blank(outcome, "rci", f"not estimated: no published reliability for {outcome}")
    complete = wide.dropna(subset=["pre", "post"])
    sd = _pooled_pre_sd(wide)
    rc = effects.reliable_change(
        complete["pre"],
        complete["post"],
        reliability=rel,
        sd_pre=sd,
        lower_is_better=outcome_direction(outcome) == "lower",
    )
    improved = (rc["category"] == "reliably improved").to_numpy()
    treated = complete["treated"].to_numpy() == 1
    p1, p0 = improved[treated].mean(), improved[~treated].mean()
    n1, n0 = treated.sum(), (~treated).sum()
    est = p1 - p0
    se = float(np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else np.nan
    return {
        "outcome": outcome,
        "estimator": "rci",
        "estimate": est,
        "se": se,
        "ci_low": est - z * se,
        "ci_high": est + z * se,
        "p_value": p,
        "effect_size": p1,
        "es_type": "share_improved",
        "es_description": f"share reliably improved in the intervention arm (comparison {p0:.3f})",
        "n_workers": int(n1 + n0),
        "n_orgs": complete["org_id"].nunique(),
        "method": f"Jacobson & Truax (1991) RCI, reliability {rel} (published), pooled "
        f"pre-test SD {sd:.2f}; difference in proportions, Wald interval",
        "note": "not adjusted for clustering by organization",
    }


def _indicator_rows(study, area, indicator, confidence, data=None) -> list[dict]:
    """The ITS row of ``indicator``; ``data``: ``reshape.org_months(study, area)`` if at hand."""
    data = reshape.org_months(study, area) if data is None else data
    try:
        res = models.its(data, indicator=indicator, confidence=confidence)
    except StsevalError as exc:
        return [_blank(indicator, "its", f"not estimated: {exc}")]
    row = _from_model(indicator, "its", res, term="level_change")
    row["n_workers"] = np.nan
    return [row]
