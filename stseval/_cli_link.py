"""`stseval link`: match the waves of a code-linked study and write a linked study folder.

The study folder's ``study.yaml`` says ``design: {linkage: code, link_code_columns:
[...]}``; :func:`stseval.linking.link_study` matches each wave to the one before it
within organization by those columns (rule ``exact`` or ``k_of_m``), and the
linked folder gets the matched id as ``worker_id``, ``design.linkage: linked``
and the rule under ``provenance.linking``, plus ``link_rates.csv`` (match rate per
organization and pair of waves; ``org_id = all`` rows are the totals).
"""

from __future__ import annotations

from pathlib import Path

from ._csvsafe import safe_csv
from .cli import _arguments, command
from .errors import UsageError

__all__: list[str] = []


def _link_args(p):
    p.add_argument("study", help="code-linked study folder (design.linkage: code)")
    p.add_argument("--out", "-o", required=True, help="linked study folder to write")
    p.add_argument(
        "--rule",
        choices=["exact", "k_of_m"],
        default="exact",
        help="exact: every code element agrees (default); k_of_m: at least --k agree",
    )
    p.add_argument("--k", type=int, default=None, help="with --rule k_of_m: elements that agree")
    p.add_argument("--overwrite", action="store_true", help="replace an existing linked folder")


@command("link", "link the waves of an anonymous study by self-generated codes")
@_arguments(_link_args)
def _link(args) -> int:
    from .linking import link_study
    from .study import Study

    src, out = Path(args.study), Path(args.out)
    if not src.is_dir():
        raise UsageError(f"study folder {src} does not exist or is not a folder")
    if out.resolve() == src.resolve():
        raise UsageError(
            "--out must be a new folder, not the study folder (inputs are never modified)"
        )
    if args.rule == "k_of_m" and args.k is None:
        raise UsageError("--rule k_of_m needs --k, the number of code elements that must agree")
    if args.rule == "exact" and args.k is not None:
        raise UsageError("--k goes with --rule k_of_m; --rule exact needs every element to agree")
    study = Study.from_dir(src)
    linked, rates = link_study(study, rule=args.rule, k=args.k)
    linked.to_dir(out, overwrite=args.overwrite)
    safe_csv(rates, out / "link_rates.csv", index=False)
    total = rates[rates["org_id"] == "all"]
    n_from, n_matched = int(total["n_from"].sum()), int(total["n_matched"].sum())
    share = n_matched / n_from if n_from else float("nan")
    rule = (
        args.rule if args.rule == "exact" else f"{args.k} of {len(study.design.link_code_columns)}"
    )
    print(
        f"Linked {src} by {', '.join(study.design.link_code_columns)} (rule {rule}): "
        f"{n_matched} of {n_from} responses matched to the next wave ({share:.1%}) -> {out}"
    )
    for r in total.itertuples():
        print(
            f"  {r.wave_from} -> {r.wave_to}: {r.n_matched} of {r.n_from} ({r.share_from_matched:.1%})"
        )
    print(f"Match rate per organization and wave pair: {out / 'link_rates.csv'}")
    return 0
