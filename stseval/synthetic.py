"""Synthetic studies with a known truth: :class:`StudyDesign` and :func:`simulate`.

``simulate(design, seed=...)`` returns a :class:`~stseval.study.Study` whose
tables look like a real evaluation of STS-protection programs: organizations
-> teams -> workers answering the STSS, the ProQOL 5 and the organizational
guidance inventory before and after some organizations change practice in
one of the seven organizational areas, plus monthly headcount, separations
and absence days. Its ``truth`` table says what every estimator should find.

The model (details in :mod:`stseval._simengine` and :mod:`stseval._latent`)
-----------------------------------------------------------------------------
* Latent traits STS, burnout (BO) and compassion satisfaction (CS) of worker
  *i* in team *t* of org *o* at wave *w*::

      eta_k = sqrt(icc_org) u_o + sqrt(icc_team) u_t + sqrt(prepost_r - icc_org - icc_team) b_i
              + sqrt(1 - prepost_r) e_iw + trend_k [w > 0] + effect_k(area of o) m_o [o treated, w > 0]

  with every component standard normal and correlated across k as
  ``latent_correlations`` (solved so the *observed* ProQOL scale scores
  correlate as ``correlations``). Latent ICCs and the latent pre/post
  correlation are design values; observed scores show them attenuated by
  measurement error (about x alpha). ``m_o = max(0, 1 + effect_heterogeneity
  z_o)`` lets the effect vary between orgs.
* Perceived practice in each area: org level (correlated across areas and
  with the org's outcome effects), team level, rater tendency (stable and
  per wave, shared across areas, correlated with burnout) and specific noise;
  an intervention raises its own area by ``effects[area]["practice"]``.
* Items: graded (cumulative-logit) model per scale, thresholds calibrated so
  the baseline scale scores have the target mean, SD and alpha.
* Missingness: attrition after the first wave, more likely for high baseline
  STSS (logistic in the z-score of the baseline STSS total computed from all
  17 answers before item non-response, so post data are missing at random
  given the baseline: complete-case ANCOVA stays unbiased); item non-response
  (each cell independently); whole-instrument skips.
* Organizational indicators: monthly separation hazard and absence rate
  rise with the org's mean burnout (hazard ratio and rate ratio per latent
  SD), so an intervention that lowers burnout lowers both.

Truth (``truth.csv``)
---------------------
For each area with intervention orgs and each outcome (``stss_total``,
``proqol_sts``, ``proqol_bo``, ``proqol_cs``, the area's
``org_guidance_<area>``): ``att`` is the mean, over **all workers of the
area's intervention orgs** (including those lost to attrition), of their
post-wave score with the intervention minus the score without it. Both
potential scores come from the same item-noise draws and the same item
non-response mask, and are scored with the kit's own scoring rules, so the
truth is exact on the observed score scale. ``att_sd`` divides it by the
pooled within-arm SD of the observed baseline scores of the area's
intervention and comparison workers (Morris's d_ppc2 denominator). For
``separation_rate`` and ``absence_rate`` (estimand ``att``): the mean over
the intervention orgs' 12 months from their start of the expected monthly
rate with minus without the intervention.

Calibration defaults (norms.md section 7; DERIVED or ASSUMED as labelled on
each field; ``StudyDesign().describe()`` lists them). Tests
(``tests/test_synthetic.py``): shapes follow the design; same seed, same
bytes; scores inside their ranges; baseline means, SDs, alphas and
correlations near the targets; ICC by org near its setting; a plain
difference in differences recovers the truth within 4 SE; attrition rises
with STS; a null design has zero truth; the shipped studies match the code.

References
----------
Samejima, F. (1969). Estimation of latent ability using a response pattern of
graded scores. *Psychometrika Monograph Supplement*, 34(4, Pt. 2).
doi:10.1007/BF03372160
Morris, S. B. (2008). Estimating effect sizes from pretest-posttest-control
group designs. *Organizational Research Methods*, 11(2), 364-386.
doi:10.1177/1094428106291059
Borritz, M., et al. (2006). Burnout as a predictor of self-reported sickness
absence among human service workers. *Occupational and Environmental
Medicine*, 63(2), 98-106. doi:10.1136/oem.2004.019364
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .areas import AREA_KEYS
from .errors import UsageError

if TYPE_CHECKING:
    from .study import Study

__all__ = ["StudyDesign", "ScoreTarget", "simulate", "LATENT_OUTCOMES", "OUTCOME_ALIASES"]

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


def _canonical_outcome(key: str) -> str:
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


# DERIVED defaults from norms.md section 7 (table) and sections 1.1-1.2:
# STSS total N(42, 13) [1.1]; ProQOL CS/BO/STS N(38, 6)/N(24, 5.5)/N(23, 6) [1.2].
# Alphas: STSS total .94 published [S6] -> .92 (kit band .75-.93); ProQOL CS .88, BO .75 -> .78,
# STS .81 (manual as quoted [S14]). Organizational guidance inventory: ASSUMED (no norms exist;
# kit-authored inventory): mean 2.9 of 5, SD 0.8, alpha .85.
_DEFAULT_TARGETS = {
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
_DEFAULT_EFFECTS = {
    "policies": {"sts": -0.10, "bo": -0.15, "cs": 0.05, "practice": 0.8},
    "training": {"sts": -0.20, "bo": -0.05, "cs": 0.10, "practice": 0.9},
    "workforce_support": {"sts": -0.10, "bo": -0.25, "cs": 0.10, "practice": 0.8},
    "culture": {"sts": -0.05, "bo": -0.10, "cs": 0.15, "practice": 0.7},
    "supervision": {"sts": -0.25, "bo": -0.15, "cs": 0.10, "practice": 0.9},
    "leadership": {"sts": 0.0, "bo": -0.05, "cs": 0.05, "practice": 0.6},
    "monitoring": {"sts": 0.0, "bo": 0.0, "cs": 0.0, "practice": 0.7},
}


class StudyDesign(BaseModel):
    """Everything :func:`simulate` needs; defaults make a realistic study.

    Read one from YAML with :meth:`from_yaml` (fields not given keep the
    defaults of ``base:``, one of ``default``, ``small``, ``null``), change
    fields with :meth:`with_overrides` (dotted keys, e.g.
    ``{"effects.supervision.stss_total": -0.3}``), write with :meth:`to_dict`.
    Latent values are in standard-deviation units of the latent trait.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("synthetic-default", description="study name written to study.yaml")
    min_cell: int = Field(5, ge=1, description="smallest group shown in shared reports")
    # -- structure (default: 7 areas x 8 + 14 = 70 orgs, about 3,300 workers) ---------------
    orgs_per_area: int = Field(8, ge=0, description="intervention orgs per area")
    comparison_orgs: int = Field(14, ge=0, description="orgs with no intervention at all")
    areas: tuple[str, ...] = Field(AREA_KEYS, description="areas that get intervention orgs")
    teams_per_org: tuple[int, int] = Field(
        (3, 6), description="(min, max) teams per org, drawn uniformly"
    )
    workers_per_team: tuple[int, int] = Field(
        (6, 15), description="(min, max) surveyed workers per team, drawn uniformly"
    )
    role_shares: dict[str, float] = Field(
        default_factory=lambda: {"caseworker": 0.55, "clinician": 0.30, "nurse": 0.15},
        description="shares of the roles of non-supervisors",
    )
    supervisor_per_team: bool = Field(True, description="first worker of each team supervises")
    tenure_median_years: float = Field(  # ASSUMED; norms.md 5.1 gives median tenure ~1.8 y
        3.5, gt=0, description="median tenure (log-normal, supervisors +4 years)"
    )
    survey_coverage: tuple[float, float] = Field(  # ASSUMED
        (0.65, 0.95), description="(min, max) share of an org's headcount that is surveyed"
    )
    # -- schedule ---------------------------------------------------------------------
    pre_date: _dt.date = Field(_dt.date(2024, 3, 4), description="first day of the pre survey")
    post_date: _dt.date = Field(_dt.date(2025, 3, 3), description="first day of the post survey")
    follow_up: bool = Field(False, description="add a follow-up wave")
    follow_up_date: _dt.date = Field(
        _dt.date(2025, 9, 1), description="first day of the follow-up survey"
    )
    survey_window_days: int = Field(28, ge=1, description="days each survey stays open")
    start_date: _dt.date = Field(
        _dt.date(2024, 5, 1), description="earliest intervention start (first of a month)"
    )
    start_spread_months: int = Field(2, ge=0, description="starts spread over 0..this months")
    metrics_months: int = Field(12, ge=1, description="indicator months before/after the start")
    # -- score distributions (observed baseline targets) ---------------------------------
    targets: dict[str, ScoreTarget] = Field(
        default_factory=lambda: dict(_DEFAULT_TARGETS),
        description="baseline mean, SD and alpha of stss_total, proqol_cs/bo/sts and each "
        "org_guidance scale (norms.md 1.1, 1.2, 7)",
    )
    correlations: dict[str, float] = Field(  # DERIVED, norms.md section 7
        default_factory=lambda: {"bo_sts": 0.65, "cs_bo": -0.60, "cs_sts": -0.30},
        description="observed baseline correlations of the ProQOL scores",
    )
    icc_org: float = Field(  # ASSUMED, norms.md sections 4 and 7
        0.05, ge=0, lt=1, description="latent ICC of STS, BO, CS between orgs"
    )
    icc_team: float = Field(  # ASSUMED, norms.md sections 4 and 7
        0.05, ge=0, lt=1, description="latent ICC between teams within orgs"
    )
    prepost_r: float = Field(  # .70 latent gives observed r ~ .6 (norms.md sections 3 and 7)
        0.70, gt=0, lt=1, description="latent correlation of a worker's levels across waves"
    )
    practice_icc_org: float = Field(  # ASSUMED, norms.md section 4: STSI-OA ICC .15-.30
        0.20, ge=0, lt=1, description="share of practice-perception variance between orgs"
    )
    practice_icc_team: float = Field(
        0.05, ge=0, lt=1, description="share of practice-perception variance between teams"
    )
    practice_rater_stable: float = Field(
        0.30, ge=0, lt=1, description="share from a rater's lasting tendency (all areas)"
    )
    practice_rater_wave: float = Field(
        0.10, ge=0, lt=1, description="share from a rater's mood at one wave (all areas)"
    )
    practice_area_corr: float = Field(
        0.6, ge=0, le=1, description="correlation of an org's true practice across areas"
    )
    practice_org_outcome_corr: dict[str, float] = Field(  # ASSUMED
        default_factory=lambda: {"sts": -0.2, "bo": -0.3, "cs": 0.25},
        description="org-level correlation of general practice with the outcomes",
    )
    practice_rater_bo_corr: float = Field(  # ASSUMED
        -0.3, gt=-1, lt=1, description="correlation of a rater's tendency with own burnout"
    )
    # -- change over time --------------------------------------------------------------
    trend: dict[str, float] = Field(  # ASSUMED
        default_factory=lambda: {"sts": 0.05, "bo": 0.05, "cs": -0.03, "practice": 0.05},
        description="secular change from pre to post for everyone (latent SD)",
    )
    effects: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {a: dict(v) for a, v in _DEFAULT_EFFECTS.items()},
        description="effect per area and latent outcome (sts, bo, cs, practice), latent SD",
    )
    effect_heterogeneity: float = Field(
        0.25, ge=0, description="between-org coefficient of variation of the effect"
    )
    follow_up_retention: float = Field(
        0.7, ge=0, description="share of the effect left at the follow-up wave"
    )
    # -- missingness -------------------------------------------------------------------
    attrition: float = Field(0.15, ge=0, lt=1, description="share lost between pre and post")
    attrition_logodds_per_sd: float = Field(  # ASSUMED
        0.5, description="log-odds of attrition per SD of baseline STSS"
    )
    follow_up_attrition: float = Field(
        0.10, ge=0, lt=1, description="share of post respondents lost before follow-up"
    )
    item_nonresponse: float = Field(0.02, ge=0, lt=0.5, description="share of blank items")
    instrument_skip: float = Field(
        0.01, ge=0, lt=1, description="chance a respondent skips a whole instrument"
    )
    # -- organizational indicators --------------------------------------------------------
    turnover_annual_mean: float = Field(  # DERIVED, norms.md 5.1 and 7
        0.25, gt=0, lt=1, description="mean annual turnover (separations / headcount)"
    )
    turnover_annual_sd: float = Field(  # DERIVED, norms.md 5.1 and 7
        0.10, ge=0, description="SD of annual turnover across orgs"
    )
    turnover_hr_per_sd_burnout: float = Field(  # ASSUMED (norms.md 5.2 has no value)
        1.5, gt=0, description="separation hazard ratio per latent SD of org burnout"
    )
    absence_days_per_year: float = Field(  # DERIVED, norms.md 5.2: 5-14 days a year
        9.0, gt=0, description="mean sickness-absence days per worker and year"
    )
    absence_rr_per_sd_burnout: float = Field(  # DERIVED, norms.md 5.2: RR 1.21 (Borritz 2006)
        1.2, gt=0, description="absence rate ratio per latent SD of org burnout"
    )
    absence_overdispersion: float = Field(  # ASSUMED
        5.0, gt=0, description="gamma shape of month-to-month absence noise"
    )

    # -- validation ----------------------------------------------------------------------
    @field_validator("areas", mode="before")
    @classmethod
    def _areas(cls, v):
        v = tuple(v)
        bad = [a for a in v if a not in AREA_KEYS]
        if bad:
            raise ValueError(f"unknown area(s) {bad}; valid areas are {', '.join(AREA_KEYS)}")
        if len(set(v)) != len(v):
            raise ValueError("an area is listed twice")
        return v

    @field_validator("effects", mode="before")
    @classmethod
    def _effects(cls, v):
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
                canon = _canonical_outcome(key)
                if canon in clean and clean[canon] != value:
                    raise ValueError(f"effects.{area} sets {canon} twice with different values")
                clean[canon] = value
            out[area] = clean
        return out

    @field_validator("trend")
    @classmethod
    def _trend(cls, v):
        bad = [k for k in v if k not in LATENT_OUTCOMES]
        if bad:
            raise ValueError(f"unknown trend key(s) {bad}; use {', '.join(LATENT_OUTCOMES)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> StudyDesign:
        problems = []
        if self.icc_org + self.icc_team > self.prepost_r:
            problems.append("icc_org + icc_team cannot exceed prepost_r (stable variance)")
        share = (
            self.practice_icc_org
            + self.practice_icc_team
            + self.practice_rater_stable
            + self.practice_rater_wave
        )
        if share >= 1:
            problems.append(
                "practice variance shares (icc_org, icc_team, rater_stable, "
                f"rater_wave) must sum below 1; got {share:.2f}"
            )
        for name in ("teams_per_org", "workers_per_team"):
            lo, hi = getattr(self, name)
            if lo < 1 or hi < lo:
                problems.append(f"{name} must be (min, max) with 1 <= min <= max; got {(lo, hi)}")
        lo, hi = self.survey_coverage
        if not 0 < lo <= hi <= 1:
            problems.append(f"survey_coverage must be (min, max) within (0, 1]; got {(lo, hi)}")
        if (
            not self.role_shares
            or any(v < 0 for v in self.role_shares.values())
            or sum(self.role_shares.values()) <= 0
        ):
            problems.append("role_shares must give non-negative shares with a positive sum")
        window = _dt.timedelta(days=self.survey_window_days)
        if self.pre_date + window > self.start_date:
            problems.append("the baseline survey window must end before start_date")
        last_start = _add_months(self.start_date, self.start_spread_months)
        if last_start >= self.post_date:
            problems.append("post_date must come after the last intervention start")
        if self.follow_up and self.follow_up_date <= self.post_date + window:
            problems.append("follow_up_date must come after the post survey window")
        missing = [
            k
            for k in ("stss_total", "proqol_cs", "proqol_bo", "proqol_sts", "org_guidance")
            if k not in self.targets
        ]
        if missing:
            problems.append(f"targets lacks {missing}")
        for key in ("bo_sts", "cs_bo", "cs_sts"):
            if key not in self.correlations or not -1 < self.correlations[key] < 1:
                problems.append(f"correlations.{key} must be given, between -1 and 1")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- presets and I/O ---------------------------------------------------------------
    @classmethod
    def default(cls) -> StudyDesign:
        """About 70 orgs (8 per area + 14 comparison), 3-6 teams of 6-15 workers."""
        return cls()

    @classmethod
    def small(cls) -> StudyDesign:
        """Every area with 2 intervention orgs, 4 comparison orgs, small teams (~350 workers)."""
        return cls(
            name="synthetic-small",
            orgs_per_area=2,
            comparison_orgs=4,
            teams_per_org=(2, 3),
            workers_per_team=(5, 9),
        )

    @classmethod
    def null(cls) -> StudyDesign:
        """The default design with every effect zero (practice included): truth is 0."""
        return cls(
            name="synthetic-null", effects={a: {k: 0.0 for k in LATENT_OUTCOMES} for a in AREA_KEYS}
        )

    def to_dict(self) -> dict:
        """Plain mapping (dates as ISO strings, tuples as lists), readable by :meth:`from_dict`."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "design") -> StudyDesign:
        """Validate a mapping; fields not given keep the defaults of ``data['base']`` (default)."""
        if not isinstance(data, dict):
            raise UsageError(f"{source} must hold a mapping of design fields")
        data = dict(data)
        base = data.pop("base", "default")
        if base not in {"default", "small", "null"}:
            raise UsageError(f"{source}: base must be default, small or null; got {base!r}")
        merged = _deep_merge(getattr(cls, base)().to_dict(), _alias_effects(data))
        return cls._validated(merged, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> StudyDesign:
        """Read a design YAML file (a mapping of fields; see :meth:`from_dict`)."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"design file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"design file {path} is not valid YAML: {exc}") from None
        return cls.from_dict(data, source=f"design file {path}")

    def with_overrides(self, overrides: dict[str, Any]) -> StudyDesign:
        """A copy with fields changed; keys may be dotted (``effects.supervision.sts``).

        String values are parsed as YAML (``"12"`` -> 12, ``"[2, 3]"`` -> a list),
        so command-line ``--set key=value`` pairs can be passed as they are.
        """
        data = self.to_dict()
        for key, value in overrides.items():
            if isinstance(value, str):
                try:
                    value = yaml.safe_load(value)
                except yaml.YAMLError:
                    pass
            parts = str(key).split(".")
            if parts[0] not in type(self).model_fields:
                raise UsageError(
                    f"unknown design field {parts[0]!r}; fields are "
                    f"{', '.join(type(self).model_fields)}"
                )
            if parts[0] == "effects" and len(parts) == 3:
                try:
                    parts[2] = _canonical_outcome(parts[2])
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
            node = data
            for part in parts[:-1]:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[parts[-1]] = value
        return self._validated(data, "design override")

    @classmethod
    def _validated(cls, data: dict, source: str) -> StudyDesign:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            lines = [
                f"{'.'.join(map(str, e['loc'])) or '(design)'}: {e['msg']}" for e in exc.errors()
            ]
            raise UsageError(
                f"{source} is not a valid design:\n  - " + "\n  - ".join(lines)
            ) from None

    def describe(self) -> pd.DataFrame:
        """One row per field: ``field, value, description`` (for notebooks and help text)."""
        data = self.to_dict()
        return pd.DataFrame(
            [
                (name, data[name], info.description or "")
                for name, info in type(self).model_fields.items()
            ],
            columns=["field", "value", "description"],
        )

    # -- derived quantities -----------------------------------------------------------
    def effect(self, area: str, outcome: str) -> float:
        """Effect (latent SD units) of an intervention in ``area`` on a latent outcome."""
        return float(self.effects.get(area, {}).get(outcome, 0.0))

    @property
    def waves(self) -> list[str]:
        return ["pre", "post"] + (["follow_up"] if self.follow_up else [])

    @property
    def n_orgs(self) -> int:
        return self.orgs_per_area * len(self.areas) + self.comparison_orgs


