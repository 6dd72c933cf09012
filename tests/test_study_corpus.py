"""A corpus of broken study folders: `stseval check` exits 2 with a message, never a traceback.

Each case starts from a small valid study folder written by ``_write_valid``
(three organizations, six workers, two waves of the STSS, monthly indicators)
and breaks it the way real folders break: wrong encodings, text where a number
belongs, infinite and overflowing numbers, folders where files belong, two
copies of a table, design fields that do not match the tables, corrupt Parquet.
Every case asserts exit code 2, no traceback, the file (and the column and line
where there is one) in the message, input files unchanged and nothing written.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stseval.cli import main

ITEMS = [f"stss_{i:02d}" for i in range(1, 18)]
YAML = "name: corpus\nwaves: [pre, post]\ninstruments: [stss]\nmin_cell: 1\n"


def _row(wid, wave, value, date):
    return ",".join([wid, wave, date, *[str(value)] * 17])


def _write_valid(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(YAML, encoding="utf-8")
    (folder / "orgs.csv").write_text(
        "org_id,name,size\nA,Org A,10\nB,Org B,12\nC,Org C,9\n", encoding="utf-8"
    )
    (folder / "workers.csv").write_text(
        "worker_id,org_id,team_id,role,tenure_years\n"
        "w1,A,A-T1,nurse,1.5\nw2,A,A-T2,nurse,2\nw3,B,B-T1,clinician,3\n"
        "w4,B,B-T1,nurse,4\nw5,C,C-T1,nurse,5\nw6,C,C-T1,caseworker,6\n",
        encoding="utf-8",
    )
    rows = [
        _row(w, wave, v, "2024-03-01" if wave == "pre" else "2025-03-01")
        for w, v in zip(["w1", "w2", "w3", "w4", "w5", "w6"], [3, 4, 2, 3, 1, 5], strict=True)
        for wave in ("pre", "post")
    ]
    header = "worker_id,wave,date," + ",".join(ITEMS)
    (folder / "responses.csv").write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (folder / "interventions.csv").write_text(
        "org_id,area,start_date\nA,policies,2024-05-01\nB,training,2024-06-01\n", encoding="utf-8"
    )
    (folder / "org_metrics.csv").write_text(
        "org_id,month,headcount,separations,absence_days\n"
        "A,2024-04,10,1,21\nA,2024-05,10,0,42\nB,2024-04,12,2,0\nC,2024-04,9,1,3\n",
        encoding="utf-8",
    )
    return folder


# -- mutations ----------------------------------------------------------------------
def _sub(file, old, new, encoding="utf-8"):
    def edit(folder: Path):
        path = folder / file
        text = path.read_text(encoding="utf-8")
        assert old in text, (file, old)
        path.write_bytes(text.replace(old, new, 1).encode(encoding))

    return edit


def _yaml(extra: str, *, replace: str | None = None):
    def edit(folder: Path):
        text = replace if replace is not None else YAML + extra
        (folder / "study.yaml").write_text(text, encoding="utf-8")

    return edit


def _bytes(file, data: bytes):
    def edit(folder: Path):
        (folder / file).write_bytes(data)

    return edit


def _folder_for(file):
    def edit(folder: Path):
        path = folder / file
        if path.exists():
            path.unlink()
        (path).mkdir()
        (path / "part-0.csv").write_text("x\n1\n")

    return edit


def _remove(file):
    return lambda folder: (folder / file).unlink()


def _append(file, text):
    def edit(folder: Path):
        with (folder / file).open("a", encoding="utf-8") as fh:
            fh.write(text)

    return edit


def _both(*edits):
    def edit(folder: Path):
        for e in edits:
            e(folder)

    return edit


def _parquet_copy(file):
    def edit(folder: Path):
        import pandas as pd

        frame = pd.read_csv(folder / file, dtype=str)
        frame.to_parquet(folder / file.replace(".csv", ".parquet"), index=False)

    return edit


def _parquet_instead(file, data: bytes):
    def edit(folder: Path):
        (folder / file).unlink()
        (folder / file.replace(".csv", ".parquet")).write_bytes(data)

    return edit


def _parquet_table(file, old, new, numeric=()):
    def edit(folder: Path):
        import pandas as pd

        frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
        frame = frame.replace(old, new)
        for col in numeric:
            frame[col] = pd.to_numeric(frame[col])
        frame.to_parquet(folder / file.replace(".csv", ".parquet"), index=False)
        (folder / file).unlink()

    return edit


_PROGRAMS = "program,statement,start_date,team_id,worker_id\n"
_DESIGN = "design:\n  linkage: code\n  link_code_columns: [sgic]\n"

# name: (mutation, [strings that must all appear in stderr])
CASES = {
    # study.yaml: text where a number belongs, bad values, bad shapes
    "min_cell_text": (
        _sub("study.yaml", "min_cell: 1", "min_cell: five"),
        ["study.yaml", "min_cell", "five"],
    ),
    "min_cell_zero": (_sub("study.yaml", "min_cell: 1", "min_cell: 0"), ["study.yaml", "min_cell"]),
    "min_cell_fraction": (_sub("study.yaml", "min_cell: 1", "min_cell: 2.5"), ["min_cell", "2.5"]),
    "min_cell_bool": (_sub("study.yaml", "min_cell: 1", "min_cell: yes"), ["min_cell", "True"]),
    "min_cell_inf": (_sub("study.yaml", "min_cell: 1", "min_cell: .inf"), ["min_cell", "inf"]),
    "min_cell_huge": (_sub("study.yaml", "min_cell: 1", "min_cell: 1e400"), ["min_cell", "1e400"]),
    "min_orgs_text": (_yaml("min_orgs: many\n"), ["study.yaml", "min_orgs", "many"]),
    "min_orgs_negative": (_yaml("min_orgs: -3\n"), ["study.yaml", "min_orgs"]),
    "waves_string": (_sub("study.yaml", "[pre, post]", "pre, post"), ["study.yaml", "waves"]),
    "waves_twice": (_sub("study.yaml", "[pre, post]", "[pre, pre]"), ["waves", "listed twice"]),
    "waves_empty": (_sub("study.yaml", "[pre, post]", "[]"), ["study.yaml", "waves"]),
    "wave_dates_out_of_order": (
        _sub(
            "study.yaml",
            "[pre, post]",
            "[{name: pre, date: 2025-01-01}, {name: post, date: 2024-01-01}]",
        ),
        ["study.yaml", "waves", "increasing order"],
    ),
    "wave_date_invalid": (
        _sub(
            "study.yaml",
            "[pre, post]",
            "[{name: pre, date: 2024-13-01}, {name: post, date: 2025-01-01}]",
        ),
        ["study.yaml", "waves.0.date", "YYYY-MM-DD"],
    ),
    "wave_unknown_key": (
        _sub("study.yaml", "[pre, post]", "[{name: pre, when: 2024-01-01}, post]"),
        ["study.yaml", "waves.0.when"],
    ),
    "wave_dates_partial": (
        _sub("study.yaml", "[pre, post]", "[{name: pre, date: 2024-01-01}, post]"),
        ["study.yaml", "waves", "every wave or none"],
    ),
    "linkage_typo": (
        _yaml("design:\n  linkage: anonymus\n"),
        ["study.yaml", "design.linkage", "anonymus"],
    ),
    "assignment_unknown": (
        _yaml("design:\n  assignment: department\n"),
        ["design.assignment", "department"],
    ),
    "comparison_unknown": (
        _yaml("design:\n  comparison: matched\n"),
        ["design.comparison", "matched"],
    ),
    "design_unknown_key": (_yaml("design:\n  linkge: linked\n"), ["study.yaml", "design.linkge"]),
    "design_is_a_list": (_yaml("design: [linked, org]\n"), ["study.yaml", "design"]),
    "code_without_columns": (_yaml("design:\n  linkage: code\n"), ["design.link_code_columns"]),
    "link_code_column_missing": (_yaml(_DESIGN), ["responses.csv", "sgic", "link_code_columns"]),
    "link_columns_but_linked": (
        _yaml("design:\n  linkage: linked\n  link_code_columns: [sgic]\n"),
        ["design.link_code_columns", "linkage is linked"],
    ),
    "team_assignment_without_team_id": (
        _yaml("design:\n  assignment: team\n"),
        ["interventions.csv", "team_id", "assignment is team"],
    ),
    "team_id_not_in_workers": (
        _both(
            _yaml("design:\n  assignment: team\n"),
            _bytes(
                "interventions.csv",
                b"org_id,area,start_date,team_id\nA,policies,2024-05-01,A-T9\n"
                b"B,training,2024-06-01,B-T1\n",
            ),
        ),
        ["interventions.csv", "team_id", "line 2", "A-T9", "not in workers.csv"],
    ),
    "team_of_other_org": (
        _both(
            _yaml("design:\n  assignment: team\n"),
            _bytes(
                "interventions.csv",
                b"org_id,area,start_date,team_id\nA,policies,2024-05-01,C-T1\n"
                b"B,training,2024-06-01,B-T1\n",
            ),
        ),
        ["interventions.csv", "team_id", "line 2", "another organization"],
    ),
    "team_id_blank_with_team_assignment": (
        _both(
            _yaml("design:\n  assignment: team\n"),
            _bytes(
                "interventions.csv",
                b"org_id,area,start_date,team_id\nA,policies,2024-05-01,\n"
                b"B,training,2024-06-01,B-T1\n",
            ),
        ),
        ["interventions.csv", "team_id", "line 2", "blank"],
    ),
    "instruments_not_a_list": (
        _sub("study.yaml", "[stss]", "stss, proqol"),
        ["study.yaml", "instruments"],
    ),
    "instrument_unknown": (
        _sub("study.yaml", "[stss]", "[stsss]"),
        ["study.yaml", "instruments", "stsss"],
    ),
    "yaml_not_a_mapping": (_yaml("", replace="- pre\n- post\n"), ["study.yaml", "mapping"]),
    "yaml_malformed": (
        _yaml("", replace="name: x\nwaves: [pre, post\n"),
        ["study.yaml", "not valid YAML", "line"],
    ),
    "yaml_tab_indent": (
        _yaml("", replace="name: x\ndesign:\n\tlinkage: linked\n"),
        ["study.yaml", "not valid YAML"],
    ),
    "yaml_empty": (_yaml("", replace=""), ["study.yaml", "mapping"]),
    "yaml_is_folder": (_folder_for("study.yaml"), ["study.yaml", "is a folder"]),
    "yaml_missing": (_remove("study.yaml"), ["study.yaml", "missing"]),
    "yaml_utf16_without_bom": (
        _bytes("study.yaml", YAML.encode("utf-16-le")),
        ["study.yaml", "NUL bytes", "line 1"],
    ),
    "yaml_binary": (
        _bytes("study.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ["study.yaml", "NUL"],
    ),
    "yaml_latin1_and_bad_min_cell": (
        _bytes(
            "study.yaml",
            "name: Zoë\nwaves: [pre, post]\ninstruments: [stss]\nmin_cell: cinq\n".encode(
                "latin-1"
            ),
        ),
        ["study.yaml", "min_cell", "cinq", "Latin-1"],
    ),
    # files and folders
    "workers_is_folder": (_folder_for("workers.csv"), ["workers.csv", "is a folder"]),
    "org_metrics_is_folder": (_folder_for("org_metrics.csv"), ["org_metrics.csv", "is a folder"]),
    "responses_missing": (_remove("responses.csv"), ["responses.csv", "missing table"]),
    "interventions_missing": (_remove("interventions.csv"), ["interventions.csv", "missing table"]),
    "csv_and_parquet": (_parquet_copy("orgs.csv"), ["orgs.csv", "orgs.parquet", "keep only one"]),
    "parquet_corrupt": (
        _parquet_instead("interventions.csv", b"PAR1 this is not a parquet file PAR1"),
        ["interventions.parquet", "could not read the Parquet file"],
    ),
    "parquet_is_csv_text": (
        _parquet_instead("orgs.csv", b"org_id,name,size\nA,Org A,10\n"),
        ["orgs.parquet", "could not read the Parquet file"],
    ),
    "parquet_size_inf": (
        _parquet_table("orgs.csv", "9", "inf", numeric=["size"]),
        ["orgs.parquet", "size", "row 3", "infinite"],
    ),
    "parquet_unknown_org": (
        _parquet_table("workers.csv", "C", "Q"),
        ["workers.parquet", "org_id", "row 5, 6", "Q"],
    ),
    "workers_is_an_xlsx_renamed": (
        _bytes(
            "workers.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"
        ),
        ["workers.csv", "NUL"],
    ),
    "responses_is_an_html_page": (
        _bytes("responses.csv", b"<!DOCTYPE html>\n<html><body>Please log in</body></html>\n"),
        ["responses.csv", "missing column"],
    ),
    "orgs_header_only_blank_lines": (_bytes("orgs.csv", b"\n\n\n"), ["orgs.csv", "empty"]),
    "workers_header_only": (
        _bytes("workers.csv", b"worker_id,org_id,team_id\n"),
        ["responses.csv", "worker_id", "not in workers.csv"],
    ),
    "orgs_empty_file": (_bytes("orgs.csv", b""), ["orgs.csv", "empty"]),
    "workers_nul_bytes": (
        _bytes("workers.csv", "worker_id,org_id\nw1,A\n".encode("utf-16-le")),
        ["workers.csv", "NUL"],
    ),
    "workers_latin1_and_unknown_org": (
        _sub(
            "workers.csv", "w6,C,C-T1,caseworker", "w6,Zürich,C-T1,caseworker", encoding="latin-1"
        ),
        ["workers.csv", "org_id", "line 7", "Zürich", "Latin-1"],
    ),
    "responses_ragged_row": (
        _append("responses.csv", "w1,pre,2024-03-01,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,9,9\n"),
        ["responses.csv"],
    ),
    # numbers that overflow, are infinite, or are not numbers
    "size_inf": (
        _sub("orgs.csv", "A,Org A,10", "A,Org A,inf"),
        ["orgs.csv", "size", "line 2", "infinite"],
    ),
    "size_negative_inf": (
        _sub("orgs.csv", "A,Org A,10", "A,Org A,-inf"),
        ["orgs.csv", "size", "line 2", "infinite"],
    ),
    "size_negative": (
        _sub("orgs.csv", "B,Org B,12", "B,Org B,-12"),
        ["orgs.csv", "size", "line 3", "negative"],
    ),
    "size_fraction": (
        _sub("orgs.csv", "B,Org B,12", "B,Org B,12.5"),
        ["orgs.csv", "size", "line 3", "whole"],
    ),
    "size_text": (
        _sub("orgs.csv", "C,Org C,9", "C,Org C,nine"),
        ["orgs.csv", "size", "line 4", "not numbers"],
    ),
    "headcount_1e400": (
        _sub("org_metrics.csv", "A,2024-04,10,", "A,2024-04,1e400,"),
        ["org_metrics.csv", "headcount", "line 2", "infinite"],
    ),
    "separations_nan_text": (
        _sub("org_metrics.csv", "A,2024-05,10,0,", "A,2024-05,10,NaN,"),
        ["org_metrics.csv", "separations", "line 3"],
    ),
    "absence_decimal_comma": (
        _sub("org_metrics.csv", "C,2024-04,9,1,3", 'C,2024-04,9,1,"1,5"'),
        ["org_metrics.csv", "absence_days", "line 5"],
    ),
    "tenure_inf": (
        _sub("workers.csv", "w1,A,A-T1,nurse,1.5", "w1,A,A-T1,nurse,inf"),
        ["workers.csv", "tenure_years", "line 2", "infinite"],
    ),
    "tenure_huge": (
        _sub("workers.csv", "w2,A,A-T2,nurse,2", "w2,A,A-T2,nurse,2e999"),
        ["workers.csv", "tenure_years", "line 3", "infinite"],
    ),
    "tenure_text": (
        _sub("workers.csv", "w3,B,B-T1,clinician,3", "w3,B,B-T1,clinician,three"),
        ["workers.csv", "tenure_years", "line 4"],
    ),
    "item_1e400": (
        _sub("responses.csv", "w1,pre,2024-03-01,3,", "w1,pre,2024-03-01,1e400,"),
        ["responses.csv", "stss_01"],
    ),
    "item_inf": (
        _sub("responses.csv", "w2,pre,2024-03-01,4,", "w2,pre,2024-03-01,inf,"),
        ["responses.csv", "stss_01"],
    ),
    "item_fraction": (
        _sub("responses.csv", "w3,pre,2024-03-01,2,", "w3,pre,2024-03-01,2.5,"),
        ["responses.csv", "stss_01"],
    ),
    "truth_value_inf": (
        _bytes("truth.csv", b"area,outcome,estimand,value\npolicies,stss_total,att,inf\n"),
        ["truth.csv", "value", "line 2", "infinite"],
    ),
    "truth_unknown_wave": (
        _bytes(
            "truth.csv", b"area,outcome,estimand,value,wave\npolicies,stss_total,att,-1,follow_up\n"
        ),
        ["truth.csv", "wave", "line 2", "follow_up"],
    ),
    # dates, IDs and references
    "month_13": (
        _sub("org_metrics.csv", "A,2024-05,", "A,2024-13,"),
        ["org_metrics.csv", "month", "line 3"],
    ),
    "date_day_first": (
        _sub("responses.csv", "w4,pre,2024-03-01", "w4,pre,01/03/2024x"),
        ["responses.csv", "date"],
    ),
    "start_date_blank": (
        _sub("interventions.csv", "A,policies,2024-05-01", "A,policies,"),
        ["interventions.csv", "start_date", "line 2"],
    ),
    "wave_unknown": (
        _sub("responses.csv", "w5,post,", "w5,follow_up,"),
        ["responses.csv", "wave", "follow_up"],
    ),
    "worker_twice": (
        _append("workers.csv", "w1,B,B-T1,nurse,1\n"),
        ["workers.csv", "worker_id", "w1"],
    ),
    "worker_wave_twice": (
        _append("responses.csv", _row("w1", "pre", 2, "2024-03-02") + "\n"),
        ["responses.csv", "worker_id, wave", "line 2, 14"],
    ),
    "response_unknown_worker": (
        _append("responses.csv", _row("w99", "post", 2, "2025-03-02") + "\n"),
        ["responses.csv", "worker_id", "line 14", "w99"],
    ),
    "worker_unknown_org": (
        _sub("workers.csv", "w5,C,C-T1", "w5,Q,Q-T1"),
        ["workers.csv", "org_id", "line 6", "Q"],
    ),
    "team_in_two_orgs": (
        _sub("workers.csv", "w5,C,C-T1", "w5,C,B-T1"),
        ["workers.csv", "team_id", "B-T1"],
    ),
    "area_unknown": (
        _sub("interventions.csv", "B,training", "B,trainings"),
        ["interventions.csv", "area", "line 3", "trainings"],
    ),
    "org_id_blank": (
        _sub("workers.csv", "w4,B,", "w4,,"),
        ["workers.csv", "org_id", "line 5", "blank"],
    ),
    "responses_no_wave_column": (
        _sub("responses.csv", "worker_id,wave,date", "worker_id,round,date"),
        ["responses.csv", "wave", "missing column"],
    ),
    "metrics_org_month_twice": (
        _append("org_metrics.csv", "A,2024-04,10,1,21\n"),
        ["org_metrics.csv", "org_id, month"],
    ),
    # programs.csv (issue 11's table)
    "programs_missing_column": (
        _bytes("programs.csv", b"program,statement\nP1,self_care\n"),
        ["programs.csv", "start_date", "missing column"],
    ),
    "programs_unknown_statement": (
        _bytes("programs.csv", (_PROGRAMS + "P1,selfcare,2024-05-01,A-T1,\n").encode()),
        ["programs.csv", "statement", "line 2", "selfcare"],
    ),
    "programs_team_and_worker": (
        _bytes("programs.csv", (_PROGRAMS + "P1,{s},2024-05-01,A-T1,w1\n").encode()),
        ["programs.csv", "team_id, worker_id", "line 2", "both"],
    ),
    "programs_unknown_worker": (
        _bytes("programs.csv", (_PROGRAMS + "P1,{s},2024-05-01,,w42\n").encode()),
        ["programs.csv", "worker_id", "line 2", "w42"],
    ),
}


def _statement() -> str:
    from stseval.areas import STATEMENT_KEYS

    return STATEMENT_KEYS[0]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _build(case: str, tmp_path: Path) -> Path:
    folder = _write_valid(tmp_path / case)
    edit, _ = CASES[case]
    edit(folder)
    programs = folder / "programs.csv"
    if programs.is_file() and b"{s}" in programs.read_bytes():
        programs.write_bytes(programs.read_bytes().replace(b"{s}", _statement().encode()))
    return folder


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


def test_the_valid_study_passes(tmp_path, capsys):
    folder = _write_valid(tmp_path / "valid")
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Design: 2 waves, linked by worker ID, 3 organizations" in out


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_folder(case, tmp_path, capsys):
    folder = _build(case, tmp_path)
    before = _hashes(tmp_path)
    code = main(["check", str(folder)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for text in CASES[case][1]:
        assert text in err, f"{case}: expected {text!r} in:\n{err}"
    assert _hashes(tmp_path) == before, "an input changed or a file was written"


@pytest.mark.parametrize("case", ["min_cell_text", "size_inf", "yaml_latin1_and_bad_min_cell"])
def test_broken_folder_as_a_command(case, tmp_path):
    folder = _build(case, tmp_path)
    before = _hashes(tmp_path)
    entry = "import sys; from stseval.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if k != "STSEVAL_KEY"}
    proc = subprocess.run(
        [sys.executable, "-c", entry, "check", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert all(text in proc.stderr for text in CASES[case][1]), proc.stderr
    assert _hashes(tmp_path) == before


def test_a_file_where_the_study_folder_belongs(tmp_path, capsys):
    folder = _write_valid(tmp_path / "s")
    before = _hashes(tmp_path)
    code = main(["check", str(folder / "workers.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "workers.csv is a file; expected a study folder" in err
    assert _hashes(tmp_path) == before


def test_every_failure_of_a_folder_at_once(tmp_path, capsys):
    folder = _write_valid(tmp_path / "s")
    for name in ("linkage_typo", "min_cell_text", "size_inf", "tenure_inf", "headcount_1e400"):
        CASES[name][0](folder)
    assert main(["check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "(5 problem(s))" in err
    for column in ("min_cell", "size", "tenure_years", "headcount", "design.linkage"):
        assert f"column {column}" in err
