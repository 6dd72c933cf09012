"""Run the report notebooks: every area in parallel, then the funder report, HTML and PDF.

In papermill's style, a report is a plan executed in steps; :func:`run_report`
(what ``stseval report`` calls) is the one-call wrapper
``record(plan, export(plan, execute(plan)))`` with ``plan = plan(...)``:

1. :func:`plan` validates everything before anything runs -- the study folder
   (:meth:`stseval.Study.from_dir`), the areas (known, with intervention and
   comparison organizations), the organizations asked for, and every
   notebook's parameters (:func:`check_parameters`: papermill only warns about
   a parameter the notebook does not declare; we refuse it, and a missing
   required one) -- and returns a frozen :class:`RunPlan`: the notebooks, their
   parameters and every output path. Nothing is written.
2. :func:`execute` scores the study once into ``<out>/scored.parquet`` (each
   area notebook reads it: ``scored_path``), runs ``area_evaluation.ipynb`` per
   area -- on this machine on ``jobs`` warm kernels that run the notebooks in
   turn (:mod:`stseval._warm_kernels`; a kernel that died is started again), on
   a Dask cluster on request through :func:`stseval.parallel.map_tasks` (a
   kernel per notebook, retried once if it fails to start); one BLAS thread per
   kernel -- into
   ``<out>/areas/<area>/``; adjusts the areas' estimates across areas (BH)
   **once** into ``<out>/estimates.csv``; runs ``funder_report.ipynb`` on that
   file and, optionally, ``org_feedback.ipynb`` per organization.
3. :func:`export` writes the funder report with the code hidden to a
   self-contained ``<out>/funder_report.html`` (figures embedded) and, with
   WeasyPrint, ``<out>/funder_report.pdf``, and each organization's HTML; every
   HTML is scanned with :func:`stseval.privacy.assert_no_leaks` for the IDs of
   the study before it is written.
4. :func:`record` writes ``<out>/run.json``: kit version, Python, study name
   and seed, the parameters of every notebook, timings and the outcome of every
   run.

The notebooks are the packaged ones (:func:`notebooks_dir`), never written to;
each runs with its output folder as the working directory. A failing notebook
does not stop the others: it becomes a :class:`~stseval.errors.NotebookRunError`
(notebook, area, cell index, error, partial notebook kept) in
:attr:`ReportRun.failures`. Nothing is written outside ``out_dir``.

Tests: ``tests/test_pipeline.py`` (estimates equal :func:`stseval.evaluate_area`,
failures, a ``LocalCluster`` byte-identical to the pool), ``tests/test_warm_kernels.py``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from ._html_export import export_html, export_pdf
from ._notebook_runner import (
    KERNEL,
    NOTEBOOKS,
    REQUIRED_PARAMETERS,
    NotebookRun,
    check_parameters,
    notebook_parameters,
    run_notebook,
)
from ._notebook_support import notebooks_dir
from ._pipeline_extras import export_org_reports, extra_runs
from ._pipeline_overlap import (
    AuditThread,
    early_kernel_pool,
    precomputed_audits,
    run_step,
    runners,
    write_scored,
)
from ._plancheck import _check_options, _check_out, _choose_areas, _choose_orgs
from .errors import UsageError
from .parallel import check_scheduler

#: The study scored once per run, in the run folder (Parquet), and the area notebook's
#: parameter that receives its path.
SCORED_FILE = "scored.parquet"
SCORED_PARAMETER = "scored_path"

__all__ = [
    "NOTEBOOKS",
    "REQUIRED_PARAMETERS",
    "NotebookRun",
    "ReportRun",
    "RunPlan",
    "check_parameters",
    "execute",
    "export",
    "export_html",
    "export_pdf",
    "notebook_parameters",
    "notebooks_dir",
    "plan",
    "record",
    "run_notebook",
    "run_report",
]


@dataclass(frozen=True)
class RunPlan:
    """What a report run will do, validated: made by :func:`plan`, read by the other steps.

    Attributes
    ----------
    study_dir, out_dir, notebooks_dir : Path
        Absolute folders.
    areas : tuple of str
        Areas evaluated, in the guidance's order.
    area_runs : tuple of NotebookRun
        One run of ``area_evaluation.ipynb`` per area.
    org_runs : tuple of NotebookRun
        Empty: organization reports are rendered without notebooks
        (:mod:`stseval.org_reports`) for :attr:`org_ids`.
    org_ids : tuple of str
        Organizations whose feedback report is written.
    extra_runs : tuple of NotebookRun
        ``dose_response.ipynb`` when the study can tell whether practice change
        carries outcome change, ``individual_evaluation.ipynb`` when it has
        individual programs; they run beside the area notebooks.
    funder : NotebookRun
        The funder report; its ``estimates_csv`` parameter is :attr:`estimates_csv`.
    estimates_csv, html, pdf : Path
        ``<out>/estimates.csv``, ``funder_report.html``, ``funder_report.pdf``
        (``pdf`` None when not wanted).
    jobs : int
        Notebooks run at the same time.
    progress : bool
    kernel_name : str
    study : Study
        The validated study (IDs for the leak scan, provenance for ``run.json``).
    scheduler : str
        Where the notebooks run (:func:`stseval.parallel.map_tasks`).
    scored_path : Path or None
        ``<out>/scored.parquet``: the study scored once, read by every area
        notebook (and the funder notebook if it declares ``scored_path``); None
        when no notebook declares that parameter (an older or custom notebook
        scores the study itself).
    """

    study_dir: Path
    out_dir: Path
    notebooks_dir: Path
    areas: tuple[str, ...]
    area_runs: tuple[NotebookRun, ...]
    funder: NotebookRun
    org_runs: tuple[NotebookRun, ...]
    estimates_csv: Path
    html: Path
    pdf: Path | None
    jobs: int
    progress: bool = True
    kernel_name: str = KERNEL
    study: Any = field(default=None, repr=False, compare=False)
    scheduler: str = "processes"
    scored_path: Path | None = None
    org_ids: tuple[str, ...] = ()
    extra_runs: tuple[NotebookRun, ...] = ()


@dataclass
class ReportRun:
    """What :func:`run_report` produced.

    Attributes
    ----------
    out_dir : Path
    estimates : Path or None
        ``<out>/estimates.csv`` (None if no area finished).
    html, pdf, docx : Path or None
        The funder report: HTML, PDF (None if it failed or ``pdf=False``) and the
        editable Word file.
    org_reports : dict
        org_id -> HTML path of each organization's feedback report.
    failures : list of NotebookRunError
    timings : dict
        Seconds per step (``score``, ``areas``, ``funder_report``, ``html`` (with the
        audit), ``pdf``, ``docx``, ``total``).
    runs : dict
        Run key (``area:<area>``, ``funder``, ``org:<org_id>``) ->
        ``{"seconds", "error"}`` of every notebook that was started.
    started : str
        UTC time :func:`execute` started (ISO 8601).
    """

    out_dir: Path
    estimates: Path | None = None
    html: Path | None = None
    pdf: Path | None = None
    org_reports: dict = field(default_factory=dict)
    docx: Path | None = None
    failures: list = field(default_factory=list)
    #: Audit rows computed while the funder notebook ran (areas, min_cell, frames or error).
    _audits: tuple | None = field(default=None, repr=False)
    timings: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    started: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures

    def succeeded(self, key: str) -> bool:
        """True when the notebook run ``key`` finished without an error."""
        return key in self.runs and self.runs[key]["error"] is None


# -- plan ------------------------------------------------------------------------------
def _runs(nb_dir: Path, out: Path, study_path: Path, areas, org_ids, common: dict):
    """The notebook runs of a report: one per area, the funder report, one per organization."""
    area_nb, funder_nb, org_nb = (nb_dir / NOTEBOOKS[k] for k in ("area", "funder", "org"))
    for path in [area_nb, funder_nb] + ([org_nb] if org_ids else []):
        if not path.is_file():
            raise UsageError(f"notebook {path} does not exist")
    area_common = dict(common)
    if SCORED_PARAMETER in notebook_parameters(area_nb):
        area_common[SCORED_PARAMETER] = str(out / SCORED_FILE)
    area_runs = tuple(
        NotebookRun(
            key=f"area:{a}",
            notebook=area_nb,
            output=out / "areas" / a / area_nb.name,
            parameters={**area_common, "area": a, "out_dir": str(out / "areas" / a)},
            label=f"{area_nb.name} for area {a!r}",
        )
        for a in areas
    )
    funder_common = dict(common)
    if SCORED_PARAMETER in notebook_parameters(funder_nb):  # when it declares it, it reads it too
        funder_common[SCORED_PARAMETER] = str(out / SCORED_FILE)
    funder = NotebookRun(
        key="funder",
        notebook=funder_nb,
        output=out / funder_nb.name,
        parameters={**funder_common, "estimates_csv": str(out / "estimates.csv")},
        label=funder_nb.name,
    )
    org_common = {"study_dir": str(study_path), "min_cell": common["min_cell"]}
    org_runs = tuple(
        NotebookRun(
            key=f"org:{o}",
            notebook=org_nb,
            output=out / "orgs" / o / org_nb.name,
            parameters={**org_common, "org_id": o},
            label=f"{org_nb.name} for organization {o!r}",
        )
        for o in org_ids
    )
    for run in area_runs[:1] + (funder,) + org_runs[:1]:
        check_parameters(run.notebook, dict(run.parameters))
    return area_runs, funder, org_runs


def plan(
    study_dir,
    out_dir,
    *,
    areas: Sequence[str] | None = None,
    jobs: int | None = None,
    org_reports: bool | Sequence[str] = False,
    pdf: bool = True,
    confidence: float = 0.95,
    min_cell: int | None = None,
    progress: bool = True,
    notebooks: str | os.PathLike | None = None,
    kernel_name: str = KERNEL,
    scheduler: str | None = None,
) -> RunPlan:
    """Validate a report run and return its :class:`RunPlan`; nothing is written.

    Takes the arguments of :func:`run_report` (see there).

    Raises
    ------
    UsageError, DataValidationError
        A bad study, area, organization, option or notebook parameter.
    """
    from .study import Study

    nb_dir = Path(notebooks).resolve() if notebooks else notebooks_dir()
    study_path = Path(study_dir).expanduser().resolve()
    out = Path(out_dir).expanduser().resolve()
    _check_out(out, study_path, nb_dir)
    jobs = _check_options(confidence, min_cell, jobs)
    # Notebooks wait on their kernels: threads driving them ("processes") start at once,
    # while a LocalCluster costs its start-up (measured in benchmarks/RESULTS.md).
    scheduler = "processes" if scheduler is None else check_scheduler(scheduler)
    study = Study.from_dir(study_path)
    chosen = _choose_areas(study, areas)
    org_ids = _choose_orgs(study, org_reports)
    common = {
        "study_dir": str(study_path),
        "confidence": float(confidence),
        "min_cell": None if min_cell is None else int(min_cell),
    }
    area_runs, funder, org_runs = _runs(nb_dir, out, study_path, chosen, [], common)
    scored = {SCORED_PARAMETER: str(out / SCORED_FILE)}
    extras = extra_runs(nb_dir, out, study, common, scored=scored)
    return RunPlan(
        study_dir=study_path,
        out_dir=out,
        notebooks_dir=nb_dir,
        areas=tuple(chosen),
        area_runs=area_runs,
        funder=funder,
        org_runs=org_runs,
        estimates_csv=out / "estimates.csv",
        html=out / "funder_report.html",
        pdf=out / "funder_report.pdf" if pdf else None,
        jobs=jobs,
        progress=progress,
        kernel_name=kernel_name,
        study=study,
        scheduler=scheduler,
        scored_path=(
            out / SCORED_FILE
            if any(SCORED_PARAMETER in r.parameters for r in (*area_runs, funder, *extras))
            else None
        ),
        org_ids=tuple(org_ids),
        extra_runs=extras,
    )


# -- execute -----------------------------------------------------------------------------
def _clear_previous(run_plan: RunPlan) -> None:
    """Remove what an earlier run into the same folder left for the areas and the report."""
    out = run_plan.out_dir
    out.mkdir(parents=True, exist_ok=True)
    for a in run_plan.areas:
        shutil.rmtree(out / "areas" / a, ignore_errors=True)
    for extra in ("dose", "individual"):
        shutil.rmtree(out / extra, ignore_errors=True)
    names = ("estimates.csv", "funder_report.html", "funder_report.pdf", "funder_report.ipynb")
    for name in (*names, SCORED_FILE):
        (out / name).unlink(missing_ok=True)


def _collect_estimates(run_plan: RunPlan, done: list[str]) -> Path:
    """Read the finished areas' estimates, adjust across areas once (BH), write the CSV."""
    from .privacy import safe_csv
    from .report import read_area_estimates, with_verdicts

    est = read_area_estimates(run_plan.out_dir, areas=done)
    est = with_verdicts(est, confidence=run_plan.funder.parameters["confidence"])
    safe_csv(est, run_plan.estimates_csv, index=False)
    return run_plan.estimates_csv