def _alias_effects(data: dict) -> dict:
    effects = data.get("effects")
    if isinstance(effects, dict):
        data = dict(data)
        data["effects"] = {
            a: {
                (_canonical_outcome(k) if k in OUTCOME_ALIASES else k): v
                for k, v in (t or {}).items()
            }
            for a, t in effects.items()
        }
    return data


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _add_months(day: _dt.date, months: int) -> _dt.date:
    total = day.year * 12 + day.month - 1 + months
    return _dt.date(total // 12, total % 12 + 1, 1)


def simulate(design: StudyDesign | None = None, *, seed: int) -> Study:
    """Simulate a study from ``design`` (default: :meth:`StudyDesign.default`).

    Parameters
    ----------
    design : StudyDesign, optional
    seed : int
        Seed of the single PCG64 generator. The same design and seed give the
        same study, byte for byte (``Study.to_dir``); different seeds differ.

    Returns
    -------
    Study
        With ``truth`` (see the module docstring) and ``meta["provenance"]``
        holding the design, the seed and the stseval version.

    Raises
    ------
    UsageError
        ``seed`` is not a non-negative integer, or the design's targets cannot
        be reached (e.g. a correlation beyond what the reliabilities allow).
    """
    from ._simengine import run

    if design is None:
        design = StudyDesign.default()
    elif isinstance(design, dict):
        design = StudyDesign.from_dict(design)
    elif not isinstance(design, StudyDesign):
        raise UsageError(f"design must be a StudyDesign, got {type(design).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    return run(design, seed)
