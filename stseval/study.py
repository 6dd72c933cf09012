"""The :class:`Study`: a study folder's tables plus metadata, read, checked and written.

A study folder (``DESIGN.md``, "Study folder") holds ``study.yaml`` and the
tables ``workers.csv``, ``responses.csv``, ``orgs.csv``, ``interventions.csv``,
``org_metrics.csv`` and, for synthetic studies only, ``truth.csv``. Importers
and :func:`stseval.simulate` write it; everything else reads it through
:meth:`Study.from_dir`.

Validation collects *every* problem before raising one
:class:`~stseval.errors.DataValidationError` whose ``failures`` table names
the file, the column, the offending rows (line numbers of the CSV file, the
header being line 1) and the problem. Input files are never modified.

The analysis views (:meth:`Study.scored`, :meth:`Study.arms`,
:meth:`Study.wide`, :meth:`Study.long`, :meth:`Study.org_months`) are what
the estimators consume; their columns are fixed.

Tests (``tests/test_study.py``) check the round trip folder -> Study ->
folder byte for byte, every validation error on hand-broken copies of the
small synthetic study, and the arm and view definitions on hand-built tables.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .areas import AREA_KEYS
from .columns import DEFAULT_WAVES, INTERVENTION_COLUMNS, ORG_METRIC_COLUMNS, RESPONSE_ID_COLUMNS
from .errors import DataValidationError, UsageError
from .instruments import Instrument, load_instrument

__all__ = ["Study", "TABLE_FILES", "WORKDAYS_PER_MONTH"]

#: File name of each table in a study folder.
TABLE_FILES = {
    "workers": "workers.csv",
    "responses": "responses.csv",
    "orgs": "orgs.csv",
    "interventions": "interventions.csv",
    "org_metrics": "org_metrics.csv",
    "truth": "truth.csv",
}
_REQUIRED_TABLES = ("workers", "responses", "orgs", "interventions")
#: Columns held as text (IDs and labels); everything else is parsed.
_TEXT_COLUMNS = {
    "workers": ["worker_id", "org_id", "team_id", "role"],
    "responses": ["worker_id", "wave"],
    "orgs": ["org_id", "name"],
    "interventions": ["org_id", "area"],
    "org_metrics": ["org_id"],
    "truth": ["area", "outcome", "estimand"],
}
#: Whole-number columns that must not be negative.
_COUNT_COLUMNS = {
    "orgs": ["size"],
    "org_metrics": ["headcount", "separations", "absence_days"],
}
#: Working days per month used for ``absence_rate`` (DERIVED: 5 days x 52 weeks / 12 ~ 21).
WORKDAYS_PER_MONTH = 21
_FLOAT_FORMAT = "%.6g"


@dataclass(eq=False)
class Study:
    """A study: its tables and ``study.yaml`` metadata.

    Attributes
    ----------
    meta : dict
        The full ``study.yaml`` mapping (``name``, ``waves``, ``instruments``,
        ``min_cell``, ``provenance``, ...).
    workers : DataFrame
        ``worker_id, org_id, team_id`` and optional ``role, tenure_years``.
    responses : DataFrame
        ``worker_id, wave, date`` (datetime) then item columns ``<key>_<NN>``
        (nullable integers; missing = ``<NA>``).
    orgs : DataFrame
        ``org_id, name, size``.
    interventions : DataFrame
        ``org_id, area, start_date`` (datetime); orgs with no row are comparison orgs.
    org_metrics : DataFrame
        ``org_id, month`` (datetime, first day of the month), ``headcount,
        separations, absence_days``; empty if the study has none.
    truth : DataFrame or None
        ``area, outcome, estimand, value`` (synthetic studies only).
    source : Path or None
        The folder the study was read from, if any.
    """

    meta: dict
    workers: pd.DataFrame
    responses: pd.DataFrame
    orgs: pd.DataFrame
    interventions: pd.DataFrame
    org_metrics: pd.DataFrame
    truth: pd.DataFrame | None = None
    source: Path | None = None
    _cache: dict = field(default_factory=dict, repr=False)
    _typed: bool = field(default=False, repr=False)

    # -- metadata -------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.meta.get("name") or (self.source.name if self.source else "study"))

    @property
    def waves(self) -> list[str]:
        return [str(w) for w in self.meta.get("waves") or DEFAULT_WAVES]

    @property
    def instruments(self) -> list[str]:
        return [str(i) for i in self.meta.get("instruments") or []]

    @property
    def min_cell(self) -> int:
        return int(self.meta.get("min_cell") or 5)

    @property
    def provenance(self) -> dict:
        return dict(self.meta.get("provenance") or {})

    @property
    def is_synthetic(self) -> bool:
        """True for a simulated study (it has a truth table or says so in its provenance)."""
        return self.truth is not None or bool(self.provenance.get("synthetic"))

    def __repr__(self) -> str:
        return (
            f"Study({self.name!r}: {self.orgs['org_id'].nunique()} orgs, "
            f"{len(self.workers)} workers, {len(self.responses)} responses, "
            f"waves {self.waves}, instruments {self.instruments}"
            f"{', synthetic' if self.is_synthetic else ''})"
        )

    # -- reading and writing -------------------------------------------------
    @classmethod
    def from_dir(cls, path: str | Path, *, validate: bool = True) -> Study:
        """Read a study folder.

        Parameters
        ----------
        path : str or Path
            The folder holding ``study.yaml`` and the tables.
        validate : bool
            Check the tables (see :meth:`validate`) and raise on any error;
            warnings are issued with :func:`warnings.warn`. With ``False``
            the tables are read as they are (dates that do not parse become
            missing) and nothing is checked.

        Raises
        ------
        UsageError
            ``path`` is not a folder.
        DataValidationError
            Any table problem, all of them listed (file, column, rows, problem).
        """
        from ._io import read_table

        path = Path(path)
        if not path.is_dir():
            raise UsageError(f"study folder {path} does not exist or is not a folder")
        failures: list[dict] = []
        meta: dict = {}
        meta_file = path / "study.yaml"
        if not meta_file.is_file():
            failures.append(
                _fail(
                    "study.yaml",
                    "",
                    "",
                    "missing table: study.yaml is required "
                    "(name, waves, instruments, min_cell, provenance)",
                )
            )
        else:
            try:
                loaded = yaml.safe_load(meta_file.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                loaded = None
                failures.append(_fail("study.yaml", "", "", f"not valid YAML: {exc}"))
            if isinstance(loaded, dict):
                meta = loaded
            elif loaded is not None or not failures:
                failures.append(
                    _fail(
                        "study.yaml",
                        "",
                        "",
                        "must hold a mapping of fields "
                        "(name, waves, instruments, min_cell, provenance)",
                    )
                )
        tables: dict[str, pd.DataFrame | None] = {}
        for key, fname in TABLE_FILES.items():
            file = path / fname
            if not file.is_file():
                tables[key] = None
                if key in _REQUIRED_TABLES:
                    failures.append(_fail(fname, "", "", f"missing table: {fname} is required"))
                continue
            try:
                text_cols = [*_TEXT_COLUMNS[key], "date", "start_date", "month"]
                tables[key] = read_table(file, dtype={c: "str" for c in text_cols})
            except DataValidationError as exc:
                tables[key] = None
                for rec in exc.failures.to_dict("records"):
                    failures.append({**rec, "file": fname})
        study = cls(
            meta=meta,
            workers=tables["workers"],
            responses=tables["responses"],
            orgs=tables["orgs"],
            interventions=tables["interventions"],
            org_metrics=tables["org_metrics"],
            truth=tables["truth"],
            source=path,
        )
        if validate:
            from ._studycheck import check_study

            errors, warns = check_study(study, base=path)
            failures.extend(errors)
            if failures:
                raise DataValidationError(
                    failures,
                    title=f"study folder {path} did not pass validation (rows are line "
                    "numbers in the file; the header is line 1)",
                )
            for text in warns:
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
        )
        if validate:
            for text in study.validate():
                warnings.warn(text, stacklevel=2)
        study._normalize()
        return study

    def to_dir(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the study as a folder, byte for byte the same for the same study.

        Rows are sorted by their keys, floats written with ``%.6g``, whole
        numbers as integers, dates ``YYYY-MM-DD``, months ``YYYY-MM``, line
        endings LF, ``study.yaml`` with sorted keys.

        Parameters
        ----------
        path : str or Path
            Folder to write (created if needed).
        overwrite : bool
            Allow writing into a folder that already has files; the study's
            own files are replaced (a stale ``truth.csv`` is removed), other
            files are left alone.

        Returns
        -------
        Path
            The folder.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise UsageError(
                f"study folder {path} is not empty; pass overwrite=True "
                "(command line: --overwrite) to replace its study files"
            )
        path.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(
            _plain(self.meta),
            sort_keys=True,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        (path / "study.yaml").write_bytes(text.encode("utf-8"))
        for key, frame in self._sorted_tables().items():
            target = path / TABLE_FILES[key]
            if frame is None:
                if target.exists():
                    target.unlink()
                continue
            data = frame.to_csv(
                index=False, lineterminator="\n", float_format=_FLOAT_FORMAT, na_rep=""
            )
            target.write_bytes(data.encode("utf-8"))
        return path

    def _sorted_tables(self) -> dict[str, pd.DataFrame | None]:
        wave_rank = {w: i for i, w in enumerate(self.waves)}
        resp = self.responses.copy()
        resp["_rank"] = resp["wave"].map(wave_rank)
        resp = resp.sort_values(["worker_id", "_rank", "wave"], kind="mergesort").drop(
            columns="_rank"
        )
        resp["date"] = _date_text(resp["date"], "%Y-%m-%d")
        inter = self.interventions.sort_values(["org_id", "area"], kind="mergesort").copy()
        inter["start_date"] = _date_text(inter["start_date"], "%Y-%m-%d")
        metrics = self.org_metrics
        if metrics is not None:
            metrics = metrics.sort_values(["org_id", "month"], kind="mergesort").copy()
            metrics["month"] = _date_text(metrics["month"], "%Y-%m")
        truth = self.truth
        if truth is not None:
            truth = truth.sort_values(["area", "outcome", "estimand"], kind="mergesort")
        return {
            "workers": self.workers.sort_values("worker_id", kind="mergesort"),
            "responses": resp,
            "orgs": self.orgs.sort_values("org_id", kind="mergesort"),
            "interventions": inter,
            "org_metrics": metrics,
            "truth": truth,
        }

    def validate(self) -> list[str]:
        """Check the tables against the study-folder contract.

        Errors (all collected, then one :class:`DataValidationError`): a
        missing table or required column; blank or duplicated IDs; a wave not
        in ``study.yaml``; a worker answering twice in one wave; responses of
        workers not in ``workers.csv``; workers, interventions or metrics of
        orgs not in ``orgs.csv``; a team ID used in two orgs; interventions
        naming an unknown area (valid: :data:`stseval.areas.AREA_KEYS`);
        unparseable dates or months; negative or non-whole counts; item
        values outside the instrument's range (the text of
        :func:`stseval.score`); an unknown instrument in ``study.yaml``.

        Returns
        -------
        list of str
            Warnings: orgs with fewer workers than ``min_cell``, workers with
            no response, waves nobody answered, blank dates, missing
            ``org_metrics.csv``, item columns of no listed instrument.
        """
        from ._studycheck import check_study

        errors, warns = check_study(self, base=self.source, report_missing=True)
        if errors:
            raise DataValidationError(
                errors,
                title="the study did not pass validation (rows are "
                "line numbers; the header is line 1)",
            )
        return warns

    # -- normalization of types (after reading or simulating) -----------------
    def _normalize(self) -> None:
        """Give every table the in-memory types documented on the class."""
        self.meta = dict(self.meta or {})
        self.workers = _text(self.workers, _TEXT_COLUMNS["workers"])
        if "tenure_years" in self.workers:
            self.workers["tenure_years"] = pd.to_numeric(
                self.workers["tenure_years"], errors="coerce"
            ).astype("float64")
        resp = _text(self.responses, _TEXT_COLUMNS["responses"])
        if "date" in resp:
            resp["date"] = _to_datetime(resp["date"])
        item_cols = [c for c in resp.columns if c not in RESPONSE_ID_COLUMNS]
        for col in item_cols:
            resp[col] = _to_items(resp[col])
        self.responses = resp
        self.orgs = _text(self.orgs, _TEXT_COLUMNS["orgs"])
        if "size" in self.orgs:
            self.orgs["size"] = _to_count(self.orgs["size"])
        inter = self.interventions
        if inter is None:
            inter = pd.DataFrame({c: pd.Series(dtype="str") for c in INTERVENTION_COLUMNS})
        inter = _text(inter, _TEXT_COLUMNS["interventions"])
        if "start_date" in inter:
            inter["start_date"] = _to_datetime(inter["start_date"])
        self.interventions = inter
        metrics = self.org_metrics
        if metrics is None:
            metrics = pd.DataFrame({c: pd.Series(dtype="str") for c in ORG_METRIC_COLUMNS})
        metrics = _text(metrics, _TEXT_COLUMNS["org_metrics"])
        if "month" in metrics:
            month = _to_datetime(metrics["month"]).dt.to_period("M").dt.to_timestamp()
            metrics["month"] = month.astype("datetime64[ns]")
        for col in _COUNT_COLUMNS["org_metrics"]:
            if col in metrics:
                metrics[col] = _to_count(metrics[col])
        self.org_metrics = metrics
        if self.truth is not None:
            truth = _text(self.truth, _TEXT_COLUMNS["truth"])
            if "value" in truth:
                truth["value"] = pd.to_numeric(truth["value"], errors="coerce").astype("float64")
            self.truth = truth
        for name in ("workers", "responses", "orgs", "interventions", "org_metrics", "truth"):
            frame = getattr(self, name)
            if frame is not None:
                setattr(self, name, frame.reset_index(drop=True))
        self._cache.clear()
        self._typed = True

    def _ensure_typed(self) -> None:
        """Views need typed tables; a study built directly from raw text tables gets them here."""
        if not self._typed:
            self._normalize()

    # -- analysis views ---------------------------------------------------------
    def instrument_objects(self) -> list[Instrument]:
        """The study's instruments, loaded (a relative YAML path is read from the study folder)."""
        out = []
        for key in self.instruments:
            candidate = self.source / key if self.source is not None else None
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
            Rows in the order of ``responses``. Cached per ``min_answered``;
            a copy is returned, so changing it does not touch the cache.
        """
        from .scoring import score

        self._ensure_typed()
        key = repr(sorted(min_answered.items()) if isinstance(min_answered, dict) else min_answered)
        if key not in self._cache:
            insts = self.instrument_objects()
            cols = list(RESPONSE_ID_COLUMNS) + [
                c for i in insts for c in i.item_columns if c in self.responses.columns
            ]
            scores = score(
                self.responses[cols],
                insts,
                min_answered=min_answered,
                source=TABLE_FILES["responses"],
            )
            extra = [c for c in ("role", "tenure_years") if c in self.workers.columns]
            people = self.workers[["worker_id", "org_id", "team_id", *extra]]
            merged = scores.merge(people, on="worker_id", how="left", validate="many_to_one")
            score_cols = [c for c in scores.columns if c not in RESPONSE_ID_COLUMNS]
            order = ["worker_id", "org_id", "team_id", "wave", "date", *score_cols, *extra]
            self._cache[key] = merged[order]
        return self._cache[key].copy()

    def score_columns(self) -> list[str]:
        """Names of the scale-score columns of the study's instruments (``stss_total``, ...)."""
        return [c for i in self.instrument_objects() for c in i.scale_columns()]

    def arms(self, area: str) -> pd.DataFrame:
        """The intervention and comparison orgs for one organizational area.

        Intervention orgs have a row for ``area`` in ``interventions.csv``.
        Comparison orgs have no row in ``interventions.csv`` at all: an org
        that changed another area is in neither arm of this one.

        Returns
        -------
        DataFrame
            ``org_id, arm, start_date``: ``arm`` is ``"intervention"`` or
            ``"comparison"``; a comparison org's ``start_date`` is the
            reference date used to split its months into before and after:
            the lower median of the intervention orgs' start dates (missing
            if the area has no intervention org). Sorted by ``org_id``.
        """
        if area not in AREA_KEYS:
            raise UsageError(
                f"unknown area {area!r}; organizational areas are {', '.join(AREA_KEYS)}"
            )
        self._ensure_typed()
        inter = self.interventions
        mine = inter[inter["area"] == area].groupby("org_id", sort=True)["start_date"].min()
        changed = set(inter["org_id"])
        comparison = sorted(o for o in self.orgs["org_id"] if o not in changed)
        starts = np.sort(mine.dropna().to_numpy())
        ref = starts[(len(starts) - 1) // 2] if len(starts) else pd.NaT
        out = pd.concat(
            [
                pd.DataFrame(
                    {
                        "org_id": mine.index.astype("str"),
                        "arm": "intervention",
                        "start_date": mine.to_numpy(),
                    }
                ),
                pd.DataFrame(
                    {
                        "org_id": pd.Series(comparison, dtype="str"),
                        "arm": "comparison",
                        "start_date": pd.Series([ref] * len(comparison), dtype="datetime64[ns]"),
                    }
                ),
            ],
            ignore_index=True,
        )
        out["start_date"] = out["start_date"].astype("datetime64[ns]")
        return out.sort_values("org_id", kind="mergesort").reset_index(drop=True)

    def _arm_workers(self, area: str) -> pd.DataFrame:
        arms = self.arms(area)
        arms = arms.assign(treated=(arms["arm"] == "intervention").astype("int64"))
        return self.workers[["worker_id", "org_id", "team_id"]].merge(
            arms[["org_id", "treated"]], on="org_id", how="inner"
        )

    def _outcome_scores(self, outcome: str) -> pd.DataFrame:
        scored = self.scored()
        if outcome not in scored.columns:
            raise UsageError(
                f"unknown outcome {outcome!r}; score columns of this study are "
                f"{', '.join(self.score_columns())}"
            )
        return scored[["worker_id", "wave", outcome]]

    def wide(self, outcome: str, area: str) -> pd.DataFrame:
        """One row per worker of the area's arms with the outcome at the first two waves.

        Returns
        -------
        DataFrame
            ``worker_id, org_id, team_id, treated, pre, post``: ``treated`` is
            1 for intervention orgs and 0 for comparison orgs; ``pre`` and
            ``post`` are the ``outcome`` score at ``waves[0]`` and ``waves[1]``
            (missing where the worker did not answer or the score is missing).
            Every worker of the arms is listed, sorted by ``worker_id``.
        """
        if len(self.waves) < 2:
            raise UsageError(f"wide() needs two waves; study.yaml lists {self.waves}")
        people = self._arm_workers(area)
        y = self._outcome_scores(outcome)
        first, second = self.waves[0], self.waves[1]
        pre = y[y["wave"] == first].set_index("worker_id")[outcome]
        post = y[y["wave"] == second].set_index("worker_id")[outcome]
        out = people.assign(
            pre=people["worker_id"].map(pre).astype("float64"),
            post=people["worker_id"].map(post).astype("float64"),
        )
        return out.sort_values("worker_id", kind="mergesort").reset_index(drop=True)

    def long(self, outcome: str, area: str) -> pd.DataFrame:
        """One row per response (worker x wave) of the area's arms with a non-missing outcome.

        Returns
        -------
        DataFrame
            ``worker_id, org_id, team_id, treated, wave, y``; sorted by worker
            and wave order; rows whose score is missing are dropped.
        """
        people = self._arm_workers(area)
        y = self._outcome_scores(outcome).rename(columns={outcome: "y"})
        out = people.merge(y, on="worker_id", how="inner")
        out = out[out["wave"].isin(self.waves) & out["y"].notna()].copy()
        out["_rank"] = out["wave"].map({w: i for i, w in enumerate(self.waves)})
        out = out.sort_values(["worker_id", "_rank"], kind="mergesort")
        out["y"] = out["y"].astype("float64")
        return out[["worker_id", "org_id", "team_id", "treated", "wave", "y"]].reset_index(
            drop=True
        )

    def org_months(self, area: str) -> pd.DataFrame:
        """Monthly organizational indicators of the area's arms.

        Returns
        -------
        DataFrame
            ``org_id, month, headcount, separations, absence_days, treated,
            start_date, post, rel_month, separation_rate, absence_rate``:
            ``post`` is 1 from the month of ``start_date`` on (comparison orgs
            use the reference date of :meth:`arms`); ``rel_month`` counts months
            from that month (0 = first month after the start);
            ``separation_rate = separations / headcount`` and ``absence_rate =
            absence_days / (headcount x 21 working days)``. Sorted by org and month.
        """
        arms = self.arms(area)
        arms = arms.assign(treated=(arms["arm"] == "intervention").astype("int64"))
        m = self.org_metrics.merge(
            arms[["org_id", "treated", "start_date"]], on="org_id", how="inner"
        )
        start_month = m["start_date"].dt.to_period("M")
        month = m["month"].dt.to_period("M")
        valid = start_month.notna() & month.notna()
        rel = np.full(len(m), np.nan)
        rel[valid.to_numpy()] = [
            (a - b).n for a, b in zip(month[valid], start_month[valid], strict=False)
        ]
        m["rel_month"] = pd.array(rel, dtype="Float64").astype("Int64")
        m["post"] = (m["rel_month"] >= 0).astype("Int64")
        head = m["headcount"].astype("float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            m["separation_rate"] = m["separations"].astype("float64") / head
            m["absence_rate"] = m["absence_days"].astype("float64") / (head * WORKDAYS_PER_MONTH)
        cols = [
            "org_id",
            "month",
            "headcount",
            "separations",
            "absence_days",
            "treated",
            "start_date",
            "post",
            "rel_month",
            "separation_rate",
            "absence_rate",
        ]
        return m[cols].sort_values(["org_id", "month"], kind="mergesort").reset_index(drop=True)


# -- helpers --------------------------------------------------------------------
def _fail(file, column, rows, problem) -> dict:
    return {"file": file, "column": column, "rows": rows, "problem": problem}


def _plain(value):
    """Turn NumPy scalars, tuples and Paths into plain YAML-safe Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _text(frame: pd.DataFrame, columns) -> pd.DataFrame:
    frame = frame.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    for col in columns:
        if col in frame.columns:
            values = frame[col]
            if isinstance(values.dtype, pd.StringDtype):
                continue
            mask = values.isna()
            values = values.astype("str")
            frame[col] = values.where(~mask.to_numpy(), np.nan) if mask.any() else values
    return frame


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    text = values.astype("str").str.strip()
    parsed = pd.to_datetime(
        text.where(values.notna() & (text != "")), format="ISO8601", errors="coerce"
    )
    return parsed.astype("datetime64[ns]")


def _date_text(values: pd.Series, fmt: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime(fmt)
    return values


def _to_count(values: pd.Series) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    whole = num.notna() & (num == np.round(num))
    return num.where(whole).astype("Int64")


def _to_items(values: pd.Series) -> pd.Series:
    """Item answers as nullable small integers (floats if a value is not a whole number)."""
    if isinstance(values.dtype, pd.Int8Dtype):
        return values
    num = pd.to_numeric(values, errors="coerce")
    finite = num.dropna()
    if len(finite) == 0 or (
        (finite == np.round(finite)).all() and finite.min() >= -128 and finite.max() <= 127
    ):
        return num.astype("Int8")
    return num.astype("Float64")
