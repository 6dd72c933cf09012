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
from pathlib import Path

import numpy as np
import pandas as pd

from ..instruments import load_instrument
from ._export_common import (
    _DICT_COLUMNS,
    MISSING_CODE,
    _answers,
    _events,
    _people,
    _side_file_entries,
    _study,
    _write_csv,
    _write_mapping,
    write_side_files,
)
from ._export_qualtrics import export_qualtrics

__all__ = ["export_redcap", "export_qualtrics", "write_side_files"]


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

    staff = _staff(workers, people, orgs, roles)

    survey_part = _survey_parts(resp, answers, insts, item_cols, rng)
    field_cols = _field_columns(d, layout)

    by_worker = _by_worker(resp, waves)
    rows = _record_rows(staff, by_worker, layout, events, waves, survey_part, insts)
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
    paths["records"] = _write_records(
        records, d, events, event_labels, insts, labels, out_dir, prefix
    )
    paths.update(write_side_files(study, out_dir))
    mapping = _redcap_mapping(study, layout, events, waves, roles, workers, insts)
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


def _staff(workers, people, orgs, roles) -> pd.DataFrame:
    """The base row of each record: contact details (fake), agency, team, role, tenure."""
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

    return staff


def _field_columns(d: pd.DataFrame, layout: str) -> list[str]:
    """Record columns in REDCap's export order (forms in dictionary order)."""
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

    return field_cols


def _record_rows(staff, by_worker, layout, events, waves, survey_part, insts) -> list[dict]:
    """One row per record x event (longitudinal) or per record x form instance (repeating)."""
    wave_rank = {w: i for i, w in enumerate(waves)}
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
    return rows


def _write_records(records, d, events, event_labels, insts, labels, out_dir, prefix) -> Path:
    path = out_dir / f"{prefix}_records{'_labels' if labels else ''}.csv"
    if labels:
        records = _redcap_labels(records, d, events, event_labels, insts)
    path = out_dir / f"{prefix}_records{'_labels' if labels else ''}.csv"
    if labels:
        header = _label_header(list(records.columns), d)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(records.astype(object).where(records.notna(), "").to_numpy().tolist())
    else:
        _write_csv(records, path)
    return path


def _redcap_mapping(study, layout, events, waves, roles, workers, insts) -> dict:
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
    return mapping


def _survey_parts(resp, answers, insts, item_cols, rng):
    """A function giving the survey fields of one response row (draws form statuses)."""
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

    return survey_part


def _by_worker(resp, waves) -> dict[str, list[tuple[int, str]]]:
    """Worker -> [(response row, wave)] in wave order."""
    wave_rank = {w: i for i, w in enumerate(waves)}
    order = resp.assign(_r=resp["wave"].map(wave_rank)).sort_values(["worker_id", "_r"])
    by_worker: dict[str, list[tuple[int, str]]] = {}
    for r_idx, w, wave in zip(order.index, order["worker_id"], order["wave"], strict=True):
        by_worker.setdefault(w, []).append((r_idx, wave))
    return by_worker
