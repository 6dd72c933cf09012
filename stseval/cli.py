"""The ``stseval`` command: a thin layer over the Python functions.

A user's mistake (any :class:`~stseval.errors.StsevalError`, a missing file)
ends with a short message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import StsevalError, UsageError

__all__ = ["main", "build_parser"]

EXIT_USER_ERROR = 2

# name -> (help, add_arguments, run). Each run(args) returns an exit code.
_COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str):
    """Register a sub-command: decorate ``run(args)``; ``run.arguments(parser)`` adds options."""

    def wrap(run):
        _COMMANDS[name] = (help, getattr(run, "arguments", lambda p: None), run)
        return run

    return wrap


def _arguments(fn):
    def attach(run):
        run.arguments = fn
        return run

    return attach


def _print_table(frame, *, file=None) -> None:
    import pandas as pd

    with pd.option_context(
        "display.max_rows",
        500,
        "display.max_columns",
        50,
        "display.width",
        160,
        "display.max_colwidth",
        60,
    ):
        print(frame.to_string(index=False), file=file or sys.stdout)


# -- instruments ------------------------------------------------------------------
def _instruments_args(p):
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("key", nargs="?", help="instrument key or path to a YAML file (with 'show')")


@command("instruments", "list the built-in instruments, or show one")
@_arguments(_instruments_args)
def _instruments(args) -> int:
    from .instruments import list_instruments, load_instrument

    if args.action == "list":
        _print_table(
            list_instruments()[
                ["key", "short_name", "n_items", "response", "scales", "licence", "validated"]
            ]
        )
        return 0
    if not args.key:
        raise UsageError("say which instrument: stseval instruments show KEY")
    inst = load_instrument(args.key)
    print(f"{inst.name} ({inst.short_name}) [{inst.key}]  {inst.version}")
    print(f"Citation: {inst.citation}" + (f" doi:{inst.doi}" if inst.doi else ""))
    print(
        f"Licence: {inst.licence.status}: {inst.licence.summary}"
        + ("" if inst.licence.confirmed else " (terms not confirmed)")
    )
    if inst.kit_authored:
        print(f"NOTE: {inst.validation_note}")
    anchors = ", ".join(f"{k} {v}" for k, v in inst.response.anchors.items())
    print(
        f"Responses: {anchors}"
        + (
            f"; {inst.response.not_applicable} = not applicable"
            if inst.response.not_applicable is not None
            else ""
        )
    )
    print(f"Item columns: {inst.item_columns[0]} ... {inst.item_columns[-1]}")
    print()
    _print_table(inst.summary())
    for name, bset in inst.band_sets.items():
        bands = "; ".join(f"{b.label} >= {b.lower:g}" for b in bset.bands)
        print(
            f"\nBands '{name}'{' (default)' if bset.default else ''} on {', '.join(bset.scales)}: "
            f"{bands}\n  Source: {bset.source}"
        )
    for rel in inst.reliability:
        print(
            f"Reliability {rel.scale} {rel.statistic} = {rel.value}: {rel.source}"
            + ("" if rel.confirmed else " (unconfirmed)")
        )
    return 0


# -- score --------------------------------------------------------------------------
def _score_args(p):
    p.add_argument("input", help="CSV, TSV or Excel file with item columns <key>_<NN>")
    p.add_argument(
        "--instrument",
        "-i",
        action="append",
        required=True,
        help="built-in key or path to your own instrument YAML (repeatable)",
    )
    p.add_argument("--out", "-o", required=True, help="where to write the scores (CSV)")
    p.add_argument(
        "--min-answered",
        type=float,
        default=None,
        help="override the missing-item rule: fraction (<1) or count (>=1) of items",
    )
    p.add_argument(
        "--invalid",
        choices=["raise", "missing"],
        default="raise",
        help="out-of-range answers: stop with an error (default) or treat as missing",
    )


@command("score", "score instrument responses from a table")
@_arguments(_score_args)
def _score(args) -> int:
    import warnings

    from ._io import read_table
    from .privacy import safe_csv
    from .scoring import score

    out = Path(args.out)
    if out.resolve() == Path(args.input).resolve():
        raise UsageError("--out must not be the input file (inputs are never modified)")
    frame = read_table(args.input)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = score(
            frame,
            args.instrument,
            min_answered=args.min_answered,
            invalid=args.invalid,
            source=str(args.input),
        )
    for w in caught:
        print(f"stseval: warning: {w.message}", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    safe_csv(scores, out, index=False)
    rules = scores.attrs["scoring_rules"]
    print(f"Scored {len(scores)} rows -> {out}")
    score_cols = list(rules["column"])
    summary = scores[score_cols].describe().T[["count", "mean", "std", "min", "max"]]
    summary.insert(0, "column", summary.index)
    _print_table(summary.round(2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    _load_commands()
    parser = argparse.ArgumentParser(
        prog="stseval",
        description="Evaluate programs that protect staff from secondary traumatic stress.",
    )
    parser.add_argument("--version", action="version", version=f"stseval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, run) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(_run=run)
    return parser


def _load_commands() -> None:
    """Import modules that register further commands (simulate, check, import, report)."""
    from importlib import import_module

    for module in (
        "stseval._cli_study",
        "stseval._cli_import",
        "stseval._cli_report",
        "stseval._cli_link",
    ):
        try:
            import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def _skip_unused_imports() -> None:
    """Keep the ``stseval`` command from importing what it never uses, at 1.7 s a time.

    ``jsonschema`` (through nbformat and papermill) imports the optional
    ``rfc3987_syntax``, which compiles a grammar for the "iri" string format at import.
    The notebook schemas never use that format, so the command (not ``import stseval``)
    marks the module absent; jsonschema then leaves that one format check out.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the console command itself, not a caller's process
        _skip_unused_imports()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args._run(args) or 0)
    except StsevalError as exc:
        print(f"stseval {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"stseval {args.command}: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("stseval: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
