"""Power and sample size for pre/post and cluster (organization-level) evaluations.

Three tools:

* paired pre/post designs (one group of staff measured twice): exact power of the
  two-sided paired t test (noncentral t), for a
  standardized mean change ``d_z`` (mean change / SD of the changes, see
  :func:`stseval.effects.paired`);
* two-arm cluster designs (organizations compared or randomized, staff outcome
  adjusted for its pre-test by ANCOVA): the usual design-effect formula;
* power by simulation of a full :func:`stseval.simulate` study analysed with
  :func:`stseval.evaluate_area`.

Cluster formula. With ``k`` clusters per arm of (average) size ``m``, intracluster
correlation ``icc`` and pre/post correlation ``r`` of the outcome, the standard
error of the standardized difference between arms is
``se = sqrt(2 * DE * (1 - r^2) / (k * m))`` with design effect ``DE = 1 + (m - 1) icc``
(Donner & Klar, 2000, ch. 5; Hemming et al., 2011); the factor ``1 - r^2`` is the
variance reduction from adjusting for the pre-test (Borm et al., 2007), taken to be
the same at both levels (a simplification, see Teerenstra et al., 2012). Power is
from the noncentral t with ``df = 2k - 2`` (total clusters minus 2) and noncentrality
``d / se``, so few-cluster designs are not flattered by a normal approximation.
``d`` is standardized by the total (between- plus within-cluster) SD.

Tails of the noncentral t. Power is ``P(T > t_crit) + P(T < -t_crit)``; both terms
come from the survival function, the lower one with the noncentrality's sign
flipped (``P(T < -t) = sf(t; df, -ncp)``), never from ``1 - cdf``, which is NaN or
wrong far in a tail (large ``n``, many clusters, few degrees of freedom).

References
----------
Borm, G. F., Fransen, J., & Lemmens, W. A. (2007). A simple sample size formula for
analysis of covariance in randomized clinical trials. *Journal of Clinical
Epidemiology*, 60(12), 1234-1238. doi:10.1016/j.jclinepi.2007.02.006
Donner, A., & Klar, N. (2000). *Design and analysis of cluster randomization trials
in health research*. London: Arnold (no DOI).
Eldridge, S. M., Ashby, D., & Kerry, S. (2006). Sample size for cluster randomized
trials: effect of coefficient of variation of cluster size and analysis method.
*International Journal of Epidemiology*, 35(5), 1292-1300. doi:10.1093/ije/dyl129
Hemming, K., Girling, A. J., Sitch, A. J., Marsh, J., & Lilford, R. J. (2011).
Sample size calculations for cluster randomised controlled trials with a fixed
number of clusters. *BMC Medical Research Methodology*, 11, 102.
doi:10.1186/1471-2288-11-102
Teerenstra, S., Eldridge, S., Graff, M., de Hoop, E., & Borm, G. F. (2012). A simple
sample size formula for analysis of covariance in cluster randomized trials.
*Statistics in Medicine*, 31(20), 2169-2178. doi:10.1002/sim.5352

Tests (``tests/test_power.py``) check G*Power's paired-t sample sizes (34 pairs for
d_z = 0.5, 90 for 0.3), hand-computed design effects, the equivalence of the cluster
formula with an independent-samples t test on effective sizes, and
:func:`simulate_power` against fake simulators with known p-value distributions.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._args import check_confidence, real_number, whole_number
from .areas import outcome_label
from .areas import primary_outcome as _primary_outcome
from .errors import UsageError

__all__ = [
    "paired_n",
    "paired_power",
    "paired_mde",
    "cluster_design_effect",
    "cluster_power",
    "cluster_n_clusters",
    "cluster_mde",
    "simulate_power",
    "SIMULATED_POWER_COLUMNS",
    "design_inputs",
    "design_inputs_text",
    "mde_text",
    "power_grid",
    "sample_sizes",
]

#: Columns of the one-row table returned by :func:`simulate_power`.
SIMULATED_POWER_COLUMNS = [
    "area",
    "outcome",
    "estimator",
    "n_reps",
    "n_valid",
    "n_significant",
    "power",
    "ci_low",
    "ci_high",
    "mean_estimate",
]


# ----------------------------------------------------------------------------- checks


def _open_unit(value, name: str) -> float:
    value = real_number(value, name)
    if not 0 < value < 1:
        raise UsageError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return value


def _effect(d) -> float:
    d = real_number(d, "d")
    if d == 0:
        raise UsageError("d must not be 0 (no sample size detects a zero effect)")
    return abs(d)


# ----------------------------------------------------------------------------- noncentral t
def _t_power(ncp: float, df: float, alpha: float) -> float:
    """Two-sided power ``P(|T| > t_crit)``, ``T`` ~ noncentral t(df, ncp), from survival functions.

    Both tails use ``stats.nct.sf``: the upper tail ``sf(t_crit; ncp)`` and the lower tail
    ``P(T < -t_crit) = sf(t_crit; -ncp)`` (T with ncp is -T with -ncp). ``1 - cdf`` would
    lose every digit far in the tail and return NaN (issue 9).
    """
    tcrit = stats.t.isf(alpha / 2, df)
    upper = stats.nct.sf(tcrit, df, ncp)
    lower = stats.nct.sf(tcrit, df, -ncp)
    power = float(np.nan_to_num(upper, nan=0.0) + np.nan_to_num(lower, nan=0.0))
    if not (np.isfinite(upper) or np.isfinite(lower)):  # pragma: no cover - scipy failure
        return float("nan")
    return min(power, 1.0)


def _smallest_n(power_at, target: float, start: int, limit: int, what: str) -> int:
    """Smallest whole ``n >= start`` with ``power_at(n) >= target`` (power increases with n)."""
    if power_at(start) >= target:
        return start
    lo, hi = start, start * 2
    while power_at(hi) < target:
        lo, hi = hi, hi * 2
        if hi > limit:
            raise UsageError(f"more than {limit} {what} would be needed for power {target}")
    while hi - lo > 1:  # power_at(lo) < target <= power_at(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power_at(mid) >= target else (mid, hi)
    return hi


def _smallest_d(power_of_d, target: float, what: str) -> float:
    """Root of ``power_of_d(d) = target`` for d > 0; UsageError when no d reaches it."""
    hi = 1.0
    while power_of_d(hi) < target:
        hi *= 2
        if hi > 1e6:
            raise UsageError(f"no effect size reaches power {target} with {what}")
    return float(optimize.brentq(lambda d: power_of_d(d) - target, 1e-12, hi, xtol=1e-10))


# ----------------------------------------------------------------------------- paired t
def paired_power(d, n, *, confidence=0.95) -> float:
    """Power of the two-sided paired t test with ``n`` pairs at effect ``d`` (= d_z).

    Noncentral t with ``df = n - 1`` and noncentrality ``d * sqrt(n)``, both tails
    from the survival function (see the module docstring); the same number as
    ``statsmodels.stats.power.TTestPower().power`` and R ``pwr.t.test(type="paired")``
    where those are finite.
    """
    d = _effect(d)
    n = whole_number(n, "n", 2)
    alpha = 1 - check_confidence(confidence)
    return _t_power(d * math.sqrt(n), n - 1, alpha)


def paired_n(d, *, power=0.8, confidence=0.95) -> int:
    """Pairs needed for a two-sided paired t test to reach ``power`` at effect ``d`` (= d_z).

    The smallest whole number of pairs (at least 2) with :func:`paired_power` at or
    above ``power`` (a search over whole numbers, no rounding of a continuous
    solution). Use d_z (mean change / SD of the changes), not d_av: with r the
    pre/post correlation, ``d_z = d_av / sqrt(2(1 - r))`` for equal SDs (Lakens, 2013).
    """
    d = _effect(d)
    power = _open_unit(power, "power")
    alpha = 1 - check_confidence(confidence)
    return _smallest_n(lambda n: _t_power(d * math.sqrt(n), n - 1, alpha), power, 2, 10**9, "pairs")


def paired_mde(n, *, power=0.8, confidence=0.95) -> float:
    """Smallest d_z the two-sided paired t test with ``n`` pairs detects with ``power``."""
    n = whole_number(n, "n", 2)
    power = _open_unit(power, "power")
    alpha = 1 - check_confidence(confidence)
    if power <= alpha:
        raise UsageError(f"power must exceed 1 - confidence ({alpha}), got {power}")
    return _smallest_d(lambda d: _t_power(d * math.sqrt(n), n - 1, alpha), power, f"n={n} pairs")


# ----------------------------------------------------------------------------- cluster designs
def cluster_design_effect(icc, cluster_size, *, cv=0.0) -> float:
    """Design effect of cluster sampling: ``1 + ((cv^2 + 1) m - 1) icc``.

    With ``cv=0`` (equal clusters) this is the familiar ``1 + (m - 1) icc``.

    Parameters
    ----------
    icc : float
        Intracluster correlation, in [0, 1].
    cluster_size : float
        Staff per organization ``m``; may be an average (not necessarily whole).
    cv : float
        Coefficient of variation (SD / mean) of the cluster sizes; the formula with
        ``cv`` is from Eldridge et al. (2006), for analyses weighting people equally.
    """
    icc = real_number(icc, "icc")
    if not 0 <= icc <= 1:
        raise UsageError(f"icc must be between 0 and 1, got {icc!r}")
    m = real_number(cluster_size, "cluster_size")
    if m < 1:
        raise UsageError(f"cluster_size must be at least 1, got {cluster_size!r}")
    cv = real_number(cv, "cv")
    if cv < 0:
        raise UsageError(f"cv must be 0 or more, got {cv!r}")
    return 1 + ((cv**2 + 1) * m - 1) * icc


def _cluster_power(d, k, m, icc, r, cv, alpha) -> float:
    de = cluster_design_effect(icc, m, cv=cv)
    ncp = d / math.sqrt(2 * de * (1 - r**2) / (k * m))
    return _t_power(ncp, 2 * k - 2, alpha)


def _cluster_args(cluster_size, icc, r_prepost, cv, confidence):
    cluster_design_effect(icc, cluster_size, cv=cv)  # validates icc, cluster_size, cv
    r = real_number(r_prepost, "r_prepost")
    if not -1 < r < 1:
        raise UsageError(f"r_prepost must be strictly between -1 and 1, got {r_prepost!r}")
    return float(cluster_size), float(icc), r, float(cv), 1 - check_confidence(confidence)


def cluster_power(
    d, *, n_clusters_per_arm, cluster_size, icc, r_prepost=0.0, cv=0.0, confidence=0.95
) -> float:
    """Power of a two-arm cluster comparison of a pre-test-adjusted staff outcome.

    Parameters
    ----------
    d : float
        Difference between arms in total-SD units.
    n_clusters_per_arm : int
        Organizations per arm (at least 2).
    cluster_size, icc, cv
        See :func:`cluster_design_effect`.
    r_prepost : float
        Pre/post correlation of the outcome; ANCOVA multiplies the variance by ``1 - r^2``.
    confidence : float
        Two-sided test at ``alpha = 1 - confidence``.

    Returns the power from the noncentral t with ``df = 2 * n_clusters_per_arm - 2``
    (formula in the module docstring).
    """
    d = _effect(d)
    k = whole_number(n_clusters_per_arm, "n_clusters_per_arm", 2)
    m, icc, r, cv, alpha = _cluster_args(cluster_size, icc, r_prepost, cv, confidence)
    return _cluster_power(d, k, m, icc, r, cv, alpha)


def cluster_n_clusters(
    d, *, cluster_size, icc, power=0.8, r_prepost=0.0, cv=0.0, confidence=0.95, max_clusters=100_000
) -> int:
    """Smallest number of organizations per arm giving ``power`` (see :func:`cluster_power`).

    Raises :class:`~stseval.errors.UsageError` when even ``max_clusters`` per arm is not
    enough (possible with a large icc: power is capped as clusters grow only in size).
    """
    d = _effect(d)
    target = _open_unit(power, "power")
    m, icc, r, cv, alpha = _cluster_args(cluster_size, icc, r_prepost, cv, confidence)
    limit = whole_number(max_clusters, "max_clusters", 2)
    return _smallest_n(
        lambda k: _cluster_power(d, k, m, icc, r, cv, alpha),
        target,
        2,
        limit,
        f"organizations per arm (max_clusters={limit}) at d={d}",
    )


def cluster_mde(
    *, n_clusters_per_arm, cluster_size, icc, power=0.8, r_prepost=0.0, cv=0.0, confidence=0.95
) -> float:
    """Smallest ``d`` (total-SD units) detected with ``power`` by a two-arm cluster design."""
    k = whole_number(n_clusters_per_arm, "n_clusters_per_arm", 2)
    target = _open_unit(power, "power")
    m, icc, r, cv, alpha = _cluster_args(cluster_size, icc, r_prepost, cv, confidence)
    if target <= alpha:
        raise UsageError(f"power must exceed 1 - confidence ({alpha}), got {target}")
    return _smallest_d(
        lambda d: _cluster_power(d, k, m, icc, r, cv, alpha),
        target,
        f"{k} organizations per arm",
    )


# ----------------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class _Rep:
    """One replication's inputs (a task of :func:`stseval.parallel.map_tasks`)."""

    simulate: object
    evaluate_area: object
    design: object
    area: str
    outcome: str
    seed: int

    def __repr__(self) -> str:
        return f"replication(area={self.area!r}, outcome={self.outcome!r}, seed={self.seed})"


