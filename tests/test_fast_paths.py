"""The faster paths of evaluate_all (issue 14) against the direct computations they replace.

- ``_areaviews.AreaViews`` (an area's workers joined to the scores once) against
  :func:`stseval.reshape.wide` / :func:`stseval.reshape.long`, frame for frame;
- the batched CR2 / CR3 cluster scores of ``_cluster.vcov`` against the sandwich
  built from each cluster's dense ``(I - H_gg)^power`` (Moore-Penrose power for a
  column that lives in one cluster);
- ``reshape.org_months``' month counts against pandas Period arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stseval import _areaviews, _cluster, reshape
from stseval.areas import AREA_KEYS
from stseval.errors import UsageError
from stseval.evaluate import area_outcomes


@pytest.mark.parametrize("indexed", [True, False])
def test_area_views_equal_wide_and_long(small_study, indexed):
    index = _areaviews.ScoreIndex(small_study) if indexed else None
    assert index is None or index.ok
    checked = 0
    for area in AREA_KEYS:
        if not (reshape.arms(small_study, area)["arm"] == "intervention").any():
            continue
        outcomes = [o for o in area_outcomes(small_study, area) if not o.endswith("_rate")]
        views = _areaviews.AreaViews(small_study, area, outcomes, index)
        for o in reversed(outcomes):  # any order of use
            pd.testing.assert_frame_equal(views.long(o), reshape.long(small_study, o, area))
            pd.testing.assert_frame_equal(views.wide(o), reshape.wide(small_study, o, area))
            checked += 1
    assert checked >= 10
    with pytest.raises(UsageError, match="unknown outcome 'nope'"):
        _areaviews.AreaViews(small_study, "training", ["stss_total", "nope"], index)


def test_score_index_steps_aside_for_a_repeated_answer(small_study):
    doubled = pd.concat([small_study.scored(), small_study.scored().iloc[:1]], ignore_index=True)

    class Twice:  # the small study with one response given twice
        workers, waves = small_study.workers, small_study.waves

        def scored(self):
            return doubled

    assert _areaviews.ScoreIndex(small_study).ok
    assert not _areaviews.ScoreIndex(Twice()).ok


def _dense_power(M: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power with zero eigenvalues left at zero (Moore-Penrose)."""
    w, U = np.linalg.eigh(M)
    keep = w > 1e-10
    return (U[:, keep] * w[keep] ** power) @ U[:, keep].T


@pytest.mark.parametrize("se_type,power", [("CR2", -0.5), ("CR3", -1.0)])
def test_batched_cluster_scores_equal_dense_adjustments(se_type, power):
    rng = np.random.default_rng(14)
    G = 40
    sizes = rng.integers(1, 12, G)
    codes = np.repeat(np.arange(G), sizes)
    rng.shuffle(codes)
    n = len(codes)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n), codes == 3])
    y = X @ [1.0, 0.5, -0.2, 2.0] + rng.normal(size=n) + rng.normal(size=G)[codes]
    fit = _cluster.ols(X, y, codes)
    bread = np.linalg.inv(X.T @ X)
    e = y - X @ (bread @ X.T @ y)
    meat = np.zeros((4, 4))
    for g in range(G):
        idx = np.flatnonzero(codes == g)
        Xg = X[idx]
        A = _dense_power(np.eye(len(idx)) - Xg @ bread @ Xg.T, power)
        u = Xg.T @ A @ e[idx]
        meat += np.outer(u, u)
    np.testing.assert_allclose(_cluster.vcov(fit, se_type), bread @ meat @ bread, rtol=1e-9)


def test_org_months_counts_calendar_months(small_study):
    m = reshape.org_months(small_study, "training")
    valid = m["start_date"].notna() & m["month"].notna()
    by_period = [
        (a - b).n
        for a, b in zip(
            m.loc[valid, "month"].dt.to_period("M"),
            m.loc[valid, "start_date"].dt.to_period("M"),
            strict=True,
        )
    ]
    assert valid.sum() > 100
    assert m.loc[valid, "rel_month"].tolist() == by_period
    assert m["rel_month"].min() < 0 < m["rel_month"].max()
