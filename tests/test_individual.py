"""evaluate_statement: individual guidance statements, participants vs non-participants.

A tiny study is built in memory with a known program effect: participants'
"skills" items rise by one point (so the statement score rises by 1) and five
of their STSS items fall by one point (STSS total -5); everyone else's items
move only by a small symmetric noise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from stseval.errors import UsageError
from stseval.individual import STATEMENT_COLUMNS, evaluate_statement
from stseval.study import Study

IND = [f"ind_guidance_{i:02d}" for i in range(1, 29)]
STSS = [f"stss_{i:02d}" for i in range(1, 18)]
SKILLS = IND[4:8]


def _noise(rng, n, k):
    """One item per row moves by -1, 0 or +1."""
    out = np.zeros((n, k), dtype=int)
    out[np.arange(n), rng.integers(0, k, n)] = rng.integers(-1, 2, n)
    return out


def _tables(seed=0, n_orgs=6, per_team=8):
    rng = np.random.default_rng(seed)
    workers = pd.DataFrame(
        [
            (f"W{o}{t}{i}", f"O{o}", f"O{o}-T{t}")
            for o in range(1, n_orgs + 1)
            for t in (1, 2)
            for i in range(per_team)
        ],
        columns=["worker_id", "org_id", "team_id"],
    )
    n = len(workers)
    programs = pd.DataFrame(
        [("course", "skills", "2024-05-01", f"O{o}-T1", "") for o in range(1, n_orgs + 1)]
        + [("mentoring", "education", "2024-05-01", "O1-T2", ""), ("coach", "skills", "", "", "W220")]
        , columns=["program", "statement", "start_date", "team_id", "worker_id"],
    )  # fmt: skip
    part = workers["team_id"].str.endswith("T1") | (workers["worker_id"] == "W220")
    part = part.to_numpy()
    ind_pre = rng.integers(2, 4, (n, 28))
    stss_pre = rng.integers(3, 5, (n, 17))
    ind_post = ind_pre + _noise(rng, n, 28)
    ind_post[:, 4:8] += part[:, None]
    stss_post = stss_pre + _noise(rng, n, 17)
    stss_post[:, :5] -= part[:, None]
    rows = []
    for wave, date, ind, stss in [
        ("pre", "2024-03-04", ind_pre, stss_pre),
        ("post", "2025-03-03", ind_post, stss_post),
    ]:
        block = pd.DataFrame(np.hstack([stss, ind]), columns=STSS + IND)
        block.insert(0, "date", pd.Timestamp(date))
        block.insert(0, "wave", wave)
        block.insert(0, "worker_id", workers["worker_id"])
        rows.append(block)
    responses = pd.concat(rows, ignore_index=True)
    orgs = pd.DataFrame(
        {"org_id": [f"O{o}" for o in range(1, n_orgs + 1)], "name": "x", "size": 2 * per_team}
    )
    return workers, responses, orgs, programs, part


def _study(workers, responses, orgs, instruments=("stss", "ind_guidance")):
    meta = {"name": "t", "waves": ["pre", "post"], "instruments": list(instruments), "min_cell": 5}
    inter = pd.DataFrame({"org_id": [], "area": [], "start_date": []})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*org_metrics.*", category=UserWarning)
        return Study.from_tables(
            meta, workers=workers, responses=responses, orgs=orgs, interventions=inter
        )


@pytest.fixture(scope="module")
def built():
    workers, responses, orgs, programs, part = _tables()
    return _study(workers, responses, orgs), programs, workers, responses, part


def test_known_effects_and_hand_computations(built):
    study, programs, workers, responses, part = built
    out = evaluate_statement(study, "skills", programs=programs)
    assert list(out.columns) == STATEMENT_COLUMNS
    t = out.set_index(["outcome", "estimator"])
    # hand scores: skills = mean of items 5-8, STSS total = sum of 17 items
    pre = responses[responses["wave"] == "pre"].reset_index(drop=True)
    post = responses[responses["wave"] == "post"].reset_index(drop=True)
    in_edu = (workers["team_id"] == "O1-T2").to_numpy()
    for outcome, f, truth in [
        ("ind_guidance_skills", lambda d: d[SKILLS].mean(axis=1), 1.0),
        ("stss_total", lambda d: d[STSS].sum(axis=1), -5.0),
    ]:
        a, b = f(pre).to_numpy(float), f(post).to_numpy(float)
        change = b - a
        assert t.loc[(outcome, "paired_change"), "estimate"] == pytest.approx(change[part].mean())
        non = ~part & ~in_edu
        assert t.loc[(outcome, "paired_change_nonparticipants"), "estimate"] == pytest.approx(
            change[non].mean()
        )
        keep = part | non
        X = np.column_stack([np.ones(keep.sum()), part[keep], a[keep]])
        beta = np.linalg.lstsq(X, b[keep], rcond=None)[0]
        row = t.loc[(outcome, "ancova")]
        assert row["estimate"] == pytest.approx(beta[1], rel=1e-9)
        assert row["ci_low"] < truth < row["ci_high"]
        assert row["n_workers"] == keep.sum() == 48 + 1 + 39
        assert row["n_orgs"] == 6
        assert t.loc[(outcome, "paired_change"), "n_workers"] == 49  # 6 teams + 1 named worker
        assert t.loc[(outcome, "paired_change_nonparticipants"), "n_workers"] == 39
    assert (out["area"] == "skills").all() and (out["wave"] == "post").all()
    assert t.loc[("stss_total", "ancova"), "direction"] == "lower"


def test_no_programs_and_no_inventory_give_notes_not_exceptions(built):
    study, programs, workers, responses, _ = built
    out = evaluate_statement(study, "skills")  # no programs table anywhere
    assert out["estimate"].isna().all()
    assert out["note"].str.contains("no programs.csv").all()
    none = evaluate_statement(study, "beliefs", programs=programs)
    assert none["note"].str.contains("no program in programs.csv targets 'beliefs'").all()
    only_stss = _study(workers, responses.drop(columns=IND), built[0].orgs, instruments=["stss"])
    res = evaluate_statement(only_stss, "skills", programs=programs).set_index("outcome")
    assert res.loc["ind_guidance_skills", "note"].str.contains("no answers").all()
    assert res.loc["stss_total", "estimate"].notna().all()


def test_programs_csv_in_the_study_folder_is_read(built, tmp_path):
    study, programs, *_ = built
    folder = study.to_dir(tmp_path / "s")
    programs.to_csv(folder / "programs.csv", index=False)
    again = Study.from_dir(folder)
    a = evaluate_statement(again, "skills")
    b = evaluate_statement(study, "skills", programs=programs)
    pd.testing.assert_series_equal(a["estimate"], b["estimate"])


def test_small_groups_are_suppressed(built):
    study, programs, *_ = built
    out = evaluate_statement(study, "skills", programs=programs, min_cell=45)
    t = out.set_index(["outcome", "estimator"])
    assert np.isfinite(t.loc[("stss_total", "paired_change"), "estimate"])  # 49 participants
    assert t.loc[("stss_total", "paired_change_nonparticipants"), "note"].startswith("suppressed")
    assert np.isnan(t.loc[("stss_total", "ancova"), "estimate"])
    assert t.loc[("stss_total", "ancova"), "note"].startswith("suppressed")


def test_bad_arguments(built):
    study, programs, *_ = built
    with pytest.raises(UsageError, match="use evaluate_area"):
        evaluate_statement(study, "training", programs=programs)
    with pytest.raises(UsageError, match="statements are"):
        evaluate_statement(study, "nope", programs=programs)
    bad = programs.assign(statement="skill")
    with pytest.raises(UsageError, match="unknown key"):
        evaluate_statement(study, "skills", programs=bad)
    empty = programs.copy()
    empty.loc[0, "team_id"] = ""
    with pytest.raises(UsageError, match="rows 2 name neither"):
        evaluate_statement(study, "skills", programs=empty)
    ghost = programs.copy()
    ghost.loc[len(ghost)] = ["x", "skills", "", "", "W999"]
    with pytest.raises(UsageError, match="worker_id 'W999' \\(rows 10\\) not in workers.csv"):
        evaluate_statement(study, "skills", programs=ghost)
    before = programs.copy()
    evaluate_statement(study, "skills", programs=programs)
    pd.testing.assert_frame_equal(programs, before)
