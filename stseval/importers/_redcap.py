"""REDCap: the records CSV export read with its data dictionary.

Handled:

* the data dictionary with the CSV-download headers ("Variable / Field Name",
  "Form Name", "Field Type", "Field Label", "Choices, Calculations, OR Slider
  Labels", "Identifier?", ...) or the API's snake_case names (``field_name``,
  ``form_name``, ``field_type``, ``field_label``,
  ``select_choices_or_calculations``, ``identifier``, ...);
* raw exports (codes, variable names as headers) and label exports (choice
  labels as answers, field labels as headers: "Record ID", "Event Name",
  "Repeat Instrument", "Repeat Instance", "Complete?", "Label (choice=X)");
* longitudinal projects (``redcap_event_name``; event labels such as
  "Baseline (Arm 1: Arm 1)" are also matched to unique event names such as
  ``baseline_arm_1``) and repeating instruments (``redcap_repeat_instrument``,
  ``redcap_repeat_instance``): rows of one record and wave are merged;
* checkbox columns ``field___code``: a combined column ``field`` holding the
  checked choice labels joined by ``"; "`` is added, so a mapping can name it;
* ``<form>_complete`` (0 Incomplete, 1 Unverified, 2 Complete): counted in
  the import notes; with ``redcap: {require_complete: true}`` answers on
  forms that are not Complete are treated as missing;
* fields flagged ``Identifier? = y`` are dropped like the mapping's
  ``identifiers``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import read_table
from ..errors import DataValidationError, UsageError
from ._source import Source, text_frame
from ._values import norm_label

__all__ = [
    "read_redcap",
    "read_dictionary",
    "parse_choices",
    "event_slug",
    "form_status",
    "blank_incomplete",
    "DICTIONARY_HEADERS",
]

#: CSV-download header -> API name of the data dictionary columns.
DICTIONARY_HEADERS = {
    "Variable / Field Name": "field_name",
    "Form Name": "form_name",
    "Section Header": "section_header",
    "Field Type": "field_type",
    "Field Label": "field_label",
    "Choices, Calculations, OR Slider Labels": "select_choices_or_calculations",
    "Field Note": "field_note",
    "Text Validation Type OR Show Slider Number": "text_validation_type_or_show_slider_number",
    "Text Validation Min": "text_validation_min",
    "Text Validation Max": "text_validation_max",
    "Identifier?": "identifier",
    "Branching Logic (Show field only if...)": "branching_logic",
    "Required Field?": "required_field",
    "Custom Alignment": "custom_alignment",
    "Question Number (surveys only)": "question_number",
    "Matrix Group Name": "matrix_group_name",
    "Matrix Ranking?": "matrix_ranking",
    "Field Annotation": "field_annotation",
}
_REQUIRED = ("field_name", "form_name", "field_type", "field_label")
_SPECIAL = [
    ("redcap_event_name", "Event Name"),
    ("redcap_repeat_instrument", "Repeat Instrument"),
    ("redcap_repeat_instance", "Repeat Instance"),
    ("redcap_data_access_group", "Data Access Group"),
    ("redcap_survey_identifier", "Survey Identifier"),
]
_FIXED_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
_STATUS = {
    "0": "incomplete",
    "1": "unverified",
    "2": "complete",
    "incomplete": "incomplete",
    "unverified": "unverified",
    "complete": "complete",
}


def parse_choices(text) -> dict[str, str]:
    """``"1, Never | 2, Rarely"`` -> ``{"1": "Never", "2": "Rarely"}``."""
    out = {}
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return out
    for part in str(text).split("|"):
        code, sep, label = part.partition(",")
        if sep and code.strip():
            out[code.strip()] = label.strip()
    return out


def event_slug(label: str) -> str | None:
    """Unique event name REDCap derives from an event label: "Baseline (Arm 1: Arm 1)" ->
    ``baseline_arm_1``; ``None`` when ``label`` does not look like an event label."""
    m = re.match(r"^(.*?)\s*\(Arm (\d+)(?::[^)]*)?\)\s*$", str(label))
    name, arm = (m.group(1), m.group(2)) if m else (str(label), "1")
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return f"{slug}_arm_{arm}" if slug else None


def read_dictionary(path) -> pd.DataFrame:
    """The data dictionary with API column names, one row per field, in form order."""
    if path is None:
        raise UsageError(
            "a REDCap export needs its data dictionary: add --dictionary "
            "DATA_DICTIONARY.csv (REDCap: Project Setup > Data Dictionary > "
            "Download the current Data Dictionary)"
        )
    path = Path(path)
    frame = read_table(path)
    rename = {}
    for col in frame.columns:
        clean = col.strip().lstrip("\ufeff")
        for header, api in DICTIONARY_HEADERS.items():
            if clean.lower() in (header.lower(), api):
                rename[col] = api
    frame = frame.rename(columns=rename)
    absent = [c for c in _REQUIRED if c not in frame.columns]
    if absent:
        expected = ", ".join(f"{k!r} ({v})" for k, v in DICTIONARY_HEADERS.items() if v in absent)
        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": ", ".join(absent),
                    "rows": "",
                    "problem": f"this does not look like a REDCap data dictionary: columns {expected} "
                    f"are missing (found {', '.join(map(str, frame.columns[:6]))} ...)",
                }
            ]
        )
    blank = frame["field_name"].isna()
    if blank.any():
        from ..errors import format_rows

        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": "field_name",
                    "rows": format_rows(frame.index[blank]),
                    "problem": "blank variable names in the data dictionary",
                }
            ]
        )
    frame["field_name"] = frame["field_name"].astype("str").str.strip()
    twice = frame["field_name"].duplicated(keep=False)
    if twice.any():
        from ..errors import format_rows

        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": "field_name",
                    "rows": format_rows(frame.index[twice]),
                    "problem": "variable name(s) listed more than once in the data dictionary: "
                    + ", ".join(pd.unique(frame.loc[twice, "field_name"])[:10]),
                }
            ]
        )
    frame["form_name"] = frame["form_name"].astype("str").str.strip()
    frame["field_type"] = frame["field_type"].astype("str").str.strip().str.lower()
    return frame


def _columns_of(d: pd.DataFrame) -> tuple[list[tuple[str, str]], dict, dict, dict]:
    """(name, label) in export order; column -> form; choices; checkbox base -> columns."""
    seq: list[tuple[str, str]] = []
    form_of: dict[str, str] = {}
    choices: dict[str, dict[str, str]] = {}
    boxes: dict[str, dict[str, str]] = {}
    rid = d["field_name"].iloc[0]
    seq.append((rid, str(d["field_label"].iloc[0])))
    seq.extend(_SPECIAL)
    has_choices = "select_choices_or_calculations" in d.columns
    for form, rows in d.groupby("form_name", sort=False):
        seq.append((f"{form}_timestamp", "Survey Timestamp"))
        for rec in rows.to_dict("records"):
            name, ftype, label = rec["field_name"], rec["field_type"], str(rec["field_label"])
            if ftype == "descriptive":
                continue
            opts = parse_choices(rec.get("select_choices_or_calculations")) if has_choices else {}
            if ftype == "checkbox":
                boxes[name] = {}
                for code, lab in opts.items():
                    col = f"{name}___{code.replace('-', '_').lower()}"
                    seq.append((col, f"{label} (choice={lab})"))
                    form_of[col] = form
                    boxes[name][col] = lab
                continue
            if name != rid:
                seq.append((name, label))
            form_of[name] = form
            if ftype in ("radio", "dropdown"):
                choices[name] = opts
            elif ftype in _FIXED_CHOICES:
                choices[name] = dict(_FIXED_CHOICES[ftype])
        seq.append((f"{form}_complete", "Complete?"))
        form_of[f"{form}_complete"] = form
    return seq, form_of, choices, boxes


def _rename_label_headers(columns: list[str], seq: list[tuple[str, str]]) -> list[str]:
    out, pos = [], 0
    labels = [norm_label(lab) for _, lab in seq]
    for col in columns:
        cands = {norm_label(col), norm_label(re.sub(r"\.\d+$", "", col))}
        hit = next((j for j in range(pos, len(seq)) if labels[j] in cands), None)
        if hit is None:
            out.append(col)
        else:
            out.append(seq[hit][0])
            pos = hit + 1
    return out


def _repeated_fields(frame: pd.DataFrame, names: set, path: Path) -> None:
    """Repeated headers are refused unless none of them is a dictionary field (label
    exports repeat "Complete?" and "Survey Timestamp" once per form)."""
    problems = frame.attrs.get("header_problems") or []
    bad = [
        p
        for p in problems
        if "trimming" in p["problem"] or any(c in names for c in p["column"].split(", "))
    ]
    if bad:
        raise DataValidationError(bad, title=f"the header of {path} has problems")


def _combine_checkboxes(frame: pd.DataFrame, boxes: dict) -> pd.DataFrame:
    """Add a column ``field`` holding the checked labels of ``field___code`` columns."""
    for base, cols in boxes.items():
        present = [c for c in cols if c in frame.columns]
        if not present or base in frame.columns:
            continue
        checked = pd.DataFrame(
            {
                c: frame[c].astype("str").str.strip().str.lower().isin(["1", "checked"])
                for c in present
            },
            index=frame.index,
        )
        combined = [
            ("; ".join(cols[c] for c in present if row[c]) or np.nan)
            for row in checked.to_dict("records")
        ]
        frame = pd.concat(
            [frame, pd.Series(combined, index=frame.index, name=base, dtype=object)], axis=1
        )
    return frame


def _status_notes(frame: pd.DataFrame, form_of: dict) -> list[str]:
    """``form F: n complete, n unverified, n incomplete`` per form with a status column."""
    notes = []
    for form in dict.fromkeys(form_of.values()):
        status = form_status(frame, form)
        if status is None:
            continue
        counts = status.value_counts()
        if len(counts):
            notes.append(
                f"form {form}: "
                + ", ".join(
                    f"{int(counts.get(k, 0))} {k}"
                    for k in ("complete", "unverified", "incomplete")
                    if counts.get(k, 0)
                )
            )
    return notes


def read_redcap(path: Path, dictionary) -> Source:
    """Read a REDCap records export with its data dictionary (see the module docstring)."""
    d = read_dictionary(dictionary)
    seq, form_of, choices, boxes = _columns_of(d)
    frame = read_table(path, duplicates="number")
    if frame.empty:
        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": "",
                    "rows": "",
                    "problem": "the REDCap export has a header but no records",
                }
            ]
        )
    names = {n for n, _ in seq}
    rid = seq[0][0]
    notes = list(frame.attrs.get("notes", []))
    encoding = frame.attrs.get("encoding")
    if rid not in frame.columns:
        renamed = _rename_label_headers(list(frame.columns), seq)
        if rid in renamed:
            frame.columns = renamed
            notes.append(
                "REDCap export with label headers: columns matched to variable names "
                "through the data dictionary"
            )
    _repeated_fields(frame, names, path)
    unknown = [c for c in frame.columns if c not in names]
    if len(unknown) == len(frame.columns):
        raise DataValidationError(
            [
                {
                    "file": str(path),
                    "column": ", ".join(map(str, frame.columns[:4])),
                    "rows": "",
                    "problem": f"none of the export's columns is a field of the data dictionary "
                    f"{dictionary} (its first field is {rid!r}); is it the dictionary of "
                    f"this project?",
                }
            ]
        )
    frame = _combine_checkboxes(text_frame(frame), boxes)
    notes += _status_notes(frame, form_of)
    idents = []
    if "identifier" in d.columns:
        flagged = d.loc[d["identifier"].astype("str").str.strip().str.lower() == "y", "field_name"]
        for name in flagged:
            idents.extend([name, *boxes.get(name, {})])
    labels = {n: lab for n, lab in seq if n in frame.columns}
    part = "redcap_repeat_instrument" if "redcap_repeat_instrument" in frame.columns else None
    return Source(
        path=path,
        format="redcap",
        frame=frame,
        part_column=part,
        choices=choices,
        identifier_columns=[c for c in idents if c in frame.columns],
        form_of=form_of,
        labels=labels,
        checkboxes=boxes,
        notes=notes,
        encoding=encoding,
        inputs=[Path(dictionary)],
    )


def form_status(frame: pd.DataFrame, form: str) -> pd.Series | None:
    """``complete``/``unverified``/``incomplete`` per row for a form, or None without status."""
    col = f"{form}_complete"
    if col not in frame.columns:
        return None
    return frame[col].astype("str").str.strip().str.lower().map(_STATUS)


def blank_incomplete(frame: pd.DataFrame, columns, form_of: dict) -> tuple[pd.DataFrame, int]:
    """A copy of ``frame`` with answers on forms not marked Complete blanked, and their count."""
    frame = frame.copy()
    n = 0
    for col in columns:
        form = form_of.get(col)
        status = form_status(frame, form) if form else None
        if status is None:
            continue
        drop = (status != "complete").to_numpy() & frame[col].notna().to_numpy()
        drop &= frame[col].astype("str").str.strip().ne("").to_numpy()
        n += int(drop.sum())
        frame.loc[drop, col] = np.nan
    return frame, n
