"""Effect estimators: did staff outcomes change more where the guidance was adopted?

Every estimator takes plain pandas DataFrames and returns a tidy DataFrame
with the columns of :data:`RESULT_COLUMNS` (one row per reported term):

``term, estimate, se, statistic, df, ci_low, ci_high, p_value, n_workers,
n_orgs, method, note``

``n_workers`` / ``n_orgs`` count the workers and organizations in the rows
actually used (nullable integers; ``<NA>`` where there are no workers, as in
the monthly indicators). ``note`` is empty unless something needs saying
(convergence trouble, a fallback). Confidence intervals use ``confidence``
(two-sided); p-values are two-sided.

Input shapes
------------
* wide: one row per worker, ``worker_id, org_id, treated (0/1), pre, post``.
* long: ``worker_id, org_id, treated, wave ("pre"/"post"), y``.
* org-month: ``org_id, month, headcount, separations, absence_days, treated,
  start_date`` (``start_date`` NaT for comparison organizations).

Inference with few organizations
--------------------------------
Treatment is assigned to organizations, so worker-level regressions use
cluster-robust standard errors by organization with a small-sample
correction, CR3 by default (CR2 and the statsmodels-default CR1 on request),
and a t reference distribution on G - 1 degrees of freedom (G = number of
organizations); see :mod:`stseval._cluster`. Estimators refuse data with
fewer than 2 treated or 2 comparison organizations (:class:`UsageError`).

Missing data
------------
Unless said otherwise, complete cases: rows missing any variable the model
uses are dropped, and ``n_workers`` counts the rows kept. :func:`ancova_mi`
is the multiple-imputation sensitivity analysis; :func:`attrition_table`,
:func:`wwc_attrition` and :func:`baseline_equivalence` describe how much was
lost and whether the arms still look alike at baseline (they live in
:mod:`stseval.missing_data` and are re-exported here). Caller frames are
never modified.

The ITS lives in :mod:`stseval._its`, the mixed model in :mod:`stseval._mixed` and
the p-value adjustments in :mod:`stseval._multitest`; all are re-exported here.
A row that cannot be estimated (a constant outcome, an exact fit) keeps its
columns, has NaN numbers and says why in ``note`` (and as an
:class:`~stseval.errors.EstimationWarning`).

Tests (``tests/test_models.py``) check: point estimates and CR1 standard
errors against statsmodels; CR2 and CR3 against hand numpy computations, the
leave-one-cluster-out jackknife identity, the Imbens-Kolesar two-sample
identity and values computed with the R package clubSandwich 0.5.8; the
mixed model (both engines) against a direct statsmodels MixedLM call and the
simulated truth;
false-positive rates by simulation; Holm/BH against hand-worked values;
WWC boundary examples; and attrition counts by hand.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import _cluster
from ._args import negligible_spread
from ._its import its
from ._mixed import mixed
from ._multitest import adjust_p
from ._results import (
    ES_COLUMNS,
    RESULT_COLUMNS,
    _binary,
    _check_arms,
    _check_confidence,
    _check_frame,
    _cluster_row,
    _frame,
    _long_frame,
    _numeric,
    _row,
    _se_type,
    _t_interval,
    not_estimable,
)
from .errors import EstimationWarning, UsageError
from .missing_data import (
    ancova_mi,
    attrition_table,
    baseline_equivalence,
    wwc_attrition,
    wwc_max_differential,
)

__all__ = [
    "RESULT_COLUMNS",
    "paired_test",
    "wilcoxon_test",
    "ancova",
    "wild_bootstrap_p",
    "did",
    "mixed",
    "org_practice",
    "its",
    "adjust_p",
    "attrition_table",
    "wwc_max_differential",
    "wwc_attrition",
    "baseline_equivalence",
    "ancova_mi",
    "icc_by_org",
]

# --------------------------------------------------------------------------- paired


def _pairs(pre, post):
    a = pd.to_numeric(pd.Series(np.asarray(pre, dtype=object).ravel()), errors="coerce")
    b = pd.to_numeric(pd.Series(np.asarray(post, dtype=object).ravel()), errors="coerce")
    if len(a) != len(b):
        raise UsageError(f"pre and post must have the same length; got {len(a)} and {len(b)}")
    keep = a.notna() & b.notna()
    d = (b[keep] - a[keep]).to_numpy(float)
    if len(d) < 2:
        raise UsageError(f"need at least 2 complete pre/post pairs; got {len(d)}")
    return d, keep.to_numpy()


def _count_orgs(orgs, keep):
    if orgs is None:
        return pd.NA
    o = np.asarray(orgs, dtype=object).ravel()
    if len(o) != len(keep):
        raise UsageError(
            f"orgs must have the same length as pre/post; got {len(o)} and {len(keep)}"
        )
    return int(pd.Series(o[keep]).nunique())


def paired_test(pre, post, *, orgs=None, confidence=0.95) -> pd.DataFrame:
    """Paired t-test of the mean change ``post - pre`` (one arm, no comparison).

    Parameters
    ----------
    pre, post : array-like
        Scores of the same workers, aligned by position. Pairs with either
        value missing are dropped (complete pairs).
    orgs : array-like, optional
        Organization of each pair, only to fill ``n_orgs``.
    confidence : float

    Returns
    -------
    DataFrame, one row, term ``"change"``: ``estimate`` = mean difference,
    ``se`` = SD(d)/sqrt(n), ``statistic`` = t, ``df`` = n - 1, t-based CI and
    p-value (equal to :func:`scipy.stats.ttest_rel`), ``n_workers`` = pairs.
    Ignores clustering: a descriptive check, not the evaluation estimate.
    """
    confidence = _check_confidence(confidence)
    d, keep = _pairs(pre, post)
    n = len(d)
    est = float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(n))
    note = ""
    if negligible_spread(float(d.std(ddof=1)), np.abs(d) + np.abs(est)):
        se = np.nan
        note = "all changes are identical (SD 0 up to rounding); no test possible"
        warnings.warn(note, EstimationWarning, stacklevel=2)
    lo, hi, p = _t_interval(est, se, n - 1, confidence)
    return _frame(
        [
            _row(
                "change",
                est,
                se,
                est / se if se > 0 else np.nan,
                n - 1,
                lo,
                hi,
                p,
                n,
                _count_orgs(orgs, keep),
                "paired t-test",
                note,
            )
        ]
    )


def _signrank_quantile(n: int, prob: float) -> int:
    """Smallest x with P(V <= x) >= prob for the exact signed-rank statistic V (no ties)."""
    m = n * (n + 1) // 2
    counts = np.zeros(m + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    cdf = np.cumsum(counts) / 2.0**n
    return int(np.searchsorted(cdf, prob - 1e-12))


def wilcoxon_test(pre, post, *, orgs=None, confidence=0.95) -> pd.DataFrame:
    """Wilcoxon signed-rank test of ``post - pre`` with the Hodges-Lehmann estimate.

    Returns
    -------
    DataFrame, one row, term ``"change"``: ``estimate`` = Hodges-Lehmann
    pseudo-median (median of the Walsh averages (d_i + d_j)/2, i <= j);
    ``statistic`` and ``p_value`` from :func:`scipy.stats.wilcoxon` (zero
    differences dropped, the Wilcoxon convention); ``se`` and ``df`` are NaN.
    The CI is the distribution-free interval of sorted Walsh averages,
    ``[W_(q), W_(M-q+1)]`` with q from the exact signed-rank distribution when
    n < 50 and there are no ties or zeros (as R's ``wilcox.test``), otherwise
    from the normal approximation q = floor(M/2 - z sqrt(n(n+1)(2n+1)/24)),
    which is approximate with ties. ``n_workers`` = complete pairs.

    References
    ----------
    Hollander, M., Wolfe, D. A., & Chicken, E. (2014). *Nonparametric Statistical
    Methods* (3rd ed.), section 3.3. Wiley. doi:10.1002/9781119196037
    """
    confidence = _check_confidence(confidence)
    d, keep = _pairs(pre, post)
    n_pairs = len(d)
    note = ""
    dz = d[d != 0]
    n = len(dz)
    if n == 0:
        stat, p = np.nan, np.nan
        note = "all changes are zero; no test possible"
    else:
        res = stats.wilcoxon(d)
        stat, p = float(res.statistic), float(res.pvalue)
    i, j = np.triu_indices(n_pairs)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    est = float(np.median(walsh))
    m = len(walsh)
    alpha = 1 - confidence
    ties = len(np.unique(np.abs(dz))) < n
    if n_pairs < 50 and n == n_pairs and not ties:
        q = max(_signrank_quantile(n_pairs, alpha / 2), 1)
    else:
        z = stats.norm.ppf(1 - alpha / 2)
        sd_v = np.sqrt(n_pairs * (n_pairs + 1) * (2 * n_pairs + 1) / 24)
        q = max(int(np.floor(m / 2 - z * sd_v)), 1)
    lo, hi = float(walsh[q - 1]), float(walsh[m - q])
    return _frame(
        [
            _row(
                "change",
                est,
                np.nan,
                stat,
                np.nan,
                lo,
                hi,
                p,
                n_pairs,
                _count_orgs(orgs, keep),
                "Wilcoxon signed-rank, Hodges-Lehmann estimate",
                note,
            )
        ]
    )


# --------------------------------------------------------------------------- ANCOVA


def _ancova_design(data, pre, post, treat, cluster, covariates):
    cols = {"post": post, "treat": treat, "pre": pre, "cluster": cluster}
    cols.update({f"covariates[{i}]": c for i, c in enumerate(covariates)})
    df = _check_frame(data, "data", cols)
    df[treat] = _binary(df[treat], treat)
    for c in [pre, post, *covariates]:
        df[c] = _numeric(df[c], c)
    df = df.dropna()
    _check_arms(df, treat, cluster, "the ANCOVA")
    names = ["intercept", treat, pre, *covariates]
    X = np.column_stack([np.ones(len(df)), df[treat], df[pre]] + [df[c] for c in covariates])
    return df, X, df[post].to_numpy(float), _codes(df[cluster]), names


def _codes(labels: pd.Series) -> np.ndarray:
    """Integer cluster codes numbered in the sorted order of the labels (as np.unique).

    The cluster-robust code groups rows by these exactly as by the labels, in the
    same order, without turning string labels into Python objects.
    """
    return pd.factorize(labels, sort=True)[0]


def ancova(
    data,
    *,
    pre="pre",
    post="post",
    treat="treated",
    cluster="org_id",
    covariates: Sequence[str] = (),
    confidence=0.95,
    se_type="CR3",
    df_method="G-1",
) -> pd.DataFrame:
    """ANCOVA: OLS ``post ~ treat + pre (+ covariates)``, cluster-robust by organization.

    Parameters
    ----------
    data : DataFrame
        Worker-level wide frame.
    pre, post, treat, cluster : str
        Column names (``treat`` is 0/1).
    covariates : sequence of str
        Extra numeric worker-level covariates.
    confidence : float
    se_type : {"CR3", "CR2", "CR1", "CR0"}
        Cluster-robust variance (see :mod:`stseval._cluster`). CR1 equals
        statsmodels ``cov_type="cluster"``; CR2/CR3 are the small-sample
        corrections suited to 10-40 clusters.
    df_method : {"G-1", "satterthwaite"}
        Degrees of freedom of the t reference distribution.

    Returns
    -------
    DataFrame, one row, term ``"treated"``: the treatment coefficient (adjusted
    post-test difference, treated - comparison), its SE, t, df, CI, p;
    ``n_workers`` = complete-case rows used, ``n_orgs`` = organizations.

    Raises
    ------
    UsageError
        Missing columns, non-0/1 treatment, fewer than 2 organizations per arm,
        or a rank-deficient design.
    """
    confidence = _check_confidence(confidence)
    se_type = _se_type(se_type)
    df, X, y, codes, names = _ancova_design(data, pre, post, treat, cluster, covariates)
    method = "ANCOVA (OLS post ~ treated + pre)"
    if negligible_spread(float(np.std(y)), y):
        reason = (
            f"not estimated: column {post!r} has the same value ({y[0]:g}) in every row "
            "used, so there is no difference between the arms to estimate"
        )
        return _frame([not_estimable("treated", reason, len(df), df[cluster].nunique(), method)])
    fit = _cluster.ols(X, y, codes, names=names)
    row = _cluster_row(
        fit,
        1,
        "treated",
        se_type=se_type,
        df_method=df_method,
        confidence=confidence,
        n_workers=len(df),
        n_orgs=df[cluster].nunique(),
        method=method,
    )
    return _frame([row])


def wild_bootstrap_p(
    data,
    *,
    pre="pre",
    post="post",
    treat="treated",
    cluster="org_id",
    covariates: Sequence[str] = (),
    n_boot=999,
    weights="webb",
    seed=0,
) -> float:
    """Wild cluster bootstrap p-value (null imposed, WCR) for the ANCOVA treatment effect.

    The restricted model ``post ~ pre (+ covariates)`` provides fitted values
    and residuals; each of ``n_boot`` replicates flips the residuals of whole
    organizations with one weight per organization (``"webb"`` six-point
    weights, recommended below ~12 clusters, or ``"rademacher"`` +-1) and
    refits the full model; the statistic is t with CR1 standard errors. The
    p-value is the share of replicates with ``|t*| >= |t|`` (symmetric).
    Same complete-case sample and checks as :func:`ancova`.

    Returns
    -------
    float
        The bootstrap p-value; reproducible for a given ``seed``.

    References
    ----------
    Cameron, Gelbach & Miller (2008), doi:10.1162/rest.90.3.414; Webb (2023),
    doi:10.1111/caje.12661.
    """
    if int(n_boot) < 99:
        raise UsageError(f"n_boot must be at least 99; got {n_boot!r}")
    _, X, y, codes, _ = _ancova_design(data, pre, post, treat, cluster, covariates)
    rng = np.random.default_rng(seed)
    return _cluster.wild_cluster_bootstrap_p(
        X, y, codes, 1, n_boot=int(n_boot), weights=str(weights).lower(), rng=rng
    )


# --------------------------------------------------------------------------- long form


def did(
    long,
    *,
    y="y",
    wave="wave",
    treat="treated",
    cluster="org_id",
    worker="worker_id",
    waves=("pre", "post"),
    confidence=0.95,
    se_type="CR3",
    df_method="G-1",
) -> pd.DataFrame:
    """Difference-in-differences: OLS ``y ~ treat * post_wave``, cluster-robust by organization.

    Uses every available observation of the two ``waves`` (workers seen only
    once still contribute); rows of other waves are ignored. With complete
    pairs this equals the difference in mean change between the arms.

    Returns
    -------
    DataFrame, one row, term ``"treated:post"``: the interaction coefficient
    (change in treated minus change in comparison), with ``se_type`` SE by
    organization and t on G - 1 df (or Satterthwaite). ``n_workers`` =
    distinct workers in the rows used.
    """
    confidence = _check_confidence(confidence)
    se_type = _se_type(se_type)
    df = _long_frame(long, y, wave, treat, cluster, worker, waves)
    _check_arms(df, treat, cluster, "the difference-in-differences")
    X = np.column_stack([np.ones(len(df)), df[treat], df["_post"], df["_txp"]])
    fit = _cluster.ols(
        X,
        df[y].to_numpy(float),
        _codes(df[cluster]),
        names=["intercept", treat, "post", "treated:post"],
    )
    row = _cluster_row(
        fit,
        3,
        "treated:post",
        se_type=se_type,
        df_method=df_method,
        confidence=confidence,
        n_workers=df[worker].nunique(),
        n_orgs=df[cluster].nunique(),
        method="difference-in-differences (OLS y ~ treated * post)",
    )
    return _frame([row])


def org_practice(
    long,
    *,
    y="y",
    wave="wave",
    treat="treated",
    cluster="org_id",
    worker="worker_id",
    waves=("pre", "post"),
    confidence=0.95,
) -> pd.DataFrame:
    """Organization-level practice change: Welch t-test of org mean change by arm.

    The practice score (an organizational guidance inventory scale) is
    averaged per organization and wave over the workers who answered; each
    organization's change is post mean - pre mean (organizations lacking a
    wave are dropped); the arms' mean changes are compared with Welch's
    unequal-variance t-test.

    Returns
    -------
    DataFrame, one row, term ``"treated - comparison"``: ``estimate`` =
    difference in mean org change, Welch SE, t, Welch-Satterthwaite df, CI,
    p (as :func:`scipy.stats.ttest_ind` with ``equal_var=False``);
    ``n_orgs`` = organizations with both waves, ``n_workers`` = workers
    contributing to them; plus ``effect_size`` = Hedges' g of the org
    changes (pooled SD, J = 1 - 3/(4(G1+G0) - 9)), ``es_type`` =
    ``"hedges_g_org_change"`` and its approximate normal CI
    (var = (G1+G0)/(G1 G0) + g^2 / (2(G1+G0))).
    """
    confidence = _check_confidence(confidence)
    df = _long_frame(long, y, wave, treat, cluster, worker, waves)
    means = df.groupby([cluster, "_post"])[y].mean().unstack("_post")
    arm = df.groupby(cluster)[treat].agg(["min", "max"])
    if (arm["min"] != arm["max"]).any():
        bad = ", ".join(map(str, arm.index[arm["min"] != arm["max"]][:5]))
        raise UsageError(
            f"column {treat!r} must be constant within each organization for "
            f"org_practice; it varies in {bad}"
        )
    means = means.reindex(columns=[0.0, 1.0]).dropna()
    change = (means[1.0] - means[0.0]).rename("change").to_frame()
    change["arm"] = arm.loc[change.index, "min"]
    _check_arms(change.reset_index(), "arm", cluster, "the org-level practice comparison")
    a = change.loc[change["arm"] == 1, "change"].to_numpy(float)
    b = change.loc[change["arm"] == 0, "change"].to_numpy(float)
    n1, n0 = len(a), len(b)
    v1, v0 = a.var(ddof=1) / n1, b.var(ddof=1) / n0
    est = float(a.mean() - b.mean())
    se = float(np.sqrt(v1 + v0))
    dfree = float((v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))) if se > 0 else np.nan
    lo, hi, p = _t_interval(est, se, dfree, confidence)
    sp = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n0 - 1) * b.var(ddof=1)) / (n1 + n0 - 2))
    g = (1 - 3 / (4 * (n1 + n0) - 9)) * est / sp if sp > 0 else np.nan
    vg = (n1 + n0) / (n1 * n0) + g**2 / (2 * (n1 + n0))
    zq = stats.norm.ppf(0.5 + confidence / 2)
    n_w = df.loc[df[cluster].isin(change.index), worker].nunique()
    row = _row(
        "treated - comparison",
        est,
        se,
        est / se if se > 0 else np.nan,
        dfree,
        lo,
        hi,
        p,
        n_w,
        n1 + n0,
        "Welch t-test of organization mean change (post - pre)",
    )
    row.update(
        effect_size=g,
        es_type="hedges_g_org_change",
        es_description="Hedges' g of the organizations' mean changes (treated - comparison), "
        "pooled SD of the organization changes",
        es_ci_low=g - zq * np.sqrt(vg),
        es_ci_high=g + zq * np.sqrt(vg),
    )
    return _frame([row], extra=ES_COLUMNS)


def icc_by_org(values, orgs) -> float:
    """ICC(1) of ``values`` by organization from a one-way ANOVA.

    ICC(1) = (MSB - MSW) / (MSB + (n0 - 1) MSW), with n0 = (N - sum n_g^2 / N)
    / (G - 1) the average group size for unbalanced groups. Missing values are
    dropped. May be negative (returned as is). The same number as the ``icc1``
    column of :func:`stseval.reliability.icc`, which computes it (one policy, issue 9).

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. *Psychological Bulletin*, 86(2), 420-428.
    doi:10.1037/0033-2909.86.2.420
    """
    from .reliability import icc

    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":  # numeric already: no element-by-element conversion
        v = pd.Series(arr.ravel().astype(float))
    else:
        v = pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce")
    # Organizations as integer codes (first-appearance order, as the labels would group).
    o = pd.Series(pd.factorize(np.asarray(orgs, dtype=object).ravel())[0])
    if len(v) != len(o):
        raise UsageError(f"values and orgs must have the same length; got {len(v)} and {len(o)}")
    keep = v.notna() & (o >= 0)
    return float(icc(v[keep].astype(float), o[keep])["icc1"].iloc[0])
