"""Warm notebook kernels: a few kernels run all the notebooks of a report, one after another.

Part of :mod:`stseval.pipeline`. Starting a kernel and importing the kit in it costs about
2.5 s; a report runs eight or more notebooks. :class:`KernelPool` starts ``jobs`` kernels
once (one per worker thread) and each runs the notebooks handed to its thread in turn,
through papermill (same parameter cell, same output notebook, same cell errors) with the
engine ``stseval-warm``, which executes on the already running kernel, through the one
client kept connected to it, instead of starting one. Before each notebook the kernel's
namespace is cleared (every name the notebook defined, and the output history; like
``%reset -f`` without its garbage-collection passes), its figures closed and its working
directory set, so a notebook sees nothing of the one before it but
the modules already imported. A kernel that died is started again; each kernel computes
with one BLAS thread (:data:`stseval.parallel.BLAS_ENV`).

On Dask (:func:`run_all` through :func:`stseval.parallel.map_tasks`) each worker thread
keeps one warm kernel the same way (:func:`worker_kernel`); with ``threads`` and no pool,
each notebook starts its own kernel (the empty-notebook floor of the benchmarks).

The estimates a notebook writes do not depend on the kernel it ran in: the tests run the
same area notebooks in fresh and in warm kernels and compare the outputs byte for byte.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Sequence

from ._notebook_runner import _STARTER, KERNEL, NotebookRun, run_notebook
from .errors import NotebookRunError

__all__ = ["ENGINE", "KernelPool", "WarmKernel", "run_all", "worker_kernel"]

#: Name under which the warm engine is registered with papermill.
ENGINE = "stseval-warm"
_PREPARE = """\
def _stseval_clear(ip=get_ipython(), cwd={cwd!r}):
    import os
    import sys

    keep = set(ip.user_ns_hidden) | {{"__name__", "__builtins__", "__builtin__"}}
    for name in [n for n in ip.user_ns if n not in keep]:
        del ip.user_ns[name]
    ip.init_user_ns()
    ip.user_ns["_oh"].clear()
    ip.user_ns.update({{"_": "", "__": "", "___": ""}})
    os.chdir(cwd)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


