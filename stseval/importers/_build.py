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

import numpy as np
import pandas as pd

from ..errors import DataValidationError, format_counts, format_rows
from ._mapping import Mapping, close_matches, resolve_items
from ._redcap import blank_incomplete, event_slug
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
        item_names = self.item_names(cols)
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
        self.check_identifiers()
        wid = self.cols.get("worker_id")
        # without the worker or wave column no row can be placed: stop at the mapping problems
        return wid is not None and (
            m.wave is None or m.wave.value is not None or self.wave_col is not None
        )

    def item_names(self, cols: list[str]) -> list[str]:
        """The item names the mapping can point at: columns, or long layout's item values."""
        m = self.map
        if m.layout != "long":
            return cols
        for what, col in (("long.item", m.long_item), ("long.value", m.long_value)):
            if col not in cols:
                self.fail(
                    col,
                    "",
                    f"the mapping names column {col!r} for {what} (long "
                    f"layout), but the export has no such column"
                    f"{close_matches(col, cols)}",
                )
        if m.long_item not in cols:
            return []
        return sorted(self.frame[m.long_item].dropna().astype("str").str.strip().unique())

    def check_identifiers(self) -> None:
        """Identifier columns may not be used as fields or items (except a hashed worker ID)."""
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
        cols = [c for found in self.items.values() for c in found]
        self.frame, n = blank_incomplete(self.frame, cols, self.src.form_of)
        if n:
            self.notes.append(
                f"{n} answer(s) on forms not marked Complete were treated as "
                "missing (redcap.require_complete)"
            )

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
        table = self.one_value_each(rows)
        if "org_id" not in table.columns:
            return None
        table = self.drop_orgless(table, rows, set(resp["worker_id"]))
        self.place_teams(table)
        self.check_tenure(table, rows)
        return table

    def one_value_each(self, rows: pd.DataFrame) -> pd.DataFrame:
        """One row per worker; a failure for workers with two orgs/teams/roles/tenures."""
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
        return table

    def drop_orgless(self, table, rows, responders) -> pd.DataFrame:
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
        return table[~no_org].copy()

    def place_teams(self, table: pd.DataFrame) -> None:
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

    def check_tenure(self, table: pd.DataFrame, rows: pd.DataFrame) -> None:
        if "tenure_years" in table.columns:
            num = pd.to_numeric(table["tenure_years"], errors="coerce")
            given = table["tenure_years"].notna()
            bad = given & ~(np.isfinite(num.astype("float64")) & (num >= 0))
            if bad.any():
                ids = set(table.loc[bad, "worker_id"])
                lines = rows.index[rows["worker_id"].isin(ids).to_numpy()]
                self.fail(
                    self.cols.get("tenure_years") or "",
                    format_rows(lines),
                    f"tenure must be a finite, non-negative number of years (got "
                    f"{', '.join(repr(v) for v in table.loc[bad, 'tenure_years'][:3])})",
                )

    # -- assembly -------------------------------------------------------------------------
    def finish(self, resp: pd.DataFrame, workers: pd.DataFrame, side: dict):
        """The study tables, ``study.yaml`` metadata and missing reasons (see _assemble)."""
        from ._assemble import assemble

        return assemble(self, resp, workers, side)


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
