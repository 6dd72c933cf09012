"""Packaging: environment.yml mirrors pyproject; the wheel carries the instruments and the
notebooks and, installed outside the checkout, builds the funder report; licence."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d.replace(" ", "") for d in env["dependencies"] if isinstance(d, str)}
    conda.pop("python"), conda.pop("pip")
    pip = {_name(d): d.replace(" ", "") for d in project["dependencies"]}
    assert conda == pip, "environment.yml and pyproject.toml list different runtime dependencies"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "") == project["requires-python"]


def test_no_gpl_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(d) for d in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {_name(d) for d in extra}
    assert not names & {"pingouin", "factor-analyzer", "rpy2"}
    assert project["license"] == "BSD-3-Clause"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from this checkout (``pip wheel . --no-deps``, hatchling)."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("stseval-*.whl")
    return built


@pytest.mark.xdist_group("wheel")
def test_wheel_carries_the_instruments_and_the_notebooks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "instruments").glob("*.yaml"):
        assert f"stseval/_builtin_instruments/{path.name}" in names
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert (
        len(notebooks) == 8
    )  # area, funder, org, explorer, psychometrics, power, dose, individual
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("stseval/_notebooks/")) == (
        notebooks
    )
    assert "stseval/report.py" in names and "stseval/pipeline.py" in names
    assert not [n for n in names if n.startswith(("tests/", "scripts/", "data/"))]


@pytest.mark.slow
@pytest.mark.wheel
@pytest.mark.xdist_group("wheel")
def test_installed_wheel_runs_demo_in_an_empty_folder(wheel, tmp_path):
    """Install the wheel into a new virtual environment and run ``stseval demo`` far from
    the checkout. The new environment has no access to the checkout; to stay fast it borrows
    the third-party dependencies of the test environment through a path file (no stseval in
    there: the checkout's editable hook is a .pth file, which a plain path entry does not run),
    and every dependency the wheel declares must resolve in it."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # nbconvert's templates are data files pip puts under <prefix>/share/jupyter
    data = env_dir / "share" / "jupyter"
    data.mkdir(parents=True)
    (data / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", wheel],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = (
        "import importlib.metadata as m, re, stseval, stseval.pipeline as p;"
        "print(stseval.__file__); print(p.notebooks_dir());"
        "reqs = [re.split(r'[<>=!~ ;\\[]', r)[0] for r in m.requires('stseval')"
        " if 'extra ==' not in r];"
        "print([r for r in reqs if not m.distribution(r)]);"
        "from jupyter_client.kernelspec import KernelSpecManager as K;"
        "print(K().get_kernel_spec('python3').argv[0])"
    )
    where = subprocess.run(
        [py, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert where.returncode == 0, where.stderr[-3000:]
    module, notebooks, missing, kernel = where.stdout.splitlines()
    assert module.startswith(str(site)) and notebooks == str(site / "stseval" / "_notebooks")
    assert missing == "[]"
    assert kernel == str(py)  # the notebooks run in the new environment, not the checkout's
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    demo = subprocess.run(
        [env_dir / "bin" / "stseval", "demo", "--out", "R", "--areas", "supervision"]
        + ["--jobs", "1", "--no-pdf", "--quiet"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    html = (empty / "R" / "funder_report.html").read_text(encoding="utf-8")
    assert "<h2" in html and "Supervision" in html
    assert (empty / "data" / "synthetic" / "default" / "study.yaml").is_file()


def test_no_instrument_item_wording_in_repo():
    # Item labels are short paraphrases; longer free text in instrument files is metadata only.
    for path in (ROOT / "instruments").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for item in data["items"]:
            assert set(item) <= {"number", "label", "reverse", "anchor_set"}, path.name
