"""Arms and analysis views of a study: what the estimators consume.

Each function takes the :class:`~stseval.study.Study` first and returns a new
DataFrame with fixed columns (the study is never changed):

- :func:`arms`: intervention and comparison organizations of an area;
- :func:`wide`: one row per worker, the outcome at the first wave and a later one;
- :func:`long`: one row per response (worker x wave) with the outcome;
- :func:`org_months`: monthly indicators with before/after and rates.

They replace the methods ``Study.arms``, ``Study.wide``, ``Study.long`` and
``Study.org_months`` (kept as deprecated wrappers). They follow the study's
design where it is cheap: any number of waves (``wide(..., wave=...)`` picks the
later wave), and anonymous studies (``worker_id`` never repeats across waves:
``wide`` then has no row with both waves, which estimators read as "not
estimable"), team assignment (``design.assignment: team``: the arms are teams,
:func:`arms` has a ``team_id`` column and ``treated`` is the worker's team's
arm; :func:`org_months` counts an organization with a treated team as
intervention) and studies without comparison organizations (intervention rows
only).

Tests: ``tests/test_study.py`` (hand-worked tiny study), ``tests/test_design.py``
(three waves, anonymous waves).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .areas import AREA_KEYS
from .columns import WORKDAYS_PER_MONTH
from .errors import UsageError

__all__ = [
    "WORKDAYS_PER_MONTH",
    "arm_workers",
    "arms",
    "long",
    "org_months",
    "outcome_scores",
    "wide",
]


def _team_assigned(study) -> bool:
    """True when teams were assigned (``design.assignment: team``) and rows name a team."""
    inter = study.interventions
    if "team_id" not in inter.columns or study.design.assignment != "team":
        return False
    return bool(inter["team_id"].astype("string").str.strip().fillna("").ne("").any())


def arms(study, area: str) -> pd.DataFrame:
    """The intervention and comparison units for one organizational area.

    Organization assignment (default): intervention orgs have a row for
    ``area`` in ``interventions.csv``; comparison orgs have no row in
    ``interventions.csv`` at all: an org that changed another area is in
    neither arm of this one. In a study without comparison organizations
    (``design.comparison: none``, e.g. one agency) the table has intervention
    rows only.

    Team assignment (``design.assignment: team`` and ``interventions.csv`` names
    a ``team_id``): the units are teams. A team is in the intervention arm when a
    row for ``area`` names it (or names its organization with a blank
    ``team_id``); teams with no row in any area (untreated teams, also those of
    organizations that changed nothing) are the comparison.

    Parameters
    ----------
    study : Study
    area : str
        A key of :data:`stseval.areas.AREA_KEYS`.

    Returns
    -------
    DataFrame
        ``org_id, arm, start_date`` (organization assignment), plus ``team_id``
        (team assignment, one row per team): ``arm`` is ``"intervention"`` or
        ``"comparison"``; a comparison unit's ``start_date`` is the reference
        date used to split its months into before and after: the lower median
        of the intervention units' start dates (missing if the area has no
        intervention unit). Sorted by ``org_id`` (and ``team_id``).
    """
    if area not in AREA_KEYS:
        raise UsageError(f"unknown area {area!r}; organizational areas are {', '.join(AREA_KEYS)}")
    if _team_assigned(study):
        return _team_arms(study, area)
    inter = study.interventions
    mine = inter[inter["area"] == area].groupby("org_id", sort=True)["start_date"].min()
    changed = set(inter["org_id"])
    comparison = sorted(o for o in study.orgs["org_id"] if o not in changed)
    treated = pd.DataFrame(
        {"org_id": mine.index.astype("str"), "arm": "intervention", "start_date": mine.to_numpy()}
    )
    control = pd.DataFrame(
        {
            "org_id": pd.Series(comparison, dtype="str"),
            "arm": "comparison",
            "start_date": pd.Series(
                [_lower_median(mine)] * len(comparison), dtype="datetime64[ns]"
            ),
        }
    )
    out = pd.concat([treated, control], ignore_index=True)
    out["start_date"] = out["start_date"].astype("datetime64[ns]")
    return out.sort_values("org_id", kind="mergesort").reset_index(drop=True)


def _lower_median(starts: pd.Series):
    vals = np.sort(starts.dropna().to_numpy())
    return vals[(len(vals) - 1) // 2] if len(vals) else pd.NaT


def _team_arms(study, area: str) -> pd.DataFrame:
    inter = study.interventions.copy()
    inter["team_id"] = inter["team_id"].astype("string").str.strip().fillna("")
    teams = study.workers[["org_id", "team_id"]].dropna().drop_duplicates()
    teams = teams.astype({"org_id": "str", "team_id": "str"})
    whole = inter[inter["team_id"] == ""]  # a row without a team: every team of the org
    named = inter[inter["team_id"] != ""][["org_id", "area", "team_id", "start_date"]]
    expanded = whole.drop(columns="team_id").merge(teams, on="org_id", how="inner")
    rows = pd.concat([named, expanded[named.columns]], ignore_index=True)
    mine = rows[rows["area"] == area].groupby(["org_id", "team_id"])["start_date"].min()
    changed = set(zip(rows["org_id"], rows["team_id"], strict=True))
    treated = mine.reset_index().assign(arm="intervention")
    control = teams[
        [(o, t) not in changed for o, t in zip(teams.org_id, teams.team_id, strict=True)]
    ]
    control = control.assign(arm="comparison", start_date=_lower_median(mine))
    out = pd.concat([treated, control], ignore_index=True)
    out["start_date"] = out["start_date"].astype("datetime64[ns]")
    out = out[["org_id", "arm", "start_date", "team_id"]]
    return out.sort_values(["org_id", "team_id"], kind="mergesort").reset_index(drop=True)


def _org_arms(study, area: str) -> pd.DataFrame:
    """Organization-level arms: with team assignment an org is in the intervention arm
    when any of its teams is (its monthly indicators are per organization)."""
    table = arms(study, area)
    if "team_id" not in table.columns:
        return table
    table = table.sort_values("arm", kind="mergesort", ascending=False)  # intervention first
    out = table.groupby("org_id", sort=True).agg(
        arm=("arm", "first"), start_date=("start_date", "min")
    )
    return out.reset_index()


def arm_workers(study, area: str) -> pd.DataFrame:
    """Workers of the area's arms: ``worker_id, org_id, team_id, treated`` (1 = intervention).

    With team assignment ``treated`` is the worker's team's arm (see :func:`arms`).
    """
    table = arms(study, area)
    table = table.assign(treated=(table["arm"] == "intervention").astype("int64"))
    keys = ["org_id", "team_id"] if "team_id" in table.columns else ["org_id"]
    return study.workers[["worker_id", "org_id", "team_id"]].merge(
        table[keys + ["treated"]], on=keys, how="inner"
    )


def outcome_scores(study, outcome: str) -> pd.DataFrame:
    """``worker_id, wave, <outcome>`` for every response (scores of :meth:`Study.scored`)."""
    scored = study.scored()
    if outcome not in scored.columns:
        raise UsageError(
            f"unknown outcome {outcome!r}; score columns of this study are "
            f"{', '.join(study.score_columns())}"
        )
    return scored[["worker_id", "wave", outcome]]


def wide(study, outcome: str, area: str, *, wave: str | None = None) -> pd.DataFrame:
    """One row per worker of the area's arms with the outcome at the first and a later wave.

    Parameters
    ----------
    study : Study
    outcome : str
        A score column (e.g. ``stss_total``).
    area : str
    wave : str, optional
        The later wave (default: the second wave of ``study.yaml``).

    Returns
    -------
    DataFrame
        ``worker_id, org_id, team_id, treated, pre, post``: ``treated`` is 1
        for intervention orgs and 0 for comparison orgs; ``pre`` is the
        ``outcome`` at the first wave and ``post`` at ``wave`` (missing where
        the worker did not answer or the score is missing). Every worker of
        the arms is listed, sorted by ``worker_id``. In an anonymous study no
        row has both.
    """
    waves = study.waves
    if len(waves) < 2:
        raise UsageError(f"wide() needs two waves; study.yaml lists {waves}")
    later = waves[1] if wave is None else wave
    if later not in waves[1:]:
        raise UsageError(f"wave must be a later wave of the study ({', '.join(waves[1:])})")
    people = arm_workers(study, area)
    y = outcome_scores(study, outcome)
    pre = y[y["wave"] == waves[0]].set_index("worker_id")[outcome]
    post = y[y["wave"] == later].set_index("worker_id")[outcome]
    out = people.assign(
        pre=people["worker_id"].map(pre).astype("float64"),
        post=people["worker_id"].map(post).astype("float64"),
    )
    return out.sort_values("worker_id", kind="mergesort").reset_index(drop=True)


def long(study, outcome: str, area: str) -> pd.DataFrame:
    """One row per response (worker x wave) of the area's arms with a non-missing outcome.

    Returns
    -------
    DataFrame
        ``worker_id, org_id, team_id, treated, wave, y``; every wave of
        ``study.yaml`` (any number), sorted by worker and wave order; rows
        whose score is missing are dropped.
    """
    people = arm_workers(study, area)
    y = outcome_scores(study, outcome).rename(columns={outcome: "y"})
    out = people.merge(y, on="worker_id", how="inner")
    out = out[out["wave"].isin(study.waves) & out["y"].notna()].copy()
    out["_rank"] = out["wave"].map({w: i for i, w in enumerate(study.waves)})
    out = out.sort_values(["worker_id", "_rank"], kind="mergesort")
    out["y"] = out["y"].astype("float64")
    cols = ["worker_id", "org_id", "team_id", "treated", "wave", "y"]
    return out[cols].reset_index(drop=True)


def _month_number(dates: pd.Series) -> np.ndarray:
    """12 x year + month of each date (float; NaN for NaT): differences count calendar months."""
    return (dates.dt.year * 12 + dates.dt.month).to_numpy("float64", na_value=np.nan)


def org_months(study, area: str) -> pd.DataFrame:
    """Monthly organizational indicators of the area's arms.

    Returns
    -------
    DataFrame
        ``org_id, month, headcount, separations, absence_days, treated,
        start_date, post, rel_month, separation_rate, absence_rate``: ``post``
        is 1 from the month of ``start_date`` on (comparison orgs use the
        reference date of :func:`arms`); ``rel_month`` counts months from that
        month (0 = first month after the start); ``separation_rate =
        separations / headcount`` and ``absence_rate = absence_days /
        (headcount x 21 working days)``. Sorted by org and month.
    """
    table = _org_arms(study, area)
    table = table.assign(treated=(table["arm"] == "intervention").astype("int64"))
    m = study.org_metrics.merge(
        table[["org_id", "treated", "start_date"]], on="org_id", how="inner"
    )
    rel = _month_number(m["month"]) - _month_number(m["start_date"])  # NaN where a date is NaT
    m["rel_month"] = pd.array(rel, dtype="Float64").astype("Int64")
    m["post"] = (m["rel_month"] >= 0).astype("Int64")
    head = m["headcount"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        m["separation_rate"] = m["separations"].astype("float64") / head
        m["absence_rate"] = m["absence_days"].astype("float64") / (head * WORKDAYS_PER_MONTH)
    cols = [
        "org_id",
        "month",
        "headcount",
        "separations",
        "absence_days",
        "treated",
        "start_date",
        "post",
        "rel_month",
        "separation_rate",
        "absence_rate",
    ]
    return m[cols].sort_values(["org_id", "month"], kind="mergesort").reset_index(drop=True)
