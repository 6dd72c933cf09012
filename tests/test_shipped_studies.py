"""Every shipped synthetic study folder passes `stseval check` and names its design."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted(p.parent.name for p in (ROOT / "data" / "synthetic").glob("*/study.yaml"))


def test_every_design_preset_is_shipped():
    for name in ("single_org", "anonymous", "three_wave", "staggered", "team_rct"):
        assert name in STUDIES


@pytest.mark.parametrize("name", STUDIES)
def test_shipped_study_passes_check(name):
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "stseval"),
            "check",
            str(ROOT / "data" / "synthetic" / name),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert "wave" in proc.stdout  # the design line names the waves


def test_team_randomized_study_has_a_comparison_of_teams():
    """Untreated teams are the comparison: no 'there is no comparison group' warning."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "stseval"),
            "check",
            str(ROOT / "data/synthetic/team_rct"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "assigned by team, randomized comparison" in proc.stdout
    assert "there is no comparison group" not in proc.stdout + proc.stderr
