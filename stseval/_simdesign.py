"""Parts of :class:`stseval.synthetic.StudyDesign`: field types, defaults, checks and presets.

Kept apart so that ``synthetic.py`` holds the design's fields and its I/O.
The checks return plain sentences; :class:`~stseval.synthetic.StudyDesign`
joins them into one ``ValueError`` (shown to the user as a
:class:`~stseval.errors.UsageError` naming each field).
"""

from __future__ import annotations

import datetime as _dt

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .areas import AREA_KEYS
from .errors import UsageError

__all__ = [
    "LATENT_OUTCOMES",
    "OUTCOME_ALIASES",
    "ScoreTarget",
    "WaveSpec",
    "DEFAULT_TARGETS",
    "DEFAULT_EFFECTS",
    "SGIC_ELEMENTS",
    "PRESETS",
    "preset_fields",
    "design_problems",
    "add_months",
    "apply_overrides",
    "alias_effects",
    "canonical_outcome",
    "deep_merge",
    "clean_effects",
    "spaced_waves",
    "cohort_first_months",
]


#: Latent outcomes an effect can be set for.
LATENT_OUTCOMES = ("sts", "bo", "cs", "practice")
#: Score-column names accepted for the latent outcomes in ``effects`` (and ``--set``).
OUTCOME_ALIASES = {
    "stss_total": "sts",
    "proqol_sts": "sts",
    "sts": "sts",
    "proqol_bo": "bo",
    "burnout": "bo",
    "bo": "bo",
    "proqol_cs": "cs",
    "compassion_satisfaction": "cs",
    "cs": "cs",
    "practice": "practice",
    **{f"org_guidance_{a}": "practice" for a in AREA_KEYS},
}


def canonical_outcome(key: str) -> str:
    try:
        return OUTCOME_ALIASES[str(key)]
    except KeyError:
        raise ValueError(
            f"unknown outcome {key!r} in effects; use one of "
            f"{', '.join(LATENT_OUTCOMES)} (or a score column such as "
            f"stss_total, proqol_bo, org_guidance_<area>)"
        ) from None


class ScoreTarget(BaseModel):
    """Target baseline distribution of one scale score (observed scale)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mean: float
    sd: float = Field(gt=0)
    alpha: float = Field(gt=0.3, lt=0.97)


class WaveSpec(BaseModel):
    """One survey wave: its name (as written in study.yaml) and the first day it is open."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    date: _dt.date

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip() or v != v.strip():
            raise ValueError(f"a wave name must be non-blank text without outer spaces; got {v!r}")
        return v


# DERIVED defaults from norms.md section 7 (table) and sections 1.1-1.2:
# STSS total N(42, 13) [1.1]; ProQOL CS/BO/STS N(38, 6)/N(24, 5.5)/N(23, 6) [1.2].
# Alphas: STSS total .94 published [S6] -> .92 (kit band .75-.93); ProQOL CS .88, BO .75 -> .78,
# STS .81 (manual as quoted [S14]). Organizational guidance inventory: ASSUMED (no norms exist;
# kit-authored inventory): mean 2.9 of 5, SD 0.8, alpha .85.
DEFAULT_TARGETS = {
    "stss_total": ScoreTarget(mean=42.0, sd=13.0, alpha=0.92),
    "proqol_cs": ScoreTarget(mean=38.0, sd=6.0, alpha=0.88),
    "proqol_bo": ScoreTarget(mean=24.0, sd=5.5, alpha=0.78),
    "proqol_sts": ScoreTarget(mean=23.0, sd=6.0, alpha=0.81),
    "org_guidance": ScoreTarget(mean=2.9, sd=0.8, alpha=0.85),
}

# ASSUMED default effects (latent SD units, applied from the post wave on): the practice scale
# of the changed area clearly improves (+0.6 to +0.9, i.e. a large change in perceived
# practice); STS and burnout fall and compassion satisfaction rises by small amounts
# (|d| <= 0.25, norms.md section 7: org-level d 0.2-0.3, a null cRCT exists), differing by
# area; leadership and monitoring near zero.
DEFAULT_EFFECTS = {
    "policies": {"sts": -0.10, "bo": -0.15, "cs": 0.05, "practice": 0.8},
    "training": {"sts": -0.20, "bo": -0.05, "cs": 0.10, "practice": 0.9},
    "workforce_support": {"sts": -0.10, "bo": -0.25, "cs": 0.10, "practice": 0.8},
    "culture": {"sts": -0.05, "bo": -0.10, "cs": 0.15, "practice": 0.7},
    "supervision": {"sts": -0.25, "bo": -0.15, "cs": 0.10, "practice": 0.9},
    "leadership": {"sts": 0.0, "bo": -0.05, "cs": 0.05, "practice": 0.6},
    "monitoring": {"sts": 0.0, "bo": 0.0, "cs": 0.0, "practice": 0.7},
}

