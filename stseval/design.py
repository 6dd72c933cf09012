"""The design a study folder declares: waves, linkage, assignment, comparison.

``study.yaml`` may hold (all optional; the defaults reproduce a two-wave,
linked, organization-level study with chosen comparison organizations)::

    waves: [pre, post, follow_up]        # or [{name: pre, date: 2024-03-01}, ...]
    min_cell: 5
    min_orgs: 10
    design:
      linkage: linked                    # linked | anonymous | code
      link_code_columns: []              # with linkage=code: columns of responses.csv
      assignment: org                    # org | team
      comparison: chosen                 # chosen | randomized | none

:class:`StudyMeta` is the pydantic model of the file (every failure is
collected by :func:`parse_meta`); :class:`Design` is what a :class:`Study`
says about its own shape (``study.design``), with :meth:`Design.describe` and
:meth:`Design.implications` in plain words for ``stseval check``.

When ``design.linkage`` is not given and no ``worker_id`` answers two waves,
the linkage is inferred as ``anonymous``; when ``design.comparison`` is not
given it is ``none`` if every organization has a row in
``interventions.csv``, else ``chosen`` (the shared study-folder contract).

Tests: ``tests/test_design.py``; broken design fields in ``tests/test_study_corpus.py``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from .columns import DEFAULT_WAVES

__all__ = [
    "Design",
    "DesignSpec",
    "StudyMeta",
    "WaveSpec",
    "design_of",
    "parse_meta",
    "primary_estimator",
]

LINKAGES = ("linked", "anonymous", "code")
ASSIGNMENTS = ("org", "team")
COMPARISONS = ("chosen", "randomized", "none")


class WaveSpec(BaseModel):
    """One wave written as ``{name: ..., date: YYYY-MM-DD}``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    date: _dt.date | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class DesignSpec(BaseModel):
    """The ``design:`` block of ``study.yaml``."""

    model_config = ConfigDict(extra="forbid")
    linkage: Literal["linked", "anonymous", "code"] | None = None
    link_code_columns: list[str] = Field(default_factory=list)
    assignment: Literal["org", "team"] = "org"
    comparison: Literal["chosen", "randomized", "none"] | None = None


