"""The design contract: study.yaml's waves and design block, `study.design`, `stseval check`.

Small study folders are written by hand for each shape (linked, anonymous,
three waves, no comparison group, team assignment, code linkage, programs), so
every expected sentence and count can be checked against the folder itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stseval import reshape
from stseval.cli import main
from stseval.design import Design, parse_meta
from stseval.study import Study

ITEMS = [f"stss_{i:02d}" for i in range(1, 18)]


def _write(
    folder: Path,
    *,
    yaml_text: str = "",
    waves=("pre", "post"),
    anonymous: bool = False,
    orgs=("A", "B", "C"),
    treated=("A", "B"),
    inter_extra: str = "",
    resp_extra=None,
) -> Path:
    """Two workers per org answering every wave; answers = 1 + (worker + wave) % 4."""
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(
        f"name: shape\nwaves: [{', '.join(waves)}]\ninstruments: [stss]\nmin_cell: 1\n" + yaml_text,
        encoding="utf-8",
    )
    (folder / "orgs.csv").write_text(
        "org_id,name,size\n" + "".join(f"{o},Org {o},10\n" for o in orgs), encoding="utf-8"
    )
    workers, rows = ["worker_id,org_id,team_id"], []
    extra_cols = list(resp_extra or {})
    for i, org in enumerate(o for o in orgs for _ in range(2)):
        for j, wave in enumerate(waves):
            wid = f"w{i}-{wave}" if anonymous else f"w{i}"
            if anonymous or j == 0:
                workers.append(f"{wid},{org},{org}-T{i % 2}")
            value = 1 + (i + j) % 4
            extra = [resp_extra[c](i, j) for c in extra_cols]
            rows.append(",".join([wid, wave, f"202{4 + j}-03-01", *[str(value)] * 17, *extra]))
    (folder / "workers.csv").write_text("\n".join(workers) + "\n", encoding="utf-8")
    header = ",".join(["worker_id", "wave", "date", *ITEMS, *extra_cols])
    (folder / "responses.csv").write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    cols = "org_id,area,start_date" + (",team_id" if inter_extra else "")
    lines = [
        f"{o},policies,2024-06-01" + (f",{o}-T{inter_extra}" if inter_extra else "")
        for o in treated
    ]
    (folder / "interventions.csv").write_text(cols + "\n" + "\n".join(lines) + "\n")
    return folder


def _check(folder: Path, capsys) -> tuple[int, str]:
    code = main(["check", str(folder)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# -- study.yaml model ---------------------------------------------------------------------
def test_parse_meta_reads_names_and_dated_waves():
    spec, failures = parse_meta(
        {
            "waves": ["pre", "post"],
            "min_orgs": 10,
            "design": {"linkage": "anonymous", "assignment": "team", "comparison": "none"},
        }
    )
    assert failures == [] and spec.min_orgs == 10
    assert spec is not None and [w.name for w in spec.waves] == ["pre", "post"]
    spec, failures = parse_meta(
        {"waves": [{"name": "pre", "date": "2024-03-01"}, {"name": "post", "date": "2025-03-01"}]}
    )
    assert spec.waves[1].date == dt.date(2025, 3, 1)
    spec, failures = parse_meta({"min_cell": "five", "design": {"linkage": "x", "oops": 1}})
    assert spec is None
    columns = sorted(f["column"] for f in failures)
    assert columns == ["design.linkage", "design.oops", "min_cell"]  # all at once
    assert all(f["file"] == "study.yaml" for f in failures)


# -- shapes ---------------------------------------------------------------------------
def test_default_design_is_todays(tmp_path, capsys):
    folder = _write(tmp_path / "s")
    design = Study.from_dir(folder).design
    assert isinstance(design, Design)
    assert (design.waves, design.linkage, design.assignment) == (("pre", "post"), "linked", "org")
    assert design.comparison == "chosen" and design.comparison_inferred
    assert (design.n_orgs, design.n_teams, design.n_workers, design.n_comparison_orgs) == (
        3,
        6,
        6,
        1,
    )
    assert design.describe() == (
        "2 waves, linked by worker ID, 3 organizations, 1 chosen comparison organization(s)"
    )
    code, out = _check(folder, capsys)
    assert code == 0 and "Design: 2 waves, linked by worker ID" in out


def test_anonymous_study_passes_check_and_says_waves_are_not_linked(tmp_path, capsys):
    folder = _write(tmp_path / "anon", anonymous=True, orgs=("A", "B"), treated=("A", "B"))
    study = Study.from_dir(folder)
    design = study.design
    assert design.linkage == "anonymous" and design.linkage_inferred
    assert design.comparison == "none"
    assert design.n_workers == 8  # one row per respondent
    assert (
        design.describe() == "2 waves, anonymous (inferred), 2 organizations, no comparison group"
    )
    text = " ".join(design.implications())
    assert "need linked waves: not estimable" in text
    assert "No comparison group: any change may come from everything else" in text
    code, out = _check(folder, capsys)
    assert code == 0
    assert "waves are not linked" in out
    assert "paired estimates use the 0" not in out
    wide = reshape.wide(study, "stss_total", "policies")
    assert len(wide) == 8 and wide[["pre", "post"]].notna().all(axis=1).sum() == 0


def test_declared_anonymous_with_repeated_ids_warns(tmp_path, capsys):
    folder = _write(tmp_path / "s", yaml_text="design:\n  linkage: anonymous\n")
    assert not Study.from_dir(folder).design.linkage_inferred
    code, out = _check(folder, capsys)
    assert code == 0 and "answer more than one wave" in out


def test_three_waves_with_dates(tmp_path, capsys):
    folder = _write(tmp_path / "s", waves=("pre", "post", "follow_up"))
    text = (
        (folder / "study.yaml")
        .read_text()
        .replace(
            "waves: [pre, post, follow_up]",
            "waves:\n  - {name: pre, date: 2024-03-01}\n  - {name: post, date: 2025-03-01}\n"
            "  - {name: follow_up, date: 2026-03-01}",
        )
    )
    (folder / "study.yaml").write_text(text)
    study = Study.from_dir(folder)
    assert study.waves == ["pre", "post", "follow_up"]
    assert study.design.wave_dates[2] == dt.date(2026, 3, 1)
    assert any("whether it lasted" in s for s in study.design.implications())
    long = reshape.long(study, "stss_total", "policies")
    assert long.groupby("worker_id").size().eq(3).all()
    follow = reshape.wide(study, "stss_total", "policies", wave="follow_up")
    post = reshape.wide(study, "stss_total", "policies")
    # worker i answers 1 + (i + j) % 4 at wave j, so stss_total = 17 x that
    i = follow["worker_id"].str[1:].astype(int).to_numpy()
    np.testing.assert_array_equal(follow["post"], 17.0 * (1 + (i + 2) % 4))
    np.testing.assert_array_equal(post["post"], 17.0 * (1 + (i + 1) % 4))
    with pytest.raises(Exception, match="later wave"):
        reshape.wide(study, "stss_total", "policies", wave="pre")
    code, out = _check(folder, capsys)
    assert code == 0 and "3 waves" in out
    study.to_dir(tmp_path / "copy")  # dated waves survive the round trip
    assert Study.from_dir(tmp_path / "copy").design.wave_dates == study.design.wave_dates


def test_team_assignment(tmp_path, capsys):
    folder = _write(
        tmp_path / "s",
        yaml_text="design:\n  assignment: team\n  comparison: randomized\n",
        orgs=("A", "B"),
        treated=("A", "B"),
        inter_extra="0",
    )
    # teams of org A are A-T0 and A-T1, of B: B-T0, B-T1 (worker i in team i % 2)
    study = Study.from_dir(folder)
    assert study.design.assignment == "team" and study.design.comparison == "randomized"
    assert list(study.interventions["team_id"]) == ["A-T0", "B-T0"]
    assert "4 teams, assigned by team" in study.design.describe()
    code, out = _check(folder, capsys)
    assert code == 0 and "clustered by team" in out


def test_code_linkage_keeps_codes_as_text(tmp_path, capsys):
    folder = _write(
        tmp_path / "s",
        yaml_text="design:\n  linkage: code\n  link_code_columns: [link_code]\n",
        anonymous=True,
        resp_extra={"link_code": lambda i, j: f"0{i}AB"},
    )
    study = Study.from_dir(folder)
    assert study.design.linkage == "code" and study.design.linked
    assert study.responses["link_code"].tolist()[:2] == ["00AB", "00AB"]
    code, out = _check(folder, capsys)
    assert code == 0 and "linked by self-generated code" in out


def test_programs_table(tmp_path, capsys):
    from stseval.areas import STATEMENT_KEYS

    folder = _write(tmp_path / "s")
    (folder / "programs.csv").write_text(
        "program,statement,start_date,team_id,worker_id\n"
        f"P1,{STATEMENT_KEYS[0]},2024-05-01,A-T0,\nP2,{STATEMENT_KEYS[1]},2024-06-01,,w3\n"
    )
    study = Study.from_dir(folder)
    assert list(study.programs["program"]) == ["P1", "P2"]
    assert pd.api.types.is_datetime64_any_dtype(study.programs["start_date"])
    assert main(["check", str(folder)]) == 0
    study.to_dir(tmp_path / "copy")
    assert (tmp_path / "copy" / "programs.csv").read_text() == (folder / "programs.csv").read_text()


@pytest.mark.parametrize(
    ("encoding", "note"), [("utf-8-sig", None), ("latin-1", "Latin-1"), ("cp1252", "Latin-1")]
)
def test_encodings_of_study_yaml(tmp_path, capsys, encoding, note):
    folder = _write(tmp_path / "s")
    text = (folder / "study.yaml").read_text().replace("name: shape", "name: Zoë’s study")
    if encoding == "latin-1":
        text = text.replace("’", "'")
    (folder / "study.yaml").write_bytes(text.encode(encoding))
    code, out = _check(folder, capsys)
    assert code == 0
    assert ("not UTF-8" in out) == (note is not None)
    if note:
        assert note in out and "line 1" in out
    assert Study.from_dir(folder).name.startswith("Zoë")


def test_data_dictionary_documents_the_design(tmp_path):
    from stseval.areas import STATEMENT_KEYS
    from stseval.datadict import data_dictionary

    folder = _write(
        tmp_path / "s", yaml_text="min_orgs: 4\ndesign:\n  linkage: linked\n  comparison: chosen\n"
    )
    (folder / "programs.csv").write_text(
        f"program,statement,start_date,team_id,worker_id\nP1,{STATEMENT_KEYS[0]},2024-05-01,,w1\n"
    )
    text = data_dictionary(Study.from_dir(folder))
    assert "| min_orgs | 4 (fewest other organizations a summary may describe) |" in text
    assert "| design | 2 waves, linked by worker ID, 3 organizations" in text
    assert "## programs.csv" in text and "Individual guidance statement" in text
    assert "| programs.csv | 1 | program x participating team or worker |" in text


def test_simulate_writes_parquet(tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(
        ["simulate", "--preset", "small", "--out", str(out), "--format", "parquet", "--seed", "3"]
    )
    assert code == 0
    assert (out / "responses.parquet").is_file() and not (out / "responses.csv").exists()
    study = Study.from_dir(out)
    assert study.is_synthetic and len(study.responses) > 0


def test_single_organization_and_min_orgs(tmp_path):
    one = Study.from_dir(_write(tmp_path / "one", orgs=("A",), treated=("A",)))
    assert (
        one.design.describe() == "2 waves, linked by worker ID, 1 organization, no comparison group"
    )
    assert any(s.startswith("One organization:") for s in one.design.implications())
    few = Study.from_dir(_write(tmp_path / "few", yaml_text="min_orgs: 2\n"))
    assert few.design.min_orgs == 2 and few.design.n_comparison_orgs == 1
    assert any("fewer than min_orgs=2" in s for s in few.design.implications())
    enough = Study.from_dir(_write(tmp_path / "ok", yaml_text="min_orgs: 1\n"))
    assert not any("min_orgs" in s for s in enough.design.implications())


def test_declared_comparison_that_the_tables_contradict_warns(tmp_path, capsys):
    folder = _write(
        tmp_path / "a", yaml_text="design:\n  comparison: chosen\n", treated=("A", "B", "C")
    )
    code, out = _check(folder, capsys)
    assert code == 0 and "there is no comparison group" in out
    folder = _write(tmp_path / "b", yaml_text="design:\n  comparison: none\n")
    code, out = _check(folder, capsys)
    assert code == 0 and "1 organization(s) have no row" in out
    assert Study.from_dir(folder).design.comparison == "none"
