"""Standardized effect sizes for pre/post and two-group comparisons, and reliable change.

Every function returns a tidy :class:`pandas.DataFrame` whose first columns are
``stseval.columns.EFFECT_SIZE_COLUMNS`` (``es_type, effect_size, ci_low, ci_high,
method, n``) followed by ``description`` and ``es_description`` (the same sentence:
``es_description`` is the kit-wide name, ``description`` the old one) saying exactly
what was divided by what, so a reader never has to guess which "Cohen's d" was
reported. ``ci_low``/``ci_high`` bound ``effect_size`` (the rule of
:mod:`stseval.columns`). Zero spread is judged with a relative tolerance
(:func:`stseval._args.negligible_spread`), never ``== 0``: :func:`paired` with every
change equal returns NaN for d_z/d_rm (g_z/g_rm) with a ``note`` and an
:class:`~stseval.errors.EstimationWarning`.

Sign convention: a *change* is ``post - pre`` and a group difference is
``first - second`` (treatment minus control). For STS scores, where lower is
better, a negative paired effect size is an improvement.

Hedges' small-sample correction everywhere is the usual approximation
``J = 1 - 3 / (4 * df - 1)`` (Hedges & Olkin, 1985; Borenstein et al., 2009, ch. 4)
with ``df = n - 1`` for paired designs and ``df = n1 + n2 - 2`` for two groups.

Confidence intervals are intervals for the population effect size (delta) of
that standardization; the ``d_*`` and ``g_*`` rows of one standardization share
it: ``g`` only changes the point estimate (Bonett, 2008, recommends the
bias-adjusted estimate for the point and the unadjusted one for the interval).

References
----------
Becker, B. J. (1988). Synthesizing standardized mean-change measures. *British
Journal of Mathematical and Statistical Psychology*, 41, 257-278.
doi:10.1111/j.2044-8317.1988.tb00901.x
Bonett, D. G. (2008). Confidence intervals for standardized linear contrasts of
means. *Psychological Methods*, 13(2), 99-109. doi:10.1037/1082-989X.13.2.99
Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009).
*Introduction to meta-analysis*. Wiley. doi:10.1002/9780470743386
Hedges, L. V., & Olkin, I. (1985). *Statistical methods for meta-analysis*.
Academic Press. doi:10.1016/C2009-0-03396-0
Jacobson, N. S., Follette, W. C., & Revenstorf, D. (1984). Psychotherapy outcome
research: methods for reporting variability and evaluating clinical
significance. *Behavior Therapy*, 15, 336-352. doi:10.1016/S0005-7894(84)80002-7
Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach
to defining meaningful change in psychotherapy research. *Journal of Consulting
and Clinical Psychology*, 59(1), 12-19. doi:10.1037/0022-006X.59.1.12
Lakens, D. (2013). Calculating and reporting effect sizes to facilitate cumulative
science. *Frontiers in Psychology*, 4, 863. doi:10.3389/fpsyg.2013.00863
Morris, S. B. (2008). Estimating effect sizes from pretest-posttest-control group
designs. *Organizational Research Methods*, 11(2), 364-386.
doi:10.1177/1094428106291059
Morris, S. B., & DeShon, R. P. (2002). Combining effect size estimates in
meta-analysis with repeated measures and independent-groups designs.
*Psychological Methods*, 7(1), 105-125. doi:10.1037/1082-989X.7.1.105
Steiger, J. H., & Fouladi, R. T. (1997). Noncentrality interval estimation and the
evaluation of statistical models. In *What if there were no significance tests?*
(pp. 221-257). Erlbaum. See also Kelley (2007), doi:10.18637/jss.v020.i08

Tests (``tests/test_effects.py``) check the movie-rating example of Lakens (2013),
the paired-samples example of Bonett's ``statpsych::ci.stdmean.ps`` documentation,
Study 5 of Morris (2008, Table 5), hand computations of every formula, and the
coverage of the d_z interval by simulation.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._args import (
    as_numeric,
    check_confidence,
    negligible_spread,
    pair_up,
    real_number,
    whole_number,
)
from ._reliable_change import (
    RC_CATEGORIES,
    RC_METHODS,
    jacobson_truax_cutoff_c,
    reliable_change,
    reliable_change_summary,
)
from .columns import EFFECT_SIZE_COLUMNS
from .errors import EstimationWarning, NotEstimableError, UsageError

__all__ = [
    "paired",
    "paired_from_summary",
    "hedges_g",
    "hedges_g_from_summary",
    "ppc",
    "ppc_from_summary",
    "reliable_change",
    "reliable_change_summary",
    "jacobson_truax_cutoff_c",
    "RC_CATEGORIES",
    "RC_METHODS",
]


_CONSTANT_CHANGE = (
    "post - pre is the same for every pair (SD of the changes is 0 up to rounding): "
    "d_z, g_z, d_rm and g_rm are undefined"
)
_PAIRED_MIN_N = 4  # the Morris & DeShon (2002) variance has n - 3 in a denominator


# ----------------------------------------------------------------------------- checks
_check_confidence = check_confidence


def _check_r(r, name: str = "r") -> float:
    r = real_number(r, name)
    if not -1 < r < 1:
        raise UsageError(
            f"{name} (pre/post correlation) must be strictly between -1 and 1, got {r!r}"
        )
    return r


_as_numeric = as_numeric
_pair_up = pair_up


def _hedges_j(df: float) -> float:
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def _nct_ci(t_obs: float, df: float, confidence: float) -> tuple[float, float]:
    """Noncentrality-parameter limits whose noncentral t puts t_obs at the tail quantiles."""
    tail = (1.0 - confidence) / 2.0

    def limit(p):
        f = lambda ncp: stats.nct.cdf(t_obs, df, ncp) - p  # decreasing in ncp
        width = max(5.0, abs(t_obs))
        lo, hi = t_obs - width, t_obs + width
        for _ in range(60):
            if f(lo) > 0 and f(hi) < 0:
                return optimize.brentq(f, lo, hi, xtol=1e-12)
            lo, hi = lo - width, hi + width
            width *= 2
        return float("nan")

    return limit(1.0 - tail), limit(tail)


# ----------------------------------------------------------------------------- paired
_J_TEXT = "Hedges-corrected (J = 1 - 3/(4(n - 1) - 1))"
_PAIRED_DESCRIPTIONS = {
    "d_z": "d_z: mean change / SD of the changes",
    "d_rm": "d_rm: mean change / SD of the changes * sqrt(2(1 - r)) (raw-score metric)",
    "d_av": "d_av: mean change / mean of pre and post SD",
    "d_b": "d_b: mean change / pre SD (Becker 1988)",
}
_PAIRED_METHODS = {
    "z": "noncentral t inversion (Steiger & Fouladi 1997); interval for delta_z",
    "rm": "normal approx., Morris & DeShon (2002) raw-score variance evaluated at g_rm, "
    "centred at d_rm (r treated as known)",
    "av": "normal approx., Bonett (2008) delta-method variance adapted to the mean-of-SDs "
    "standardizer, centred at d_av",
    "b": "normal approx., Bonett (2008) single-SD standardizer variance, centred at d_b",
}


def _paired_estimates(n, sd_pre, sd_post, r, sd_diff, change, confidence):
    """d_z, d_rm, d_av, d_b with their intervals (dicts keyed z/rm/av/b), and the SDs used."""
    df = n - 1
    j = _hedges_j(df)
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    var_pre, var_post, var_diff = sd_pre**2, sd_post**2, sd_diff**2
    d, ci = {}, {}
    if sd_diff > 0:
        # d_z: exact interval by inverting the noncentral t of the paired t statistic.
        d["z"] = change / sd_diff
        lo, hi = _nct_ci(change / (sd_diff / math.sqrt(n)), df, confidence)
        ci["z"] = (lo / math.sqrt(n), hi / math.sqrt(n))
        # d_rm (Lakens 2013, eq. 9); variance from Morris & DeShon (2002, Table 2, raw-score
        # metric), evaluated at the unbiased estimate g_rm.
        d["rm"] = d["z"] * math.sqrt(2 * (1 - r))
        g_rm = j * d["rm"]
        v_rm = (2 * (1 - r) / n) * (df / (df - 2)) * (
            1 + n * g_rm**2 / (2 * (1 - r))
        ) - g_rm**2 / j**2
    else:  # every change equal: d_z and d_rm divide by zero (see paired)
        d["z"] = d["rm"] = v_rm = math.nan
        ci["z"] = (math.nan, math.nan)
    # d_av (Lakens 2013, eq. 10): delta-method variance of mean change / ((s1 + s2) / 2)
    # with Bonett's (2008) n - 1 divisors.
    s_av = (sd_pre + sd_post) / 2
    d["av"] = change / s_av
    v_av = d["av"] ** 2 * (var_pre + var_post + 2 * r**2 * sd_pre * sd_post) / (
        8 * df * s_av**2
    ) + var_diff / (df * s_av**2)
    # d_b (Becker 1988): Bonett (2008) single-measurement standardizer.
    d["b"] = change / sd_pre
    v_b = d["b"] ** 2 / (2 * df) + var_diff / (df * var_pre)
    for key, v in (("rm", v_rm), ("av", v_av), ("b", v_b)):
        half = z * math.sqrt(max(v, 0.0))
        ci[key] = (d[key] - half, d[key] + half) if math.isfinite(v) else (math.nan, math.nan)
    sd_rm = sd_diff / math.sqrt(2 * (1 - r)) if sd_diff > 0 else math.nan
    standardizer = {"z": sd_diff if sd_diff > 0 else math.nan, "rm": sd_rm, "av": s_av, "b": sd_pre}
    return d, ci, standardizer


_PAIRED_TABLE_COLUMNS = [
    *EFFECT_SIZE_COLUMNS,
    "description",
    "es_description",
    "standardizer",
    "mean_change",
    "se_change",
    "change_ci_low",
    "change_ci_high",
    "r",
    "note",
]


def _paired_table(n, m_pre, sd_pre, m_post, sd_post, r, sd_diff, confidence) -> pd.DataFrame:
    change = m_post - m_pre
    se_change = sd_diff / math.sqrt(n)
    tq = stats.t.ppf(1 - (1 - confidence) / 2, n - 1)
    d, ci, standardizer = _paired_estimates(n, sd_pre, sd_post, r, sd_diff, change, confidence)
    shared = {
        "n": int(n),
        "mean_change": change,
        "se_change": se_change,
        "change_ci_low": change - tq * se_change,
        "change_ci_high": change + tq * se_change,
        "r": r,
        "note": "",
    }
    rows = []
    for prefix, factor in (("d", 1.0), ("g", _hedges_j(n - 1))):
        for key in ("z", "rm", "av", "b"):
            desc = _PAIRED_DESCRIPTIONS[f"d_{key}"].replace("d_", f"{prefix}_", 1)
            if prefix == "g":
                desc += ", " + _J_TEXT
            method = _PAIRED_METHODS[key] + (f"; same interval as d_{key}" if prefix == "g" else "")
            rows.append(
                {
                    "es_type": f"{prefix}_{key}",
                    "effect_size": factor * d[key],
                    "ci_low": ci[key][0],
                    "ci_high": ci[key][1],
                    "method": method,
                    "description": desc,
                    "es_description": desc,
                    "standardizer": standardizer[key],
                    **shared,
                }
            )
    return pd.DataFrame(rows, columns=_PAIRED_TABLE_COLUMNS)


def paired(pre, post, *, confidence=0.95) -> pd.DataFrame:
    """Standardized mean change of paired pre/post scores, four ways, with CIs.

    Parameters
    ----------
    pre, post : array-like of numbers
        One score per person, matched by position. Pairs with a missing value in
        either are dropped (listwise); ``n`` reports the complete pairs used. At
        least 4 complete pairs are needed.
    confidence : float
        Confidence level of every interval.

    Returns
    -------
    pandas.DataFrame
        Eight rows, ``es_type`` in ``d_z, d_rm, d_av, d_b, g_z, g_rm, g_av, g_b``.
        Columns: ``es_type``; ``effect_size`` (sign of ``post - pre``); ``ci_low``,
        ``ci_high``; ``method`` (how the interval was computed); ``n``;
        ``description`` (what was standardized by what); ``standardizer`` (the SD
        divided by); ``mean_change``, ``se_change``, ``change_ci_low``,
        ``change_ci_high`` (raw mean change with its paired-t interval, same on
        every row); ``r`` (pre/post correlation).

    Notes
    -----
    With change D = post - pre, ``d_z = mean(D) / SD(D)``;
    ``d_rm = d_z * sqrt(2(1 - r))``; ``d_av = mean(D) / ((SD_pre + SD_post) / 2)``;
    ``d_b = mean(D) / SD_pre`` (Lakens, 2013; Becker, 1988). ``g_* = J * d_*`` with
    ``J = 1 - 3/(4(n - 1) - 1)``. Intervals (see the ``method`` column): d_z by
    noncentral-t inversion; d_rm with ``Var = 2(1-r)/n * (n-1)/(n-3) *
    (1 + n g^2 / (2(1-r))) - g^2 / J^2`` (Morris & DeShon, 2002); d_av with
    ``Var = d^2 (s1^2 + s2^2 + 2 r^2 s1 s2) / (8 (n-1) s^2) + s_D^2 / ((n-1) s^2)``,
    ``s = (s1 + s2)/2`` (Bonett's 2008 delta method, adapted); d_b with
    ``Var = d^2 / (2(n-1)) + s_D^2 / ((n-1) s1^2)`` (Bonett, 2008).
    """
    confidence = _check_confidence(confidence)
    a, b = _pair_up(pre, post, "pre", "post")
    keep = a.notna().to_numpy() & b.notna().to_numpy()
    x, y = a.to_numpy()[keep], b.to_numpy()[keep]
    n = len(x)
    if n < _PAIRED_MIN_N:
        raise UsageError(
            f"pre/post need at least {_PAIRED_MIN_N} complete pairs, got {n} "
            "(pairs with a missing value are dropped)"
        )
    sd_pre, sd_post = float(np.std(x, ddof=1)), float(np.std(y, ddof=1))
    for sd, values, name in ((sd_pre, x, "pre"), (sd_post, y, "post")):
        if negligible_spread(sd, values):
            raise NotEstimableError(
                f"{name} scores have no variance (all equal); standardized effect sizes "
                "are undefined"
            )
    sd_diff = float(np.std(y - x, ddof=1))
    if negligible_spread(sd_diff, np.concatenate([x, y])):
        warnings.warn(_CONSTANT_CHANGE, EstimationWarning, stacklevel=2)
        table = _paired_table(
            n, float(x.mean()), sd_pre, float(y.mean()), sd_post, 1.0, 0.0, confidence
        )
        table["note"] = np.where(table["es_type"].str[2:].isin(["z", "rm"]), _CONSTANT_CHANGE, "")
        return table
    r = float(np.corrcoef(x, y)[0, 1])
    return _paired_table(
        n, float(x.mean()), sd_pre, float(y.mean()), sd_post, r, sd_diff, confidence
    )


def paired_from_summary(m_pre, sd_pre, m_post, sd_post, n, r, *, confidence=0.95) -> pd.DataFrame:
    """:func:`paired` from published summaries (means, SDs, n pairs, pre/post correlation r).

    The SD of the changes is recovered as
    ``sqrt(sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post)``, an identity for sample
    statistics, so given the summaries of raw data this returns the same table as
    :func:`paired` on those data (up to rounding). Returns the table documented in
    :func:`paired`.
    """
    confidence = _check_confidence(confidence)
    m_pre, m_post = real_number(m_pre, "m_pre"), real_number(m_post, "m_post")
    sd_pre = real_number(sd_pre, "sd_pre", positive=True)
    sd_post = real_number(sd_post, "sd_post", positive=True)
    n = whole_number(n, "n", _PAIRED_MIN_N)
    r = _check_r(r)
    var_diff = sd_pre**2 + sd_post**2 - 2 * r * sd_pre * sd_post
    if var_diff <= 0:
        raise UsageError("sd_pre, sd_post and r imply changes with no variance; check r")
    return _paired_table(n, m_pre, sd_pre, m_post, sd_post, r, math.sqrt(var_diff), confidence)


# ----------------------------------------------------------------------------- two groups
def hedges_g_from_summary(m1, sd1, n1, m2, sd2, n2, *, confidence=0.95) -> pd.DataFrame:
    """Hedges' g for two independent groups from means, SDs and sizes.

    ``g = J (m1 - m2) / s_pooled`` with ``s_pooled = sqrt(((n1-1) sd1^2 + (n2-1) sd2^2)
    / (n1 + n2 - 2))`` and ``J = 1 - 3/(4(n1 + n2 - 2) - 1)``. Interval ``g +/- z * se``
    with the large-sample variance ``(n1 + n2)/(n1 n2) + g^2 / (2(n1 + n2))``
    (Hedges & Olkin, 1985, ch. 5).

    Returns
    -------
    pandas.DataFrame
        One row, ``es_type`` ``g``; columns ``es_type, effect_size, ci_low, ci_high,
        method, n`` (n1 + n2), ``description, n1, n2, mean_difference, sd_pooled, se``.
    """
    confidence = _check_confidence(confidence)
    m1, m2 = real_number(m1, "m1"), real_number(m2, "m2")
    sd1, sd2 = real_number(sd1, "sd1", positive=True), real_number(sd2, "sd2", positive=True)
    n1, n2 = whole_number(n1, "n1", 2), whole_number(n2, "n2", 2)
    df = n1 + n2 - 2
    sd_pooled = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df)
    g = _hedges_j(df) * (m1 - m2) / sd_pooled
    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    return pd.DataFrame(
        [
            {
                "es_type": "g",
                "effect_size": g,
                "ci_low": g - z * se,
                "ci_high": g + z * se,
                "method": "normal approx., Hedges & Olkin (1985) large-sample variance",
                "n": n1 + n2,
                "description": "g: (mean 1 - mean 2) / pooled SD, Hedges-corrected "
                "(J = 1 - 3/(4(n1 + n2 - 2) - 1))",
                "es_description": "g: (mean 1 - mean 2) / pooled SD, Hedges-corrected "
                "(J = 1 - 3/(4(n1 + n2 - 2) - 1))",
                "n1": n1,
                "n2": n2,
                "mean_difference": m1 - m2,
                "sd_pooled": sd_pooled,
                "se": se,
            }
        ]
    )


def hedges_g(x, y, *, confidence=0.95) -> pd.DataFrame:
    """Hedges' g of ``mean(x) - mean(y)`` for two independent samples.

    Missing values are dropped from each sample separately; each needs at least 2
    values. Returns the one-row table of :func:`hedges_g_from_summary`.
    """
    a, b = _as_numeric(x, "x").dropna(), _as_numeric(y, "y").dropna()
    for name, s in (("x", a), ("y", b)):
        if len(s) < 2:
            raise UsageError(f"{name} needs at least 2 non-missing values, got {len(s)}")
    sd1, sd2 = float(a.std(ddof=1)), float(b.std(ddof=1))
    if negligible_spread(sd1, a) and negligible_spread(sd2, b):
        raise NotEstimableError("x and y both have no variance (all equal); g is undefined")
    df = len(a) + len(b) - 2
    pooled = math.sqrt(((len(a) - 1) * sd1**2 + (len(b) - 1) * sd2**2) / df)
    # Pass the pooled SD for both groups so a zero-SD group is allowed here.
    return hedges_g_from_summary(
        float(a.mean()), pooled, len(a), float(b.mean()), pooled, len(b), confidence=confidence
    )


def ppc_from_summary(
    n_t, m_pre_t, m_post_t, sd_pre_t, n_c, m_pre_c, m_post_c, sd_pre_c, *, confidence=0.95, r=None
) -> pd.DataFrame:
    """Morris (2008) d_ppc2: difference in pre/post change, over the pooled pre-test SD.

    ``d_ppc2 = c_p [(M_post,T - M_pre,T) - (M_post,C - M_pre,C)] / SD_pre`` with
    ``SD_pre = sqrt(((n_T-1) SD_pre,T^2 + (n_C-1) SD_pre,C^2) / (n_T + n_C - 2))`` and
    ``c_p = 1 - 3/(4(n_T + n_C - 2) - 1)`` (Morris, 2008, eqs. 8-9). Negative when the
    treatment group's scores fell more than the control group's.

    The interval is ``d +/- z * sqrt(V)`` with Morris's (2008, eq. 25) variance
    ``V = 2 c_p^2 (1 - r) N/(n_T n_C) (N - 2)/(N - 4) (1 + d^2 / (2 (1 - r) N/(n_T n_C)))
    - d^2``, ``N = n_T + n_C``, which needs the pre/post correlation ``r``. When
    ``r`` is None (often unpublished) no default is assumed: ``ci_low`` and
    ``ci_high`` are NaN and ``method`` says why.

    Returns
    -------
    pandas.DataFrame
        One row, ``es_type`` ``d_ppc2``; columns ``es_type, effect_size, ci_low,
        ci_high, method, n`` (n_T + n_C), ``description, n_t, n_c, change_t, change_c,
        sd_pre_pooled, r, se``.
    """
    confidence = _check_confidence(confidence)
    n_t, n_c = whole_number(n_t, "n_t", 2), whole_number(n_c, "n_c", 2)
    vals = {
        k: real_number(v, k)
        for k, v in (
            ("m_pre_t", m_pre_t),
            ("m_post_t", m_post_t),
            ("m_pre_c", m_pre_c),
            ("m_post_c", m_post_c),
        )
    }
    sd_t = real_number(sd_pre_t, "sd_pre_t", positive=True)
    sd_c = real_number(sd_pre_c, "sd_pre_c", positive=True)
    if r is not None:
        r = _check_r(r)
    big_n = n_t + n_c
    if big_n < 5:
        raise UsageError(f"n_t + n_c must be at least 5 (Morris's variance has N - 4), got {big_n}")
    sd_pool = math.sqrt(((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / (big_n - 2))
    c_p = _hedges_j(big_n - 2)
    change_t = vals["m_post_t"] - vals["m_pre_t"]
    change_c = vals["m_post_c"] - vals["m_pre_c"]
    d = c_p * (change_t - change_c) / sd_pool
    if r is None:
        se, lo, hi = float("nan"), float("nan"), float("nan")
        method = "no interval: give r (pre/post correlation) for Morris (2008) eq. 25"
    else:
        k = big_n / (n_t * n_c)
        v = (
            2 * c_p**2 * (1 - r) * k * (big_n - 2) / (big_n - 4) * (1 + d**2 / (2 * (1 - r) * k))
            - d**2
        )
        se = math.sqrt(max(v, 0.0))
        z = stats.norm.ppf(1 - (1 - confidence) / 2)
        lo, hi = d - z * se, d + z * se
        method = "normal approx., Morris (2008) eq. 25 variance evaluated at d_ppc2"
    return pd.DataFrame(
        [
            {
                "es_type": "d_ppc2",
                "effect_size": d,
                "ci_low": lo,
                "ci_high": hi,
                "method": method,
                "n": big_n,
                "description": "d_ppc2: (treatment change - control change) / pooled pre SD, "
                "bias-corrected (c_p = 1 - 3/(4(n_t + n_c - 2) - 1))",
                "es_description": "d_ppc2: (treatment change - control change) / pooled pre SD, "
                "bias-corrected (c_p = 1 - 3/(4(n_t + n_c - 2) - 1))",
                "n_t": n_t,
                "n_c": n_c,
                "change_t": change_t,
                "change_c": change_c,
                "sd_pre_pooled": sd_pool,
                "r": r if r is not None else float("nan"),
                "se": se,
            }
        ]
    )


def ppc(pre_t, post_t, pre_c, post_c, *, confidence=0.95) -> pd.DataFrame:
    """:func:`ppc_from_summary` from raw pre/post scores of a treatment and a control group.

    Within each group, pairs with a missing value are dropped. ``r`` is the pooled
    within-group correlation: pooled within-group covariance of pre and post over
    the square root of the product of pooled within-group variances.
    """
    groups = {}
    for tag, (a, b) in (("t", (pre_t, post_t)), ("c", (pre_c, post_c))):
        sa, sb = _pair_up(a, b, f"pre_{tag}", f"post_{tag}")
        keep = sa.notna().to_numpy() & sb.notna().to_numpy()
        x, y = sa.to_numpy()[keep], sb.to_numpy()[keep]
        if len(x) < 2:
            raise UsageError(f"pre_{tag}/post_{tag} need at least 2 complete pairs, got {len(x)}")
        groups[tag] = (x, y)
    ssx = sum(((x - x.mean()) ** 2).sum() for x, _ in groups.values())
    ssy = sum(((y - y.mean()) ** 2).sum() for _, y in groups.values())
    sxy = sum(((x - x.mean()) * (y - y.mean())).sum() for x, y in groups.values())
    values = np.concatenate([v for pair in groups.values() for v in pair])
    if negligible_spread(math.sqrt(min(ssx, ssy)), values * math.sqrt(len(values))):
        raise NotEstimableError(
            "pre or post scores have no within-group variance; d_ppc2 is undefined"
        )
    r = float(sxy / math.sqrt(ssx * ssy))
    (xt, yt), (xc, yc) = groups["t"], groups["c"]
    return ppc_from_summary(
        len(xt),
        float(xt.mean()),
        float(yt.mean()),
        float(xt.std(ddof=1)),
        len(xc),
        float(xc.mean()),
        float(yc.mean()),
        float(xc.std(ddof=1)),
        confidence=confidence,
        r=min(max(r, -0.999999), 0.999999),
    )
