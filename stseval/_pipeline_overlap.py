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

__all__ = ["AuditThread", "kernel_pool", "precomputed_audits", "write_scored"]


def kernel_pool(run_plan, client, n_runs: int):
    """Warm kernels for a run on this machine (threads/processes); none for Dask."""
    from contextlib import nullcontext

    from ._warm_kernels import KernelPool

    if client is not None or run_plan.scheduler not in ("processes", "threads"):
        return nullcontext(None)
    return KernelPool(min(run_plan.jobs, max(1, n_runs)), kernel_name=run_plan.kernel_name)


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
