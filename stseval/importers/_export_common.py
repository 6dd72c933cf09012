"""Shared parts of the synthetic exports: fake people, answers with missing codes, side files.

See :mod:`stseval.importers._export` (REDCap) and :mod:`stseval.importers._export_qualtrics`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import yaml

__all__ = ["write_side_files", "MISSING_CODE"]

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
