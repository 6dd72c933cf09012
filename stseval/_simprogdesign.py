"""Design parts for the individual guidance inventory and individual programs (issue 11).

:class:`IndGuidanceSpec` says how the simulator draws the seven statement
scales of the Individual Guidance Inventory (``ind_guidance``) when the
design lists that instrument; :class:`ProgramSpec` describes one individual
program (who takes part, which statements it moves, by how much, and what
that does to the staff outcomes).

Calibration of the statements (``DEFAULT_IND_TARGETS``, ``DEFAULT_IND_CORR``)
--------------------------------------------------------------------------
The inventory is kit-authored and unvalidated: no published norms exist, so
every mean, SD, alpha and ICC is ASSUMED. Correlations with the ProQOL
scales are ASSUMED except team support with STS: -.17, DERIVED from the
meta-analytic correlation of work support with STS (Hensel et al. 2015,
norms.md section 2, [S43]); the skills statement's correlations follow the
sign and rough size of resilience with compassion fatigue (BRS r = -.47,
[S19]) but are ASSUMED smaller.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .areas import STATEMENT_KEYS

__all__ = [
    "DEFAULT_IND_TARGETS",
    "DEFAULT_IND_CORR",
    "IndGuidanceSpec",
    "ProgramSpec",
    "program_problems",
]

#: ASSUMED baseline mean, SD and alpha of each statement's item-mean score (1-5 items).
DEFAULT_IND_TARGETS = {
    "education": {"mean": 3.2, "sd": 0.80, "alpha": 0.80},
    "skills": {"mean": 3.3, "sd": 0.75, "alpha": 0.78},
    "beliefs": {"mean": 3.6, "sd": 0.70, "alpha": 0.75},
    "self_awareness": {"mean": 3.5, "sd": 0.70, "alpha": 0.76},
    "team_support": {"mean": 3.4, "sd": 0.85, "alpha": 0.82},
    "self_monitoring": {"mean": 3.1, "sd": 0.80, "alpha": 0.78},
    "external_support": {"mean": 2.8, "sd": 0.90, "alpha": 0.80},
}
#: Observed baseline correlation of each statement score with ProQOL STS, BO and CS.
#: team_support.sts DERIVED (Hensel et al. 2015: work support r = -.17); all others ASSUMED.
DEFAULT_IND_CORR = {
    "education": {"sts": -0.05, "bo": -0.10, "cs": 0.20},
    "skills": {"sts": -0.25, "bo": -0.30, "cs": 0.35},
    "beliefs": {"sts": -0.15, "bo": -0.25, "cs": 0.40},
    "self_awareness": {"sts": -0.05, "bo": -0.10, "cs": 0.25},
    "team_support": {"sts": -0.17, "bo": -0.30, "cs": 0.30},
    "self_monitoring": {"sts": -0.10, "bo": -0.20, "cs": 0.25},
    "external_support": {"sts": 0.05, "bo": 0.00, "cs": 0.10},
}


def _check_statements(v: dict, what: str) -> dict:
    bad = [k for k in v if k not in STATEMENT_KEYS]
    if bad:
        raise ValueError(f"{what}: unknown statement(s) {bad}; use {', '.join(STATEMENT_KEYS)}")
    return v


class IndGuidanceSpec(BaseModel):
    """How the seven statement scales are drawn (latent SD units; see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_IND_TARGETS.items()},
        description="ASSUMED baseline mean, sd, alpha of each statement's item-mean score",
    )
    correlations: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_IND_CORR.items()},
        description="observed baseline correlation of each statement with ProQOL sts, bo, cs "
        "(team_support-sts DERIVED from Hensel et al. 2015; the rest ASSUMED)",
    )
    icc_org: float = Field(  # ASSUMED
        0.05, ge=0, lt=1, description="latent ICC of every statement between orgs"
    )
    icc_team: float = Field(  # ASSUMED: team climate shapes team support and reflection
        0.08, ge=0, lt=1, description="latent ICC of every statement between teams within orgs"
    )

    @field_validator("targets", "correlations")
    @classmethod
    def _keys(cls, v, info):
        v = _check_statements(v, info.field_name)
        missing = [k for k in STATEMENT_KEYS if k not in v]
        if missing:
            raise ValueError(f"{info.field_name} lacks statement(s) {missing}")
        need = ("mean", "sd", "alpha") if info.field_name == "targets" else ("sts", "bo", "cs")
        for key, table in v.items():
            if sorted(table) != sorted(need):
                raise ValueError(f"{info.field_name}.{key} needs exactly {', '.join(need)}")
        return v