#: Self-generated identification code elements the simulator can ask for (McGloin et al.
#: 1996; Yurek et al. 2008): element -> what the respondent writes.
SGIC_ELEMENTS = {
    "initial": "first letter of the mother's first name (A-Z)",
    "birth_month": "own birth month (1-12)",
    "sibling": "number of older siblings (0-9)",
    "birth_day": "day of the month of own birthday (1-31)",
}

_SMALL = {"teams_per_org": (2, 3), "workers_per_team": (5, 9)}
#: Built-in designs (``StudyDesign.<name>()``): name -> fields that differ from the default.
PRESETS = {
    "default": {},
    "small": {"name": "synthetic-small", "orgs_per_area": 2, "comparison_orgs": 4, **_SMALL},
    "null": {"name": "synthetic-null"},  # and every effect 0 (StudyDesign.null)
    "single_org": {
        "name": "synthetic-single-org",
        "areas": ("supervision",),
        "orgs_per_area": 1,
        "comparison_orgs": 0,
        "teams_per_org": (14, 16),
        "workers_per_team": (8, 14),
    },
    "anonymous": {
        "name": "synthetic-anonymous",
        "areas": ("supervision", "workforce_support"),
        "orgs_per_area": 5,
        "comparison_orgs": 8,
        "linkage": "anonymous",
        **_SMALL,
    },
    "coded": {
        "name": "synthetic-coded",
        "areas": ("supervision", "workforce_support"),
        "orgs_per_area": 5,
        "comparison_orgs": 8,
        "linkage": "code",
        **_SMALL,
    },
    "three_wave": {
        "name": "synthetic-three-wave",
        "areas": ("supervision", "training"),
        "orgs_per_area": 4,
        "comparison_orgs": 6,
        "waves": (
            {"name": "pre", "date": "2024-03-04"},
            {"name": "post", "date": "2025-03-03"},
            {"name": "follow_up", "date": "2025-09-01"},
        ),
        "effect_by_wave": (1.0, 0.6),
        **_SMALL,
    },
    "staggered": {
        "name": "synthetic-staggered",
        "areas": ("supervision",),
        "orgs_per_area": 12,
        "comparison_orgs": 6,
        "waves": (
            {"name": "t0", "date": "2024-03-04"},
            {"name": "t1", "date": "2024-09-02"},
            {"name": "t2", "date": "2025-03-03"},
            {"name": "t3", "date": "2025-09-01"},
        ),
        "start_cohorts": 3,
        "cohort_effects": (1.0, 0.8, 0.6),
        "effect_by_wave": (1.0, 1.5, 2.0),
        **_SMALL,
    },
    "team_rct": {
        "name": "synthetic-team-rct",
        "areas": ("supervision",),
        "orgs_per_area": 8,
        "comparison_orgs": 0,
        "assignment": "team",
        "comparison": "randomized",
        "teams_per_org": (4, 6),
        "workers_per_team": (5, 9),
        "icc_team": 0.08,
    },
    # Issue 11: many orgs whose practice changes vary; 60% of each effect carried by practice.
    "dose": {
        "name": "synthetic-dose",
        "areas": ("supervision", "workforce_support"),
        "orgs_per_area": 20,
        "comparison_orgs": 20,
        "teams_per_org": (2, 4),
        "workers_per_team": (6, 10),
        "mediated_share": 0.6,
        "practice_change_sd": 0.4,
        "dose_confounder": 0.0,
    },
    # The null of the dose model: practice changes as in "dose" but carries nothing (all direct).
    "dose_null": {
        "name": "synthetic-dose-null",
        "areas": ("supervision", "workforce_support"),
        "orgs_per_area": 20,
        "comparison_orgs": 20,
        "teams_per_org": (2, 4),
        "workers_per_team": (6, 10),
        "mediated_share": 0.0,
        "practice_change_sd": 0.4,
    },
    # Issue 11: a skills course for 40% of the teams, the inventory of the seven statements.
    "individual": {
        "name": "synthetic-individual",
        "areas": ("supervision",),
        "orgs_per_area": 4,
        "comparison_orgs": 6,
        "teams_per_org": (3, 5),
        "workers_per_team": (6, 10),
        "instruments": ("stss", "proqol", "org_guidance", "ind_guidance"),
        "programs": (
            {
                "name": "stress_skills_course",
                "statements": ("skills", "self_monitoring"),
                "statement_effect": 0.6,  # ASSUMED: a course moves its statements clearly
                "outcome_effects": {"sts": -0.2, "bo": -0.1, "cs": 0.05},  # ASSUMED, small
                "unit": "team",
                "share": 0.4,
            },
        ),
    },
}


