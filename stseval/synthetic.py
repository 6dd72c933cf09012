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

Study shapes (design fields; presets :data:`PRESET_NAMES`)
----------------------------------------------------------
* ``waves``: any number of dated waves (default pre and post, or
  ``follow_up: true`` for a third); ``effect_by_wave`` scales the effect at
  the 1st, 2nd, ... wave after an org's start (default 1, then
  ``follow_up_retention`` to the power of the waves since).
* ``start_cohorts``: intervention orgs start in cohorts, cohort *c* between
  wave *c-1* and wave *c*; ``cohort_effects`` scales each cohort's effect.
* ``assignment: team``: half the teams of each intervention org change
  (``comparison: randomized``, or chosen with ``selection_strength``).
* ``multi_area_share``, ``multi_area_count``: some orgs change several areas
  (their effects add up); comparison orgs change nothing.
* ``selection_strength``: orgs with higher baseline latent STS choose to
  change more often; part of that baseline level is a transient org x wave
  shock (``org_wave_icc``, 0.03 by default with selection), so the chosen
  orgs regress to the mean.
* ``linkage``: ``anonymous`` (a new worker ID per response) or ``code``
  (anonymous plus self-generated code columns with realistic errors); see
  :mod:`stseval._simtables` for the layouts.
* ``comparison_orgs: 0``: no comparison group (one or several orgs).
* :meth:`StudyDesign.nullified`: the same design with every effect 0.
* ``mediated_share`` (dose model, :mod:`stseval._simdose`): every org's
  practice changes by a varying amount (``practice_change_sd``) and that
  share of each area's effect runs through it; ``dose_confounder`` adds a
  caseload fall that goes with practice gains (``caseload`` column).
* ``instruments`` with ``ind_guidance``: the seven statement scales
  (:mod:`stseval._simindiv`); ``programs``: individual programs moving
  their statements and the staff outcomes (``study.programs``, written to
  ``programs.csv`` by ``scripts/make_synthetic.py``).

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
With more than one later wave the table has a ``wave`` column (rows for
every later wave; blank for the indicators); with start cohorts a
``cohort`` column (the first wave after the cohort's start; blank = all
orgs started by that wave). With team assignment the treated are the
workers of the changed teams. Dose model: ``dose_slope``, ``indirect``,
``direct`` per area and staff outcome; programs: ``att``, ``att_sd`` per
targeted statement (``area`` = statement key); exact definitions in
``study.yaml`` ``provenance.truth_definition``.

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
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ._simdesign import (
    DEFAULT_EFFECTS,
    DEFAULT_TARGETS,
    LATENT_OUTCOMES,
    OUTCOME_ALIASES,
    PRESETS,
    ScoreTarget,
    WaveSpec,
    clean_effects,
    design_problems,
    preset_fields,
    spaced_waves,
)
from ._simdesignio import DesignIO
from ._simindiv import write_programs
from ._simprogdesign import IndGuidanceSpec, ProgramSpec, program_problems
from .areas import AREA_KEYS
from .errors import UsageError

if TYPE_CHECKING:
    from .study import Study

__all__ = [
    "StudyDesign",
    "ScoreTarget",
    "WaveSpec",
    "simulate",
    "LATENT_OUTCOMES",
    "OUTCOME_ALIASES",
    "PRESET_NAMES",
    "write_programs",
]


