"""Reliability of scale scores and diagnostics for aggregating them to teams.

Every function works on items that are **already reverse-keyed** (a
DataFrame with one row per respondent and one column per item) or on scale
scores, and returns a tidy DataFrame whose column names never depend on a
parameter.

* :func:`alpha` -- Cronbach's alpha with the Feldt (1965) F-based interval.
* :func:`omega` -- McDonald's omega total from a one-factor maximum-likelihood
  model, optional percentile-bootstrap interval.
* :func:`item_stats` -- per-item descriptives, corrected item-total
  correlation, alpha if the item is deleted, floor and ceiling shares.
* :func:`scale_floor_ceiling` -- floor and ceiling shares of a scale score.
* :func:`icc` -- ICC(1) and ICC(2) from a one-way ANOVA (Bliese, 2000): does a
  team or organisation mean carry information?
* :func:`rwg` -- within-group agreement r_wg / r_wg(J) (James, Demaree &
  Wolf, 1984) against a uniform ("no agreement") null distribution.

Nothing here infers a response range from the data; floor/ceiling shares
need ``min_value``/``max_value`` from the instrument definition.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._agreement import ICC_COLUMNS, RWG_COLUMNS, _as_series, icc, rwg
from ._args import check_confidence, check_items, negligible_spread
from .errors import DataValidationError, UsageError, format_rows

__all__ = [
    "ALPHA_COLUMNS",
    "ITEM_STATS_COLUMNS",
    "FLOOR_CEILING_COLUMNS",
    "ICC_COLUMNS",
    "RWG_COLUMNS",
    "alpha",
    "omega",
    "item_stats",
    "scale_floor_ceiling",
    "icc",
    "rwg",
]

#: One-row results of :func:`alpha` and :func:`omega` (extends
#: ``columns.RELIABILITY_COLUMNS`` with ``k`` and ``method``).
ALPHA_COLUMNS = ["estimate", "ci_low", "ci_high", "n", "k", "method"]
#: One row per item from :func:`item_stats`.
ITEM_STATS_COLUMNS = [
    "item",
    "n",
    "mean",
    "sd",
    "item_total_r",
    "alpha_if_deleted",
    "floor_share",
    "ceiling_share",
]
#: One-row result of :func:`scale_floor_ceiling`.
FLOOR_CEILING_COLUMNS = ["n", "floor_share", "ceiling_share"]

_PSI_LOWER = 0.005  # lower bound for ML uniquenesses (correlation scale), as in R's factanal


# --------------------------------------------------------------------------- helpers


_check_items = check_items


def _complete(items: pd.DataFrame, *, min_rows: int = 3, name: str = "items") -> pd.DataFrame:
    """Listwise deletion; raise if fewer than ``min_rows`` complete rows remain."""
    full = items.dropna(how="any")
    if len(full) < min_rows:
        raise UsageError(
            f"{name} needs at least {min_rows} rows with every item answered "
            f"(listwise deletion); got {len(full)} of {len(items)}"
        )
    return full


_check_confidence = check_confidence


def _alpha_value(x: np.ndarray) -> float:
    """Cronbach's alpha of a complete (n x k) array; NaN if the total has no variance."""
    k = x.shape[1]
    item_var = x.var(axis=0, ddof=1)
    total = x.sum(axis=1)
    total_var = total.var(ddof=1)
    if negligible_spread(float(np.sqrt(total_var)), total):
        return float("nan")
    return float(k / (k - 1) * (1.0 - item_var.sum() / total_var))


def _check_range(min_value, max_value) -> tuple[float, float] | None:
    if min_value is None and max_value is None:
        return None
    if min_value is None or max_value is None:
        raise UsageError(
            "min_value and max_value must be given together (the lowest and "
            f"highest response option); got min_value={min_value!r}, "
            f"max_value={max_value!r}"
        )
    lo, hi = float(min_value), float(max_value)
    if not lo < hi:
        raise UsageError(f"min_value must be below max_value; got {min_value!r} and {max_value!r}")
    return lo, hi


