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
from ._results import (
    ES_COLUMNS,
    RESULT_COLUMNS,
    _binary,
    _check_arms,
    _check_confidence,
    _check_frame,
    _cluster_row,
    _frame,
    _numeric,
    _row,
    _se_type,
    _t_interval,
    not_estimable,
)
from .columns import WORKDAYS_PER_MONTH
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
    return df, X, df[post].to_numpy(float), df[cluster].to_numpy(), names


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


def _long_frame(long, y, wave, treat, cluster, worker, waves):
    if len(waves) != 2 or waves[0] == waves[1]:
        raise UsageError(f"waves must name two different waves (before, after); got {waves!r}")
    df = _check_frame(
        long, "long", {"y": y, "wave": wave, "treat": treat, "cluster": cluster, "worker": worker}
    )
    present = set(pd.unique(df[wave]))
    absent = [w for w in waves if w not in present]
    if absent:
        raise UsageError(
            f"column {wave!r} has no rows for wave(s) {', '.join(map(repr, absent))}; "
            f"found {', '.join(map(repr, sorted(map(str, present))))}"
        )
    df = df[df[wave].isin(waves)].copy()
    df[treat] = _binary(df[treat], treat)
    df[y] = _numeric(df[y], y)
    df = df.dropna(subset=[y, treat, cluster, worker])
    df["_post"] = (df[wave] == waves[1]).astype(float)
    df["_txp"] = df[treat] * df["_post"]
    return df


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
        df[cluster].to_numpy(),
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


def mixed(
    long,
    *,
    y="y",
    wave="wave",
    treat="treated",
    cluster="org_id",
    worker="worker_id",
    waves=("pre", "post"),
    confidence=0.95,
    org_wave_effect=True,
    engine="fast",
) -> pd.DataFrame:
    """Linear mixed model: ``y ~ treat * post`` with organization and worker random effects.

    Random effects: an organization intercept, a worker intercept nested in
    organization (the repeated measures) and, with ``org_wave_effect=True``
    (default), an organization-by-wave effect: organizations may change
    differently over time even without the program. Without that component
    the model assumes every organization would have changed alike, and its
    test of the interaction is anti-conservative whenever organizations
    drift: in a simulation with 20 organizations of 15 workers and independent
    organization shocks at each wave (ICC 0.05; 300 replications), the
    intercept-only model rejected a true null 16% of the time at the 5% level,
    this default 6%, the CR3 :func:`ancova` 4% and :func:`did` 3%. Prefer those
    for inference; this model is a sensitivity analysis.

    Engines (same model, same REML criterion):

    * ``"fast"`` (default): :func:`stseval._cluster.nested_reml`, REML with the
      residual variance profiled out and a closed-form inverse of each
      organization's covariance (worker blocks plus a 2 x 2 Woodbury update),
      so a likelihood evaluation is O(n): about 0.5 s for 100,000 worker-waves.
    * ``"statsmodels"``: ``MixedLM`` with ``groups = organization``,
      ``re_formula="1"`` and ``vc_formula={"worker": "0 + C(worker)",
      "org_wave": "0 + C(post)"}``, REML, L-BFGS (BFGS, CG next). Minutes for
      a few thousand workers per organization.

    The tests check that the engines agree. A worker seen in two organizations
    counts as a separate unit in each. If no worker is observed in both waves
    the worker component is dropped; if a fit fails, the organization-
    intercept-only model is tried; fallbacks, non-convergence and variance
    components estimated at (or near) zero are reported in ``note``.

    Inference: Wald t on G - 2 degrees of freedom (between-organization df, a
    stand-in for Kenward-Roger, which statsmodels lacks). Uses all available
    observations of the two waves (likelihood-based, valid under MAR).

    Returns
    -------
    DataFrame, one row, term ``"treated:post"``; ``n_workers`` = distinct
    workers, ``n_orgs`` = organizations.
    """
    confidence = _check_confidence(confidence)
    if engine not in ("fast", "statsmodels"):
        raise UsageError(f"engine must be 'fast' or 'statsmodels'; got {engine!r}")
    df = _long_frame(long, y, wave, treat, cluster, worker, waves)
    _check_arms(df, treat, cluster, "the mixed model")
    d = pd.DataFrame(
        {
            "y": df[y].to_numpy(float),
            "treated": df[treat].to_numpy(float),
            "post": df["_post"].to_numpy(float),
            "org": pd.factorize(df[cluster])[0],
            "worker": df.groupby([cluster, worker], sort=False).ngroup().to_numpy(),
        }
    )
    notes = []
    if d["worker"].max() + 1 > df[worker].nunique():
        notes.append("workers seen in more than one organization count once per organization")
    comps = []
    if np.bincount(d["worker"]).max() > 1:
        comps.append("worker")
    else:
        notes.append("no worker observed in both waves: worker variance component dropped")
    if org_wave_effect:
        comps.append("org_wave")
    fitter = _mixed_fast if engine == "fast" else _mixed_statsmodels
    est = se = np.nan
    used = comps
    for i, spec in enumerate([comps, []] if comps else [comps]):
        try:
            est, se, converged, zero = fitter(d, spec)
        except (np.linalg.LinAlgError, ValueError) as exc:
            notes.append(f"fit failed ({type(exc).__name__}: {exc})")
            continue
        used = spec
        if i > 0:
            notes.append("refitted with the organization random intercept only")
        if not converged:
            notes.append("the REML optimization did not converge")
            if i == 0 and comps:
                continue
        if zero:
            notes.append(f"variance component(s) estimated at or near zero: {', '.join(zero)}")
        break
    trouble = [n for n in notes if not n.startswith(("workers seen in more", "no worker observed"))]
    if trouble:
        warnings.warn(
            "mixed model: " + "; ".join(dict.fromkeys(trouble)), EstimationWarning, stacklevel=2
        )
    G = d["org"].nunique()
    labels = {"worker": "worker intercept", "org_wave": "org-by-wave"}
    random = ", ".join(["org intercept"] + [labels[k] for k in used])
    method = f"linear mixed model (REML; random: {random}), t(G-2)"
    dfree = float(G - 2)
    lo, hi, p = _t_interval(est, se, dfree, confidence)
    return _frame(
        [
            _row(
                "treated:post",
                est,
                se,
                est / se if se > 0 else np.nan,
                dfree,
                lo,
                hi,
                p,
                df[worker].nunique(),
                G,
                method,
                "; ".join(dict.fromkeys(notes)),
            )
        ]
    )


