"""Report pipeline and scale-out speed (issue 14), recorded in one run.

Sections of benchmarks/RESULTS.md written:

* **Pipeline**: ``stseval report`` on the default study (70 organizations), all seven
  areas, HTML, PDF and DOCX, ``--jobs 2``, a fresh process (command wall time), against

  - the **one-process floor**: the same estimates, tables and figures in one Python
    process without notebooks -- the code cells of ``area_evaluation.ipynb`` (each
    area) and ``funder_report.ipynb`` executed with ``exec`` in this process, the study
    read once, each figure drawn once (a figure the notebook saves is not drawn again
    for display), the dose notebook's cells too when the pipeline runs it;
    report and floor alternate ``ROUNDS`` times and the best of each is compared (the
    machine's other work varies from minute to minute);
  - the **empty-notebook floor**: seven notebooks with a parameters cell only through
    the same runner, two at a time (kernel start-up alone).

* **Scale: evaluate_all**: ``evaluate_all`` on the default design simulated at 700 and
  3,500 organizations (``orgs_per_area`` 80 / 400, comparison organizations 140 / 700),
  each size in a fresh process: wall time and peak RSS of that process.

* **Scale: recovery**: ``validation/recovery.py`` (100 effect + 100 null replications of
  the team RCT design) on a 1-worker and a 2-worker ``LocalCluster``: parallel efficiency.

* **Scale: simulate_power**: 200 replications of the small design on a 1-worker and a
  2-worker ``LocalCluster`` (cluster start-up excluded): parallel efficiency
  ``T1 / (2 T2)``.

The machine is shared: the load average (``uptime``) is recorded before each part;
read the ratios, not the seconds.

Usage: python benchmarks/bench_pipeline.py [pipeline] [evaluate] [power] [recovery]  (default: all)
"""

from __future__ import annotations

import ast
import io
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
#: Rounds of (full report, one-process floor), alternated; the best of each is compared.
ROUNDS = 3
AREAS = (
    "policies",
    "training",
    "workforce_support",
    "culture",
    "supervision",
    "leadership",
    "monitoring",
)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# -- pipeline ------------------------------------------------------------------------------
def empty_floor(tmp: Path, jobs: int = 2) -> float:
    """Seven empty notebooks (a parameters cell only) through the pipeline's runner."""
    from stseval._notebook_runner import NotebookRun
    from stseval._warm_kernels import run_all

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
    runs = [
        NotebookRun(f"e{i}", empty, tmp / "floor" / f"{i}.ipynb", {"area": str(i)}, f"empty {i}")
        for i in range(7)
    ]
    start = time.perf_counter()
    status = run_all(runs, jobs=jobs, progress=False, desc="empty")
    elapsed = time.perf_counter() - start
    failed = [s["error"] for s in status.values() if s["error"] is not None]
    if failed:
        raise SystemExit(f"empty notebook failed: {failed[0]}")
    return elapsed


def _code_cells(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return [
        c.source
        for c in nb.cells
        if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])
    ]


