"""Data dictionary of a study folder: a generated ``README.md`` describing every column.

:func:`write_data_dictionary` documents every table and every column of a
:class:`~stseval.study.Study`: its meaning, type, allowed and observed
range, share missing, and for item columns the instrument, the kit's short
item label (never the item wording), the scales it belongs to and whether it
is reverse-keyed. The text depends only on the study, so regenerating it
gives the same bytes (the shipped synthetic studies are checked for drift).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .areas import AREA_KEYS, ORG_AREAS
from .columns import WORKDAYS_PER_MONTH

__all__ = ["write_data_dictionary", "data_dictionary"]

_MEANING = {
    "workers.csv": {
        "worker_id": ("text", "Pseudonymous worker ID (one row per worker)."),
        "org_id": ("text", "Organization the worker belongs to (see orgs.csv)."),
        "team_id": ("text", "Team within the organization; unique across the study."),
        "role": ("text", "Job role."),
        "tenure_years": ("number", "Years working in the organization at baseline."),
    },
    "responses.csv": {
        "worker_id": ("text", "Worker who answered (see workers.csv)."),
        "wave": ("text", "Survey wave, one of the waves in study.yaml, in order."),
        "date": ("date", "Day the survey was answered (YYYY-MM-DD)."),
    },
    "orgs.csv": {
        "org_id": ("text", "Organization ID (one row per organization)."),
        "name": ("text", "Pseudonymous organization name."),
        "size": (
            "whole number",
            "Headcount at the start of the indicator series (all staff, surveyed or not).",
        ),
    },
    "interventions.csv": {
        "org_id": ("text", "Organization that changed practice."),
        "area": ("text", "Organizational guidance area changed (stseval.areas)."),
        "start_date": ("date", "First day of the new practice (YYYY-MM-DD)."),
        "team_id": (
            "text",
            "With design.assignment team: the team that changed practice (other teams of "
            "the organization did not).",
        ),
    },
    "programs.csv": {
        "program": ("text", "Name of the individual-level program."),
        "statement": ("text", "Individual guidance statement it addresses (stseval.areas)."),
        "start_date": ("date", "First day of the program (YYYY-MM-DD)."),
        "team_id": ("text", "Team that took part (or blank when a worker is named)."),
        "worker_id": ("text", "Worker who took part (or blank when a team is named)."),
    },
    "org_metrics.csv": {
        "org_id": ("text", "Organization."),
        "month": ("month", "Calendar month (YYYY-MM)."),
        "headcount": ("whole number", "Staff employed at the start of the month."),
        "separations": (
            "whole number",
            "Staff who left during the month (turnover); "
            "separation_rate = separations / headcount.",
        ),
        "absence_days": (
            "whole number",
            "Working days lost to sickness absence in the month; "
            f"absence_rate = absence_days / (headcount x {WORKDAYS_PER_MONTH}).",
        ),
    },
    "truth.csv": {
        "area": ("text", "Organizational area of the intervention."),
        "outcome": (
            "text",
            "Score column (e.g. stss_total) or indicator (separation_rate, absence_rate).",
        ),
        "estimand": (
            "text",
            "att: average effect on the treated in raw units; att_sd: the "
            "same in baseline SD units.",
        ),
        "value": ("number", "The true value the estimators should recover."),
        "wave": ("text", "Wave the truth refers to (blank = the first post wave)."),
        "cohort": ("text", "Start cohort the truth refers to (blank = all)."),
    },
}
_ONE_ROW_PER = {
    "workers.csv": "worker",
    "responses.csv": "worker x wave answered",
    "orgs.csv": "organization",
    "interventions.csv": "organization x area changed",
    "org_metrics.csv": "organization x month",
    "truth.csv": "area x outcome x estimand",
    "programs.csv": "program x participating team or worker",
}
_TABLES = (
    ("workers", "workers.csv"),
    ("responses", "responses.csv"),
    ("orgs", "orgs.csv"),
    ("interventions", "interventions.csv"),
    ("org_metrics", "org_metrics.csv"),
    ("truth", "truth.csv"),
    ("programs", "programs.csv"),
)


def _num(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.4g}"
    return str(x)


def _observed(values: pd.Series, kind: str) -> str:
    v = values.dropna()
    if not len(v):
        return "all missing"
    if kind in {"date", "month"}:
        fmt = "%Y-%m" if kind == "month" else "%Y-%m-%d"
        return f"{v.min().strftime(fmt)} to {v.max().strftime(fmt)}"
    if kind in {"number", "whole number"} or pd.api.types.is_numeric_dtype(v):
        return f"{_num(v.min())} to {_num(v.max())}"
    uniq = v.astype("str").value_counts().sort_index()
    if len(uniq) <= 8:
        return ", ".join(f"{k} ({n})" for k, n in uniq.items())
    return f"{len(uniq)} distinct values"


def _missing(values: pd.Series) -> str:
    share = float(values.isna().mean()) if len(values) else 0.0
    return "0" if share == 0 else f"{100 * share:.1f}%"


def _table(headers, rows) -> list[str]:
    def cell(x):
        return str(x).replace("|", "/").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def data_dictionary(study) -> str:
    """The data dictionary of ``study`` as Markdown text (see :func:`write_data_dictionary`)."""
    insts = study.instrument_objects()
    prov = study.provenance
    lines = [f"# Data dictionary: {study.name}", ""]
    desc = study.meta.get("description")
    if desc:
        lines += [str(desc), ""]
    lines += [
        f"Generated by stseval {__version__} (`stseval.datadict.write_data_dictionary`); "
        "regenerate it rather than editing by hand.",
        "",
    ]
    if study.is_synthetic:
        lines += [
            "## Provenance",
            "",
            "**Synthetic data.** No real person or organization is described. The study "
            f"was simulated by `{prov.get('generator', 'stseval.simulate')}` "
            f"(stseval {prov.get('stseval_version', '?')}) with seed "
            f"{prov.get('seed', '?')}; the full design is in `study.yaml` under "
            "`provenance.design`. Recreate it with `stseval simulate` or "
            "`stseval.simulate(StudyDesign.from_dict(design), seed=seed)`.",
            "",
        ]
        if prov.get("truth_definition"):
            lines += [f"Truth: {prov['truth_definition']}", ""]
    lines += _tables_section(study, insts)
    lines += _scores_section(insts)
    lines += _instruments_section(insts)
    return "\n".join(lines)


def _describe(fname, frame) -> list[str]:
    rows = []
    for col in frame.columns:
        kind, meaning = _MEANING.get(fname, {}).get(col, ("", "User column."))
        kind = kind or ("number" if pd.api.types.is_numeric_dtype(frame[col]) else "text")
        rows.append((f"`{col}`", meaning, kind, _observed(frame[col], kind), _missing(frame[col])))
    return _table(["column", "meaning", "type", "observed", "missing"], rows)


def _tables_section(study, insts) -> list[str]:
    lines = []
    lines += ["## Files", ""]
    files = [("study.yaml", 1, "study: name, waves, instruments, min_cell, provenance")]
    for attr, fname in _TABLES:
        frame = getattr(study, attr)
        if frame is not None and (attr != "org_metrics" or len(frame)):
            files.append((fname, len(frame), _ONE_ROW_PER[fname]))
    lines += _table(["file", "rows", "one row per"], files) + [""]
    lines += ["## study.yaml", ""]
    lines += _table(["field", "value"], _meta_rows(study)) + [""]

    item_cols = {c for i in insts for c in i.item_columns}
    for attr, fname in _TABLES:
        frame = getattr(study, attr)
        if frame is None or (attr == "org_metrics" and not len(frame)):
            continue
        lines += [f"## {fname}", ""]
        if attr == "responses":
            ids = frame[[c for c in frame.columns if c not in item_cols]]
            lines += _describe(fname, ids) + [""]
            lines += _item_section(frame, insts)
        else:
            lines += _describe(fname, frame) + [""]
            if attr == "interventions":
                lines += [
                    "Areas: " + "; ".join(f"`{k}` = {ORG_AREAS[k].title}" for k in AREA_KEYS) + ".",
                    "",
                ]
            if attr == "truth":
                outs = sorted(frame["outcome"].unique())
                lines += [
                    "Outcomes in this table: "
                    + ", ".join(f"`{o}`" for o in outs)
                    + ". Lower is better for STS, burnout, separation and absence; "
                    "higher is better for compassion satisfaction and practice.",
                    "",
                ]
    return lines


def _scores_section(insts) -> list[str]:
    lines = []
    lines += [
        "## Scores (computed by `stseval.score`, not stored)",
        "",
        "`Study.scored()` adds these columns; sums of items missing a few answers are "
        "prorated from the mean of the answered items when enough are answered.",
        "",
    ]
    rows = []
    for inst in insts:
        for rec in inst.summary().itertuples(index=False):
            rows.append(
                (
                    f"`{rec.column}`",
                    inst.short_name,
                    rec.scale,
                    rec.method,
                    rec.n_items,
                    f"{_num(rec.min)} to {_num(rec.max)}",
                    rec.reverse_items or "-",
                    f">= {rec.min_answered} answered",
                )
            )
    lines += _table(
        [
            "column",
            "instrument",
            "scale",
            "method",
            "items",
            "range",
            "reverse-keyed items",
            "needs",
        ],
        rows,
    ) + [""]
    return lines


def _instruments_section(insts) -> list[str]:
    lines = []
    lines += ["## Instruments", ""]
    lines += _table(
        ["key", "name", "version", "licence", "validated", "citation"],
        [
            (
                i.key,
                i.name,
                i.version,
                i.licence.status,
                "yes" if i.validated else "no (kit-authored, not yet validated)",
                i.citation,
            )
            for i in insts
        ],
    ) + [""]
    return lines


def _meta_rows(study) -> list[tuple[str, str]]:
    """Rows of the study.yaml table; design fields only where the file sets them."""
    meta = study.meta
    design = study.design
    waves = ", ".join(
        f"{w} ({d})" if d is not None else w
        for w, d in zip(design.waves, design.wave_dates, strict=True)
    )
    rows = [
        ("name", study.name),
        ("waves", waves),
        ("instruments", ", ".join(study.instruments)),
        ("min_cell", f"{study.min_cell} (smallest group shown in shared reports)"),
    ]
    if study.min_orgs is not None:
        rows.append(
            ("min_orgs", f"{study.min_orgs} (fewest other organizations a summary may describe)")
        )
    if isinstance(meta.get("design"), dict):
        rows.append(("design", design.describe()))
        rows += [("", text) for text in design.implications()]
    return rows


def _item_section(frame: pd.DataFrame, insts) -> list[str]:
    lines = [
        "Item columns hold whole-number answers; blank = not answered. Labels are the "
        "kit's own short paraphrases, not the item wording.",
        "",
    ]
    rows = []
    for inst in insts:
        r = inst.response
        member: dict[int, list[str]] = {}
        for name, sc in inst.scales.items():
            for i in sc.items:
                member.setdefault(i, []).append(name)
        for item, col in zip(inst.items, inst.item_columns, strict=False):
            if col not in frame.columns:
                continue
            values = frame[col]
            rows.append(
                (
                    f"`{col}`",
                    inst.short_name,
                    item.label,
                    ", ".join(member.get(item.number, [])) or "-",
                    "yes" if item.reverse else "",
                    f"{r.min} to {r.max}",
                    _observed(values, "whole number"),
                    _missing(values),
                )
            )
    return (
        lines
        + _table(
            [
                "column",
                "instrument",
                "item (short label)",
                "scales",
                "reverse",
                "allowed",
                "observed",
                "missing",
            ],
            rows,
        )
        + [""]
    )


def write_data_dictionary(study, path: str | Path) -> Path:
    """Write the study's data dictionary as Markdown.

    Parameters
    ----------
    study : Study
    path : str or Path
        A file name (e.g. ``folder/README.md``) or a folder (``README.md`` is
        written inside it).

    Returns
    -------
    Path
        The file written (UTF-8, LF line endings).
    """
    path = Path(path)
    if path.is_dir() or (not path.suffix and not path.exists()):
        path.mkdir(parents=True, exist_ok=True)
        path = path / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((data_dictionary(study) + "\n").encode("utf-8"))
    return path
