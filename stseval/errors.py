"""One exception tree for the kit, rooted in :class:`StsevalError`.

The command line turns any :class:`StsevalError` into a short message and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = [
    "DataValidationError",
    "EstimationWarning",
    "InstrumentDefinitionError",
    "NoInterventionError",
    "NotEstimableError",
    "NotebookRunError",
    "StsevalError",
    "UsageError",
]


class StsevalError(Exception):
    """Root of every error the kit raises on purpose (a user's mistake)."""


class UsageError(StsevalError, ValueError):
    """An argument has a value the function cannot use; the message says what to type."""


class NoInterventionError(UsageError):
    """An area has no organization that changed practice (or no comparison organization).

    :func:`stseval.evaluate_all` skips such areas with a warning; every other
    :class:`UsageError` stops it.
    """


class NotEstimableError(UsageError):
    """The data cannot give this estimate (e.g. zero variance); the message says why."""


class EstimationWarning(UserWarning):
    """An estimate could not be given, or may be unreliable (zero variance, non-convergence).

    The same words are in the result's ``note`` column; filter this class (not the
    message text) to silence it.
    """


class InstrumentDefinitionError(StsevalError, ValueError):
    """An instrument YAML file does not follow the schema.

    Attributes
    ----------
    source : str
        File (or built-in key) that was being read.
    problems : list of str
        Every problem found, each naming the key path (e.g. ``scales.total.items``).
    """

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = str(source)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"instrument file {self.source} is not valid:\n{lines}")


class DataValidationError(StsevalError, ValueError):
    """A table failed validation. All failures are collected before raising.

    Attributes
    ----------
    failures : pandas.DataFrame
        One row per failure with columns ``file, column, rows, problem``.
    """

    columns = ["file", "column", "rows", "problem"]

    def __init__(self, failures: pd.DataFrame | Iterable[dict], *, title: str | None = None):
        self.failures = pd.DataFrame(
            list(failures) if not isinstance(failures, pd.DataFrame) else failures,
            columns=self.columns,
        )
        self.title = title or "the data did not pass validation"
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"{self.title} ({len(self.failures)} problem(s)):"]
        for rec in self.failures.itertuples(index=False):
            where = ", ".join(
                part
                for part in (
                    f"file {rec.file}" if rec.file else "",
                    f"column {rec.column}" if rec.column else "",
                    f"rows {rec.rows}" if rec.rows not in (None, "") else "",
                )
                if part
            )
            lines.append(f"  - {where + ': ' if where else ''}{rec.problem}")
        return "\n".join(lines)


class NotebookRunError(StsevalError, RuntimeError):
    """A parameterized notebook failed.

    Attributes
    ----------
    notebook, cell_index, parameters, output_path, detail
    """

    def __init__(
        self,
        notebook: str,
        *,
        detail: str,
        cell_index: int | None = None,
        parameters: dict | None = None,
        output_path: str | None = None,
    ):
        self.notebook = notebook
        self.cell_index = cell_index
        self.parameters = parameters or {}
        self.output_path = output_path
        self.detail = detail
        where = f" (cell {cell_index})" if cell_index is not None else ""
        partial = f"; partial output kept at {output_path}" if output_path else ""
        super().__init__(f"notebook {notebook} failed{where}: {detail}{partial}")


def format_rows(index: Iterable, *, limit: int = 5) -> str:
    """Render row labels for an error message: the first few and how many more."""
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = len(rows) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def format_counts(values, *, limit: int = 6) -> str:
    """Render the most common values with their counts: ``'x' x3, 'y' x1 and 2 more``."""
    from collections import Counter

    counts = Counter(str(v) for v in values)
    parts = [f"{v!r} x{n}" for v, n in counts.most_common(limit)]
    more = len(counts) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")
