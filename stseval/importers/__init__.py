"""Importers: survey exports (REDCap, Qualtrics, CSV, Excel, SPSS) into a study folder.

An import reads one export file, a mapping file saying which column is
which, and optional small side files (organizations, interventions, monthly
org metrics), and writes a study folder (``DESIGN.md``, "Study folder"):
``study.yaml``, ``workers.csv``, ``responses.csv``, ``orgs.csv``,
``interventions.csv``, ``org_metrics.csv`` and, when missing-data codes were
found, ``missing_reasons.csv``. Every problem in the export or the mapping
is collected and reported at once (file, column, line numbers, what was
expected) as a :class:`~stseval.errors.DataValidationError`; nothing is
written then. Input files are only read.

IDs are pseudonymized at import with a keyed hash (HMAC-SHA256, see
:mod:`stseval.privacy`): worker IDs become ``W-<hash>``, org IDs ``O-<hash>``,
team IDs ``T-<hash>`` (of org and team together). The key comes from the
environment variable ``STSEVAL_KEY`` or a key file kept outside the study;
it never appears in any output. Importing without a key is refused unless
``pseudonymize=False`` (``--no-pseudonymize``) says the IDs already are
pseudonyms. Columns named under ``identifiers``, REDCap fields flagged
``Identifier? = y`` and Qualtrics' identifying metadata (IP address,
location, recipient names and e-mail, external reference) are dropped.

Mapping file
------------
A YAML file; ``stseval import EXPORT --template > mapping.yaml`` writes a
starter one from the export's header, with guesses marked ``# CHECK`` and
gaps ``# TODO``::

    study_name: Agency wellbeing survey 2025   # optional; default: the file name
    format: redcap            # auto (default) | redcap | qualtrics | csv | excel | spss
    worker_id: record_id      # required: column with the worker ID
    org_id: agency            # required: column with the organization
    team_id: team             # optional (default: one team per organization)
    role: job_role            # optional
    tenure_years: tenure      # optional (years, a number)
    wave:                     # required: column with the wave ...
      column: redcap_event_name
      values:                 # ... and, optionally, source value -> study wave
        baseline_arm_1: pre
        follow_up_arm_1: post
        enrollment_arm_1: null    # null: rows that only hold worker details
    # wave: {value: pre}      # a file holding one wave only
    waves: [pre, post]        # optional: the study's waves in order (default pre, post)
    date:                     # optional: the survey date
      column: survey_date
      format: "%d/%m/%Y"      # optional; default YYYY-MM-DD (a time of day is ignored)
    identifiers: [first_name, last_name, email]   # dropped; never imported
    items:                    # required: one entry per instrument (built-in key)
      stss: {prefix: stss_}   # columns stss_1 ... stss_17 (or stss_01 ...)
      proqol:                 # an explicit list, in item order
        columns: [pq1, pq2, pq3]        # ... all 30
      org_guidance:           # or COLUMN: ITEM NUMBER pairs
        og_a: 1
        og_b: 2               # ...
      pcl5: {prefix: "Q5_", recode: {1: 0, 2: 1, 3: 2, 4: 3, 5: 4}}  # source codes -> values
    missing_codes: {-99: refused, -98: "don't know"}   # answers that mean missing, and why
    orgs_file: orgs.csv                   # optional: org_id[, name, size]
    interventions_file: interventions.csv # optional: org_id, area, start_date
    org_metrics_file: org_metrics.csv     # optional: org_id, month, headcount,
                                          #   separations, absence_days
    min_cell: 5               # optional: smallest group shown in reports (default 5)
    keep_org_names: false     # optional: keep the orgs file's names when pseudonymizing
    layout: wide              # csv/excel/spss: wide (default) or long
    long: {item: item, value: value}   # long layout: one row per worker x wave x item
    sheet: 0                  # excel: sheet name or number
    redcap: {require_complete: false}  # true: answers on forms not marked Complete are missing

Relative paths are read from the mapping file's folder. Side files use the
study-folder column names. Without ``orgs_file`` the organizations come from
the workers' org IDs (size = workers in the export). With pseudonymization,
organization names become ``Organization 01`` ... unless ``keep_org_names``.

Answer codes
------------
Each item column gets its own code map, built choice by choice (see
:mod:`stseval.importers._codemap`): from the source's labels (REDCap choices,
SPSS value labels) matched to the instrument's anchors ignoring case, spacing
and punctuation, or from the mapping's ``codes``; without labels, numbers are
read as they are. A choice that is not an answer ("Prefer not to say", "Not
applicable", "Don't know", or any unknown label outside the scale's codes)
becomes missing with its label as the reason; it never shifts the others.
Labels that run opposite to the anchors (1 = "Very often") are followed and
the import says so. When the labels do not decide (no label matches, two
codes claim one answer, an unknown label between answers) the import stops
and names the columns, codes and labels. Options per instrument::

    items:
      proqol:
        prefix: pq_
        codes: {1: 5, 2: 4, 3: 3, 4: 2, 5: 1, 9: "prefer not to say"}  # code -> value
        synonyms: {"Sometimes": Occasionally}   # source label -> anchor (or value)
    synonyms: {"Nie": Never}                    # top level: for every instrument

Answer cells may also hold labels: ``Very often``, ``very often ``, ``5 - Very
often`` all read as 5 on a 1-5 scale whose label 5 is "Very often". Qualtrics'
``-99`` (seen but unanswered) and SPSS user-missing values (discrete values and
ranges such as ``97 THRU 99``, per variable) are missing without being listed.
Qualtrics CSV exports carry no value labels: a numeric export whose recode
values differ from the instrument's values needs a ``codes:`` block (or the
choice-text export).

What the import did is written beside the study: ``import_report.md`` (per
instrument: the code -> value map, how each code was decided, answers per
code, answers turned into missing and why) and ``missing_reasons.csv``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import UsageError
from ._mapping import Mapping, load_mapping
from ._sources import Source, detect_format, read_source

__all__ = [
    "import_study",
    "ImportResult",
    "load_mapping",
    "read_source",
    "detect_format",
    "mapping_template",
    "export_redcap",
    "export_qualtrics",
    "Mapping",
    "Source",
    "STUDY_FILES",
]

#: Files an import writes into the study folder.
STUDY_FILES = (
    "study.yaml",
    "workers.csv",
    "responses.csv",
    "orgs.csv",
    "interventions.csv",
    "org_metrics.csv",
    "truth.csv",
    "missing_reasons.csv",
    "import_report.md",
)


@dataclass
class ImportResult:
    """What :func:`import_study` did.

    Attributes
    ----------
    out : Path
        The study folder written.
    study : stseval.study.Study
        The study as read back from ``out`` (validated).
    warnings : list of str
        Things to look at that do not stop the import (unmatched pre/post
        workers, organizations with few respondents, ...).
    notes : list of str
        What the import did beyond the mapping (rows skipped, codes recoded...).
    missing_reasons : DataFrame
        ``worker_id, wave, column, code, reason``: answers turned into missing
        (missing-data codes, SPSS user-missing values, choices that are not answers).
    code_map : DataFrame
        The code -> value map per item column with answer counts
        (:func:`stseval.importers._codereport.code_map_table`).
    report : str
        ``import_report.md`` (Markdown), also written into the study folder.
    """

    out: Path
    study: object
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing_reasons: pd.DataFrame | None = None
    code_map: pd.DataFrame | None = None
    report: str = ""

    def report_short(self) -> list[str]:
        """One line per instrument: the code map in words, answers read as missing."""
        from ._codereport import report_short

        return report_short(self.code_map, self.missing_reasons)

    def summary(self) -> pd.DataFrame:
        """Rows per table of the written folder: ``table, rows``."""
        s = self.study
        return pd.DataFrame(
            {
                "table": ["workers", "responses", "orgs", "interventions", "org_metrics"],
                "rows": [
                    len(s.workers),
                    len(s.responses),
                    len(s.orgs),
                    len(s.interventions),
                    len(s.org_metrics),
                ],
            }
        )


def _key(key, key_file, pseudonymize: bool) -> bytes | None:
    from ..privacy import load_key

    if not pseudonymize:
        if key is not None or key_file is not None:
            raise UsageError(
                "give either a key (--key-file / STSEVAL_KEY) or --no-pseudonymize, not both"
            )
        return None
    if key is not None:
        return key.encode("utf-8") if isinstance(key, str) else bytes(key)
    try:
        return load_key(key_file=key_file)
    except UsageError as exc:
        raise UsageError(
            f"{exc}. IDs are pseudonymized at import; only if the export's IDs are "
            "already pseudonyms, pass --no-pseudonymize (pseudonymize=False)"
        ) from None


def _check_paths(out: Path, inputs: list[Path], overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UsageError(
            f"study folder {out} is not empty; pass --overwrite (overwrite=True) "
            "to replace its study files"
        )
    targets = {(out / name).resolve() for name in STUDY_FILES}
    for p in inputs:
        if p is not None and Path(p).resolve() in targets:
            raise UsageError(
                f"the study folder {out} would overwrite the input file {p}; "
                "write the study to another folder (inputs are never modified)"
            )


def import_study(
    source,
    mapping,
    out,
    *,
    format: str = "auto",
    dictionary=None,
    key=None,
    key_file=None,
    pseudonymize: bool = True,
    min_cell: int | None = None,
    overwrite: bool = False,
):
    """Import an export into a study folder (see the module docstring for the mapping).

    Parameters
    ----------
    source : str or Path
        The export: REDCap records CSV, Qualtrics CSV, CSV/TSV, Excel or SPSS ``.sav``.
    mapping : str, Path or dict
        The mapping file (YAML) or its content.
    out : str or Path
        Study folder to write (must be empty unless ``overwrite``).
    format : {"auto", "redcap", "qualtrics", "csv", "excel", "spss"}
        ``auto``: the mapping's ``format``, else guessed from the file.
    dictionary : str or Path, optional
        REDCap data dictionary CSV (needed for REDCap exports).
    key : bytes or str, optional
        Pseudonymization key; default: ``key_file`` or the ``STSEVAL_KEY`` variable.
    key_file : str or Path, optional
        File holding the key (keep it outside the study folder).
    pseudonymize : bool
        ``False`` imports IDs as they are (only for exports whose IDs are
        already pseudonyms); worker IDs that look like e-mail addresses are refused.
    min_cell : int, optional
        Written to ``study.yaml`` (default: the mapping's, else 5).
    overwrite : bool
        Replace the study files of a non-empty ``out`` folder.

    Returns
    -------
    ImportResult

    Raises
    ------
    UsageError
        Missing files, no key, ``out`` not empty, ``out`` would overwrite an input.
    DataValidationError
        Every problem with the mapping and the export, all at once.
    """
    from ..checks import study_warnings
    from ..study import Study
    from ._build import build_tables
    from ._codereport import code_map_table, report_markdown

    key_bytes = _key(key, key_file, pseudonymize)
    mapping = load_mapping(mapping)
    out = Path(out)
    inputs = [
        Path(source),
        Path(mapping.source) if Path(mapping.source).is_file() else None,
        Path(dictionary) if dictionary else None,
        *mapping.input_files(),
    ]
    _check_paths(out, inputs, overwrite)
    fmt = format if format not in (None, "auto") else mapping.format
    if dictionary is not None and fmt == "auto":
        fmt = "redcap"
    src = read_source(source, format=fmt, dictionary=dictionary, sheet=mapping.sheet)
    cell = int(min_cell or mapping.min_cell or 5)
    tables, meta, reasons, code_maps = build_tables(src, mapping, key=key_bytes, min_cell=cell)
    study = Study(meta=meta, **tables)
    found = list(study.validate())
    found += study_warnings(study, cell)
    table = code_map_table(code_maps)
    report = report_markdown(
        table, reasons, title=meta["name"], notes=_report_notes(src, mapping, meta)
    )
    study.to_dir(out, overwrite=overwrite)
    _write_beside(out, reasons, report)
    with warnings.catch_warnings():
        # the folder was validated above; from_dir repeats the study warnings
        warnings.filterwarnings("ignore", message=re.escape(f"{out}: "), category=UserWarning)
        written = Study.from_dir(out, validate=True)
    return ImportResult(
        out=out,
        study=written,
        warnings=list(dict.fromkeys(found)),
        notes=list(meta["provenance"]["notes"]),
        missing_reasons=reasons,
        code_map=table,
        report=report,
    )


def _report_notes(src, mapping, meta) -> list[str]:
    prov = meta["provenance"]
    notes = [
        f"source: {src.path.name} ({src.format}"
        + (f", read as {src.encoding} text" if src.encoding else "")
        + f"); mapping: {prov['mapping']}; imported on {prov['imported_on']}",
    ]
    return notes + [f"note: {n}" for n in prov["notes"]]


def _write_beside(out: Path, reasons: pd.DataFrame, report: str) -> None:
    from ..privacy import safe_csv

    stale = out / "missing_reasons.csv"
    if len(reasons):
        safe_csv(reasons, stale, index=False, lineterminator="\n")
    elif stale.exists():
        stale.unlink()
    (out / "import_report.md").write_text(report, encoding="utf-8")


def mapping_template(source, *, format: str = "auto", dictionary=None, sheet=0) -> str:
    """A starter mapping (YAML text) for an export; see :mod:`stseval.importers._template`."""
    from ._template import mapping_template as make

    return make(source, format=format, dictionary=dictionary, sheet=sheet)


def export_redcap(study, out_dir, **kwargs):
    """Write a synthetic REDCap export of a study; see :mod:`stseval.importers._export`."""
    from ._export import export_redcap as run

    return run(study, out_dir, **kwargs)


def export_qualtrics(study, out_dir, **kwargs):
    """Write a synthetic Qualtrics export of a study; see :mod:`stseval.importers._export`."""
    from ._export import export_qualtrics as run

    return run(study, out_dir, **kwargs)
