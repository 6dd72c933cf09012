"""Per-organization feedback reports without notebooks: tables, disclosure control, HTML and PDF.

An organization's report tells its leaders how their own staff fared and where their practice
sits among the other organizations. It is built from the study folder (and, when given, the
run's ``estimates.csv``) in plain Python: no kernel, no notebook, one HTML template rendered per
organization (:mod:`stseval._org_html`), then WeasyPrint for the PDF (its stylesheet parsed
once per process, :func:`stseval._html_export.write_pdf`). All organizations of a study render
in one process, or, when there are many, fanned out through
:func:`stseval.parallel.map_tasks` (``jobs``, ``scheduler``: a process pool, a Dask
``LocalCluster`` or an existing cluster; ``client=``) in runs of consecutive organizations.

What one report holds (:func:`org_report_tables`):

- **outcomes**: the organization's staff mean of each staff outcome in each wave, the number
  who answered, and the change since the first wave with a confidence interval;
- **bands**: the share of its staff in each severity band of the outcomes that have bands
  (STSS, ProQOL), per wave;
- **profile**: its staff's mean rating of each guidance area in the last wave, the middle half
  of the other organizations' means as a rounded band (only with at least ``min_orgs`` other
  organizations, :func:`stseval.disclosure.other_org_bands`) and a whole-number percentile.

Disclosure: the counts and means of one organization's tables go through
:func:`stseval.disclosure.protect_tables` together (a band's staff add up to the wave's
respondents, so a hidden band count cannot be recovered by subtraction); a change is shown
only when both of its wave means are shown. The audit of every report is added to
``disclosure_audit.csv`` in the output folder; a report whose cells cannot all be protected
is not written (fail closed). Every HTML passes :func:`stseval.privacy.assert_no_leaks`
(no worker, team or other organization's ID or name) before it is written.

The change interval of a wave mean (wave B minus wave A, the organization's respondents in
each wave) allows for the staff who answered both waves (linked designs):
``Var = s_A^2/n_A + s_B^2/n_B - 2 n_AB c_AB / (n_A n_B)``, with ``c_AB`` the covariance of
the two scores among the ``n_AB`` staff who answered both (0 when none were linked), and a
t quantile with ``min(n_A, n_B) - 1`` degrees of freedom. With every respondent in both waves
this is the paired t interval; with none, the two-sample (unequal variances) variance. It is a
staff-level interval for this organization's own staff (teams within it are not modelled).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._args import whole_number
from ._org_html import render_fragment, render_html
from ._org_tables import OrgReport, change_interval, org_practice_means, org_report_tables
from .areas import STAFF_OUTCOMES
from .disclosure import AUDIT_COLUMNS, DisclosureError
from .errors import DataValidationError, StsevalError, UsageError
from .parallel import check_scheduler

__all__ = [
    "OrgReport",
    "change_interval",
    "org_report_tables",
    "write_org_reports",
    "org_reports_from_run",
    "render_html",
    "render_fragment",
]

#: File names of one organization's report inside ``<out>/orgs/<org_id>/``.
HTML_NAME, PDF_NAME = "org_report.html", "org_report.pdf"


# -- writing many reports -------------------------------------------------------------------
_RESULT_COLUMNS = ["org_id", "html", "pdf", "seconds", "status", "error"]


_SIMPLE = re.compile(r"[A-Za-z0-9]+")


def _plain(scored: pd.DataFrame) -> pd.DataFrame:
    """The columns a report reads, as plain NumPy columns (fast to slice per organization)."""
    keep = ["org_id", "worker_id", "wave"]
    keep += [c for c in scored.columns if c.startswith(STAFF_OUTCOMES + ("org_guidance_",))]
    out = scored[keep].copy()
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].astype(float)
        else:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["org_id"] = out["org_id"].astype(str)
    return out


def _candidates(ctx, html: str, own: set) -> list[str]:
    """IDs that could appear in ``html``: a superset of what the leak scan would find.

    An ID of letters and digits only can match only as one of the text's letter-digit
    runs (case-insensitive); any other ID is kept when it occurs as a substring. The
    scan itself then decides, with its own rules, on this shorter list.
    """
    low = html.lower()
    tokens = set(_RUN.findall(low))
    found = [ctx.simple_ids[t] for t in tokens if t in ctx.simple_ids]
    heads = {t[:k] for t in tokens for k in range(1, len(t) + 1)}
    tails = {t[k:] for t in tokens for k in range(len(t))}
    found += [
        i
        for i, runs in ctx.other_ids.items()
        if all(w == 0 or r in (tokens if w == 3 else heads if w == 1 else tails) for r, w in runs)
        and i.lower() in low
    ]
    return sorted(set(found) - own)


_RUN = re.compile(r"[a-z0-9]+")


def _runs(ident: str) -> tuple[tuple[str, int], ...]:
    """The letter-digit runs of an ID with a separator, each with where it must sit in a run
    of the text the ID occurs in: 1 at a run's start (a separator before it in the ID), 2 at
    a run's end (a separator after it), 3 the whole run (both). A cheap necessary condition
    checked before the substring search (thousands of team IDs in a large study)."""
    low = ident.lower()
    out = []
    for m in _RUN.finditer(low):
        where = (1 if m.start() > 0 else 0) | (2 if m.end() < len(low) else 0)
        out.append((m.group(), where))
    return tuple(out)


def _mask_own_name(html: str, name: str) -> str:
    """The text the leak scan reads: the organization's own name (as printed) masked.

    Another organization's name inside this one's ("Alder Family Services" in "Alder
    Family Services 2") is then not taken for a leak; the other name anywhere else is.
    """
    from html import escape

    for form in dict.fromkeys((escape(name), escape(name, quote=False), name)):
        html = html.replace(form, "[this organization]")
    return html


class _Context:
    """What every organization's report shares: scores, other organizations' means, IDs."""

    def __init__(self, study, estimates, min_cell, min_orgs, confidence):
        from ._report_tables import study_ids

        self.study = study
        self.scored = _plain(study.scored())
        self.by_org = dict(tuple(self.scored.groupby("org_id", sort=False)))
        self.min_cell = int(min_cell or study.min_cell)
        self.min_orgs = int(min_orgs or study.min_orgs or 10)
        self.confidence = confidence
        self.estimates = estimates
        self.others_means = org_practice_means(self.scored, study.waves[-1], self.min_cell)
        self.ids = set(study_ids(study))
        self.simple_ids = {i.lower(): i for i in self.ids if _SIMPLE.fullmatch(i)}
        self.other_ids = {i: _runs(i) for i in self.ids if not _SIMPLE.fullmatch(i)}
        orgs = study.orgs.astype({"org_id": str})
        self.names = dict(zip(orgs["org_id"], orgs["name"].astype(str), strict=True))
        self.own = {o: {o, n} for o, n in self.names.items()}


def _one(ctx: _Context, org_id: str, out_dir: Path, pdf: bool) -> tuple[dict, pd.DataFrame]:
    """Build, scan and write one organization's report; never raises for its own data."""
    import warnings

    from ._html_export import write_pdf
    from .privacy import assert_no_leaks

    t0 = time.perf_counter()
    rec = dict(org_id=org_id, html=None, pdf=None, seconds=np.nan, status="ok", error="")
    try:
        rep = org_report_tables(
            ctx.study,
            org_id,
            scored=ctx.scored,
            org_rows=ctx.by_org.get(org_id, ctx.scored.iloc[:0]),
            others_means=ctx.others_means,
            estimates=ctx.estimates,
            min_cell=ctx.min_cell,
            min_orgs=ctx.min_orgs,
            confidence=ctx.confidence,
        )
        html = render_html(rep)
        with warnings.catch_warnings():
            # one- or two-character IDs (team "T1") would match ordinary words: not scanned
            warnings.filterwarnings(
                "ignore", message=r"\d+ ID\(s\) shorter than min_id_length", category=UserWarning
            )
            scanned = _mask_own_name(html, ctx.names[org_id])
            assert_no_leaks(
                scanned,
                ids=_candidates(ctx, scanned, ctx.own[org_id]),
                source=f"report of organization {org_id}",
                min_id_length=3,
            )
    except DisclosureError as exc:
        rec.update(status="refused", error=str(exc), seconds=time.perf_counter() - t0)
        return rec, pd.DataFrame(
            [(f"org report {ctx.names[org_id]}: all tables", "all", f"refused: {exc}")],
            columns=AUDIT_COLUMNS,
        )
    folder = out_dir / "orgs" / org_id
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / HTML_NAME
    html_path.write_text(html, encoding="utf-8")
    rec["html"] = str(html_path)
    if pdf:
        rec["pdf"] = str(write_pdf(html, folder / PDF_NAME, base_url=str(html_path)))
    rec["seconds"] = time.perf_counter() - t0
    return rec, rep.audit


# -- fanning out: chunks of organizations, one study context per worker ---------------------
@dataclass(frozen=True)
class _Chunk:
    """One task: a few organizations of one study (a folder path, or the Study itself)."""

    study: Any
    token: str
    org_ids: tuple[str, ...]
    out_dir: str
    pdf: bool
    estimates: pd.DataFrame | None
    options: tuple  # min_cell, min_orgs, confidence

    def __repr__(self) -> str:  # how a failed task is named: its organizations
        return f"organizations {', '.join(self.org_ids)}"


#: The study context of the last chunk in this process (a worker reads its study once).
_CONTEXTS: dict[str, _Context] = {}


def _chunk_context(task: _Chunk) -> _Context:
    ctx = _CONTEXTS.get(task.token)
    if ctx is None:
        from .study import Study

        study = Study.from_dir(task.study) if isinstance(task.study, str) else task.study
        ctx = _Context(study, None, *task.options)
        _CONTEXTS.clear()
        _CONTEXTS[task.token] = ctx
    ctx.estimates = task.estimates
    return ctx


class _Carried:
    """An exception on its way back from a worker, rebuilt as the same type in the caller.

    Exceptions whose ``__init__`` takes other arguments than their message (e.g.
    :class:`stseval.privacy.PrivacyLeakError`) do not survive pickling as they are.
    """

    def __init__(self, exc: Exception):
        self.original = exc  # kept in this process (with its traceback), never pickled
        self.cls, self.message = type(exc), str(exc)
        try:
            self.state = pickle.loads(pickle.dumps(vars(exc)))
        except Exception:  # noqa: BLE001 - attributes that do not pickle are left out
            self.state = {}

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "original"}

    def rebuild(self) -> Exception:
        if getattr(self, "original", None) is not None:
            return self.original
        exc = self.cls.__new__(self.cls)
        Exception.__init__(exc, self.message)
        exc.__dict__.update(self.state)
        return exc


