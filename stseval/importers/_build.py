"""From a read export and a mapping to the study tables, collecting every problem.

The steps: check the mapping against the export's columns; work out each
row's worker, wave and date; convert the answers (labels, missing-data
codes, ranges); merge the rows of one worker and wave (REDCap splits them
over repeating instruments) and find duplicates; build one row per worker
with org, team, role and tenure; read the side files (orgs, interventions,
org metrics); pseudonymize. Problems are collected and raised together, each
naming the source file, column and line numbers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..columns import INTERVENTION_COLUMNS, ORG_COLUMNS, ORG_METRIC_COLUMNS
from ..errors import DataValidationError, format_counts, format_rows
from ..privacy import neutralize_formulas, pseudonymize
from ._mapping import Mapping, close_matches, resolve_items
from ._redcap import event_slug, form_status
from ._side import read_side_files
from ._source import Source
from ._values import ItemConverter, is_blank, parse_dates

__all__ = ["build_tables"]

_ROLES = {
    "org_id": "organization",
    "team_id": "team",
    "role": "role",
    "tenure_years": "tenure",
    "wave": "wave",
    "date": "date",
}


def _fail(file, column, rows, problem) -> dict:
    return {"file": str(file), "column": column, "rows": rows, "problem": problem}


class _Builder:
    def __init__(self, source: Source, mapping: Mapping, *, key: bytes | None, min_cell: int):
        self.src = source
        self.map = mapping
        self.key = key
        self.min_cell = min_cell
        self.file = source.name
        self.frame = source.frame
        self.failures: list[dict] = []
        self.notes: list[str] = list(source.notes)
        self.reasons: list[dict] = []
        self.code_maps: dict[str, list[dict]] = {}

    def fail(self, column, rows, problem, file=None):
        self.failures.append(_fail(file or self.file, column, rows, problem))

    # -- columns ---------------------------------------------------------------------
    def column(self, name: str, spec) -> str | None:
        if spec is None or spec.column is None:
            return None
        col = spec.column
        if col in self.frame.columns:
            return col
        hint = close_matches(col, self.frame.columns)
        self.fail(
            col,
            "",
            f"the mapping names column {col!r} for {name}, but the export has no such column{hint}",
        )
        return None

    def resolve(self) -> bool:
        """Check the mapping against the columns; False when rows cannot be read at all."""
        m, cols = self.map, list(self.frame.columns)
        if len(cols) == 1:
            head = str(cols[0])
            self.fail(
                head[:60],
                "",
                f"the file was read as a single column ({head[:60]!r}"
                f"{'...' if len(head) > 60 else ''}): check its delimiter "
                "(comma, semicolon or tab) and that lines are not quoted "
                "as a whole",
            )
            return False
        self.cols = {name: self.column(name, spec) for name, spec in m.fields.items()}
        self.wave_col = self.column("wave", m.wave) if m.wave else None
        self.date_col = self.column("date", m.date) if m.date else None
        if m.layout == "long":
            for what, col in (("long.item", m.long_item), ("long.value", m.long_value)):
                if col not in cols:
                    self.fail(
                        col,
                        "",
                        f"the mapping names column {col!r} for {what} (long "
                        f"layout), but the export has no such column"
                        f"{close_matches(col, cols)}",
                    )
            item_names = (
                sorted(self.frame[m.long_item].dropna().astype("str").str.strip().unique())
                if m.long_item in cols
                else []
            )
        else:
            item_names = cols
        self.items: dict[str, dict[str, int]] = {}
        for key, spec in m.items.items():
            self.items[key] = resolve_items(spec, item_names, self.file, self.failures)
        for col in m.identifiers:
            if col not in cols:
                self.fail(
                    col,
                    "",
                    f"the mapping lists {col!r} under identifiers, but the "
                    f"export has no such column{close_matches(col, cols)}",
                )
        self.idents = list(
            dict.fromkeys([c for c in m.identifiers if c in cols] + self.src.identifier_columns)
        )
        used = {
            **{n: c for n, c in self.cols.items() if c},
            "wave": self.wave_col,
            "date": self.date_col,
        }
        for name, col in used.items():
            if col and col in self.idents and name != "worker_id":
                self.fail(
                    col,
                    "",
                    f"column {col!r} is an identifier (names, e-mails, IP "
                    f"addresses...) and is dropped at import; it cannot be used "
                    f"as the {_ROLES.get(name, name)}",
                )
        for key, found in self.items.items():
            for col in found:
                if col in self.idents:
                    self.fail(
                        col, "", f"column {col!r} is an identifier and cannot be an item of {key}"
                    )
        wid = self.cols.get("worker_id")
        if wid and wid in self.idents and self.key is None:
            self.fail(
                wid,
                "",
                f"the worker ID column {wid!r} is an identifier; it can only be "
                "imported pseudonymized: set STSEVAL_KEY or pass --key-file "
                "instead of --no-pseudonymize",
            )
        # without the worker or wave column no row can be placed: stop at the mapping problems
        return wid is not None and (
            m.wave is None or m.wave.value is not None or self.wave_col is not None
        )

    # -- rows --------------------------------------------------------------------------
    def text(self, col: str | None) -> pd.Series:
        if col is None:
            return pd.Series(np.nan, index=self.frame.index, dtype=object)
        s = self.frame[col]
        t = s.astype("str").str.strip()
        return t.where(~is_blank(s), np.nan).astype(object)

    def waves(self) -> tuple[pd.Series, np.ndarray]:
        """The study wave of each row and a mask of rows that only carry worker details."""
        m = self.map
        idx = self.frame.index
        if m.wave is None:
            return pd.Series(np.nan, index=idx, dtype=object), np.zeros(len(idx), bool)
        if m.wave.value is not None:
            return pd.Series(m.wave.value, index=idx, dtype=object), np.zeros(len(idx), bool)
        raw = self.text(self.wave_col)
        values = m.wave.values
        lower = {k.lower(): v for k, v in (values or {}).items()}
        known = {w.lower(): w for w in m.waves}
        out = pd.Series(np.nan, index=idx, dtype=object)
        attr_only = np.zeros(len(idx), bool)
        self.unknown_wave = np.zeros(len(idx), bool)
        for value in pd.unique(raw.dropna()):
            hit = (raw == value).to_numpy()
            if values is not None:
                v = str(value)
                slug = event_slug(v) if self.wave_col == "redcap_event_name" else None
                for cand in (v, v.lower(), slug):
                    if cand is not None and (cand in values or cand in lower):
                        target = values[cand] if cand in values else lower[cand]
                        break
                else:
                    self.unknown_wave |= hit
                    continue
            else:
                target = known.get(str(value).lower(), False)
                if target is False:
                    self.unknown_wave |= hit
                    continue
            if target is None:
                attr_only |= hit
            else:
                out[hit] = target
        return out, attr_only

    def run(self):
        if not self.resolve() or (self.failures and not any(self.items.values())):
            return None
        if self.map.require_complete:
            self.blank_incomplete_forms()
        m, f = self.map, self.frame
        worker = self.text(self.cols.get("worker_id"))
        wave, attr_only = self.waves()
        if not hasattr(self, "unknown_wave"):
            self.unknown_wave = np.zeros(len(f), bool)
        if m.layout == "long":
            resp = self.long_rows(worker, wave, attr_only)
        else:
            resp = self.wide_rows(worker, wave, attr_only)
        workers = self.workers(worker, resp)
        side, problems = read_side_files(
            self.map, set(workers["org_id"].dropna()) if workers is not None else set()
        )
        self.failures.extend(problems)
        if self.failures:
            return None
        return self.finish(resp, workers, side)

    def blank_incomplete_forms(self):
        """REDCap ``require_complete``: answers on forms not marked Complete become missing."""
        frame = self.frame.copy()
        n = 0
        for found in self.items.values():
            for col in found:
                form = self.src.form_of.get(col)
                status = form_status(frame, form) if form else None
                if status is None:
                    continue
                drop = (status != "complete").to_numpy() & ~is_blank(frame[col])
                n += int(drop.sum())
                frame.loc[drop, col] = np.nan
        if n:
            self.notes.append(
                f"{n} answer(s) on forms not marked Complete were treated as "
                "missing (redcap.require_complete)"
            )
        self.frame = frame

    def answered(self, rows: np.ndarray) -> np.ndarray:
        cols = [c for found in self.items.values() for c in found]
        if not cols:
            return np.zeros(len(self.frame), bool)
        block = self.frame[cols]
        return (block.notna() & (block.astype("str").apply(lambda s: s.str.strip()) != "")).any(
            axis=1
        ).to_numpy() & rows

    def check_keys(self, worker, wave, candidates, what="answers"):
        """Failures for rows with answers but an unknown or blank wave, or no worker ID."""
        idx = self.frame.index
        unk = candidates & self.unknown_wave
        if unk.any():
            raw = self.text(self.wave_col)[unk]
            expected = (
                "map them under wave.values in the mapping (or to null for rows that "
                "only hold worker details)"
                if self.map.wave.values is not None
                else f"expected one of {', '.join(self.map.waves)}, or add "
                f"wave.values to the mapping"
            )
            self.fail(
                self.wave_col,
                format_rows(idx[unk]),
                f"unknown wave value(s) {format_counts(raw)} on rows with {what}; {expected}",
            )
        blank_wave = candidates & wave.isna().to_numpy() & ~self.unknown_wave
        if blank_wave.any() and self.wave_col:
            self.fail(
                self.wave_col,
                format_rows(idx[blank_wave]),
                f"{int(blank_wave.sum())} row(s) with {what} have no wave",
            )
        blank_worker = candidates & worker.isna().to_numpy()
        if blank_worker.any():
            self.fail(
                self.cols.get("worker_id") or "",
                format_rows(idx[blank_worker]),
                f"{int(blank_worker.sum())} row(s) with {what} have no worker ID",
            )
        return candidates & ~unk & ~blank_wave & ~blank_worker

    def convert(self, rows: np.ndarray) -> dict[str, pd.Series]:
        """Kit item column -> converted answers (float, NaN missing) on ``rows``."""
        codes = {**self.src.missing_codes, **self.map.missing_codes}
        sub = self.frame[rows]
        out = {}
        for key, found in self.items.items():
            spec = self.map.items[key]
            inst = spec.instrument
            conv = self.converter(spec, codes)
            for col, num in sorted(found.items(), key=lambda kv: kv[1]):
                values = sub[col]
                kit = inst.item_columns[num - 1]
                out[kit] = conv.convert(
                    values,
                    num,
                    col,
                    choices=self.src.choices.get(col),
                    kit_column=kit,
                    ranges=self.src.missing_ranges.get(col),
                )
            self.collect(key, conv)
        return out

    def converter(self, spec, codes) -> ItemConverter:
        return ItemConverter(
            spec.instrument,
            self.file,
            codes,
            spec.recode,
            codes=spec.codes,
            synonyms=dict(spec.synonyms),
        )

    def collect(self, key: str, conv: ItemConverter) -> None:
        self.failures.extend(conv.finish())
        self.notes.extend(conv.notes)
        self.reasons.extend(conv.reasons)
        self.code_maps.setdefault(key, []).extend(conv.maps)

    def dates(self, rows: np.ndarray) -> pd.Series:
        if self.date_col is None:
            return pd.Series(np.nan, index=self.frame.index[rows], dtype=object)
        values = self.frame.loc[rows, self.date_col]
        parsed, bad = parse_dates(values, self.map.date.format)
        if bad.any():
            fmt = self.map.date.format
            self.fail(
                self.date_col,
                format_rows(values.index[bad]),
                f"{int(bad.sum())} date(s) could not be read (e.g. "
                f"{', '.join(repr(v) for v in pd.unique(values[bad].astype('str'))[:3])}); "
                + (
                    f"expected the format {fmt!r} given in the mapping"
                    if fmt
                    else "expected YYYY-MM-DD, or give the layout under date.format in the "
                    "mapping (e.g. '%d/%m/%Y')"
                ),
            )
        return parsed

    def wide_rows(self, worker, wave, attr_only) -> pd.DataFrame:
        f = self.frame
        has_answer = self.answered(~attr_only)
        keep = self.check_keys(worker, wave, has_answer)
        if self.date_col is not None:
            # rows holding only the date of a wave (REDCap: a form of its own) are merged in
            has_date = ~is_blank(f[self.date_col]) & ~attr_only & ~has_answer
            keep |= (
                has_date & wave.notna().to_numpy() & worker.notna().to_numpy() & ~self.unknown_wave
            )
        items = self.convert(keep)
        part = (
            self.text(self.src.part_column)[keep].fillna("")
            if self.src.part_column
            else pd.Series("", index=f.index[keep])
        )
        resp = pd.DataFrame(
            {
                "worker_id": worker[keep],
                "wave": wave[keep],
                "date": self.dates(keep),
                "_part": part,
                "_answered": has_answer[keep],
                **items,
            },
            index=f.index[keep],
        )
        self.duplicates(resp, ["worker_id", "wave", "_part"])
        resp = resp.drop(columns="_part")
        if resp.duplicated(["worker_id", "wave"]).any():
            how = {c: "first" for c in resp.columns if c not in ("worker_id", "wave")}
            how["_answered"] = "max"
            resp = resp.groupby(["worker_id", "wave"], sort=False, as_index=False).agg(how)
        skipped = int((~resp["_answered"].astype(bool)).sum())
        skipped += int((~has_answer & ~attr_only & wave.notna().to_numpy() & ~keep).sum())
        if skipped:
            self.notes.append(f"{skipped} row(s) without any answer were skipped")
        return resp[resp["_answered"].astype(bool)].drop(columns="_answered")

    def long_rows(self, worker, wave, attr_only) -> pd.DataFrame:
        m, f = self.map, self.frame
        name = self.text(m.long_item)
        value = f[m.long_value]
        lookup = {
            col: (key, num) for key, found in self.items.items() for col, num in found.items()
        }
        mapped = name.isin(list(lookup)).to_numpy()
        unmapped = name[~mapped & name.notna().to_numpy()]
        if len(unmapped):
            self.notes.append(
                f"{len(unmapped)} row(s) of items not in the mapping were skipped "
                f"({', '.join(pd.unique(unmapped.astype('str'))[:5])})"
            )
        answered = mapped & ~is_blank(value) & ~attr_only
        keep = self.check_keys(worker, wave, answered)
        codes = {**self.src.missing_codes, **m.missing_codes}
        converted = pd.Series(np.nan, index=f.index, dtype="float64")
        kit_col = pd.Series(np.nan, index=f.index, dtype=object)
        for key, found in self.items.items():
            spec = m.items[key]
            conv = self.converter(spec, codes)
            for col, num in found.items():
                rows = keep & (name == col).to_numpy()
                if rows.any():
                    converted[rows] = conv.convert(
                        value[rows],
                        num,
                        f"{m.long_value} ({m.long_item} {col})",
                        kit_column=spec.instrument.item_columns[num - 1],
                    )
                    kit_col[rows] = spec.instrument.item_columns[num - 1]
            self.collect(key, conv)
        cells = pd.DataFrame(
            {
                "worker_id": worker[keep],
                "wave": wave[keep],
                "item": kit_col[keep],
                "value": converted[keep],
            },
            index=f.index[keep],
        )
        self.duplicates(cells, ["worker_id", "wave", "item"], what="worker x wave x item")
        cells = cells.drop_duplicates(["worker_id", "wave", "item"])
        table = cells.pivot(index=["worker_id", "wave"], columns="item", values="value")
        dates = (
            pd.DataFrame({"worker_id": worker[keep], "wave": wave[keep], "date": self.dates(keep)})
            .groupby(["worker_id", "wave"], sort=False)["date"]
            .first()
        )
        table = table.reset_index()
        table.insert(
            2,
            "date",
            [
                dates.get((w, v), np.nan)
                for w, v in zip(table["worker_id"], table["wave"], strict=True)
            ],
        )
        return table

    def duplicates(self, frame, keys, what="worker x wave"):
        dup = frame.duplicated(keys, keep=False).to_numpy()
        if not dup.any():
            return
        groups = frame[dup].groupby(keys, sort=False).groups
        shown = [
            f"{' x '.join(str(k) for k in g[:2])} (lines {', '.join(map(str, ix))})"
            for g, ix in list(groups.items())[:5]
        ]
        more = len(groups) - 5
        self.fail(
            self.cols.get("worker_id") or "",
            format_rows(frame.index[dup]),
            f"{len(groups)} {what} combination(s) appear more than once: "
            f"{'; '.join(shown)}{f' and {more} more' if more > 0 else ''}; each worker "
            "may answer each wave once",
        )

    # -- workers ------------------------------------------------------------------------
    def workers(self, worker: pd.Series, resp: pd.DataFrame) -> pd.DataFrame | None:
        has = worker.notna().to_numpy()
        data = {"worker_id": worker[has]}
        for name in ("org_id", "team_id", "role", "tenure_years"):
            spec = self.map.fields.get(name)
            if spec is not None and spec.value is not None and spec.column is None:
                data[name] = pd.Series(spec.value, index=worker.index[has])
            elif self.cols.get(name):
                t = self.text(self.cols[name])[has]
                choices = self.src.choices.get(self.cols[name])
                if choices and name in ("role", "org_id", "team_id"):
                    t = t.map(lambda v, ch=choices: ch.get(v, v) if isinstance(v, str) else v)
                data[name] = t
        rows = pd.DataFrame(data)
        responders = set(resp["worker_id"])
        out = []
        for name in [c for c in rows.columns if c != "worker_id"]:
            col = self.cols.get(name)
            sub = rows[["worker_id", name]].dropna()
            n_distinct = sub.groupby("worker_id")[name].nunique()
            clash = n_distinct[n_distinct > 1].index
            if len(clash):
                bad = sub[sub["worker_id"].isin(clash)]
                shown = [
                    f"{w}: {', '.join(pd.unique(g[name]))}"
                    for w, g in list(bad.groupby("worker_id", sort=False))[:3]
                ]
                self.fail(
                    col or name,
                    format_rows(bad.index),
                    f"{len(clash)} worker(s) have different {name} values on different "
                    f"rows ({'; '.join(shown)}); a worker belongs to one {name}",
                )
            out.append(sub.groupby("worker_id", sort=False)[name].first())
        table = pd.DataFrame({"worker_id": pd.unique(rows["worker_id"])})
        for s in out:
            table[s.name] = table["worker_id"].map(s)
        if "org_id" not in table.columns:
            return None
        no_org = table["org_id"].isna()
        lacking = no_org & table["worker_id"].isin(responders)
        if lacking.any():
            ids = table.loc[lacking, "worker_id"]
            lines = rows.index[rows["worker_id"].isin(ids).to_numpy()]
            self.fail(
                self.cols.get("org_id") or "org_id",
                format_rows(lines),
                f"{int(lacking.sum())} worker(s) without an organization "
                f"({', '.join(ids.astype('str')[:5])}{' ...' if lacking.sum() > 5 else ''}"
                f"); every worker with answers needs an org_id",
            )
        dropped = int((no_org & ~lacking).sum())
        if dropped:
            self.notes.append(
                f"{dropped} worker(s) without answers and without an organization were left out"
            )
        table = table[~no_org].copy()
        if "team_id" not in table.columns:
            table["team_id"] = table["org_id"]
            self.notes.append("no team column in the mapping: each organization is one team")
        else:
            blank = table["team_id"].isna()
            if blank.any():
                table.loc[blank, "team_id"] = table.loc[blank, "org_id"]
                self.notes.append(
                    f"{int(blank.sum())} worker(s) without a team were put in a "
                    "team of their whole organization"
                )
        if "tenure_years" in table.columns:
            num = pd.to_numeric(table["tenure_years"], errors="coerce")
            bad = (num.isna() & table["tenure_years"].notna()) | (num < 0)
            if bad.any():
                ids = set(table.loc[bad, "worker_id"])
                lines = rows.index[rows["worker_id"].isin(ids).to_numpy()]
                self.fail(
                    self.cols.get("tenure_years") or "",
                    format_rows(lines),
                    f"tenure must be a non-negative number of years (got "
                    f"{', '.join(repr(v) for v in table.loc[bad, 'tenure_years'][:3])})",
                )
        return table

    # -- assembly -------------------------------------------------------------------------
    def finish(self, resp: pd.DataFrame, workers: pd.DataFrame, side: dict):
        m = self.map
        if self.key is None:
            looks = workers["worker_id"].astype("str").str.contains("@")
            if looks.any():
                self.fail(
                    self.cols["worker_id"],
                    "",
                    "worker IDs look like e-mail addresses; "
                    "they can only be imported pseudonymized (set STSEVAL_KEY or pass "
                    "--key-file instead of --no-pseudonymize)",
                )
                return None
        orgs_file = side["orgs"]
        org_ids = list(
            dict.fromkeys(
                list(workers["org_id"])
                + (list(orgs_file["org_id"].dropna()) if orgs_file is not None else [])
            )
        )
        counts = workers.groupby("org_id").size()
        orgs = pd.DataFrame({"org_id": org_ids})
        from_file = (
            orgs_file.drop_duplicates("org_id").set_index("org_id")
            if orgs_file is not None
            else None
        )
        if from_file is not None and "name" in from_file.columns:
            orgs["name"] = orgs["org_id"].map(from_file["name"])
        else:
            orgs["name"] = np.nan
        if from_file is not None and "size" in from_file.columns:
            orgs["size"] = orgs["org_id"].map(from_file["size"])
        else:
            orgs["size"] = np.nan
        no_size = orgs["size"].isna()
        if no_size.any():
            orgs.loc[no_size, "size"] = orgs.loc[no_size, "org_id"].map(counts).fillna(0)
            self.notes.append(
                f"org size not given for {int(no_size.sum())} organization(s): "
                "the number of workers in the export was used"
            )
        orgs["size"] = pd.to_numeric(orgs["size"]).astype("int64")
        inter = side["interventions"]
        inter = (
            inter[INTERVENTION_COLUMNS].copy()
            if inter is not None
            else pd.DataFrame({c: pd.Series(dtype=object) for c in INTERVENTION_COLUMNS})
        )
        metrics = side["org_metrics"]
        metrics = (
            metrics[ORG_METRIC_COLUMNS].copy()
            if metrics is not None
            else pd.DataFrame({c: pd.Series(dtype=object) for c in ORG_METRIC_COLUMNS})
        )
        reasons = pd.DataFrame(self.reasons, columns=["line", "column", "code", "reason"])

        # teams must be unique across orgs
        team_orgs = workers.groupby("team_id")["org_id"].nunique()
        shared = team_orgs[team_orgs > 1].index
        if self.key is not None:
            workers["team_id"] = pseudonymize(
                workers["org_id"].astype("str") + "\x1f" + workers["team_id"].astype("str"),
                self.key,
                prefix="T",
            ).to_numpy()
        elif len(shared):
            clash = workers["team_id"].isin(shared)
            workers.loc[clash, "team_id"] = (
                workers.loc[clash, "org_id"].astype("str")
                + "-"
                + workers.loc[clash, "team_id"].astype("str")
            )
            self.notes.append(
                f"team IDs used in several organizations were prefixed with the "
                f"organization ({len(shared)} team name(s))"
            )
        if self.key is not None:
            workers["worker_id"] = pseudonymize(workers["worker_id"], self.key, prefix="W")
            resp["worker_id"] = pseudonymize(resp["worker_id"], self.key, prefix="W")
            for frame in (workers, orgs, inter, metrics):
                frame["org_id"] = pseudonymize(frame["org_id"], self.key, prefix="O").to_numpy()
            if not m.keep_org_names:
                order = orgs["org_id"].sort_values().tolist()
                width = max(2, len(str(len(order))))
                names = {o: f"Organization {i:0{width}d}" for i, o in enumerate(order, 1)}
                orgs["name"] = orgs["org_id"].map(names)
        if orgs["name"].isna().any():
            orgs["name"] = orgs["name"].astype(object).where(orgs["name"].notna(), orgs["org_id"])
        if len(reasons):
            src_worker = self.text(self.cols.get("worker_id"))
            src_wave, _ = self.waves()
            reasons.insert(0, "wave", src_wave.reindex(reasons["line"]).to_numpy())
            ids = src_worker.reindex(reasons["line"])
            reasons.insert(
                0,
                "worker_id",
                (
                    pseudonymize(ids, self.key, prefix="W").to_numpy()
                    if self.key is not None
                    else ids.to_numpy()
                ),
            )
            reasons = reasons.drop(columns="line")
        # item columns in instrument order, nullable integers
        item_cols = [c for key in m.items for c in m.items[key].instrument.item_columns]
        for col in item_cols:
            if col not in resp.columns:
                resp[col] = np.nan
            resp[col] = pd.to_numeric(resp[col]).astype("Int64")
        resp = resp[["worker_id", "wave", "date", *item_cols]].reset_index(drop=True)
        person_cols = ["worker_id", "org_id", "team_id"] + [
            c for c in ("role", "tenure_years") if c in workers.columns
        ]
        workers = workers[person_cols].reset_index(drop=True)
        if "tenure_years" in workers.columns:
            workers["tenure_years"] = pd.to_numeric(workers["tenure_years"])
        # text starting with = + - @ would run as a formula in a spreadsheet: defuse it the
        # same way in every table, so IDs still match across tables
        tables = {
            "workers": neutralize_formulas(workers),
            "responses": neutralize_formulas(resp),
            "orgs": neutralize_formulas(orgs[ORG_COLUMNS].reset_index(drop=True)),
            "interventions": neutralize_formulas(inter.reset_index(drop=True)),
            "org_metrics": neutralize_formulas(metrics.reset_index(drop=True)),
        }
        missing_summary = reasons.groupby("reason").size().to_dict() if len(reasons) else {}
        meta = {
            "name": m.study_name or self.src.path.stem,
            "waves": list(m.waves),
            "instruments": list(m.items),
            "min_cell": int(self.min_cell),
            "provenance": {
                "imported_from": self.src.path.name,
                "format": self.src.format,
                "encoding": self.src.encoding or "",
                "mapping": Path(m.source).name,
                "imported_on": date.today().isoformat(),
                "stseval_version": __version__,
                "pseudonymized": self.key is not None,
                "pseudonyms": (
                    "HMAC-SHA256 of the source IDs with a key kept outside the study"
                    if self.key is not None
                    else "none (IDs imported as given: --no-pseudonymize)"
                ),
                "identifiers_dropped": list(self.idents),
                "missing_codes": {str(k): int(v) for k, v in missing_summary.items()},
                "notes": list(dict.fromkeys(self.notes)),
            },
        }
        return tables, meta, reasons


def build_tables(source: Source, mapping: Mapping, *, key: bytes | None, min_cell: int):
    """Study tables, ``study.yaml`` metadata and missing-reason rows from an export.

    Returns
    -------
    tables : dict of DataFrame
        ``workers, responses, orgs, interventions, org_metrics``.
    meta : dict
        ``name, waves, instruments, min_cell, provenance``.
    reasons : DataFrame
        ``worker_id, wave, column, code, reason`` for every answer turned into
        missing (missing-data codes, user-missing values, non-answer choices).
    code_maps : dict
        Instrument key -> one entry per item column (its code map and code
        counts), for :mod:`stseval.importers._codereport`.

    Raises
    ------
    DataValidationError
        Every problem found, each naming file, column, lines and what was expected.
    """
    builder = _Builder(source, mapping, key=key, min_cell=min_cell)
    result = builder.run()
    if builder.failures or result is None:
        raise DataValidationError(
            builder.failures or [_fail(source.name, "", "", "nothing could be imported")],
            title=f"{source.name} could not be imported (rows are {source.row_word} numbers"
            f"{'; the header is line 1' if source.row_word == 'line' else ''})",
        )
    return (*result, builder.code_maps)
