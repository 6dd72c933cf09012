"""Realistic synthetic exports of a study: what REDCap and Qualtrics would give a user.

Used to ship example exports (``data/synthetic/exports``, made by
``scripts/make_exports.py``) and for the round-trip test study -> export ->
import -> identical scores. Only synthetic studies should be exported: the
fake names, e-mails, IP addresses and locations are invented here so the
importers' identifier dropping has something to drop. Field labels and
question text are the instruments' own short labels, never item wording.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..instruments import load_instrument

__all__ = ["export_redcap", "export_qualtrics", "write_side_files"]

_FIRST = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Dana",
    "Robin",
    "Kim",
    "Lee",
    "Noor",
    "Amal",
    "Ines",
    "Jonas",
    "Mia",
]
_LAST = [
    "Smith",
    "Garcia",
    "Nguyen",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Larsen",
    "Silva",
    "Brown",
    "Müller",
    "Dubois",
    "Rossi",
    "Tanaka",
    "Khan",
    "Olsen",
    "Novak",
]
_DICT_COLUMNS = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
MISSING_CODE = "-99"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _study(study):
    if isinstance(study, (str, Path)):
        from ..study import Study

        return Study.from_dir(study)
    return study


def _events(waves):
    names, labels = [], []
    for i, _ in enumerate(waves):
        label = "Baseline" if i == 0 else ("Follow-up" if i == 1 else f"Follow-up {i}")
        labels.append(label)
        names.append(label.lower().replace("-", "_").replace(" ", "_") + "_arm_1")
    return names, labels


def _people(workers: pd.DataFrame, rng) -> pd.DataFrame:
    n = len(workers)
    first = rng.choice(_FIRST, n)
    last = rng.choice(_LAST, n)
    return pd.DataFrame(
        {
            "first_name": first,
            "last_name": last,
            "email": [
                f"{a.lower()}.{b.lower().replace('ü', 'ue')}{i}@example.org"
                for i, (a, b) in enumerate(zip(first, last, strict=True), 1)
            ],
        },
        index=workers.index,
    )


def _answers(resp: pd.DataFrame, cols: list[str], rng, code_share: float) -> pd.DataFrame:
    """Item answers as text; some missing answers given as the missing-data code."""
    block = resp[cols].astype("Float64")
    text = block.astype(object).where(block.notna(), None)
    text = text.map(lambda v: None if v is None or pd.isna(v) else str(int(v)))
    missing = block.isna().to_numpy()
    coded = missing & (rng.random(missing.shape) < code_share)
    arr = text.to_numpy(dtype=object)
    arr[coded] = MISSING_CODE
    return pd.DataFrame(arr, index=resp.index, columns=cols)


def write_side_files(study, out_dir: Path) -> dict[str, Path]:
    """``orgs.csv``, ``interventions.csv``, ``org_metrics.csv`` for the mapping's side files."""
    out = {}
    frames = {
        "orgs": study.orgs[["org_id", "name", "size"]],
        "interventions": study.interventions.assign(
            start_date=pd.to_datetime(study.interventions["start_date"]).dt.strftime("%Y-%m-%d")
        ),
        "org_metrics": study.org_metrics.assign(
            month=pd.to_datetime(study.org_metrics["month"]).dt.strftime("%Y-%m")
        ),
    }
    for name, frame in frames.items():
        path = out_dir / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        out[name] = path
    return out


