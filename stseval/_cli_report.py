"""`stseval report` and `stseval demo`: thin layers over :func:`stseval.pipeline.run_report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import _arguments, command
from .errors import UsageError

EXIT_NOTEBOOK_FAILED = 1


def _common_args(p, *, study_required: bool, study_default=None, out_default=None):
    p.add_argument(
        "--study",
        required=study_required,
        default=study_default,
        help="study folder (study.yaml + tables)"
        + (f"; default {study_default}" if study_default else ""),
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
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _report_args(p):
    _common_args(p, study_required=True)
    p.add_argument(
        "--org-reports",
        nargs="?",
        const="all",
        default=None,
        metavar="ORG,...",
        help="also write one feedback report per organization (or only for the "
        "organizations listed)",
    )


def _run(args, study, out) -> int:
    from .pipeline import run_report

    areas = args.areas.split(",") if args.areas is not None else None
    org = getattr(args, "org_reports", None)
    org_reports = False if org is None else (True if org == "all" else org.split(","))
    result = run_report(
        study,
        out,
        areas=areas,
        jobs=args.jobs,
        org_reports=org_reports,
        pdf=args.pdf,
        confidence=args.confidence,
        min_cell=args.min_cell,
        progress=not args.quiet,
    )
    if result.estimates:
        print(f"Estimates:     {result.estimates}")
    if result.html:
        print(f"Funder report: {result.html}")
    if result.pdf:
        print(f"PDF:           {result.pdf}")
    if result.org_reports:
        print(f"Organization reports: {len(result.org_reports)} under {result.out_dir / 'orgs'}")
    print(f"Run record:    {result.out_dir / 'run.json'} ({result.timings.get('total', 0):.0f} s)")
    for failure in result.failures:
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
    return _run(args, args.study, args.out)


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
