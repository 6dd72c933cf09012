"""The command line: thin over the functions; user mistakes exit 2 with one paragraph, no traceback."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stseval.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples" / "survey_example.csv"


def run(*args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_instruments_list_and_show(capsys):
    code, out, _ = run("instruments", capsys=capsys)
    assert code == 0 and "stss" in out and "org_guidance" in out
    code, out, _ = run("instruments", "show", "proqol", capsys=capsys)
    assert code == 0 and "proqol_bo" in out and "1, 4, 15, 17, 29" in out


def test_score_writes_scores_and_leaves_input_alone(tmp_path, capsys):
    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    out_file = tmp_path / "scores.csv"
    code, out, err = run(
        "score",
        EXAMPLE,
        "--instrument",
        "proqol",
        "--instrument",
        "stss",
        "--out",
        out_file,
        capsys=capsys,
    )
    assert code == 0, err
    scores = pd.read_csv(out_file)
    assert {"respondent", "wave", "stss_total", "proqol_bo", "stss_total_band"} <= set(scores)
    assert len(scores) == 40
    assert hashlib.sha256(EXAMPLE.read_bytes()).hexdigest() == digest


def test_score_accepts_user_yaml(tmp_path, capsys):
    yaml_file = tmp_path / "two.yaml"
    yaml_file.write_text("""key: two
name: Two
short_name: T
version: "1"
citation: Me
licence: {status: free, summary: s}
response: {min: 1, max: 5, anchors: {1: a, 5: b}}
items: [{number: 1, label: one}, {number: 2, label: two}]
scales: {total: {label: T, items: [1, 2], method: mean}}
""")
    data = tmp_path / "d.csv"
    data.write_text("id,two_01,two_02\na,1,5\nb,2,\n")
    code, _, err = run("score", data, "-i", yaml_file, "-o", tmp_path / "o.csv", capsys=capsys)
    assert code == 0, err
    result = pd.read_csv(tmp_path / "o.csv")["two_total"]
    # b answered 1 of 2 items: below the kit's 80% rule, so no score.
    assert result.iloc[0] == 3.0 and pd.isna(result.iloc[1])


@pytest.mark.parametrize(
    "content,message",
    [
        ("id,stss_01\nx,3\n", "missing 16 item column"),
        ("", "the file is empty"),
    ],
)
def test_score_user_errors_exit_2(tmp_path, capsys, content, message):
    data = tmp_path / "bad.csv"
    data.write_text(content)
    code, _, err = run("score", data, "-i", "stss", "-o", tmp_path / "o.csv", capsys=capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_out_of_range_names_file_line_and_column(tmp_path, capsys):
    frame = pd.read_csv(EXAMPLE)
    frame.loc[3, "stss_07"] = 9  # data row 3 -> spreadsheet line 5
    bad = tmp_path / "survey.csv"
    frame.to_csv(bad, index=False)
    code, _, err = run("score", bad, "-i", "stss", "-o", tmp_path / "o.csv", capsys=capsys)
    assert code == 2
    assert "survey.csv" in err and "stss_07" in err and "rows 5" in err and "1 to 5" in err


def test_refuses_to_overwrite_input(tmp_path, capsys):
    copy = tmp_path / "in.csv"
    copy.write_bytes(EXAMPLE.read_bytes())
    code, _, err = run("score", copy, "-i", "stss", "-o", copy, capsys=capsys)
    assert code == 2 and "never modified" in err


def test_unknown_instrument_and_missing_file(tmp_path, capsys):
    code, _, err = run("score", EXAMPLE, "-i", "stsx", "-o", tmp_path / "o.csv", capsys=capsys)
    assert code == 2 and "unknown instrument 'stsx'" in err
    code, _, err = run(
        "score", tmp_path / "nope.csv", "-i", "stss", "-o", tmp_path / "o.csv", capsys=capsys
    )
    assert code == 2 and "does not exist" in err


def test_console_script_runs_in_a_subprocess(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "stseval.cli", "instruments", "show", "nope"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_the_command_skips_the_unused_iri_grammar_and_still_validates_notebooks():
    import subprocess
    import sys

    code = (
        "import sys; from stseval import cli; cli._skip_unused_imports();"
        "import nbformat, papermill, jsonschema;"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]);"
        "nbformat.validate(nb);"
        "print(sys.modules.get('rfc3987_syntax'), 'papermill' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "True"]
