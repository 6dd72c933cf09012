"""Reliable change (Jacobson & Truax, 1991) and its summary by group.

Private home of the reliable-change part of :mod:`stseval.effects` (re-exported
there); split out to keep modules small (issue 9).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._args import check_confidence, negligible_spread, pair_up, real_number
from .errors import NotEstimableError, UsageError

__all__ = [
    "RC_CATEGORIES",
    "RC_METHODS",
    "jacobson_truax_cutoff_c",
    "reliable_change",
    "reliable_change_summary",
]

#: Categories of :func:`reliable_change` (column ``category``).
RC_CATEGORIES = ["reliably improved", "no reliable change", "reliably deteriorated"]

#: Names accepted by ``reliable_change(method=...)``.
RC_METHODS = ["jacobson_truax_1991", "jacobson_follette_revenstorf_1984"]

_RCI_CRITICAL = 1.96  # Jacobson & Truax (1991): |RCI| > 1.96


# ----------------------------------------------------------------------------- reliable change
def jacobson_truax_cutoff_c(m_dys, sd_dys, m_func, sd_func) -> float:
    """Jacobson & Truax (1991) cutoff c between a dysfunctional and a functional population.

    ``c = (sd_func * m_dys + sd_dys * m_func) / (sd_func + sd_dys)``: the point
    equally many SDs from both means.
    """
    m_dys, m_func = real_number(m_dys, "m_dys"), real_number(m_func, "m_func")
    sd_dys = real_number(sd_dys, "sd_dys", positive=True)
    sd_func = real_number(sd_func, "sd_func", positive=True)
    return (sd_func * m_dys + sd_dys * m_func) / (sd_func + sd_dys)


def reliable_change(
    pre,
    post,
    *,
    reliability,
    sd_pre=None,
    cutoff=None,
    lower_is_better=True,
    method="jacobson_truax_1991",
) -> pd.DataFrame:
    """Reliable change index per person, with improvement categories and recovery.

    Parameters
    ----------
    pre, post : array-like of numbers
        Matched by position; the result uses ``pre``'s index when it is a Series.
        Persons with a missing score get NaN/NA results (they are not dropped).
    reliability : float
        Reliability of the score (e.g. Cronbach's alpha or test-retest r), in (0, 1).
    sd_pre : float, optional
        SD of the pre scores in the reference population; defaults to the sample SD
        (ddof=1) of the non-missing ``pre`` values given.
    cutoff : float, optional
        Clinical cutoff (e.g. from :func:`jacobson_truax_cutoff_c`). Scores on the
        "better" side of it (below it when ``lower_is_better``, above it otherwise)
        are functional; a score equal to the cutoff counts as dysfunctional.
    lower_is_better : bool
        Direction of improvement (True for STS and burnout scores).
    method : str
        ``"jacobson_truax_1991"``: ``SE = sd_pre sqrt(1 - reliability)``,
        ``S_diff = sqrt(2) SE``, ``RCI = (post - pre) / S_diff``.
        ``"jacobson_follette_revenstorf_1984"``: the original ``RC = (post - pre) / SE``.
        Both call a change reliable when ``|RCI| > 1.96``.

    Returns
    -------
    pandas.DataFrame
        One row per person, columns ``pre, post, change`` (post - pre), ``rci``,
        ``reliable`` (boolean, NA when missing), ``category`` (one of
        :data:`RC_CATEGORIES`, NA when missing), ``crossed_cutoff`` (moved from the
        dysfunctional to the functional side; NA without a cutoff), ``recovered``
        (reliably improved and crossed the cutoff; NA without a cutoff).
    """
    if method not in RC_METHODS:
        raise UsageError(f"method must be one of {RC_METHODS}, got {method!r}")
    rel = real_number(reliability, "reliability")
    if not 0 < rel < 1:
        raise UsageError(f"reliability must be strictly between 0 and 1, got {reliability!r}")
    if not isinstance(lower_is_better, (bool, np.bool_)):
        raise UsageError(f"lower_is_better must be True or False, got {lower_is_better!r}")
    a, b = pair_up(pre, post, "pre", "post")
    index = pre.index if isinstance(pre, pd.Series) else pd.RangeIndex(len(a))
    x, y = a.to_numpy(), b.to_numpy()
    if sd_pre is None:
        observed = x[~np.isnan(x)]
        if len(observed) < 2:
            raise UsageError(
                "pre needs at least 2 non-missing scores to estimate sd_pre; or pass sd_pre"
            )
        sd = float(np.std(observed, ddof=1))
        if negligible_spread(sd, observed):
            raise NotEstimableError(
                "pre scores have no variance; pass sd_pre from a reference sample"
            )
    else:
        sd = real_number(sd_pre, "sd_pre", positive=True)
    se_measurement = sd * math.sqrt(1 - rel)
    denominator = se_measurement * (math.sqrt(2) if method == "jacobson_truax_1991" else 1.0)
    change = y - x
    rci = change / denominator
    missing = np.isnan(rci)
    reliable = pd.array(np.abs(rci) > _RCI_CRITICAL, dtype="boolean")
    reliable[missing] = pd.NA
    improved = (rci < -_RCI_CRITICAL) if lower_is_better else (rci > _RCI_CRITICAL)
    worse = (rci > _RCI_CRITICAL) if lower_is_better else (rci < -_RCI_CRITICAL)
    category = np.where(
        improved, RC_CATEGORIES[0], np.where(worse, RC_CATEGORIES[2], RC_CATEGORIES[1])
    ).astype(object)
    category[missing] = None
    out = pd.DataFrame(
        {
            "pre": x,
            "post": y,
            "change": change,
            "rci": rci,
            "reliable": reliable,
            "category": pd.array(category, dtype="string"),
        },
        index=index,
    )
    if cutoff is None:
        all_na = np.ones(len(out), dtype=bool)  # a BooleanArray of NA (no list to convert)
        out["crossed_cutoff"] = pd.arrays.BooleanArray(np.zeros(len(out), dtype=bool), all_na)
        out["recovered"] = pd.arrays.BooleanArray(np.zeros(len(out), dtype=bool), all_na.copy())
    else:
        c = real_number(cutoff, "cutoff")
        functional = (lambda v: v < c) if lower_is_better else (lambda v: v > c)
        crossed = pd.array(~functional(x) & functional(y), dtype="boolean")
        crossed[missing] = pd.NA
        out["crossed_cutoff"] = crossed
        recovered = pd.array(
            improved & np.asarray(crossed.fillna(False), dtype=bool), dtype="boolean"
        )
        recovered[missing] = pd.NA
        out["recovered"] = recovered
    return out


def reliable_change_summary(categories, groups=None, *, confidence=0.95) -> pd.DataFrame:
    """Share of people in each reliable-change category, per group, with Wilson intervals.

    Parameters
    ----------
    categories : Series, array-like, or the DataFrame from :func:`reliable_change`
        Category labels (the ``category`` column is used for a DataFrame).
        Missing labels are left out of the counts.
    groups : array-like, optional
        Group label per person (matched by position); persons with a missing group
        are left out. Without it, everyone is in group ``"all"``.
    confidence : float
        Level of the Wilson score interval (statsmodels ``proportion_confint``).

    Returns
    -------
    pandas.DataFrame
        Columns ``group, category, count, n, proportion, ci_low, ci_high``; every
        group lists all of :data:`RC_CATEGORIES` (zero counts included), then any
        other labels found, in sorted order.
    """
    from statsmodels.stats.proportion import proportion_confint

    confidence = check_confidence(confidence)
    if isinstance(categories, pd.DataFrame):
        if "category" not in categories.columns:
            raise UsageError("categories is a DataFrame without a 'category' column")
        categories = categories["category"]
    if categories is None or isinstance(categories, (str, bytes)) or np.ndim(categories) != 1:
        raise UsageError("categories must be a sequence of category labels, one per person")
    cats = pd.Series(np.asarray(categories, dtype=object))
    if groups is None:
        grp = pd.Series(["all"] * len(cats), dtype=object)
    else:
        if isinstance(groups, (str, bytes)) or np.ndim(groups) != 1:
            raise UsageError("groups must be a sequence of group labels, one per person")
        grp = pd.Series(np.asarray(groups, dtype=object))
        if len(grp) != len(cats):
            raise UsageError(
                f"groups and categories must have the same length, got {len(grp)} and {len(cats)}"
            )
    keep = cats.notna() & grp.notna()
    cats, grp = cats[keep], grp[keep]
    labels = RC_CATEGORIES + sorted({str(c) for c in cats} - set(RC_CATEGORIES))
    rows = []
    for g in pd.unique(grp):
        in_group = cats[grp == g].astype(str)
        n = len(in_group)
        for label in labels:
            k = int((in_group == label).sum())
            lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
            rows.append(
                {
                    "group": g,
                    "category": label,
                    "count": k,
                    "n": n,
                    "proportion": k / n,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                }
            )
    return pd.DataFrame(
        rows, columns=["group", "category", "count", "n", "proportion", "ci_low", "ci_high"]
    )
