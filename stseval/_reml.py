"""Nested REML: organizations, organization-by-wave cells and workers (variance components).

Private numerical core of :func:`stseval.models.mixed` and :func:`stseval.dose`
(through :func:`stseval._cluster.nested_reml`). The model, for organization i,

    y_i = X_i b + e_i,   Var(y_i) = s2_e V_i,
    V_i = I + g_w Z_w Z_w' + E (g_a 11' + g_b I) E',

with ``E`` the indicators of the organization's two wave cells and ``Z_w`` those
of its workers (a worker is nested in one organization). The residual variance
s2_e is profiled out and the REML criterion (up to a constant)

    f(g) = log|V| + log|X' V^-1 X| + (N - p) log(r / (N - p)),
    r = min_b (y - X b)' V^-1 (y - X b),

is minimized over the variance ratios g = (g_a, g_b, g_w) >= 0 by L-BFGS-B with
the exact gradient below. On the ratios themselves (not their logs) a component
whose estimate is zero reaches the bound 0 in a step or two, where on the log
scale the optimizer crawled towards its lower bound and often stopped early.

Why one evaluation costs O(organizations), not O(rows) or O(workers)
--------------------------------------------------------------------
With ``W = I + g_w Z_w Z_w'`` (block diagonal by worker, ``W_j^-1 = I - c_j J``,
``c_j = g_w / (1 + n_j g_w)``) and ``M = [X, y]``, Woodbury on the 2 x 2 cell
block gives

    M' V^-1 M = M'M - sum_j c_j m_j m_j' - sum_i S_i' mid_i S_i,
    S_i = E_i' W^-1 M = C_i - sum_{j in i} c_j n_j m_j',   K_i = E_i' W^-1 E_i,
    mid_i = (I + Sigma K_i)^-1 Sigma,   log|V| = sum_j log(1 + n_j g_w) + sum_i log|I + Sigma K_i|,

where ``m_j`` is worker j's column sums of M, ``n_j`` its number of rows and
``n_j`` (the vector) its rows per wave, ``C_i`` the cell sums of M. ``c_j``
depends on the worker only through ``n_j`` (1 or 2 for two waves), so every
worker sum splits into one sum per distinct ``n_j`` computed once per fit
(``P_u``, ``T_u``, ``Kp_u`` in :class:`_Sums`); an evaluation then only
combines these with ``c_u`` and solves the organizations' 2 x 2 blocks.

Gradient. With ``Q = (X'V^-1X)^-1``, ``b~ = (-b, 1)`` and
``Wt = [[Q, 0], [0, 0]] + (N - p)/r b~ b~'``, the derivative of f in a ratio g_k is
``d log|V| / dg_k + <Wt, d(M'V^-1M)/dg_k>`` (envelope theorem for b), and

    d mid = A^-1 dSigma A^-T - mid dK mid,    A = I + Sigma K,
    dS / dg_w = -sum_u c_u' T_u,   dK / dg_w = -sum_u c_u' Kp_u,   c_u' = 1/(1 + u g_w)^2,

all of them O(organizations) too. The tests compare f and its gradient with a
dense computation (V built row by row) and the fits with statsmodels ``MixedLM``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._blas import one_blas_thread

__all__ = ["NestedREML", "nested_reml"]

_MAX_RATIO = 1e4  # upper bound of a variance ratio g_k = s2_k / s2_e


@dataclass
class NestedREML:
    """REML fit of y = X b + org + org-by-wave + worker + e (variance components)."""

    beta: np.ndarray
    cov_beta: np.ndarray
    variances: dict
    converged: bool
    at_zero: list


@dataclass
class _Sums:
    """Sums of M = [X, y] the REML criterion needs, per distinct worker size u = n_j.

    Stacks of the organizations' 2 x 2 (symmetric) blocks are kept as components
    (``[0]`` = entry 00, ``[1]`` = 01, ``[2]`` = 11, each of length G) and the
    cell blocks as (2, G, q) (wave, organization, column): elementwise arithmetic
    on these is several times faster than numpy's stacked 2 x 2 matmul.
    """

    N: int
    p: int
    MtM: np.ndarray  # (q, q), q = p + 1
    cell: np.ndarray  # (2, G, q): cell sums of M
    n_cell: np.ndarray  # (2, G): rows per cell
    sizes: np.ndarray  # (m,): the distinct n_j
    count: np.ndarray  # (m,): workers of each size
    P: np.ndarray  # (m, q, q): sum_j m_j m_j'
    T: np.ndarray  # (m, 2 G q): sum_{j in i} n_jt m_j', flattened (wave, org, column)
    Kp: np.ndarray  # (m, 3 G): sum_{j in i} n_j n_j' as components 00, 01, 11


def _binsum(codes: np.ndarray, n: int, W: np.ndarray) -> np.ndarray:
    """Sums of each column of ``W`` (rows x cols) by integer code: (n, cols)."""
    return np.stack([np.bincount(codes, weights=col, minlength=n) for col in W.T], axis=1)


def _sums(y, X, org, wave, worker) -> _Sums:
    """One pass over the rows and workers; everything after is O(organizations)."""
    M = np.column_stack([X, y])
    N, q = M.shape
    G = int(org.max()) + 1
    _, wk = np.unique(worker, return_inverse=True)
    Wn = int(wk.max()) + 1
    n_jt = np.bincount(wk * 2 + wave, minlength=2 * Wn).reshape(Wn, 2).astype(float)
    mw = _binsum(wk, Wn, M)
    w_org = np.zeros(Wn, dtype=np.intp)
    w_org[wk] = org
    sizes, ty = np.unique(n_jt.sum(axis=1), return_inverse=True)
    m = len(sizes)
    key = ty * G + w_org  # (size, organization) of each worker
    T = _binsum(key, m * G, np.column_stack([n_jt[:, [t]] * mw for t in (0, 1)]))
    n0, n1 = n_jt[:, 0], n_jt[:, 1]
    Kp = _binsum(key, m * G, np.column_stack([n0 * n0, n0 * n1, n1 * n1]))
    P = np.stack([mw[ty == u].T @ mw[ty == u] for u in range(m)])
    cell = _binsum(wave * G + org, 2 * G, np.column_stack([M, np.ones(N)])).reshape(2, G, q + 1)
    return _Sums(
        N, q - 1, M.T @ M, cell[:, :, :q], cell[:, :, q], sizes,
        np.bincount(ty, minlength=m).astype(float), P,
        T.reshape(m, G, 2, q).transpose(0, 2, 1, 3).reshape(m, -1),
        Kp.reshape(m, G, 3).transpose(0, 2, 1).reshape(m, -1),
    )  # fmt: skip


def _uvu(s: _Sums, ga: float, gb: float, gw: float):
    """M' V^-1 M, log|V| and the organization pieces the gradient reuses.

    A = I + Sigma K (not symmetric) is kept as (a00, a01, a10, a11), its inverse
    likewise; mid = A^-1 Sigma = (Sigma^-1 + K)^-1 is symmetric (components).
    """
    G, q = s.cell.shape[1:]
    c = gw / (1.0 + s.sizes * gw)
    S = s.cell - (c @ s.T).reshape(2, G, q)
    k00, k01, k11 = -(c @ s.Kp).reshape(3, G)
    k00 += s.n_cell[0]
    k11 += s.n_cell[1]
    d, o = ga + gb, ga  # Sigma = [[d, o], [o, d]]
    a00, a01 = 1.0 + d * k00 + o * k01, d * k01 + o * k11
    a10, a11 = o * k00 + d * k01, 1.0 + o * k01 + d * k11
    det = a00 * a11 - a01 * a10
    inv = np.array([a11, -a01, -a10, a00]) / det
    mid = np.array([inv[0] * d + inv[1] * o, inv[0] * o + inv[1] * d, inv[2] * o + inv[3] * d])
    midS = np.stack([mid[0, :, None] * S[0] + mid[1, :, None] * S[1],
                     mid[1, :, None] * S[0] + mid[2, :, None] * S[1]])  # fmt: skip
    uvu = s.MtM - np.tensordot(c, s.P, axes=1) - S.reshape(-1, q).T @ midS.reshape(-1, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = np.sum(s.count * np.log1p(s.sizes * gw)) + np.sum(np.log(det))
    return uvu, logdet, (S, np.array([k00, k01, k11]), inv, mid, midS)


def _sym_dot(a, b) -> float:
    """sum over organizations of <a, b> for symmetric 2 x 2 stacks given as components."""
    return float(np.sum(a[0] * b[0] + 2.0 * a[1] * b[1] + a[2] * b[2]))


def _criterion(s: _Sums, names, ratios, *, grad: bool = True):
    """REML criterion f(g) and, with ``grad``, its gradient in g (see the module docstring)."""
    g = dict(zip(names, np.asarray(ratios, float), strict=True))
    gw = g.get("worker", 0.0)
    uvu, logdet, pieces = _uvu(s, g["org"], g.get("org_wave", 0.0), gw)
    p, dof = s.p, s.N - s.p
    xvx, xvy = uvu[:p, :p], uvu[:p, p]
    sign, ld_x = np.linalg.slogdet(xvx)
    if sign > 0 and np.isfinite(logdet):
        Q = np.linalg.inv(xvx)
        bt = np.append(-(Q @ xvy), 1.0)  # (-b, 1): rss = bt' M'V^-1M bt
        rss = float(bt @ uvu @ bt)
    if sign <= 0 or not np.isfinite(logdet) or rss <= 0:
        return (np.inf, np.zeros(len(names))) if grad else np.inf
    f = logdet + ld_x + dof * np.log(rss / dof)
    if not grad:
        return f
    Wt = np.outer(bt, bt) * (dof / rss)
    Wt[:p, :p] += Q
    d = _gradient(s, g, gw, Wt, pieces)
    return f, np.array([d[k] for k in names])


def _gradient(s: _Sums, g: dict, gw: float, Wt: np.ndarray, pieces) -> dict:
    """d f / d g_k = d log|V| / d g_k + <Wt, d(M'V^-1M) / d g_k> for each ratio in ``g``."""
    S, K, inv, mid, midS = pieces
    G, q = S.shape[1:]
    SW = (S.reshape(-1, q) @ Wt).reshape(2, G, q)
    R = np.array([np.sum(SW[0] * S[0], 1), np.sum(SW[0] * S[1], 1), np.sum(SW[1] * S[1], 1)])
    out = {}
    if "org" in g:  # dSigma = 11': d log|A| = 1'K A^-1 1, dM = -A^-1 11' A^-T
        v0, v1 = inv[0] + inv[1], inv[2] + inv[3]
        out["org"] = np.sum((K[0] + K[1]) * v0 + (K[1] + K[2]) * v1) - _sym_dot(
            [v0 * v0, v0 * v1, v1 * v1], R
        )
    if "org_wave" in g:  # dSigma = I: d log|A| = tr(A^-1 K), dM = -A^-1 A^-T
        i00, i01, i10, i11 = inv
        tr = np.sum(i00 * K[0] + (i01 + i10) * K[1] + i11 * K[2])
        B = [i00 * i00 + i01 * i01, i00 * i10 + i01 * i11, i10 * i10 + i11 * i11]
        out["org_wave"] = tr - _sym_dot(B, R)
    if "worker" in g:  # dK = -Kd, dS = -Td, d mid = mid Kd mid
        dc = 1.0 / (1.0 + s.sizes * gw) ** 2
        Td = (dc @ s.T).reshape(2, G, q)
        Kd = (dc @ s.Kp).reshape(3, G)
        m00, m01, m11 = mid
        E = [m00 * R[0] + m01 * R[1], m00 * R[1] + m01 * R[2],
             m01 * R[0] + m11 * R[1], m01 * R[1] + m11 * R[2]]  # fmt: skip
        mRm = [E[0] * m00 + E[1] * m01, E[0] * m01 + E[1] * m11, E[2] * m01 + E[3] * m11]
        out["worker"] = (
            np.sum(s.count * s.sizes / (1.0 + s.sizes * gw))
            - _sym_dot(mid, Kd)
            - dc @ np.einsum("uij,ij->u", s.P, Wt)
            + 2.0 * np.sum(Td.reshape(-1, q) * (midS.reshape(-1, q) @ Wt))
            - _sym_dot(mRm, Kd)
        )
    return out


def nested_reml(y, X, org, wave, worker, *, org_wave=True, worker_effect=True) -> NestedREML:
    """REML for organizations (random intercept, optional org-by-wave effects) with workers nested.

    V_i = s2_e [ I + g_w Z_w Z_w' + E (g_a 11' + g_b I) E' ] for organization i,
    with E the org-by-wave cell indicators (``wave`` coded 0 / 1) and Z_w the
    worker indicators (a worker is nested in one organization; ``worker`` codes
    must be unique across organizations). s2_e is profiled out; the variance
    ratios are optimized by L-BFGS-B with the exact gradient, and one evaluation
    costs O(organizations) after one O(n) pass (see the module docstring).
    Same model and criterion as statsmodels ``MixedLM(..., groups=org,
    re_formula="1", vc_formula={"worker": "0 + C(worker)", "ow": "0 + C(wave)"})``
    with ``reml=True`` (checked in the tests).
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    s = _sums(y, X, np.asarray(org, np.intp), np.asarray(wave, np.intp), np.asarray(worker))
    names = ["org"] + (["org_wave"] if org_wave else []) + (["worker"] if worker_effect else [])
    import scipy.optimize  # noqa: F401 - loads scipy's BLAS before one_blas_thread looks

    with one_blas_thread():  # thousands of tiny BLAS calls (see stseval._blas)
        best = _minimize_ratios(lambda g: _criterion(s, names, g), len(names))
    ratios = dict(zip(names, best.x, strict=True))
    uvu, _, _ = _uvu(s, ratios["org"], ratios.get("org_wave", 0.0), ratios.get("worker", 0.0))
    p = s.p
    xvx, xvy, yvy = uvu[:p, :p], uvu[:p, p], uvu[p, p]
    xvx_inv = np.linalg.inv(xvx)
    beta = xvx_inv @ xvy
    s2 = float((yvy - xvy @ beta) / (s.N - p))
    variances = {"residual": s2, **{k: v * s2 for k, v in ratios.items()}}
    at_zero = [k for k, r in ratios.items() if r < 1e-3]  # < 0.1% of residual variance
    return NestedREML(beta, s2 * xvx_inv, variances, bool(best.success), at_zero)


def _minimize_ratios(fun_and_grad, n: int):
    """L-BFGS-B over the variance ratios in [0, 1e4]; a second start only if needed.

    A run that stops without scipy's convergence message (typically a line search
    that cannot improve f, at the level of rounding) counts as converged when
    Newton's method predicts less than 1e-6 further decrease of f
    (:func:`_newton_decrement`).
    """
    from scipy.optimize import minimize

    best = None
    for start in (0.1, 1.0):
        res = minimize(
            fun_and_grad,
            np.full(n, start),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, _MAX_RATIO)] * n,
            options={"ftol": 1e-13, "gtol": 1e-7},
        )
        if not res.success and np.isfinite(res.fun):
            res.success = _newton_decrement(fun_and_grad, res.x, res.jac) < 1e-6
        if best is None or res.fun < best.fun - 1e-9:
            best = res
        if best.success:
            break
    return best


def _newton_decrement(fun_and_grad, x: np.ndarray, grad: np.ndarray) -> float:
    """Decrease of f a Newton step predicts, g_F' H_F^-1 g_F / 2, on the free ratios F.

    A ratio is held (not free) at a bound its gradient pushes against. The Hessian
    is a forward difference of the exact gradient; inf when it is not positive
    definite (not at a minimum).
    """
    held = ((x <= 0.0) & (grad >= 0.0)) | ((x >= _MAX_RATIO) & (grad <= 0.0))
    free = np.flatnonzero(~held)
    if not len(free):
        return 0.0
    H = np.empty((len(free), len(free)))
    for col, i in enumerate(free):
        h = 1e-6 * max(x[i], 1e-2)
        step = x.copy()
        step[i] += h if x[i] + h <= _MAX_RATIO else -h
        H[:, col] = (fun_and_grad(step)[1][free] - grad[free]) / (step[i] - x[i])
    H = (H + H.T) / 2.0
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return np.inf
    z = np.linalg.solve(L, grad[free])
    return float(z @ z) / 2.0
