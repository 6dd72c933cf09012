"""The last import step: organizations, teams, pseudonyms, column order and ``study.yaml``.

Works on a :class:`stseval.importers._build._Builder` whose rows are read and
checked; kept apart so each step is a short function.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..columns import INTERVENTION_COLUMNS, ORG_COLUMNS, ORG_METRIC_COLUMNS
from ..privacy import neutralize_formulas, pseudonymize

__all__ = ["assemble"]


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _orgs(b, workers: pd.DataFrame, orgs_file: pd.DataFrame | None) -> pd.DataFrame:
    """One row per organization: the orgs file's name and size, else the export's counts."""
    extra = list(orgs_file["org_id"].dropna()) if orgs_file is not None else []
    orgs = pd.DataFrame({"org_id": list(dict.fromkeys(list(workers["org_id"]) + extra))})
    from_file = (
        orgs_file.drop_duplicates("org_id").set_index("org_id") if orgs_file is not None else None
    )
    for col in ("name", "size"):
        has = from_file is not None and col in from_file.columns
        orgs[col] = orgs["org_id"].map(from_file[col]) if has else np.nan
    no_size = orgs["size"].isna()
    if no_size.any():
        counts = workers.groupby("org_id").size()
        orgs.loc[no_size, "size"] = orgs.loc[no_size, "org_id"].map(counts).fillna(0)
        b.notes.append(
            f"org size not given for {int(no_size.sum())} organization(s): "
            "the number of workers in the export was used"
        )
    orgs["size"] = pd.to_numeric(orgs["size"]).astype("int64")
    return orgs


def _teams(b, workers: pd.DataFrame) -> None:
    """Team IDs unique across organizations (hashed with the org, or prefixed by it)."""
    team_orgs = workers.groupby("team_id")["org_id"].nunique()
    shared = team_orgs[team_orgs > 1].index
    if b.key is not None:
        workers["team_id"] = pseudonymize(
            workers["org_id"].astype("str") + "\x1f" + workers["team_id"].astype("str"),
            b.key,
            prefix="T",
        ).to_numpy()
    elif len(shared):
        clash = workers["team_id"].isin(shared)
        workers.loc[clash, "team_id"] = (
            workers.loc[clash, "org_id"].astype("str")
            + "-"
            + workers.loc[clash, "team_id"].astype("str")
        )
        b.notes.append(
            f"team IDs used in several organizations were prefixed with the "
            f"organization ({len(shared)} team name(s))"
        )


def _pseudonyms(b, workers, resp, orgs, inter, metrics) -> None:
    workers["worker_id"] = pseudonymize(workers["worker_id"], b.key, prefix="W")
    resp["worker_id"] = pseudonymize(resp["worker_id"], b.key, prefix="W")
    for frame in (workers, orgs, inter, metrics):
        frame["org_id"] = pseudonymize(frame["org_id"], b.key, prefix="O").to_numpy()
    if not b.map.keep_org_names:
        order = orgs["org_id"].sort_values().tolist()
        width = max(2, len(str(len(order))))
        names = {o: f"Organization {i:0{width}d}" for i, o in enumerate(order, 1)}
        orgs["name"] = orgs["org_id"].map(names)


def _reasons(b) -> pd.DataFrame:
    """``worker_id, wave, column, code, reason`` for every answer turned into missing."""
    reasons = pd.DataFrame(b.reasons, columns=["line", "column", "code", "reason"])
    if not len(reasons):
        return pd.DataFrame(columns=["worker_id", "wave", "column", "code", "reason"])
    src_worker = b.text(b.cols.get("worker_id"))
    src_wave, _ = b.waves()
    reasons.insert(0, "wave", src_wave.reindex(reasons["line"]).to_numpy())
    ids = src_worker.reindex(reasons["line"])
    hashed = pseudonymize(ids, b.key, prefix="W").to_numpy() if b.key is not None else None
    reasons.insert(0, "worker_id", hashed if hashed is not None else ids.to_numpy())
    return reasons.drop(columns="line")


def _ordered(b, resp: pd.DataFrame, workers: pd.DataFrame):
    """Item columns in instrument order as nullable integers; person columns in order."""
    item_cols = [c for key in b.map.items for c in b.map.items[key].instrument.item_columns]
    for col in item_cols:
        if col not in resp.columns:
            resp[col] = np.nan
        resp[col] = pd.to_numeric(resp[col]).astype("Int64")
    resp = resp[["worker_id", "wave", "date", *item_cols]].reset_index(drop=True)
    person = ["worker_id", "org_id", "team_id"] + [
        c for c in ("role", "tenure_years") if c in workers.columns
    ]
    workers = workers[person].reset_index(drop=True)
    if "tenure_years" in workers.columns:
        workers["tenure_years"] = pd.to_numeric(workers["tenure_years"])
    return resp, workers


def _meta(b, reasons: pd.DataFrame) -> dict:
    m = b.map
    summary = reasons.groupby("reason").size().to_dict() if len(reasons) else {}
    return {
        "name": m.study_name or b.src.path.stem,
        "waves": list(m.waves),
        "instruments": list(m.items),
        "min_cell": int(b.min_cell),
        "provenance": {
            "imported_from": b.src.path.name,
            "format": b.src.format,
            "encoding": b.src.encoding or "",
            "mapping": Path(m.source).name,
            "imported_on": date.today().isoformat(),
            "stseval_version": __version__,
            "pseudonymized": b.key is not None,
            "pseudonyms": (
                "HMAC-SHA256 of the source IDs with a key kept outside the study"
                if b.key is not None
                else "none (IDs imported as given: --no-pseudonymize)"
            ),
            "identifiers_dropped": list(b.idents),
            "missing_codes": {str(k): int(v) for k, v in summary.items()},
            "notes": list(dict.fromkeys(b.notes)),
        },
    }


def assemble(b, resp: pd.DataFrame, workers: pd.DataFrame, side: dict):
    """``(tables, meta, reasons)`` from the checked rows, or None (a failure is recorded)."""
    if b.key is None and workers["worker_id"].astype("str").str.contains("@").any():
        b.fail(
            b.cols["worker_id"],
            "",
            "worker IDs look like e-mail addresses; they can only be imported pseudonymized "
            "(set STSEVAL_KEY or pass --key-file instead of --no-pseudonymize)",
        )
        return None
    orgs = _orgs(b, workers, side["orgs"])
    inter = side["interventions"]
    inter = (
        inter[INTERVENTION_COLUMNS].copy() if inter is not None else _empty(INTERVENTION_COLUMNS)
    )
    metrics = side["org_metrics"]
    metrics = (
        metrics[ORG_METRIC_COLUMNS].copy() if metrics is not None else _empty(ORG_METRIC_COLUMNS)
    )
    reasons = _reasons(b)
    _teams(b, workers)
    if b.key is not None:
        _pseudonyms(b, workers, resp, orgs, inter, metrics)
    if orgs["name"].isna().any():
        orgs["name"] = orgs["name"].astype(object).where(orgs["name"].notna(), orgs["org_id"])
    resp, workers = _ordered(b, resp, workers)
    # text starting with = + - @ would run as a formula in a spreadsheet: defuse it the
    # same way in every table, so IDs still match across tables
    tables = {
        "workers": neutralize_formulas(workers),
        "responses": neutralize_formulas(resp),
        "orgs": neutralize_formulas(orgs[ORG_COLUMNS].reset_index(drop=True)),
        "interventions": neutralize_formulas(inter.reset_index(drop=True)),
        "org_metrics": neutralize_formulas(metrics.reset_index(drop=True)),
    }
    return tables, _meta(b, reasons), reasons