def one_process_floor(study_dir: Path, tmp: Path) -> float:
    """The notebooks' code cells run with exec in this process; figures drawn once.

    The area notebook per area, the dose-response (and individual-statement) notebook
    when the study has what they need -- as the pipeline runs them -- and the funder
    report.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import stseval
    from stseval import plots
    from stseval._notebook_runner import notebook_parameters
    from stseval._report_dose import has_dose_data, has_programs
    from stseval.report import read_area_estimates

    saved: set[int] = set()
    real_save, real_show = plots.save, plots.show

    def save(fig, path):
        saved.add(id(fig))
        return real_save(fig, path)

    def show(fig, *, alt=None):  # the figure is drawn once: saved, or rendered for display
        if id(fig) not in saved:
            fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close(fig)

    plots.save, plots.show = save, show
    out = tmp / "floor_one_process"
    try:
        start = time.perf_counter()
        study = stseval.Study.from_dir(study_dir)
        study.scored()
        loader = "study = report.load_study(study_dir"
        for area in AREAS:
            ns = {"study_dir": str(study_dir), "area": area, "out_dir": str(out / "areas" / area)}
            ns.update(confidence=0.95, min_cell=None, scored_path="")
            for src in _code_cells("area_evaluation.ipynb"):
                if src.startswith(loader):  # the study is read once, above
                    src = src.replace(src.splitlines()[0], "study = _study")
                    ns["_study"] = study
                exec(compile(src, f"<{area}>", "exec"), ns)  # noqa: S102 - the kit's own cells
        extras = (
            ("dose", "dose_response.ipynb", has_dose_data(study)),
            ("individual", "individual_evaluation.ipynb", has_programs(study)),
        )
        for name, nb, wanted in extras:  # the notebooks the pipeline runs beside the areas
            if not wanted:
                continue
            declared = notebook_parameters(ROOT / "notebooks" / nb)  # defaults, as source text
            ns = {k: ast.literal_eval(v) for k, v in declared.items()}
            ns.update(study_dir=str(study_dir), out_dir=str(out / name), _study=study)
            for src in _code_cells(nb):
                if src.startswith(loader):
                    src = src.replace(src.splitlines()[0], "study = _study")
                exec(compile(src, f"<{name}>", "exec"), ns)  # noqa: S102 - the kit's own cells
        est = read_area_estimates(out, areas=list(AREAS))
        est.to_csv(out / "estimates.csv", index=False)
        ns = {"study_dir": str(study_dir), "estimates_csv": str(out / "estimates.csv")}
        ns.update(confidence=0.95, min_cell=None, _study=study)
        for src in _code_cells("funder_report.ipynb"):
            if src.startswith(loader):
                src = src.replace(src.splitlines()[0], "study = _study")
            exec(compile(src, "<funder>", "exec"), ns)  # noqa: S102 - the kit's own cells
        return time.perf_counter() - start
    finally:
        plots.save, plots.show = real_save, real_show


def full_report(study: Path, tmp: Path, jobs: int = 2, scheduler: str = "processes"):
    out = tmp / f"report_{scheduler}"
    argv = [str(STSEVAL), "report", "--study", str(study), "--out", str(out)]
    argv += ["--jobs", str(jobs), "--quiet"]
    if scheduler != "processes":
        argv += ["--scheduler", scheduler]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"stseval report failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    run = json.loads((out / "run.json").read_text())
    return elapsed, dict(run["timings_seconds"])


def bench_pipeline(tmp: Path) -> None:
    study = STUDY
    if not (study / "study.yaml").is_file():
        import stseval

        study = tmp / "default"
        stseval.simulate(stseval.StudyDesign.default(), seed=2026).to_dir(study)
    loads = {"start": load()}
    reports, floors = [], []
    for i in range(ROUNDS):  # report and floor alternate; the best of each is compared
        reports.append(full_report(study, tmp))
        loads[f"after report {i + 1}"] = load()
        floors.append(one_process_floor(study, tmp))
        loads[f"after one-process floor {i + 1}"] = load()
    total, steps = min(reports, key=lambda r: r[0])
    one = min(floors)
    dask_total, dask_steps = full_report(study, tmp, scheduler="local")
    loads["after report on a LocalCluster"] = load()
    empty = empty_floor(tmp)
    print(f"reports {[round(r[0], 1) for r in reports]} s, best {steps}")
    print(f"local {dask_total:.1f} s {dask_steps}")
    print(f"one-process {[round(f, 1) for f in floors]} s; empty {empty:.1f} s")
    export = steps.get("html", 0) + steps.get("pdf", 0) + steps.get("docx", 0)
    rows = [
        (
            f"full report, `stseval report --jobs 2` (command wall time; best of {ROUNDS})",
            f"{total:.1f} s (runs: {', '.join(f'{r[0]:.1f}' for r in reports)})",
        ),
        (
            "... of which 7 area notebooks / funder notebook (warm kernels)",
            f"{steps['areas']:.1f} / {steps['funder_report']:.1f} s",
        ),
        ("... of which scoring once into scored.parquet", f"{steps.get('score', 0):.2f} s"),
        (
            "... of which export: audit + HTML / PDF / DOCX",
            f"{steps.get('html', 0):.1f} / {steps.get('pdf', 0):.1f} / "
            f"{steps.get('docx', 0):.1f} s",
        ),
        (
            "the same on a 2-worker LocalCluster (`--scheduler local`, cluster start included)",
            f"{dask_total:.1f} s",
        ),
        (
            f"one-process floor (same estimates, tables, figures; no notebooks; best of {ROUNDS})",
            f"{one:.1f} s (runs: {', '.join(f'{f:.1f}' for f in floors)})",
        ),
        ("empty-notebook floor (7 kernels, 2 at a time)", f"{empty:.1f} s"),
        ("full report / one-process floor (target <= 1.5; issue 14: ~2)", f"{total / one:.2f}x"),
        ("full report without export / one-process floor", f"{(total - export) / one:.2f}x"),
        ("`--scheduler local` report / one-process floor", f"{dask_total / one:.2f}x"),
    ]
    body = [
        f"Machine: {machine()}; load average (1/5/15 min) {json.dumps(loads)}. "
        "`python benchmarks/bench_pipeline.py pipeline` on `data/synthetic/default` "
        "(70 organizations), all seven areas, HTML, PDF and DOCX.",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in rows],
    ]
    record("Pipeline", "\n".join(body))


# -- evaluate_all at scale -----------------------------------------------------------------
EVAL_CHILD = r"""
import json, resource, sys, time, warnings
import stseval
from stseval import models
n_area, n_comp = int(sys.argv[1]), int(sys.argv[2])
design = stseval.StudyDesign.default().model_copy(
    update={"orgs_per_area": n_area, "comparison_orgs": n_comp})