def _out_of_range_failures(frame: pd.DataFrame, lo: float, hi: float) -> list[dict]:
    failures = []
    for col in frame.columns:
        v = frame[col]
        bad = v.index[(v < lo - 1e-9) | (v > hi + 1e-9)]
        if len(bad):
            failures.append(
                {
                    "file": "",
                    "column": str(col),
                    "rows": format_rows(bad),
                    "problem": f"value(s) outside the response range [{lo:g}, {hi:g}]",
                }
            )
    return failures


# --------------------------------------------------------------------------- alpha


def alpha(items: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Cronbach's alpha with the Feldt (1965) confidence interval.

    Parameters
    ----------
    items : pandas.DataFrame
        Reverse-keyed numeric items, rows = respondents, columns = items.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row with columns (:data:`ALPHA_COLUMNS`):

        ``estimate``  Cronbach's alpha, ``k/(k-1) * (1 - sum(var_i) / var(total))``.
        ``ci_low``, ``ci_high``  Feldt interval (see Notes).
        ``n``  number of complete rows used.
        ``k``  number of items.
        ``method``  text describing estimator, missing-data policy and interval.

    Notes
    -----
    Missing data: rows with any missing item are dropped (listwise deletion);
    ``n`` counts the rows used. Variances use ``ddof=1``.

    Feldt interval: ``(1 - alpha_pop) / (1 - alpha_hat)`` follows
    ``F(n-1, (n-1)(k-1))``, so with ``q = (1 - confidence)/2``
    ``ci_low = 1 - (1 - alpha_hat) F_{1-q}`` and ``ci_high = 1 - (1 - alpha_hat) F_q``.
    It assumes (essentially) tau-equivalent, normally distributed items.

    If the total score has zero variance alpha is undefined: the row is all
    NaN and a ``RuntimeWarning`` is emitted.

    Raises :class:`~stseval.errors.UsageError` for fewer than 2 items, fewer
    than 3 complete rows, or non-numeric columns.

    Tests check a hand-worked 5 x 3 table, the mean inter-item covariance form
    ``k cbar / (vbar + (k-1) cbar)``, the interval against ``scipy.stats.f``
    directly and its coverage on simulated parallel items.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
    tests. Psychometrika, 16, 297-334. https://doi.org/10.1007/BF02310555

    Feldt, L. S. (1965). The approximate sampling distribution of
    Kuder-Richardson reliability coefficient twenty. Psychometrika, 30,
    357-370. https://doi.org/10.1007/BF02289499
    """
    c = _check_confidence(confidence)
    full = _complete(_check_items(items, min_items=2))
    x = full.to_numpy()
    n, k = x.shape
    est = _alpha_value(x)
    if np.isnan(est):
        warnings.warn(
            "alpha: the total score has zero variance in the complete rows; "
            "alpha is undefined (NaN)",
            RuntimeWarning,
            stacklevel=2,
        )
        lo = hi = float("nan")
    else:
        q = (1.0 - c) / 2.0
        df1, df2 = n - 1, (n - 1) * (k - 1)
        lo = 1.0 - (1.0 - est) * stats.f.ppf(1.0 - q, df1, df2)
        hi = 1.0 - (1.0 - est) * stats.f.ppf(q, df1, df2)
    method = f"Cronbach's alpha, listwise; CI: Feldt (1965) F-based, {c:.0%} confidence"
    return pd.DataFrame([[est, lo, hi, n, k, method]], columns=ALPHA_COLUMNS)


# --------------------------------------------------------------------------- omega


def _ml_one_factor(
    r: np.ndarray, start: np.ndarray | None = None, *, tight: bool = True
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Fit a one-factor model by maximum likelihood to a correlation matrix.

    Uses the concentrated likelihood (Joreskog, 1967): for given uniquenesses
    ``psi`` the best loadings come from the leading eigenpair of
    ``Psi^-1/2 R Psi^-1/2`` and the discrepancy reduces to
    ``sum_{j>1} (theta_j - log theta_j - 1)`` over the other eigenvalues.

    Returns loadings, uniquenesses (correlation scale) and whether any
    uniqueness sits on the lower bound (a Heywood case).
    """
    p = r.shape[0]

    def parts(psi):
        s = 1.0 / np.sqrt(psi)
        theta, vec = np.linalg.eigh(r * np.outer(s, s))  # ascending
        lam = np.sqrt(psi) * vec[:, -1] * np.sqrt(max(theta[-1] - 1.0, 0.0))
        return theta, lam

    def fun(psi):
        theta, lam = parts(psi)
        rest = np.clip(theta[:-1], 1e-12, None)
        f = float(np.sum(rest - np.log(rest) - 1.0))
        sigma = np.outer(lam, lam) + np.diag(psi)
        inv = np.linalg.inv(sigma)
        grad = np.diag(inv @ (sigma - r) @ inv)
        return f, grad

    if start is None:
        start = np.clip(1.0 / np.diag(np.linalg.pinv(r)), _PSI_LOWER, 1.0)
    res = optimize.minimize(
        fun,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(_PSI_LOWER, 1.0)] * p,
        options={
            "maxiter": 1000,
            "ftol": 1e-14 if tight else 1e-10,
            "gtol": 1e-10 if tight else 1e-7,
        },
    )
    psi = res.x
    _, lam = parts(psi)
    if lam.sum() < 0:
        lam = -lam
    heywood = bool(np.any(psi <= _PSI_LOWER * (1 + 1e-6)))
    return lam, psi, heywood


