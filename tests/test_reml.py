"""The nested REML engine (stseval._reml) against a dense computation of the same criterion.

The fast path sums the workers by their number of observations and solves each
organization's 2 x 2 block; here V is built row by row (n x n) and the REML
criterion, its gradient (central differences) and its minimum (Nelder-Mead) are
computed from it directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from stseval import _reml
from stseval._cluster import nested_reml


def _design(seed: int, n_orgs: int = 7):
    """Workers with 1, 2 and 3 rows (3 = twice in one wave), one organization missing a wave."""
    rng = np.random.default_rng(seed)
    org, wave, worker = [], [], []
    w = 0
    for i in range(n_orgs):
        for _ in range(rng.integers(3, 7)):
            k = rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2])
            waves = {1: [rng.integers(0, 2)], 2: [0, 1], 3: [0, 1, rng.integers(0, 2)]}[k]
            if i == 0:
                waves = [0] * len(waves)  # organization 0 seen at wave 0 only
            for t in waves:
                org.append(i)
                wave.append(int(t))
                worker.append(w)
            w += 1
    org, wave, worker = map(np.array, (org, wave, worker))
    treated = (org % 2).astype(float)
    X = np.column_stack([np.ones(len(org)), treated, wave, treated * wave])
    u_org = rng.normal(0, 1.0, n_orgs)[org]
    u_cell = rng.normal(0, 0.5, 2 * n_orgs)[org * 2 + wave]
    u_w = rng.normal(0, 1.5, w)[worker]
    y = X @ [10.0, 1.0, -0.5, 2.0] + u_org + u_cell + u_w + rng.normal(0, 1.0, len(org))
    return y, X, org, wave, worker


def _dense(y, X, org, wave, worker, g):
    """REML criterion with V = I + g_a Z_o Z_o' + g_b Z_c Z_c' + g_w Z_w Z_w' built densely."""
    ga, gb, gw = g

    def same(codes):
        return (codes[:, None] == codes[None, :]).astype(float)

    V = np.eye(len(y)) + ga * same(org) + gb * same(org * 2 + wave) + gw * same(worker)
    Vi = np.linalg.inv(V)
    xvx = X.T @ Vi @ X
    b = np.linalg.solve(xvx, X.T @ Vi @ y)
    e = y - X @ b
    n, p = X.shape
    rss = e @ Vi @ e
    return np.linalg.slogdet(V)[1] + np.linalg.slogdet(xvx)[1] + (n - p) * np.log(rss / (n - p))


NAMES = ["org", "org_wave", "worker"]


def test_design_has_workers_with_one_two_and_three_rows():
    y, X, org, wave, worker = _design(1)
    s = _reml._sums(y, X, org, wave, worker)
    assert list(s.sizes) == [1.0, 2.0, 3.0]
    assert s.n_cell[1, 0] == 0  # the empty cell
    assert s.count.sum() == worker.max() + 1


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("g", [(0.4, 0.2, 1.3), (2.0, 0.0, 0.7), (0.05, 1.5, 0.0), (0, 0, 0)])
def test_fast_criterion_equals_dense(seed, g):
    y, X, org, wave, worker = _design(seed)
    s = _reml._sums(y, X, org, wave, worker)
    f, grad = _reml._criterion(s, NAMES, np.array(g, float))
    assert f == pytest.approx(_dense(y, X, org, wave, worker, g), rel=1e-11, abs=1e-9)
    # Gradient against central differences of the dense criterion (one-sided at g = 0).
    for k in range(3):
        h = 1e-5
        up, down = np.array(g, float), np.array(g, float)
        up[k] += h
        if g[k] >= h:
            down[k] -= h
        num = (_dense(y, X, org, wave, worker, up) - _dense(y, X, org, wave, worker, down)) / (
            up[k] - down[k]
        )
        tol = 1e-5 if g[k] >= h else 1e-3  # forward difference: O(h) error
        assert grad[k] == pytest.approx(num, rel=tol, abs=tol)


def test_fast_criterion_without_components_equals_dense():
    y, X, org, wave, worker = _design(4)
    s = _reml._sums(y, X, org, wave, worker)
    assert _reml._criterion(s, ["org"], [0.7], grad=False) == pytest.approx(
        _dense(y, X, org, wave, worker, (0.7, 0.0, 0.0)), rel=1e-11
    )
    f, grad = _reml._criterion(s, ["org", "worker"], [0.7, 0.9])
    assert f == pytest.approx(_dense(y, X, org, wave, worker, (0.7, 0.0, 0.9)), rel=1e-11)
    h = 1e-6
    num = (
        _dense(y, X, org, wave, worker, (0.7, 0.0, 0.9 + h))
        - _dense(y, X, org, wave, worker, (0.7, 0.0, 0.9 - h))
    ) / (2 * h)
    assert grad[1] == pytest.approx(num, rel=1e-5)


@pytest.mark.parametrize("seed", [5, 6])
def test_fit_matches_dense_minimum_and_gls(seed):
    y, X, org, wave, worker = _design(seed, n_orgs=12)
    fit = nested_reml(y, X, org, wave, worker)
    assert fit.converged
    # Independent minimum: Nelder-Mead on the dense criterion over g = t^2 (t unbounded).
    ref = minimize(
        lambda t: _dense(y, X, org, wave, worker, t**2),
        np.full(3, 0.5),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000, "maxfev": 20000},
    )
    s2 = fit.variances["residual"]
    g = np.array([fit.variances[k] / s2 for k in NAMES])
    assert _dense(y, X, org, wave, worker, g) == pytest.approx(ref.fun, abs=1e-7)
    # GLS with the dense V at the fitted components gives the coefficients and their variance.
    same = [(c[:, None] == c[None, :]) for c in (org, org * 2 + wave, worker)]
    V = s2 * (np.eye(len(y)) + sum(gk * m for gk, m in zip(g, same, strict=True)))
    Vi = np.linalg.inv(V)
    cov = np.linalg.inv(X.T @ Vi @ X)
    np.testing.assert_allclose(fit.beta, cov @ X.T @ Vi @ y, rtol=1e-10)
    np.testing.assert_allclose(fit.cov_beta, cov, rtol=1e-8)


def test_zero_component_lands_on_the_boundary():
    # No organization-by-wave variation in the data: REML puts that component at 0.
    y, X, org, wave, worker = _design(7, n_orgs=15)
    rng = np.random.default_rng(0)
    y = X @ [5.0, 0.0, 0.0, 0.0] + rng.normal(0, 1, org.max() + 1)[org] + rng.normal(0, 1, len(y))
    fit = nested_reml(y, X, org, wave, worker)
    assert fit.converged
    s = _reml._sums(y, X, org, wave, worker)
    g = np.array([fit.variances[k] / fit.variances["residual"] for k in NAMES])
    f, grad = _reml._criterion(s, NAMES, g)
    for k in range(3):  # KKT: zero gradient inside, non-negative at the bound 0
        assert (grad[k] >= -1e-4) if g[k] == 0 else abs(grad[k]) < 1e-3
    assert "org_wave" in fit.at_zero or "worker" in fit.at_zero
