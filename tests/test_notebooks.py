"""The committed notebooks: stored without outputs, thin, and they run (nbval, lax mode).

Each notebook is executed as stored -- its default parameters point at
``data/synthetic/small`` -- by ``pytest --nbval-lax`` in a subprocess (the
project's own pytest run does not collect notebooks). These tests share the
xdist group ``nbval`` so one worker runs them one after another while the
pipeline tests run on the other.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from stseval import pipeline

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {
    "area_evaluation.ipynb",
    "funder_report.ipynb",
    "org_feedback.ipynb",
    "explore_synthetic.ipynb",
    "psychometrics.ipynb",
    "power_planning.ipynb",
}


def _load(path):
    return nbformat.read(path, as_version=4)


def test_every_notebook_is_there():
    assert {p.name for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = _load(path)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "python3"


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


def test_notebooks_match_their_generator():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_notebooks.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_pipeline_notebooks_declare_their_required_parameters():
    for name, required in pipeline.REQUIRED_PARAMETERS.items():
        declared = pipeline.notebook_parameters(ROOT / "notebooks" / name)
        assert set(required) <= set(declared), name


@pytest.mark.xdist_group("nbval")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
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
