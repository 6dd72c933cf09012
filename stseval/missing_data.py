"""Missing data and attrition: who was lost, does it matter, and a multiple-imputation check.

The What Works Clearinghouse (WWC) attrition and baseline-equivalence ratings, the
attrition table by arm, and the ANCOVA under multiple imputation. Re-exported by
:mod:`stseval.models` (the names there are the contract).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._results import (
    _binary,
    _check_arms,
    _check_confidence,
    _check_frame,
    _frame,
    _numeric,
    _row,
    _se_type,
    _t_interval,
)
from .errors import UsageError

__all__ = [
    "attrition_table",
    "wwc_max_differential",
    "wwc_attrition",
    "baseline_equivalence",
    "ancova_mi",
]


def _wide(wide, pre, post, treat, extra=None) -> pd.DataFrame:
    cols = {"pre": pre, "post": post, "treat": treat}
    cols.update(extra or {})
    df = _check_frame(wide, "wide", cols)
    df[treat] = _binary(df[treat], treat)
    df[pre] = _numeric(df[pre], pre)
    df[post] = _numeric(df[post], post)
    return df.dropna(subset=[treat])


def attrition_table(
    wide, *, pre="pre", post="post", treat="treated", cluster="org_id"
) -> pd.DataFrame:
    """Attrition by arm: who had a baseline score, who was followed up, and how they differed.

    The baseline sample is the workers with a ``pre`` score; a worker is
    followed if they also have a ``post`` score (workers with only a post
    score are not part of the baseline sample).

    Returns
    -------
    DataFrame, rows ``arm`` = "treated", "comparison", "overall" with columns
    ``n_baseline, n_followed, n_dropped, attrition`` (= n_dropped /
    n_baseline), ``differential_attrition`` (|treated - comparison|, on the
    overall row only), ``n_orgs_baseline, n_orgs_followed``,
    ``pre_mean_completers, pre_sd_completers, pre_mean_dropouts,
    pre_sd_dropouts`` (baseline score of those followed vs lost; SD with
    n - 1). Feed ``attrition`` and ``differential_attrition`` of the overall
    row to :func:`wwc_attrition`.
    """
    has_cluster = isinstance(wide, pd.DataFrame) and cluster in wide.columns
    df = _wide(wide, pre, post, treat, {"cluster": cluster} if has_cluster else None)
    base = df[df[pre].notna()]
    rows = []
    for arm, part in (
        ("treated", base[base[treat] == 1]),
        ("comparison", base[base[treat] == 0]),
        ("overall", base),
    ):
        followed = part[post].notna()
        comp, drop = part.loc[followed, pre], part.loc[~followed, pre]
        n = len(part)
        rows.append(
            dict(
                arm=arm,
                n_baseline=n,
                n_followed=int(followed.sum()),
                n_dropped=int((~followed).sum()),
                attrition=(~followed).sum() / n if n else np.nan,
                differential_attrition=np.nan,
                n_orgs_baseline=part[cluster].nunique() if has_cluster else pd.NA,
                n_orgs_followed=part.loc[followed, cluster].nunique() if has_cluster else pd.NA,
                pre_mean_completers=comp.mean() if len(comp) else np.nan,
                pre_sd_completers=comp.std(ddof=1) if len(comp) > 1 else np.nan,
                pre_mean_dropouts=drop.mean() if len(drop) else np.nan,
                pre_sd_dropouts=drop.std(ddof=1) if len(drop) > 1 else np.nan,
            )
        )
    out = pd.DataFrame(rows)
    out.loc[2, "differential_attrition"] = abs(out.loc[0, "attrition"] - out.loc[1, "attrition"])
    return out.astype({"n_orgs_baseline": "Int64", "n_orgs_followed": "Int64"})


# WWC Standards Handbook v4.1 (2020), Table II.1: highest differential attrition
# (percentage points) still "low attrition", by overall attrition 0..65 percent.
# Transcribed from a public R implementation of that table; the cautious column
# agrees with a second, independent transcription (of Handbook v4.0), the
# optimistic column differs from it by <= 0.3 points between 13% and 57% overall.
_WWC_CAUTIOUS = [
    5.7,
    5.8,
    5.9,
    5.9,
    6.0,
    6.1,
    6.2,
    6.3,
    6.3,
    6.3,
    6.3,
    6.2,
    6.2,
    6.1,
    6.0,
    5.9,
    5.9,
    5.8,
    5.7,
    5.5,
    5.4,
    5.3,
    5.2,
    5.1,
    4.9,
    4.8,
    4.7,
    4.5,
    4.4,
    4.3,
    4.1,
    4.0,
    3.8,
    3.6,
    3.5,
    3.3,
    3.2,
    3.1,
    2.9,
    2.8,
    2.6,
    2.5,
    2.3,
    2.1,
    2.0,
    1.8,
    1.6,
    1.5,
    1.3,
    1.2,
    1.0,
    0.9,
    0.7,
    0.6,
    0.4,
    0.3,
    0.2,
    0.0,
] + [np.nan] * 8
_WWC_OPTIMISTIC = [
    10.0,
    10.1,
    10.2,
    10.3,
    10.4,
    10.5,
    10.7,
    10.8,
    10.9,
    10.9,
    10.9,
    10.9,
    10.9,
    10.8,
    10.8,
    10.7,
    10.6,
    10.5,
    10.3,
    10.2,
    10.0,
    9.9,
    9.7,
    9.5,
    9.4,
    9.2,
    9.0,
    8.8,
    8.6,
    8.4,
    8.2,
    8.0,
    7.8,
    7.6,
    7.4,
    7.2,
    7.0,
    6.7,
    6.5,
    6.3,
    6.0,
    5.8,
    5.6,
    5.3,
    5.1,
    4.9,
    4.6,
    4.4,
    4.2,
    3.9,
    3.7,
    3.5,
    3.2,
    3.0,
    2.8,
    2.6,
    2.3,
    2.1,
    1.9,
    1.6,
    1.4,
    1.1,
    0.9,
    0.7,
    0.5,
    0.3,
]


def wwc_max_differential(overall, boundary="cautious") -> float:
    """Highest differential attrition (proportion) still "low" at this overall attrition.

    Implements the What Works Clearinghouse attrition boundary (Standards
    Handbook v4.1, Table II.1; Handbook v5.0 keeps the same boundaries as far
    as we know; not checked against the v5.0 PDF). The table is given at whole
    percentages of overall attrition (0-65%); ``overall`` is rounded to the
    nearest whole percent (half up), as published calculators do. Returns NaN
    where no differential is low (cautious above 57%, either above 65%).
    The table values were transcribed from a public implementation and
    cross-checked against a second one (see the source comment); treat
    classifications within 0.3 points of the optimistic boundary at 13-57%
    overall attrition as uncertain.

    Parameters
    ----------
    overall : float
        Overall attrition as a proportion in [0, 1].
    boundary : {"cautious", "optimistic"}
        Cautious when the intervention could itself affect who leaves the study
        (usually the case for a staff-wellness program); optimistic otherwise.
    """
    if boundary not in ("cautious", "optimistic"):
        raise UsageError(f"boundary must be 'cautious' or 'optimistic'; got {boundary!r}")
    o = float(overall)
    if not 0 <= o <= 1:
        raise UsageError(f"overall attrition must be a proportion between 0 and 1; got {overall!r}")
    pct = int(np.floor(o * 100 + 0.5 + 1e-9))
    if pct > 65:
        return np.nan
    table = _WWC_CAUTIOUS if boundary == "cautious" else _WWC_OPTIMISTIC
    return table[pct] / 100


def wwc_attrition(overall, differential) -> pd.DataFrame:
    """Classify attrition as "low" or "high" under both WWC boundaries.

    Parameters
    ----------
    overall, differential : float
        Overall attrition and differential attrition (|treated - comparison|),
        as proportions (e.g. from :func:`attrition_table`).

    Returns
    -------
    DataFrame, one row: ``overall, differential, max_differential_cautious,
    max_differential_optimistic, cautious, optimistic`` (the last two "low" or
    "high"). Low means ``differential <= max_differential`` (1e-9 tolerance).
    """
    d = float(differential)
    if not 0 <= d <= 1:
        raise UsageError(
            f"differential attrition must be a proportion between 0 and 1; got {differential!r}"
        )
    row = {"overall": float(overall), "differential": d}
    for b in ("cautious", "optimistic"):
        m = wwc_max_differential(overall, b)
        row[f"max_differential_{b}"] = m
    for b in ("cautious", "optimistic"):
        m = row[f"max_differential_{b}"]
        row[b] = "low" if np.isfinite(m) and d <= m + 1e-9 else "high"
    return pd.DataFrame([row])


def _equivalence_class(g: float) -> str:
    a = abs(g)
    if not np.isfinite(a):
        return "not assessed"
    if a <= 0.05:
        return "satisfies"
    if a <= 0.25:
        return "requires statistical adjustment"
    return "does not satisfy"


def baseline_equivalence(
    wide, *, pre="pre", post="post", treat="treated", analytic=True
) -> pd.DataFrame:
    """Standardized baseline difference (Hedges' g) and its WWC classification.

    g = omega (mean_T - mean_C) / s_pooled with s_pooled the n - 1 weighted
    pooled SD and omega = 1 - 3 / (4N - 9). With ``analytic=True`` (the WWC
    rule) only workers with both ``pre`` and ``post`` count; otherwise all
    with ``pre``. |g| <= 0.05 "satisfies"; 0.05 < |g| <= 0.25 "requires
    statistical adjustment" (adjust for the baseline score, as
    :func:`ancova` does); |g| > 0.25 "does not satisfy". Clustering is ignored
    (a descriptive statistic).

    Returns
    -------
    DataFrame, one row: ``effect_size, es_type`` ("hedges_g"), ``mean_treated,
    mean_comparison, sd_pooled, n_treated, n_comparison, classification``.

    References
    ----------
    What Works Clearinghouse (2022). *Procedures and Standards Handbook,
    Version 5.0*. Institute of Education Sciences.
    """
    df = _wide(wide, pre, post, treat)
    df = df[df[pre].notna() & (df[post].notna() if analytic else True)]
    a, b = df.loc[df[treat] == 1, pre], df.loc[df[treat] == 0, pre]
    n1, n0 = len(a), len(b)
    if n1 < 2 or n0 < 2:
        raise UsageError(
            f"baseline equivalence needs at least 2 workers per arm with {pre!r}"
            f"{' and ' + repr(post) if analytic else ''}; got {n1} treated and "
            f"{n0} comparison"
        )
    sp = float(np.sqrt(((n1 - 1) * a.var(ddof=1) + (n0 - 1) * b.var(ddof=1)) / (n1 + n0 - 2)))
    g = (1 - 3 / (4 * (n1 + n0) - 9)) * (a.mean() - b.mean()) / sp if sp > 0 else np.nan
    return pd.DataFrame(
        [
            dict(
                effect_size=g,
                es_type="hedges_g",
                mean_treated=a.mean(),
                mean_comparison=b.mean(),
                sd_pooled=sp,
                n_treated=n1,
                n_comparison=n0,
                classification=_equivalence_class(g),
            )
        ]
    )


def _rubin(estimates, variances, df_complete):
    """Rubin's rules with the Barnard-Rubin (1999) small-sample degrees of freedom."""
    q = np.asarray(estimates, float)
    u = np.asarray(variances, float)
    m = len(q)
    qbar, w = q.mean(), u.mean()
    b = q.var(ddof=1)
    t = w + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    nu_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    if b <= 0:
        return qbar, t, nu_obs
    nu_old = (m - 1) / lam**2
    return qbar, t, 1 / (1 / nu_old + 1 / nu_obs)


