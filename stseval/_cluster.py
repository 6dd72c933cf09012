"""Numerics for workers clustered in organizations: sandwich variances and nested REML.

Private numerical core of :mod:`stseval.models`. Everything works on plain numpy
arrays: a design matrix ``X`` (n x k, full column rank), an outcome ``y`` and an
integer cluster code per row. Two parts: OLS with cluster-robust variances for
few clusters (below), and :func:`nested_reml`, a fast REML fit of the
organization / organization-by-wave / worker variance-components model used by
:func:`stseval.models.mixed` (implemented in :mod:`stseval._reml`, re-exported here).

Variance estimators (``se_type``), all of the form

    V = M  [ sum_g X_g' A_g e_g e_g' A_g X_g ]  M,     M = (X'X)^-1,

with ``e_g`` the OLS residuals of cluster g and ``H_gg = X_g M X_g'``:

* ``CR0``: A_g = I (Liang & Zeger, 1986).
* ``CR1``: CR0 times G/(G-1) * (n-1)/(n-k), the Stata / statsmodels
  ``cov_type="cluster"`` default.
* ``CR2``: A_g = (I - H_gg)^(-1/2), the symmetric inverse square root: the
  bias-reduced linearization of Bell & McCaffrey (2002), as in the R package
  clubSandwich with an identity working model (Pustejovsky & Tipton, 2018).
* ``CR3``: A_g = (I - H_gg)^(-1). Its sum equals sum_g (b_(g) - b)(b_(g) - b)',
  where b_(g) leaves cluster g out: the (uncentred) leave-one-cluster-out
  jackknife without the (G-1)/G factor, as clubSandwich's ``CR3``.

``I - H_gg`` is singular when a column of X is non-zero only inside cluster g
(cluster fixed effects): then the Moore-Penrose (pseudo-)inverse is used, as
clubSandwich does.

Degrees of freedom: ``"G-1"`` (the usual cluster df) or ``"satterthwaite"``,
the Bell-McCaffrey / Satterthwaite approximation under an independent,
homoskedastic working model (Bell & McCaffrey, 2002; Imbens & Kolesar, 2016;
clubSandwich's ``test = "Satterthwaite"``).

References
----------
Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for
linear regression with multi-stage samples. *Survey Methodology*, 28(2), 169-181.
Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust
variance estimation and hypothesis testing in fixed effects models. *Journal of
Business & Economic Statistics*, 36(4), 672-683. doi:10.1080/07350015.2016.1247004
Imbens, G. W., & Kolesar, M. (2016). Robust standard errors in small samples: some
practical advice. *Review of Economics and Statistics*, 98(4), 701-712.
doi:10.1162/REST_a_00552
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements
for inference with clustered errors. *Review of Economics and Statistics*, 90(3),
414-427. doi:10.1162/rest.90.3.414
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
*Canadian Journal of Economics*, 56(3), 839-858. doi:10.1111/caje.12661
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._reml import NestedREML, nested_reml
from .errors import UsageError

__all__ = [
    "BOOT_WEIGHTS",
    "DF_METHODS",
    "SE_TYPES",
    "NestedREML",
    "OLSFit",
    "adjustments",
    "cluster_groups",
    "coef_test",
    "nested_reml",
    "ols",
    "ols_absorbed",
    "satterthwaite_df",
    "vcov",
    "wild_cluster_bootstrap_p",
]

SE_TYPES = ("CR0", "CR1", "CR2", "CR3")
DF_METHODS = ("G-1", "satterthwaite")
BOOT_WEIGHTS = ("webb", "rademacher")

_EIG_TOL = 1e-10


@dataclass
class OLSFit:
    """An OLS fit with what the sandwich estimators need."""

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    resid: np.ndarray
    bread: np.ndarray  # (X'X)^-1
    groups: list[np.ndarray]  # row indices of each cluster
    k_absorbed: int = 0  # cluster fixed effects swept out of X and y (see ols_absorbed)
    vcovs: dict = field(default_factory=dict, repr=False)  # coef_test's vcov per se_type

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def k(self) -> int:
        return self.X.shape[1]

    @property
    def n_clusters(self) -> int:
        return len(self.groups)


def cluster_groups(codes: np.ndarray) -> list[np.ndarray]:
    """Row indices of each cluster (clusters in sorted order), for integer or any hashable codes.

    ``pandas.factorize(sort=True)`` numbers the clusters as ``np.unique`` would,
    by hashing instead of sorting the codes (several times faster for strings).
    """
    inverse = pd.factorize(np.asarray(codes).ravel(), sort=True)[0]
    if len(inverse) and inverse.min() < 0:  # a missing code: np.unique's ordering
        inverse = np.unique(np.asarray(codes), return_inverse=True)[1].ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    starts, ends = [0, *bounds.tolist()], [*bounds.tolist(), len(order)]
    return [order[a:b] for a, b in zip(starts, ends, strict=True)]  # np.split, without its overhead


def ols(X: np.ndarray, y: np.ndarray, codes: np.ndarray, *, names=None) -> OLSFit:
    """Fit OLS; raise :class:`UsageError` when the design is rank deficient."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        what = f" (columns {', '.join(names)})" if names is not None else ""
        raise UsageError(
            f"the regression design is rank deficient{what}: a covariate is constant or "
            "duplicates another in the rows used; drop it or check the data"
        )
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ (X.T @ y)
    resid = y - X @ beta
    return OLSFit(X, y, beta, resid, bread, cluster_groups(codes))