_stseval_clear()
"""


#: What the report's notebooks import, imported once per kernel as it starts.
_WARM_IMPORTS = (
    "import IPython.display, matplotlib.pyplot\n"
    "import stseval, stseval.plots, stseval.report, stseval.evaluate, stseval.dose\n"
    "import stseval._report_dose"
)


def _register_engine() -> None:
    """Register :data:`ENGINE` with papermill once (papermill is imported lazily)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if ENGINE in papermill_engines._engines:
        return

    class _WarmEngine(NBClientEngine):
        """papermill's nbclient engine on a kernel that is already running (``km=``)."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            import logging

            kc = kwargs.pop("kc", None)
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final)
            client.kc = kc  # the kernel's own connected client: no new one to wait for
            try:
                return client.execute()
            finally:  # the kernel stays up; a client made for this notebook closes
                if kc is None and client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(ENGINE, _WarmEngine)


class WarmKernel:
    """One kernel, started on first use and kept for the notebooks that follow.

    Use it from one thread only (its event loop is that thread's).
    """

    def __init__(self, kernel_name: str = KERNEL, *, start_timeout: int = 120):
        self.kernel_name = kernel_name
        self.start_timeout = start_timeout
        self.km = None
        self.kc = None
        self.notebooks = 0

    def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        from .parallel import BLAS_ENV

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        env = {**os.environ, **BLAS_ENV}
        run_sync(km.start_kernel)(extra_arguments=["--IPKernelApp.log_level=CRITICAL"], env=env)
        self.km = km
        self.kc = km.client()  # one client for the kernel's life (a new one waits 0.2 s)
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.start_timeout)
        self._execute(_WARM_IMPORTS)

    def _execute(self, code: str) -> None:
        from jupyter_core.utils import run_sync

        reply = run_sync(self.kc.execute_interactive)(code, timeout=self.start_timeout)
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def prepare(self, cwd) -> None:
        """Start the kernel (again, if it died), clear its namespace, set its folder."""
        if not self.alive():
            self.shutdown()
            self._start()
        self._execute(_PREPARE.format(cwd=str(cwd)))

    def run(self, run: NotebookRun) -> float:
        """Execute one planned notebook on this kernel; seconds, or NotebookRunError."""
        _register_engine()
        cwd = run.output.parent
        cwd.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        try:
            self.prepare(cwd)
        except Exception as exc:  # noqa: BLE001 - kernel trouble: named, the others go on
            raise NotebookRunError(
                run.label,
                detail=f"the kernel could not run the notebook ({type(exc).__name__}: {exc})",
                parameters=dict(run.parameters),
            ) from None
        run_notebook(
            run.notebook,
            run.output,
            dict(run.parameters),
            label=run.label,
            cwd=None,
            kernel_name=self.kernel_name,
            retries=0,
            engine=ENGINE,
            km=self.km,
            kc=self.kc,
        )
        self.notebooks += 1
        return time.monotonic() - start

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is None:
            return
        km, self.km = self.km, None
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a kernel that is already gone
            pass


class KernelPool:
    """``jobs`` worker threads, each with a :class:`WarmKernel`, for the notebooks of a run.

    Use as a context manager; :meth:`run_all` may be called several times (the area
    notebooks, then the funder report) and the kernels stay warm in between.
    """

    def __init__(self, jobs: int, *, kernel_name: str = KERNEL):
        self.jobs = max(1, int(jobs))
        self.kernel_name = kernel_name
        self._tasks: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self.kernels: list[WarmKernel] = []

    def __enter__(self) -> KernelPool:
        for i in range(self.jobs):
            kernel = WarmKernel(self.kernel_name)
            self.kernels.append(kernel)
            thread = threading.Thread(
                target=self._work, args=(kernel,), name=f"stseval-kernel-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        if exc_type is not None and not issubclass(exc_type, Exception):
            return  # Ctrl-C: no waiting; each kernel exits with this process (it watches it)
        for thread in self._threads:
            thread.join()

    def _work(self, kernel: WarmKernel) -> None:
        try:
            try:
                kernel.prepare(os.getcwd())  # start now: the kernel warms while the caller works
            except Exception:  # noqa: BLE001 - tried again, and reported, with the first notebook
                kernel.shutdown()
            while (item := self._tasks.get()) is not None:
                run, done = item
                try:
                    status = {"seconds": round(kernel.run(run), 2), "error": None}
                except NotebookRunError as exc:
                    status = {"seconds": None, "error": exc}
                except Exception as exc:  # noqa: BLE001 - never lose a task's answer
                    err = NotebookRunError(run.label, detail=f"{type(exc).__name__}: {exc}")
                    status = {"seconds": None, "error": err}
                done.put((run.key, status))
        finally:
            kernel.shutdown()

    def run_all(
        self, runs: Sequence[NotebookRun], *, progress: bool = False, desc: str = "notebooks"
    ) -> dict[str, dict]:
        """Run ``runs`` on the pool's kernels; key -> ``{"seconds", "error"}`` as run_all."""
        from .parallel import _bar

        done: queue.Queue = queue.Queue()
        for run in runs:
            self._tasks.put((run, done))
        bar = _bar(len(runs), progress, desc)
        labels = {run.key: run.label for run in runs}
        status: dict[str, dict] = {}
        try:
            for _ in runs:
                key, state = done.get()
                status[key] = state
                if state["error"] is not None:
                    print(
                        f"stseval: {labels[key]} failed: {state['error'].detail}", file=sys.stderr
                    )
                bar.update(1)
        finally:
            bar.close()
        return {run.key: status[run.key] for run in runs}


_WORKER_KERNELS: dict[int, WarmKernel] = {}


def worker_kernel(kernel_name: str = KERNEL) -> WarmKernel:
    """The warm kernel of this thread of a Dask worker, started on its first notebook.

    A worker keeps its kernel for the notebooks that follow (of this report or the next
    study of a portfolio). Kernels are shut down when the worker process exits; one whose
    worker was killed exits by itself (ipykernel watches its parent process).
    """
    import atexit

    key = threading.get_ident()
    kernel = _WORKER_KERNELS.get(key)
    if kernel is None or kernel.kernel_name != kernel_name:
        if kernel is not None:
            kernel.shutdown()
        if not _WORKER_KERNELS:
            atexit.register(_shutdown_worker_kernels)
        kernel = _WORKER_KERNELS[key] = WarmKernel(kernel_name)
    return kernel


def _shutdown_worker_kernels() -> None:
    for kernel in _WORKER_KERNELS.values():
        kernel.shutdown()
    _WORKER_KERNELS.clear()


# -- notebooks as tasks of stseval.parallel.map_tasks (Dask, or threads with fresh kernels) --
def _run_task(task: tuple) -> dict:
    """Run one notebook (a task of :func:`stseval.parallel.map_tasks`); never raises a cell error.

    Returns ``{"seconds", "error"}`` with the error as a plain dict of the
    :class:`~stseval.errors.NotebookRunError` fields, so it travels back from a
    Dask worker whatever the exception's constructor.
    """
    run, kernel_name = task
    try:
        if _in_dask_worker():
            seconds = worker_kernel(kernel_name).run(run)  # this worker's kernel, kept warm
        else:
            seconds = run_notebook(
                run.notebook,
                run.output,
                dict(run.parameters),
                label=run.label,
                cwd=run.output.parent,
                kernel_name=kernel_name,
                starter=_STARTER,
            )
    except NotebookRunError as exc:
        fields = ("notebook", "detail", "cell_index", "parameters", "output_path")
        return {"seconds": None, "error": {f: getattr(exc, f) for f in fields}}
    return {"seconds": round(seconds, 2), "error": None}


def _in_dask_worker() -> bool:
    """True inside a dask.distributed worker (its notebooks then reuse one warm kernel)."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def run_all(
    runs: Sequence[NotebookRun],
    *,
    jobs: int,
    progress: bool,
    desc: str,
    kernel_name: str = KERNEL,
    scheduler: str | None = "threads",
    client=None,
) -> dict[str, dict]:
    """Run notebooks on ``jobs`` workers; return key -> ``{"seconds", "error"}``.

    ``scheduler``/``client`` as in :func:`stseval.parallel.map_tasks`
    (``"processes"`` means threads here: each notebook runs in its own kernel
    process anyway). Every kernel computes with one BLAS thread. A failing
    notebook does not stop the others: its :class:`~stseval.errors.NotebookRunError`
    is returned as ``error`` (and written above the progress bar).
    """
    from .parallel import TaskFailure, map_tasks

    scheduler = "threads" if scheduler == "processes" else scheduler
    client = "threads" if client == "processes" else client
    results = map_tasks(
        _run_task,
        [(run, kernel_name) for run in runs],
        scheduler=scheduler,
        client=client,
        jobs=max(1, min(jobs, len(runs) or 1)),
        progress=progress,
        desc=desc,
        labels=[run.label for run in runs],
        errors="return",
    )
    status: dict[str, dict] = {}
    for run, res in zip(runs, results, strict=True):
        if isinstance(res, TaskFailure):  # not a cell error: the worker itself failed
            err = NotebookRunError(run.label, detail=res.error, parameters=dict(run.parameters))
        elif res["error"] is not None:
            fields = res["error"]
            err = NotebookRunError(fields.pop("notebook"), **fields)
            print(f"stseval: {run.label} failed: {err.detail}", file=sys.stderr)
        else:
            err = None
        status[run.key] = {"seconds": res["seconds"] if err is None else None, "error": err}
    return status
