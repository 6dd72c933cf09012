"""validation/recovery.py: a tiny run end to end, and the summary arithmetic on a hand-built frame."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

VALIDATION = Path(__file__).resolve().parents[1] / "validation"


@pytest.fixture(scope="module")
def recovery():
    sys.path.insert(0, str(VALIDATION))
    try:
        import recovery as module

        yield module
    finally:
        sys.path.remove(str(VALIDATION))


SUMMARY_COLUMNS = [
    "preset",
    "null",
    "area",
    "outcome",
    "estimator",
    "estimand",
    "wave",
    "cohort",
    "reps",
    "mean_truth",
    "bias",
    "bias_sd",
    "mcse_bias_sd",
    "rmse",
    "rmse_sd",
    "coverage",
    "rejection_rate",
    "mcse_coverage",
    "truth_zero",
]


def test_tiny_run_writes_replications_and_summary(recovery, tmp_path):
    """2 replications of team_rct (effect + null): raw rows, truth joined, summary columns."""
    assert (
        recovery.main(
            ["--designs", "team_rct", "--reps", "2", "--jobs", "1", "--out-dir", str(tmp_path)]
        )
        == 0
    )
    raw = recovery.load_results(tmp_path)
    assert sorted(set(zip(raw["null"], raw["seed"], strict=True))) == [
        (False, 10000),
        (False, 10001),
        (True, 10000),
        (True, 10001),
    ]
    assert set(raw["estimator"]) == {"team_did"}
    assert raw["truth"].notna().all() and raw["estimate"].notna().all()
    assert (raw.loc[raw["null"], "truth"] == 0).all()
    assert (raw.loc[~raw["null"] & (raw["outcome"] == "stss_total"), "truth"] < 0).all()
    summary = recovery.summarize(raw)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert (summary["reps"] == 2).all()
    # a second invocation resumes: nothing left to do, nothing appended
    recovery.main(
        ["--designs", "team_rct", "--reps", "2", "--jobs", "1", "--out-dir", str(tmp_path)]
    )
    assert len(recovery.load_results(tmp_path)) == len(raw)


def _hand_frame() -> pd.DataFrame:
    """Four replications of one estimator with known errors, intervals and p-values."""
    return pd.DataFrame(
        {
            "preset": "x",
            "null": False,
            "area": "supervision",
            "outcome": "stss_total",
            "estimator": "ancova",
            "estimand": "att",
            "wave": "post",
            "cohort": np.nan,
            "seed": [1, 2, 3, 4],
            "estimate": [-1.0, -3.0, -2.0, 2.0],
            "truth": [-2.0, -2.0, -2.0, -2.0],
            "ci_low": [-2.5, -1.9, -3.0, 1.0],  # covers, misses (above), covers, misses
            "ci_high": [0.5, -1.0, -1.0, 3.0],
            "p_value": [0.2, 0.01, 0.04, 0.5],
            "baseline_sd": [10.0, 10.0, 10.0, 10.0],
        }
    )


def test_summary_coverage_bias_rmse_by_hand(recovery):
    s = recovery.summarize(_hand_frame())
    assert len(s) == 1
    row = s.iloc[0]
    errors = np.array([1.0, -1.0, 0.0, 4.0])
    assert row["reps"] == 4
    assert row["bias"] == pytest.approx(errors.mean())  # 1.0
    assert row["bias_sd"] == pytest.approx(errors.mean() / 10)
    assert row["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert row["rmse_sd"] == pytest.approx(np.sqrt(np.mean((errors / 10) ** 2)))
    assert row["mcse_bias_sd"] == pytest.approx(np.std(errors / 10, ddof=1) / 2)
    assert row["coverage"] == pytest.approx(0.5)
    assert row["rejection_rate"] == pytest.approx(0.5)  # p = 0.01 and 0.04
    assert row["mcse_coverage"] == pytest.approx(np.sqrt(0.25 / 4))
    assert not row["truth_zero"]


def test_summary_drops_unestimable_rows_and_keeps_groups_apart(recovery):
    f = _hand_frame()
    f.loc[3, ["estimate", "ci_low", "ci_high", "p_value"]] = np.nan  # a "not estimable" row
    g = f.assign(null=True, truth=0.0, estimate=[0.1, -0.1, 0.3, 0.0])
    s = recovery.summarize(pd.concat([f, g], ignore_index=True))
    eff, null = s[~s["null"]].iloc[0], s[s["null"]].iloc[0]
    assert eff["reps"] == 3 and eff["coverage"] == pytest.approx(2 / 3)
    assert null["reps"] == 4 and null["truth_zero"]
    assert null["bias"] == pytest.approx(np.mean([0.1, -0.1, 0.3, 0.0]))


def test_verdicts_use_the_null_rejection_rate(recovery):
    import _report

    f = _hand_frame()
    eff = pd.concat([f] * 5, ignore_index=True)
    eff["ci_low"], eff["ci_high"] = -3.0, -1.0  # every interval covers except the last rep
    eff.loc[19, ["ci_low", "ci_high"]] = [1.0, 3.0]
    eff["estimate"] = -2.0
    null = eff.assign(null=True, truth=0.0, ci_low=-1.0, ci_high=1.0, p_value=0.5)
    null.loc[0, "p_value"] = 0.01  # 1 false positive in 20
    s = recovery.summarize(pd.concat([eff, null], ignore_index=True)).assign(preset="default")
    v = _report.primary_verdicts(s)
    assert len(v) == 1
    r = v.iloc[0]
    assert r["coverage"] == pytest.approx(0.95) and r["fpr"] == pytest.approx(0.05)
    assert r["bias_sd"] == pytest.approx(0.0) and bool(r["meets"])


def test_cached_long_frame_equals_reshape_long(recovery):
    import _designs

    import stseval
    from stseval import reshape

    study = stseval.simulate(stseval.StudyDesign.preset("three_wave"), seed=3)
    mine, sd = _designs._long(study, "stss_total", "supervision")
    ref = reshape.long(study, "stss_total", "supervision").rename(columns={"y": "score"})
    pd.testing.assert_frame_equal(mine, ref, check_dtype=False)
    base = ref[ref["wave"] == "pre"]
    pooled = np.sqrt(
        sum(((g - g.mean()) ** 2).sum() for _, g in base.groupby("treated")["score"])
        / (len(base) - base["treated"].nunique())
    )
    assert sd == pytest.approx(pooled)