def _one_rep(rep: _Rep):
    """One replication: (p_value, estimate) of the ancova row for ``outcome``, NaN if absent."""
    study = rep.simulate(rep.design, seed=rep.seed)
    # Only the primary estimate is needed: skip the other estimators and outcomes.
    table = rep.evaluate_area(study, rep.area, outcomes=[rep.outcome], estimators=["ancova"])
    rows = table[(table["estimator"] == "ancova") & (table["outcome"] == rep.outcome)]
    if rows.empty:
        return float("nan"), float("nan")
    row = rows.iloc[0]
    return float(row["p_value"]), float(row["estimate"])


def simulate_power(
    design,
    *,
    area,
    outcome="stss_total",
    n_reps=100,
    confidence=0.95,
    jobs=None,
    seed=0,
    progress=True,
    scheduler=None,
    client=None,
) -> pd.DataFrame:
    """Power by simulation: share of simulated studies where the ANCOVA estimate is significant.

    Replication ``i`` (``i = 0 .. n_reps - 1``) runs
    ``stseval.evaluate_area(stseval.simulate(design, seed=seed + i), area)`` and keeps
    the row with ``estimator == "ancova"`` and ``outcome == outcome``. A replication
    is significant when its ``p_value < 1 - confidence``. Replications without that
    row or with a missing p-value are counted in ``n_reps`` but not in ``n_valid``
    and left out of the share; an error raised by a replication stops the run once
    the others finished (:class:`stseval.parallel.ParallelTaskError` names its seed).

    The seed of a replication is fixed by its index, so the table is the same
    whatever runs the replications (this process, a process pool, a Dask cluster).

    Parameters
    ----------
    design : stseval.StudyDesign
        Passed to :func:`stseval.simulate` unchanged (it must be picklable for jobs > 1).
    area : str
        Area key passed to :func:`stseval.evaluate_area`.
    outcome : str
        Outcome whose ANCOVA row is used.
    n_reps : int
        Number of simulated studies.
    confidence : float
        Sets the test level ``1 - confidence`` and the level of the Wilson interval.
    jobs : int, optional
        Workers (default: all cores, at most ``n_reps``). ``jobs=1`` without
        ``scheduler``/``client`` runs in this process.
    seed : int
        Seed of the first replication.
    progress : bool
        Show a tqdm progress bar.
    scheduler, client
        Where the replications run (:func:`stseval.parallel.map_tasks`): ``"local"``
        (a Dask ``LocalCluster``, the default with Dask installed), ``"processes"``,
        a Dask address, or an open ``distributed.Client``.

    Returns
    -------
    pandas.DataFrame
        One row with :data:`SIMULATED_POWER_COLUMNS`: ``area, outcome, estimator``
        (``"ancova"``), ``n_reps, n_valid, n_significant``, ``power``
        (= n_significant / n_valid), ``ci_low, ci_high`` (Wilson interval, statsmodels
        ``proportion_confint``), ``mean_estimate`` (mean ANCOVA estimate over valid
        replications).
    """
    import stseval
    from stseval.parallel import map_tasks

    n_reps = whole_number(n_reps, "n_reps", 1)
    alpha = 1 - check_confidence(confidence)
    seed = whole_number(seed, "seed", 0)
    if jobs is None:
        jobs = min(os.cpu_count() or 1, n_reps)
    jobs = whole_number(jobs, "jobs", 1)
    if not isinstance(area, str):
        raise UsageError(f"area must be an area key (a string), got {area!r}")
    if jobs == 1 and scheduler is None and client is None:
        scheduler = "processes"  # one job: run here, no cluster to start
    # Resolved here, in the parent, so that the same callables run in every worker.
    simulate, evaluate_area = stseval.simulate, stseval.evaluate_area
    tasks = [_Rep(simulate, evaluate_area, design, area, outcome, seed + i) for i in range(n_reps)]
    results = map_tasks(
        _one_rep,
        tasks,
        scheduler=scheduler,
        client=client,
        jobs=jobs,
        progress=progress,
        desc=f"simulating {area}/{outcome}",
    )
    return _power_table(results, area, outcome, n_reps, alpha)


