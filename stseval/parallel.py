"""Fan work out: one helper, :func:`map_tasks`, for every part of the kit that runs many tasks.

The area notebooks of a report, several studies in one command, the replications
of :func:`stseval.power.simulate_power` and of ``validation/recovery.py`` all
call ``map_tasks(fn, tasks, scheduler=...)``. The scheduler is one option
everywhere (``--scheduler`` on the command line, ``scheduler=`` / ``client=`` in
Python):

``"local"``
    A dask.distributed ``LocalCluster`` sized to the machine (one worker process
    per core, one thread each), started for the call and closed after it. The
    default when dask.distributed is installed. Its dashboard
    (``client.dashboard_link`` of :func:`open_scheduler`) shows the tasks.
``"processes"``
    A ``concurrent.futures`` process pool (the fallback without Dask).
``"threads"``
    A thread pool: for tasks that wait on another process (a notebook kernel).
``"tcp://host:8786"`` (any address with ``://``)
    An existing Dask cluster; ``client=`` passes a ``distributed.Client`` directly.

Results are identical whatever runs them: each task carries everything it
needs (its seed comes from its index, never from a worker), results come back
in task order, and every worker -- Dask worker, pool process, notebook kernel
-- computes with one BLAS thread (:data:`BLAS_ENV` in its environment, plus
``threadpoolctl`` limits where numpy is already loaded), so parallel workers do
not oversubscribe the cores and a sum is added up the same way everywhere.

A failing task does not stop the others. With ``errors="raise"`` (the default)
:class:`ParallelTaskError` is raised after all tasks finished, naming every
failed task, its inputs and its error; with ``errors="return"`` the result of a
failed task is a :class:`TaskFailure`.

Tested in ``tests/test_parallel.py``: the same small ``simulate_power`` job in
this process, in a process pool and on a two-worker ``LocalCluster`` gives
byte-identical tables; failures name their task and inputs while the other
tasks finish.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._args import whole_number
from .errors import StsevalError, UsageError

__all__ = [
    "BLAS_ENV",
    "SCHEDULERS",
    "ParallelTaskError",
    "TaskFailure",
    "check_scheduler",
    "default_scheduler",
    "limit_blas_threads",
    "map_tasks",
    "open_scheduler",
]

#: Environment that keeps a worker's numerical libraries to one thread.
BLAS_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
#: Scheduler names (besides a cluster address such as ``tcp://host:8786``).
SCHEDULERS = ("local", "processes", "threads")


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: which one, with what inputs, and the error.

    Attributes
    ----------
    index : int
        Position of the task in ``tasks``.
    label : str
        How messages name the task (``desc`` and index unless labels were given).
    inputs : str
        ``repr`` of the task, shortened to 300 characters.
    error : str
        ``ExceptionType: message``.
    exception : BaseException or None
        The exception itself (None when it could not be brought back from a worker).
    """

    index: int
    label: str
    inputs: str
    error: str
    exception: BaseException | None = None

    def __str__(self) -> str:
        return f"{self.label} (inputs {self.inputs}) failed: {self.error}"


class ParallelTaskError(StsevalError):
    """One or more tasks of :func:`map_tasks` failed (all the others finished).

    Attributes
    ----------
    failures : list of TaskFailure
    results : list
        Every task's result in task order (a :class:`TaskFailure` where it failed).
    """

    def __init__(self, failures: list[TaskFailure], results: list):
        self.failures = failures
        self.results = results
        lines = "\n  ".join(str(f) for f in failures)
        super().__init__(f"{len(failures)} of {len(results)} task(s) failed:\n  {lines}")


