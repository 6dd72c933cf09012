"""The notebooks: package data, committed without outputs, thin, linted, and they run.

The ``.ipynb`` files in ``notebooks/`` are the source (no generator). Each
notebook but the funder report is executed as stored -- its default parameters
point at ``data/synthetic/small`` -- by ``pytest --nbval-lax`` in a subprocess
(the project's own pytest run does not collect notebooks); the funder report,
which reads the combined estimates CSV of a report run, is executed with
papermill on estimates computed here. These tests share the xdist group
``nbval`` so one worker runs them one after another while the pipeline tests
run on the other.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from stseval import _notebook_support as report_support
from stseval import pipeline, report
from stseval.areas import AREA_KEYS, get_area
from stseval.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SMALL = ROOT / "data" / "synthetic" / "small"
EXPECTED = {
    "area_evaluation.ipynb",
    "funder_report.ipynb",
    "org_feedback.ipynb",
    "explore_synthetic.ipynb",
    "psychometrics.ipynb",
    "power_planning.ipynb",
    "dose_response.ipynb",
    "individual_evaluation.ipynb",
}


def _load(path):
    return nbformat.read(path, as_version=4)


def test_every_notebook_is_there():
    assert {p.name for p in NOTEBOOKS} == EXPECTED


def _committed(path: Path) -> str:
    """The notebook's text as git would commit it: the staged version (the index)."""
    rel = path.relative_to(ROOT).as_posix()
    proc = subprocess.run(
        ["git", "show", f":{rel}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{rel} is not in git's index: {proc.stderr}"
    return proc.stdout


def _assert_output_free(nb, name):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {i} has outputs"
            assert cell.execution_count is None, f"{name} cell {i} has an execution count"
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    _assert_output_free(nbformat.reads(_committed(path), as_version=4), path.name)


def test_output_check_catches_an_executed_notebook():
    nb = _load(NOTEBOOKS[0])
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    with pytest.raises(AssertionError, match="has outputs"):
        _assert_output_free(nb, "x")


def test_the_kit_finds_its_notebooks_and_the_wheel_ships_them():
    """In a checkout the packaged-notebook lookup lands on notebooks/ (the wheel test in
    test_packaging.py checks the installed case)."""
    assert pipeline.notebooks_dir() == ROOT / "notebooks"
    assert report.notebooks_dir() == pipeline.notebooks_dir()
    assert not (ROOT / "scripts" / "make_notebooks.py").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_blanket_warning_filter(path):
    for cell in _load(path).cells:
        if cell.cell_type == "code":
            assert 'filterwarnings("ignore")' not in cell.source
            assert 'simplefilter("ignore")' not in cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_thin_with_one_annotated_parameters_cell(path):
    nb = _load(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    lines = [ln for ln in tagged[0].source.splitlines() if ln and not ln.startswith("#")]
    assert all("  # " in ln for ln in lines), "every parameter needs a comment"
    names = [ln.split("=")[0].strip() for ln in lines]
    assert list(pipeline.notebook_parameters(path)) == names  # papermill parses every line
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)
        ]
        assert not defs, f"{path.name}: logic belongs in stseval, not in a notebook"
    assert any(c.cell_type == "markdown" for c in nb.cells)


def test_pipeline_notebooks_declare_their_required_parameters():
    for name, required in pipeline.REQUIRED_PARAMETERS.items():
        declared = pipeline.notebook_parameters(ROOT / "notebooks" / name)
        assert set(required) <= set(declared), name


@pytest.mark.xdist_group("nbval")
@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.name != "funder_report.ipynb"], ids=lambda p: p.name
)
def test_notebook_runs_under_nbval(path, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-o",
            "addopts=",
            str(path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.xdist_group("nbval")
def test_funder_notebook_reads_the_estimates_it_is_given(tmp_path):
    """One mode: the funder notebook shows the estimates CSV it is passed, it estimates nothing."""
    import stseval
    from stseval.evaluate import add_fdr

    study = stseval.Study.from_dir(SMALL)
    est = add_fdr(stseval.evaluate_all(study, areas=["supervision", "training"]))
    csv = report.save_estimates(est, tmp_path / "estimates.csv")
    nb = ROOT / "notebooks" / "funder_report.ipynb"
    params = {"study_dir": str(SMALL), "estimates_csv": str(csv)}
    pipeline.check_parameters(nb, params)
    pipeline.run_notebook(nb, tmp_path / "run.ipynb", params, cwd=tmp_path)
    executed = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    text = "\n".join(
        str(out.get("data", {}).get("text/markdown", ""))
        + str(out.get("data", {}).get("text/html", ""))
        for cell in executed.cells
        for out in cell.get("outputs", [])
    )
    shown = {
        a
        for a in AREA_KEYS
        if f"<h2>{get_area(a).title}" in text or f"## {get_area(a).title}" in text
    }
    assert shown == {"supervision", "training"}  # areas not in the CSV are not estimated here
    sources = "\n".join(c.source for c in executed.cells if c.cell_type == "code")
    assert "evaluate_all" not in sources and "load_estimates" not in sources


# -- stseval lab / make lab: a git-ignored working copy ------------------------------------
def test_prepare_workspace_copies_missing_notebooks_and_keeps_the_users(tmp_path):
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "funder_report.ipynb").write_text("my edited copy")
    folder = report_support.prepare_workspace(ws)
    assert folder == ws.resolve()
    assert sorted(p.name for p in ws.glob("*.ipynb")) == sorted(EXPECTED)
    assert (ws / "funder_report.ipynb").read_text() == "my edited copy"
    same = (ws / "area_evaluation.ipynb").read_bytes()
    assert same == (ROOT / "notebooks" / "area_evaluation.ipynb").read_bytes()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is not a folder"):
        report_support.prepare_workspace(tmp_path / "file")


def test_lab_command_allows_root_takes_a_port_and_opens_no_browser(monkeypatch, tmp_path):
    from stseval import _cli_report

    monkeypatch.setattr(os, "getuid", lambda: 0)
    argv = _cli_report.lab_command(tmp_path, port=9999)
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert {"--allow-root", "--no-browser", "--port=9999"} <= set(argv)
    assert f"--ServerApp.root_dir={tmp_path}" in argv
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    argv = _cli_report.lab_command(tmp_path, port=8888, browser=True)
    assert "--allow-root" not in argv and "--no-browser" not in argv
    with pytest.raises(UsageError, match="--port"):
        _cli_report.lab_command(tmp_path, port=0)


def test_stseval_lab_starts_jupyterlab_in_the_working_copy(monkeypatch, tmp_path, capsys):
    """In a folder without the small study, `stseval lab` simulates it where the notebooks'
    defaults look, fills workspace/ and starts JupyterLab there (subprocess replaced)."""
    from stseval import cli

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda argv, cwd: calls.append((argv, Path(cwd))) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["lab", "--port", "8899"]) == 0
    ((argv, cwd),) = calls
    assert cwd == tmp_path / "workspace" and "--port=8899" in argv
    assert sorted(p.name for p in cwd.glob("*.ipynb")) == sorted(EXPECTED)
    assert (tmp_path / "data" / "synthetic" / "small" / "study.yaml").is_file()
    assert "working copy" in capsys.readouterr().out


def test_workspace_is_git_ignored_and_make_lab_uses_it():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "workspace/funder_report.ipynb"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
    dry = subprocess.run(
        ["make", "-n", "lab", "PORT=9123"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert dry.returncode == 0, dry.stderr
    assert "stseval lab --dir workspace --port 9123" in dry.stdout
