"""Packaging: environment.yml mirrors pyproject; instruments ship in the wheel; licence."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

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


def test_instruments_are_force_included_in_wheel():
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert (
        build["targets"]["wheel"]["force-include"]["instruments"] == "stseval/_builtin_instruments"
    )


def test_no_instrument_item_wording_in_repo():
    # Item labels are short paraphrases; longer free text in instrument files is metadata only.
    for path in (ROOT / "instruments").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for item in data["items"]:
            assert set(item) <= {"number", "label", "reverse", "anchor_set"}, path.name
