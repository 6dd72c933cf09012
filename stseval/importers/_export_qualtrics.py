"""Synthetic Qualtrics exports (three header rows) of a study, for examples and round trips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..instruments import load_instrument
from ._export_common import (
    _ALNUM,
    MISSING_CODE,
    _answers,
    _people,
    _side_file_entries,
    _study,
    _write_mapping,
    write_side_files,
)

__all__ = ["export_qualtrics"]


def export_qualtrics(
    study, out_dir, *, choice_text: bool = False, seed: int = 0, prefix: str = "qualtrics"
) -> dict[str, Path]:
    """Write a Qualtrics CSV export (three header rows) of a study and an import mapping.

    One response per worker x wave. Metadata columns come first (StartDate,
    EndDate, Status, IPAddress, Progress, Duration (in seconds), Finished,
    RecordedDate, ResponseId, RecipientLastName, RecipientFirstName,
    RecipientEmail, ExternalReference, LocationLatitude, LocationLongitude,
    DistributionChannel, UserLanguage), then ``Q1`` (tenure, text entry), one
    matrix question per instrument (``Q2_1`` ... ), then the embedded data
    fields ``staff_id, agency, team, role, wave`` from the contact list. One
    survey-preview response is included (the import leaves it out).
    ``choice_text=True`` exports answers as their labels. Some unanswered
    items are ``-99`` (Qualtrics' "seen but unanswered").

    Returns
    -------
    dict
        ``responses``, ``mapping`` and the side files: paths written.
    """
    study = _study(study)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    insts = [load_instrument(k) for k in study.instruments]
    workers = study.workers.set_index("worker_id")
    people = _people(study.workers, rng)
    people.index = study.workers["worker_id"]
    resp = study.responses.reset_index(drop=True)
    meta = _metadata(resp, people, rng, choice_text)
    wid = resp["worker_id"]
    question, import_id = _header_rows(meta.columns)
    body = {}
    if "tenure_years" in workers:
        tenure = wid.map(workers["tenure_years"])
        body["Q1"] = tenure.map(lambda v: "" if pd.isna(v) else f"{v:g}")
        question["Q1"] = "How many years have you worked in this job?"
        import_id["Q1"] = json.dumps({"ImportId": "QID1_TEXT"})
    item_cols = [c for inst in insts for c in inst.item_columns]
    answers = _answers(resp, item_cols, rng, 0.3)
    items_map = {}
    for q, inst in enumerate(insts, start=2):
        items_map[inst.key] = {"prefix": f"Q{q}_"}
        for item, col in zip(inst.items, inst.item_columns, strict=True):
            name = f"Q{q}_{item.number}"
            vals = answers[col]
            if choice_text:
                anchors = inst.anchors_for(item.number)
                vals = vals.map(
                    lambda v, a=anchors: (
                        a.get(int(v), v) if isinstance(v, str) and v != MISSING_CODE else v
                    )
                )
            body[name] = vals
            question[name] = f"{inst.short_name} - {item.label}"
            import_id[name] = json.dumps({"ImportId": f"QID{q}_{item.number}"})
    embedded = {
        "staff_id": wid,
        "agency": wid.map(workers["org_id"]),
        "team": wid.map(workers["team_id"]),
        **({"role": wid.map(workers["role"])} if "role" in workers else {}),
        "wave": resp["wave"],
    }
    for c in embedded:
        question[c] = c
        import_id[c] = json.dumps({"ImportId": c})
    frame = pd.concat([meta, pd.DataFrame(body), pd.DataFrame(embedded)], axis=1)
    paths: dict[str, Path] = {}
    paths["responses"] = out_dir / f"{prefix}_{'choice_text' if choice_text else 'numeric'}.csv"
    _write_responses(frame, question, import_id, rng, choice_text, paths["responses"])
    paths.update(write_side_files(study, out_dir))
    mapping = _mapping(study, workers, items_map)
    paths["mapping"] = _write_mapping(mapping, out_dir / f"{prefix}_mapping.yaml")
    return paths


def _metadata(resp, people, rng, choice_text) -> pd.DataFrame:
    """Qualtrics' metadata columns (times, status, IP, recipient, location ...), fake."""
    n = len(resp)
    dates = pd.to_datetime(resp["date"])
    start = dates + pd.to_timedelta(rng.integers(8 * 3600, 17 * 3600, n), unit="s")
    duration = rng.integers(240, 1500, n)
    end = start + pd.to_timedelta(duration, unit="s")
    fmt = "%Y-%m-%d %H:%M:%S"
    wid = resp["worker_id"]
    meta = pd.DataFrame(
        {
            "StartDate": start.dt.strftime(fmt),
            "EndDate": end.dt.strftime(fmt),
            "Status": "IP Address" if choice_text else "0",
            "IPAddress": [f"192.0.2.{x}" for x in rng.integers(1, 255, n)],
            "Progress": "100",
            "Duration (in seconds)": duration.astype(str),
            "Finished": "True" if choice_text else "1",
            "RecordedDate": end.dt.strftime(fmt),
            "ResponseId": ["R_" + "".join(rng.choice(list(_ALNUM), 15)) for _ in range(n)],
            "RecipientLastName": wid.map(people["last_name"]).to_numpy(),
            "RecipientFirstName": wid.map(people["first_name"]).to_numpy(),
            "RecipientEmail": wid.map(people["email"]).to_numpy(),
            "ExternalReference": [f"EMP-{1000 + i:05d}" for i in wid.factorize()[0]],
            "LocationLatitude": np.round(rng.uniform(39.5, 41.0, n), 4).astype(str),
            "LocationLongitude": np.round(rng.uniform(-105.5, -104.5, n), 4).astype(str),
            "DistributionChannel": "email",
            "UserLanguage": "EN",
        }
    )
    return meta


def _header_rows(columns) -> tuple[dict, dict]:
    """Question text and ImportId JSON (header rows 2 and 3) of the metadata columns."""
    meta = pd.DataFrame(columns=list(columns))
    question = {c: c for c in meta.columns}
    question.update(
        {
            "StartDate": "Start Date",
            "EndDate": "End Date",
            "IPAddress": "IP Address",
            "RecordedDate": "Recorded Date",
            "ResponseId": "Response ID",
            "RecipientLastName": "Recipient Last Name",
            "RecipientFirstName": "Recipient First Name",
            "RecipientEmail": "Recipient Email",
            "ExternalReference": "External Data Reference",
            "LocationLatitude": "Location Latitude",
            "LocationLongitude": "Location Longitude",
            "DistributionChannel": "Distribution Channel",
            "UserLanguage": "User Language",
        }
    )
    import_id = {c: json.dumps({"ImportId": c[0].lower() + c[1:]}) for c in meta.columns}
    import_id.update(
        {
            c: json.dumps({"ImportId": c[0].lower() + c[1:], "timeZone": "America/Denver"})
            for c in ("StartDate", "EndDate", "RecordedDate")
        }
    )
    import_id["ResponseId"] = json.dumps({"ImportId": "_recordId"})
    import_id["Duration (in seconds)"] = json.dumps({"ImportId": "duration"})
    return question, import_id


def _write_responses(frame, question, import_id, rng, choice_text, path: Path) -> None:
    """The CSV with three header rows, a survey-preview response first."""
    preview = frame.iloc[[0]].copy()
    preview["Status"] = "Survey Preview" if choice_text else "1"
    preview["ResponseId"] = "R_" + "".join(rng.choice(list(_ALNUM), 15))
    for c in (
        "staff_id",
        "RecipientEmail",
        "RecipientFirstName",
        "RecipientLastName",
        "ExternalReference",
        "IPAddress",
    ):
        preview[c] = ""
    frame = pd.concat([preview, frame], ignore_index=True)
    header = [[question[c] for c in frame.columns], [import_id[c] for c in frame.columns]]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(list(frame.columns))
        w.writerows(header)
        w.writerows(frame.astype(object).where(frame.notna(), "").to_numpy().tolist())


def _mapping(study, workers, items_map) -> dict:
    mapping = {
        "study_name": f"{study.name} (Qualtrics export)",
        "format": "qualtrics",
        "worker_id": "staff_id",
        "org_id": "agency",
        "team_id": "team",
        **({"role": "role"} if "role" in workers else {}),
        **({"tenure_years": "Q1"} if "tenure_years" in workers else {}),
        "wave": "wave",
        "waves": list(study.waves),
        "date": {"column": "StartDate"},
        "identifiers": [
            "RecipientLastName",
            "RecipientFirstName",
            "RecipientEmail",
            "IPAddress",
            "LocationLatitude",
            "LocationLongitude",
            "ExternalReference",
        ],
        "items": items_map,
        **_side_file_entries(study),
    }
    return mapping
