"""`stseval report` end to end on every shipped design study (issue 10 item 5).

Each run writes the funder report as HTML, PDF and DOCX; the leak scan passes (it
runs inside the export and refuses to write otherwise); page 1 states the design's
limits before any verdict. Long (about a minute per study): marked ``e2e``, run by
``make test-all`` (CI), skipped by ``make test``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ["single_org", "anonymous", "coded", "three_wave", "staggered", "team_rct"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", DESIGNS)
def test_report_on_design_study(name, tmp_path):
    out = tmp_path / "r"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "stseval"), "report", "--quiet",
         "--study", str(ROOT / "data" / "synthetic" / name), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for ext in ("html", "pdf", "docx"):
        assert (out / f"funder_report.{ext}").stat().st_size > 0
    assert (out / "disclosure_audit.csv").is_file()
    html = (out / "funder_report.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html)
    limits = text.find("What this design can and cannot tell")
    glance = text.find("Results at a glance")
    assert 0 <= limits < glance, "the design's limits come before any verdict"
