"""Checks of a report plan's options (areas, organizations, folders): part of :mod:`stseval.pipeline`."""

from __future__ import annotations

import os
from pathlib import Path

from ._args import real_number, whole_number
from .areas import AREA_KEYS
from .errors import UsageError

__all__: list[str] = []


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


def _check_options(confidence, min_cell, jobs) -> int:
    """Check the options every notebook gets; return ``jobs`` (default: the CPU cores)."""
    if not 0 < real_number(confidence, "confidence") < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence!r}")
    if min_cell is not None:
        whole_number(min_cell, "min_cell", 1)
    return whole_number((os.cpu_count() or 1) if jobs is None else jobs, "jobs", 1)


def _choose_orgs(study, org_reports) -> list[str]:
    if not org_reports:
        return []
    known = list(study.orgs["org_id"].astype(str))
    org_ids = known if org_reports is True else [str(o) for o in org_reports]
    unknown = [o for o in org_ids if o not in known]
    if unknown:
        raise UsageError(f"unknown organization(s) {', '.join(unknown)} for --org-reports")
    return org_ids