class StudyMeta(BaseModel):
    """``study.yaml``: the fields the kit reads; other fields are kept as they are."""

    model_config = ConfigDict(extra="allow")
    name: str | int | None = None
    waves: list[WaveSpec] | None = None
    instruments: list[str] | None = None
    min_cell: StrictInt | None = Field(None, ge=1)
    min_orgs: StrictInt | None = Field(None, ge=1)
    design: DesignSpec | None = None
    provenance: dict | None = None

    @field_validator("waves", mode="before")
    @classmethod
    def _wave_items(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                out.append({"name": str(item)})
            else:
                out.append(item)
        return out

    @field_validator("waves")
    @classmethod
    def _waves_in_order(cls, value: list[WaveSpec] | None) -> list[WaveSpec] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("list at least one wave (e.g. [pre, post])")
        names = [w.name for w in value]
        if len(set(names)) != len(names):
            raise ValueError(f"waves are listed twice: {names}")
        dates = [w.date for w in value if w.date is not None]
        if dates and (len(dates) != len(value) or dates != sorted(dates)):
            raise ValueError(
                "wave dates must be given for every wave or none, in increasing order; got "
                + ", ".join(f"{w.name}={w.date}" for w in value)
            )
        return value


_EXPECTED = {
    "waves": "a list of wave names in order (e.g. [pre, post]) or of {name, date}",
    "instruments": "a list of instrument keys (e.g. [stss, proqol])",
    "min_cell": "a whole number of at least 1 (e.g. min_cell: 5)",
    "min_orgs": "a whole number of at least 1 (e.g. min_orgs: 10)",
    "linkage": "one of " + ", ".join(LINKAGES),
    "assignment": "one of " + ", ".join(ASSIGNMENTS),
    "comparison": "one of " + ", ".join(COMPARISONS),
    "date": "a date written YYYY-MM-DD",
}


def parse_meta(meta: Any) -> tuple[StudyMeta | None, list[dict]]:
    """Validate a ``study.yaml`` mapping; return the model and every failure record.

    Returns
    -------
    (StudyMeta or None, list of dict)
        The model (None when invalid) and failure records ``file, column, rows,
        problem`` with ``file = "study.yaml"`` and ``column`` the field path
        (``design.linkage``, ``waves.2.date``, ...).
    """
    try:
        return StudyMeta.model_validate(meta or {}), []
    except ValidationError as exc:
        return None, [_failure(err) for err in exc.errors()]


def _failure(err: dict) -> dict:
    loc = [str(p) for p in err.get("loc", ())]
    names = [p for p in loc if not p.isdigit() and p not in {"WaveSpec", "function-after"}]
    field = names[-1] if names else ""
    where = ".".join(p for p in loc if p not in {"function-after"})
    expected = _EXPECTED.get(field, "")
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    got = err.get("input")
    text = f"{msg}; expected {expected}" if expected else msg
    if err.get("type") not in {"value_error"}:
        text += f"; got {got!r}"
    return {"file": "study.yaml", "column": where, "rows": "", "problem": text}


@dataclass(frozen=True)
class Design:
    """What a study's shape allows (``study.design``).

    Attributes
    ----------
    waves : tuple of str
        Wave names in order.
    wave_dates : tuple of (datetime.date or None)
        The date of each wave when ``study.yaml`` gives one.
    linkage : str
        ``linked``, ``anonymous`` or ``code``.
    linkage_inferred : bool
        True when ``study.yaml`` did not say and the kit read it from the data.
    link_code_columns : tuple of str
    assignment : str
        ``org`` or ``team``.
    comparison : str
        ``chosen``, ``randomized`` or ``none``.
    comparison_inferred : bool
    n_orgs, n_teams, n_workers : int
    n_comparison_orgs : int
        Organizations without a row in ``interventions.csv``.
    areas : tuple of str
        Areas with at least one intervention row.
    min_orgs : int or None
    """

    waves: tuple[str, ...]
    wave_dates: tuple[_dt.date | None, ...]
    linkage: str
    linkage_inferred: bool
    link_code_columns: tuple[str, ...]
    assignment: str
    comparison: str
    comparison_inferred: bool
    n_orgs: int
    n_teams: int
    n_workers: int
    n_comparison_orgs: int
    areas: tuple[str, ...]
    min_orgs: int | None = None

    @property
    def n_waves(self) -> int:
        return len(self.waves)

    @property
    def linked(self) -> bool:
        """True when waves are linked by worker ID (``linked``) or by a code (``code``)."""
        return self.linkage in {"linked", "code"}

    def not_supported(self, section: str) -> str:
        """Why a report section does not apply to this design ("" when it does).

        Parameters
        ----------
        section : {"attrition", "comparison"}
            ``attrition``: attrition by arm (needs workers followed by ID and a
            comparison group); ``comparison``: anything that compares arms.

        Returns
        -------
        str
            A plain reason ("waves are not linked by worker ID ..."), or "".
        """
        if section not in ("attrition", "comparison"):
            raise ValueError(f"section must be 'attrition' or 'comparison'; got {section!r}")
        if self.comparison == "none":
            return "there is no comparison group"
        if section == "attrition" and self.linkage != "linked":
            how = "by self-generated codes" if self.linkage == "code" else "at all"
            return (
                f"waves are not linked by worker ID ({how}), so nobody is followed from one "
                "wave to the next"
            )
        return ""

    def describe(self) -> str:
        """One sentence: ``"3 waves, anonymous, 7 organizations, no comparison group"``."""
        waves = f"{self.n_waves} wave{'s' if self.n_waves != 1 else ''}"
        link = {
            "linked": "linked by worker ID",
            "anonymous": "anonymous",
            "code": "linked by self-generated code",
        }
        linkage = link[self.linkage] + (" (inferred)" if self.linkage_inferred else "")
        orgs = f"{self.n_orgs} organization{'s' if self.n_orgs != 1 else ''}"
        if self.assignment == "team":
            orgs += f", {self.n_teams} teams, assigned by team"
        comp = {
            "none": "no comparison group",
            "chosen": f"{self.n_comparison_orgs} chosen comparison organization(s)",
            "randomized": "randomized comparison",
        }[self.comparison]
        return f"{waves}, {linkage}, {orgs}, {comp}"

    def implications(self) -> list[str]:
        """Plain sentences: what the design means for the estimates."""
        out = []
        if self.n_waves < 2:
            out.append("One wave: change over time cannot be estimated.")
        if self.linkage == "anonymous":
            out.append(
                "Waves are not linked: paired change, ANCOVA and reliable change need linked "
                "waves: not estimable. Change is estimated from all responses of each wave "
                "(two-sample, clustered by organization)."
            )
        elif self.linkage == "code":
            out.append(
                "Waves are linked by self-generated codes, which match imperfectly: linked "
                "estimates use the matched pairs; unlinked estimates use every response."
            )
        if self.n_waves >= 3:
            out.append(
                f"{self.n_waves} waves: the effect is estimated at every later wave "
                f"({', '.join(self.waves[1:])}), so one can see whether it lasted."
            )
        out += self._comparison_sentences()
        out += self._size_sentences()
        if self.assignment == "team":
            out.append(
                "Teams were assigned: treated and untreated teams are compared within "
                "organizations, with standard errors clustered by team."
            )
        return out

    def _size_sentences(self) -> list[str]:
        out = []
        if self.n_orgs == 1:
            out.append(
                "One organization: differences between organizations cannot be separated "
                "from the effect, and standard errors cannot be clustered by organization."
            )
        if (
            self.min_orgs is not None
            and self.comparison != "none"
            and self.n_comparison_orgs < self.min_orgs
        ):
            out.append(
                f"{self.n_comparison_orgs} comparison organization(s), fewer than "
                f"min_orgs={self.min_orgs}: summaries that describe the other organizations "
                "are withheld from shared reports."
            )
        return out

    def _comparison_sentences(self) -> list[str]:
        if self.comparison == "none":
            return [
                "No comparison group: any change may come from everything else that changed "
                "over the same months."
            ]
        if self.comparison == "randomized":
            return [
                "Randomized comparison: differences between arms estimate the effect of the "
                "change; the design effect and ICC are reported."
            ]
        return [
            "Organizations chose to change: differences from the comparison organizations may "
            "partly reflect why they chose to (for example, worse baseline scores regress "
            "toward the mean)."
        ]


#: Monthly organizational indicators (not worker scores).
_INDICATORS = ("separation_rate", "absence_rate")


def primary_estimator(design: Design, outcome: str, *, staggered: bool = False) -> str | None:
    """The estimator a report leads with for ``outcome`` in a study of this design.

    The rule (``evaluate_area`` marks these rows ``primary = True``; reports and
    the recovery study use the same function):

    ======================================  =====================  ===================
    design                                  staff outcomes         monthly indicators
    ======================================  =====================  ===================
    staggered starts (cohorts)              ``att_overall``        ``its``
    teams assigned                          ``team_did``           none (per org)
    no comparison group, linked / coded     ``within_paired``      ``its_own_level``
    no comparison group, anonymous          ``within_unlinked``    ``its_own_level``
    anonymous, comparison                   ``did_cross_section``  ``its``
    code-linked, comparison                 ``did_cross_section``  ``its``
    linked, 3 or more waves                 ``ancova_wave``        ``its``
    linked, 2 waves (today's design)        ``ancova``             ``its``
    ======================================  =====================  ===================

    In today's design the area's practice score (``org_guidance_<area>``) leads
    with ``org_practice`` (organizations are the unit that changed practice).
    With self-generated codes the primary row uses every response, because
    wrong and missed matches bias the linked estimates toward zero; the linked
    (matched) rows stand beside it.

    Parameters
    ----------
    design : Design
        ``study.design``.
    outcome : str
        A score column or a monthly indicator.
    staggered : bool
        True when the organizations started in different waves (found by
        ``evaluate_area`` from the start dates and the wave dates).

    Returns
    -------
    str or None
        An estimator name of :data:`stseval.columns.ESTIMATORS`; None when no
        estimator applies (indicators in a team-assigned study).
    """
    if outcome in _INDICATORS:
        if design.assignment == "team":
            return None
        return "its_own_level" if design.comparison == "none" else "its"
    if staggered:
        return "att_overall"
    if design.assignment == "team":
        return "team_did"
    if design.comparison == "none":
        return "within_paired" if design.linked else "within_unlinked"
    if design.linkage in ("anonymous", "code"):
        return "did_cross_section"
    if design.n_waves >= 3:
        return "ancova_wave"
    if outcome.startswith("org_guidance_"):
        return "org_practice"
    return "ancova"


def design_of(study) -> Design:
    """The :class:`Design` of a study, read from ``study.yaml`` and its tables."""
    spec, _ = parse_meta(study.meta)
    waves = list(spec.waves) if spec is not None and spec.waves else None
    names = tuple(w.name for w in waves) if waves else tuple(DEFAULT_WAVES)
    dates = tuple(w.date for w in waves) if waves else (None,) * len(names)
    block = (spec.design if spec is not None else None) or DesignSpec()
    linkage, link_inferred = block.linkage, False
    if linkage is None:
        linkage = "linked" if _ids_repeat(study.responses) else "anonymous"
        link_inferred = linkage == "anonymous"
    orgs = set(_col(study.orgs, "org_id"))
    changed = set(_col(study.interventions, "org_id"))
    comparison, comp_inferred = block.comparison, False
    if comparison is None:
        comparison = "none" if orgs and orgs <= changed else "chosen"
        comp_inferred = True
    return Design(
        waves=names,
        wave_dates=dates,
        linkage=linkage,
        linkage_inferred=link_inferred,
        link_code_columns=tuple(block.link_code_columns),
        assignment=block.assignment,
        comparison=comparison,
        comparison_inferred=comp_inferred,
        n_orgs=len(orgs),
        n_teams=len(set(_col(study.workers, "team_id"))),
        n_workers=len(set(_col(study.workers, "worker_id"))),
        n_comparison_orgs=len(orgs - changed),
        areas=tuple(sorted(set(_col(study.interventions, "area")))),
        min_orgs=spec.min_orgs if spec is not None else None,
    )


def _col(frame, name) -> set:
    """The distinct non-blank text values of a column (empty when there is no such column)."""
    if frame is None or name not in frame.columns:
        return set()
    return {v for v in pd.unique(frame[name].dropna()) if isinstance(v, str) and v.strip()}


def _ids_repeat(responses) -> bool:
    """True when some worker_id appears at two waves (or there are too few rows to tell)."""
    if responses is None or not {"worker_id", "wave"} <= set(responses.columns):
        return True
    if responses["wave"].nunique() < 2:
        return True
    pairs = responses[["worker_id", "wave"]].dropna().drop_duplicates()
    return bool(pd.Series(pairs["worker_id"]).duplicated().any())