class StudyDesign(DesignIO):
    """Everything :func:`simulate` needs; defaults make a realistic study.

    Built-in designs: :meth:`preset` (names in :data:`PRESET_NAMES`; also
    ``StudyDesign.<name>()``); :meth:`nullified` zeroes every effect. Read
    one from YAML with :meth:`from_yaml` (fields not given keep the preset
    named by ``base:``), change fields with :meth:`with_overrides` (dotted
    keys, e.g. ``{"effects.supervision.stss_total": -0.3}``), write with
    :meth:`to_dict`. Latent values are in SD units of the latent trait.
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
    assignment: Literal["org", "team"] = Field(
        "org", description="who changes practice: whole orgs, or some teams of each org"
    )
    comparison: Literal["chosen", "randomized"] = Field(
        "chosen",
        description="how the changing orgs (or teams) were picked; chosen may select on STS "
        "(selection_strength); study.yaml says none when there are no comparison orgs",
    )
    selection_strength: float = Field(
        0.0,
        description="log-odds slope of choosing to change per SD of the org's baseline latent "
        "STS (teams: the team's); > 0: worse-off orgs change more often; 0 = random",
    )
    multi_area_share: float = Field(
        0.0, ge=0, le=1, description="share of intervention orgs that change several areas"
    )
    multi_area_count: int = Field(2, ge=2, description="areas changed by a multi-area org")
    linkage: Literal["linked", "anonymous", "code"] = Field(
        "linked",
        description="linked: worker IDs repeat across waves; anonymous: a new ID per response; "
        "code: anonymous plus self-generated code (SGIC) columns",
    )
    sgic_elements: tuple[str, ...] = Field(
        ("initial", "birth_month", "sibling"),
        description="SGIC elements asked with linkage code (initial, birth_month, sibling, "
        "birth_day); columns sgic_<element>",
    )
    sgic_misremember: float = Field(  # ASSUMED from McGloin 1996 (75% matched), Yurek 2008
        0.15, ge=0, le=1, description="chance a later-wave code has one element misremembered"
    )
    sgic_unusable: float = Field(
        0.05, ge=0, le=1, description="chance a code has a blank element (cannot be matched)"
    )
    tenure_median_years: float = Field(  # ASSUMED; norms.md 5.1 gives median tenure ~1.8 y
        3.5, gt=0, description="median tenure (log-normal, supervisors +4 years)"
    )
    survey_coverage: tuple[float, float] = Field(  # ASSUMED
        (0.65, 0.95), description="(min, max) share of an org's headcount that is surveyed"
    )
    # -- schedule ---------------------------------------------------------------------
    waves: tuple[WaveSpec, ...] | None = Field(
        None,
        description="waves in order as {name, date}, or a number K (t0..tK-1 six months apart "
        "from pre_date); if not given: pre_date, post_date (and follow_up_date with follow_up)",
    )
    start_cohorts: int = Field(
        1,
        ge=1,
        description="intervention orgs start in this many cohorts: cohort c starts between "
        "wave c-1 and wave c (cohort 1 from start_date)",
    )
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
        default_factory=lambda: dict(DEFAULT_TARGETS),
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
        default_factory=lambda: {a: dict(v) for a, v in DEFAULT_EFFECTS.items()},
        description="effect per area and latent outcome (sts, bo, cs, practice), latent SD",
    )
    effect_heterogeneity: float = Field(
        0.25, ge=0, description="between-org coefficient of variation of the effect"
    )
    follow_up_retention: float = Field(
        0.7,
        ge=0,
        description="share of the effect left at each further wave (when effect_by_wave is "
        "not given: 1, r, r^2, ...)",
    )
    effect_by_wave: tuple[float, ...] | None = Field(
        None,
        description="effect multiplier at the 1st, 2nd, ... wave after an org's start "
        "(one per later wave; > 1 grows, < 1 fades)",
    )
    cohort_effects: tuple[float, ...] | None = Field(
        None, description="effect multiplier of each start cohort (default: all 1)"
    )
    org_wave_icc: float | None = Field(  # ASSUMED: org climate varies from year to year
        None,
        ge=0,
        lt=1,
        description="latent variance of a transient org x wave shock, taken from the occasion "
        "variance (default 0.03 when selection_strength is not 0, else 0): with selection it "
        "brings regression to the mean",
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

    # -- dose-response truth (issue 11; None = the effect multiplier model above) --------
    mediated_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="share of each area's STS/BO/CS effect carried by the org's realized "
        "practice change (the rest direct); None: no dose model (no dose truth rows)",
    )
    practice_change_sd: float = Field(  # ASSUMED
        0.4,
        ge=0,
        description="dose model: between-org SD (latent) of every org's practice change in each "
        "area from pre to later waves, on top of the intervention's mean practice effect",
    )
    dose_confounder: float = Field(
        0.0,
        description="dose model: latent fall of STS and burnout per SD of an org's caseload fall, "
        "which goes with its practice gains (corr .71 with each area's change, ASSUMED); biases "
        "the naive slope, not the truth; responses.csv then has a caseload column",
    )
    # -- individual guidance inventory and individual programs (issue 11) ---------------
    instruments: tuple[str, ...] = Field(
        ("stss", "proqol", "org_guidance"),
        description="instruments answered; add ind_guidance for the 7 statement scales",
    )
    ind_guidance: IndGuidanceSpec = Field(
        default_factory=IndGuidanceSpec,
        description="statement scales (ASSUMED calibration except team support-STS)",
    )
    programs: tuple[ProgramSpec, ...] = Field(
        (), description="individual programs (programs.csv); each moves its statements"
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
        return clean_effects(v)

    @field_validator("trend")
    @classmethod
    def _trend(cls, v):
        bad = [k for k in v if k not in LATENT_OUTCOMES]
        if bad:
            raise ValueError(f"unknown trend key(s) {bad}; use {', '.join(LATENT_OUTCOMES)}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _wave_count(cls, data):
        if isinstance(data, dict) and type(data.get("waves")) is int:
            data = dict(data)
            data["waves"] = spaced_waves(data["waves"], data.get("pre_date", _dt.date(2024, 3, 4)))
        return data

    @model_validator(mode="after")
    def _consistent(self) -> StudyDesign:
        problems = design_problems(self) + program_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- presets and I/O ---------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, *, null: bool = False) -> StudyDesign:
        """The built-in design ``name`` (one of :data:`PRESET_NAMES`); ``null=True`` zeroes effects.

        Raises
        ------
        UsageError
            ``name`` is not a preset.
        """
        if name not in PRESETS:
            raise UsageError(f"unknown design preset {name!r}; presets are {', '.join(PRESETS)}")
        design = cls(**preset_fields(name))
        return design.nullified() if null or name == "null" else design

    @classmethod
    def default(cls) -> StudyDesign:
        """About 70 orgs (8 per area + 14 comparison), 3-6 teams of 6-15 workers."""
        return cls()

    @classmethod
    def small(cls) -> StudyDesign:
        """Every area with 2 intervention orgs, 4 comparison orgs, small teams (~350 workers)."""
        return cls.preset("small")

    @classmethod
    def null(cls) -> StudyDesign:
        """The default design with every effect zero (practice included): truth is 0."""
        return cls.preset("null")

    @classmethod
    def single_org(cls) -> StudyDesign:
        """One agency changes supervision, no comparison group, pre/post (~165 workers)."""
        return cls.preset("single_org")

    @classmethod
    def anonymous(cls) -> StudyDesign:
        """Anonymous waves: a new worker ID on every response, no link (~330 respondents)."""
        return cls.preset("anonymous")

    @classmethod
    def coded(cls) -> StudyDesign:
        """Anonymous waves linked by self-generated codes (SGIC) with realistic errors."""
        return cls.preset("coded")

    @classmethod
    def three_wave(cls) -> StudyDesign:
        """Pre, post and follow-up; the effect fades to 60% at the follow-up (~250 workers)."""
        return cls.preset("three_wave")

    @classmethod
    def staggered(cls) -> StudyDesign:
        """Four waves, three start cohorts; effects differ by cohort and grow with exposure."""
        return cls.preset("staggered")

    @classmethod
    def team_rct(cls) -> StudyDesign:
        """Cluster RCT of teams: half the teams of each of 8 orgs randomized to change."""
        return cls.preset("team_rct")

    @classmethod
    def dose(cls) -> StudyDesign:
        """60 orgs (2 areas x 20 + 20), varied practice change, 60% of effects carried by it."""
        return cls.preset("dose")

    @classmethod
    def individual(cls) -> StudyDesign:
        """10 orgs with the individual guidance inventory; a skills course for 40% of teams."""
        return cls.preset("individual")

    def nullified(self) -> StudyDesign:
        """The same design with every effect zero (all areas, all outcomes): truth is 0."""
        name = {"synthetic-default": "synthetic-null"}.get(self.name, f"{self.name}-null")
        name = self.name if self.name.endswith("null") else name
        zero = {a: {k: 0.0 for k in LATENT_OUTCOMES} for a in AREA_KEYS}
        update = {"effects": zero, "name": name}
        if self.programs:
            update["programs"] = tuple(
                p.model_copy(update={"statement_effect": 0.0, "outcome_effects": {}})
                for p in self.programs
            )
        return self.model_copy(update=update)

    # -- derived quantities -----------------------------------------------------------
    def effect(self, area: str, outcome: str) -> float:
        """Effect (latent SD units) of an intervention in ``area`` on a latent outcome."""
        return float(self.effects.get(area, {}).get(outcome, 0.0))

    def wave_schedule(self) -> list[WaveSpec]:
        """The waves in order (``waves`` if given, else pre, post and an optional follow_up)."""
        if self.waves is not None:
            return list(self.waves)
        out = [WaveSpec(name="pre", date=self.pre_date), WaveSpec(name="post", date=self.post_date)]
        if self.follow_up:
            out.append(WaveSpec(name="follow_up", date=self.follow_up_date))
        return out

    @property
    def wave_names(self) -> list[str]:
        """Names of the waves in order."""
        return [w.name for w in self.wave_schedule()]

    def wave_effects(self) -> list[float]:
        """Effect multiplier at the 1st, 2nd, ... wave after an org's start."""
        if self.effect_by_wave is not None:
            return [float(v) for v in self.effect_by_wave]
        n_later = len(self.wave_schedule()) - 1
        return [1.0] + [self.follow_up_retention**k for k in range(1, n_later)]

    @property
    def wave_shock_share(self) -> float:
        """``org_wave_icc``, or its default (0.03 with selection into intervention, else 0)."""
        if self.org_wave_icc is not None:
            return float(self.org_wave_icc)
        return 0.03 if self.selection_strength != 0 else 0.0

    @property
    def comparison_kind(self) -> str:
        """What study.yaml's ``design.comparison`` says: chosen, randomized or none."""
        if self.assignment == "org" and self.comparison_orgs == 0:
            return "none"
        return self.comparison

    @property
    def n_orgs(self) -> int:
        return self.orgs_per_area * len(self.areas) + self.comparison_orgs


PRESET_NAMES = tuple(PRESETS)


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
        With ``truth`` (see the module docstring), ``meta["provenance"]``
        holding the design, the seed and the stseval version, and
        ``meta["design"]`` (``linkage, link_code_columns, assignment,
        comparison``) unless the design is linked, org-level, with chosen
        comparison orgs.

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
