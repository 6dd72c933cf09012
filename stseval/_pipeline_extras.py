"""The report run's optional parts: dose and individual notebooks, organization reports.

Private helpers of :mod:`stseval.pipeline` (kept apart so that module stays one idea).
"""

from __future__ import annotations

import time
from pathlib import Path

from ._notebook_runner import NOTEBOOKS, NotebookRun, check_parameters

__all__ = ["extra_runs", "export_org_reports"]


def extra_runs(
    nb_dir: Path, out: Path, study, common: dict, *, scored: dict | None = None
) -> tuple[NotebookRun, ...]:
    """The dose-response and individual-statement notebooks, when the study supports them.

    ``scored`` (``{"scored_path": ...}``) is passed to a notebook that declares it.
    """
    from ._notebook_runner import notebook_parameters
    from ._report_dose import has_dose_data, has_programs

    runs = []
    for key, wanted in (("dose", has_dose_data(study)), ("individual", has_programs(study))):
        nb = nb_dir / NOTEBOOKS[key]
        if wanted and nb.is_file():
            params = {**common, "out_dir": str(out / key)}
            declared = notebook_parameters(nb)
            params.update({k: v for k, v in (scored or {}).items() if k in declared})
            run = NotebookRun(
                key=key,
                notebook=nb,
                output=out / key / nb.name,
                parameters=params,
                label=nb.name,
            )
            check_parameters(run.notebook, dict(run.parameters))
            runs.append(run)
    return tuple(runs)


def export_org_reports(run_plan, result) -> None:
    """Organization feedback reports, rendered without notebooks (:mod:`stseval.org_reports`)."""
    import pandas as pd

    from .org_reports import write_org_reports

    t = time.monotonic()
    est = pd.read_csv(result.estimates) if result.estimates else None
    table = write_org_reports(
        run_plan.study,
        run_plan.out_dir,
        orgs=list(run_plan.org_ids),
        estimates=est,
        pdf=run_plan.pdf is not None,
        min_cell=run_plan.funder.parameters["min_cell"],
        confidence=run_plan.funder.parameters["confidence"],
        jobs=run_plan.jobs,
        scheduler=run_plan.scheduler,
        progress=run_plan.progress,
    )
    for r in table.to_dict("records"):
        if r["status"] == "ok":
            result.org_reports[r["org_id"]] = Path(r["html"])
        else:
            result.failures.append(f"organization {r['org_id']}: report refused ({r['status']})")
    result.timings["org_reports"] = round(time.monotonic() - t, 2)
