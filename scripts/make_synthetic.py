"""Regenerate the shipped synthetic studies in data/synthetic/ (one folder per design preset).

Each folder is a complete study folder (``stseval.Study.to_dir``) plus a
generated ``README.md`` data dictionary. ``tests/test_synthetic.py`` runs
:func:`make` into a temporary folder and fails if the committed copies
differ from what the code produces, byte for byte.

Usage::

    .venv/bin/python scripts/make_synthetic.py            # all of them
    .venv/bin/python scripts/make_synthetic.py small      # just one
    .venv/bin/python scripts/make_synthetic.py --out /tmp/synthetic
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stseval.datadict import write_data_dictionary
from stseval.synthetic import StudyDesign, simulate, write_programs

ROOT = Path(__file__).resolve().parent.parent
#: Shipped studies: folder name -> (design preset, seed).
PRESETS = {
    "default": ("default", 2026),
    "small": ("small", 2026),
    "null": ("null", 2026),
    # One small study per study shape of issue 10 (a few hundred workers each).
    "single_org": ("single_org", 2026),
    "anonymous": ("anonymous", 2026),
    "coded": ("coded", 2026),
    "three_wave": ("three_wave", 2026),
    "staggered": ("staggered", 2026),
    "team_rct": ("team_rct", 2026),
    # Issue 11: dose-response truth; the individual guidance inventory and a program.
    "dose": ("dose", 2026),
    "individual": ("individual", 2026),
}


def make(name: str, out_root: str | Path) -> Path:
    """Simulate the shipped study ``name`` into ``out_root/name`` (replacing its files)."""
    preset, seed = PRESETS[name]
    design = StudyDesign.preset(preset)
    study = simulate(design, seed=seed)
    folder = study.to_dir(Path(out_root) / name, overwrite=True)
    write_programs(study, folder)
    write_data_dictionary(study, folder / "README.md")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", choices=[[], *PRESETS], default=[], help="which studies (default: all)"
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "data" / "synthetic"),
        help="parent folder (default: the repository's data/synthetic)",
    )
    args = parser.parse_args(argv)
    for name in args.names or list(PRESETS):
        folder = make(name, args.out)
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"{name}: {folder} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
