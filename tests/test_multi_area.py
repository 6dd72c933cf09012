"""Tests of stseval.multi_area: overlap counts and the joint model with one indicator per area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from stseval.errors import UsageError
from stseval.multi_area import OVERLAP_COLUMNS, area_overlap, joint_areas


def test_area_overlap_hand_counts():
    iv = pd.DataFrame(
        {
            "org_id": ["a", "a", "b", "c", "c", "c", "d"],
            "area": ["sup", "work", "sup", "sup", "work", "peer", "work"],
        }
    )
    res = area_overlap(iv).set_index("area")
    assert list(area_overlap(iv).columns) == OVERLAP_COLUMNS
    assert res.loc["sup", "n_orgs"] == 3 and res.loc["sup", "n_orgs_other_areas"] == 2
    assert res.loc["sup", "share_other_areas"] == pytest.approx(2 / 3)
    assert res.loc["sup", "other_areas"] == "work (2), peer (1)"
    assert res.loc["work", "n_orgs"] == 3 and res.loc["work", "n_orgs_other_areas"] == 2
    assert res.loc["peer", "n_orgs_other_areas"] == 1


def _simulate(rng, n_orgs=40, per_org=12, effects=(0.5, 0.2)):
    """Orgs change area 1, area 2, both, or nothing; effects add up; common trend 0.3."""
    kind = np.arange(n_orgs) % 4  # 0 none, 1 sup, 2 work, 3 both
    sup, work = np.isin(kind, [1, 3]), np.isin(kind, [2, 3])
    rows = []
    for o in range(n_orgs):
        a = rng.normal(0, 0.4)
        for w, later in (("pre", 0), ("post", 1)):
            eff = later * (effects[0] * sup[o] + effects[1] * work[o] + 0.3)
            y = a + eff + rng.normal(0, 1, per_org)
            for i, v in enumerate(y):
                rows.append((f"{o}-{w}-{i}", o, w, v, int(sup[o]), int(work[o])))
    return pd.DataFrame(rows, columns=["worker_id", "org_id", "wave", "score", "sup", "work"])


def test_joint_areas_matches_statsmodels_and_recovers():
    data = _simulate(np.random.default_rng(1))
    res = joint_areas(data, areas=["sup", "work"], se_type="CR1").set_index("area")
    d = data.assign(later=(data["wave"] == "post").astype(float))
    fit = smf.ols("score ~ (sup + work) * later", d).fit(
        cov_type="cluster", cov_kwds={"groups": d["org_id"]}
    )
    assert res.loc["sup", "estimate"] == pytest.approx(fit.params["sup:later"])
    assert res.loc["work", "se"] == pytest.approx(fit.bse["work:later"], rel=1e-8)
    assert (res["estimator"] == "did_joint_areas").all()
    errs = []
    for seed in range(20):
        r = joint_areas(_simulate(np.random.default_rng(50 + seed)), areas=["sup", "work"])
        for a, truth in zip(["sup", "work"], (0.5, 0.2), strict=True):
            row = r[r["area"] == a].iloc[0]
            errs.append((row["estimate"] - truth) / row["se"])
    assert abs(np.mean(errs)) < 0.5
    assert np.mean(np.abs(errs) < stats.t.ppf(0.975, 39)) >= 0.85


def test_joint_areas_notes_and_errors():
    data = _simulate(np.random.default_rng(2))
    data["peer"] = 0
    data.loc[data["org_id"] == 1, "peer"] = 1
    res = joint_areas(data, areas=["sup", "work", "peer"]).set_index("area")
    assert np.isnan(res.loc["peer", "estimate"]) and "1 organization(s)" in res.loc["peer", "note"]
    assert np.isfinite(res.loc["sup", "estimate"])
    with pytest.raises(UsageError, match="non-empty list"):
        joint_areas(data, areas="sup")
    with pytest.raises(UsageError, match="0/1"):
        joint_areas(data.assign(sup=2), areas=["sup"])