def ancova_mi(
    data,
    *,
    pre="pre",
    post="post",
    treat="treated",
    cluster="org_id",
    n_imputations=20,
    seed=0,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """ANCOVA with missing follow-up scores multiply imputed (sensitivity analysis).

    The analysis sample is every worker with a baseline score (``pre``,
    ``treat`` and ``cluster`` present). Missing ``post`` scores are imputed
    ``n_imputations`` times by Bayesian linear-regression imputation (the
    "norm" method of van Buuren): ``post ~ pre + organization`` fitted on the
    observed cases (organization fixed effects carry both the treatment and
    the clustering; if some organization has no observed post score the model
    is ``post ~ treat + pre`` instead, said in ``note``); each imputation draws
    sigma^2 from its scaled inverse chi-square posterior, the coefficients
    from their normal posterior, then the missing values with noise. Each
    completed data set is analysed with :func:`ancova` (``se_type`` SE); the
    results are pooled with Rubin's rules and Barnard-Rubin degrees of freedom
    (complete-data df G - 1). Assumes missing at random given baseline score
    and organization.

    Returns
    -------
    DataFrame, one row, term ``"treated"`` as :func:`ancova`; ``n_workers`` =
    baseline sample (observed + imputed); ``note`` gives the share imputed.

    References
    ----------
    Rubin, D. B. (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley.
    doi:10.1002/9780470316696. Barnard, J., & Rubin, D. B. (1999). Small-sample
    degrees of freedom with multiple imputation. *Biometrika*, 86(4), 948-955.
    doi:10.1093/biomet/86.4.948
    """
    confidence = _check_confidence(confidence)
    se_type = _se_type(se_type)
    m = int(n_imputations)
    if m < 2:
        raise UsageError(f"n_imputations must be at least 2; got {n_imputations!r}")
    df = _wide(data, pre, post, treat, {"cluster": cluster})
    df = df.dropna(subset=[pre, cluster])
    _check_arms(df, treat, cluster, "the multiply-imputed ANCOVA")
    miss = df[post].isna().to_numpy()
    codes, uniq = pd.factorize(df[cluster])
    G = len(uniq)
    y = df[post].to_numpy(float)
    X = np.column_stack([np.ones(len(df)), df[treat], df[pre]])
    note = f"{miss.sum()} of {len(df)} post scores imputed ({miss.mean():.0%})"
    Xi, extra = _imputation_design(df, pre, treat, codes, G, miss, X)
    note += extra
    ests, variances = [], []
    for yy in _imputations(Xi, y, miss, m, np.random.default_rng(seed)):
        fit = _cluster.ols(X, yy, codes)
        ests.append(fit.beta[1])
        variances.append(_cluster.vcov(fit, se_type)[1, 1])
    if miss.any():
        est, var, dfree = _rubin(ests, variances, G - 1)
    else:
        est, var, dfree = ests[0], variances[0], float(G - 1)
        note = "no post score missing: equals the complete-case ANCOVA"
    se = float(np.sqrt(var))
    lo, hi, p = _t_interval(est, se, dfree, confidence)
    method = (
        f"ANCOVA with multiple imputation (m={m}, regression imputation, Rubin's "
        f"rules); {se_type} cluster-robust SE by organization"
    )
    row = _row("treated", float(est), se, est / se, dfree, lo, hi, p, len(df), G, method, note)
    return _frame([row])


def _imputation_design(df, pre, treat, codes, G, miss, X):
    """Imputation model: org dummies + pre (+ treat if it varies within orgs), else X."""
    if np.bincount(codes[~miss], minlength=G).min() > 0:
        Xi = np.column_stack([np.eye(G)[codes], df[pre]])
        if df.groupby(codes)[treat].nunique().max() > 1:
            Xi = np.column_stack([Xi, df[treat]])
        return Xi, ""
    return X, "; an organization has no observed post score: imputation model post ~ treat + pre"


def _imputations(Xi, y, miss, m, rng):
    """``m`` completed outcome vectors (proper imputation: beta and sigma drawn), or y once."""
    if not miss.any():
        yield y.copy()
        return
    Xo, yo = Xi[~miss], y[~miss]
    k = Xi.shape[1]
    if len(yo) - k < 2 or np.linalg.matrix_rank(Xo) < k:
        raise UsageError("too few observed post scores to fit the imputation model")
    xtx_inv = np.linalg.inv(Xo.T @ Xo)
    bhat = xtx_inv @ Xo.T @ yo
    rss = float(np.sum((yo - Xo @ bhat) ** 2))
    chol = np.linalg.cholesky(xtx_inv)
    for _ in range(m):
        yy = y.copy()
        s2 = rss / rng.chisquare(len(yo) - k)
        beta = bhat + np.sqrt(s2) * chol @ rng.standard_normal(k)
        yy[miss] = Xi[miss] @ beta + np.sqrt(s2) * rng.standard_normal(miss.sum())
        yield yy