def _power_table(results, area, outcome, n_reps, alpha) -> pd.DataFrame:
    """The one-row :data:`SIMULATED_POWER_COLUMNS` table from the replications' results."""
    from statsmodels.stats.proportion import proportion_confint

    p = np.array([r[0] for r in results], dtype=float)
    est = np.array([r[1] for r in results], dtype=float)
    valid = ~np.isnan(p)
    n_valid = int(valid.sum())
    n_sig = int((p[valid] < alpha).sum())
    if n_valid:
        lo, hi = proportion_confint(n_sig, n_valid, alpha=alpha, method="wilson")
        share = n_sig / n_valid
        mean_est = float(np.nanmean(est[valid])) if (~np.isnan(est[valid])).any() else float("nan")
    else:
        lo = hi = share = mean_est = float("nan")
    row = dict(area=area, outcome=outcome, estimator="ancova", n_reps=n_reps, n_valid=n_valid)
    row.update(n_significant=n_sig, power=share, ci_low=float(lo), ci_high=float(hi))
    row["mean_estimate"] = mean_est
    return pd.DataFrame([row], columns=SIMULATED_POWER_COLUMNS)


# -- planning from a study (power_planning.ipynb) ------------------------------------
def design_inputs(study, outcome: str | None = None) -> dict:
    """What a power calculation needs, estimated from a study's baseline data.

    Returns ``{"outcome", "icc", "r_prepost", "cluster_size", "cv", "orgs"}``:
    ICC(1) of the first-wave score by organization, the pre/post correlation of
    workers with both scores, the mean number of respondents per organization at
    the first wave and the coefficient of variation of that number.
    """
    from .reliability import icc

    outcome = outcome or _primary_outcome(study)
    scored = study.scored()
    pre = scored[scored["wave"] == study.waves[0]].dropna(subset=[outcome])
    post = scored[scored["wave"] == study.waves[1]].dropna(subset=[outcome])
    both = pre[["worker_id", outcome]].merge(post[["worker_id", outcome]], on="worker_id")
    sizes = pre.groupby("org_id")["worker_id"].nunique()
    return {
        "outcome": outcome,
        "icc": max(float(icc(pre[outcome], pre["org_id"])["icc1"].iloc[0]), 0.0),
        "r_prepost": float(np.corrcoef(both[f"{outcome}_x"], both[f"{outcome}_y"])[0, 1]),
        "cluster_size": float(sizes.mean()),
        "cv": float(sizes.std(ddof=0) / sizes.mean()),
        "orgs": len(sizes),
    }