def _mixed_fast(d: pd.DataFrame, comps):
    X = np.column_stack([np.ones(len(d)), d["treated"], d["post"], d["treated"] * d["post"]])
    fit = _cluster.nested_reml(
        d["y"].to_numpy(),
        X,
        d["org"].to_numpy(),
        d["post"].to_numpy().astype(int),
        d["worker"].to_numpy(),
        org_wave="org_wave" in comps,
        worker_effect="worker" in comps,
    )
    return (float(fit.beta[3]), float(np.sqrt(fit.cov_beta[3, 3])), fit.converged, fit.at_zero)


def _mixed_statsmodels(d: pd.DataFrame, comps):
    import statsmodels.formula.api as smf

    vc = {k: {"worker": "0 + C(worker)", "org_wave": "0 + C(post)"}[k] for k in comps}
    # Record (not silence) statsmodels' warnings: the boundary/Hessian ones become the
    # "at or near zero" note, every one is passed on to the caller below.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record repeats too; re-emitted after the block
        model = smf.mixedlm(
            "y ~ treated * post",
            d,
            groups="org",
            re_formula="1",
            **({"vc_formula": vc} if vc else {}),
        )
        res = model.fit(reml=True, method=["lbfgs", "bfgs", "cg"])
        est = float(res.fe_params["treated:post"])
        se = float(res.bse_fe["treated:post"])
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    zero = (
        ["a variance component"]
        if any("Hessian" in str(w.message) or "boundary" in str(w.message) for w in caught)
        else []
    )
    return est, se, bool(res.converged), zero


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


# --------------------------------------------------------------------------- ITS

_ITS_RATES = {"separation_rate": "separations", "absence_rate": "absence_days"}


