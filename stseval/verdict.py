"""One decision rule for every word a report says about an estimate.

The rule (:func:`decide_verdict`, vectorized in :func:`add_verdicts`) turns an estimate, its
interval and its *adjusted* p-value into one of four verdicts; every sentence, count and
badge a report prints is chosen from that verdict (:func:`verdict_sentence`,
:func:`count_sentence`), so the words can never contradict the numbers.

The rule, with ``threshold = 1 - confidence`` (exactly 0.05 for ``confidence=0.95``) and the
interval ``[ci_low, ci_high]`` at the same ``confidence``:

1. ``not_estimable`` when the estimate, ``ci_low`` or ``ci_high`` is missing (NaN), when
   ``ci_low > ci_high``, or when both ``p_adjusted`` and ``p_value`` are missing.
2. The p-value used is ``p_adjusted``; only where it is missing is ``p_value`` used, and
   the reason says so (``"unadjusted p used: no adjusted p-value"``).
3. ``improved`` when ``p < threshold`` (strictly) **and** the interval lies entirely on the
   improving side of zero, strictly: ``ci_high < 0`` for an outcome where lower is better
   (STS, burnout), ``ci_low > 0`` where higher is better. An interval that touches zero
   does not exclude it.
4. ``worsened``: the mirror image (``p < threshold`` and ``ci_low > 0`` where lower is
   better, ``ci_high < 0`` where higher is better).
5. ``unclear`` otherwise: ``p >= threshold``, or the interval includes (or touches) zero,
   or the two disagree (an adjusted p below the threshold beside an unadjusted interval
   that includes zero stays ``unclear``: both must agree).

The direction of an outcome comes from :func:`stseval.areas.outcome_direction`, except on
rows whose ``estimator`` is ``rci``: their estimate is a difference in the *share of staff
with a reliable improvement*, so higher is better whatever the outcome.

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics*, 6(2), 65-70. (the adjusted p-values the rule reads)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stseval.areas import outcome_direction
from stseval.errors import UsageError
from stseval.formatting import format_interval, format_p

__all__ = [
    "VERDICTS",
    "Verdict",
    "decide_verdict",
    "add_verdicts",
    "verdict_sentence",
    "count_sentence",
    "verdict_badge",
    "verdict_phrase",
    "verdict_symbol",
]

#: The four verdicts, in the order reports list them.
VERDICTS = ("improved", "worsened", "unclear", "not_estimable")

_PHRASE = {
    "improved": "clearly an improvement",
    "worsened": "clearly a change for the worse",
    "unclear": "no clear change",
    "not_estimable": "could not be estimated",
}


_BADGE = {
    "improved": "\u2713 clearly better",
    "worsened": "\u2717 clearly worse",
    "unclear": "\u2013 no clear change",
    "not_estimable": "? not estimable",
}


#: Estimators whose estimate is a share of staff improving (higher is better).
_SHARE_ESTIMATORS = frozenset({"rci"})


def verdict_phrase(verdict: str) -> str:
    """The words a sentence uses for a verdict (``"clearly an improvement"``, ...)."""
    if verdict not in _PHRASE:
        raise UsageError(f"verdict must be one of {list(VERDICTS)}, got {verdict!r}")
    return _PHRASE[verdict]


def verdict_symbol(verdict: str) -> str:
    """The symbol alone (``✓``, ``✗``, ``–``, ``?``) of :func:`verdict_badge`."""
    return verdict_badge(verdict).split(" ", 1)[0]


def verdict_badge(verdict: str) -> str:
    """Short label with a symbol for an at-a-glance table (symbol and words, never colour alone).

    ``improved`` -> ``"✓ clearly better"``, ``worsened`` -> ``"✗ clearly worse"``,
    ``unclear`` -> ``"– no clear change"``, ``not_estimable`` -> ``"? not estimable"``.
    """
    if verdict not in _BADGE:
        raise UsageError(f"verdict must be one of {list(VERDICTS)}, got {verdict!r}")
    return _BADGE[verdict]


@dataclass(frozen=True)
class Verdict:
    """The verdict on one estimate.

    Attributes
    ----------
    verdict : str
        One of :data:`VERDICTS`.
    reason : str
        Why, in words (e.g. ``"adjusted p >= 0.05"``, ``"interval includes zero"``).
    p_used : float
        The p-value the rule read (adjusted, else unadjusted; NaN when none).
    p_adjusted_used : bool
        False when the unadjusted p-value had to be used.
    """

    verdict: str
    reason: str
    p_used: float
    p_adjusted_used: bool


def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise UsageError(f"confidence must be a number between 0 and 1, got {confidence!r}")
    if not 0.0 < float(confidence) < 1.0:
        raise UsageError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return float(confidence)


def _threshold(confidence: float) -> float:
    """``1 - confidence`` without binary noise (``1 - 0.95`` is 0.050000000000000044)."""
    return round(1.0 - confidence, 12)


def _check_direction(direction: Any) -> str:
    if direction not in ("lower", "higher"):
        raise UsageError(f"direction must be 'lower' or 'higher', got {direction!r}")
    return direction


def _num(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def _rule(est, lo, hi, p_adj, p_raw, lower_better, threshold):
    """Vectorized rule: arrays in, (verdict, reason, p_used, adjusted_used) arrays out."""
    use_adj = ~np.isnan(p_adj)
    p = np.where(use_adj, p_adj, p_raw)
    missing = np.isnan(est) | np.isnan(lo) | np.isnan(hi)
    reversed_ci = ~missing & (lo > hi)
    no_p = np.isnan(p)
    signif = ~no_p & (p < threshold)
    good = np.where(lower_better, hi < 0, lo > 0)
    bad = np.where(lower_better, lo > 0, hi < 0)
    verdict = np.full(est.shape, "unclear", dtype=object)
    verdict[signif & good] = "improved"
    verdict[signif & bad] = "worsened"
    out_of_play = missing | reversed_ci | no_p
    verdict[out_of_play] = "not_estimable"
    pname = np.where(use_adj, "adjusted p", "unadjusted p")
    t = f"{threshold:g}"
    reason = np.where(
        ~signif,
        np.char.add(pname.astype(str), f" >= {t}"),
        np.where(
            good | bad,
            np.char.add(pname.astype(str), f" < {t}, interval excludes zero"),
            "interval includes or touches zero",
        ),
    ).astype(object)
    reason[no_p] = "no p-value"
    reason[reversed_ci] = "interval bounds reversed"
    reason[missing] = "estimate or interval missing"
    fallback = ~use_adj & ~np.isnan(p_raw) & ~out_of_play
    reason[fallback] = [f"{r}; unadjusted p used: no adjusted p-value" for r in reason[fallback]]
    return verdict, reason, p, use_adj


def decide_verdict(
    estimate: Any,
    ci_low: Any,
    ci_high: Any,
    p_adjusted: Any,
    *,
    p_value: Any = None,
    direction: str = "lower",
    confidence: float = 0.95,
) -> Verdict:
    """Decide whether one estimate is an improvement, a change for the worse, or unclear.

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        Effect (intervention minus comparison change, outcome units) and its interval
        at ``confidence``.
    p_adjusted : float
        Multiplicity-adjusted p-value (e.g. Holm). May be NaN; then ``p_value`` is used.
    p_value : float, optional
        Unadjusted p-value, used only when ``p_adjusted`` is missing.
    direction : {"lower", "higher"}
        Which way is better for this outcome (see :func:`stseval.areas.outcome_direction`).
    confidence : float
        Level of the interval; the p threshold is ``1 - confidence``.

    Returns
    -------
    Verdict
        The verdict, the reason in words, the p-value used and whether it was adjusted.
        The rule is written out in the module docstring.
    """
    confidence = _check_confidence(confidence)
    direction = _check_direction(direction)
    arrays = [_num([v], 1) for v in (estimate, ci_low, ci_high, p_adjusted, p_value)]
    v, r, p, adj = _rule(*arrays, np.array([direction == "lower"]), _threshold(confidence))
    return Verdict(str(v[0]), str(r[0]), float(p[0]), bool(adj[0]))


def _directions(estimates: pd.DataFrame, direction: Any) -> np.ndarray:
    n = len(estimates)
    if direction is None and "estimator" in estimates.columns:
        share = estimates["estimator"].isin(_SHARE_ESTIMATORS).to_numpy()
        if share.any():
            rest = _directions(estimates.drop(columns="estimator"), None)
            return np.where(share, False, rest)
    if direction is None:
        if "outcome" not in estimates.columns:
            raise UsageError(
                "add_verdicts needs an 'outcome' column to know which way is better, "
                f"or direction='lower'/'higher' (columns: {list(estimates.columns)})"
            )
        return np.array([outcome_direction(str(o)) == "lower" for o in estimates["outcome"]])
    if isinstance(direction, Mapping):
        if "outcome" not in estimates.columns:
            raise UsageError("a direction mapping needs an 'outcome' column in the estimates")
        out = []
        for o in estimates["outcome"]:
            d = direction.get(o, outcome_direction(str(o)))
            out.append(_check_direction(d) == "lower")
        return np.array(out, dtype=bool)
    return np.full(n, _check_direction(direction) == "lower")


def add_verdicts(
    estimates: pd.DataFrame,
    *,
    confidence: float = 0.95,
    direction: Any = None,
    reason: bool = False,
) -> pd.DataFrame:
    """Return a copy of an estimates table with a ``verdict`` column from the one rule.

    Parameters
    ----------
    estimates : DataFrame
        The estimates table (columns ``estimate, ci_low, ci_high, p_adjusted`` required;
        ``p_value`` and ``outcome`` used when present). Not modified.
    confidence : float
        The level the table's intervals were computed at.
    direction : None, "lower", "higher" or mapping outcome -> direction
        None: from each row's ``outcome`` via :func:`stseval.areas.outcome_direction`
        (``higher`` on ``rci`` rows: a share of staff improving).
    reason : bool
        Also add ``verdict_reason`` (text, see :func:`decide_verdict`).

    Returns
    -------
    DataFrame
        The same rows and columns plus ``verdict`` (one of :data:`VERDICTS`; an existing
        ``verdict`` column is overwritten) and, with ``reason=True``, ``verdict_reason``.
    """
    if not isinstance(estimates, pd.DataFrame):
        raise UsageError(f"estimates must be a pandas DataFrame, got {type(estimates).__name__}")
    confidence = _check_confidence(confidence)
    need = ["estimate", "ci_low", "ci_high", "p_adjusted"]
    absent = [c for c in need if c not in estimates.columns]
    if absent:
        raise UsageError(f"estimates lacks column(s) {absent} (columns: {list(estimates.columns)})")
    n = len(estimates)
    cols = [_num(estimates[c], n) for c in need]
    p_raw = _num(estimates["p_value"] if "p_value" in estimates.columns else None, n)
    lower = _directions(estimates, direction)
    v, r, _, _ = _rule(*cols, p_raw, lower, _threshold(confidence))
    out = estimates.copy()
    out["verdict"] = pd.Series(v, index=estimates.index, dtype=object)
    if reason:
        out["verdict_reason"] = pd.Series(r, index=estimates.index, dtype=object)
    return out


def _row_verdict(row: Mapping, confidence: float, direction: Any) -> Verdict:
    get = row.get if hasattr(row, "get") else lambda k, d=None: getattr(row, k, d)
    if direction is None and get("estimator", None) in _SHARE_ESTIMATORS:
        direction = "higher"
    if direction is None:
        outcome = get("outcome", None)
        direction = outcome_direction(str(outcome)) if outcome is not None else "lower"
    return decide_verdict(
        get("estimate", np.nan),
        get("ci_low", np.nan),
        get("ci_high", np.nan),
        get("p_adjusted", np.nan),
        p_value=get("p_value", np.nan),
        direction=direction,
        confidence=confidence,
    )


def verdict_sentence(
    row: Mapping,
    *,
    label: str | None = None,
    confidence: float = 0.95,
    direction: str | None = None,
    decimals: int = 1,
    unit: str = "points",
) -> str:
    """The plain-language sentence a report prints for one estimate.

    The words are chosen by the verdict from :func:`decide_verdict` (recomputed from the
    row's numbers, so a stale ``verdict`` column cannot mislead): "clearly an
    improvement" only for ``improved``, "clearly a change for the worse" only for
    ``worsened``, "no clear change" for ``unclear``. The sentence names the estimate
    with its interval and the p-value the rule used (saying when it is unadjusted).

    Parameters
    ----------
    row : mapping or namedtuple
        One row of the estimates table (``estimate, ci_low, ci_high, p_adjusted``;
        ``p_value``, ``outcome``, ``note`` used when present).
    label : str, optional
        What the estimate is about (default: the row's ``outcome``).
    confidence, direction : see :func:`decide_verdict` (direction None: from outcome).
    decimals : int
        Decimals of the estimate and interval.
    unit : str
        Unit word after the estimate.

    Returns
    -------
    str
        E.g. ``"STSS total: clearly an improvement: −2.1 points (95% interval −3.4 to
        −0.8), adjusted p = 0.004."``
    """
    confidence = _check_confidence(confidence)
    get = row.get if hasattr(row, "get") else lambda k, d=None: getattr(row, k, d)
    verdict = _row_verdict(row, confidence, direction)
    name = label if label is not None else str(get("outcome", "this estimate"))
    phrase = _PHRASE[verdict.verdict]
    if verdict.verdict == "not_estimable":
        note = get("note", None)
        why = note if isinstance(note, str) and note else verdict.reason
        return f"{name}: {phrase} ({why})."
    level = f"{confidence * 100:g}%"
    est, rest = format_interval(
        get("estimate"), get("ci_low"), get("ci_high"), decimals=decimals
    ).split(" (", 1)
    pname = "adjusted p" if verdict.p_adjusted_used else "p (not adjusted for multiple outcomes)"
    ptext = format_p(verdict.p_used)
    ptext = ptext if ptext.startswith(("<", ">")) else f"= {ptext}"
    text = f"{name}: {phrase}: {est} {unit} ({level} interval {rest}, {pname} {ptext}"
    if verdict.verdict == "unclear":
        lo, hi = float(get("ci_low")), float(get("ci_high"))
        excludes = lo > 0 or hi < 0
        text += (
            "; the interval excludes zero, but the p-value does not pass once multiple "
            "outcomes are allowed for"
            if excludes
            else "; the interval includes zero"
            if verdict.p_used < _threshold(confidence)
            else "; chance alone could explain a difference this size"
        )
    return text + "."


def count_sentence(
    estimates: pd.DataFrame,
    *,
    what: str = "staff outcomes",
    confidence: float = 0.95,
    direction: Any = None,
) -> str:
    """One sentence counting verdicts: ``"Of 4 staff outcomes, 1 clearly improved, ..."``.

    The counts come from :func:`add_verdicts` (recomputed, never from unadjusted
    intervals), so they always agree with each row's :func:`verdict_sentence`.

    Returns
    -------
    str
        ``"Of N <what>, a clearly improved, b clearly worsened and c showed no clear
        change (adjusted p below 0.05 and the 95% interval excluding zero)."``; when some
        could not be estimated, ``", d could not be estimated"`` is added.
    """
    table = add_verdicts(estimates, confidence=confidence, direction=direction)
    counts = table["verdict"].value_counts()
    k = {v: int(counts.get(v, 0)) for v in VERDICTS}
    level = f"{confidence * 100:g}%"
    threshold = f"{1 - confidence:.2g}"
    parts = [
        f"{k['improved']} clearly improved",
        f"{k['worsened']} clearly worsened",
        f"{k['unclear']} showed no clear change",
    ]
    if k["not_estimable"]:
        parts.append(f"{k['not_estimable']} could not be estimated")
    listed = ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"Of {len(table)} {what}, {listed} (clear means: adjusted p below {threshold} "
        f"and the {level} interval excluding zero)."
    )