def execute(run_plan: RunPlan, *, client=None, pool=None) -> ReportRun:
    """Run the notebooks of a plan: areas, the combined estimates, funder and org reports.

    The study is scored once into ``<out>/scored.parquet`` first. The
    notebooks run where ``run_plan.scheduler`` says, or on ``client`` (an open
    ``distributed.Client``, or what :func:`stseval.parallel.open_scheduler`
    yielded) when given. On this machine (``processes``/``threads``) they run on
    ``jobs`` warm kernels (:class:`stseval._warm_kernels.KernelPool`, or ``pool``, one
    already started), started while the study is scored and reused from notebook to
    notebook; on Dask (one cluster for all the steps) each worker keeps one warm
    kernel. Returns a :class:`ReportRun` with the estimates path, every run's status
    and the failures; the HTML and PDF are made by :func:`export`.
    """
    t0 = time.monotonic()
    result = ReportRun(
        out_dir=run_plan.out_dir, started=datetime.now(UTC).isoformat(timespec="seconds")
    )
    _clear_previous(run_plan)
    runs = run_plan.extra_runs + run_plan.area_runs  # the longer notebooks first
    # kernels start while the study is scored (or earlier: run_report)
    with runners(run_plan, client, pool, len(runs)) as (pool, client):
        write_scored(run_plan, result)
        step = {"client": client, "pool": pool}
        run_step(run_plan, result, runs, desc="area notebooks", timing="areas", **step)
        done = [r.key.split(":", 1)[1] for r in run_plan.area_runs if result.succeeded(r.key)]
        if done:
            result.estimates = _collect_estimates(run_plan, done)
            audit = AuditThread(run_plan, done)  # the funder notebook runs elsewhere
            run_step(
                run_plan,
                result,
                (run_plan.funder,),
                desc="funder report",
                timing="funder_report",
                **step,
            )
            result._audits = audit.join()
    result.timings["execute"] = round(time.monotonic() - t0, 2)
    return result


