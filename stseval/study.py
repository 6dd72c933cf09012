"""The :class:`Study`: a study folder's tables plus metadata, read, checked and written.

A study folder (``DESIGN.md``, "Study folder") holds ``study.yaml`` and the
tables ``workers``, ``responses``, ``orgs``, ``interventions``,
``org_metrics`` and, optionally, ``programs`` and (synthetic studies only)
``truth``, each as ``<name>.csv`` or ``<name>.parquet``. Importers and
:func:`stseval.simulate` write it; everything else reads it through
:meth:`Study.from_dir`.

A :class:`Study` is immutable: every change makes a new one
(:meth:`Study.replace`), so the cached :meth:`Study.scored` can never go
stale. Assigning an attribute raises :class:`AttributeError`; the tables it
hands out are copies (cheap: pandas copy-on-write shares the data until either
side writes), so changing them never changes the study.

Validation (:mod:`stseval.validate`) collects *every* problem before raising
one :class:`~stseval.errors.DataValidationError` whose ``failures`` table names
the file, the column, the offending rows (line numbers of the CSV file, the
header being line 1) and the problem. Input files are never modified.

The analysis views are in :mod:`stseval.reshape` (``reshape.wide(study,
outcome, area)``); the methods of the same names here are deprecated wrappers.

Tests (``tests/test_study.py``) check the round trip folder -> Study ->
folder byte for byte, every validation error on hand-broken copies of the
small synthetic study, immutability, and the arm and view definitions on
hand-built tables.
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import yaml

from ._studyio import TABLE_KEYS, plain, sorted_tables, typed_tables, write_tables
from .columns import DEFAULT_WAVES, RESPONSE_ID_COLUMNS
from .errors import DataValidationError, UsageError
from .instruments import Instrument, load_instrument
from .reshape import WORKDAYS_PER_MONTH

__all__ = ["Study", "TABLE_FILES", "WORKDAYS_PER_MONTH"]

#: File name of each table in a CSV study folder (Parquet: ``<name>.parquet``).
TABLE_FILES = {key: f"{key}.csv" for key in TABLE_KEYS}
_FORMATS = ("csv", "parquet")


def _deprecated(old: str, new: str) -> None:
    """Warn callers outside the kit that ``old`` is deprecated (the kit's own calls stay quiet)."""
    caller = sys._getframe(2).f_globals.get("__name__", "")
    if caller.split(".")[0] != "stseval":
        warnings.warn(
            f"{old} is deprecated and will be removed in the next release; use {new}",
            DeprecationWarning,
            stacklevel=3,
        )


class Study:
    """A study: its tables and ``study.yaml`` metadata. Immutable.

    Attributes
    ----------
    meta : dict
        The full ``study.yaml`` mapping (``name``, ``waves``, ``instruments``,
        ``min_cell``, ``design``, ``provenance``, ...); a copy.
    workers : DataFrame
        ``worker_id, org_id, team_id`` and optional ``role, tenure_years``.
    responses : DataFrame
        ``worker_id, wave, date`` (datetime) then item columns ``<key>_<NN>``
        (nullable integers; missing = ``<NA>``) and any link-code columns (text).
    orgs : DataFrame
        ``org_id, name, size``.
    interventions : DataFrame
        ``org_id, area, start_date`` (datetime) and optional ``team_id``; orgs
        with no row are comparison orgs.
    org_metrics : DataFrame
        ``org_id, month`` (datetime, first day of the month), ``headcount,
        separations, absence_days``; empty if the study has none.
    truth : DataFrame or None
        ``area, outcome, estimand, value`` and optional ``wave, cohort``
        (synthetic studies only).
    programs : DataFrame or None
        ``program, statement, start_date, team_id, worker_id`` (optional).
    source : Path or None
        The folder the study was read from, if any.
    design : Design
        The study's design (:class:`stseval.design.Design`).

    Every table attribute returns a copy: change it and build a new study with
    :meth:`replace`.
    """

    __slots__ = ("_meta", "_frames", "_source", "_cache", "_typed", "_format")

    def __init__(
        self,
        meta: dict,
        workers: pd.DataFrame,
        responses: pd.DataFrame,
        orgs: pd.DataFrame,
        interventions: pd.DataFrame,
        org_metrics: pd.DataFrame | None = None,
        truth: pd.DataFrame | None = None,
        source: Path | None = None,
        programs: pd.DataFrame | None = None,
    ):
        frames = {
            "workers": workers,
            "responses": responses,
            "orgs": orgs,
            "interventions": interventions,
            "org_metrics": org_metrics,
            "truth": truth,
            "programs": programs,
        }
        frames = {k: (v.copy(deep=False) if v is not None else None) for k, v in frames.items()}
        object.__setattr__(self, "_meta", copy.deepcopy(dict(meta or {})))
        object.__setattr__(self, "_frames", frames)
        object.__setattr__(self, "_source", Path(source) if source is not None else None)
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "_typed", False)
        object.__setattr__(self, "_format", "csv")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"a Study is immutable: make a new one with study.replace({name}=...) "
            f"instead of assigning study.{name}"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Study is immutable")

    def __reduce__(self):
        """Pickle (worker processes, Dask) without going through the refused ``__setattr__``."""
        state = (self._meta, self._frames, self._source, self._typed, self._format)
        return (_restore, state)

    # -- tables and metadata --------------------------------------------------
    def _table(self, key: str) -> pd.DataFrame | None:
        self._ensure_typed()
        frame = self._frames[key]
        return frame.copy(deep=False) if frame is not None else None

    workers = property(lambda self: self._table("workers"), doc="The workers table (a copy).")
    responses = property(lambda self: self._table("responses"), doc="The responses (a copy).")
    orgs = property(lambda self: self._table("orgs"), doc="The organizations table (a copy).")
    interventions = property(lambda self: self._table("interventions"), doc="Interventions.")
    org_metrics = property(lambda self: self._table("org_metrics"), doc="Monthly indicators.")
    truth = property(lambda self: self._table("truth"), doc="The truth table or None.")
    programs = property(lambda self: self._table("programs"), doc="Programs table or None.")

    @property
    def meta(self) -> dict:
        return copy.deepcopy(self._meta)

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def name(self) -> str:
        return str(self._meta.get("name") or (self._source.name if self._source else "study"))

    @property
    def waves(self) -> list[str]:
        waves = self._meta.get("waves") or DEFAULT_WAVES
        if not isinstance(waves, list):
            return list(DEFAULT_WAVES)
        return [str(w.get("name")) if isinstance(w, dict) else str(w) for w in waves]

    @property
    def instruments(self) -> list[str]:
        insts = self._meta.get("instruments") or []
        return [str(i) for i in insts] if isinstance(insts, list) else []

    @property
    def min_cell(self) -> int:
        value = self._meta.get("min_cell")
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        return value if ok else 5

    @property
    def min_orgs(self) -> int | None:
        value = self._meta.get("min_orgs")
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        return value if ok else None

    @property
    def provenance(self) -> dict:
        prov = self._meta.get("provenance") or {}
        return copy.deepcopy(dict(prov)) if isinstance(prov, dict) else {}

    @property
    def is_synthetic(self) -> bool:
        """True for a simulated study (it has a truth table or says so in its provenance)."""
        return self._frames["truth"] is not None or bool(self.provenance.get("synthetic"))

    @property
    def design(self):
        """The study's :class:`stseval.design.Design` (waves, linkage, assignment, comparison)."""
        if "design" not in self._cache:
            from .design import design_of

            self._ensure_typed()
            self._cache["design"] = design_of(self)
        return self._cache["design"]

    def __repr__(self) -> str:
        f = self._frames
        return (
            f"Study({self.name!r}: {f['orgs']['org_id'].nunique()} orgs, "
            f"{len(f['workers'])} workers, {len(f['responses'])} responses, "
            f"waves {self.waves}, instruments {self.instruments}"
            f"{', synthetic' if self.is_synthetic else ''})"
        )

    def replace(self, *, validate: bool = True, **changes) -> Study:
        """A new study with some tables or ``meta`` replaced; this one is unchanged.

        Parameters
        ----------
        validate : bool
            Check the new study like :meth:`from_tables` (default True).
        **changes
            ``meta``, ``workers``, ``responses``, ``orgs``, ``interventions``,
            ``org_metrics``, ``truth``, ``programs`` or ``source``.

        Returns
        -------
        Study

        Raises
        ------
        UsageError
            An unknown name.
        DataValidationError
            The new study does not pass validation.
        """
        known = {"meta", "source", *TABLE_KEYS}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise UsageError(f"replace() got unknown name(s) {unknown}; known: {sorted(known)}")
        args = {k: self._frames[k] for k in TABLE_KEYS}
        args.update(meta=self._meta, source=self._source)
        args.update(changes)
        new = Study(**args)
        object.__setattr__(new, "_format", self._format)
        if validate:
            for text in new.validate():
                warnings.warn(text, stacklevel=2)
        new._normalize()
        return new

    # -- reading and writing -------------------------------------------------
    @classmethod
    def from_dir(cls, path: str | Path, *, validate: bool = True) -> Study:
        """Read a study folder (CSV or Parquet tables, chosen by the files found).

        Parameters
        ----------
        path : str or Path
            The folder holding ``study.yaml`` and the tables.
        validate : bool
            Check the files and tables (see :mod:`stseval.validate`) and raise
            on any error; warnings are issued with :func:`warnings.warn`. With
            ``False`` the tables are read as they are (dates that do not parse
            become missing) and only unreadable files raise.

        Raises
        ------
        UsageError
            ``path`` is not a folder.
        DataValidationError
            Any problem, all of them listed (file, column, rows, problem).
        """
        from ._studyread import read_study_files, table_failures

        path = Path(path)
        meta, tables, failures, warns, files = read_study_files(path)
        read_notes = list(warns)
        study = cls(meta=meta, **tables, source=path)
        fmt = "parquet" if files["responses"].endswith(".parquet") else "csv"
        object.__setattr__(study, "_format", fmt)
        if validate:
            errors, more = table_failures(study._raw(), base=path, files=files)
            failures = failures + errors
            warns = warns + more
        if failures:
            raise _folder_error(path, failures, notes=read_notes)
        if any(tables[k] is None for k in ("workers", "responses", "orgs", "interventions")):
            raise _folder_error(path, [], notes=read_notes)
        for text in warns if validate else []:
            warnings.warn(f"{path}: {text}", stacklevel=2)
        study._normalize()
        return study

    @classmethod
    def from_tables(
        cls,
        meta: dict,
        *,
        workers: pd.DataFrame,
        responses: pd.DataFrame,
        orgs: pd.DataFrame,
        interventions: pd.DataFrame,
        org_metrics: pd.DataFrame | None = None,
        truth: pd.DataFrame | None = None,
        programs: pd.DataFrame | None = None,
        validate: bool = True,
    ) -> Study:
        """Build a study from tables in memory (text or typed), checked like :meth:`from_dir`.

        The caller's frames are not modified. Warnings are issued with
        :func:`warnings.warn`; errors raise one :class:`DataValidationError`.
        """
        study = cls(
            meta=dict(meta or {}),
            workers=workers,
            responses=responses,
            orgs=orgs,
            interventions=interventions,
            org_metrics=org_metrics,
            truth=truth,
            programs=programs,
        )
        if validate:
            for text in study.validate():
                warnings.warn(text, stacklevel=2)
        study._normalize()
        return study

    def to_dir(
        self, path: str | Path, *, overwrite: bool = False, format: str | None = None
    ) -> Path:
        """Write the study as a folder, byte for byte the same for the same study.

        CSV: rows sorted by their keys, floats written with ``%.6g``, whole
        numbers as integers, dates ``YYYY-MM-DD``, months ``YYYY-MM``, line
        endings LF. Parquet: the same rows with their in-memory types (zstd).
        ``study.yaml`` with sorted keys.

        Parameters
        ----------
        path : str or Path
            Folder to write (created if needed).
        overwrite : bool
            Allow writing into a folder that already has files; the study's
            own files are replaced (a stale ``truth.csv``, or the other
            format's copy of a table, is removed), other files are left alone.
        format : {"csv", "parquet"}, optional
            Table format; default: the format the study was read in (CSV for
            a study built in memory).

        Returns
        -------
        Path
            The folder.
        """
        fmt = format or self._format
        if fmt not in _FORMATS:
            raise UsageError(f"format must be one of {', '.join(_FORMATS)}; got {format!r}")
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise UsageError(
                f"study folder {path} is not empty; pass overwrite=True "
                "(command line: --overwrite) to replace its study files"
            )
        self._ensure_typed()
        tables = sorted_tables(self._frames, self.waves)
        path.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(
            plain(self._meta),
            sort_keys=True,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        (path / "study.yaml").write_bytes(text.encode("utf-8"))
        write_tables(tables, path, fmt)
        return path

    def validate(self) -> list[str]:
        """Check the tables against the study-folder contract (see :mod:`stseval.validate`).

        Errors (all collected, then one :class:`DataValidationError`): a
        missing table or required column; blank or duplicated IDs; a wave not
        in ``study.yaml``; a worker answering twice in one wave; responses of
        workers not in ``workers.csv``; workers, interventions or metrics of
        orgs not in ``orgs.csv``; a team ID used in two orgs; interventions
        naming an unknown area; unparseable dates or months; numbers that are
        not numbers, infinite, negative or not whole; item values outside the
        instrument's range; an unknown instrument, text where a number belongs
        or an unknown design value in ``study.yaml``; design columns (link
        codes, team IDs, programs) that do not match the tables.

        Returns
        -------
        list of str
            Warnings (things that are allowed but worth knowing).
        """
        from ._studyread import table_failures

        errors, warns = table_failures(self._raw(), base=self._source, report_missing=True)
        if errors:
            raise DataValidationError(errors, title="the study did not pass validation")
        return warns

    def _raw(self) -> SimpleNamespace:
        """The tables as given (text or typed), for the checks: typing must not hide a bad value."""
        return SimpleNamespace(
            meta=self._meta, min_cell=self.min_cell, waves=self.waves, **self._frames
        )

    # -- normalization of types (after reading or simulating) -----------------
    def _normalize(self) -> Study:
        """Give every table the in-memory types documented on the class (once)."""
        if not self._typed:
            design = self._meta.get("design")
            codes = design.get("link_code_columns") if isinstance(design, dict) else None
            codes = [str(c) for c in codes] if isinstance(codes, list) else []
            object.__setattr__(
                self, "_frames", typed_tables(self._frames, text_response_columns=codes)
            )
            self._cache.clear()
            object.__setattr__(self, "_typed", True)
        return self

    def _ensure_typed(self) -> None:
        """Views need typed tables; a study built directly from raw text tables gets them here."""
        if not self._typed:
            self._normalize()

    # -- analysis views ---------------------------------------------------------
    def instrument_objects(self) -> list[Instrument]:
        """The study's instruments, loaded (a relative YAML path is read from the study folder)."""
        out = []
        for key in self.instruments:
            candidate = self._source / key if self._source is not None else None
            if candidate is not None and key.endswith((".yaml", ".yml")) and candidate.is_file():
                out.append(load_instrument(candidate))
            else:
                out.append(load_instrument(key))
        return out

    def scored(self, *, min_answered: Any = None) -> pd.DataFrame:
        """Responses scored with :func:`stseval.score` for every study instrument.

        Parameters
        ----------
        min_answered : float, int or mapping, optional
            Passed to :func:`stseval.score` (override of the missing-item rule).

        Returns
        -------
        DataFrame
            One row per response: ``worker_id, org_id, team_id, wave, date``,
            then every column :func:`stseval.score` returns for the study's
            instruments (``<key>_<scale>`` scores, bands, answered counts, ...),
            then ``role`` and ``tenure_years`` when ``workers.csv`` has them.
            Rows in the order of ``responses``. Cached per ``min_answered``
            (the study cannot change, so the cache cannot go stale); a copy is
            returned, so changing it does not touch the cache.
        """
        key = repr(sorted(min_answered.items()) if isinstance(min_answered, dict) else min_answered)
        key = f"scored:{key}"
        if key not in self._cache:
            self._cache[key] = self._score(min_answered)
        return self._cache[key].copy(deep=False)

    def with_scored(self, scored: pd.DataFrame) -> Study:
        """Use ``scored``, computed earlier by :meth:`scored`, as this study's scored table.

        For a table scored once and stored (``stseval report`` writes
        ``scored.parquet`` for its notebooks): :meth:`scored` then returns it instead
        of scoring again. Its rows must be the responses' rows, in order (checked on
        ``worker_id`` and ``wave``); the caller vouches that it was scored from this
        study with the default missing-item rules. Returns this study.

        Raises
        ------
        UsageError
            ``scored`` is not a DataFrame or its rows are not this study's responses.
        """
        if not isinstance(scored, pd.DataFrame):
            raise UsageError(f"scored must be a pandas DataFrame, got {type(scored).__name__}")
        responses = self.responses
        same = len(scored) == len(responses) and all(
            c in scored
            and scored[c].astype(str).to_numpy().tolist()
            == responses[c].astype(str).to_numpy().tolist()
            for c in ("worker_id", "wave")
        )
        if not same:
            raise UsageError(
                "the scored table is not this study's: its rows do not match responses.csv "
                "(worker_id, wave)"
            )
        self._cache["scored:None"] = scored  # the key scored() uses for min_answered=None
        return self

    def _score(self, min_answered) -> pd.DataFrame:
        from .scoring import score

        self._ensure_typed()
        responses, workers = self._frames["responses"], self._frames["workers"]
        insts = self.instrument_objects()
        cols = list(RESPONSE_ID_COLUMNS) + [
            c for i in insts for c in i.item_columns if c in responses.columns
        ]
        scores = score(
            responses[cols], insts, min_answered=min_answered, source=TABLE_FILES["responses"]
        )
        extra = [c for c in ("role", "tenure_years") if c in workers.columns]
        people = workers[["worker_id", "org_id", "team_id", *extra]]
        merged = scores.merge(people, on="worker_id", how="left", validate="many_to_one")
        score_cols = [c for c in scores.columns if c not in RESPONSE_ID_COLUMNS]
        return merged[["worker_id", "org_id", "team_id", "wave", "date", *score_cols, *extra]]

    def score_columns(self) -> list[str]:
        """Names of the scale-score columns of the study's instruments (``stss_total``, ...)."""
        return [c for i in self.instrument_objects() for c in i.scale_columns()]

    # -- deprecated wrappers of stseval.reshape --------------------------------
    def arms(self, area: str) -> pd.DataFrame:
        """Deprecated: use :func:`stseval.reshape.arms` (``reshape.arms(study, area)``)."""
        from . import reshape

        _deprecated("Study.arms(area)", "stseval.reshape.arms(study, area)")
        return reshape.arms(self, area)

    def wide(self, outcome: str, area: str) -> pd.DataFrame:
        """Deprecated: use :func:`stseval.reshape.wide` (``reshape.wide(study, outcome, area)``)."""
        from . import reshape

        _deprecated("Study.wide(outcome, area)", "stseval.reshape.wide(study, outcome, area)")
        return reshape.wide(self, outcome, area)

    def long(self, outcome: str, area: str) -> pd.DataFrame:
        """Deprecated: use :func:`stseval.reshape.long` (``reshape.long(study, outcome, area)``)."""
        from . import reshape

        _deprecated("Study.long(outcome, area)", "stseval.reshape.long(study, outcome, area)")
        return reshape.long(self, outcome, area)

    def org_months(self, area: str) -> pd.DataFrame:
        """Deprecated: use :func:`stseval.reshape.org_months` (``reshape.org_months(study, area)``)."""
        from . import reshape

        _deprecated("Study.org_months(area)", "stseval.reshape.org_months(study, area)")
        return reshape.org_months(self, area)

    def _arm_workers(self, area: str) -> pd.DataFrame:
        from . import reshape

        _deprecated("Study._arm_workers(area)", "stseval.reshape.arm_workers(study, area)")
        return reshape.arm_workers(self, area)

    def _outcome_scores(self, outcome: str) -> pd.DataFrame:
        from . import reshape

        _deprecated("Study._outcome_scores(outcome)", "stseval.reshape.outcome_scores(...)")
        return reshape.outcome_scores(self, outcome)


def _restore(meta, frames, source, typed, fmt) -> Study:
    study = object.__new__(Study)
    for name, value in (
        ("_meta", meta),
        ("_frames", frames),
        ("_source", source),
        ("_cache", {}),
        ("_typed", typed),
        ("_format", fmt),
    ):
        object.__setattr__(study, name, value)
    return study


def _folder_error(path: Path, failures: list[dict], notes=()) -> DataValidationError:
    """One error for every failure; notes about how files were read (encodings) go in the title."""
    also = "".join(f"; note: {n}" for n in notes)
    return DataValidationError(
        failures,
        title=f"study folder {path} did not pass validation (rows are line "
        f"numbers in the file; the header is line 1){also}",
    )