def ols_absorbed(X: np.ndarray, y: np.ndarray, codes: np.ndarray, *, names=None) -> OLSFit:
    """OLS with one fixed effect per cluster, the fixed effects swept out (within transform).

    Equivalent to :func:`ols` on ``[D, X]`` (``D`` the cluster dummies) for the
    coefficients of ``X`` and every sandwich variance of them, without forming the
    n x G dummy matrix. By Frisch-Waugh-Lovell the coefficients are those of the
    cluster-demeaned ``X~`` and ``y~``, and ``(X'X)^-1`` of the full design restricted to
    them is ``(X~'X~)^-1``. The full hat block is ``H_gg = J/n_g + X~_g (X~'X~)^-1 X~_g'``
    with ``X~_g' 1 = 0`` and ``e_g' 1 = 0``, so the direction ``1`` (eigenvalue 1 of
    ``H_gg``, a zero of ``I - H_gg`` handled by the pseudo-inverse) never touches
    ``X_g' A_g e_g``: CR2 and CR3 are the low-rank powers of the demeaned block alone
    (rank <= k, not k + G), so the cost is linear in the number of clusters.
    ``k_absorbed = G`` keeps CR1's ``(n - 1)/(n - k)`` counting the fixed effects.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    _, inverse = np.unique(np.asarray(codes), return_inverse=True)
    sizes = np.bincount(inverse).astype(float)

    def demean(M):
        sums = np.stack([np.bincount(inverse, weights=c) for c in np.atleast_2d(M.T)], axis=1)
        return M - (sums / sizes[:, None])[inverse].reshape(M.shape)

    fit = ols(demean(X), demean(y[:, None])[:, 0], codes, names=names)
    fit.k_absorbed = len(sizes)
    return fit


def _low_rank_power(Xg: np.ndarray, chol_bread: np.ndarray, power: float):
    """(I - H_gg)^power as (Q, d): I + Q diag(d) Q', with H_gg = X_g (X'X)^-1 X_g'.

    H_gg = B B' with B = X_g L (L L' = (X'X)^-1) has rank <= k, so the power
    only acts on the k-dimensional column space of B: with B'B = V diag(s) V'
    and Q = B V diag(s)^-1/2 (orthonormal), (I - H_gg)^power = I + Q diag((1 -
    s)^power - 1) Q'. Eigenvalues 1 - s = 0 (cluster fixed effects) get the
    Moore-Penrose convention (power of 0 is 0), as clubSandwich does.
    """
    B = Xg @ chol_bread
    s, V = np.linalg.eigh(B.T @ B)
    keep = s > _EIG_TOL * max(1.0, float(s.max(initial=0.0)))
    s, V = s[keep], V[:, keep]
    Q = (B @ V) / np.sqrt(s)
    one_minus = 1.0 - s
    null = one_minus <= _EIG_TOL
    d = np.where(null, 0.0, np.abs(np.where(null, 1.0, one_minus)) ** power) - 1.0
    return Q, d


def _apply(adj, v: np.ndarray) -> np.ndarray:
    Q, d = adj
    return v + Q @ (d * (Q.T @ v))


def adjustments(fit: OLSFit, se_type: str) -> list | None:
    """The A_g of CR2 / CR3 in low-rank form (None for CR0 / CR1, where A_g = I)."""
    if se_type in ("CR0", "CR1"):
        return None
    power = -0.5 if se_type == "CR2" else -1.0
    L = np.linalg.cholesky(fit.bread)
    return [_low_rank_power(fit.X[idx], L, power) for idx in fit.groups]


def _cr1_factor(fit: OLSFit) -> float:
    G, n, k = fit.n_clusters, fit.n, fit.k + fit.k_absorbed
    return G / (G - 1) * (n - 1) / (n - k)


def _scores(fit: OLSFit, se_type: str) -> np.ndarray:
    """Cluster scores X_g' A_g e_g (G x k), all clusters at once.

    With H_gg = B B', B = X_g L, B'B = L' X_g'X_g L = V diag(s) V' and Q = B V s^-1/2
    (see :func:`_low_rank_power`), A_g = I + Q diag(d) Q' gives
    X_g' A_g e_g = X_g'e_g + X_g'X_g L V diag(d / s) V' L' X_g'e_g: only the
    per-cluster k x k and k-vector sums enter, and one batched eigendecomposition
    replaces a loop over clusters (same numbers up to rounding).
    """
    order = np.concatenate(fit.groups)
    starts = np.cumsum([0] + [len(g) for g in fit.groups[:-1]])
    Xs = fit.X[order]
    Xte = np.add.reduceat(Xs * fit.resid[order][:, None], starts, axis=0)
    if se_type in ("CR0", "CR1"):
        return Xte
    power = -0.5 if se_type == "CR2" else -1.0
    L = np.linalg.cholesky(fit.bread)
    XtX = np.add.reduceat(Xs[:, :, None] * Xs[:, None, :], starts, axis=0)
    s, V = np.linalg.eigh(L.T @ XtX @ L)
    keep = s > _EIG_TOL * np.maximum(1.0, s.max(axis=1, initial=0.0))[:, None]
    one_minus = 1.0 - s
    null = one_minus <= _EIG_TOL
    d = np.where(null, 0.0, np.abs(np.where(null, 1.0, one_minus)) ** power) - 1.0
    w = np.where(keep, d / np.where(keep, s, 1.0), 0.0)
    u = np.einsum("gji,gj->gi", V, Xte @ L)  # V' L' X_g'e_g
    adj = np.einsum("gij,gj->gi", V, w * u) @ L.T  # L V diag(w) V' L' X_g'e_g
    return Xte + np.einsum("gij,gj->gi", XtX, adj)


def vcov(fit: OLSFit, se_type: str) -> np.ndarray:
    """Cluster-robust variance-covariance matrix of ``fit.beta``."""
    if se_type not in SE_TYPES:
        raise UsageError(f"se_type must be one of {', '.join(SE_TYPES)}; got {se_type!r}")
    scores = _scores(fit, se_type)
    V = fit.bread @ (scores.T @ scores) @ fit.bread
    if se_type == "CR1":
        V = V * _cr1_factor(fit)
    return V


def satterthwaite_df(fit: OLSFit, se_type: str, contrast: np.ndarray) -> float:
    """Bell-McCaffrey (Satterthwaite) df for ``contrast' beta``, working model sigma^2 I.

    With w_g = A_g X_g M c and gamma_g = (I - H)[:, g] w_g, the variance estimate is
    sum_g (gamma_g' y)^2, so df = tr(Gamma'Gamma)^2 / ||Gamma'Gamma||_F^2.
    """
    A = adjustments(fit, se_type)
    mc = fit.bread @ contrast
    gamma = np.zeros((fit.n, fit.n_clusters))
    for j, idx in enumerate(fit.groups):
        Xg = fit.X[idx]
        w = Xg @ mc
        if A is not None:
            w = _apply(A[j], w)
        gamma[idx, j] += w
        gamma[:, j] -= fit.X @ (fit.bread @ (Xg.T @ w))
    gg = gamma.T @ gamma
    return float(np.trace(gg) ** 2 / np.sum(gg * gg))


def coef_test(fit: OLSFit, col: int, *, se_type: str, df_method: str = "G-1"):
    """Estimate, SE, t statistic and df for coefficient ``col``."""
    if df_method not in DF_METHODS:
        raise UsageError(f"df_method must be one of {', '.join(DF_METHODS)}; got {df_method!r}")
    if se_type not in fit.vcovs:  # several coefficients of one fit share the matrix
        fit.vcovs[se_type] = vcov(fit, se_type)
    V = fit.vcovs[se_type]
    est = float(fit.beta[col])
    se = float(np.sqrt(max(V[col, col], 0.0)))
    if df_method == "G-1":
        df = float(fit.n_clusters - 1)
    else:
        c = np.zeros(fit.k)
        c[col] = 1.0
        df = satterthwaite_df(fit, se_type, c)
    stat = est / se if se > 0 else np.nan
    return est, se, stat, df


def _draw_weights(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=size)
    vals = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    return rng.choice(vals, size=size)


def wild_cluster_bootstrap_p(
    X: np.ndarray,
    y: np.ndarray,
    codes: np.ndarray,
    col: int,
    *,
    n_boot: int,
    weights: str,
    rng: np.random.Generator,
) -> float:
    """Symmetric WCR bootstrap p-value for H0: beta[col] = 0, studentized with CR1.

    The null is imposed: the restricted model (column ``col`` dropped) gives
    fitted values and residuals; each replicate multiplies the residuals of a
    whole cluster by one draw of the weights (Cameron, Gelbach & Miller, 2008).
    p = share of replicates with |t*| >= |t|.
    """
    if weights not in BOOT_WEIGHTS:
        raise UsageError(f"weights must be one of {', '.join(BOOT_WEIGHTS)}; got {weights!r}")
    fit = ols(X, y, codes)
    G = fit.n_clusters
    codes_int = np.empty(fit.n, dtype=int)
    for j, idx in enumerate(fit.groups):
        codes_int[idx] = j
    onehot = np.zeros((G, fit.n))
    onehot[codes_int, np.arange(fit.n)] = 1.0
    r = fit.X @ fit.bread[:, col]  # beta[col] = r' y
    factor = _cr1_factor(fit)

    def tstats(Y: np.ndarray, null_value: float) -> np.ndarray:
        b = r @ Y
        E = Y - fit.X @ (fit.bread @ (fit.X.T @ Y))
        s = onehot @ (r[:, None] * E)
        se = np.sqrt(factor * np.sum(s * s, axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (b - null_value) / se

    t0 = float(tstats(fit.y[:, None], 0.0)[0])
    Xr = np.delete(fit.X, col, axis=1)
    br = np.linalg.lstsq(Xr, fit.y, rcond=None)[0]
    fitted_r = Xr @ br
    resid_r = fit.y - fitted_r
    exceed = 0
    done = 0
    chunk = 500
    while done < n_boot:
        b = min(chunk, n_boot - done)
        W = _draw_weights(rng, weights, (G, b))
        Ystar = fitted_r[:, None] + resid_r[:, None] * W[codes_int]
        tb = tstats(Ystar, 0.0)
        exceed += int(np.sum(np.abs(tb) >= abs(t0) - 1e-12))
        done += b
    return exceed / n_boot
