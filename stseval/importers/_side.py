"""The small side files a mapping names: organizations, interventions, monthly org metrics.

They use the study-folder column names (``orgs``: ``org_id`` and optional
``name, size``; ``interventions``: ``org_id, area, start_date``;
``org_metrics``: ``org_id, month, headcount, separations, absence_days``).
Problems name the side file, its column and lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._io import read_table
from ..areas import AREA_KEYS
from ..columns import INTERVENTION_COLUMNS, ORG_METRIC_COLUMNS
from ..errors import StsevalError, format_counts, format_rows
from ._mapping import Mapping, close_matches
from ._values import is_blank, parse_dates

__all__ = ["read_side_files"]


class _Side:
    def __init__(self, mapping: Mapping):
        self.map = mapping
        self.failures: list[dict] = []

    def fail(self, column, rows, problem, file=None):
        self.failures.append(
            {
                "file": str(file or self.map.source),
                "column": column,
                "rows": rows,
                "problem": problem,
            }
        )

    def side(self, path: Path | None, required: list[str], what: str) -> pd.DataFrame | None:
        if path is None:
            return None
        if not path.is_file():
            self.fail(
                "",
                "",
                f"the mapping names {what} file {path}, which "
                + ("is a folder, not a file" if path.is_dir() else "does not exist"),
                file=self.map.source,
            )
            return None
        try:
            frame = read_table(path)
        except StsevalError as exc:
            failures = getattr(exc, "failures", None)
            if failures is not None:
                self.failures.extend(failures.to_dict("records"))
            else:
                self.fail("", "", str(exc), file=path)
            return None
        absent = [c for c in required if c not in frame.columns]
        for col in absent:
            self.fail(
                col,
                "",
                f"missing column {col} ({what} needs {', '.join(required)}; "
                f"found {', '.join(frame.columns)}){close_matches(col, frame.columns)}",
                file=path,
            )
        if absent:
            return None
        frame = frame.copy()
        for col in frame.columns:
            frame[col] = frame[col].where(~is_blank(frame[col]), np.nan)
            frame[col] = frame[col].map(lambda v: v.strip() if isinstance(v, str) else v)
        return frame

    def read(self, orgs_seen: set) -> dict:
        m = self.map
        orgs = self.side(m.orgs_file, ["org_id"], "the organizations")
        inter = self.side(m.interventions_file, INTERVENTION_COLUMNS, "the interventions")
        metrics = self.side(m.org_metrics_file, ORG_METRIC_COLUMNS, "the org metrics")
        known = set(orgs_seen)
        if orgs is not None:
            known |= self.check_orgs(orgs)
        for frame, path in ((inter, m.interventions_file), (metrics, m.org_metrics_file)):
            if frame is not None:
                self.check_known(frame, path, known)
        if inter is not None:
            inter = self.check_interventions(inter)
        if metrics is not None:
            metrics = self.check_metrics(metrics)
        return {"orgs": orgs, "interventions": inter, "org_metrics": metrics}

    def check_orgs(self, orgs: pd.DataFrame) -> set:
        path = self.map.orgs_file
        blank = orgs["org_id"].isna()
        if blank.any():
            self.fail("org_id", format_rows(orgs.index[blank]), "blank org_id", file=path)
        if "size" in orgs.columns:
            num = pd.to_numeric(orgs["size"], errors="coerce").astype("float64")
            whole = np.isfinite(num) & (num >= 0) & (num == np.round(num))
            bad = orgs["size"].notna() & ~whole
            if bad.any():
                self.fail(
                    "size",
                    format_rows(orgs.index[bad]),
                    "size must be a whole number of staff (got "
                    f"{', '.join(repr(v) for v in orgs.loc[bad, 'size'][:3])})",
                    file=path,
                )
        return set(orgs["org_id"].dropna())

    def check_known(self, frame: pd.DataFrame, path, known: set) -> None:
        unknown = ~frame["org_id"].isin(known) & frame["org_id"].notna()
        if unknown.any():
            self.fail(
                "org_id",
                format_rows(frame.index[unknown]),
                f"{int(unknown.sum())} row(s) name organizations that have no workers "
                f"in the export and are not in the orgs file: "
                f"{', '.join(pd.unique(frame.loc[unknown, 'org_id'])[:5])}",
                file=path,
            )

    def check_interventions(self, inter: pd.DataFrame) -> pd.DataFrame:
        path = self.map.interventions_file
        bad = ~inter["area"].isin(AREA_KEYS)
        if bad.any():
            self.fail(
                "area",
                format_rows(inter.index[bad]),
                f"unknown area(s) {format_counts(inter.loc[bad, 'area'].fillna(''))}; "
                f"valid areas are {', '.join(AREA_KEYS)}",
                file=path,
            )
        parsed, badd = parse_dates(inter["start_date"], None)
        badd |= inter["start_date"].isna().to_numpy()
        if badd.any():
            self.fail(
                "start_date",
                format_rows(inter.index[badd]),
                "start dates must be written YYYY-MM-DD",
                file=path,
            )
        return inter.assign(start_date=parsed)

    def check_metrics(self, metrics: pd.DataFrame) -> pd.DataFrame:
        path = self.map.org_metrics_file
        month = pd.to_datetime(
            metrics["month"].astype("str").str.strip(), format="ISO8601", errors="coerce"
        )
        bad = month.isna().to_numpy()
        if bad.any():
            self.fail(
                "month",
                format_rows(metrics.index[bad]),
                "months must be written YYYY-MM",
                file=path,
            )
        metrics = metrics.assign(month=month.dt.strftime("%Y-%m"))
        for col in ("headcount", "separations", "absence_days"):
            num = pd.to_numeric(metrics[col], errors="coerce").astype("float64")
            badn = metrics[col].notna() & ~(np.isfinite(num) & (num >= 0))
            if badn.any():
                self.fail(
                    col,
                    format_rows(metrics.index[badn]),
                    f"{col} must be a non-negative whole number (got "
                    f"{', '.join(repr(v) for v in metrics.loc[badn, col][:3])})",
                    file=path,
                )
        return metrics


def read_side_files(mapping: Mapping, orgs_seen: set) -> tuple[dict, list[dict]]:
    """Read and check the side files; ``orgs_seen`` are the org IDs of the export's workers.

    Returns
    -------
    frames : dict
        ``orgs``, ``interventions``, ``org_metrics``: DataFrames (text, blanks as NaN;
        start dates ``YYYY-MM-DD``, months ``YYYY-MM``) or None when not given.
    failures : list of dict
        Problems (file, column, rows, problem).
    """
    side = _Side(mapping)
    frames = side.read(orgs_seen)
    return frames, side.failures
