"""Several studies in one command: ``stseval report --study A --study B --out R``.

:func:`run_reports` plans every study first (a bad study stops the command
before anything runs), opens one scheduler for the whole run
(:func:`stseval.parallel.open_scheduler`: one ``LocalCluster``, or the cluster
at an address) and runs :func:`stseval.pipeline.execute`, ``export`` and
``record`` for each study into ``<out>/<study folder name>/``. A study whose
notebooks fail does not stop the others.

Tested in ``tests/test_pipeline.py``: two studies in one command write one
folder each, with the same estimates as a report of each study alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import UsageError
from .parallel import open_scheduler
from .pipeline import ReportRun, execute, export, plan, record

__all__ = ["run_reports", "study_folder_names"]


def study_folder_names(studies: Sequence) -> list[str]:
    """The sub-folder of ``--out`` for each study: its folder's name, made safe.

    Raises
    ------
    UsageError
        Two studies would write into the same sub-folder, or no study is given.
    """
    if not studies:
        raise UsageError("give at least one study folder (--study)")
    names = [
        re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(s).expanduser().resolve().name) or "study"
        for s in studies
    ]
    seen: dict[str, str] = {}
    for name, study in zip(names, studies, strict=True):
        if name in seen:
            raise UsageError(
                f"studies {seen[name]} and {study} would both write into {name}/; "
                "rename one of the folders or run them separately"
            )
        seen[name] = str(study)
    return names


def run_reports(
    studies: Sequence,
    out_dir,
    *,
    scheduler: str | None = None,
    client=None,
    jobs: int | None = None,
    **options,
) -> dict[str, ReportRun]:
    """Build the report of each study in ``studies`` into ``<out_dir>/<study folder name>/``.

    Parameters
    ----------
    studies : sequence of paths
        Study folders; each folder's name names its sub-folder of ``out_dir``.
    out_dir : path
        Parent folder of the reports (created).
    scheduler, client, jobs
        As in :func:`stseval.pipeline.run_report`; one scheduler (one
        ``LocalCluster`` for ``"local"``) serves every study.
    **options
        The other keyword options of :func:`stseval.pipeline.run_report`
        (``areas``, ``org_reports``, ``pdf``, ``confidence``, ``min_cell``,
        ``progress``, ``notebooks``, ``kernel_name``).

    Returns
    -------
    dict
        Study sub-folder name -> its :class:`~stseval.pipeline.ReportRun`.

    Raises
    ------
    UsageError, DataValidationError
        Before anything runs: a bad study, option or folder name clash.
    """
    out = Path(out_dir).expanduser().resolve()
    names = study_folder_names(studies)
    plans = {
        name: plan(study, out / name, jobs=jobs, scheduler=scheduler, **options)
        for name, study in zip(names, studies, strict=True)
    }
    results: dict[str, ReportRun] = {}
    first = next(iter(plans.values()))
    with open_scheduler(
        first.scheduler if client is None else "threads", jobs=first.jobs
    ) as opened:
        shared = client if client is not None else opened
        for name, run_plan in plans.items():
            t0 = time.monotonic()
            result = export(run_plan, execute(run_plan, client=shared))
            result.timings["total"] = round(time.monotonic() - t0, 2)
            record(run_plan, result)
            results[name] = result
    return results