# -- export ------------------------------------------------------------------------------
def export(run_plan: RunPlan, result: ReportRun) -> ReportRun:
    """Export every notebook that ran: funder report HTML (and PDF), organization HTML.

    Each HTML is leak-scanned for the study's IDs (an organization's report may
    name only that organization). Fills ``result.html``, ``pdf`` and
    ``org_reports`` and returns ``result``.
    """
    from .report import study_ids, write_run_audit

    study = run_plan.study
    if result.succeeded("funder"):
        t = time.monotonic()
        done = [r.key.split(":", 1)[1] for r in run_plan.area_runs if result.succeeded(r.key)]
        # fail closed: nothing is exported when the tables cannot be protected
        min_cell = run_plan.funder.parameters["min_cell"]
        write_run_audit(
            study,
            run_plan.out_dir,
            areas=done,
            min_cell=min_cell,
            audits=precomputed_audits(result, done),
        )
        result.html = export_html(
            run_plan.funder.output,
            run_plan.html,
            ids=study_ids(study),
            title=f"STS guidance evaluation: {study.name}",
            downloads={"PDF": "funder_report.pdf", "Word, to edit": "funder_report.docx"},
        )
        result.timings["html"] = round(time.monotonic() - t, 2)
        if run_plan.pdf is not None:
            t = time.monotonic()
            result.pdf = export_pdf(result.html, run_plan.pdf)
            result.timings["pdf"] = round(time.monotonic() - t, 2)
        from ._docx_build import export_docx

        t = time.monotonic()
        result.docx = export_docx(result.html, run_plan.html.with_suffix(".docx"))
        result.timings["docx"] = round(time.monotonic() - t, 2)
    if run_plan.org_ids:
        export_org_reports(run_plan, result)
    return result


