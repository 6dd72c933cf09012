"""Warm kernels (stseval._warm_kernels): notebooks run in turn on kernels that stay up.

What must hold: a notebook sees nothing of the one before it on the same kernel (its
namespace is cleared and its working directory set), a failing cell is reported with its
index while the next notebook on that kernel still runs, a kernel that died is started
again, and the area notebooks write the same estimates as on fresh kernels.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from stseval._notebook_runner import NotebookRun, run_notebook
from stseval._warm_kernels import KernelPool, WarmKernel

pytestmark = pytest.mark.xdist_group("kernels")

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path: Path, *cells: str) -> Path:
    params = new_code_cell("tag = 'x'  # a parameter")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *[new_code_cell(c) for c in cells]])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _run(key: str, nb: Path, out: Path, **params) -> NotebookRun:
    return NotebookRun(key, nb, out, params, key)


def _outputs(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    ]


def test_each_notebook_starts_clean_in_its_own_folder(tmp_path):
    first = _notebook(tmp_path / "first.ipynb", "secret = 41\nimport os\nprint(os.getcwd())")
    second = _notebook(
        tmp_path / "second.ipynb",
        "import os\nprint(os.getcwd())\nprint('secret' in dir(), tag)",
    )
    runs = [
        _run("a", first, tmp_path / "one" / "a.ipynb"),
        _run("b", second, tmp_path / "two" / "b.ipynb", tag="B"),
    ]
    with KernelPool(1) as pool:
        status = pool.run_all(runs)
        assert [k.notebooks for k in pool.kernels] == [2]  # one kernel ran both
    assert all(s["error"] is None for s in status.values())
    assert _outputs(tmp_path / "one" / "a.ipynb") == [f"{tmp_path / 'one'}\n"]
    assert _outputs(tmp_path / "two" / "b.ipynb") == [f"{tmp_path / 'two'}\nFalse B\n"]


def test_a_failing_cell_is_named_and_the_kernel_runs_the_next_notebook(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('no such area')")
    good = _notebook(tmp_path / "good.ipynb", "print('x' in dir())")
    runs = [
        _run("bad", bad, tmp_path / "bad_out.ipynb"),
        _run("good", good, tmp_path / "good_out.ipynb"),
    ]
    with KernelPool(1) as pool:
        status = pool.run_all(runs)
    err = status["bad"]["error"]
    assert err is not None and err.cell_index == 2 and "no such area" in err.detail
    assert (tmp_path / "bad_out.ipynb").is_file()  # the partial notebook is kept
    assert status["good"]["error"] is None
    assert _outputs(tmp_path / "good_out.ipynb") == ["False\n"]


def test_a_dead_kernel_is_started_again(tmp_path):
    nb = _notebook(tmp_path / "n.ipynb", "print(tag)")
    kernel = WarmKernel()
    try:
        kernel.run(_run("a", nb, tmp_path / "a.ipynb", tag="first"))
        from jupyter_core.utils import run_sync

        run_sync(kernel.km.shutdown_kernel)(now=True)
        assert not kernel.alive()
        kernel.run(_run("b", nb, tmp_path / "b.ipynb", tag="second"))
        assert kernel.alive()
    finally:
        kernel.shutdown()
    assert _outputs(tmp_path / "b.ipynb") == ["second\n"]


@pytest.mark.slow
def test_area_notebooks_write_the_same_estimates_on_warm_and_fresh_kernels(tmp_path):
    nb = ROOT / "notebooks" / "area_evaluation.ipynb"
    study = ROOT / "data" / "synthetic" / "small"
    areas = ("training", "supervision")

    def runs(folder: Path) -> list[NotebookRun]:
        return [
            _run(
                a,
                nb,
                folder / a / "area.ipynb",
                study_dir=str(study),
                area=a,
                out_dir=str(folder / a),
            )
            for a in areas
        ]

    for run in runs(tmp_path / "fresh"):
        run_notebook(run.notebook, run.output, dict(run.parameters), cwd=run.output.parent)
    with KernelPool(1) as pool:
        status = pool.run_all(runs(tmp_path / "warm"))
    assert all(s["error"] is None for s in status.values())
    for a in areas:
        fresh = (tmp_path / "fresh" / a / "estimates.csv").read_bytes()
        assert (tmp_path / "warm" / a / "estimates.csv").read_bytes() == fresh


def test_load_study_reads_a_study_once_until_one_of_its_files_changes(tmp_path):
    import shutil

    from stseval import report

    folder = tmp_path / "study"
    shutil.copytree(ROOT / "data" / "synthetic" / "small", folder)
    first = report.load_study(folder)
    assert report.load_study(folder) is first  # the next notebook on the kernel
    scored = tmp_path / "scored.parquet"
    first.scored().to_parquet(scored, index=False)
    with_table = report.load_study(folder, scored_path=scored)
    assert with_table is not first and report.load_study(folder, scored_path=scored) is with_table
    yaml = folder / "study.yaml"
    yaml.write_text(yaml.read_text().replace("min_cell: 5", "min_cell: 6"))
    changed = report.load_study(folder)
    assert changed is not first and changed.min_cell == 6