def power_grid(
    effect_sizes,
    orgs_per_arm,
    *,
    cluster_size,
    icc,
    r_prepost=0.0,
    cv=0.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`stseval.power.cluster_power` over a grid: ``effect_size, orgs_per_arm, power``."""

    rows = [
        {
            "effect_size": d,
            "orgs_per_arm": k,
            "power": cluster_power(
                d,
                n_clusters_per_arm=k,
                cluster_size=cluster_size,
                icc=icc,
                r_prepost=r_prepost,
                cv=cv,
                confidence=confidence,
            ),
        }
        for d in effect_sizes
        for k in orgs_per_arm
    ]
    return pd.DataFrame(rows)


def sample_sizes(
    effect_sizes, *, cluster_size, icc, r_prepost=0.0, cv=0.0, power=0.8, confidence: float = 0.95
) -> pd.DataFrame:
    """Organizations per arm (and workers) needed per effect size, and the paired-only n.

    Returns ``effect_size, orgs_per_arm, workers_per_arm, paired_workers`` where
    ``paired_workers`` is the n of a one-group pre/post design with ``d_z`` equal to
    the effect size (no comparison group, see :func:`stseval.power.paired_n`).
    """

    rows = []
    for d in effect_sizes:
        k = cluster_n_clusters(
            d,
            cluster_size=cluster_size,
            icc=icc,
            power=power,
            r_prepost=r_prepost,
            cv=cv,
            confidence=confidence,
        )
        rows.append(
            {
                "effect_size": d,
                "orgs_per_arm": k,
                "workers_per_arm": math.ceil(k * cluster_size),
                "paired_workers": paired_n(d, power=power, confidence=confidence),
            }
        )
    return pd.DataFrame(rows)


def design_inputs_text(inputs: dict, *, icc: float, cluster_size: float) -> str:
    """Markdown stating the design values a power calculation uses."""
    return (
        f"Design values for **{outcome_label(inputs['outcome'])}**: between-organization ICC "
        f"{icc:.3f} (study estimate {inputs['icc']:.3f}), pre/post correlation "
        f"{inputs['r_prepost']:.2f}, {cluster_size:.1f} respondents per organization "
        f"(coefficient of variation of size {inputs['cv']:.2f}), from {inputs['orgs']} "
        "organizations at the first wave."
    )


def mde_text(
    orgs_per_arm: int,
    *,
    cluster_size,
    icc,
    r_prepost=0.0,
    cv=0.0,
    power=0.8,
    confidence: float = 0.95,
) -> str:
    """Markdown: the minimum detectable effect of a design (:func:`stseval.power.cluster_mde`)."""

    mde = cluster_mde(
        n_clusters_per_arm=orgs_per_arm,
        cluster_size=cluster_size,
        icc=icc,
        power=power,
        r_prepost=r_prepost,
        cv=cv,
        confidence=confidence,
    )
    return (
        f"With **{orgs_per_arm} organizations per arm** of about {cluster_size:.0f} "
        f"respondents, the smallest effect detected with power {power:.0%} is **{mde:.2f} "
        f"SD**. Programs that protect staff from STS have shown effects of about 0.2 to 0.3 SD "
        "when they worked, so a design that cannot detect 0.3 SD risks missing a real effect."
    )