# -- record ------------------------------------------------------------------------------
def _json_params(params) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()}


def _status(run_plan: RunPlan, result: ReportRun, run: NotebookRun) -> dict:
    state = result.runs.get(run.key, {"seconds": None, "error": None})
    err = state["error"]
    ran = run.key in result.runs
    return {
        "parameters": _json_params(run.parameters),
        "notebook": str(run.output.relative_to(run_plan.out_dir)),
        "seconds": state["seconds"],
        "status": "failed" if err else ("ok" if ran else "not run"),
        "error": None if err is None else {"cell": err.cell_index, "detail": err.detail},
    }


def record(run_plan: RunPlan, result: ReportRun) -> Path:
    """Write ``<out>/run.json`` (version, platform, study, every run, timings); return its path."""
    study = run_plan.study
    provenance = study.provenance or {}
    result.timings.setdefault("total", round(sum(result.timings.values()), 2))
    rec = {
        "stseval_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "started": result.started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "jobs": run_plan.jobs,
        "scheduler": run_plan.scheduler,
        "scored": run_plan.scored_path.name if run_plan.scored_path else None,
        "study": {
            "name": study.name,
            "folder": str(study.source),
            "synthetic": bool(study.is_synthetic),
            "seed": provenance.get("seed"),
            "design": (provenance.get("design") or {}).get("name"),
        },
        "areas": {r.parameters["area"]: _status(run_plan, result, r) for r in run_plan.area_runs},
        "funder_report": {
            **_status(run_plan, result, run_plan.funder),
            "areas": [a for a in run_plan.areas if result.succeeded(f"area:{a}")],
            "html": result.html.name if result.html else None,
            "pdf": result.pdf.name if result.pdf else None,
            "docx": result.docx.name if result.docx else None,
        },
        "extra_notebooks": {r.key: _status(run_plan, result, r) for r in run_plan.extra_runs},
        "org_reports": {
            o: {"html": str(p.relative_to(run_plan.out_dir)) if p else None}
            for o, p in result.org_reports.items()
        },
        "timings_seconds": result.timings,
        "failures": [str(f) for f in result.failures],
    }
    path = run_plan.out_dir / "run.json"
    path.write_text(json.dumps(rec, indent=2, default=str) + "\n", encoding="utf-8")
    return path


