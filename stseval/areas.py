"""The guidance areas as data.

Seven organizational areas and seven individual guidance statements
(Secondary Traumatic Stress Consortium, 2021, *Best Practices for Addressing
Secondary Traumatic Stress*), described here in the kit's own words. For each
organizational area: the practice scale that measures it (a scale of the
kit-authored organizational guidance inventory) and the staff outcomes it
should move, with the direction that counts as improvement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .columns import LOWER_IS_BETTER, OUTCOME_LABELS, outcome_direction
from .errors import UsageError

__all__ = [
    "Area",
    "ORG_AREAS",
    "IND_STATEMENTS",
    "AREA_KEYS",
    "STATEMENT_KEYS",
    "STAFF_OUTCOMES",
    "LOWER_IS_BETTER",
    "get_area",
    "outcome_direction",
    "outcome_label",
    "primary_outcome",
]

#: Staff outcomes every organizational area is expected to move.
STAFF_OUTCOMES = ("stss_total", "proqol_sts", "proqol_bo", "proqol_cs")


@dataclass(frozen=True)
class Area:
    """One guidance area or statement.

    Attributes
    ----------
    key : str
        Kit-wide key (``interventions.csv``, notebook parameter ``area``).
    title : str
        Short title for reports.
    target : str
        What the guidance asks, in the kit's own words.
    elements : tuple of str
        Practice elements, the basis of the inventory items.
    level : {"organizational", "individual"}
    practice_scale : str
        Score column measuring the area's practice.
    outcomes : tuple of str
        Staff outcome score columns the area should move.
    indicators : tuple of str
        Monthly organizational indicators examined for the area.
    """

    key: str
    title: str
    target: str
    elements: tuple[str, ...]
    level: str
    practice_scale: str
    outcomes: tuple[str, ...] = field(default=STAFF_OUTCOMES)
    indicators: tuple[str, ...] = field(default=("separation_rate", "absence_rate"))


def _org(key, title, target, elements):
    return Area(key, title, target, tuple(elements), "organizational", f"org_guidance_{key}")


def _ind(key, title, target, elements):
    return Area(
        key,
        title,
        target,
        tuple(elements),
        "individual",
        f"ind_guidance_{key}",
        outcomes=STAFF_OUTCOMES,
        indicators=(),
    )


ORG_AREAS: dict[str, Area] = {
    a.key: a
    for a in [
        _org(
            "policies",
            "Policies, protocols and practices",
            "Written policies and day-to-day practices show a commitment to staff well-being: "
            "work is organized to limit exposure to traumatic material, and resilience, "
            "stabilization and recovery are actively supported.",
            [
                "written well-being policy",
                "workflow limits exposure",
                "resilience strategies in use",
                "recovery after incidents",
                "policies known to staff",
            ],
        ),
        _org(
            "training",
            "Training",
            "Ongoing, culturally responsive, evidence-informed STS training and consultation "
            "for every level of staff, with extra preparation for leaders and supervisors.",
            [
                "ongoing for all staff",
                "normalizes reactions",
                "shared view of risks",
                "stress psychobiology covered",
                "concrete coping strategies",
                "extra training for supervisors",
                "culturally responsive tools",
            ],
        ),
        _org(
            "workforce_support",
            "Workforce support",
            "Workloads are arranged to limit exposure, with protected time for supervision, "
            "peer processing, wellness and training.",
            [
                "protected schedule time",
                "time to process with peers",
                "wellness encouraged",
                "staff asked what helps",
                "STS-aware assistance program",
                "team building",
            ],
        ),
        _org(
            "culture",
            "Organizational culture",
            "A psychologically safe culture that names the hazards of the work and fosters "
            "mutual support and healthy boundaries.",
            [
                "physical safety",
                "psychological safety",
                "hazards acknowledged",
                "identity and equity addressed",
                "mutual support",
                "clear role boundaries",
            ],
        ),
        _org(
            "supervision",
            "Supervision",
            "Time and support for qualified, STS-informed supervision: supervisors spot and "
            "respond to STS in supervisees and themselves and refer on when needed.",
            [
                "supervisors spot signs",
                "space to process",
                "supervisors self-aware",
                "STS-informed tools",
                "referral when needed",
            ],
        ),
        _org(
            "leadership",
            "Practices of leaders",
            "Leaders model STS-informed behaviour and build a supportive, resilient workplace, "
            "applying trauma-informed principles to staff as well as clients.",
            [
                "leaders model self-care",
                "leaders promote wellness",
                "leaders build awareness",
                "trauma-informed toward staff",
                "leaders invite input",
            ],
        ),
        _org(
            "monitoring",
            "Organizational assessment and monitoring",
            "Workforce wellness is measured continuously with defined measures, kept "
            "confidential, reported prominently and acted on.",
            [
                "wellness measures chosen",
                "turnover and absence tracked",
                "results reported",
                "results acted on",
                "privacy protected",
            ],
        ),
    ]
}

IND_STATEMENTS: dict[str, Area] = {
    a.key: a
    for a in [
        _ind(
            "education",
            "Education",
            "Knows the evidence on STS risks and how to reduce them, and keeps learning.",
            ["knows STS risks", "knows risk reduction", "keeps learning", "anticipates exposure"],
        ),
        _ind(
            "skills",
            "Skill development",
            "Stays within a tolerable zone during exposure and recovers after strong reactions.",
            [
                "checks for signs",
                "regulates during exposure",
                "recovers after intensity",
                "talks experiences through",
            ],
        ),
        _ind(
            "beliefs",
            "Beliefs, attitudes and values",
            "Holds beliefs that protect well-being: meaning, purpose, compassion, gratitude, "
            "optimism and acceptance of the role's limits.",
            ["finds meaning", "knows own purpose", "compassion for self", "accepts limits"],
        ),
        _ind(
            "self_awareness",
            "Reflection and self-awareness",
            "Knows own strengths and vulnerabilities and uses that profile to self-monitor.",
            [
                "knows own strengths",
                "knows own vulnerabilities",
                "reflects on reactions",
                "profile guides monitoring",
            ],
        ),
        _ind(
            "team_support",
            "Team support",
            "Shares reactions with trusted colleagues, without needless graphic detail, and "
            "sustains reciprocal support.",
            ["trusted colleagues", "shares reactions", "limits graphic detail", "supports others"],
        ),
        _ind(
            "self_monitoring",
            "Oversight of well-being",
            "Monitors own well-being and responds when distress occurs.",
            [
                "knows when to check",
                "names exposure effects",
                "responds to distress",
                "uses regulation strategies",
            ],
        ),
        _ind(
            "external_support",
            "External professional support",
            "Recognizes when outside help is needed and knows how to get it.",
            [
                "recognizes need",
                "knows where to go",
                "willing to seek help",
                "cultural or spiritual support",
            ],
        ),
    ]
}

AREA_KEYS: tuple[str, ...] = tuple(ORG_AREAS)
STATEMENT_KEYS: tuple[str, ...] = tuple(IND_STATEMENTS)


def get_area(key: str) -> Area:
    """Return the organizational area or individual statement named ``key``.

    Raises
    ------
    UsageError
        If ``key`` is not a known area, listing the valid keys.
    """
    if key in ORG_AREAS:
        return ORG_AREAS[key]
    if key in IND_STATEMENTS:
        return IND_STATEMENTS[key]
    raise UsageError(
        f"unknown area {key!r}; organizational areas are {', '.join(AREA_KEYS)} "
        f"(individual statements: {', '.join(STATEMENT_KEYS)})"
    )


def outcome_label(outcome: str) -> str:
    """A reader's name for a score column or indicator (``proqol_bo`` -> ``burnout (ProQOL)``)."""
    if outcome in OUTCOME_LABELS:
        return OUTCOME_LABELS[outcome]
    if outcome.startswith("org_guidance_"):
        area = outcome.removeprefix("org_guidance_")
        return f"staff-rated practice: {get_area(area).title.lower()}"
    return outcome.replace("_", " ")


def primary_outcome(study) -> str:
    """The first staff outcome in :data:`STAFF_OUTCOMES` that ``study`` measures."""
    cols = set(study.score_columns())
    for out in STAFF_OUTCOMES:
        if out in cols:
            return out
    raise UsageError(
        "the study measures none of the staff outcomes "
        f"({', '.join(STAFF_OUTCOMES)}); cannot count who was analysed"
    )
