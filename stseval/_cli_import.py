"""`stseval import` (an export into a study folder) and `stseval check` (a study folder)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from .cli import _arguments, command
from .errors import UsageError

__all__: list[str] = []


def _import_args(p):
    p.add_argument(
        "source",
        help="the export: REDCap records CSV, Qualtrics CSV, CSV/TSV, Excel (.xlsx) or SPSS (.sav)",
    )
    p.add_argument(
        "--mapping",
        "-m",
        help="mapping YAML: which column is which (write a starter one with --template)",
    )
    p.add_argument(
        "--out",
        "-o",
        help="study folder to write (with --template: the mapping "
        "file to write; default: print it)",
    )
    p.add_argument(
        "--format",
        "-f",
        default="auto",
        choices=["auto", "redcap", "qualtrics", "csv", "excel", "spss"],
        help="export format (default: the mapping's, else guessed from the file)",
    )
    p.add_argument("--dictionary", "-d", help="REDCap data dictionary CSV (REDCap exports)")
    p.add_argument(
        "--key-file",
        help="file holding the pseudonymization key (keep it outside "
        "the study); default: environment variable STSEVAL_KEY",
    )
    p.add_argument(
        "--no-pseudonymize",
        action="store_true",
        help="import IDs as they are (only when they already are pseudonyms)",
    )
    p.add_argument(
        "--min-cell",
        type=int,
        default=None,
        help="minimum cell size written to study.yaml (default: mapping's, else 5)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the study files of a non-empty study folder",
    )
    p.add_argument(
        "--template",
        action="store_true",
        help="write a starter mapping from the export's header instead of importing",
    )
    p.add_argument("--sheet", default=None, help="Excel sheet for --template (name or number)")


def _write_template(args) -> int:
    from .importers import mapping_template

    if args.mapping:
        raise UsageError("--template writes a new mapping; leave out --mapping")
    sheet = args.sheet
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    text = mapping_template(
        args.source,
        format=args.format,
        dictionary=args.dictionary,
        sheet=0 if sheet is None else sheet,
    )
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.overwrite:
            raise UsageError(f"{out} exists; pass --overwrite to replace it")
        if out.resolve() == Path(args.source).resolve():
            raise UsageError("--out must not be the export file (inputs are never modified)")
        out.write_text(text, encoding="utf-8")
        print(f"Wrote a starter mapping to {out}; check the lines marked CHECK and TODO.")
    else:
        sys.stdout.write(text)
    return 0


@command("import", "import a REDCap, Qualtrics, CSV, Excel or SPSS export into a study folder")
@_arguments(_import_args)
def _import(args) -> int:
    from .importers import import_study

    if args.template:
        return _write_template(args)
    if not args.mapping:
        raise UsageError(
            "say which column is which with --mapping mapping.yaml (write a starter "
            f"one with: stseval import {args.source} --template > mapping.yaml)"
        )
    if not args.out:
        raise UsageError("say where to write the study folder with --out STUDY_DIR")
    if args.min_cell is not None and args.min_cell < 1:
        raise UsageError(f"--min-cell must be at least 1, got {args.min_cell}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = import_study(
            args.source,
            args.mapping,
            args.out,
            format=args.format,
            dictionary=args.dictionary,
            key_file=args.key_file,
            pseudonymize=not args.no_pseudonymize,
            min_cell=args.min_cell,
            overwrite=args.overwrite,
        )
    _print_summary(result, caught)
    return 0


def _print_summary(result, caught) -> None:
    s = result.study
    print(
        f"Imported {len(s.workers)} workers in {s.orgs['org_id'].nunique()} organizations, "
        f"{len(s.responses)} survey responses -> {result.out}"
    )
    counts = s.responses.groupby("wave").size()
    print("Responses per wave: " + ", ".join(f"{w} {int(counts.get(w, 0))}" for w in s.waves))
    print(f"Instruments: {', '.join(s.instruments)}")
    encoding = s.provenance.get("encoding")
    if encoding and encoding not in ("utf-8", "xlsx"):
        print(f"Text encoding of the export: {encoding}")
    print(
        "IDs: "
        + (
            "pseudonymized (HMAC-SHA256)"
            if s.provenance.get("pseudonymized")
            else "imported as given (--no-pseudonymize)"
        )
    )
    dropped = s.provenance.get("identifiers_dropped") or []
    if dropped:
        print(f"Identifier columns dropped: {', '.join(dropped)}")
    codes = s.provenance.get("missing_codes") or {}
    if codes:
        print(
            "Missing-data codes read as missing: "
            + ", ".join(f"{reason} {n}" for reason, n in codes.items())
            + " (see missing_reasons.csv and import_report.md)"
        )
    print("Answer codes (full map in import_report.md):")
    for line in result.report_short():
        print(f"  {line}")
    for note in result.notes:
        print(f"Note: {note}")
    for text in result.warnings + [str(w.message) for w in caught]:
        print(f"stseval: warning: {text}", file=sys.stderr)


def _check_args(p):
    p.add_argument("study_dir", help="study folder (study.yaml and tables)")
    p.add_argument(
        "--min-cell",
        type=int,
        default=None,
        help="minimum cell size for the small-group warnings (default: study.yaml's)",
    )


@command("check", "check a study folder and summarize it (exit 2 listing every problem)")
@_arguments(_check_args)
def _check(args) -> int:
    from .checks import check_study

    result = check_study(args.study_dir, min_cell=args.min_cell)
    result.raise_for_failures()
    print(result.report())
    return 0