def _write_csv(frame: pd.DataFrame, path: Path, *, header=True) -> None:
    frame.to_csv(path, index=False, header=header, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


# -- REDCap -----------------------------------------------------------------------------
def _dictionary(study, insts, roles, orgs) -> pd.DataFrame:
    rows = []

    def add(
        name,
        form,
        ftype,
        label,
        choices="",
        validation="",
        ident="",
        section="",
        vmin="",
        vmax="",
        note="",
    ):
        rows.append(
            {
                "Variable / Field Name": name,
                "Form Name": form,
                "Section Header": section,
                "Field Type": ftype,
                "Field Label": label,
                "Choices, Calculations, OR Slider Labels": choices,
                "Field Note": note,
                "Text Validation Type OR Show Slider Number": validation,
                "Text Validation Min": vmin,
                "Text Validation Max": vmax,
                "Identifier?": ident,
            }
        )

    def opts(mapping):
        return " | ".join(f"{k}, {v}" for k, v in mapping.items())

    add("record_id", "staff", "text", "Record ID")
    add("first_name", "staff", "text", "First name", ident="y", section="Contact (not analysed)")
    add("last_name", "staff", "text", "Last name", ident="y")
    add("email", "staff", "text", "E-mail", validation="email", ident="y")
    add(
        "agency",
        "staff",
        "dropdown",
        "Agency",
        opts({i: o for i, o in enumerate(orgs, 1)}),
        section="Work",
    )
    add("team", "staff", "text", "Team")
    add("job_role", "staff", "radio", "Role", opts({i: r for i, r in enumerate(roles, 1)}))
    add("tenure", "staff", "text", "Years in this job", validation="number", vmin="0", vmax="60")
    add("consent", "staff", "checkbox", "Consent", "1, I agree to take part")
    add("survey_date", "survey_info", "text", "Survey date", validation="date_ymd")
    for inst in insts:
        for item in inst.items:
            anchors = inst.anchors_for(item.number)
            add(
                f"{inst.key}_{item.number}",
                inst.key,
                "radio",
                item.label,
                opts(dict(sorted(anchors.items()))),
                section=inst.short_name if item.number == 1 else "",
            )
    frame = pd.DataFrame(rows, columns=_DICT_COLUMNS).astype(object)
    return frame.where(frame.notna(), "")


def export_redcap(
    study,
    out_dir,
    *,
    layout: str = "longitudinal",
    labels: bool = False,
    api_dictionary: bool = False,
    seed: int = 0,
    prefix: str = "redcap",
) -> dict[str, Path]:
    """Write a REDCap records export, its data dictionary and an import mapping.

    Parameters
    ----------
    study : Study or path of a study folder
    out_dir : path
        Folder to write (created).
    layout : {"longitudinal", "repeating"}
        ``longitudinal``: one event per wave (``baseline_arm_1``,
        ``follow_up_arm_1``, ...), worker details in the baseline event.
        ``repeating``: a classic project whose survey forms are repeating
        instruments, instance 1 = first wave; worker details in the base row.
    labels : bool
        Label export (field labels as headers, choice labels as answers,
        event labels) instead of raw codes and variable names.
    api_dictionary : bool
        Dictionary with the API's snake_case column names.
    seed : int
        Seed of the fake contact details and missing-code choices.
    prefix : str
        File name prefix.

    Returns
    -------
    dict
        ``records``, ``dictionary``, ``mapping``, ``orgs``, ``interventions``,
        ``org_metrics``: paths written.

    Notes
    -----
    Every worker is record ``record_id`` = worker ID. Some blank answers are
    written as the project missing-data code ``-99`` ("declined"). Forms with
    answers are marked Complete (2), a few Unverified (1); empty ones Incomplete (0).
    """
    if layout not in ("longitudinal", "repeating"):
        raise ValueError(f"layout must be 'longitudinal' or 'repeating', got {layout!r}")
    study = _study(study)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    insts = [load_instrument(k) for k in study.instruments]
    workers = study.workers.reset_index(drop=True)
    roles = sorted(workers["role"].dropna().unique()) if "role" in workers else []
    orgs = list(study.orgs["org_id"])
    d = _dictionary(study, insts, roles, orgs)
    people = _people(workers, rng)
    waves = list(study.waves)
    events, event_labels = _events(waves)
    resp = study.responses.copy()
    resp["date"] = pd.to_datetime(resp["date"]).dt.strftime("%Y-%m-%d")
    item_cols = {inst.key: inst.item_columns for inst in insts}
    answers = _answers(resp, [c for cs in item_cols.values() for c in cs], rng, 0.3)

    staff = pd.DataFrame(
        {
            "record_id": workers["worker_id"],
            "first_name": people["first_name"],
            "last_name": people["last_name"],
            "email": people["email"],
            "agency": workers["org_id"].map({o: str(i) for i, o in enumerate(orgs, 1)}),
            "team": workers["team_id"],
            "job_role": (
                workers["role"].map({r: str(i) for i, r in enumerate(roles, 1)}) if roles else None
            ),
            "tenure": workers["tenure_years"].map(lambda v: None if pd.isna(v) else f"{v:g}")
            if "tenure_years" in workers
            else None,
            "consent___1": "1",
            "staff_complete": "2",
        }
    )

    ans = answers.astype(object).where(answers.notna(), None).to_dict("index")
    dates = resp["date"].to_dict()

    def survey_part(r_idx):
        part = {"survey_date": dates[r_idx], "survey_info_complete": "2"}
        row = ans[r_idx]
        for inst in insts:
            vals = [row[c] for c in item_cols[inst.key]]
            for item, v in zip(inst.items, vals, strict=True):
                part[f"{inst.key}_{item.number}"] = v
            answered = any(v is not None for v in vals)
            part[f"{inst.key}_complete"] = (
                ("1" if rng.random() < 0.05 else "2") if answered else "0"
            )
        return part

    field_cols = ["record_id"]
    if layout == "longitudinal":
        field_cols.append("redcap_event_name")
    else:
        field_cols += ["redcap_repeat_instrument", "redcap_repeat_instance"]
    forms = list(dict.fromkeys(d["Form Name"]))
    for form in forms:
        sub = d[d["Form Name"] == form]
        for rec in sub.to_dict("records"):
            if rec["Field Type"] == "checkbox":
                field_cols += [f"{rec['Variable / Field Name']}___1"]
            elif rec["Variable / Field Name"] != "record_id":
                field_cols.append(rec["Variable / Field Name"])
        field_cols.append(f"{form}_complete")

    wave_rank = {w: i for i, w in enumerate(waves)}
    order = resp.assign(_r=resp["wave"].map(wave_rank)).sort_values(["worker_id", "_r"])
    by_worker: dict[str, list[tuple[int, str]]] = {}
    for r_idx, w, wave in zip(order.index, order["worker_id"], order["wave"], strict=True):
        by_worker.setdefault(w, []).append((r_idx, wave))
    rows = []
    for wrow in staff.to_dict("records"):
        wid = wrow["record_id"]
        mine = by_worker.get(wid, [])
        if layout == "longitudinal":
            base = {**wrow, "redcap_event_name": events[0]}
            for r_idx, wave in mine:
                if wave == waves[0]:
                    base.update(survey_part(r_idx))
            rows.append(base)
            for r_idx, wave in mine:
                if wave == waves[0]:
                    continue
                rows.append(
                    {
                        "record_id": wid,
                        "redcap_event_name": events[wave_rank[wave]],
                        **survey_part(r_idx),
                    }
                )
        else:
            rows.append(dict(wrow))
            if mine:
                for r_idx, wave in mine:
                    part = survey_part(r_idx)
                    inst_no = wave_rank[wave] + 1
                    for form in ["survey_info", *[inst.key for inst in insts]]:
                        keys = [
                            k
                            for k in part
                            if k == f"{form}_complete"
                            or (form == "survey_info" and k == "survey_date")
                            or k.startswith(f"{form}_")
                            and k[len(form) + 1 :].isdigit()
                        ]
                        rows.append(
                            {
                                "record_id": wid,
                                "redcap_repeat_instrument": form,
                                "redcap_repeat_instance": str(inst_no),
                                **{k: part[k] for k in keys},
                            }
                        )
    records = pd.DataFrame(rows).reindex(columns=field_cols)
    if not roles:
        records = records.drop(columns=["job_role"])
    if "tenure_years" not in workers:
        records = records.drop(columns=["tenure"])

    paths: dict[str, Path] = {}
    dict_out = d.rename(columns=_api_names()) if api_dictionary else d
    paths["dictionary"] = (
        out_dir / f"{prefix}_data_dictionary{'_api' if api_dictionary else ''}.csv"
    )
    _write_csv(dict_out, paths["dictionary"])
    if labels:
        records = _redcap_labels(records, d, events, event_labels, insts)
    paths["records"] = out_dir / f"{prefix}_records{'_labels' if labels else ''}.csv"
    if labels:
        header = _label_header(list(records.columns), d)
        with open(paths["records"], "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(records.astype(object).where(records.notna(), "").to_numpy().tolist())
    else:
        _write_csv(records, paths["records"])
    paths.update(write_side_files(study, out_dir))
    wave_spec = (
        {"column": "redcap_event_name", "values": dict(zip(events, waves, strict=True))}
        if layout == "longitudinal"
        else {"column": "redcap_repeat_instance", "values": {i + 1: w for i, w in enumerate(waves)}}
    )
    mapping = {
        "study_name": f"{study.name} (REDCap {layout} export)",
        "format": "redcap",
        "worker_id": "record_id",
        "org_id": "agency",
        "team_id": "team",
        **({"role": "job_role"} if roles else {}),
        **({"tenure_years": "tenure"} if "tenure_years" in workers else {}),
        "wave": wave_spec,
        "waves": waves,
        "date": {"column": "survey_date"},
        "identifiers": ["first_name", "last_name", "email"],
        "items": {inst.key: {"prefix": f"{inst.key}_"} for inst in insts},
        "missing_codes": {int(MISSING_CODE): "declined"},
        **_side_file_entries(study),
    }
    paths["mapping"] = _write_mapping(mapping, out_dir / f"{prefix}_mapping.yaml")
    return paths


def _api_names() -> dict[str, str]:
    from ._redcap import DICTIONARY_HEADERS

    return dict(DICTIONARY_HEADERS)


def _redcap_labels(records, d, events, event_labels, insts) -> pd.DataFrame:
    from ._redcap import parse_choices

    out = records.copy()
    for rec in d.to_dict("records"):
        name, ftype = rec["Variable / Field Name"], rec["Field Type"]
        if ftype in ("radio", "dropdown") and name in out:
            ch = parse_choices(rec["Choices, Calculations, OR Slider Labels"])
            out[name] = out[name].map(lambda v, ch=ch: ch.get(v, v) if isinstance(v, str) else v)
        if ftype == "checkbox":
            for col in [c for c in out.columns if c.startswith(f"{name}___")]:
                out[col] = out[col].map({"1": "Checked", "0": "Unchecked"})
    status = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
    for col in [c for c in out.columns if c.endswith("_complete")]:
        out[col] = out[col].map(lambda v: status.get(v, v) if isinstance(v, str) else v)
    if "redcap_event_name" in out:
        labels = {e: f"{lab} (Arm 1: Arm 1)" for e, lab in zip(events, event_labels, strict=True)}
        out["redcap_event_name"] = out["redcap_event_name"].map(labels)
    if "redcap_repeat_instrument" in out:
        names = {inst.key: inst.short_name for inst in insts}
        names["survey_info"] = "Survey Info"
        out["redcap_repeat_instrument"] = out["redcap_repeat_instrument"].map(
            lambda v: names.get(v, v) if isinstance(v, str) else v
        )
    return out


def _label_header(columns, d) -> list[str]:
    labels = dict(zip(d["Variable / Field Name"], d["Field Label"], strict=True))
    boxes = {
        rec["Variable / Field Name"]: rec["Choices, Calculations, OR Slider Labels"]
        for rec in d.to_dict("records")
        if rec["Field Type"] == "checkbox"
    }
    special = {
        "redcap_event_name": "Event Name",
        "redcap_repeat_instrument": "Repeat Instrument",
        "redcap_repeat_instance": "Repeat Instance",
    }
    from ._redcap import parse_choices

    out = []
    for c in columns:
        if c in special:
            out.append(special[c])
        elif c.endswith("_complete"):
            out.append("Complete?")
        elif "___" in c:
            base, code = c.split("___")
            out.append(f"{labels[base]} (choice={parse_choices(boxes[base]).get(code, code)})")
        else:
            out.append(labels.get(c, c))
    return out


# -- Qualtrics ------------------------------------------------------------------------------
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
    paths: dict[str, Path] = {}
    paths["responses"] = out_dir / f"{prefix}_{'choice_text' if choice_text else 'numeric'}.csv"
    with open(paths["responses"], "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(list(frame.columns))
        w.writerows(header)
        w.writerows(frame.astype(object).where(frame.notna(), "").to_numpy().tolist())
    paths.update(write_side_files(study, out_dir))
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
    paths["mapping"] = _write_mapping(mapping, out_dir / f"{prefix}_mapping.yaml")
    return paths


def _side_file_entries(study) -> dict:
    """Mapping entries shared by every export: side files written by write_side_files."""
    return {
        "orgs_file": "orgs.csv",
        "interventions_file": "interventions.csv",
        "org_metrics_file": "org_metrics.csv",
        "min_cell": study.min_cell,
        "keep_org_names": True,
    }


def _write_mapping(mapping: dict, path: Path) -> Path:
    path.write_text(
        "# Mapping for stseval import (see `stseval import --help`). Synthetic data.\n"
        + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return path