study = stseval.simulate(design, seed=2026)
study.scored()
cpu = {"mixed": 0.0, "its": 0.0}
def timed(name, fn):
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            cpu[name] += time.process_time() - t
    return wrapper
models.mixed, models.its = timed("mixed", models.mixed), timed("its", models.its)
t = time.perf_counter()
evaluate_all = stseval.evaluate_all  # first use imports stseval.evaluate (timed apart)
import_s = time.perf_counter() - t
t, c = time.perf_counter(), time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", stseval.errors.EstimationWarning)
    est = evaluate_all(study)
secs, cpu_all = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"seconds": secs, "cpu": cpu_all, "cpu_mixed": cpu["mixed"],
                  "cpu_its": cpu["its"], "import": import_s,
                  "rows": len(est), "orgs": len(study.orgs),
                  "workers": len(study.workers),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_evaluate(timeout: int = 300) -> None:
    rows, loads = [], {}
    for n_area, n_comp in ((80, 140), (400, 700)):
        orgs = 7 * n_area + n_comp
        loads[orgs] = load()
        try:
            proc = subprocess.run(
                [sys.executable, "-c", EVAL_CHILD, str(n_area), str(n_comp)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            rows.append(f"| {orgs:,} | not finished in {timeout} s | | | | |")
            continue
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(r)
        rows.append(
            f"| {r['orgs']:,} ({r['workers']:,} workers) | {r['seconds']:.1f} s | "
            f"{r['cpu']:.1f} s (mixed {r['cpu_mixed']:.1f}, ITS {r['cpu_its']:.1f}) | "
            f"{r['peak_mb']:,.0f} MB | {r['rows']} | {r['import']:.1f} s |"
        )
    body = [
        f"Machine: {machine()}; load average (1/5/15 min) at each size {json.dumps(loads)}. "
        "`python benchmarks/bench_pipeline.py evaluate`: `evaluate_all` on the default design "
        "simulated at 700 and 3,500 organizations (each in a fresh process; simulation and "
        "scoring not timed, nor the first import of `stseval.evaluate`, shown apart; peak RSS "
        "of the whole process). CPU time is this process's: on a shared machine the wall "
        "time is about CPU time x (load average / 2 cores) when the load exceeds the cores.",
        "",
        "| organizations | evaluate_all wall | CPU time (of which) | peak RSS | rows "
        "| import of stseval.evaluate |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Targets: 700 organizations <= 5 s, 3,500 <= 10 s, memory <= 4 GB "
        "(issue 14: 52 s at 700; 3,500 ~70 min with the ITS; before the MIXED work of "
        "session 3, under load 11-12: 700 orgs 43.5 s CPU (mixed 34.1), 3,500 orgs "
        "88.5 s CPU (mixed 58.2)).",
    ]
    record("Scale: evaluate_all", "\n".join(body))


# -- parallel efficiency on a 1- and a 2-worker LocalCluster --------------------------------
def on_clusters(job) -> tuple[dict, dict, dict]:
    """``job(client, workers)`` on a 1- then a 2-worker LocalCluster.

    Returns (times, outputs, loads): per worker count the wall time of the job, the cluster
    start-up and the CPU time of its workers; what the job returned; the load average.
    """
    import warnings

    import stseval
    from stseval import parallel

    times, outputs, loads = {}, {}, {}
    for workers in (1, 2):
        loads[workers] = load()
        t = time.perf_counter()
        with parallel.open_scheduler("local", jobs=workers) as client:
            startup = time.perf_counter() - t
            cpu0 = sum(client.run(time.process_time).values())
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", stseval.errors.EstimationWarning)
                outputs[workers] = job(client, workers)
            wall = time.perf_counter() - t
            cpu = sum(client.run(time.process_time).values()) - cpu0
        times[workers] = (wall, startup, cpu)
        print(workers, times[workers])
    return times, outputs, loads


# -- simulate_power parallel efficiency ----------------------------------------------------
def cluster_table(times: dict) -> list[str]:
    """Markdown rows of :func:`on_clusters`' times."""
    rows = [f"| {w} | {t[0]:.1f} s | {t[2]:.1f} s | {t[1]:.1f} s |" for w, t in times.items()]
    return [
        "| workers | wall time | CPU time of the workers | cluster start-up |",
        "|---|---|---|---|",
        *rows,
    ]


def bench_power(n_reps: int = 200) -> None:
    import stseval
    from stseval import power

    design = stseval.StudyDesign.small()
    times, tables, loads = on_clusters(
        lambda client, _workers: power.simulate_power(
            design, area="training", n_reps=n_reps, client=client, progress=False
        )
    )
    same = tables[1].to_csv(index=False) == tables[2].to_csv(index=False)
    eff = times[1][0] / (2 * times[2][0])
    body = [
        f"Machine: {machine()}; load average (1/5/15 min) {json.dumps(loads)}. "
        f"`python benchmarks/bench_pipeline.py power`: `simulate_power` of the small design, "
        f"{n_reps} replications, on a `LocalCluster` (cluster start-up not included).",
        "",
        *cluster_table(times),
        "",
        f"Parallel efficiency T1 / (2 T2) = **{eff:.2f}** (target >= 0.8; issue 14: 0.6 with "
        f"default BLAS threads, 1.0 with one BLAS thread each); CPU work of 2 workers over 1: "
        f"{times[2][2] / times[1][2]:.2f} (1.0 = no parallel overhead, whatever the load). "
        f"Tables identical: {same}. Wall-time efficiency needs idle cores: with a load "
        "average above the 2 cores, two workers share the CPU with everyone else.",
    ]
    record("Scale: simulate_power", "\n".join(body))


def bench_recovery(tmp: Path, reps: int = 100, preset: str = "team_rct") -> None:
    """validation/recovery.py on a 1-worker and a 2-worker LocalCluster (2 x reps studies)."""
    sys.path.insert(0, str(ROOT / "validation"))
    import recovery

    def job(client, workers):
        out = recovery.run(preset, reps, workers, 2026, tmp / f"rec{workers}", client=client)
        return out.read_text()

    times, files, loads = on_clusters(job)
    same = files[1] == files[2]
    eff = times[1][0] / (2 * times[2][0])
    body = [
        f"Machine: {machine()}; load average (1/5/15 min) {json.dumps(loads)}. "
        f"`python benchmarks/bench_pipeline.py recovery`: `validation/recovery.py`'s `run` on "
        f"the `{preset}` design, {reps} effect + {reps} null replications ({2 * reps} "
        "studies simulated and estimated), on a `LocalCluster` (cluster start-up not included).",
        "",
        *cluster_table(times),
        "",
        f"Parallel efficiency T1 / (2 T2) = **{eff:.2f}** (target >= 0.8); CPU work of 2 "
        f"workers over 1: {times[2][2] / times[1][2]:.2f}. Raw files identical: {same}.",
    ]
    record("Scale: recovery", "\n".join(body))


def main(argv: list[str]) -> None:
    parts = set(argv) or {"pipeline", "evaluate", "power", "recovery"}
    with tempfile.TemporaryDirectory(prefix="stseval-bench-") as name:
        if "pipeline" in parts:
            bench_pipeline(Path(name))
        if "recovery" in parts:
            bench_recovery(Path(name))
    if "power" in parts:
        bench_power()
    if "evaluate" in parts:
        bench_evaluate()


if __name__ == "__main__":
    main(sys.argv[1:])
