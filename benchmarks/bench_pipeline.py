"""Report pipeline speed: `stseval report` on the default study, all seven areas.

Measures the wall time of the whole command (seven area notebooks, the funder
report, its HTML and PDF) with ``--jobs 1`` and ``--jobs 2``, each in a fresh
process as a user would run it, against the floor of running seven *empty*
notebooks through papermill the same way (same runner, same stagger, same
kernel): that is the cost of kernel start-up alone. Records to
benchmarks/RESULTS.md, section "Pipeline".

Usage: python benchmarks/bench_pipeline.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import machine, record

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "data" / "synthetic" / "default"
STSEVAL = Path(sys.executable).with_name("stseval")
GOAL_SECONDS = 90


def _study(tmp: Path) -> Path:
    if (STUDY / "study.yaml").is_file():
        return STUDY
    import stseval

    path = tmp / "default"
    stseval.simulate(stseval.StudyDesign.default(), seed=2026).to_dir(path)
    return path


def floor(tmp: Path, jobs: int) -> float:
    """Seven empty notebooks (a parameters cell only) through the pipeline's runner."""
    from stseval import pipeline

    empty = tmp / "empty.ipynb"
    cell = new_code_cell("area = 'x'  # area")
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, empty)
    tasks = [
        {
            "run": {
                "notebook": empty,
                "output": tmp / f"floor{jobs}" / f"{i}.ipynb",
                "parameters": {"area": str(i)},
                "label": f"empty {i}",
            }
        }
        for i in range(7)
    ]
    start = time.perf_counter()
    pipeline._run_all(tasks, jobs=jobs, progress=False, desc="empty")
    elapsed = time.perf_counter() - start
    failed = [t for t in tasks if t["error"] is not None]
    if failed:
        raise SystemExit(f"empty notebook failed: {failed[0]['error']}")
    return elapsed


def full(study: Path, tmp: Path, jobs: int) -> tuple[float, dict]:
    out = tmp / f"report_jobs{jobs}"
    start = time.perf_counter()
    proc = subprocess.run(
        [
            str(STSEVAL),
            "report",
            "--study",
            str(study),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"stseval report failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    run = json.loads((out / "run.json").read_text())
    steps = dict(run["timings_seconds"])
    cells = {"imports": [], "evaluate_area": [], "all cells": [], "notebook": []}
    for area, rec in run["areas"].items():
        nb = nbformat.read(out / "areas" / area / "area_evaluation.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        dur = [c.metadata.get("papermill", {}).get("duration") or 0.0 for c in code]
        cells["all cells"].append(sum(dur))
        cells["imports"].append(
            sum(d for c, d in zip(code, dur, strict=True) if c.source.startswith("import"))
        )
        cells["evaluate_area"].append(
            sum(d for c, d in zip(code, dur, strict=True) if "evaluate_area(" in c.source)
        )
        cells["notebook"].append(rec["seconds"])
    steps["per_area"] = {k: sum(v) / len(v) for k, v in cells.items()}
    return elapsed, steps


LOAD = 0.0


def main() -> None:
    global LOAD
    LOAD = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="stseval-bench-") as name:
        tmp = Path(name)
        study = _study(tmp)
        rows = {}
        for jobs in (1, 2):
            f = floor(tmp, jobs)
            total, steps = full(study, tmp, jobs)
            rows[jobs] = (f, total, steps)
            print(f"jobs {jobs}: floor {f:.1f} s, report {total:.1f} s, steps {steps}")
    one, two = rows[1], rows[2]

    def cells(label, fn):
        return f"| {label} | {fn(one)} | {fn(two)} |"

    ratio = two[1] / two[0]
    lines = [
        (
            f"Machine: {machine()}. `python benchmarks/bench_pipeline.py` — `stseval report` on "
            "`data/synthetic/default` (70 organizations, about 3,300 workers), all seven areas, "
            "funder report HTML and PDF; each run a fresh process (wall time of the command)."
        ),
        "",
        "| measure | --jobs 1 | --jobs 2 |",
        "|---|---|---|",
        cells(
            "floor: 7 empty notebooks through the same papermill runner", lambda r: f"{r[0]:.1f} s"
        ),
        cells("full report (command wall time)", lambda r: f"{r[1]:.1f} s"),
        cells("of which: 7 area notebooks", lambda r: f"{r[2]['areas']:.1f} s"),
        cells("of which: funder report notebook", lambda r: f"{r[2]['funder_report']:.1f} s"),
        cells("of which: HTML export + leak scan", lambda r: f"{r[2]['html']:.1f} s"),
        cells("of which: PDF (WeasyPrint)", lambda r: f"{r[2]['pdf']:.1f} s"),
        cells("full report / floor", lambda r: f"{r[1] / r[0]:.1f}x"),
        cells(
            "one area notebook, mean: start to finish",
            lambda r: f"{r[2]['per_area']['notebook']:.1f} s",
        ),
        cells(
            "... of which cells run (imports / `evaluate_area` / all cells)",
            lambda r: (
                f"{r[2]['per_area']['imports']:.1f} / "
                f"{r[2]['per_area']['evaluate_area']:.1f} / "
                f"{r[2]['per_area']['all cells']:.1f} s"
            ),
        ),
        "",
        f"Machine load average when the benchmark started: {LOAD:.1f} (other jobs slow it).",
        "",
        (
            f"Goal: the full report under {GOAL_SECONDS} s with `--jobs 2` on the 2-core machine "
            f"({'met' if two[1] < GOAL_SECONDS else 'NOT met'}: {two[1]:.0f} s) and within 2x the "
            f"kernel start-up floor ({'met' if ratio <= 2 else 'not met'}: {ratio:.1f}x). The floor "
            "runs no code; each area notebook also imports the kit, reads and scores the study, "
            "estimates, and draws three figures (cell times above), and with two jobs the 0.5 s "
            "stagger between kernel starts bounds the floor itself."
        ),
    ]
    record("Pipeline", "\n".join(lines))


if __name__ == "__main__":
    main()
