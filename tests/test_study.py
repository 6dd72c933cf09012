"""Tests of stseval.study: folder round trip, validation errors, arms and analysis views.

Reference values are hand-worked on tiny hand-written study folders (see
``_write_tiny``); the synthetic ``small_study`` fixture checks the round trip.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stseval import reshape
from stseval.errors import DataValidationError, UsageError
from stseval.scoring import score
from stseval.study import Study

TABLES = ["workers", "responses", "orgs", "interventions", "org_metrics", "truth"]


# -- a tiny hand-written study ------------------------------------------------------
def _stss_row(wid, wave, date, value, blanks=0):
    items = [str(value)] * 17
    for i in range(blanks):
        items[i] = ""
    return ",".join([wid, wave, date, *items])


def _write_tiny(folder: Path) -> Path:
    """Orgs 007 (policies), B (training), C and D (none), E (policies + training).

    Every worker answers STSS items all equal to a value, so stss_total = 17 x value.
    """
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(
        "name: tiny\nwaves: [pre, post]\ninstruments: [stss]\nmin_cell: 1\n"
        "provenance: {source: hand-written}\n"
    )
    (folder / "orgs.csv").write_text(
        "org_id,name,size\n007,Org Seven,10\nB,Org B,10\nC,Org C,10\nD,Org D,\nE,Org E,10\n"
    )
    (folder / "workers.csv").write_text(
        "worker_id,org_id,team_id,role,tenure_years\n"
        "w1,007,007-T1,caseworker,1.5\nw2,007,007-T1,caseworker,2\n"
        "w3,B,B-T1,clinician,3\nw4,C,C-T1,nurse,4\nw5,D,D-T1,nurse,5\nw6,E,E-T1,supervisor,6\n"
        "w7,C,C-T1,caseworker,0.5\n"
    )
    header = "worker_id,wave,date," + ",".join(f"stss_{i:02d}" for i in range(1, 18))
    rows = [
        _stss_row("w1", "pre", "2024-03-01", 3),
        _stss_row("w1", "post", "2025-03-01", 2),
        _stss_row("w2", "pre", "2024-03-02", 4),  # w2 lost at post
        _stss_row("w3", "pre", "2024-03-01", 2),
        _stss_row("w3", "post", "2025-03-01", 2),
        _stss_row("w4", "pre", "2024-03-01", 3),
        _stss_row("w4", "post", "2025-03-01", 4),
        _stss_row("w5", "pre", "2024-03-01", 1),
        _stss_row("w5", "post", "2025-03-01", 1, 4),
        _stss_row("w6", "pre", "2024-03-01", 5),
        _stss_row("w6", "post", "2025-03-01", 3),
        _stss_row("w7", "pre", "2024-03-01", 2),
        _stss_row("w7", "post", "2025-03-01", 2),
    ]
    (folder / "responses.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    (folder / "interventions.csv").write_text(
        "org_id,area,start_date\n007,policies,2024-05-01\nB,training,2024-06-01\n"
        "E,policies,2024-07-01\nE,training,2024-07-01\n"
    )
    (folder / "org_metrics.csv").write_text(
        "org_id,month,headcount,separations,absence_days\n"
        "007,2024-04,10,1,21\n007,2024-05,10,0,42\nC,2024-04,20,2,0\nC,2024-05,20,4,21\n"
        "B,2024-05,5,1,1\n"
    )
    return folder


@pytest.fixture
def tiny(tmp_path) -> Path:
    return _write_tiny(tmp_path / "tiny")


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# -- reading and writing ---------------------------------------------------------------
def test_round_trip_is_byte_identical(small_study, tmp_path):
    first = small_study.to_dir(tmp_path / "a")
    back = Study.from_dir(first)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(small_study, name), getattr(back, name), check_exact=False, rtol=1e-5
        )
    second = back.to_dir(tmp_path / "b")
    assert _digest(first) == _digest(second)
    text = (first / "responses.csv").read_bytes()
    assert b"\r\n" not in text
    assert back.meta == small_study.meta


def test_ids_stay_strings_and_inputs_are_not_modified(tiny):
    before = _digest(tiny)
    study = Study.from_dir(tiny)
    assert _digest(tiny) == before
    assert "007" in set(study.orgs["org_id"])
    assert study.workers.loc[study.workers["worker_id"] == "w1", "org_id"].item() == "007"
    assert not study.is_synthetic
    assert pd.api.types.is_datetime64_any_dtype(study.responses["date"])
    assert str(study.responses["stss_01"].dtype) == "Int8"
    assert pd.isna(study.orgs.loc[study.orgs["org_id"] == "D", "size"].item())


def test_to_dir_refuses_a_non_empty_folder(small_study, tmp_path):
    out = small_study.to_dir(tmp_path / "s")
    with pytest.raises(UsageError, match="overwrite"):
        small_study.to_dir(out)
    (out / "notes.txt").write_text("keep me")
    no_truth = Study(
        meta=small_study.meta,
        workers=small_study.workers,
        responses=small_study.responses,
        orgs=small_study.orgs,
        interventions=small_study.interventions,
        org_metrics=small_study.org_metrics,
    )
    no_truth.to_dir(out, overwrite=True)
    assert not (out / "truth.csv").exists()
    assert (out / "notes.txt").read_text() == "keep me"


def test_from_dir_needs_a_folder(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        Study.from_dir(tmp_path / "nowhere")


def test_synthetic_study_validates_without_warnings(small_study):
    assert small_study.validate() == []
    assert small_study.is_synthetic


# -- validation errors -------------------------------------------------------------------
def _edit(path: Path, old: str, new: str, count: int = 1):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def test_every_row_level_problem_is_reported_at_once(tiny):
    header = (tiny / "responses.csv").read_text().splitlines()[0]
    lines = (tiny / "responses.csv").read_text().splitlines()[1:]
    lines.append(_stss_row("w3", "midway", "2024-09-01", 2))  # line 15: unknown wave
    lines.append(_stss_row("w1", "pre", "2024-03-05", 3))  # line 16: duplicate w1 x pre
    lines.append(_stss_row("ghost", "pre", "2024-03-01", 3))  # line 17: unknown worker
    lines.append(_stss_row("w4", "follow", "31/02/2024", 3))  # line 18: bad date + wave
    lines.append(_stss_row("w7", "follow2", "2024-03-01", 7))  # line 19: out of range
    (tiny / "responses.csv").write_text(header + "\n" + "\n".join(lines) + "\n")
    with open(tiny / "workers.csv", "a") as fh:
        fh.write("w8,Z,Z-T1,nurse,1\n")  # line 9: unknown org
    with open(tiny / "interventions.csv", "a") as fh:
        fh.write("C,wellbeing,2024-05-01\n")  # line 6: unknown area
    before = _digest(tiny)
    with pytest.raises(DataValidationError) as info:
        Study.from_dir(tiny)
    assert _digest(tiny) == before
    f = info.value.failures
    assert list(f.columns) == ["file", "column", "rows", "problem"]

    def row(file, column, needle):
        hit = f[
            (f["file"] == file)
            & (f["column"] == column)
            & f["problem"].str.contains(needle, regex=False)
        ]
        assert len(hit) == 1, (file, column, needle, f.to_string())
        return hit.iloc[0]

    assert row("responses.csv", "wave", "unknown wave")["rows"] == "line 15, 18, 19"
    assert row("responses.csv", "worker_id, wave", "more than once")["rows"] == "line 2, 16"
    assert row("responses.csv", "worker_id", "not in workers.csv")["rows"] == "line 17"
    assert row("responses.csv", "date", "could not be read")["rows"] == "line 18"
    bad = row("responses.csv", "stss_01", "not allowed")
    assert bad["rows"] == "line 19" and "1 to 5" in bad["problem"]
    assert row("workers.csv", "org_id", "not in orgs.csv")["rows"] == "line 9"
    unknown = row("interventions.csv", "area", "unknown area")
    assert unknown["rows"] == "line 6" and "wellbeing" in unknown["problem"]
    assert "supervision" in unknown["problem"]  # lists the valid keys


def test_missing_table_and_missing_column(tiny):
    (tiny / "interventions.csv").unlink()
    _edit(tiny / "workers.csv", "worker_id,org_id,team_id", "worker_id,org,team_id")
    with pytest.raises(DataValidationError) as info:
        Study.from_dir(tiny)
    f = info.value.failures
    assert ((f["file"] == "interventions.csv") & f["problem"].str.contains("missing table")).any()
    assert (
        (f["file"] == "workers.csv")
        & (f["column"] == "org_id")
        & f["problem"].str.contains("missing column")
    ).any()


def test_missing_item_column_and_unknown_instrument(tiny):
    _edit(tiny / "study.yaml", "instruments: [stss]", "instruments: [stss, nosuch]")
    text = (tiny / "responses.csv").read_text().splitlines()
    frame = [line.rsplit(",", 1)[0] for line in text]  # drop stss_17
    (tiny / "responses.csv").write_text("\n".join(frame) + "\n")
    with pytest.raises(DataValidationError) as info:
        Study.from_dir(tiny)
    f = info.value.failures
    assert ((f["file"] == "study.yaml") & f["problem"].str.contains("nosuch")).any()
    assert ((f["file"] == "responses.csv") & f["problem"].str.contains("stss_17")).any()


def test_other_consistency_errors(tiny):
    with open(tiny / "workers.csv", "a") as fh:
        fh.write("w9,C,B-T1,nurse,-2\n")  # team of org B used in org C, negative tenure
    with open(tiny / "org_metrics.csv", "a") as fh:
        fh.write("C,2024-05,20,x,1\nC,2024-13,20,1,1\n")
    with pytest.raises(DataValidationError) as info:
        Study.from_dir(tiny)
    f = info.value.failures
    assert ((f["column"] == "team_id") & f["problem"].str.contains("more than one")).any()
    assert ((f["column"] == "tenure_years") & f["problem"].str.contains("negative")).any()
    assert ((f["column"] == "separations") & f["problem"].str.contains("not numbers")).any()
    assert ((f["column"] == "month") & f["problem"].str.contains("could not be read")).any()
    assert ((f["file"] == "org_metrics.csv") & f["problem"].str.contains("more than once")).any()


def test_warnings_do_not_stop_reading(tiny):
    _edit(tiny / "study.yaml", "min_cell: 1", "min_cell: 2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = Study.from_dir(tiny)
    text = " ".join(str(w.message) for w in caught)
    assert "fewer than min_cell=2" in text
    assert study.validate() != []


def test_validate_false_reads_broken_folders(tiny):
    _edit(tiny / "responses.csv", "w2,pre,2024-03-02", "w2,before,someday")
    study = Study.from_dir(tiny, validate=False)
    assert study.responses["date"].isna().sum() == 1  # unreadable dates become missing
    with pytest.raises(DataValidationError, match="unknown wave"):
        study.validate()


# -- analysis views -----------------------------------------------------------------------
def test_arms_follow_the_definition(tiny):
    study = Study.from_dir(tiny)
    arms = reshape.arms(study, "policies")
    assert list(arms.columns) == ["org_id", "arm", "start_date"]
    assert dict(zip(arms["org_id"], arms["arm"], strict=False)) == {
        "007": "intervention",
        "C": "comparison",
        "D": "comparison",
        "E": "intervention",
    }
    # B changed training only: in neither arm of policies. Comparison reference date:
    # lower median of the intervention starts (2024-05-01, 2024-07-01) -> 2024-05-01.
    ref = arms.loc[arms["arm"] == "comparison", "start_date"].unique()
    assert list(ref) == [pd.Timestamp("2024-05-01")]
    assert set(reshape.arms(study, "monitoring")["arm"]) == {"comparison"}
    with pytest.raises(UsageError, match="unknown area"):
        reshape.arms(study, "wellbeing")


def test_scored_wide_and_long(tiny):
    study = Study.from_dir(tiny)
    scored = study.scored()
    assert list(scored.columns[:6]) == [
        "worker_id",
        "org_id",
        "team_id",
        "wave",
        "date",
        "stss_total",
    ]
    assert list(scored.columns[-2:]) == ["role", "tenure_years"]
    scored.loc[:, "stss_total"] = -1.0  # a copy: the cache is untouched
    assert (study.scored()["stss_total"].dropna() > 0).all()

    wide = reshape.wide(study, "stss_total", "policies")
    assert list(wide.columns) == ["worker_id", "org_id", "team_id", "treated", "pre", "post"]
    got = wide.set_index("worker_id")
    # Hand-worked: stss_total = 17 x the constant answer; w5's post answers 13 of 17 items
    # (>= 80% rule: 14 needed) -> missing; w2 has no post response.
    assert got.loc["w1", ["treated", "pre", "post"]].tolist() == [1, 51.0, 34.0]
    assert got.loc["w6", ["pre", "post"]].tolist() == [85.0, 51.0]
    assert np.isnan(got.loc["w2", "post"]) and np.isnan(got.loc["w5", "post"])
    assert set(got.index) == {"w1", "w2", "w4", "w5", "w6", "w7"}
    # plain difference in differences of completers: (34-51 + 51-85)/2 - (68-51 + 0)/2
    done = wide.dropna()
    change = (done["post"] - done["pre"]).groupby(done["treated"]).mean()
    assert change[1] - change[0] == pytest.approx(-25.5 - 8.5)

    long = reshape.long(study, "stss_total", "policies")
    assert list(long.columns) == ["worker_id", "org_id", "team_id", "treated", "wave", "y"]
    assert long["y"].notna().all()
    assert len(long) == 10  # 11 responses of the arms, one with a missing score
    assert list(long.loc[long["worker_id"] == "w1", "wave"]) == ["pre", "post"]
    with pytest.raises(UsageError, match="unknown outcome"):
        reshape.wide(study, "proqol_bo", "policies")

    rescored = study.scored(min_answered=0.5)
    assert rescored.loc[
        (rescored["worker_id"] == "w5") & (rescored["wave"] == "post"), "stss_total"
    ].item() == pytest.approx(17.0)


def test_org_months(tiny):
    study = Study.from_dir(tiny)
    m = reshape.org_months(study, "policies")
    assert list(m.columns) == [
        "org_id",
        "month",
        "headcount",
        "separations",
        "absence_days",
        "treated",
        "start_date",
        "post",
        "rel_month",
        "separation_rate",
        "absence_rate",
    ]
    assert set(m["org_id"]) == {"007", "C"}  # B is in neither arm
    first = m.iloc[0]
    assert first["org_id"] == "007" and first["month"] == pd.Timestamp("2024-04-01")
    assert first["separation_rate"] == pytest.approx(0.1)
    assert first["absence_rate"] == pytest.approx(21 / (10 * 21))
    assert m["post"].tolist() == [0, 1, 0, 1] and m["rel_month"].tolist() == [-1, 0, -1, 0]
    assert m["treated"].tolist() == [1, 1, 0, 0]


def test_scored_matches_score_on_the_small_study(small_study):
    direct = score(small_study.responses, ["stss", "proqol", "org_guidance"])
    scored = small_study.scored()
    np.testing.assert_allclose(
        scored["proqol_bo"].to_numpy(dtype=float), direct["proqol_bo"].to_numpy(dtype=float)
    )
    assert (
        scored["org_id"]
        == small_study.workers.set_index("worker_id").loc[scored["worker_id"], "org_id"].to_numpy()
    ).all()


def test_with_scored_reuses_a_stored_table_and_refuses_another_studys(small_study, tmp_path):
    fresh = small_study.replace(validate=False)
    stored = small_study.scored()
    stored.to_parquet(tmp_path / "scored.parquet", index=False)
    marked = pd.read_parquet(tmp_path / "scored.parquet").assign(mark=1)  # to see it reused
    assert fresh.with_scored(marked) is fresh
    assert "mark" in fresh.scored() and fresh.scored().drop(columns="mark").equals(stored)
    other = small_study.replace(validate=False)
    with pytest.raises(UsageError, match="do not match responses.csv"):
        other.with_scored(stored.iloc[::-1])
    with pytest.raises(UsageError, match="must be a pandas DataFrame"):
        other.with_scored(stored.to_numpy())
    assert "mark" not in other.scored()  # a refused table is not used


def test_views_on_the_small_study(small_study):
    for area in ("supervision", "monitoring"):
        wide = reshape.wide(small_study, "stss_total", area)
        arms = reshape.arms(small_study, area)
        assert set(wide["org_id"]) <= set(arms["org_id"])
        assert wide["worker_id"].is_unique
        assert set(wide["treated"]) == {0, 1}
        months = reshape.org_months(small_study, area)
        assert len(months) == len(arms) * months["month"].nunique()
        assert months["separation_rate"].between(0, 1).all()


def test_from_dir_copy_of_shipped_small(shipped_synthetic, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(shipped_synthetic / "small", target)
    study = Study.from_dir(target)
    assert study.is_synthetic and study.truth is not None
    assert study.name == "synthetic-small"


def test_from_tables_and_raw_construction(tiny):
    raw = {
        name: pd.read_csv(tiny / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
        for name in ("workers", "responses", "orgs", "interventions")
    }
    meta = {"name": "tiny", "waves": ["pre", "post"], "instruments": ["stss"], "min_cell": 1}
    kept = raw["responses"].copy()
    with pytest.warns(UserWarning, match="no org_metrics"):
        study = Study.from_tables(meta, **raw)
    pd.testing.assert_frame_equal(raw["responses"], kept)  # caller's frame untouched
    assert reshape.org_months(study, "policies").empty  # no org_metrics.csv: an empty table
    direct = Study(meta=meta, org_metrics=None, **raw)  # raw text tables: typed lazily
    assert reshape.arms(direct, "policies")["start_date"].notna().all()
    assert reshape.wide(direct, "stss_total", "policies")["pre"].notna().sum() == 6
    broken = dict(raw, interventions=raw["interventions"].assign(area="wellbeing"))
    with pytest.raises(DataValidationError, match="unknown area"):
        Study.from_tables(meta, **broken)


# -- immutability -----------------------------------------------------------------------
def test_study_is_immutable_and_replace_makes_a_new_one(tiny):
    study = Study.from_dir(tiny)
    with pytest.raises(AttributeError, match="immutable"):
        study.responses = study.responses.iloc[:2]
    with pytest.raises(AttributeError, match="immutable"):
        study.meta = {}
    before = study.scored()["stss_total"].copy()
    resp = study.responses
    changed = resp.assign(
        **{c: resp[c].where(resp["worker_id"] != "w1", 1) for c in resp.columns[3:]}
    )
    new = study.replace(responses=changed)
    # the new study scores the new answers; the old one keeps its own (the cache cannot go stale)
    w1_pre = (new.scored()["worker_id"] == "w1") & (new.scored()["wave"] == "pre")
    assert new.scored().loc[w1_pre, "stss_total"].item() == 17.0
    pd.testing.assert_series_equal(study.scored()["stss_total"], before)
    assert study.scored().loc[w1_pre, "stss_total"].item() == 51.0
    with pytest.raises(UsageError, match="unknown name"):
        study.replace(answers=changed)
    with pytest.raises(DataValidationError, match="unknown wave"):
        study.replace(responses=resp.assign(wave="later"))


def test_tables_handed_out_cannot_change_the_study(tiny):
    study = Study.from_dir(tiny)
    kept = study.workers.copy(deep=True)
    out = study.workers
    out.loc[0, "org_id"] = "ZZZ"  # in place on the handed-out table
    out["extra"] = 1
    orgs = study.orgs
    orgs.loc[orgs.index[0], "size"] = 0
    meta = study.meta
    meta["min_cell"] = 99
    pd.testing.assert_frame_equal(study.workers, kept)
    assert study.orgs["size"].iloc[0] == 10 and study.min_cell == 1
    scored = study.scored()
    scored.loc[:, "stss_total"] = -1.0
    assert (study.scored()["stss_total"].dropna() > 0).all()
    values = study.workers["tenure_years"].to_numpy()
    with pytest.raises(ValueError, match="read-only"):  # NumPy views of a table are read-only
        values[0] = 99.0
    assert study.workers["tenure_years"].iloc[0] == 1.5


def test_study_pickles_and_copies(tiny):
    import copy
    import pickle

    study = Study.from_dir(tiny)
    for back in (pickle.loads(pickle.dumps(study)), copy.deepcopy(study), copy.copy(study)):
        assert back is not study and back.source == study.source
        pd.testing.assert_frame_equal(back.responses, study.responses)
        pd.testing.assert_frame_equal(back.scored(), study.scored())
        with pytest.raises(AttributeError, match="immutable"):
            back.workers = None


def test_deprecated_methods_warn_and_agree(tiny):
    study = Study.from_dir(tiny)
    with pytest.warns(DeprecationWarning, match="stseval.reshape.wide"):
        old = study.wide("stss_total", "policies")
    pd.testing.assert_frame_equal(old, reshape.wide(study, "stss_total", "policies"))
    with pytest.warns(DeprecationWarning, match="reshape.arms"):
        study.arms("policies")
    with pytest.warns(DeprecationWarning, match="reshape.org_months"):
        study.org_months("policies")
    with pytest.warns(DeprecationWarning, match="reshape.long"):
        study.long("stss_total", "policies")
    with pytest.warns(DeprecationWarning, match="stseval.validate.check_study"):
        from stseval.checks import check_study
    assert check_study(tiny).ok


# -- Parquet ----------------------------------------------------------------------------
def test_parquet_round_trip(small_study, tmp_path):
    first = small_study.to_dir(tmp_path / "p", format="parquet")
    assert sorted(p.suffix for p in first.iterdir() if p.name != "study.yaml") == [".parquet"] * 6
    back = Study.from_dir(first)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(small_study, name), getattr(back, name), check_dtype=False
        )
    again = back.to_dir(tmp_path / "p2")  # the format read is the format written
    assert _digest(first) == _digest(again)
    csv = back.to_dir(tmp_path / "c", format="csv")
    assert _digest(csv) == _digest(small_study.to_dir(tmp_path / "c0"))
    back.to_dir(first, overwrite=True, format="csv")  # switching formats removes the other copy
    assert not list(first.glob("*.parquet"))
    with pytest.raises(UsageError, match="format"):
        back.to_dir(tmp_path / "x", format="feather")


def test_check_study_takes_a_folder_or_a_study(tiny):
    from stseval import validate

    from_folder = validate.check_study(tiny)
    assert from_folder.ok and from_folder.design.n_orgs == 5
    study = Study.from_dir(tiny)
    in_memory = validate.check_study(study)
    assert in_memory.ok and in_memory.design.describe() == from_folder.design.describe()
    raw = {
        name: pd.read_csv(tiny / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
        for name in ("workers", "responses", "orgs", "interventions")
    }
    raw["orgs"].loc[0, "size"] = "inf"
    broken = Study(meta=study.meta, **raw)  # not validated on construction
    result = validate.check_study(broken)
    assert not result.ok
    rec = result.failures.iloc[0]
    assert (rec["file"], rec["column"], rec["rows"]) == ("orgs.csv", "size", "line 2")
    assert "infinite" in rec["problem"]
    with pytest.raises(UsageError, match="min_cell"):
        validate.check_study(tiny, min_cell=0)
