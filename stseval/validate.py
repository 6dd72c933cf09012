"""One validation layer for study folders: read every file, check every field, say it all at once.

:func:`check_study` is the one entry point (``stseval check``): it reads a
study folder (or takes a :class:`~stseval.study.Study`), checks

- the files themselves: a folder where a file belongs (and a file where the
  study folder belongs), a table given both as CSV and as Parquet, the encoding
  of every text file (UTF-8 and UTF-8 with a byte-order mark are read; UTF-16
  with its mark is read; Windows-1252 / Latin-1 is read and said in a warning;
  NUL bytes without a UTF-16 mark are refused);
- ``study.yaml`` with its pydantic model (:class:`stseval.design.StudyMeta`):
  text where a number belongs (``min_cell: five``), unknown design values,
  waves in order;
- every table's columns, IDs, references between tables, dates, numbers
  (not a number, infinite or too large, negative, not whole), item ranges;
- the design contract (link-code columns, team IDs, ``programs.csv``),

and collects every failure (``file, column, rows, problem``; rows are line
numbers of a CSV file, the header being line 1) before anything is raised.
Input files are only read.

:class:`StudyCheck` adds the study's design (:class:`stseval.design.Design`),
what it implies for the estimates, and the warnings that matter for the
analysis (unmatched workers in a linked study; small organization x wave
groups).

Tests: ``tests/test_study_corpus.py`` (a corpus of broken study folders),
``tests/test_design.py`` (each design shape passes and is described),
``tests/test_study.py`` (a folder, a study and an in-memory broken study).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._studyread import (
    TABLE_NAMES,
    decode_text,
    read_study_files,
    table_failures,
)
from .errors import DataValidationError, UsageError

__all__ = [
    "StudyCheck",
    "arm_wave_counts",
    "check_study",
    "decode_text",
    "read_study_files",
    "table_failures",
    "study_warnings",
    "table_counts",
    "TABLE_NAMES",
]


@dataclass
class StudyCheck:
    """The result of :func:`check_study`.

    Attributes
    ----------
    path : Path or None
    study : Study or None
        None when the folder did not pass validation.
    failures : DataFrame
        ``file, column, rows, problem``; empty when the study is valid.
    warnings : list of str
    design : Design or None
        The study's design (:class:`stseval.design.Design`) when it was read.
    """

    path: Path | None
    study: object | None
    failures: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    design: object | None = None
    title: str | None = None

    @property
    def ok(self) -> bool:
        return self.failures.empty

    def raise_for_failures(self) -> None:
        """Raise one :class:`DataValidationError` listing every failure, if any."""
        if not self.ok:
            title = self.title or (
                f"study folder {self.path} did not pass the checks (rows "
                "are line numbers in the file; the header is line 1)"
            )
            raise DataValidationError(self.failures, title=title)

    def report(self) -> str:
        """Plain text: design and what follows from it, tables, counts per arm x wave, warnings."""
        head = "valid" if self.ok else f"{len(self.failures)} problem(s)"
        lines = [f"Study folder {self.path}: {head}"]
        s = self.study
        if self.design is not None:
            lines.append(f"Design: {self.design.describe()}")
            lines.extend(f"  - {text}" for text in self.design.implications())
        if s is not None:
            lines += [
                f"Name: {s.name}",
                f"Waves: {', '.join(s.waves)}",
                f"Instruments: {', '.join(s.instruments) or 'none'}",
                f"Minimum cell size: {s.min_cell}",
                "",
                "Tables:",
                _indent(table_counts(s).to_string(index=False)),
            ]
            counts = arm_wave_counts(s)
            if len(counts):
                lines += [
                    "",
                    "Respondents per arm and wave:",
                    _indent(counts.to_string(index=False)),
                ]
        if self.warnings:
            lines += ["", f"Warnings ({len(self.warnings)}):"]
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def check_study(data, *, min_cell: int | None = None) -> StudyCheck:
    """Check a study folder or a :class:`~stseval.study.Study`; never raises for data problems.

    Parameters
    ----------
    data : str, Path or Study
        The study folder, or a study in memory.
    min_cell : int, optional
        Minimum cell size for the small-group warnings (default: ``study.yaml``'s).

    Returns
    -------
    StudyCheck
        ``failures`` (``file, column, rows, problem``) lists every problem
        found; ``study`` and ``design`` are set when there is none.

    Raises
    ------
    UsageError
        ``data`` is not a folder (or a Study), or ``min_cell`` is not a positive integer.
    """
    from .study import Study

    if min_cell is not None and (
        isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1
    ):
        raise UsageError(f"min_cell must be a positive whole number, got {min_cell!r}")
    if isinstance(data, Study):
        path, study = data.source, data
        failures, warns = table_failures(study._raw(), base=path, report_missing=True)
    else:
        path = Path(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            try:
                study = Study.from_dir(path, validate=True)
            except DataValidationError as exc:
                return StudyCheck(path=path, study=None, failures=exc.failures, title=exc.title)
        prefix = f"{path}: "
        warns = [
            str(w.message).removeprefix(prefix)
            for w in caught
            if issubclass(w.category, UserWarning)  # the study's own warnings, not pandas'
        ]
        failures = []
    warns = warns + study_warnings(study, min_cell or study.min_cell)
    return StudyCheck(
        path=path,
        study=study,
        failures=pd.DataFrame(failures, columns=DataValidationError.columns),
        warnings=list(dict.fromkeys(warns)),
        design=study.design,
    )


def study_warnings(study, min_cell: int) -> list[str]:
    """Unlinked or unmatched workers, and organizations with few respondents in a wave.

    Returns
    -------
    list of str
        One message per kind of finding, naming counts and (at most five) IDs.
        In an anonymous study the first says that waves are not linked.
    """
    out = []
    resp = study.responses
    waves = list(study.waves)
    design = study.design
    if len(waves) >= 2 and len(resp) and design.linkage == "anonymous":
        how = (
            "inferred: no worker_id answers two waves" if design.linkage_inferred else "study.yaml"
        )
        out.append(
            f"waves are not linked (anonymous design, {how}): paired change, ANCOVA and "
            "reliable change are not estimable; estimates compare all responses of each wave"
        )
    elif len(waves) >= 2 and len(resp) and design.linkage == "linked":
        out += _unmatched(resp, waves)
    out += _small_cells(study, resp, waves, min_cell)
    return out


def _unmatched(resp, waves) -> list[str]:
    first, second = waves[0], waves[1]
    who = resp.groupby("wave")["worker_id"].agg(lambda s: set(s.dropna()))
    a, b = who.get(first, set()), who.get(second, set())
    only_a, only_b = sorted(a - b), sorted(b - a)
    if not (only_a or only_b):
        return []
    return [
        f"unmatched workers: {len(only_a)} answered {first} but not {second}, "
        f"{len(only_b)} answered {second} but not {first} (paired estimates use "
        f"the {len(a & b)} who answered both)"
    ]


def _small_cells(study, resp, waves, min_cell) -> list[str]:
    if not len(resp) or "org_id" not in study.workers.columns:
        return []
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
    if not small:
        return []
    shown = ", ".join(f"{o} at {w} ({n})" for o, w, n in small[:5])
    more = len(small) - 5
    return [
        f"{len(small)} organization x wave group(s) have fewer than min_cell="
        f"{min_cell} respondents: {shown}{f' and {more} more' if more > 0 else ''}"
        "; their results are suppressed in shared reports"
    ]


def table_counts(study) -> pd.DataFrame:
    """``table, rows, columns`` for each table of the study."""
    rows = []
    for name in TABLE_NAMES:
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
    from . import reshape

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
            table = reshape.arms(study, area)
        except UsageError:  # an area the study object does not know: skip in the summary
            continue
        for arm in ("intervention", "comparison"):
            arms.append((area, arm, list(table.loc[table["arm"] == arm, "org_id"])))
    rows = []
    for area, arm, orgs in arms:
        n = r[r["org_id"].isin(orgs)].groupby("wave")["worker_id"].nunique()
        rows.append(
            {
                "area": area,
                "arm": arm,
                "orgs": len(orgs),
                **{w: int(n.get(w, 0)) for w in study.waves},
            }
        )
    return pd.DataFrame(rows)