def _render_chunk(task: _Chunk) -> list[tuple[dict, pd.DataFrame, _Carried | None]]:
    """Every organization of the chunk; one that fails is recorded and the others go on."""
    ctx = _chunk_context(task)
    out = []
    for org_id in task.org_ids:
        try:
            rec, audit = _one(ctx, org_id, Path(task.out_dir), task.pdf)
            out.append((rec, audit, None))
        except Exception as exc:  # noqa: BLE001 - named in the result; the others go on
            rec = dict(org_id=org_id, html=None, pdf=None, seconds=np.nan, status="failed")
            rec["error"] = f"{type(exc).__name__}: {exc}"
            out.append((rec, pd.DataFrame(columns=AUDIT_COLUMNS), _Carried(exc)))
    return out


def _chunks(org_ids: list[str], workers: int) -> list[tuple[str, ...]]:
    """Consecutive runs of organizations: one each in this process, ~4 per worker otherwise."""
    size = 1 if workers <= 1 else max(1, -(-len(org_ids) // (4 * workers)))
    return [tuple(org_ids[i : i + size]) for i in range(0, len(org_ids), size)]


def _fan_out(
    study, org_ids, out_dir, pdf, estimates, options, *, jobs, scheduler, client, progress
):
    """Run the chunks where asked; results in org order, chunk failures become org rows."""
    from .parallel import TaskFailure, map_tasks

    if client is None and scheduler in (None, "threads"):
        scheduler = "processes"  # rendering is CPU work: processes, never threads
    if client is not None and not isinstance(client, str):
        workers = max(1, len(client.scheduler_info().get("workers", {})))
    else:
        workers = jobs or os.cpu_count() or 1
    here = client is None and workers == 1 and scheduler in ("processes", "threads")
    source = str(study.source) if study.source is not None and not here else study
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    if here or (client is None and scheduler == "processes"):
        # built here once: a forked pool worker inherits it and reads nothing
        _CONTEXTS.clear()
        _CONTEXTS[token] = _Context(study, None, *options)
        if pdf:  # WeasyPrint imported and the stylesheet parsed once, before the fork
            from ._html_export import prepare_pdf
            from ._org_html import CSS

            prepare_pdf(CSS)
    tasks = [
        _Chunk(source, token, c, str(out_dir), pdf, estimates, options)
        for c in _chunks(org_ids, workers)
    ]
    try:
        results = map_tasks(
            _render_chunk,
            tasks,
            scheduler=scheduler,
            client=client,
            jobs=1 if here else workers,
            progress=progress,
            desc="organization reports",
            labels=[repr(t) for t in tasks],
            errors="return",
        )
    finally:
        _CONTEXTS.clear()  # this process keeps no study once the reports are written
    rows = []
    for task, res in zip(tasks, results, strict=True):
        if isinstance(res, TaskFailure):
            exc = res.exception if isinstance(res.exception, Exception) else None
            for o in task.org_ids:
                rec = dict(org_id=o, html=None, pdf=None, seconds=np.nan, status="failed")
                rows.append(({**rec, "error": res.error}, pd.DataFrame(columns=AUDIT_COLUMNS), exc))
        else:
            rows += res
    return rows


def _raise_failures(rows) -> None:
    """Raise the first failed organization's error, naming every failed organization."""
    failed = [(r, exc) for r, _, exc in rows if r["status"] == "failed"]
    if not failed:
        return
    names = "; ".join(f"{r['org_id']} ({r['error'].splitlines()[0]})" for r, _ in failed)
    note = (
        f"{len(failed)} of {len(rows)} organization report(s) failed: {names}; "
        "the others were written"
    )
    exc = next((e for _, e in failed if e is not None), None)
    exc = exc.rebuild() if isinstance(exc, _Carried) else exc
    if exc is None:
        raise StsevalError(note)
    exc.add_note(note)
    raise exc


def _append_audit(out_dir: Path, audits: Sequence[pd.DataFrame], names: Sequence[str]) -> Path:
    """Add this run's rows to ``disclosure_audit.csv``, replacing older rows of the same orgs."""
    from .disclosure import write_disclosure_audit

    path = out_dir / "disclosure_audit.csv"
    frames = []
    if path.is_file():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        if list(old.columns) != AUDIT_COLUMNS:
            raise DataValidationError(
                f"{path} has columns {list(old.columns)}, not {AUDIT_COLUMNS}"
            )
        prefixes = tuple(f"org report {n}:" for n in names)
        frames.append(old[~old["table"].str.startswith(prefixes)])
    frames += [a.astype(str) for a in audits]
    return write_disclosure_audit(frames, path)


def write_org_reports(
    study,
    out_dir,
    *,
    orgs: Sequence[str] | None = None,
    estimates: pd.DataFrame | None = None,
    pdf: bool = True,
    min_cell: int | None = None,
    min_orgs: int | None = None,
    confidence: float = 0.95,
    jobs: int | None = 1,
    progress: bool = False,
    scheduler: str | None = None,
    client=None,
) -> pd.DataFrame:
    """Write every (or each listed) organization's report as HTML and PDF.

    Parameters
    ----------
    study : Study
    out_dir : path
        Reports go to ``<out_dir>/orgs/<org_id>/org_report.html`` (and ``.pdf``); the
        disclosure audit rows are added to ``<out_dir>/disclosure_audit.csv``.
    orgs : list of str, optional
        ``org_id`` values; default every organization of orgs.csv.
    estimates : DataFrame, optional
        The run's estimates table (quoted for the areas an organization changed).
    pdf : bool
        Also write the PDF (WeasyPrint).
    min_cell, min_orgs : int, optional
        Default: the study's (``min_orgs`` 10 when study.yaml has none).
    confidence : float
        Level of the change intervals.
    jobs : int, optional
        Workers (1 without ``scheduler``/``client``: this process renders every
        organization; None: the machine's cores).
    progress : bool
        Show a progress bar (tqdm).
    scheduler : str, optional
        Where the reports are rendered when ``jobs`` > 1 or ``scheduler`` is given,
        through :func:`stseval.parallel.map_tasks`: ``"processes"`` (default: a process
        pool; ``"threads"`` is taken as ``"processes"``: rendering is CPU work), ``"local"``
        (a Dask ``LocalCluster`` of ``jobs`` workers) or a Dask address
        (``tcp://host:8786``; its workers must see ``out_dir`` and the study folder).
        Organizations go out in runs of consecutive ones (about four runs per worker);
        each worker reads and scores the study once (a forked pool worker inherits what
        this process prepared and reads nothing); BLAS runs one thread per worker. The
        reports are the same whatever renders them.
    client : distributed.Client, optional
        An open Dask client (takes precedence over ``scheduler``).

    Returns
    -------
    DataFrame
        One row per organization, in the order of ``orgs``: ``org_id, html, pdf`` (paths
        or None), ``seconds``, ``status`` (``ok`` or ``refused``: a small cell could not be
        protected, nothing written) and ``error``.

    Raises
    ------
    UsageError
        An unknown organization, no organization, bad ``jobs`` or ``scheduler``.
    Exception
        When an organization's report fails (e.g. :class:`stseval.privacy.PrivacyLeakError`:
        an identifier in its text, nothing written for it), the others are still written
        and their audit rows added; then the first failure's error is raised, with a note
        naming every failed organization.
    """
    out_dir = Path(out_dir)
    known = list(study.orgs["org_id"].astype(str))
    org_ids = known if orgs is None else [str(o) for o in orgs]
    unknown = [o for o in org_ids if o not in known]
    if unknown:
        raise UsageError(f"unknown organization(s) {', '.join(unknown)}: not in orgs.csv")
    if not org_ids:
        raise UsageError("no organization to report on")
    if jobs is not None:
        jobs = whole_number(jobs, "jobs", 1)
    if scheduler is not None:
        check_scheduler(scheduler)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = _fan_out(
        study,
        org_ids,
        out_dir,
        pdf,
        estimates,
        (min_cell, min_orgs, confidence),
        jobs=jobs,
        scheduler=scheduler,
        client=client,
        progress=progress,
    )
    names = dict(zip(study.orgs["org_id"].astype(str), study.orgs["name"].astype(str), strict=True))
    done = [(r, a) for r, a, _ in rows if r["status"] != "failed"]
    _append_audit(out_dir, [a for _, a in done], [names[r["org_id"]] for r, _ in done])
    _raise_failures(rows)
    return pd.DataFrame([r for r, _, _ in rows], columns=_RESULT_COLUMNS)


def org_reports_from_run(
    results_dir,
    *,
    orgs: Sequence[str] | None = None,
    study=None,
    pdf: bool = True,
    jobs: int | None = 1,
    progress: bool = False,
    scheduler: str | None = None,
    client=None,
) -> pd.DataFrame:
    """Organization reports from an existing report run (``stseval org-reports``).

    Parameters
    ----------
    results_dir : path
        A folder written by ``stseval report``: its ``run.json`` names the study folder
        (and confidence); its ``estimates.csv``, when present, is quoted.
    orgs : list of str, optional
        Default: every organization.
    study : path or Study, optional
        Use this study instead of the one run.json names (e.g. the folder moved).
    pdf, jobs, progress, scheduler, client
        As in :func:`write_org_reports`.

    Returns
    -------
    DataFrame
        As :func:`write_org_reports`; files go under ``<results_dir>/orgs/``.
    """
    from .study import Study

    results_dir = Path(results_dir)
    run = _read_run(results_dir)
    if study is None:
        folder = Path(str((run.get("study") or {}).get("folder") or ""))
        candidates = [folder, results_dir / folder]
        found = [c for c in candidates if str(folder) and (c / "study.yaml").is_file()]
        if not found:
            raise UsageError(
                f"{results_dir / 'run.json'} names study folder {str(folder)!r}, which holds "
                "no study.yaml; give the study with --study"
            )
        study = found[0]
    if not isinstance(study, Study):
        study = Study.from_dir(study)
    est_path = results_dir / "estimates.csv"
    estimates = pd.read_csv(est_path) if est_path.is_file() else None
    confidence = float(run.get("confidence") or 0.95)
    return write_org_reports(
        study,
        results_dir,
        orgs=orgs,
        estimates=estimates,
        pdf=pdf,
        confidence=confidence,
        jobs=jobs,
        progress=progress,
        scheduler=scheduler,
        client=client,
    )


def _read_run(results_dir: Path) -> dict:
    path = results_dir / "run.json"
    if not path.is_file():
        raise UsageError(
            f"{results_dir} is not a report run folder: it has no run.json "
            "(run `stseval report --study S --out R` first)"
        )
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(run, dict):
        raise DataValidationError(f"{path} must hold a JSON object")
    return run
