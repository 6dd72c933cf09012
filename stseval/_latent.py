"""The item-response model of the simulator and its calibration to published norms.

Each simulated item answer comes from a cumulative-logit (graded) model: for
a worker with latent level ``eta`` (standard normal at baseline) item ``j``
has a continuous response ``y* = loading * eta + e`` with logistic noise
``e`` of variance ``1 - loading**2``; the answer is 1 plus the number of the
item's four thresholds that ``y*`` exceeds. Thresholds are
``location + difficulty_j + spread * (-1.5, -0.5, 0.5, 1.5)``, with a fixed
pattern of item difficulties (spread about 0.3 latent SD) so items differ a
little, as real items do.

Calibration. Given target mean, SD and Cronbach's alpha of a scale score at
baseline, :func:`calibrate_scale` solves for ``loading``, ``location`` and
``spread`` with the exact moments of the model (Gauss-Hermite quadrature
over ``eta``; conditionally on ``eta`` the items are independent, so the
item variances and the scale variance have closed forms). Given a target
correlation between two scale scores, :func:`latent_correlation` solves for
the correlation of the two latent traits (two-dimensional quadrature). Both
are deterministic and cached, so the design can state its targets on the
observed score scale (the published norms) rather than in latent units.

What the tests check: simulated means, SDs and alphas land near the
targets on a large sample (``tests/test_synthetic.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq, least_squares
from scipy.special import expit

__all__ = [
    "ItemModel",
    "calibrate_scale",
    "latent_correlation",
    "draw_items",
    "NOISE_SCALE",
    "STEPS",
]

#: Threshold offsets of the four category boundaries of a 5-point item, in units of ``spread``.
STEPS = np.array([-1.5, -0.5, 0.5, 1.5])
#: Logistic scale giving unit variance (the logistic distribution's SD is s * pi / sqrt(3)).
NOISE_SCALE = math.sqrt(3.0) / math.pi
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(61)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def difficulty_pattern(n_items: int, amplitude: float = 0.3) -> np.ndarray:
    """A fixed, centred pattern of item difficulties (latent SD units)."""
    d = amplitude * np.sin(2.399963 * np.arange(n_items) + 0.5)
    return d - d.mean()


@dataclass(frozen=True)
class ItemModel:
    """Parameters of one scale's items (all items load on one latent trait)."""

    n_items: int
    loading: float
    location: float
    spread: float

    @property
    def noise_sd(self) -> float:
        return math.sqrt(1.0 - self.loading**2)

    def thresholds(self) -> np.ndarray:
        """Array (n_items, 4) of ordered thresholds on the ``y*`` scale."""
        return (
            self.location + difficulty_pattern(self.n_items)[:, None] + self.spread * STEPS[None, :]
        )

    def exceed_probs(self, eta: np.ndarray) -> np.ndarray:
        """P(answer > k | eta), array (len(eta), n_items, 4)."""
        tau = self.thresholds()
        z = (self.loading * np.asarray(eta)[:, None, None] - tau[None]) / (
            self.noise_sd * NOISE_SCALE
        )
        return expit(z)

    def conditional(self, eta: np.ndarray):
        """Conditional item means and variances given eta, each (len(eta), n_items)."""
        p = self.exceed_probs(eta)
        mean = 1.0 + p.sum(axis=2)
        # (Y - 1) = sum_k 1[Y > k] with nested events, so E[(Y-1)^2] = sum_k (2k - 1) P(Y > k).
        second = (p * (2.0 * np.arange(1, 5) - 1.0)).sum(axis=2)
        return mean, second - (mean - 1.0) ** 2

    def moments(self) -> tuple[float, float, float]:
        """Mean, SD and Cronbach's alpha of the sum score when eta ~ N(0, 1)."""
        m, v = self.conditional(_NODES)
        w = _WEIGHTS
        sum_mean = float(w @ m.sum(axis=1))
        sum_var = float(w @ (v.sum(axis=1) + m.sum(axis=1) ** 2)) - sum_mean**2
        item_var = (w @ (v + m**2)) - (w @ m) ** 2
        k = self.n_items
        alpha = k / (k - 1) * (1.0 - item_var.sum() / sum_var) if k > 1 else float("nan")
        return sum_mean, math.sqrt(sum_var), float(alpha)