# -- the whole report --------------------------------------------------------------------
def run_report(
    study_dir,
    out_dir,
    *,
    areas: Sequence[str] | None = None,
    jobs: int | None = None,
    org_reports: bool | Sequence[str] = False,
    pdf: bool = True,
    confidence: float = 0.95,
    min_cell: int | None = None,
    progress: bool = True,
    notebooks: str | os.PathLike | None = None,
    kernel_name: str = KERNEL,
    scheduler: str | None = None,
    client=None,
) -> ReportRun:
    """Evaluate every area with the area notebook and build the funder report.

    :func:`plan`, then :func:`execute`, :func:`export` and :func:`record`.

    Parameters
    ----------
    study_dir : path
        A study folder (:meth:`stseval.Study.from_dir`).
    out_dir : path
        Where everything goes (created). Nothing is written elsewhere.
    areas : list of str, optional
        Default: every area with intervention organizations.
    jobs : int, optional
        Notebooks run at the same time; default the number of CPU cores.
    org_reports : bool or list of str
        True: one feedback report per organization; a list: those organizations.
    pdf : bool
        Also write ``funder_report.pdf``.
    confidence, min_cell
        Passed to every notebook (``min_cell`` None: the study's own).
    progress : bool
        Show a progress bar on stderr.
    notebooks : path, optional
        Folder of the notebooks (default :func:`notebooks_dir`, the packaged ones).
    kernel_name : str
        Jupyter kernel the notebooks run in.
    scheduler : str, optional
        Where the notebooks run (:func:`stseval.parallel.map_tasks`): ``"local"``
        (a Dask ``LocalCluster`` of ``jobs`` workers), ``"processes"`` (the
        default: threads in this process driving one kernel each; measured
        faster than a LocalCluster for one report, whose work is in the kernels)
        or a Dask address (``tcp://host:8786``). Every kernel computes with one
        BLAS thread.
    client : distributed.Client, optional
        An open client to run on instead (e.g. one shared by several reports).

    Returns
    -------
    ReportRun
        Paths written and every failure (:class:`~stseval.errors.NotebookRunError`).

    Raises
    ------
    UsageError, DataValidationError
        Before anything runs: bad study, areas, organizations or parameters.
    """
    t0 = time.monotonic()
    # kernels start now, while the study is read and the plan checked
    with early_kernel_pool(jobs, scheduler, client, kernel_name) as pool:
        run_plan = plan(
            study_dir,
            out_dir,
            areas=areas,
            jobs=jobs,
            org_reports=org_reports,
            pdf=pdf,
            confidence=confidence,
            min_cell=min_cell,
            progress=progress,
            notebooks=notebooks,
            kernel_name=kernel_name,
            scheduler=scheduler,
        )
        executed = execute(run_plan, client=client, pool=pool)
    result = export(run_plan, executed)
    result.timings["total"] = round(time.monotonic() - t0, 2)
    record(run_plan, result)
    return result