def its(
    org_months,
    *,
    indicator="separation_rate",
    org="org_id",
    month="month",
    treat="treated",
    start="start_date",
    working_days=WORKDAYS_PER_MONTH,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """Comparative interrupted time series of a monthly organizational indicator.

    Indicator: ``separation_rate`` = separations / headcount, ``absence_rate``
    = absence_days / (headcount * ``working_days``), or any numeric column
    already in the frame. Months with a missing indicator or headcount <= 0
    are dropped.

    Time is counted in months relative to each organization's reference month:
    a treated organization's ``start_date`` month (month 0 is the first
    "post" month), and for comparison organizations the median treated
    reference month (a pseudo start). Segmented regression, OLS on the rate
    with organization fixed effects:

        rate = org + b1 rel + b2 post + b3 since
               + treated x (g1 rel + g2 post + g3 since) + e,

    ``post`` = 1 from month 0, ``since`` = months since the start (0 before).
    ``level_change`` = g2 (the treated step at the start beyond the comparison
    series' step) and ``slope_change`` = g3 (per month), on the rate scale
    (e.g. -0.004 = 0.4 percentage points fewer separations a month).
    With fewer than 2 comparison organizations the comparison series is
    dropped and b2, b3 of the treated organizations alone are reported
    (single-group ITS, said in ``note``).

    Standard errors: cluster-robust by organization (``se_type``, CR3 by
    default, with the pseudo-inverse because of the fixed effects), which
    allows any autocorrelation within an organization; t on G - 1 df.
    Estimated with OLS rather than a count GLM so the estimate is directly a
    rate difference; months are unweighted.

    Returns
    -------
    DataFrame, two rows: terms ``level_change`` (primary) and
    ``slope_change``; ``n_orgs`` = organizations used, ``n_workers`` = <NA>.

    References
    ----------
    Bernal, J. L., Cummins, S., & Gasparrini, A. (2017). Interrupted time series
    regression for the evaluation of public health interventions: a tutorial.
    *International Journal of Epidemiology*, 46(1), 348-355. doi:10.1093/ije/dyw098
    """
    confidence = _check_confidence(confidence)
    se_type = _se_type(se_type)
    cols = {"org": org, "month": month, "treat": treat, "start": start}
    if indicator in _ITS_RATES:
        cols.update(
            {
                f"indicator={indicator!r}, denominator": "headcount",
                f"indicator={indicator!r}, numerator": _ITS_RATES[indicator],
            }
        )
    elif not (isinstance(org_months, pd.DataFrame) and indicator in org_months.columns):
        raise UsageError(
            f"indicator must be one of {', '.join(_ITS_RATES)} or a column of "
            f"org_months; got {indicator!r}"
        )
    else:
        cols["indicator"] = indicator
    df = _check_frame(org_months, "org_months", cols)
    if indicator in _ITS_RATES:
        hc = _numeric(df["headcount"], "headcount")
        num = _numeric(df[_ITS_RATES[indicator]], _ITS_RATES[indicator])
        denom = hc * (float(working_days) if indicator == "absence_rate" else 1.0)
        df["_rate"] = num / denom.where(hc > 0)
    else:
        df["_rate"] = _numeric(df[indicator], indicator)
    df[treat] = _binary(df[treat], treat)
    months = pd.to_datetime(df[month], errors="coerce")
    starts = pd.to_datetime(df[start], errors="coerce")
    df["_m"] = months.dt.year * 12 + months.dt.month - 1
    df["_s"] = starts.dt.year * 12 + starts.dt.month - 1
    df = df.dropna(subset=["_rate", "_m", treat, org])
    per_org = df.groupby(org).agg(t_min=(treat, "min"), t_max=(treat, "max"), s=("_s", "min"))
    if (per_org["t_min"] != per_org["t_max"]).any():
        raise UsageError(f"column {treat!r} must be constant within each organization")
    treated_orgs = per_org.index[per_org["t_min"] == 1]
    no_start = per_org.loc[treated_orgs, "s"].isna()
    if no_start.any():
        raise UsageError(
            f"treated organizations need a {start!r}; missing for "
            f"{', '.join(map(str, treated_orgs[no_start][:5]))}"
        )
    comp_orgs = per_org.index[per_org["t_min"] == 0]
    if len(treated_orgs) < 2:
        raise UsageError(
            f"the interrupted time series needs at least 2 treated organizations "
            f"with monthly data; got {len(treated_orgs)}"
        )
    note = ""
    comparative = len(comp_orgs) >= 2
    if not comparative:
        note = (
            f"only {len(comp_orgs)} comparison organization(s): single-group ITS of the "
            "treated organizations"
        )
        df = df[df[org].isin(treated_orgs)]
    ref = per_org["s"].copy()
    ref.loc[comp_orgs] = np.floor(per_org.loc[treated_orgs, "s"].median())
    rel = df["_m"] - df[org].map(ref)
    post = (rel >= 0).astype(float)
    since = rel.clip(lower=0)
    if not ((rel < 0) & (df[treat] == 1)).any() or not ((rel >= 0) & (df[treat] == 1)).any():
        raise UsageError(
            "the treated organizations need months both before and after their "
            f"{start!r} for an interrupted time series"
        )
    codes, uniq = pd.factorize(df[org])
    cols_x = [rel.to_numpy(float), post.to_numpy(float), since.to_numpy(float)]
    if comparative:
        t = df[treat].to_numpy(float)
        cols_x += [t * c for c in cols_x]
    # organization fixed effects swept out (same estimates and SEs as the dummies,
    # linear in the number of organizations; see _cluster.ols_absorbed)
    fit = _cluster.ols_absorbed(
        np.column_stack(cols_x),
        df["_rate"].to_numpy(float),
        codes,
        names=["rel", "post", "since"]
        + (["treated:rel", "treated:post", "treated:since"] if comparative else []),
    )
    base = 3 if comparative else 0
    label = "comparative" if comparative else "single-group"
    rows = []
    for term, col in (("level_change", base + 1), ("slope_change", base + 2)):
        r = _cluster_row(
            fit,
            col,
            term,
            se_type=se_type,
            df_method="G-1",
            confidence=confidence,
            n_workers=pd.NA,
            n_orgs=len(uniq),
            method=f"{label} interrupted time series of {indicator} "
            "(OLS, organization fixed effects)",
        )
        r["note"] = "; ".join(n for n in (note, r["note"]) if n)
        rows.append(r)
    return _frame(rows)


# --------------------------------------------------------------------------- multiplicity


def adjust_p(p, method="holm"):
    """Adjust p-values for multiple comparisons, ignoring NaNs.

    Parameters
    ----------
    p : array-like or Series
        p-values; NaNs stay NaN and do not count toward the number of tests.
    method : {"holm", "fdr_bh"}
        Holm's step-down family-wise correction or Benjamini-Hochberg false
        discovery rate, in NumPy (the same numbers as statsmodels'
        ``multipletests``, which calls ``gc.collect()`` on every call and was a
        large share of :func:`stseval.evaluate_all`'s time; issue 14).

    Holm: with sorted p_(1) <= ... <= p_(m), p~_(i) = max_{j <= i} min(1, (m - j + 1)
    p_(j)). BH: p~_(i) = min_{j >= i} min(1, m p_(j) / j).

    Returns
    -------
    Series (same index and name) if ``p`` is a Series, else an ndarray of the
    same shape.
    """
    if method not in ("holm", "fdr_bh"):
        raise UsageError(f"method must be 'holm' or 'fdr_bh'; got {method!r}")
    values = p.to_numpy() if isinstance(p, pd.Series) else p
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise UsageError("p must contain numbers (p-values) or NaN") from None
    flat = arr.ravel()
    ok = ~np.isnan(flat)
    if ((flat[ok] < 0) | (flat[ok] > 1)).any():
        raise UsageError("p-values must lie between 0 and 1")
    out = np.full(flat.shape, np.nan)
    if ok.any():
        out[ok] = _holm(flat[ok]) if method == "holm" else _bh(flat[ok])
    out = out.reshape(arr.shape)
    if isinstance(p, pd.Series):
        return pd.Series(out, index=p.index, name=p.name)
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="mergesort")[::-1]  # largest first
    adj = np.minimum(1.0, np.minimum.accumulate(m / np.arange(m, 0, -1) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def icc_by_org(values, orgs) -> float:
    """ICC(1) of ``values`` by organization from a one-way ANOVA.

    ICC(1) = (MSB - MSW) / (MSB + (n0 - 1) MSW), with n0 = (N - sum n_g^2 / N)
    / (G - 1) the average group size for unbalanced groups. Missing values are
    dropped. May be negative (returned as is).

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. *Psychological Bulletin*, 86(2), 420-428.
    doi:10.1037/0033-2909.86.2.420
    """
    v = pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce")
    o = pd.Series(np.asarray(orgs, dtype=object).ravel())
    if len(v) != len(o):
        raise UsageError(f"values and orgs must have the same length; got {len(v)} and {len(o)}")
    keep = v.notna() & o.notna()
    v, o = v[keep].astype(float), o[keep]
    n_g = v.groupby(o).size()
    G, N = len(n_g), int(n_g.sum())
    if G < 2 or N <= G:
        raise UsageError(
            f"ICC needs at least 2 organizations and more values than organizations; "
            f"got {G} organizations and {N} values"
        )
    means = v.groupby(o).transform("mean")
    msb = float(((means - v.mean()) ** 2).sum() / (G - 1))
    msw = float(((v - means) ** 2).sum() / (N - G))
    n0 = (N - float((n_g**2).sum()) / N) / (G - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw)