def default_scheduler() -> str:
    """``"local"`` when dask.distributed can be imported, else ``"processes"``."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "processes"
    return "local"


def limit_blas_threads() -> None:
    """Keep this process and the processes it starts to one BLAS/OpenMP thread.

    Sets :data:`BLAS_ENV` in ``os.environ`` (read by libraries loaded later and
    inherited by child processes such as notebook kernels) and, when
    ``threadpoolctl`` is installed, limits the thread pools already loaded.
    Called in every worker before its first task.
    """
    os.environ.update(BLAS_ENV)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1)


class _Call:
    """``fn(task)`` in a worker: BLAS limited once per process, errors caught and described."""

    def __init__(self, fn: Callable, limit: bool):
        self.fn, self.limit = fn, limit

    def __call__(self, task):
        if self.limit and os.environ.get("STSEVAL_BLAS_LIMITED") != str(os.getpid()):
            limit_blas_threads()
            os.environ["STSEVAL_BLAS_LIMITED"] = str(os.getpid())
        return self.fn(task)


def check_scheduler(scheduler) -> str:
    """The scheduler name (``None``: :func:`default_scheduler`); UsageError for an unknown one."""
    if scheduler is None:
        return default_scheduler()
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise UsageError(
            f"scheduler must be one of {', '.join(SCHEDULERS)} or a Dask address "
            f"such as tcp://host:8786, got {scheduler!r}"
        )
    scheduler = scheduler.strip()
    if scheduler in SCHEDULERS or "://" in scheduler:
        return scheduler
    raise UsageError(
        f"unknown scheduler {scheduler!r}; use local (a Dask LocalCluster on this "
        "machine), processes, threads, or a Dask address such as tcp://host:8786"
    )


@contextmanager
def open_scheduler(scheduler=None, *, jobs: int | None = None) -> Iterator[Any]:
    """Start what ``scheduler`` names and yield something :func:`map_tasks` accepts as ``client``.

    For ``"local"`` a ``LocalCluster`` with ``jobs`` workers (default: the
    cores) of one thread each and :data:`BLAS_ENV` in their environment, and a
    ``distributed.Client`` on it; for an address a ``Client`` connected to it;
    otherwise the scheduler name itself. Everything started is closed on exit,
    so several fan-outs of one run (e.g. the studies of a portfolio) share one
    cluster.

    Raises
    ------
    UsageError
        An unknown scheduler name, or Dask is not installed for ``local`` / an address.
    """
    name = check_scheduler(scheduler)
    if name in ("processes", "threads"):
        yield name
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            f"scheduler {name!r} needs dask.distributed: pip install 'dask[distributed]' "
            "(or use --scheduler processes)"
        ) from None
    if name != "local":
        with Client(name) as client:
            yield client
        return
    n = whole_number((os.cpu_count() or 1) if jobs is None else jobs, "jobs", 1)
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env=dict(BLAS_ENV),
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _describe(index: int, task, label: str, exc: BaseException) -> TaskFailure:
    inputs = repr(task)
    if len(inputs) > 300:
        inputs = inputs[:297] + "..."
    return TaskFailure(index, label, inputs, f"{type(exc).__name__}: {exc}", exc)


def _bar(n: int, progress: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=n, desc=desc, disable=not progress, file=sys.stderr)


def _run_dask(client, call, tasks, labels, bar) -> list:
    from distributed import as_completed as dask_completed

    futures = [
        client.submit(call, task, key=f"{label}-{os.urandom(4).hex()}", pure=False)
        for task, label in zip(tasks, labels, strict=True)
    ]
    index = {fut.key: i for i, fut in enumerate(futures)}
    results: list = [None] * len(tasks)
    for fut in dask_completed(futures):
        i = index[fut.key]
        if fut.status == "error":
            results[i] = _describe(i, tasks[i], labels[i], fut.exception())
            bar.write(f"stseval: {results[i]}", file=sys.stderr)
        else:
            results[i] = fut.result()
        fut.release()
        bar.update()
    return results


def _run_pool(pool, call, tasks, labels, bar) -> list:
    results: list = [None] * len(tasks)
    futures = {pool.submit(call, task): i for i, task in enumerate(tasks)}
    for fut in as_completed(futures):
        i = futures[fut]
        try:
            results[i] = fut.result()
        except Exception as exc:  # noqa: BLE001 - recorded with the task; the others go on
            results[i] = _describe(i, tasks[i], labels[i], exc)
            bar.write(f"stseval: {results[i]}", file=sys.stderr)
        bar.update()
    return results


def _run_serial(call, tasks, labels, bar) -> list:
    results: list = []
    for i, task in enumerate(tasks):
        try:
            results.append(call(task))
        except Exception as exc:  # noqa: BLE001 - recorded with the task; the others go on
            results.append(_describe(i, task, labels[i], exc))
            bar.write(f"stseval: {results[-1]}", file=sys.stderr)
        bar.update()
    return results


def _dispatch(fn, tasks, labels, bar, *, scheduler, client, jobs) -> list:
    if client is not None and not isinstance(client, str):
        return _run_dask(client, _Call(fn, True), tasks, labels, bar)
    name = check_scheduler(client if isinstance(client, str) else scheduler)
    n = min(len(tasks), whole_number((os.cpu_count() or 1) if jobs is None else jobs, "jobs", 1))
    if name in ("processes", "threads") and n <= 1:
        return _run_serial(_Call(fn, False), tasks, labels, bar)
    if name == "processes":
        with ProcessPoolExecutor(max_workers=n, initializer=limit_blas_threads) as pool:
            return _run_pool(pool, _Call(fn, False), tasks, labels, bar)
    if name == "threads":
        os.environ.update(BLAS_ENV)  # inherited by the processes the threads start
        with ThreadPoolExecutor(max_workers=n) as pool:
            return _run_pool(pool, fn, tasks, labels, bar)
    with open_scheduler(name, jobs=n) as opened:
        return _run_dask(opened, _Call(fn, True), tasks, labels, bar)


def map_tasks(
    fn: Callable,
    tasks: Sequence,
    *,
    scheduler: str | None = None,
    client=None,
    jobs: int | None = None,
    progress: bool = True,
    desc: str = "tasks",
    labels: Sequence[str] | None = None,
    errors: str = "raise",
) -> list:
    """``[fn(task) for task in tasks]``, fanned out; results in task order.

    Parameters
    ----------
    fn : callable
        Called once per task with the task as its only argument; a module-level
        function (or other picklable callable) for ``processes`` and Dask.
    tasks : sequence
        The inputs, each complete in itself (seeds included), so the result
        does not depend on which worker runs it.
    scheduler : str, optional
        ``"local"``, ``"processes"``, ``"threads"`` or a Dask address (see the
        module docstring); default :func:`default_scheduler`.
    client : distributed.Client or str, optional
        An open client (or what :func:`open_scheduler` yielded); takes
        precedence over ``scheduler``.
    jobs : int, optional
        Workers to start (``local``, ``processes``, ``threads``); default the
        cores, at most one per task. ``processes``/``threads`` with one job run
        in this process.
    progress : bool
        A tqdm bar on stderr.
    desc : str
        Label of the bar, and of each task in messages (``<desc> #<index>``).
    labels : sequence of str, optional
        One label per task instead (e.g. ``area 'training'``).
    errors : {"raise", "return"}
        What a failed task becomes once every task finished: a
        :class:`ParallelTaskError` naming all failures, or a
        :class:`TaskFailure` in its place in the returned list.

    Returns
    -------
    list
        ``fn(task)`` for each task, in the order of ``tasks``.

    Raises
    ------
    ParallelTaskError
        ``errors="raise"`` and at least one task failed.
    UsageError
        An unknown scheduler, bad ``jobs``/``errors``, or labels of the wrong length.
    """
    tasks = list(tasks)
    if errors not in ("raise", "return"):
        raise UsageError(f"errors must be 'raise' or 'return', got {errors!r}")
    if labels is None:
        labels = [f"{desc} #{i}" for i in range(len(tasks))]
    labels = [str(x) for x in labels]
    if len(labels) != len(tasks):
        raise UsageError(f"{len(labels)} labels for {len(tasks)} tasks; give one per task")
    if not tasks:
        return []
    bar = _bar(len(tasks), progress, desc)
    try:
        results = _dispatch(fn, tasks, labels, bar, scheduler=scheduler, client=client, jobs=jobs)
    finally:
        bar.close()
    failures = [r for r in results if isinstance(r, TaskFailure)]
    if failures and errors == "raise":
        raise ParallelTaskError(failures, results)
    return results
