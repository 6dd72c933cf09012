"""Study checks for ``stseval check``: every problem at once, then a summary.

:func:`check_study` reads a study folder with
:meth:`stseval.study.Study.from_dir` (which validates the tables against the
study-folder contract and lists every error with file, column and line
numbers), adds the warnings that matter for the analysis (workers answering
only one of the first two waves, organizations with fewer respondents than
the minimum cell size in a wave) and summarizes the study: tables and row
counts, waves, instruments, respondents per arm and wave.

Tests: ``tests/test_bad_inputs.py`` runs the command on a corpus of broken
study folders and checks each message; ``tests/test_importers.py`` checks the
warnings and summary on hand-built studies.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, UsageError

__all__ = ["StudyCheck", "check_study", "study_warnings", "arm_wave_counts", "table_counts"]


@dataclass
class StudyCheck:
    """The result of :func:`check_study`.

    Attributes
    ----------
    path : Path
    study : Study or None
        None when the folder did not pass validation.
    failures : DataFrame
        ``file, column, rows, problem``; empty when the study is valid.
    warnings : list of str
    """

    path: Path
    study: object | None
    failures: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failures.empty

    def raise_for_failures(self) -> None:
        """Raise one :class:`DataValidationError` listing every failure, if any."""
        if not self.ok:
            raise DataValidationError(
                self.failures,
                title=f"study folder {self.path} did not pass the checks (rows "
                "are line numbers in the file; the header is line 1)",
            )

    def report(self) -> str:
        """A plain-text summary: tables, waves, instruments, counts per arm x wave, warnings."""
        lines = [
            f"Study folder {self.path}: "
            + ("valid" if self.ok else f"{len(self.failures)} problem(s)")
        ]
        s = self.study
        if s is not None:
            lines.append(f"Name: {s.name}")
            lines.append(f"Waves: {', '.join(s.waves)}")
            lines.append(f"Instruments: {', '.join(s.instruments) or 'none'}")
            lines.append(f"Minimum cell size: {s.min_cell}")
            lines.append("")
            lines.append("Tables:")
            lines.append(_indent(table_counts(s).to_string(index=False)))
            counts = arm_wave_counts(s)
            if len(counts):
                lines.append("")
                lines.append("Respondents per arm and wave:")
                lines.append(_indent(counts.to_string(index=False)))
        if self.warnings:
            lines.append("")
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def check_study(path, *, min_cell: int | None = None) -> StudyCheck:
    """Check a study folder; never raises for table problems (see :attr:`StudyCheck.failures`).

    Parameters
    ----------
    path : str or Path
        The study folder.
    min_cell : int, optional
        Minimum cell size for the small-group warnings (default: ``study.yaml``'s).

    Raises
    ------
    UsageError
        ``path`` is not a folder, or ``min_cell`` is not a positive integer.
    """
    from .study import Study

    path = Path(path)
    if min_cell is not None and (
        isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1
    ):
        raise UsageError(f"min_cell must be a positive whole number, got {min_cell!r}")
    if not path.is_dir():
        raise UsageError(f"study folder {path} does not exist or is not a folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            study = Study.from_dir(path, validate=True)
        except DataValidationError as exc:
            return StudyCheck(path=path, study=None, failures=exc.failures)
    prefix = f"{path}: "
    found = [str(w.message).removeprefix(prefix) for w in caught]
    found += study_warnings(study, min_cell or study.min_cell)
    return StudyCheck(
        path=path,
        study=study,
        failures=pd.DataFrame(columns=DataValidationError.columns),
        warnings=list(dict.fromkeys(found)),
    )


def study_warnings(study, min_cell: int) -> list[str]:
    """Unmatched pre/post workers and organizations with few respondents in a wave.

    Returns
    -------
    list of str
        One message per kind of finding, naming counts and (at most five) IDs.
    """
    out = []
    resp = study.responses
    waves = list(study.waves)
    if len(waves) >= 2 and len(resp):
        first, second = waves[0], waves[1]
        who = resp.groupby("wave")["worker_id"].agg(lambda s: set(s.dropna()))
        a, b = who.get(first, set()), who.get(second, set())
        only_a, only_b = sorted(a - b), sorted(b - a)
        if only_a or only_b:
            out.append(
                f"unmatched workers: {len(only_a)} answered {first} but not {second}, "
                f"{len(only_b)} answered {second} but not {first} (paired estimates use "
                f"the {len(a & b)} who answered both)"
            )
    if len(resp) and "org_id" in study.workers.columns:
        orgs = study.workers.set_index("worker_id")["org_id"]
        per = (
            resp.assign(org_id=resp["worker_id"].map(orgs))
            .groupby(["org_id", "wave"])["worker_id"]
            .nunique()
        )
        grid = per.unstack("wave").reindex(columns=[w for w in waves if w in set(resp["wave"])])
        grid = grid.fillna(0).astype(int)
        small = [
            (o, w, int(grid.loc[o, w]))
            for o in grid.index
            for w in grid.columns
            if grid.loc[o, w] < min_cell
        ]
        if small:
            shown = ", ".join(f"{o} at {w} ({n})" for o, w, n in small[:5])
            more = len(small) - 5
            out.append(
                f"{len(small)} organization x wave group(s) have fewer than min_cell="
                f"{min_cell} respondents: {shown}{f' and {more} more' if more > 0 else ''}"
                "; their results are suppressed in shared reports"
            )
    return out


def table_counts(study) -> pd.DataFrame:
    """``table, rows, columns`` for each table of the study."""
    rows = []
    for name in ("workers", "responses", "orgs", "interventions", "org_metrics", "truth"):
        frame = getattr(study, name, None)
        if frame is not None:
            rows.append({"table": name, "rows": len(frame), "columns": frame.shape[1]})
    return pd.DataFrame(rows, columns=["table", "rows", "columns"])


def arm_wave_counts(study) -> pd.DataFrame:
    """Respondents per area arm and wave.

    Returns
    -------
    DataFrame
        ``area, arm, orgs`` and one column per wave (number of workers who
        answered). ``area`` is each area with an intervention org, plus
        ``(all)`` with arms ``intervention`` (orgs with any intervention) and
        ``comparison`` (orgs with none).
    """
    resp, workers = study.responses, study.workers
    if not len(resp):
        return pd.DataFrame(columns=["area", "arm", "orgs", *study.waves])
    org_of = workers.set_index("worker_id")["org_id"]
    r = resp.assign(org_id=resp["worker_id"].map(org_of))
    changed = set(study.interventions["org_id"])
    arms = [
        ("(all)", "intervention", sorted(changed)),
        ("(all)", "comparison", sorted(set(study.orgs["org_id"]) - changed)),
    ]
    for area in sorted(set(study.interventions["area"].dropna())):
        try:
            table = study.arms(area)
        except UsageError:  # an area the study object does not know: skip in the summary
            continue
        for arm in ("intervention", "comparison"):
            arms.append((area, arm, list(table.loc[table["arm"] == arm, "org_id"])))
    rows = []
    for area, arm, orgs in arms:
        sub = r[r["org_id"].isin(orgs)]
        n = sub.groupby("wave")["worker_id"].nunique()
        rows.append(
            {
                "area": area,
                "arm": arm,
                "orgs": len(orgs),
                **{w: int(n.get(w, 0)) for w in study.waves},
            }
        )
    return pd.DataFrame(rows)
