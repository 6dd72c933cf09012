"""`stseval report` and `stseval demo`: thin layers over :func:`stseval.pipeline.run_report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import _arguments, command
from .errors import UsageError

EXIT_NOTEBOOK_FAILED = 1


def _common_args(
    p, *, study_required: bool, study_default=None, out_default=None, many_studies=False
):
    p.add_argument(
        "--study",
        required=study_required,
        default=study_default,
        action="append" if many_studies else "store",
        help="study folder (study.yaml + tables)"
        + (f"; default {study_default}" if study_default else "")
        + (
            "; repeat for several studies, each reported in <out>/<study folder name>/"
            if many_studies
            else ""
        ),
    )
    p.add_argument(
        "--out",
        required=out_default is None,
        default=out_default,
        help="folder for everything the report writes (nothing is written elsewhere)"
        + (f"; default {out_default}" if out_default else ""),
    )
    p.add_argument(
        "--areas",
        default=None,
        help="areas to evaluate, separated by commas (default: every area with "
        "intervention organizations)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="notebooks run at the same time (default: number of CPU cores)",
    )
    p.add_argument(
        "--pdf",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write funder_report.pdf (default: yes)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="confidence level of every interval (default 0.95)",
    )
    p.add_argument(
        "--min-cell",
        type=int,
        default=None,
        help="smallest group shown (default: the study's min_cell)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="where the notebooks run: processes (default: this machine, one kernel per job), "
        "local (a Dask LocalCluster) or a Dask scheduler address (tcp://host:8786)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _report_args(p):
    _common_args(p, study_required=True, many_studies=True)
    p.add_argument(
        "--org-reports",
        nargs="?",
        const="all",
        default=None,
        metavar="ORG,...",
        help="also write one feedback report per organization (or only for the "
        "organizations listed)",
    )


def _options(args) -> dict:
    areas = args.areas.split(",") if args.areas is not None else None
    org = getattr(args, "org_reports", None)
    org_reports = False if org is None else (True if org == "all" else org.split(","))
    return dict(
        areas=areas,
        jobs=args.jobs,
        org_reports=org_reports,
        pdf=args.pdf,
        confidence=args.confidence,
        min_cell=args.min_cell,
        progress=not args.quiet,
        scheduler=args.scheduler,
    )


def _run(args, study, out) -> int:
    from .pipeline import run_report

    return _print_result(run_report(study, out, **_options(args)))


def _run_many(args, studies, out) -> int:
    from .portfolio import run_reports

    results = run_reports(studies, out, **_options(args))
    codes = []
    for name, result in results.items():
        print(f"== {name}")
        codes.append(_print_result(result))
    return max(codes, default=0)


def _print_result(result) -> int:
    if result.estimates:
        print(f"Estimates:     {result.estimates}")
    if result.html:
        print(f"Funder report: {result.html}")
    if result.pdf:
        print(f"PDF:           {result.pdf}")
    if result.docx:
        print(f"Word:          {result.docx}")
    if result.org_reports:
        print(f"Organization reports: {len(result.org_reports)} under {result.out_dir / 'orgs'}")
    print(f"Run record:    {result.out_dir / 'run.json'} ({result.timings.get('total', 0):.0f} s)")
    for failure in result.failures:
        if isinstance(failure, str):  # not a notebook: e.g. an organization report refused
            print(f"stseval report: {failure}", file=sys.stderr)
            continue
        where = f" at cell {failure.cell_index}" if failure.cell_index is not None else ""
        kept = f"\n    executed notebook kept: {failure.output_path}" if failure.output_path else ""
        print(
            f"stseval report: {failure.notebook} failed{where}: {failure.detail}{kept}",
            file=sys.stderr,
        )
    if result.failures:
        print(f"stseval report: {len(result.failures)} notebook(s) failed", file=sys.stderr)
        return EXIT_NOTEBOOK_FAILED
    return 0


@command("report", "run the area notebooks and build the funder report (HTML and PDF)")
@_arguments(_report_args)
def _report(args) -> int:
    studies = args.study if isinstance(args.study, list) else [args.study]
    if len(studies) > 1:
        return _run_many(args, studies, args.out)
    return _run(args, studies[0], args.out)


def _demo_args(p):
    _common_args(
        p, study_required=False, study_default="data/synthetic/default", out_default="reports/demo"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=2026,
        help="seed used if the study has to be simulated first (default 2026)",
    )


@command("demo", "simulate the default synthetic study if absent, then build its report")
@_arguments(_demo_args)
def _demo(args) -> int:
    study = Path(args.study)
    if not (study / "study.yaml").is_file():
        if study.exists() and any(study.iterdir()):
            raise UsageError(f"{study} exists but holds no study.yaml; give another --study")
        from .synthetic import StudyDesign, simulate

        print(f"Simulating the default synthetic study (seed {args.seed}) into {study} ...")
        simulated = simulate(StudyDesign.default(), seed=args.seed)
        simulated.to_dir(study)
        try:
            from .datadict import write_data_dictionary
        except ImportError:
            pass
        else:
            write_data_dictionary(simulated, study / "README.md")
    return _run(args, study, args.out)


# -- lab -------------------------------------------------------------------------------
LAB_HELP = (
    "open the kit's notebooks in JupyterLab, in a working copy (default workspace/) so that "
    "running them never changes the committed notebooks"
)


def _lab_args(p):
    p.add_argument(
        "--dir",
        default="workspace",
        help="the working copy: created and filled with the kit's notebooks when absent; "
        "notebooks already there are kept as they are (default workspace, git-ignored)",
    )
    p.add_argument("--port", type=int, default=8888, help="port JupyterLab listens on (8888)")
    p.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="open a web browser (default: no; open the URL JupyterLab prints)",
    )


def lab_command(folder: Path, *, port: int = 8888, browser: bool = False) -> list[str]:
    """The JupyterLab command line ``stseval lab`` runs (``--allow-root`` as root)."""
    import os

    if not 0 < int(port) < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}"]
    argv += [f"--port={int(port)}", "--port-retries=0"]
    if not browser:
        argv.append("--no-browser")
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")  # JupyterLab refuses to start as root without it
    return argv


def _small_study_for_the_defaults(workspace: Path) -> None:
    """Simulate the small synthetic study where the notebooks' defaults look, if it is absent."""
    default = Path("data") / "synthetic" / "small"
    # a notebook runs in the workspace and looks there and one folder up (report.resolve_path)
    if any((where / default / "study.yaml").is_file() for where in (workspace, workspace.parent)):
        return
    from .synthetic import StudyDesign, simulate

    target = workspace.parent / default
    print(f"Simulating the small synthetic study into {target} (the notebooks' default) ...")
    simulate(StudyDesign.small(), seed=1).to_dir(target)