class ProgramSpec(BaseModel):
    """One individual program: participants, targeted statements and effects (latent SD)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="program name written to programs.csv")
    statements: tuple[str, ...] = Field(min_length=1, description="statements it targets")
    statement_effect: float | dict[str, float] = Field(
        0.5, description="latent shift of each targeted statement (one value, or per statement)"
    )
    outcome_effects: dict[str, float] = Field(
        default_factory=dict,
        description="latent shift of sts, bo, cs of participants (carried by the statements)",
    )
    unit: Literal["team", "worker"] = Field("team", description="who enrols: teams or workers")
    share: float = Field(0.3, gt=0, lt=1, description="share of all teams (or workers) taking part")
    selection: Literal["randomized", "chosen"] = Field("randomized")
    selection_strength: float = Field(
        0.0, description="chosen: log-odds slope per SD of the unit's baseline latent STS"
    )
    start_date: _dt.date | None = Field(None, description="default: the design's start_date")

    @field_validator("statements")
    @classmethod
    def _statements(cls, v):
        _check_statements(dict.fromkeys(v), "statements")
        if len(set(v)) != len(v):
            raise ValueError("statements: a statement is listed twice")
        return v

    @field_validator("outcome_effects")
    @classmethod
    def _outcomes(cls, v):
        bad = [k for k in v if k not in ("sts", "bo", "cs")]
        if bad:
            raise ValueError(f"outcome_effects: unknown key(s) {bad}; use sts, bo, cs")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ProgramSpec:
        if isinstance(self.statement_effect, dict):
            if sorted(self.statement_effect) != sorted(self.statements):
                raise ValueError("statement_effect must give one value per targeted statement")
        if self.selection == "randomized" and self.selection_strength != 0:
            raise ValueError("selection_strength must be 0 when selection is randomized")
        return self

    def effect_on(self, statement: str) -> float:
        """Latent shift of ``statement`` for participants (0 if not targeted)."""
        if statement not in self.statements:
            return 0.0
        e = self.statement_effect
        return float(e[statement] if isinstance(e, dict) else e)


def program_problems(d) -> list[str]:
    """Sentences naming what is inconsistent in a design's instruments and programs."""
    problems = []
    base = ("stss", "proqol", "org_guidance")
    if tuple(d.instruments[:3]) != base or any(k != "ind_guidance" for k in d.instruments[3:]):
        problems.append(
            f"instruments must be {list(base)} optionally followed by ind_guidance; "
            f"got {list(d.instruments)}"
        )
    if d.programs and "ind_guidance" not in d.instruments:
        problems.append("programs need ind_guidance in instruments (their statements' scores)")
    names = [p.name for p in d.programs]
    if len(set(names)) != len(names):
        problems.append(f"program names must differ; got {names}")
    if d.linkage != "linked" and any(p.unit == "worker" for p in d.programs):
        problems.append("programs with unit worker need linkage linked (worker IDs repeat)")
    seen: dict[str, str] = {}
    for p in d.programs:
        for st in p.statements:
            if st in seen:
                problems.append(f"statement {st} is targeted by {seen[st]} and {p.name}")
            seen[st] = p.name
    if d.mediated_share is not None and d.multi_area_share > 0:
        problems.append("mediated_share (the dose model) needs multi_area_share 0")
    if d.dose_confounder != 0 and d.mediated_share is None:
        problems.append("dose_confounder needs the dose model (set mediated_share)")
    sched = d.wave_schedule()
    if len(sched) >= 2:
        window = _dt.timedelta(days=d.survey_window_days)
        for p in d.programs:
            day = p.start_date or d.start_date
            if not sched[0].date + window <= day < sched[1].date:
                problems.append(
                    f"program {p.name}: start_date {day} must fall after the baseline survey "
                    f"window and before wave {sched[1].name} ({sched[1].date})"
                )
    return problems
