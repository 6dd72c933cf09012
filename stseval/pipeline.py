"""Run the report notebooks: every area in parallel, then the funder report, HTML and PDF.

:func:`run_report` is what ``stseval report`` calls. In order, it

1. validates everything before anything runs: the study folder
   (:meth:`stseval.Study.from_dir`), the areas (known, with intervention and
   comparison organizations), the organizations asked for, and every
   notebook's parameters (:func:`check_parameters`: papermill only warns about
   a parameter the notebook does not declare; we refuse it, and a missing
   required one);
2. runs ``notebooks/area_evaluation.ipynb`` once per area with papermill, in
   parallel threads (``jobs``; kernel starts are staggered and a kernel that
   fails to start is retried once, because parallel kernels can collide on
   start-up ports), with a tqdm progress bar; each executed notebook is kept in
   ``<out>/areas/<area>/`` beside its ``estimates.csv`` and figures;
3. collects the estimates into ``<out>/estimates.csv`` (BH across areas);
4. executes ``funder_report.ipynb`` and exports it with the code hidden to a
   self-contained ``<out>/funder_report.html`` (figures embedded) and, with
   WeasyPrint, ``<out>/funder_report.pdf``; the HTML is scanned with
   :func:`stseval.privacy.assert_no_leaks` for every ID of the study before it
   is written;
5. optionally runs ``org_feedback.ipynb`` for each organization into
   ``<out>/orgs/<org_id>/`` (notebook and HTML, leak-scanned the same way);
6. writes ``<out>/run.json``: kit version, Python, study name and seed, the
   parameters of every notebook, timings and the outcome of every run.

A failing notebook does not stop the others: it becomes a
:class:`~stseval.errors.NotebookRunError` (notebook, area, cell index, error,
partial notebook kept) in :attr:`ReportRun.failures`. Nothing is written
outside ``out_dir``.

Tests (``tests/test_pipeline.py``): the seven areas on the small synthetic
study with ``jobs=2`` give the same estimates as :func:`stseval.evaluate_area`
called directly; the HTML holds every area and outcome and no ID; the PDF has
pages; a failing area is reported with its cell while the others finish;
unknown and missing parameters are refused before anything runs.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .areas import AREA_KEYS
from .errors import NotebookRunError, UsageError

__all__ = [
    "NOTEBOOKS",
    "REQUIRED_PARAMETERS",
    "ReportRun",
    "check_parameters",
    "export_html",
    "export_pdf",
    "notebook_parameters",
    "notebooks_dir",
    "run_notebook",
    "run_report",
]

#: The notebooks the pipeline runs.
NOTEBOOKS = {
    "area": "area_evaluation.ipynb",
    "funder": "funder_report.ipynb",
    "org": "org_feedback.ipynb",
}
#: Parameters the pipeline must pass to each notebook.
REQUIRED_PARAMETERS = {
    "area_evaluation.ipynb": ("study_dir", "area", "out_dir"),
    "funder_report.ipynb": ("study_dir", "results_dir"),
    "org_feedback.ipynb": ("study_dir", "org_id"),
}
_STAGGER_SECONDS = 0.5
_KERNEL = "python3"


@dataclass
class ReportRun:
    """What :func:`run_report` produced.

    Attributes
    ----------
    out_dir : Path
    estimates : Path or None
        ``<out>/estimates.csv`` (None if no area finished).
    html, pdf : Path or None
        The funder report (None if it failed or ``pdf=False``).
    org_reports : dict
        org_id -> HTML path of each organization's feedback report.
    failures : list of NotebookRunError
    timings : dict
        Seconds per step (``areas``, ``funder_report``, ``html``, ``pdf``, ``total``).
    """

    out_dir: Path
    estimates: Path | None = None
    html: Path | None = None
    pdf: Path | None = None
    org_reports: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


def notebooks_dir() -> Path:
    """The folder of the kit's notebooks (``notebooks/`` beside the package)."""
    path = Path(__file__).resolve().parents[1] / "notebooks"
    if not path.is_dir():
        raise UsageError(
            f"the notebooks folder {path} does not exist; run from a checkout of "
            "the stseval repository or pass notebooks_dir"
        )
    return path