@command("lab", LAB_HELP)
@_arguments(_lab_args)
def _lab(args) -> int:
    """Copy the packaged notebooks into ``--dir`` (when absent) and start JupyterLab there.

    The committed notebooks stay output-free: JupyterLab autosaves outputs into
    the working copy, which is git-ignored (``workspace/``); edit the notebooks
    in ``notebooks/`` itself only to change the kit (``make lab`` uses this command).
    """
    import subprocess

    from ._notebook_support import prepare_workspace

    folder = prepare_workspace(args.dir)
    _small_study_for_the_defaults(folder)
    argv = lab_command(folder, port=args.port, browser=args.browser)
    print(f"Notebooks: {folder} (a working copy; the kit's own notebooks are not touched)")
    try:
        return subprocess.call(argv, cwd=folder)
    except KeyboardInterrupt:
        return 0


# -- org-reports -------------------------------------------------------------------------
def _org_reports_args(p):
    p.add_argument(
        "--results",
        required=True,
        help="a report run folder (written by `stseval report`; holds run.json)",
    )
    p.add_argument(
        "--orgs",
        default=None,
        help="organizations (org_id) separated by commas (default: every organization)",
    )
    p.add_argument(
        "--study",
        default=None,
        help="study folder (default: the one the run's run.json names)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="workers (default 1: this process renders every organization; with "
        "--scheduler: the number of CPU cores)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="where the reports are rendered when --jobs is over 1: processes (default: a "
        "process pool on this machine), local (a Dask LocalCluster) or a Dask scheduler "
        "address (tcp://host:8786; its workers must see the run and study folders)",
    )
    p.add_argument(
        "--pdf",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write each report as PDF (default: yes)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


@command(
    "org-reports",
    "write every organization's feedback report (HTML and PDF) from a report run, "
    "without notebooks",
)
@_arguments(_org_reports_args)
def _org_reports(args) -> int:
    import time

    from .org_reports import org_reports_from_run

    orgs = [o.strip() for o in args.orgs.split(",") if o.strip()] if args.orgs else None
    if args.orgs is not None and not orgs:
        raise UsageError("--orgs names no organization")
    start = time.perf_counter()
    table = org_reports_from_run(
        args.results,
        orgs=orgs,
        study=args.study,
        pdf=args.pdf,
        jobs=args.jobs if args.jobs is not None or args.scheduler else 1,
        progress=not args.quiet,
        scheduler=args.scheduler,
    )
    seconds = time.perf_counter() - start
    ok = table[table["status"] == "ok"]
    print(
        f"Organization reports: {len(ok)} of {len(table)} under {Path(args.results) / 'orgs'} "
        f"({seconds:.1f} s, {seconds / max(len(table), 1):.2f} s per organization)"
    )
    print(f"Disclosure audit: {Path(args.results) / 'disclosure_audit.csv'}")
    for rec in table[table["status"] != "ok"].to_dict("records"):
        print(f"stseval org-reports: {rec['org_id']} not written: {rec['error']}", file=sys.stderr)
    return 0 if len(ok) == len(table) else EXIT_NOTEBOOK_FAILED
