"""Checks of a study's tables (private helper of :mod:`stseval.validate`).

Works on tables as read from the files (all text) and on typed in-memory
tables alike. Every check appends to a list; nothing stops at the first
problem. Rows are reported as line numbers of the CSV file (header = line 1),
i.e. the row position + 2.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._studyio import isin
from .areas import AREA_KEYS
from .columns import (
    INTERVENTION_COLUMNS,
    ORG_COLUMNS,
    ORG_METRIC_COLUMNS,
    RESPONSE_ID_COLUMNS,
    TRUTH_COLUMNS,
    WORKER_COLUMNS,
)
from .errors import DataValidationError, StsevalError, format_rows

__all__ = ["isin", "table_checks"]

_ITEM_LIKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*_\d{2,3}$")


def _lines(mask) -> str:
    pos = np.flatnonzero(np.asarray(mask, dtype=bool))
    return "line " + format_rows(pos + 2) if len(pos) else ""


def _blank(values: pd.Series) -> np.ndarray:
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.astype("str").str.strip()
        return (values.isna() | (text == "")).to_numpy()
    return values.isna().to_numpy()


def _show(values, limit: int = 5) -> str:
    vals = list(dict.fromkeys(str(v) for v in values))
    more = len(vals) - limit
    return ", ".join(vals[:limit]) + (f" and {more} more" if more > 0 else "")


class _Checker:
    def __init__(self, study, base: Path | None, report_missing: bool):
        self.study = study
        self.base = base
        self.report_missing = report_missing
        self.errors: list[dict] = []
        self.warnings: list[str] = []

    def fail(self, file, column, mask_or_rows, problem):
        rows = mask_or_rows if isinstance(mask_or_rows, str) else _lines(mask_or_rows)
        self.errors.append({"file": file, "column": column, "rows": rows, "problem": problem})

    # -- study.yaml ----------------------------------------------------------
    def meta(self) -> list[str]:
        """Check study.yaml with its pydantic model; return the wave names."""
        from .design import parse_meta

        meta = self.study.meta or {}
        spec, failures = parse_meta(meta)
        self.errors.extend(failures)
        if spec is None:
            waves = meta.get("waves") if isinstance(meta.get("waves"), list) else None
            return [str(w) for w in waves if isinstance(w, (str, int))] if waves else []
        if spec.waves is None:
            self.warnings.append("study.yaml lists no waves; assuming pre, post")
        elif len(spec.waves) < 2:
            self.warnings.append(
                f"study.yaml lists one wave ({spec.waves[0].name}); "
                "change over time cannot be estimated"
            )
        if not spec.instruments:
            self.warnings.append("study.yaml lists no instruments; nothing will be scored")
        for key in spec.instruments or []:
            try:
                _load(str(key), self.base)
            except StsevalError as exc:
                self.fail("study.yaml", "instruments", "", str(exc))
        return [w.name for w in spec.waves] if spec.waves else ["pre", "post"]

    # -- tables ----------------------------------------------------------------
    def columns(self, key, file, required) -> bool:
        frame = getattr(self.study, key)
        if frame is None:
            if self.report_missing:
                self.fail(file, "", "", f"missing table: {file} is required")
            return False
        absent = [c for c in required if c not in frame.columns]
        for col in absent:
            self.fail(
                file,
                col,
                "",
                f"missing column {col} (the table needs "
                f"{', '.join(required)}; found {', '.join(map(str, frame.columns)) or 'none'})",
            )
        return not absent

    def ids(self, frame, file, cols):
        for col in cols:
            blank = _blank(frame[col])
            if blank.any():
                self.fail(
                    file,
                    col,
                    blank,
                    f"{int(blank.sum())} blank {col} value(s); every row needs one",
                )

    def unique(self, frame, file, cols, what):
        dup = frame.duplicated(cols, keep=False).to_numpy()
        if dup.any():
            keys = frame.loc[dup, cols].astype("str").agg(" x ".join, axis=1)
            self.fail(file, ", ".join(cols), dup, f"{what} listed more than once: {_show(keys)}")

    def refers(self, frame, file, col, known, target, what):
        values = frame[col]
        bad = ~isin(values, known) & ~_blank(values)
        if bad.any():
            self.fail(
                file,
                col,
                bad,
                f"{int(bad.sum())} row(s) name {what} not in {target}: {_show(values[bad])}",
            )

    def dates(self, frame, file, col, *, allow_blank, what="date", fmt="YYYY-MM-DD"):
        values = frame[col]
        blank = _blank(values)
        if pd.api.types.is_datetime64_any_dtype(values):
            bad = np.zeros(len(values), dtype=bool)
        else:
            text = values.astype("str").str.strip()
            parsed = pd.to_datetime(text.where(~blank), format="ISO8601", errors="coerce")
            bad = parsed.isna().to_numpy() & ~blank
        if bad.any():
            self.fail(
                file,
                col,
                bad,
                f"{int(bad.sum())} {what}(s) could not be read (e.g. "
                f"{_show(values[bad], 3)}); write them as {fmt}",
            )
        if blank.any():
            if allow_blank:
                self.warnings.append(f"{file}: {int(blank.sum())} blank {col} value(s)")
            else:
                self.fail(
                    file,
                    col,
                    blank,
                    f"{int(blank.sum())} blank {col} value(s); every row needs one ({fmt})",
                )

    def numbers(self, frame, file, col, *, whole, signed=False):
        values = frame[col]
        blank = _blank(values)
        num = pd.to_numeric(values, errors="coerce")
        notnum = num.isna().to_numpy() & ~blank
        if notnum.any():
            self.fail(
                file,
                col,
                notnum,
                f"{int(notnum.sum())} value(s) are not numbers (e.g. {_show(values[notnum], 3)})",
            )
        inf = np.isinf(num.to_numpy(dtype="float64", na_value=np.nan))
        if inf.any():
            self.fail(
                file,
                col,
                inf,
                f"{int(inf.sum())} value(s) are infinite or too large to hold "
                f"(e.g. {_show(values[inf], 3)}); expected a finite number",
            )
            num = num.where(~inf)
        with np.errstate(invalid="ignore"):
            neg = ~signed & (num < 0).to_numpy(dtype=bool, na_value=False)
            frac = whole & (num.notna() & (num != np.round(num))).to_numpy(
                dtype=bool, na_value=False
            )
        if neg.any():
            self.fail(
                file, col, neg, f"{int(neg.sum())} negative value(s); {col} cannot be below 0"
            )
        if frac.any():
            self.fail(file, col, frac, f"{int(frac.sum())} value(s) are not whole numbers")
        return num

    def run(self):
        s = self.study
        waves = self.meta()
        ok = {
            "workers": self.columns("workers", "workers.csv", WORKER_COLUMNS),
            "responses": self.columns("responses", "responses.csv", list(RESPONSE_ID_COLUMNS)),
            "orgs": self.columns("orgs", "orgs.csv", ORG_COLUMNS),
            "interventions": self.columns(
                "interventions", "interventions.csv", INTERVENTION_COLUMNS
            ),
        }
        if s.org_metrics is None:
            self.warnings.append("no org_metrics.csv: turnover and absence cannot be analysed")
            ok["org_metrics"] = False
        else:
            ok["org_metrics"] = self.columns("org_metrics", "org_metrics.csv", ORG_METRIC_COLUMNS)
        ok["truth"] = s.truth is not None and self.columns("truth", "truth.csv", TRUTH_COLUMNS)

        self.org_ids = self.worker_ids = None
        self.waves = waves
        for key in ("orgs", "workers", "responses", "interventions", "org_metrics"):
            if ok[key]:
                getattr(self, f"_{key}")()
        if ok["truth"]:
            self.numbers(s.truth, "truth.csv", "value", whole=False, signed=True)
        from ._designcheck import design_checks

        design_checks(self)
        return self

    def _orgs(self):
        s = self.study
        o = s.orgs
        self.ids(o, "orgs.csv", ["org_id"])
        self.unique(o, "orgs.csv", ["org_id"], "org")
        self.numbers(o, "orgs.csv", "size", whole=True)
        self.org_ids = set(o["org_id"].dropna().unique().tolist())

    def _workers(self):
        s, org_ids = self.study, self.org_ids
        w = s.workers
        self.ids(w, "workers.csv", ["worker_id", "org_id", "team_id"])
        self.unique(w, "workers.csv", ["worker_id"], "worker")
        if org_ids is not None:
            self.refers(w, "workers.csv", "org_id", org_ids, "orgs.csv", "organizations")
        teams = w.dropna(subset=["team_id", "org_id"]).groupby("team_id")["org_id"].nunique()
        shared = teams[teams > 1].index
        if len(shared):
            mask = w["team_id"].isin(shared).to_numpy()
            self.fail(
                "workers.csv",
                "team_id",
                mask,
                f"team ID(s) used in more than one "
                f"organization: {_show(shared)}; team IDs must be unique across the "
                "study (e.g. prefix the org: O01-T1)",
            )
        if "tenure_years" in w.columns:
            self.numbers(w, "workers.csv", "tenure_years", whole=False)
        self.worker_ids = set(w["worker_id"].dropna().unique().tolist())
        self._small_orgs(w)

    def _small_orgs(self, w):
        s, org_ids = self.study, self.org_ids
        if org_ids is not None:
            counts = w.groupby("org_id").size()
            small = counts[counts < s.min_cell]
            if len(small):
                self.warnings.append(
                    f"{len(small)} organization(s) have fewer than min_cell={s.min_cell} "
                    f"workers: {_show(f'{k} ({v})' for k, v in small.items())}; their "
                    "results will be suppressed in shared reports"
                )
            empty = sorted(org_ids - set(counts.index))
            if empty:
                self.warnings.append(
                    f"{len(empty)} organization(s) have no workers: {_show(empty)}"
                )

    def _responses(self):
        s, waves, worker_ids = self.study, self.waves, self.worker_ids
        r = s.responses
        self.ids(r, "responses.csv", ["worker_id", "wave"])
        self.unique(r, "responses.csv", ["worker_id", "wave"], "worker x wave")
        if waves:
            wave_col = r["wave"].astype("str")
            bad = (~wave_col.isin(waves) & ~pd.Series(_blank(r["wave"]), index=r.index)).to_numpy()
            if bad.any():
                self.fail(
                    "responses.csv",
                    "wave",
                    bad,
                    f"unknown wave(s) "
                    f"{_show(r['wave'][bad])}; study.yaml lists waves "
                    f"{', '.join(waves)}",
                )
            seen = set(wave_col.unique().tolist())
            unanswered = [w for w in waves if w not in seen]
            if unanswered:
                self.warnings.append(f"nobody answered wave(s) {', '.join(unanswered)}")
        if worker_ids is not None:
            self.refers(r, "responses.csv", "worker_id", worker_ids, "workers.csv", "workers")
            silent = worker_ids - set(r["worker_id"].dropna().unique().tolist())
            if silent:
                self.warnings.append(
                    f"{len(silent)} worker(s) have no survey response: {_show(sorted(silent))}"
                )
        self.dates(r, "responses.csv", "date", allow_blank=True)
        self.items(r)

    def _interventions(self):
        s, org_ids = self.study, self.org_ids
        i = s.interventions
        self.ids(i, "interventions.csv", ["org_id", "area"])
        if "team_id" in i.columns:  # team assignment: one row per changed team
            self.unique(i, "interventions.csv", ["org_id", "area", "team_id"], "org x area x team")
        else:
            self.unique(i, "interventions.csv", ["org_id", "area"], "org x area")
        bad = (~i["area"].isin(AREA_KEYS) & ~pd.Series(_blank(i["area"]), index=i.index)).to_numpy()
        if bad.any():
            self.fail(
                "interventions.csv",
                "area",
                bad,
                f"unknown area(s) {_show(i['area'][bad])}; valid areas are {', '.join(AREA_KEYS)}",
            )
        if org_ids is not None:
            self.refers(i, "interventions.csv", "org_id", org_ids, "orgs.csv", "organizations")
        self.dates(i, "interventions.csv", "start_date", allow_blank=False)

    def _org_metrics(self):
        s, org_ids = self.study, self.org_ids
        m = s.org_metrics
        self.ids(m, "org_metrics.csv", ["org_id", "month"])
        self.dates(m, "org_metrics.csv", "month", allow_blank=False, what="month", fmt="YYYY-MM")
        if org_ids is not None:
            self.refers(m, "org_metrics.csv", "org_id", org_ids, "orgs.csv", "organizations")
        head = self.numbers(m, "org_metrics.csv", "headcount", whole=True)
        seps = self.numbers(m, "org_metrics.csv", "separations", whole=True)
        self.numbers(m, "org_metrics.csv", "absence_days", whole=True)
        over = (seps > head).to_numpy(dtype=bool, na_value=False)
        if over.any():
            self.warnings.append(
                f"org_metrics.csv: {int(over.sum())} month(s) with more "
                f"separations than headcount ({_lines(over)})"
            )
        if not pd.api.types.is_datetime64_any_dtype(m["month"]):
            month = pd.to_datetime(
                m["month"].astype("str").str.strip(), format="ISO8601", errors="coerce"
            ).dt.to_period("M")
        else:
            month = m["month"].dt.to_period("M")
        keyed = pd.DataFrame({"org_id": m["org_id"], "month": month.astype("str")})
        self.unique(keyed, "org_metrics.csv", ["org_id", "month"], "org x month")

    def items(self, r: pd.DataFrame):
        from .scoring import score

        insts = []
        keys = (self.study.meta or {}).get("instruments")
        for key in keys if isinstance(keys, list) else []:
            try:
                insts.append(_load(str(key), self.base))
            except StsevalError:
                continue  # reported under study.yaml
        listed = {c for inst in insts for c in inst.item_columns}
        stray = [c for c in r.columns if c not in listed and c not in RESPONSE_ID_COLUMNS]
        item_like = [c for c in stray if _ITEM_LIKE.match(str(c))]
        if item_like:
            self.warnings.append(
                f"responses.csv: {len(item_like)} item column(s) belong to no "
                f"instrument listed in study.yaml and are ignored: "
                f"{_show(item_like)}"
            )
        for inst in insts:
            cols = [c for c in inst.item_columns if c in r.columns]
            frame = r[cols].copy()
            frame.index = pd.RangeIndex(2, len(r) + 2)
            try:
                score(frame, inst, source="responses.csv")
            except DataValidationError as exc:
                for rec in exc.failures.to_dict("records"):
                    rows = rec.get("rows") or ""
                    self.errors.append(
                        {
                            "file": "responses.csv",
                            "column": rec.get("column"),
                            "rows": f"line {rows}" if rows else "",
                            "problem": rec.get("problem"),
                        }
                    )


def _load(key: str, base: Path | None):
    from .instruments import load_instrument

    if base is not None and key.endswith((".yaml", ".yml")) and (Path(base) / key).is_file():
        return load_instrument(Path(base) / key)
    return load_instrument(key)


def table_checks(
    study, *, base: Path | None = None, report_missing: bool = False
) -> tuple[list[dict], list[str]]:
    """All errors (failure records) and warnings of a study's tables."""
    checker = _Checker(study, base, report_missing).run()
    return checker.errors, checker.warnings