def notebook_parameters(notebook) -> dict:
    """The parameters a notebook declares in its cell tagged ``parameters`` (name -> default).

    Raises
    ------
    UsageError
        The notebook has no cell tagged ``parameters``.
    """
    import nbformat
    from papermill.inspection import inspect_notebook

    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise UsageError(f"notebook {path.name} has no cell tagged 'parameters'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = inspect_notebook(str(path))
    return {name: p["default"] for name, p in params.items()}


def check_parameters(notebook, parameters: dict, *, required: Sequence[str] | None = None) -> None:
    """Refuse parameters the notebook does not declare, and missing required ones.

    ``required`` defaults to :data:`REQUIRED_PARAMETERS` for the kit's notebooks.
    """
    path = Path(notebook)
    declared = notebook_parameters(path)
    required = REQUIRED_PARAMETERS.get(path.name, ()) if required is None else required
    problems = []
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        problems.append(
            f"unknown parameter(s) {', '.join(unknown)} (the notebook declares "
            f"{', '.join(declared)})"
        )
    missing = [p for p in required if p not in parameters]
    if missing:
        problems.append(f"missing required parameter(s) {', '.join(missing)}")
    undeclared = [p for p in required if p not in declared]
    if undeclared:
        problems.append(
            f"the notebook does not declare required parameter(s) {', '.join(undeclared)}"
        )
    if problems:
        raise UsageError(f"notebook {path.name}: " + "; ".join(problems))


# -- running one notebook ----------------------------------------------------------------
class _Starter:
    """Spaces kernel starts at least ``gap`` seconds apart across threads."""

    def __init__(self, gap: float):
        self.gap = gap
        self.lock = threading.Lock()
        self.last = 0.0

    def wait(self) -> None:
        with self.lock:
            delay = self.last + self.gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.last = time.monotonic()


def run_notebook(
    notebook,
    output,
    parameters: dict,
    *,
    label: str | None = None,
    cwd=None,
    kernel_name: str = _KERNEL,
    retries: int = 1,
    start_timeout: int = 120,
    starter: _Starter | None = None,
) -> float:
    """Execute ``notebook`` with papermill into ``output``; return the seconds it took.

    The notebook runs with ``cwd`` (default: its own folder) as the working
    directory. A kernel that fails to start (anything other than an error in a
    cell) is retried ``retries`` times.

    Raises
    ------
    NotebookRunError
        A cell raised: carries the cell index (in the executed notebook, which
        papermill keeps at ``output``), the error and the parameters.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    notebook, output = Path(notebook), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    label = label or notebook.stem
    start = time.monotonic()
    for attempt in range(retries + 1):
        if starter is not None:
            starter.wait()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pm.execute_notebook(
                    str(notebook),
                    str(output),
                    parameters=parameters,
                    kernel_name=kernel_name,
                    progress_bar=False,
                    log_output=False,
                    cwd=str(cwd or notebook.parent),
                    start_timeout=start_timeout,
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                )
            return time.monotonic() - start
        except PapermillExecutionError as exc:
            detail = f"{exc.ename}: {exc.evalue}".strip()
            raise NotebookRunError(
                label,
                detail=detail,
                cell_index=exc.cell_index,
                parameters=parameters,
                output_path=str(output),
            ) from None
        except Exception as exc:  # noqa: BLE001 - kernel start-up trouble: retry once
            if attempt >= retries:
                raise NotebookRunError(
                    label,
                    detail=f"the kernel could not run the notebook ({type(exc).__name__}: {exc})",
                    parameters=parameters,
                    output_path=str(output) if output.exists() else None,
                ) from None
            time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _run_all(tasks: list[dict], *, jobs: int, progress: bool, desc: str) -> list[dict]:
    """Run notebook tasks (dicts of run_notebook kwargs) in threads; fill ``seconds``/``error``."""
    from tqdm.auto import tqdm

    starter = _Starter(_STAGGER_SECONDS)
    bar = tqdm(total=len(tasks), desc=desc, unit="notebook", disable=not progress, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(tasks) or 1))) as pool:
        futures = {pool.submit(run_notebook, starter=starter, **t["run"]): t for t in tasks}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                task["seconds"] = round(fut.result(), 2)
                task["error"] = None
            except NotebookRunError as exc:
                task["seconds"], task["error"] = None, exc
            bar.update()
            if task["error"] is not None:
                bar.write(
                    f"stseval: {task['run']['label']} failed: {task['error'].detail}",
                    file=sys.stderr,
                )
    bar.close()
    return tasks


# -- export ----------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10.5pt;
       line-height: 1.45; color: #1d1d1d; max-width: 960px; margin: 0 auto; padding: 12px; }
h1 { font-size: 20pt; margin: 0.2em 0 0.4em; }
h2 { font-size: 15pt; margin-top: 1.4em; border-bottom: 1px solid #bbb; break-after: avoid; }
h3 { font-size: 12pt; break-after: avoid; }
blockquote { background: #fff4d6; border-left: 5px solid #e0a800; margin: 0.8em 0;
             padding: 0.4em 0.9em; }
img { max-width: 100%; height: auto; break-inside: avoid; }
table { border-collapse: collapse; font-size: 8.5pt; margin: 0.6em 0 1em; break-inside: auto; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
td.suppressed { color: #8a5a00; font-style: italic; }
a.anchor-link { display: none; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 3px; }
.jp-OutputArea-output pre, pre { white-space: pre-wrap; font-size: 8.5pt; }
"""


def _strip_for_readers(nb):
    """Drop what a reader must not see: stderr streams, widget views, error tracebacks."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if out.get("output_type") == "error":
                continue
            data = out.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            if "image/png" in data:
                meta = out.setdefault("metadata", {}).setdefault("image/png", {})
                meta.setdefault("alt", "Figure")
            if out.get("output_type") in ("display_data", "execute_result") and not data:
                continue
            kept.append(out)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return nb


def export_html(
    notebook, html_path, *, ids: Sequence[str], title: str = "Report", source: str | None = None
) -> Path:
    """Export an executed notebook to one self-contained HTML file with the code hidden.

    nbconvert's ``basic`` template with ``exclude_input``, input and output
    prompts excluded; stderr, errors and widget views dropped; figures stay
    embedded as base64 PNG; a small stylesheet of our own (no external scripts,
    fonts or styles). The text is scanned with
    :func:`stseval.privacy.assert_no_leaks` for ``ids`` before it is written.
    """
    import nbformat
    from nbconvert import HTMLExporter

    from .privacy import assert_no_leaks

    nb = _strip_for_readers(nbformat.read(str(notebook), as_version=4))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(nb)
    from html import escape

    html = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_no_leaks(html, ids=list(ids), source=source or Path(html_path).name, min_id_length=3)
    html_path = Path(html_path)
    html_path.write_text(html, encoding="utf-8")
    return html_path


def export_pdf(html_path, pdf_path) -> Path:
    """Render the HTML file to PDF with WeasyPrint (A4, the HTML's own stylesheet)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    return Path(pdf_path)


# -- the whole report ------------------------------------------------------------------
def _choose_areas(study, areas) -> list[str]:
    present = set(study.interventions["area"])
    if areas is None:
        chosen = [a for a in AREA_KEYS if a in present]
        if not chosen:
            raise UsageError(
                "no organization changed practice in any area (interventions.csv "
                "is empty); there is nothing to evaluate"
            )
        return chosen
    areas = [a.strip() for a in areas if a and a.strip()]
    if not areas:
        raise UsageError("--areas is empty; give area keys separated by commas")
    unknown = [a for a in areas if a not in AREA_KEYS]
    if unknown:
        raise UsageError(f"unknown area(s) {', '.join(unknown)}; areas are {', '.join(AREA_KEYS)}")
    empty = [a for a in areas if a not in present]
    if empty:
        raise UsageError(
            f"no organization changed practice in {', '.join(empty)} "
            "(interventions.csv has no row for it)"
        )
    return list(dict.fromkeys(areas))


def _check_out(out: Path, study_dir: Path, nb_dir: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    for inside, name in ((study_dir, "the study folder"), (nb_dir, "the notebooks folder")):
        if out == inside or inside in out.parents:
            raise UsageError(f"--out {out} must not be inside {name} ({inside})")


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
    kernel_name: str = _KERNEL,
) -> ReportRun:
    """Evaluate every area with the area notebook and build the funder report.

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
        Folder of the notebooks (default :func:`notebooks_dir`).

    Returns
    -------
    ReportRun
        Paths written and every failure (:class:`~stseval.errors.NotebookRunError`).

    Raises
    ------
    UsageError, DataValidationError
        Before anything runs: bad study, areas, organizations or parameters.
    """
    from .report import study_ids
    from .study import Study

    t0 = time.monotonic()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    nb_dir = Path(notebooks).resolve() if notebooks else notebooks_dir()
    study_path = Path(study_dir).expanduser().resolve()
    out = Path(out_dir).expanduser().resolve()
    _check_out(out, study_path, nb_dir)
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence!r}")
    if min_cell is not None and (isinstance(min_cell, bool) or int(min_cell) < 1):
        raise UsageError(f"min_cell must be a positive whole number, got {min_cell!r}")
    jobs = int(os.cpu_count() or 1) if jobs is None else int(jobs)
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, got {jobs}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = Study.from_dir(study_path)
    chosen = _choose_areas(study, areas)
    org_ids: list[str] = []
    if org_reports:
        known = list(study.orgs["org_id"].astype(str))
        org_ids = known if org_reports is True else [str(o) for o in org_reports]
        unknown = [o for o in org_ids if o not in known]
        if unknown:
            raise UsageError(f"unknown organization(s) {', '.join(unknown)} for --org-reports")
    common = {
        "study_dir": str(study_path),
        "confidence": float(confidence),
        "min_cell": None if min_cell is None else int(min_cell),
    }
    area_nb, funder_nb, org_nb = (nb_dir / NOTEBOOKS[k] for k in ("area", "funder", "org"))
    for path in [area_nb, funder_nb] + ([org_nb] if org_ids else []):
        if not path.is_file():
            raise UsageError(f"notebook {path} does not exist")
    area_tasks = [
        {
            "area": a,
            "run": {
                "notebook": area_nb,
                "output": out / "areas" / a / area_nb.name,
                "label": f"{area_nb.name} for area {a!r}",
                "parameters": {**common, "area": a, "out_dir": str(out / "areas" / a)},
            },
        }
        for a in chosen
    ]
    funder_params = {**common, "results_dir": str(out), "areas": chosen}
    org_tasks = [
        {
            "org": o,
            "run": {
                "notebook": org_nb,
                "output": out / "orgs" / o / org_nb.name,
                "label": f"{org_nb.name} for organization {o!r}",
                "parameters": {
                    "study_dir": str(study_path),
                    "org_id": o,
                    "min_cell": common["min_cell"],
                },
            },
        }
        for o in org_ids
    ]
    check_parameters(area_nb, area_tasks[0]["run"]["parameters"])
    check_parameters(funder_nb, funder_params)
    if org_tasks:
        check_parameters(org_nb, org_tasks[0]["run"]["parameters"])

    # -- everything is valid: run --------------------------------------------------
    out.mkdir(parents=True, exist_ok=True)
    for a in chosen:
        shutil.rmtree(out / "areas" / a, ignore_errors=True)
    for name in ("estimates.csv", "funder_report.html", "funder_report.pdf", "funder_report.ipynb"):
        (out / name).unlink(missing_ok=True)
    result = ReportRun(out_dir=out)
    _run_all(area_tasks, jobs=jobs, progress=progress, desc="area notebooks")
    result.timings["areas"] = round(time.monotonic() - t0, 2)
    result.failures += [t["error"] for t in area_tasks if t["error"] is not None]
    done = [t["area"] for t in area_tasks if t["error"] is None]
    ids = study_ids(study)
    if done:
        from .privacy import safe_csv
        from .report import read_area_estimates

        est = read_area_estimates(out)
        est = est[est["area"].isin(done)]
        safe_csv(est, out / "estimates.csv", index=False)
        result.estimates = out / "estimates.csv"
        funder_params["areas"] = done
        t1 = time.monotonic()
        try:
            run_notebook(
                funder_nb,
                out / funder_nb.name,
                funder_params,
                label=funder_nb.name,
                kernel_name=kernel_name,
            )
            result.timings["funder_report"] = round(time.monotonic() - t1, 2)
            t2 = time.monotonic()
            result.html = export_html(
                out / funder_nb.name,
                out / "funder_report.html",
                ids=ids,
                title=f"STS guidance evaluation: {study.name}",
            )
            result.timings["html"] = round(time.monotonic() - t2, 2)
            if pdf:
                t3 = time.monotonic()
                result.pdf = export_pdf(result.html, out / "funder_report.pdf")
                result.timings["pdf"] = round(time.monotonic() - t3, 2)
        except NotebookRunError as exc:
            result.failures.append(exc)
    if org_tasks:
        t4 = time.monotonic()
        _run_all(org_tasks, jobs=jobs, progress=progress, desc="organization reports")
        for t in org_tasks:
            if t["error"] is not None:
                result.failures.append(t["error"])
                continue
            nb_path = t["run"]["output"]
            result.org_reports[t["org"]] = export_html(
                nb_path,
                nb_path.with_suffix(".html"),
                ids=study_ids(study, keep_org=t["org"]),
                title=f"Practice profile: organization {t['org']}",
            )
        result.timings["org_reports"] = round(time.monotonic() - t4, 2)
    result.timings["total"] = round(time.monotonic() - t0, 2)
    _write_run_json(result, study, area_tasks, funder_params, org_tasks, started, jobs)
    return result


def _json_params(params: dict) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()}


def _write_run_json(result, study, area_tasks, funder_params, org_tasks, started, jobs) -> None:
    def status(task):
        err = task.get("error")
        return {
            "parameters": _json_params(task["run"]["parameters"]),
            "notebook": str(Path(task["run"]["output"]).relative_to(result.out_dir)),
            "seconds": task.get("seconds"),
            "status": "failed" if err else "ok",
            "error": None if err is None else {"cell": err.cell_index, "detail": err.detail},
        }

    record = {
        "stseval_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "jobs": jobs,
        "study": {
            "name": study.name,
            "folder": str(study.source),
            "synthetic": bool(study.is_synthetic),
            "seed": study.provenance.get("seed"),
            "design": (study.provenance.get("design") or {}).get("name"),
        },
        "areas": {t["area"]: status(t) for t in area_tasks},
        "funder_report": {
            "parameters": _json_params(funder_params),
            "html": result.html.name if result.html else None,
            "pdf": result.pdf.name if result.pdf else None,
        },
        "org_reports": {t["org"]: status(t) for t in org_tasks},
        "timings_seconds": result.timings,
        "failures": [str(f) for f in result.failures],
    }
    (result.out_dir / "run.json").write_text(
        json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8"
    )
