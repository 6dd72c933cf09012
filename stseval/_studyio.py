"""Typing and writing a study's tables (private helper of :mod:`stseval.study`).

:func:`typed_tables` gives every table the in-memory types documented on
:class:`~stseval.study.Study`; :func:`write_tables` writes them as CSV
(byte for byte the same for the same study) or Parquet.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import INTERVENTION_COLUMNS, ORG_METRIC_COLUMNS, RESPONSE_ID_COLUMNS

__all__ = ["typed_tables", "sorted_tables", "write_tables", "plain", "isin", "TABLE_KEYS"]

TABLE_KEYS = ("workers", "responses", "orgs", "interventions", "org_metrics", "truth", "programs")
_TEXT = {
    "workers": ["worker_id", "org_id", "team_id", "role"],
    "responses": ["worker_id", "wave"],
    "orgs": ["org_id", "name"],
    "interventions": ["org_id", "area", "team_id"],
    "org_metrics": ["org_id"],
    "truth": ["area", "outcome", "estimand", "wave", "cohort"],
    "programs": ["program", "statement", "team_id", "worker_id"],
}
_COUNTS = {"orgs": ["size"], "org_metrics": ["headcount", "separations", "absence_days"]}
_FLOAT_FORMAT = "%.6g"


def typed_tables(frames: dict, *, text_response_columns=()) -> dict:
    """Every table with the documented in-memory types (the input frames are not changed)."""
    out = dict(frames)
    workers = _text(frames["workers"], _TEXT["workers"])
    if "tenure_years" in workers:
        tenure = pd.to_numeric(workers["tenure_years"], errors="coerce").astype("float64")
        workers["tenure_years"] = tenure.where(np.isfinite(tenure))
    out["workers"] = workers
    resp = _text(frames["responses"], [*_TEXT["responses"], *text_response_columns])
    if "date" in resp:
        resp["date"] = _to_datetime(resp["date"])
    skip = {*RESPONSE_ID_COLUMNS, *text_response_columns}
    for col in [c for c in resp.columns if c not in skip]:
        resp[col] = _to_items(resp[col])
    out["responses"] = resp
    orgs = _text(frames["orgs"], _TEXT["orgs"])
    if "size" in orgs:
        orgs["size"] = _to_count(orgs["size"])
    out["orgs"] = orgs
    out["interventions"] = _interventions(frames["interventions"])
    out["org_metrics"] = _metrics(frames["org_metrics"])
    if frames.get("truth") is not None:
        truth = _text(frames["truth"], _TEXT["truth"])
        if "value" in truth:
            truth["value"] = pd.to_numeric(truth["value"], errors="coerce").astype("float64")
        out["truth"] = truth
    if frames.get("programs") is not None:
        prog = _text(frames["programs"], _TEXT["programs"])
        if "start_date" in prog:
            prog["start_date"] = _to_datetime(prog["start_date"])
        out["programs"] = prog
    return {k: (v.reset_index(drop=True) if v is not None else None) for k, v in out.items()}


def _interventions(inter):
    if inter is None:
        inter = pd.DataFrame({c: pd.Series(dtype="str") for c in INTERVENTION_COLUMNS})
    inter = _text(inter, _TEXT["interventions"])
    if "start_date" in inter:
        inter["start_date"] = _to_datetime(inter["start_date"])
    return inter


def _metrics(metrics):
    if metrics is None:
        metrics = pd.DataFrame({c: pd.Series(dtype="str") for c in ORG_METRIC_COLUMNS})
    metrics = _text(metrics, _TEXT["org_metrics"])
    if "month" in metrics:
        month = _to_datetime(metrics["month"]).dt.to_period("M").dt.to_timestamp()
        metrics["month"] = month.astype("datetime64[ns]")
    for col in _COUNTS["org_metrics"]:
        if col in metrics:
            metrics[col] = _to_count(metrics[col])
    return metrics


def sorted_tables(frames: dict, waves: list[str]) -> dict:
    """The tables in the order they are written: rows sorted by their keys."""
    wave_rank = {w: i for i, w in enumerate(waves)}
    resp = frames["responses"].copy()
    resp["_rank"] = resp["wave"].map(wave_rank)
    resp = resp.sort_values(["worker_id", "_rank", "wave"], kind="mergesort")
    out = {
        "workers": frames["workers"].sort_values("worker_id", kind="mergesort"),
        "responses": resp.drop(columns="_rank"),
        "orgs": frames["orgs"].sort_values("org_id", kind="mergesort"),
        "interventions": frames["interventions"].sort_values(["org_id", "area"], kind="mergesort"),
        "org_metrics": None,
        "truth": None,
        "programs": None,
    }
    if frames.get("org_metrics") is not None:
        out["org_metrics"] = frames["org_metrics"].sort_values(
            ["org_id", "month"], kind="mergesort"
        )
    if frames.get("truth") is not None:
        out["truth"] = frames["truth"].sort_values(
            ["area", "outcome", "estimand"], kind="mergesort"
        )
    if frames.get("programs") is not None:
        keys = [c for c in ("program", "team_id", "worker_id") if c in frames["programs"]]
        out["programs"] = frames["programs"].sort_values(keys, kind="mergesort")
    return out


_DATE_FORMATS = {"date": "%Y-%m-%d", "start_date": "%Y-%m-%d", "month": "%Y-%m"}


def write_tables(frames: dict, folder: Path, fmt: str) -> None:
    """Write each table as ``<key>.csv`` or ``<key>.parquet``; remove the study's stale files."""
    ext = {"csv": ".csv", "parquet": ".parquet"}[fmt]
    for key in TABLE_KEYS:
        frame = frames.get(key)
        for stale in (folder / f"{key}.csv", folder / f"{key}.parquet"):
            if stale.is_file() and (frame is None or stale.suffix != ext):
                stale.unlink()
        if frame is None:
            continue
        target = folder / f"{key}{ext}"
        if fmt == "csv":
            frame = frame.copy()
            for col, dfmt in _DATE_FORMATS.items():
                if col in frame and pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col].dt.strftime(dfmt)
            data = frame.to_csv(
                index=False, lineterminator="\n", float_format=_FLOAT_FORMAT, na_rep=""
            )
            target.write_bytes(data.encode("utf-8"))
        else:
            _write_parquet(frame, target)


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, target, compression="zstd")


def plain(value):
    """Turn NumPy scalars, tuples and Paths into plain YAML-safe Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
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


def _to_count(values: pd.Series) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    whole = num.notna() & np.isfinite(num.astype("float64")) & (num == np.round(num))
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


def isin(values: pd.Series, known) -> np.ndarray:
    """``values.isin(known)`` as a boolean array, by hashing (fast on Arrow-backed text too)."""
    known = [k for k in known if isinstance(k, str)] if _is_text(values) else list(known)
    if _is_text(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.is_in(pa.array(values.array), value_set=pa.array(known, type=pa.string()))
        return np.asarray(found.fill_null(False), dtype=bool)
    index = pd.Index(np.asarray(known, dtype=object))
    return index.get_indexer(np.asarray(values, dtype=object)) >= 0


def _is_text(values: pd.Series) -> bool:
    """True for pandas' Arrow-backed text columns (``str`` with pyarrow storage)."""
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) and getattr(dtype, "storage", "") == "pyarrow"
