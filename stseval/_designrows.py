"""Shared pieces of the design estimators: input checks and the one row shape they return.

Every estimator in :mod:`stseval.designs`, :mod:`stseval.waves`,
:mod:`stseval.teams`, :mod:`stseval.multi_area` and :mod:`stseval.staggered`
returns a DataFrame with :data:`DESIGN_COLUMNS` (the estimates-table columns
without ``area``/``outcome``/``p_adjusted``, plus ``wave``, ``cohort``,
``es_description`` and ``method``). A design that lacks something gives a row
with NaN numbers and a plain ``note`` instead of an exception.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from . import _cluster
from ._results import _check_confidence, _check_frame, _numeric, _se_type
from .errors import UsageError

__all__ = ["DESIGN_COLUMNS", "DESIGN_ESTIMATORS"]

#: Columns of every design-estimator table, in this order.
DESIGN_COLUMNS = [
    "estimator",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "effect_size",
    "es_type",
    "es_ci_low",
    "es_ci_high",
    "n_workers",
    "n_orgs",
    "note",
    "wave",
    "cohort",
    "es_description",
    "method",
]

#: New names for the ``estimator`` column (for ``stseval.columns.ESTIMATORS`` and the README).
DESIGN_ESTIMATORS = {
    "within_paired": "no comparison, linked: mean paired change from the first wave",
    "within_unlinked": "no comparison, anonymous: difference of wave means",
    "its_own_level": "ITS against the organizations' own pre-trend: level change",
    "its_own_slope": "ITS against the organizations' own pre-trend: slope change per month",
    "did_cross_section": "DiD on responses (arm x later wave), clustered by assigned unit",
    "did_org_means": "DiD on organization (or team) means, weighted by respondents",
    "wave_effect": "arm x wave effect at each later wave from one model of all waves",
    "ancova_wave": "ANCOVA of each later wave on the first (linked only)",
    "att_gt": "Callaway-Sant'Anna group-time effect ATT(g, t)",
    "att_event": "ATT aggregated by event time (waves since start)",
    "att_overall": "ATT aggregated over cohorts and post-start waves",
    "twfe": "two-way fixed effects DiD (comparison only; biased with staggered starts)",
    "team_did": "treated vs untreated teams, organization strata, clustered by team",
    "did_joint_areas": "DiD with one indicator per area (sensitivity)",
}

_TEXT = ("estimator", "es_type", "note", "es_description", "method")
_COUNTS = ("n_workers", "n_orgs")

#: es_type code of every standardized estimate here, and its sentence.
ES_CODE = "d_first_wave_sd"
ES_SENTENCE = (
    "estimate / standard deviation of the outcome at the first wave (all rows of that wave; "
    "SD treated as known)"
)


def blank(estimator: str, note: str, **extra) -> dict:
    """A row with NaN numbers and a plain ``note`` (a design that lacks something)."""
    return {"estimator": estimator, "note": note, **extra}


def frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows as a DataFrame with :data:`DESIGN_COLUMNS` (+ ``extra``), fixed dtypes."""
    data = {}
    for col in DESIGN_COLUMNS + list(extra):
        vals = [r.get(col) for r in rows]
        if col in _TEXT:
            data[col] = ["" if v is None else str(v) for v in vals]
        elif col in _COUNTS:
            data[col] = pd.array(
                [None if v is None or v is pd.NA or v != v else int(v) for v in vals],
                dtype="Int64",
            )
        elif col in ("wave", "cohort", "area"):
            data[col] = pd.Series([None if v is None else v for v in vals], dtype=object)
        else:
            data[col] = np.array([np.nan if v is None else v for v in vals], dtype=float)
    return pd.DataFrame(data)


def t_row(est, se, df, confidence) -> dict:
    """estimate, se, t interval and two-sided p (NaN when se or df is unusable)."""
    out = {"estimate": float(est), "se": float(se)}
    if np.isfinite(se) and se > 0 and not np.isnan(df) and df > 0:
        q = stats.t.ppf(0.5 + confidence / 2, df)
        out.update(
            ci_low=est - q * se,
            ci_high=est + q * se,
            p_value=float(2 * stats.t.sf(abs(est / se), df)),
        )
    return out


def standardize(row: dict, sd: float) -> dict:
    """Fill the effect-size columns as estimate / ``sd`` (SD treated as known)."""
    if np.isfinite(sd) and sd > 0 and np.isfinite(row.get("estimate", np.nan)):
        row["effect_size"] = row["estimate"] / sd
        row["es_ci_low"] = row.get("ci_low", np.nan) / sd
        row["es_ci_high"] = row.get("ci_high", np.nan) / sd
        row["es_type"] = ES_CODE
        row["es_description"] = f"{ES_SENTENCE}; SD = {sd:.3g}"
    return row


def coef_test(fit, col, se_type):
    """:func:`stseval._cluster.coef_test` with G - 1 df.

    With fixed effects nested in clusters, ``I - H_gg`` has zero eigenvalues;
    ``_cluster`` gives them the pseudo-inverse value 0 in ``np.where`` but first
    evaluates 0 ** power in the discarded branch, a harmless divide-by-zero that
    is silenced here, for that call only.
    """
    with np.errstate(divide="ignore"):
        return _cluster.coef_test(fit, col, se_type=se_type, df_method="G-1")


def cluster_coef(X, y, codes, col, *, se_type, confidence, names=None) -> dict:
    """OLS coefficient ``col`` with a cluster-robust SE (``se_type``) and t on G - 1 df."""
    fit = _cluster.ols(X, y, codes, names=names)
    est, se, _, df = coef_test(fit, col, se_type)
    return t_row(est, se, df, confidence)


def check_common(data, what: str, columns: dict, confidence, se_type=None):
    """Copy of the needed columns, the confidence level and the SE type, all checked."""
    confidence = _check_confidence(confidence)
    st = _se_type(se_type) if se_type is not None else None
    df = _check_frame(data, what, columns)
    return df, confidence, st


def numeric(df: pd.DataFrame, col: str) -> pd.DataFrame:
    df[col] = _numeric(df[col], col)
    return df


#: Wave names whose order is known without ``waves=[...]``.
NAMED_WAVES = ("pre", "post", "follow_up")


def wave_order(df: pd.DataFrame, wave: str, waves) -> list:
    """The waves in order: ``waves`` if given, else pre/post/follow_up or the sorted values."""
    present = list(pd.unique(df[wave].dropna()))
    if waves is None:
        if set(present) <= set(NAMED_WAVES):
            return [w for w in NAMED_WAVES if w in present]
        try:
            return sorted(present)
        except TypeError:
            raise UsageError(
                f"the values of column {wave!r} cannot be put in order; pass waves=[...] "
                "naming them in order"
            ) from None
    waves = list(waves)
    if len(set(waves)) != len(waves):
        raise UsageError(f"waves must name each wave once; got {waves!r}")
    extra = [w for w in present if w not in waves]
    if extra:
        raise UsageError(
            f"column {wave!r} has wave(s) {', '.join(map(repr, extra[:5]))} not in waves={waves!r}"
        )
    return waves


def first_wave_sd(df: pd.DataFrame, y: str, wave: str, first) -> float:
    v = df.loc[df[wave] == first, y].dropna()
    return float(v.std(ddof=1)) if len(v) > 1 else np.nan
