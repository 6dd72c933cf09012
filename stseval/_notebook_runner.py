"""Run one notebook with papermill; check a notebook's parameters.

Part of :mod:`stseval.pipeline` (which re-exports :func:`run_notebook`,
:func:`notebook_parameters` and :func:`check_parameters`). Many notebooks at a time:
:mod:`stseval._warm_kernels`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import NotebookRunError, UsageError

__all__ = [
    "NOTEBOOKS",
    "REQUIRED_PARAMETERS",
    "NotebookRun",
    "check_parameters",
    "notebook_parameters",
    "run_notebook",
]

#: The notebooks the pipeline runs.
NOTEBOOKS = {
    "area": "area_evaluation.ipynb",
    "funder": "funder_report.ipynb",
    "org": "org_feedback.ipynb",
    "dose": "dose_response.ipynb",
    "individual": "individual_evaluation.ipynb",
}
#: Parameters the pipeline must pass to each notebook.
REQUIRED_PARAMETERS = {
    "area_evaluation.ipynb": ("study_dir", "area", "out_dir"),
    "funder_report.ipynb": ("study_dir", "estimates_csv"),
    "org_feedback.ipynb": ("study_dir", "org_id"),
    "dose_response.ipynb": ("study_dir", "out_dir"),
    "individual_evaluation.ipynb": ("study_dir", "out_dir"),
}
#: Seconds between two kernel starts (parallel kernels can collide on start-up ports).
STAGGER_SECONDS = 0.5
KERNEL = "python3"


@dataclass(frozen=True)
class NotebookRun:
    """One notebook execution of a run plan.

    Attributes
    ----------
    key : str
        ``area:<area>``, ``funder`` or ``org:<org_id>``.
    notebook : Path
        The notebook as shipped (never written to).
    output : Path
        The executed copy (papermill writes it, also when a cell fails).
    parameters : Mapping
        Read-only parameters injected by papermill.
    label : str
        How messages name this run.
    """

    key: str
    notebook: Path
    output: Path
    parameters: Mapping[str, Any]
    label: str

    def __post_init__(self):
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))


def notebook_parameters(notebook) -> dict:
    """The parameters a notebook declares in its cell tagged ``parameters`` (name -> default).

    Raises
    ------
    UsageError
        The notebook has no cell tagged ``parameters``.
    """
    import nbformat
    from papermill.inspection import inspect_notebook

    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise UsageError(f"notebook {path.name} has no cell tagged 'parameters'")
    params = inspect_notebook(str(path))
    return {name: p["default"] for name, p in params.items()}


def check_parameters(notebook, parameters: dict, *, required: Sequence[str] | None = None) -> None:
    """Refuse parameters the notebook does not declare, and missing required ones.

    ``required`` defaults to :data:`REQUIRED_PARAMETERS` for the kit's notebooks.
    """
    path = Path(notebook)
    declared = notebook_parameters(path)
    required = REQUIRED_PARAMETERS.get(path.name, ()) if required is None else required
    problems = []
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        problems.append(
            f"unknown parameter(s) {', '.join(unknown)} (the notebook declares "
            f"{', '.join(declared)})"
        )
    missing = [p for p in required if p not in parameters]
    if missing:
        problems.append(f"missing required parameter(s) {', '.join(missing)}")
    undeclared = [p for p in required if p not in declared]
    if undeclared:
        problems.append(
            f"the notebook does not declare required parameter(s) {', '.join(undeclared)}"
        )
    if problems:
        raise UsageError(f"notebook {path.name}: " + "; ".join(problems))


# -- running one notebook ----------------------------------------------------------------
class _Starter:
    """Spaces kernel starts at least ``gap`` seconds apart across threads."""

    def __init__(self, gap: float):
        self.gap = gap
        self.lock = threading.Lock()
        self.last = 0.0

    def wait(self) -> None:
        with self.lock:
            delay = self.last + self.gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.last = time.monotonic()


def run_notebook(
    notebook,
    output,
    parameters: dict,
    *,
    label: str | None = None,
    cwd=None,
    kernel_name: str = KERNEL,
    retries: int = 1,
    start_timeout: int = 120,
    starter: _Starter | None = None,
    engine: str | None = None,
    km=None,
    kc=None,
) -> float:
    """Execute ``notebook`` with papermill into ``output``; return the seconds it took.

    The notebook runs with ``cwd`` (default: its own folder) as the working
    directory. A kernel that fails to start (anything other than an error in a
    cell) is retried ``retries`` times. ``engine``, ``km`` and ``kc`` (a running
    kernel's manager and a connected client) are passed to papermill:
    :class:`stseval._warm_kernels.WarmKernel` runs notebooks this way on a kernel it
    keeps (``cwd`` is then set in the kernel).

    Raises
    ------
    NotebookRunError
        A cell raised: carries the cell index (in the executed notebook, which
        papermill keeps at ``output``), the error and the parameters.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    notebook, output = Path(notebook), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    label = label or notebook.stem
    start = time.monotonic()
    for attempt in range(retries + 1):
        if starter is not None:
            starter.wait()
        try:
            pm.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters,
                kernel_name=kernel_name,
                progress_bar=False,
                log_output=False,
                cwd=None if engine is not None else str(cwd or notebook.parent),
                start_timeout=start_timeout,
                # written once at the end (and on a cell error), not before and after
                # every cell: ~45 writes of a notebook carrying its figures
                request_save_on_cell_execute=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                **({} if engine is None else {"engine_name": engine, "km": km, "kc": kc}),
            )
            return time.monotonic() - start
        except PapermillExecutionError as exc:
            detail = f"{exc.ename}: {exc.evalue}".strip()
            raise NotebookRunError(
                label,
                detail=detail,
                cell_index=exc.cell_index,
                parameters=parameters,
                output_path=str(output),
            ) from None
        except Exception as exc:  # noqa: BLE001 - kernel start-up trouble: retry once
            if attempt >= retries:
                raise NotebookRunError(
                    label,
                    detail=f"the kernel could not run the notebook ({type(exc).__name__}: {exc})",
                    parameters=parameters,
                    output_path=str(output) if output.exists() else None,
                ) from None
            time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")  # pragma: no cover


#: Kernel starts of the threads of one process are spaced out (one starter per process).
_STARTER = _Starter(STAGGER_SECONDS)
