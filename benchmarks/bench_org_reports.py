"""Organization reports at scale (issue 14, item 4): seconds per organization, HTML and PDF.

Section of benchmarks/RESULTS.md written: **Organization reports**.

Each configuration runs ``stseval org-reports`` in a fresh process (command wall time:
imports, reading and scoring the study, the pool or cluster start-up and every report)
on a report-run folder that holds only ``run.json`` naming the study:

* the default synthetic study (``data/synthetic/default``, 70 organizations);
* the default design simulated at 300 organizations (``orgs_per_area`` 38, comparison
  organizations 34; seed 2026), written once to the temporary folder and reused.

with ``--jobs 1`` (this process renders every organization) and ``--jobs 2`` (a process
pool; ``local`` for a Dask LocalCluster), HTML and PDF (``html`` for HTML only). Targets:
at most 0.2 s per organization (command wall time / organizations) and 300 organizations
in under 90 s.

The machine is shared: the 1/5/15-minute load average is recorded before each run; a
configuration run again replaces its own row and keeps the others (each row says when and
at what load it ran).

Usage::

    python benchmarks/bench_org_reports.py [ORGS:JOBS[:SCHEDULER][:html] ...]

default ``70:1 70:2 300:1 300:2`` (about 4 minutes on the idle machine). ``--stseval
DIR`` runs another checkout's package (e.g. an older commit unpacked with ``git
archive``) for a before/after comparison; its rows are labelled with the folder name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import RESULTS, machine, record

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "data" / "synthetic" / "default"
HEADING = "Organization reports"
DEFAULT = ("70:1", "70:2", "300:1", "300:2")
HEAD = (
    "| configuration | organizations | jobs | scheduler | PDF | wall time | s per organization "
    "| CPU s per organization (all processes) | load before (1/5/15 min) | run |"
)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def study_folder(n_orgs: int, tmp: Path) -> Path:
    """The default study (70) or the default design simulated at ``n_orgs`` (cached)."""
    if n_orgs == 70 and (STUDY / "study.yaml").is_file():
        return STUDY
    folder = tmp / f"stseval-bench-org-study-{n_orgs}"
    if (folder / "study.yaml").is_file():
        return folder
    import stseval

    comparison = max(1, round(n_orgs * 14 / 70))
    per_area = (n_orgs - comparison) // 7
    comparison = n_orgs - 7 * per_area
    design = stseval.StudyDesign.default().model_copy(
        update={"orgs_per_area": per_area, "comparison_orgs": comparison}
    )
    stseval.simulate(design, seed=2026).to_dir(folder)
    return folder


def run_once(study: Path, jobs: int, scheduler: str | None, pdf: bool, pkg: Path | None):
    """Wall time of one ``stseval org-reports`` command and how many reports it wrote."""
    with tempfile.TemporaryDirectory(prefix="stseval-bench-org-") as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        (run / "run.json").write_text(json.dumps({"study": {"folder": str(study)}}))
        argv = [sys.executable, "-c", "import sys; from stseval.cli import main; sys.exit(main())"]
        argv += ["org-reports", "--results", str(run), "--jobs", str(jobs), "--quiet"]
        argv += [] if pdf else ["--no-pdf"]
        argv += ["--scheduler", scheduler] if scheduler else []
        env = dict(os.environ)
        if pkg is not None:
            env["PYTHONPATH"] = str(pkg)
        cpu0 = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp, check=False)
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu0
        if proc.returncode != 0:
            raise SystemExit(f"org-reports failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        written = sum(1 for _ in (run / "orgs").glob("*/org_report.html"))
        pdfs = sum(1 for _ in (run / "orgs").glob("*/org_report.pdf"))
    return elapsed, cpu, written, pdfs


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (and theirs, once reaped)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def parse(spec: str):
    parts = spec.split(":")
    n, jobs = int(parts[0]), int(parts[1])
    rest = parts[2:]
    pdf = "html" not in rest
    scheduler = next((p for p in rest if p != "html"), None)
    return n, jobs, scheduler, pdf


def old_rows() -> dict[str, str]:
    """The rows of the section as last recorded, by configuration."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    m = re.search(rf"^## {re.escape(HEADING)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    rows = {}
    for line in (m.group(1) if m else "").splitlines():
        if line.startswith("| `") and "|" in line[1:]:
            rows[line.split("|")[1].strip()] = line
    return rows


def main(argv: list[str]) -> None:
    pkg = None
    if "--stseval" in argv:
        i = argv.index("--stseval")
        pkg = Path(argv[i + 1]).resolve()
        argv = argv[:i] + argv[i + 2 :]
    specs = argv or list(DEFAULT)
    tmp = Path(tempfile.gettempdir())
    rows = old_rows()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for spec in specs:
        n, jobs, scheduler, pdf = parse(spec)
        study = study_folder(n, tmp)
        before = load()
        seconds, cpu, written, pdfs = run_once(study, jobs, scheduler, pdf, pkg)
        if pdf and pdfs != written:
            raise SystemExit(f"{spec}: {written} HTML but {pdfs} PDF reports")
        label = f"`{spec}`" + (f" ({pkg.name})" if pkg else "")
        print(
            f"{label}: {written} reports in {seconds:.1f} s = {seconds / written:.3f} s/org "
            f"cpu {cpu / written:.3f} s/org (load before {before})",
            flush=True,
        )
        rows[label] = (
            f"| {label} | {written} | {jobs} | {scheduler or ('this process' if jobs == 1 else 'processes')} "
            f"| {'yes' if pdf else 'no'} | {seconds:.1f} s | {seconds / written:.3f} s "
            f"| {cpu / written:.3f} s "
            f"| {before} | {when} |"
        )
    body = [
        f"Machine: {machine()}. `python benchmarks/bench_org_reports.py` — "
        "`stseval org-reports` as a fresh command on a run folder naming the study: the "
        "default study (70 organizations) and the default design simulated at 300 "
        "organizations (seed 2026). Wall time of the whole command (imports, reading and "
        "scoring the study, pool or cluster start-up, every report) divided by the "
        "organizations; CPU: user + system seconds of the command and every process it "
        "started (pool workers, Dask scheduler, nannies and workers), less sensitive to "
        "the load of the shared machine than the wall time. Targets: <= 0.2 s per "
        "organization; 300 organizations under 90 s.",
        "",
        HEAD,
        "|---|---|---|---|---|---|---|---|---|---|",
        *[rows[k] for k in sorted(rows, key=_order)],
    ]
    record(HEADING, "\n".join(body))


def _order(label: str):
    n, jobs, scheduler, pdf = parse(label.split("`")[1])
    return ("(" in label, n, not pdf, jobs, scheduler or "", label)


if __name__ == "__main__":
    main(sys.argv[1:])