def preset_fields(name: str) -> dict:
    """The fields of preset ``name`` that differ from the default design (a copy)."""
    return dict(PRESETS[name])


def add_months(day: _dt.date, months: int) -> _dt.date:
    """First day of the month ``months`` after ``day``'s month."""
    total = day.year * 12 + day.month - 1 + months
    return _dt.date(total // 12, total % 12 + 1, 1)


def _month_after(day: _dt.date) -> _dt.date:
    return day if day.day == 1 else add_months(day, 1)


def cohort_first_months(d) -> list[_dt.date]:
    """Earliest start month of each start cohort (cohort 1 starts at ``start_date``)."""
    window = _dt.timedelta(days=d.survey_window_days)
    dates = [w.date for w in d.wave_schedule()]
    out = [d.start_date]
    for c in range(2, d.start_cohorts + 1):
        out.append(_month_after(dates[c - 1] + window))
    return out


def _schedule_problems(d) -> list[str]:
    problems = []
    if d.waves is not None and d.follow_up:
        problems.append("give either waves (a list) or follow_up: true, not both")
        return problems
    sched = d.wave_schedule()
    if len(sched) < 2:
        problems.append("waves must list at least two waves (a pre and a later wave)")
        return problems
    names = [w.name for w in sched]
    if len(set(names)) != len(names):
        problems.append(f"waves: a wave name is listed twice: {names}")
    window = _dt.timedelta(days=d.survey_window_days)
    for a, b in zip(sched, sched[1:], strict=False):
        if b.date <= a.date + window:
            problems.append(
                f"waves: {b.name} ({b.date}) must start after the {a.name} survey window "
                f"({a.date} + {d.survey_window_days} days)"
            )
    if problems:
        return problems
    if sched[0].date + window > d.start_date:
        problems.append("the baseline survey window must end before start_date")
    if not 1 <= d.start_cohorts <= len(sched) - 1:
        problems.append(
            f"start_cohorts must be between 1 and the number of later waves ({len(sched) - 1})"
        )
        return problems
    for c, first in enumerate(cohort_first_months(d), start=1):
        last = add_months(first, d.start_spread_months)
        if last >= sched[c].date:
            which = "post_date" if c == 1 and d.waves is None else f"wave {sched[c].name}"
            problems.append(
                f"{which} must come after the last intervention start of cohort {c} ({last})"
            )
    return problems


def _effect_shape_problems(d) -> list[str]:
    problems = []
    n_later = len(d.wave_schedule()) - 1
    if d.effect_by_wave is not None and len(d.effect_by_wave) != n_later:
        problems.append(
            f"effect_by_wave needs one multiplier per later wave ({n_later}); "
            f"got {len(d.effect_by_wave)}"
        )
    if d.cohort_effects is not None and len(d.cohort_effects) != d.start_cohorts:
        problems.append(
            f"cohort_effects needs one multiplier per start cohort ({d.start_cohorts}); "
            f"got {len(d.cohort_effects)}"
        )
    if d.wave_shock_share >= 1 - d.prepost_r:
        problems.append(
            f"org_wave_icc must be below 1 - prepost_r ({1 - d.prepost_r:.2f}): it is taken "
            "from the occasion variance"
        )
    if d.selection_strength != 0 and d.comparison == "randomized":
        problems.append("selection_strength must be 0 when comparison is randomized")
    if d.selection_strength != 0 and d.icc_org + d.wave_shock_share == 0:
        problems.append("selection_strength needs org-level STS variance (icc_org or org_wave_icc)")
    return problems


def _structure_problems(d) -> list[str]:
    problems = []
    if d.assignment == "team":
        if d.teams_per_org[0] < 2:
            problems.append("assignment team needs at least 2 teams per org (teams_per_org)")
        if d.multi_area_share > 0:
            problems.append("multi_area_share must be 0 with assignment team")
    if d.multi_area_share > 0 and not 2 <= d.multi_area_count <= len(d.areas):
        problems.append(
            f"multi_area_count must be between 2 and the number of areas ({len(d.areas)})"
        )
    if d.linkage == "code":
        if not d.sgic_elements:
            problems.append("linkage code needs sgic_elements")
        bad = [e for e in d.sgic_elements if e not in SGIC_ELEMENTS]
        if bad:
            problems.append(f"unknown sgic_elements {bad}; use {', '.join(SGIC_ELEMENTS)}")
        if len(set(d.sgic_elements)) != len(d.sgic_elements):
            problems.append("an SGIC element is listed twice")
    if d.n_orgs < 1:
        problems.append("the design has no organizations (orgs_per_area x areas + comparison_orgs)")
    return problems


def design_problems(d) -> list[str]:
    """Sentences naming every inconsistency of a design (empty when it is valid)."""
    problems = []
    if d.icc_org + d.icc_team > d.prepost_r:
        problems.append("icc_org + icc_team cannot exceed prepost_r (stable variance)")
    share = (
        d.practice_icc_org + d.practice_icc_team + d.practice_rater_stable + d.practice_rater_wave
    )
    if share >= 1:
        problems.append(
            "practice variance shares (icc_org, icc_team, rater_stable, "
            f"rater_wave) must sum below 1; got {share:.2f}"
        )
    for name in ("teams_per_org", "workers_per_team"):
        lo, hi = getattr(d, name)
        if lo < 1 or hi < lo:
            problems.append(f"{name} must be (min, max) with 1 <= min <= max; got {(lo, hi)}")
    lo, hi = d.survey_coverage
    if not 0 < lo <= hi <= 1:
        problems.append(f"survey_coverage must be (min, max) within (0, 1]; got {(lo, hi)}")
    if (
        not d.role_shares
        or any(v < 0 for v in d.role_shares.values())
        or sum(d.role_shares.values()) <= 0
    ):
        problems.append("role_shares must give non-negative shares with a positive sum")
    missing = [
        k
        for k in ("stss_total", "proqol_cs", "proqol_bo", "proqol_sts", "org_guidance")
        if k not in d.targets
    ]
    if missing:
        problems.append(f"targets lacks {missing}")
    for key in ("bo_sts", "cs_bo", "cs_sts"):
        if key not in d.correlations or not -1 < d.correlations[key] < 1:
            problems.append(f"correlations.{key} must be given, between -1 and 1")
    problems += _structure_problems(d)
    schedule = _schedule_problems(d)
    return problems + schedule + ([] if schedule else _effect_shape_problems(d))


def alias_effects(data: dict) -> dict:
    effects = data.get("effects")
    if isinstance(effects, dict):
        data = dict(data)
        data["effects"] = {
            a: {
                (canonical_outcome(k) if k in OUTCOME_ALIASES else k): v
                for k, v in (t or {}).items()
            }
            for a, t in effects.items()
        }
    return data


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def spaced_waves(count: int, first) -> list[dict]:
    """``count`` waves t0, t1, ... six months apart from ``first`` (a date or ISO text)."""
    if count < 2:
        raise ValueError(f"waves must be at least 2; got {count}")
    day = _dt.date.fromisoformat(first) if isinstance(first, str) else first
    out = []
    for k in range(count):
        month = add_months(day, 6 * k)
        out.append({"name": f"t{k}", "date": month.replace(day=min(day.day, 28))})
    return out


def _parse(value):
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def apply_overrides(data: dict, overrides: dict, fields) -> dict:
    """``data`` (a design as a mapping) with dotted-key ``overrides`` set; text parsed as YAML."""
    for key, raw in overrides.items():
        value = _parse(raw)
        parts = str(key).split(".")
        if parts[0] not in fields:
            raise UsageError(f"unknown design field {parts[0]!r}; fields are {', '.join(fields)}")
        if parts[0] == "effects" and len(parts) == 3:
            try:
                parts[2] = canonical_outcome(parts[2])
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        node = data
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return data


def clean_effects(v) -> dict:
    """Effects keyed by area and canonical latent outcome (score-column aliases resolved)."""
    if not isinstance(v, dict):
        raise ValueError("effects must map area -> {outcome: effect}")
    out = {}
    for area, table in v.items():
        if area not in AREA_KEYS:
            raise ValueError(
                f"unknown area {area!r} in effects; valid areas are {', '.join(AREA_KEYS)}"
            )
        clean: dict[str, float] = {}
        for key, value in (table or {}).items():
            canon = canonical_outcome(key)
            if canon in clean and clean[canon] != value:
                raise ValueError(f"effects.{area} sets {canon} twice with different values")
            clean[canon] = value
        out[area] = clean
    return out
