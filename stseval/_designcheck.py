"""Checks of the design contract (private helper of :mod:`stseval.validate`).

The ``design:`` block of ``study.yaml`` against the tables: link-code columns
present in ``responses.csv``; ``team_id`` of ``interventions.csv`` naming a team
of ``workers.csv`` in the same organization; ``programs.csv`` naming known
statements, teams and workers; ``truth.csv``'s optional ``wave`` column naming a
wave of ``study.yaml``. Failures go to the checker's list, warnings likewise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._studyio import isin
from .areas import STATEMENT_KEYS

__all__ = ["design_checks", "PROGRAM_COLUMNS"]

#: Columns of the optional programs.csv (individual-level programs).
PROGRAM_COLUMNS = ["program", "statement", "start_date", "team_id", "worker_id"]


def design_checks(checker) -> None:
    """Run every design check on a :class:`stseval._tablecheck._Checker`."""
    from .design import parse_meta

    spec, _ = parse_meta(checker.study.meta)
    block = spec.design if spec is not None and spec.design is not None else None
    linkage = block.linkage if block is not None else None
    _link_codes(checker, linkage, list(block.link_code_columns) if block else [])
    _linkage_consistent(checker, linkage)
    _teams(checker, block.assignment if block else "org")
    _comparison(checker, block.comparison if block else None)
    _programs(checker)
    _truth_waves(checker)


def _blank(values: pd.Series) -> np.ndarray:
    text = values.astype("str").str.strip()
    return (values.isna() | (text == "") | (text == "nan")).to_numpy()


def _link_codes(checker, linkage, columns) -> None:
    resp = checker.study.responses
    if linkage == "code" and not columns:
        checker.fail(
            "study.yaml",
            "design.link_code_columns",
            "",
            "linkage: code needs link_code_columns (e.g. [link_code], or the self-generated "
            "code elements such as [sgic_initial, sgic_birth_month])",
        )
    if columns and linkage != "code":
        checker.fail(
            "study.yaml",
            "design.link_code_columns",
            "",
            f"link_code_columns are given but linkage is {linkage or 'not set'}; "
            "set design.linkage: code or remove them",
        )
    if resp is None or not columns:
        return
    missing = [c for c in columns if c not in resp.columns]
    for col in missing:
        checker.fail(
            "responses.csv",
            col,
            "",
            f"missing column {col}, named in study.yaml design.link_code_columns",
        )
    present = [c for c in columns if c in resp.columns]
    if present:
        blank = np.all([_blank(resp[c]) for c in present], axis=0)
        if blank.all():
            checker.fail(
                "responses.csv",
                ", ".join(present),
                "",
                "every link code is blank; waves cannot be linked by code",
            )


def _linkage_consistent(checker, linkage) -> None:
    resp = checker.study.responses
    if linkage != "anonymous" or resp is None or not {"worker_id", "wave"} <= set(resp.columns):
        return
    pairs = resp[["worker_id", "wave"]].dropna().drop_duplicates()
    repeated = pairs["worker_id"][pairs["worker_id"].duplicated()].unique()
    if len(repeated):
        checker.warnings.append(
            f"design.linkage is anonymous but {len(repeated)} worker_id(s) answer more than "
            f"one wave (e.g. {', '.join(map(str, repeated[:3]))}); they are treated as "
            "different respondents"
        )


def _comparison(checker, comparison) -> None:
    s = checker.study
    if comparison is None or s.orgs is None or s.interventions is None:
        return
    design = s.meta.get("design") if isinstance(s.meta, dict) else None
    if isinstance(design, dict) and design.get("assignment") == "team":
        return  # the comparison is the teams that did not change, inside the organizations
    if "org_id" not in s.orgs.columns or "org_id" not in s.interventions.columns:
        return
    spare = set(s.orgs["org_id"].dropna().tolist()) - set(
        s.interventions["org_id"].dropna().tolist()
    )
    if comparison != "none" and not spare:
        checker.warnings.append(
            f"design.comparison is {comparison} but every organization has a row in "
            "interventions.csv: there is no comparison group"
        )
    if comparison == "none" and spare:
        checker.warnings.append(
            f"design.comparison is none but {len(spare)} organization(s) have no row in "
            "interventions.csv; if they form a comparison group, write design.comparison: "
            "chosen (or randomized)"
        )


def _teams(checker, assignment) -> None:
    s = checker.study
    inter, workers = s.interventions, s.workers
    if inter is None:
        return
    has_col = "team_id" in inter.columns
    if assignment == "team" and not has_col:
        checker.fail(
            "interventions.csv",
            "team_id",
            "",
            "design.assignment is team, so interventions.csv needs a team_id column "
            "(the team that changed practice)",
        )
        return
    if not has_col:
        return
    blank = _blank(inter["team_id"])
    if assignment == "team" and blank.any():
        checker.fail(
            "interventions.csv",
            "team_id",
            blank,
            f"{int(blank.sum())} blank team_id value(s); with assignment team every row "
            "names a team",
        )
    if assignment == "org" and not blank.all():
        checker.warnings.append(
            "interventions.csv names teams (team_id) but design.assignment is org; "
            "whole organizations are compared"
        )
    if workers is None or not {"team_id", "org_id"} <= set(workers.columns):
        return
    team_org = workers.dropna(subset=["team_id"]).drop_duplicates("team_id")
    team_org = team_org.set_index("team_id")["org_id"]
    unknown = ~isin(inter["team_id"], team_org.index) & ~blank
    if unknown.any():
        checker.fail(
            "interventions.csv",
            "team_id",
            unknown,
            f"{int(unknown.sum())} team_id value(s) not in workers.csv: "
            f"{', '.join(map(str, inter['team_id'][unknown].unique()[:5]))}",
        )
    if "org_id" in inter.columns:
        wrong = (inter["team_id"].map(team_org) != inter["org_id"]).to_numpy() & ~unknown & ~blank
        if wrong.any():
            checker.fail(
                "interventions.csv",
                "team_id",
                wrong,
                f"{int(wrong.sum())} team(s) belong to another organization in workers.csv "
                "than the row's org_id",
            )


def _programs(checker) -> None:
    prog = getattr(checker.study, "programs", None)
    if prog is None:
        return
    file = "programs.csv"
    missing = [c for c in PROGRAM_COLUMNS if c not in prog.columns]
    for col in missing:
        checker.fail(
            file, col, "", f"missing column {col} (the table needs {', '.join(PROGRAM_COLUMNS)})"
        )
    if missing:
        return
    checker.ids(prog, file, ["program", "statement"])
    bad = ~prog["statement"].isin(STATEMENT_KEYS).to_numpy() & ~_blank(prog["statement"])
    if bad.any():
        checker.fail(
            file,
            "statement",
            bad,
            f"unknown statement(s) {', '.join(map(str, prog['statement'][bad].unique()[:5]))}; "
            f"valid statements are {', '.join(STATEMENT_KEYS)}",
        )
    # a program's start date is informative only (participation defines the groups)
    checker.dates(prog, file, "start_date", allow_blank=True)
    team_blank, worker_blank = _blank(prog["team_id"]), _blank(prog["worker_id"])
    both = ~team_blank & ~worker_blank
    neither = team_blank & worker_blank
    for mask, what in ((both, "both"), (neither, "neither")):
        if mask.any():
            checker.fail(
                file,
                "team_id, worker_id",
                mask,
                f"{int(mask.sum())} row(s) name {what} team_id and worker_id; "
                "each row names exactly one of them",
            )
    workers = checker.study.workers
    if workers is not None and {"team_id", "worker_id"} <= set(workers.columns):
        for col in ("team_id", "worker_id"):
            blank = _blank(prog[col])
            bad = ~isin(prog[col], set(workers[col].dropna())) & ~blank
            if bad.any():
                checker.fail(
                    file,
                    col,
                    bad,
                    f"{int(bad.sum())} {col} value(s) not in workers.csv: "
                    f"{', '.join(map(str, prog[col][bad].unique()[:5]))}",
                )


def _truth_waves(checker) -> None:
    truth = checker.study.truth
    if truth is None or "wave" not in truth.columns or not checker.waves:
        return
    blank = _blank(truth["wave"])
    bad = ~truth["wave"].astype("str").isin(checker.waves).to_numpy() & ~blank
    if bad.any():
        checker.fail(
            "truth.csv",
            "wave",
            bad,
            f"unknown wave(s) {', '.join(map(str, truth['wave'][bad].unique()[:5]))}; "
            f"study.yaml lists waves {', '.join(checker.waves)}",
        )
