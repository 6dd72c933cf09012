"""Evaluate one individual guidance statement: did a program's participants change more?

An individual-level program (a training, a skills course, peer support) is
recorded in ``programs.csv``: ``program, statement, start_date, team_id,
worker_id``, one row per team (``team_id``) or worker (``worker_id``) that took
part; ``statement`` is an individual guidance statement key
(:data:`stseval.areas.STATEMENT_KEYS`). For one statement, the *participants*
are the workers named (directly or through their team) by a program row for
that statement; the *non-participants* are workers named by no program row at
all (workers in programs for other statements are left out of both groups, as
organizations that changed another area are left out of an area's comparison).

Outcomes: the statement's own score on the Individual Guidance Inventory
(``ind_guidance_<statement>``, a kit-authored inventory: check its
psychometrics first) and the staff outcomes the study measures (STSS, ProQOL
scales). Waves: the study's first two.

Estimators (``estimator`` column):

``paired_change``
    Mean change (later - earlier wave) of participants, paired t-test
    (:func:`stseval.models.paired_test`). Also contains any change that
    happened to everyone.
``paired_change_nonparticipants``
    The same for non-participants: the change participants are compared with.
``ancova``
    Later-wave score adjusted for the earlier one, participants vs
    non-participants, cluster-robust (CR3 by default) standard errors by
    organization, t on G - 1 df (:func:`stseval.models.ancova`). Effect size:
    estimate / pooled earlier-wave SD. Participants chose (or were chosen for)
    the program: this is a comparison, not a randomized contrast.

A group with fewer than ``min_cell`` workers with both waves is not estimated
(the row says why). With no ``programs.csv``, no program for the statement,
or no Individual Guidance Inventory answers, rows come back with NaN and a
``note`` instead of an exception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import models
from .areas import AREA_KEYS, IND_STATEMENTS, STAFF_OUTCOMES, STATEMENT_KEYS, outcome_direction
from .columns import ESTIMATE_COLUMNS
from .errors import StsevalError, UsageError

__all__ = ["STATEMENT_COLUMNS", "STATEMENT_ESTIMATORS", "PROGRAM_COLUMNS", "evaluate_statement"]

#: Columns of :func:`evaluate_statement`: the estimates table plus four.
STATEMENT_COLUMNS = ESTIMATE_COLUMNS + ["es_description", "wave", "direction", "method"]
#: Estimator names used here (candidates for ``stseval.columns.ESTIMATORS``).
STATEMENT_ESTIMATORS = ["paired_change", "paired_change_nonparticipants", "ancova"]
#: Columns of ``programs.csv``.
PROGRAM_COLUMNS = ["program", "statement", "start_date", "team_id", "worker_id"]


def _programs(study, programs) -> pd.DataFrame | None:
    if programs is None:
        programs = getattr(study, "programs", None)
    if programs is None and getattr(study, "source", None) is not None:
        path = Path(study.source) / "programs.csv"
        if path.is_file():
            programs = pd.read_csv(path, dtype=str, keep_default_na=False)
    if programs is None:
        return None
    if not isinstance(programs, pd.DataFrame):
        raise UsageError(f"programs must be a DataFrame; got {type(programs).__name__}")
    need = ["statement", "team_id", "worker_id"]
    missing = [c for c in need if c not in programs.columns]
    if missing:
        raise UsageError(
            f"programs.csv has no column {', '.join(map(repr, missing))}; expected "
            f"{', '.join(PROGRAM_COLUMNS)}"
        )
    p = programs[need].astype("string").fillna("").apply(lambda s: s.str.strip())
    empty = p.index[(p["team_id"] == "") & (p["worker_id"] == "")]
    if len(empty):
        rows = ", ".join(str(i + 2) for i in empty[:5])  # +2: header line, 1-based
        raise UsageError(
            f"programs.csv rows {rows} name neither a team_id nor a worker_id; each row "
            "must say who took part"
        )
    bad = sorted(set(p["statement"]) - set(STATEMENT_KEYS))
    if bad:
        raise UsageError(
            f"programs.csv column 'statement' has unknown key(s) {bad}; statements are "
            f"{', '.join(STATEMENT_KEYS)}"
        )
    return p


def _check_named(programs: pd.DataFrame, workers: pd.DataFrame) -> None:
    """Every worker_id / team_id a program row names must exist in workers.csv."""
    wid = programs["worker_id"]
    tid = programs["team_id"]
    bad_w = (wid != "") & ~wid.isin(workers["worker_id"].astype(str))
    bad_t = (tid != "") & ~tid.isin(workers["team_id"].astype(str))
    problems = []
    for mask, col in [(bad_w, "worker_id"), (bad_t, "team_id")]:
        if mask.any():
            rows = ", ".join(str(i + 2) for i in programs.index[mask][:5])
            shown = ", ".join(map(repr, programs.loc[mask, col].unique()[:5]))
            problems.append(f"{col} {shown} (rows {rows}) not in workers.csv")
    if problems:
        raise UsageError(
            "programs.csv names people the study does not have: " + "; ".join(problems)
        )


def _groups(workers: pd.DataFrame, programs: pd.DataFrame, statement: str) -> pd.Series:
    """1 = participant, 0 = in no program, NaN = only in programs for other statements."""

    def named(rows):
        by_worker = workers["worker_id"].isin(rows["worker_id"][rows["worker_id"] != ""])
        by_team = workers["team_id"].astype(str).isin(rows["team_id"][rows["team_id"] != ""])
        return (by_worker | by_team).to_numpy()

    mine = named(programs[programs["statement"] == statement])
    anyp = named(programs)
    out = np.where(mine, 1.0, np.where(anyp, np.nan, 0.0))
    return pd.Series(out, index=workers["worker_id"].astype(str).to_numpy())


def _wide(scored: pd.DataFrame, outcome: str, waves, group: pd.Series) -> pd.DataFrame:
    y = scored.dropna(subset=[outcome])
    pre = y[y["wave"] == waves[0]].set_index("worker_id")[outcome]
    post = y[y["wave"] == waves[1]].set_index("worker_id")[outcome]
    people = scored[["worker_id", "org_id"]].drop_duplicates("worker_id")
    wide = people.assign(
        treated=people["worker_id"].map(group),
        pre=people["worker_id"].map(pre).astype(float),
        post=people["worker_id"].map(post).astype(float),
    )
    return wide.dropna(subset=["treated", "pre", "post"]).reset_index(drop=True)


def evaluate_statement(
    study,
    statement: str,
    *,
    programs: pd.DataFrame | None = None,
    outcomes=None,
    confidence: float = 0.95,
    min_cell: int | None = None,
    se_type: str = "CR3",
) -> pd.DataFrame:
    """Estimates for one individual guidance statement: participants vs non-participants.

    Parameters
    ----------
    study : Study
    statement : str
        An individual guidance statement key (``education, skills, beliefs,
        self_awareness, team_support, self_monitoring, external_support``).
    programs : DataFrame, optional
        The ``programs.csv`` table; default ``study.programs`` if the study has
        one, else ``programs.csv`` in the study folder.
    outcomes : list of str, optional
        Default: ``ind_guidance_<statement>`` and the staff outcomes
        (``stss_total, proqol_sts, proqol_bo, proqol_cs``) the study measures.
    confidence : float
    min_cell : int, optional
        Fewest workers with both waves per group; default ``study.min_cell``.
    se_type : {"CR3", "CR2", "CR1", "CR0"}
        Cluster-robust variance of the ANCOVA.

    Returns
    -------
    DataFrame with :data:`STATEMENT_COLUMNS`; ``area`` holds the statement
    key, ``estimator`` one of :data:`STATEMENT_ESTIMATORS`, ``estimate`` is in
    the outcome's raw units (sign kept; ``direction`` says which way is
    better), ``p_adjusted`` is Holm-adjusted per estimator across outcomes,
    ``wave`` is the later wave. Rows that cannot be estimated have NaN and a
    ``note``.

    Raises
    ------
    UsageError
        Unknown statement or outcome; a malformed ``programs`` table.
    """
    if statement not in IND_STATEMENTS:
        hint = " (an organizational area: use evaluate_area)" if statement in AREA_KEYS else ""
        raise UsageError(
            f"unknown individual guidance statement {statement!r}{hint}; statements are "
            f"{', '.join(STATEMENT_KEYS)}"
        )
    if not 0 < float(confidence) < 1:
        raise UsageError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}")
    mc = int(study.min_cell if min_cell is None else min_cell)
    if mc < 1:
        raise UsageError(f"min_cell must be a positive whole number; got {min_cell!r}")
    scored = study.scored()
    waves = study.waves[:2]
    own = IND_STATEMENTS[statement].practice_scale
    default = [own] + [o for o in STAFF_OUTCOMES if o in scored.columns]
    outcomes = default if outcomes is None else list(outcomes)
    unknown = [o for o in outcomes if o not in default]
    if unknown:
        raise UsageError(f"outcome(s) {unknown} not available here; choose from {default}")
    prog = _programs(study, programs)
    if prog is not None:
        _check_named(prog, study.workers)
    rows = []
    for outcome in outcomes:
        why = _why_not(scored, outcome, prog, statement, waves)
        if why:
            rows += [_blank(outcome, e, why) for e in STATEMENT_ESTIMATORS]
            continue
        group = _groups(study.workers, prog, statement)
        wide = _wide(scored, outcome, waves, group)
        rows += _rows(wide, outcome, confidence, mc, se_type)
    return _table(rows, statement, waves[1])


def _why_not(scored, outcome, prog, statement, waves) -> str:
    if len(waves) < 2:
        return "not estimable: the study has one wave"
    if prog is None:
        return "not estimable: the study has no programs.csv (no individual program recorded)"
    if not (prog["statement"] == statement).any():
        return f"not estimable: no program in programs.csv targets {statement!r}"
    if outcome not in scored.columns or scored[outcome].notna().sum() == 0:
        return f"not estimable: the study has no answers for {outcome}"
    return ""


def _blank(outcome, estimator, note) -> dict:
    return dict(outcome=outcome, estimator=estimator, note=note)


def _rows(wide, outcome, confidence, mc, se_type) -> list[dict]:
    counts = wide.groupby("treated")["worker_id"].nunique().reindex([0.0, 1.0], fill_value=0)
    rows = []
    for est, arm in [("paired_change", 1.0), ("paired_change_nonparticipants", 0.0)]:
        sub = wide[wide["treated"] == arm]
        who = "participants" if arm else "non-participants"
        if counts[arm] < mc:
            rows.append(_blank(outcome, est, f"suppressed: fewer than {mc} {who} with both waves"))
            continue
        res = models.paired_test(sub["pre"], sub["post"], orgs=sub["org_id"], confidence=confidence)
        row = _from(res, outcome, est)
        row["es_description"] = f"mean change of {who} (later - earlier wave); includes any "
        row["es_description"] += "change that happened to everyone"
        rows.append(row)
    if counts.min() < mc:
        rows.append(_blank(outcome, "ancova", f"suppressed: fewer than {mc} workers in a group"))
        return rows
    try:
        res = models.ancova(wide, confidence=confidence, se_type=se_type)
    except StsevalError as exc:
        rows.append(_blank(outcome, "ancova", f"not estimated: {exc}"))
        return rows
    row = _from(res, outcome, "ancova")
    sd = _pooled_sd(wide)
    if np.isfinite(sd) and sd > 0:
        row.update(effect_size=row["estimate"] / sd, es_ci_low=row["ci_low"] / sd)
        row.update(es_ci_high=row["ci_high"] / sd, es_type="d_ancova")
    row["es_description"] = (
        "later-wave score of participants minus non-participants, adjusted for the earlier "
        f"wave; effect size over the pooled earlier-wave SD ({sd:.2f}); participants were "
        "not randomized"
    )
    rows.append(row)
    return rows


def _from(res: pd.DataFrame, outcome, estimator) -> dict:
    r = res.iloc[0]
    row = dict(outcome=outcome, estimator=estimator)
    for c in ("estimate", "se", "ci_low", "ci_high", "p_value", "n_workers", "n_orgs"):
        row[c] = r[c]
    row.update(method=r["method"], note=r["note"])
    return row


def _pooled_sd(wide) -> float:
    g = [x["pre"].to_numpy(float) for _, x in wide.groupby("treated")]
    num = sum((len(x) - 1) * x.var(ddof=1) for x in g if len(x) > 1)
    den = sum(len(x) - 1 for x in g if len(x) > 1)
    return float(np.sqrt(num / den)) if den else np.nan


def _table(rows, statement, wave) -> pd.DataFrame:
    t = pd.DataFrame(rows)
    for c in STATEMENT_COLUMNS:
        if c not in t:
            t[c] = np.nan
    t["area"], t["wave"] = statement, wave
    t["direction"] = t["outcome"].map(outcome_direction)
    for c in ("note", "method", "es_type", "es_description"):
        t[c] = t[c].astype(object).fillna("").astype(str)
    for c in ("n_workers", "n_orgs"):
        t[c] = pd.to_numeric(t[c], errors="coerce").astype("Int64")
    for _, idx in t.groupby("estimator", sort=False).groups.items():
        t.loc[idx, "p_adjusted"] = np.asarray(models.adjust_p(t.loc[idx, "p_value"], method="holm"))
    return t[STATEMENT_COLUMNS].reset_index(drop=True)
