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

__all__ = [
    "AuditThread",
    "early_kernel_pool",
    "kernel_pool",
    "precomputed_audits",
    "run_step",
    "write_scored",
]


def kernel_pool(run_plan, client, n_runs: int):
    """Warm kernels for a run on this machine (threads/processes); none for Dask."""
    from contextlib import nullcontext

    from ._warm_kernels import KernelPool

    if client is not None or run_plan.scheduler not in ("processes", "threads"):
        return nullcontext(None)
    return KernelPool(min(run_plan.jobs, max(1, n_runs)), kernel_name=run_plan.kernel_name)


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
