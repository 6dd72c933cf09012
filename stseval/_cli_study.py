"""`stseval simulate`: write a synthetic study folder."""

from __future__ import annotations

from pathlib import Path

from .cli import _arguments, command
from .errors import UsageError


def _simulate_args(p):
    p.add_argument("--out", "-o", required=True, help="study folder to write")
    p.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    p.add_argument("--design", help="design YAML file (default: the built-in default design)")
    p.add_argument(
        "--preset",
        default=None,
        help="start from a built-in design instead of --design: default, small, null, "
        "single_org, anonymous, coded, three_wave, staggered, team_rct, dose, individual",
    )
    p.add_argument(
        "--null",
        action="store_true",
        help="set every effect of the design to zero (false-positive checks)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a design field, e.g. --set orgs_per_area=12 (repeatable)",
    )
    p.add_argument(
        "--format",
        choices=["csv", "parquet"],
        default="csv",
        help="table format of the study folder (default csv; parquet is smaller and faster)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing study folder")


@command("simulate", "simulate a synthetic study with a known truth")
@_arguments(_simulate_args)
def _simulate(args) -> int:
    from .datadict import write_data_dictionary
    from .synthetic import StudyDesign, simulate

    if args.design and args.preset:
        raise UsageError("give either --design or --preset, not both")
    if args.design:
        design = StudyDesign.from_yaml(args.design)
    else:
        design = StudyDesign.preset(args.preset or "default")
    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value
    if overrides:
        design = design.with_overrides(overrides)
    if args.null:
        design = design.nullified()
    out = Path(args.out)
    study = simulate(design, seed=args.seed)
    study.to_dir(out, overwrite=args.overwrite, format=args.format)
    write_data_dictionary(study, out / "README.md")
    n_workers = study.workers["worker_id"].nunique()
    print(
        f"Simulated {study.orgs['org_id'].nunique()} organizations, {n_workers} workers, "
        f"{len(study.responses)} survey responses (seed {args.seed}) -> {out}"
    )
    return 0