def _omega_value(x: np.ndarray, start: np.ndarray | None = None):
    """Omega total of a complete (n x k) array, whether it is a Heywood case, and the fitted
    uniquenesses (a warm start for bootstrap refits); NaN if the model cannot be fitted."""
    sd = x.std(axis=0, ddof=1)
    if np.any(~(sd > 0)):
        return float("nan"), False, None
    r = np.corrcoef(x, rowvar=False)
    if not np.all(np.isfinite(r)) or np.linalg.eigvalsh(r)[0] <= 1e-10:
        return float("nan"), False, None
    # Bootstrap refits (warm-started) need omega to ~1e-6, not the point estimate's precision.
    lam, psi, heywood = _ml_one_factor(r, start, tight=start is None)
    lam_c, psi_c = lam * sd, psi * sd**2  # back to the covariance scale
    common = lam_c.sum() ** 2
    return float(common / (common + psi_c.sum())), heywood, psi


def omega(
    items: pd.DataFrame,
    *,
    n_boot: int = 0,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """McDonald's omega total from a one-factor maximum-likelihood model.

    Parameters
    ----------
    items : pandas.DataFrame
        Reverse-keyed numeric items (at least 3), rows = respondents.
    n_boot : int, default 0
        Number of bootstrap resamples for a percentile interval. With 0 (the
        default) no interval is computed and ``ci_low``/``ci_high`` are NaN.
    confidence : float, default 0.95
        Confidence level of the bootstrap interval.
    random_state : int, numpy Generator or None, default 0
        Seed for the bootstrap; the default makes results reproducible.

    Returns
    -------
    pandas.DataFrame
        One row with :data:`ALPHA_COLUMNS`: ``estimate`` (omega total),
        ``ci_low``, ``ci_high`` (percentile bootstrap, NaN when ``n_boot=0``),
        ``n`` (complete rows used), ``k`` (items), ``method``.

    Notes
    -----
    ``omega = (sum lambda_i)^2 / ((sum lambda_i)^2 + sum psi_i)`` with loadings
    ``lambda`` and uniquenesses ``psi`` on the covariance scale. The model is
    fitted by ML to the correlation matrix (concentrated likelihood,
    uniquenesses bounded below by 0.005 as in R's ``factanal``) and rescaled by
    the item standard deviations; ML is scale-invariant, so this equals the ML
    fit to the covariance matrix. The sign of the factor is chosen so that the
    loadings sum to a positive number.

    Missing data: listwise deletion, ``n`` counts the rows used. A singular
    correlation matrix or an item without variance gives NaN with a
    ``RuntimeWarning``; a Heywood case (a uniqueness on its bound) gives a
    ``RuntimeWarning`` and the estimate is kept. Bootstrap resamples that
    cannot be fitted are dropped (their count is in ``method``).

    Tests check simulated one-factor data against the population omega,
    agreement with alpha on tau-equivalent data, and the loadings against
    ``statsmodels.multivariate.factor.Factor(method="ml")``.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum.
    https://doi.org/10.4324/9781410601087

    Joreskog, K. G. (1967). Some contributions to maximum likelihood factor
    analysis. Psychometrika, 32, 443-482. https://doi.org/10.1007/BF02289658
    """
    c = _check_confidence(confidence)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise UsageError(f"n_boot must be a non-negative integer; got {n_boot!r}")
    full = _complete(_check_items(items, min_items=3))
    x = full.to_numpy()
    n, k = x.shape
    est, heywood, psi_hat = _omega_value(x)
    if np.isnan(est):
        warnings.warn(
            "omega: an item has no variance or the item correlation matrix is "
            "singular in the complete rows; omega is undefined (NaN)",
            RuntimeWarning,
            stacklevel=2,
        )
    elif heywood:
        warnings.warn(
            "omega: Heywood case (an item's uniqueness is at its lower bound "
            f"{_PSI_LOWER}); interpret omega with care",
            RuntimeWarning,
            stacklevel=2,
        )
    lo = hi = float("nan")
    method = "McDonald's omega total, one-factor ML, listwise"
    if n_boot > 0 and not np.isnan(est):
        rng = np.random.default_rng(random_state)
        reps = np.empty(n_boot)
        for b in range(n_boot):
            # Warm start at the full-sample solution: the same optimum, far fewer steps.
            reps[b] = _omega_value(x[rng.integers(0, n, size=n)], psi_hat)[0]
        ok = reps[np.isfinite(reps)]
        if len(ok):
            q = (1.0 - c) / 2.0
            lo, hi = (float(v) for v in np.quantile(ok, [q, 1.0 - q]))
        method += (
            f"; CI: percentile bootstrap, {n_boot} resamples "
            f"({n_boot - len(ok)} not fitted), {c:.0%} confidence"
        )
    else:
        method += "; CI: none (n_boot=0)"
    return pd.DataFrame([[est, lo, hi, n, k, method]], columns=ALPHA_COLUMNS)


# --------------------------------------------------------------------------- items


def item_stats(
    items: pd.DataFrame, *, min_value: float | None = None, max_value: float | None = None
) -> pd.DataFrame:
    """Per-item descriptives and item-analysis statistics.

    Parameters
    ----------
    items : pandas.DataFrame
        Reverse-keyed numeric items (at least 2), rows = respondents.
    min_value, max_value : float, optional
        Lowest and highest response option (from the instrument definition).
        Both or neither. Without them ``floor_share`` and ``ceiling_share``
        are NaN: the range is never inferred from the data, because the
        observed minimum/maximum is by construction "at the floor/ceiling" and
        would make every item look like it has floor and ceiling effects.

    Returns
    -------
    pandas.DataFrame
        One row per item (:data:`ITEM_STATS_COLUMNS`):

        ``item``  column name.
        ``n``  non-missing answers to this item.
        ``mean``, ``sd``  of those answers (``ddof=1``).
        ``item_total_r``  corrected item-total correlation: Pearson r of the
        item with the sum of the *other* items (complete rows).
        ``alpha_if_deleted``  Cronbach's alpha of the other items (complete
        rows; NaN when only one item would be left).
        ``floor_share``, ``ceiling_share``  share of the item's answers equal
        to ``min_value`` / ``max_value``.

    Notes
    -----
    Missing data: ``n``, ``mean``, ``sd`` and the floor/ceiling shares use all
    answers to the item; ``item_total_r`` and ``alpha_if_deleted`` use the rows
    with every item answered (the same rows as :func:`alpha`). Values outside
    ``[min_value, max_value]`` raise :class:`~stseval.errors.DataValidationError`.

    Tests check every column on a hand-worked 5 x 3 table.

    References
    ----------
    Nunnally, J. C., & Bernstein, I. H. (1994). Psychometric theory (3rd ed.).
    McGraw-Hill. (corrected item-total correlation, alpha if item deleted)
    """
    frame = _check_items(items, min_items=2)
    rng_ = _check_range(min_value, max_value)
    full = _complete(frame)
    x = full.to_numpy()
    k = x.shape[1]
    if rng_ is not None:
        failures = _out_of_range_failures(frame, *rng_)
        if failures:
            raise DataValidationError(
                failures, title="item_stats: answers outside the response range"
            )
    total = x.sum(axis=1)
    rows = []
    for j, col in enumerate(frame.columns):
        v = frame[col].dropna()
        rest = total - x[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            if not (
                negligible_spread(x[:, j].std(), x[:, j]) or negligible_spread(rest.std(), rest)
            ):
                r = float(np.corrcoef(x[:, j], rest)[0, 1])
            else:
                r = float("nan")
        a_del = _alpha_value(np.delete(x, j, axis=1)) if k >= 3 else float("nan")
        if rng_ is None or len(v) == 0:
            fl = ce = float("nan")
        else:
            fl = float(np.isclose(v, rng_[0]).mean())
            ce = float(np.isclose(v, rng_[1]).mean())
        rows.append(
            [
                col,
                int(len(v)),
                float(v.mean()) if len(v) else float("nan"),
                float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                r,
                a_del,
                fl,
                ce,
            ]
        )
    return pd.DataFrame(rows, columns=ITEM_STATS_COLUMNS)


def scale_floor_ceiling(scores, *, min_value: float, max_value: float) -> pd.DataFrame:
    """Share of scale scores at the lowest and highest possible value.

    Parameters
    ----------
    scores : pandas.Series or 1-D array-like
        Scale scores (sum or mean of items).
    min_value, max_value : float
        Lowest and highest possible score of the scale (required; never
        inferred from the data, see :func:`item_stats`).

    Returns
    -------
    pandas.DataFrame
        One row (:data:`FLOOR_CEILING_COLUMNS`): ``n`` non-missing scores,
        ``floor_share`` share equal to ``min_value``, ``ceiling_share`` share
        equal to ``max_value`` (compared with ``numpy.isclose`` so mean scores
        work). A common rule of thumb flags shares above 15 % (Terwee et al.,
        2007, https://doi.org/10.1016/j.jclinepi.2006.03.012).

    Notes
    -----
    Missing scores are dropped. Scores outside the range raise
    :class:`~stseval.errors.DataValidationError`; no non-missing score raises
    :class:`~stseval.errors.UsageError`. Tests check a hand-counted example.
    """
    lo, hi = _check_range(min_value, max_value)
    s = _as_series(scores, "scores")
    v = s.dropna()
    if len(v) == 0:
        raise UsageError("scores has no non-missing values")
    failures = _out_of_range_failures(v.to_frame("scores"), lo, hi)
    if failures:
        raise DataValidationError(
            failures, title="scale_floor_ceiling: scores outside the possible range"
        )
    return pd.DataFrame(
        [[int(len(v)), float(np.isclose(v, lo).mean()), float(np.isclose(v, hi).mean())]],
        columns=FLOOR_CEILING_COLUMNS,
    )