@lru_cache(maxsize=256)
def calibrate_scale(
    n_items: int, mean: float, sd: float, alpha: float, method: str = "sum"
) -> ItemModel:
    """Item parameters whose sum (or mean) score has the target mean, SD and alpha.

    Parameters
    ----------
    n_items : int
    mean, sd : float
        Target mean and SD of the scale score at baseline (on the score's
        own scale: a sum or a mean of 1-5 items).
    alpha : float
        Target Cronbach's alpha.
    method : {"sum", "mean"}

    Raises
    ------
    ValueError
        If the targets cannot be reached by 5-point items (the residual is
        reported).
    """
    scale = float(n_items) if method == "mean" else 1.0
    t_mean, t_sd = mean * scale, sd * scale

    def resid(theta):
        m, s, a = ItemModel(n_items, *theta).moments()
        return [(m - t_mean) / t_sd, (s - t_sd) / t_sd, 4.0 * (a - alpha)]

    start = [0.7, -1.2 * (t_mean / n_items - 3.0), 1.0]
    fit = least_squares(
        resid,
        start,
        bounds=([0.2, -4.0, 0.15], [0.97, 4.0, 3.0]),
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
    )
    if max(abs(r) for r in fit.fun) > 1e-3:
        raise ValueError(
            f"cannot reach mean {mean}, SD {sd}, alpha {alpha} with {n_items} "
            f"five-point items (closest: {ItemModel(n_items, *fit.x).moments()})"
        )
    return ItemModel(n_items, *(round(float(v), 10) for v in fit.x))


def _observed_corr(a: ItemModel, b: ItemModel, rho: float) -> float:
    x = _NODES
    ma = a.conditional(x)[0].sum(axis=1)
    y = rho * x[:, None] + math.sqrt(max(1.0 - rho * rho, 0.0)) * x[None, :]
    mb = b.conditional(y.ravel())[0].sum(axis=1).reshape(y.shape)
    w2 = _WEIGHTS[:, None] * _WEIGHTS[None, :]
    ea, eb = float(_WEIGHTS @ ma), float(w2.ravel() @ mb.ravel())
    cov = float((w2 * ma[:, None] * mb).sum()) - ea * eb
    sa, sb = a.moments()[1], b.moments()[1]
    return cov / (sa * sb)


@lru_cache(maxsize=256)
def latent_correlation(a: ItemModel, b: ItemModel, target: float) -> float:
    """Latent correlation giving observed correlation ``target`` between two sum scores.

    Raises
    ------
    ValueError
        If ``target`` is beyond what the two scales' reliabilities allow.
    """
    if target == 0:
        return 0.0
    hi = _observed_corr(a, b, 0.999 if target > 0 else -0.999)
    if abs(target) >= abs(hi):
        raise ValueError(
            f"an observed correlation of {target} is beyond the reach of these "
            f"scales' reliabilities (at most {hi:.3f})"
        )
    lo, up = (0.0, 0.999) if target > 0 else (-0.999, 0.0)
    return round(float(brentq(lambda r: _observed_corr(a, b, r) - target, lo, up, xtol=1e-10)), 8)


def draw_items(
    eta: np.ndarray,
    model: ItemModel,
    rng: np.random.Generator,
    out: np.ndarray,
    *,
    eta0: np.ndarray | None = None,
    rows0: np.ndarray | None = None,
    out0: np.ndarray | None = None,
    alternates: tuple = (),
) -> None:
    """Draw one scale's item answers into ``out`` (int8, shape (n_items, len(eta))).

    With ``eta0``/``rows0``/``out0`` the same noise draws also give the
    answers for the rows ``rows0`` under the latent values ``eta0``
    (potential outcomes without the intervention), written to ``out0``;
    ``alternates`` holds further ``(eta, rows, out)`` triples answered with
    the same draws (e.g. without one of several changes).
    One uniform per item and row is drawn, in item order; all arithmetic is
    float64 so that the answers do not depend on the CPU's SIMD code path.
    """
    n = eta.shape[0]
    tau = model.thresholds()
    scale = model.noise_sd * NOISE_SCALE
    lin = model.loading * np.asarray(eta, dtype=np.float64)
    lin0 = None if eta0 is None else model.loading * np.asarray(eta0, dtype=np.float64)
    alts = [(model.loading * np.asarray(e, dtype=np.float64), r, o) for e, r, o in alternates]
    u = np.empty(n)
    y = np.empty(n)
    with np.errstate(divide="ignore"):
        for j in range(model.n_items):
            rng.random(out=u)
            np.subtract(1.0, u, out=y)
            np.divide(u, y, out=y)
            np.log(y, out=y)
            y *= scale
            if lin0 is not None:
                y0 = y[rows0] + lin0
            y_alts = [y[r] + lin_a for lin_a, r, _ in alts]
            y += lin
            col = out[j]
            col[...] = 1
            for t in tau[j]:
                col += y > t
            if lin0 is not None:
                col0 = out0[j]
                col0[...] = 1
                for t in tau[j]:
                    col0 += y0 > t
            for (_, _, out_a), y_a in zip(alts, y_alts, strict=True):
                col_a = out_a[j]
                col_a[...] = 1
                for t in tau[j]:
                    col_a += y_a > t
