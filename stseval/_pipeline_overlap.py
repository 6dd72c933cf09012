"""What runs beside the report's notebooks: scoring once, warm kernels, the audit.

Part of :mod:`stseval.pipeline` (:func:`~stseval.pipeline.execute` and
:func:`~stseval.pipeline.export`). On this machine the notebooks run on a
:class:`~stseval._warm_kernels.KernelPool`; while the funder notebook runs in its kernel,
the run's disclosure audit (:func:`stseval._report_disclosure.run_audits`, the tables'
linear programs) is computed in a thread of this process, so the export that follows
only writes it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

__all__ = [
    "AuditThread",
    "early_kernel_pool",
    "runners",
    "precomputed_audits",
    "run_step",
    "write_scored",
]


@contextmanager
def runners(run_plan, client, pool, n_runs: int):
    """Where one run's notebooks go, opened once for all its steps: ``(pool, client)``.

    ``pool`` (warm kernels already started) or ``client`` when given; on this machine
    (``processes``/``threads``) a new :class:`~stseval._warm_kernels.KernelPool`; for a
    Dask scheduler one cluster or connection (:func:`stseval.parallel.open_scheduler`)
    for the area notebooks and the funder notebook alike, so a worker's warm kernel
    serves both.
    """
    from ._warm_kernels import KernelPool
    from .parallel import open_scheduler

    if pool is not None or client is not None:
        yield pool, client
    elif run_plan.scheduler in ("processes", "threads"):
        jobs = min(run_plan.jobs, max(1, n_runs))
        with KernelPool(jobs, kernel_name=run_plan.kernel_name) as started:
            yield started, None
    else:
        with open_scheduler(run_plan.scheduler, jobs=run_plan.jobs) as opened:
            yield None, opened


def early_kernel_pool(jobs, scheduler, client, kernel_name):
    """Warm kernels started before the plan is made (:func:`~stseval.pipeline.run_report`).

    None (a null context) when the notebooks will run on Dask or ``jobs`` is not a
    positive whole number (the plan then says why).
    """
    import os
    from contextlib import nullcontext

    from ._warm_kernels import KernelPool

    if client is not None or scheduler not in (None, "processes", "threads"):
        return nullcontext(None)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        return nullcontext(None)
    return KernelPool(jobs or os.cpu_count() or 1, kernel_name=kernel_name)


class AuditThread(threading.Thread):
    """The run's disclosure audit, computed while the funder notebook runs in its kernel."""

    def __init__(self, run_plan, areas: list[str]):
        super().__init__(name="stseval-audit", daemon=True)
        self.key = (tuple(areas), run_plan.funder.parameters["min_cell"])
        self.study = run_plan.study
        self.frames = self.error = None
        self.start()

    def run(self) -> None:
        from ._report_disclosure import run_audits

        try:
            self.frames = run_audits(self.study, areas=self.key[0], min_cell=self.key[1])
        except Exception as exc:  # noqa: BLE001 - raised again by export, in the caller
            self.error = exc

    def join(self, timeout=None) -> tuple:
        super().join(timeout)
        return (*self.key, self.frames, self.error)


def precomputed_audits(result, done: list[str]) -> list | None:
    """The audit frames execute computed for these areas, if it did (its error raised here)."""
    if result._audits is None:
        return None
    areas, _min_cell, frames, error = result._audits
    if list(areas) != list(done):
        return None
    if error is not None:
        raise error
    return frames


def write_scored(run_plan, result) -> None:
    """Score the study once and write it for the area notebooks (``scored_path``)."""
    if run_plan.scored_path is None:
        return
    t = time.monotonic()
    run_plan.study.scored().to_parquet(run_plan.scored_path, index=False)
    result.timings["score"] = round(time.monotonic() - t, 2)


def run_step(run_plan, result, runs, *, desc: str, timing: str, client=None, pool=None) -> None:
    """Run one step's notebooks (on ``pool`` when given, else :func:`run_all`)."""
    from ._warm_kernels import run_all

    t = time.monotonic()
    if pool is not None:
        status = pool.run_all(runs, progress=run_plan.progress, desc=desc)
    else:
        status = run_all(
            runs,
            jobs=run_plan.jobs,
            progress=run_plan.progress,
            desc=desc,
            kernel_name=run_plan.kernel_name,
            scheduler=run_plan.scheduler,
            client=client,
        )
    result.runs.update(status)
    result.failures += [status[r.key]["error"] for r in runs if status[r.key]["error"]]
    result.timings[timing] = round(time.monotonic() - t, 2)
