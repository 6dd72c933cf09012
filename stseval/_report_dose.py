"""Funder-report sections for issue 11: does practice change carry the outcome change, and
individual guidance.

Private builders the funder report (and the two issue-11 notebooks) call; each returns a
:class:`Section` (a title, Markdown text and tidy tables). Every sentence about a number is
chosen by the kit's one decision rule (:func:`stseval.verdict.decide_verdict` on the
*adjusted* p-value and the interval), so the words cannot contradict the table:

* dose rows are **associations**: the words say "associated with", never "effect";
* every indirect / direct effect sentence carries the sequential-ignorability assumption
  (:data:`stseval.dose.SEQUENTIAL_IGNORABILITY`) in the same paragraph;
* individual-program rows compare participants with non-participants who were not
  randomized: "differed", with that caveat, never "the program caused".

:data:`DOSE_LIMITS` says in plain words what dose-response and mediation can and cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import dose
from .areas import (
    AREA_KEYS,
    IND_STATEMENTS,
    ORG_AREAS,
    STAFF_OUTCOMES,
    outcome_direction,
    outcome_label,
)
from .errors import StsevalError
from .formatting import format_interval, format_number, format_p
from .verdict import decide_verdict

__all__ = [
    "DOSE_LIMITS",
    "Section",
    "has_dose_data",
    "has_programs",
    "holm_by_estimator",
    "dose_sentence",
    "mediation_sentences",
    "statement_sentence",
    "dose_section",
    "individual_section",
]

#: What dose-response and mediation can and cannot show (printed under every dose section).
DOSE_LIMITS = (
    "**What this can and cannot show.** Dose-response asks whether organizations whose "
    "staff-rated practice rose more also saw their staff outcomes improve more. It compares "
    "organizations within the same arm (intervention with intervention, comparison with "
    "comparison), so the intervention's own effect is not credited to practice. It *can* show "
    "that outcome change goes together with practice change, how steeply, and whether the "
    "pattern is clear or could be chance. It *cannot* show that the practice change caused "
    "the outcome change: organizations were not assigned how much their practice changed, and "
    "anything that moved both (a falling caseload, new leadership, a reorganization) produces "
    "the same pattern. Adjusting for a measured confounder (e.g. caseload) removes only that "
    "one. Practice is rated by a few staff per organization, so its measured change is partly "
    "noise, which flattens the slope toward zero (the corrected slope divides by the "
    "reliability shown). Mediation splits the intervention's outcome change into a part "
    "carried by the practice change (indirect) and the rest (direct); those two numbers are "
    "causal only under sequential ignorability (stated beside them), an assumption the data "
    "cannot check."
)

_VERDICT_DOSE = {
    "improved": "clearly associated with {better}",
    "worsened": "clearly associated with {worse}",
    "unclear": "not clearly associated with a change in {label}",
}


@dataclass(frozen=True)
class Section:
    """One report part: ``title``, ``markdown`` text and named ``tables`` (tidy DataFrames)."""

    title: str
    markdown: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def has_dose_data(study) -> bool:
    """True when the study has two waves, organizations that changed as a whole, and a
    practice score (team-level assignment changes part of an organization: its practice
    change is not one organization's dose)."""
    if len(study.waves) < 2 or len(study.interventions) == 0:
        return False
    if getattr(getattr(study, "design", None), "assignment", "org") == "team":
        return False
    cols = study.scored().columns
    return any(c.startswith("org_guidance_") for c in cols) or "stsioa_total" in cols


def has_programs(study) -> bool:
    """True when the study records individual programs (``programs.csv`` with rows)."""
    programs = getattr(study, "programs", None)
    return programs is not None and len(programs) > 0


def _words(outcome: str) -> tuple[str, str, str]:
    label = outcome_label(outcome)
    if outcome_direction(outcome) == "lower":
        return label, f"lower {label}", f"higher {label}"
    return label, f"higher {label}", f"lower {label}"


def _practice_words(area: str, practice: str) -> str:
    if practice == "stsioa_total":
        return "the STSI-OA total"
    title = ORG_AREAS[area].title.lower() if area in ORG_AREAS else area
    return f"staff-rated {title} practice"


def _outcome_words(outcome: str) -> str:
    for st in IND_STATEMENTS.values():
        if outcome == st.practice_scale:
            return f"{st.title.lower()} score (Individual Guidance Inventory)"
    return outcome_label(outcome)


def _numbers(row, confidence: float, verdict, unit: str) -> str:
    text = format_interval(row["estimate"], row["ci_low"], row["ci_high"], decimals=2)
    est, rest = text.split(" (", 1)
    rest = rest.rstrip(")")
    pname = "adjusted p" if verdict.p_adjusted_used else "p (not adjusted)"
    ptext = format_p(verdict.p_used)
    ptext = ptext if ptext.startswith(("<", ">")) else f"= {ptext}"
    return f"{est} {unit} ({confidence * 100:g}% interval {rest}, {pname} {ptext})"


def _verdict(row, confidence: float, direction: str):
    return decide_verdict(
        row["estimate"],
        row["ci_low"],
        row["ci_high"],
        row.get("p_adjusted", np.nan),
        p_value=row.get("p_value", np.nan),
        direction=direction,
        confidence=confidence,
    )


def dose_sentence(row, *, confidence: float = 0.95) -> str:
    """One sentence for a ``dose_org`` / ``dose_org_corrected`` / ``dose_within`` row.

    The verdict (improved / worsened / unclear / not_estimable) picks the words; the
    sentence always says the row is an association, not an effect.
    """
    label, better, worse = _words(str(row["outcome"]))
    practice = _practice_words(str(row.get("area", "")), str(row.get("practice", "")))
    v = _verdict(row, confidence, outcome_direction(str(row["outcome"])))
    if v.verdict == "not_estimable":
        return (
            f"Practice change and {label}: could not be estimated ({row.get('note') or v.reason})."
        )
    words = _VERDICT_DOSE[v.verdict].format(better=better, worse=worse, label=label)
    num = _numbers(row, confidence, v, "points per scale point of practice")
    return (
        f"A larger rise in {practice} was {words}: {num}. This is an association between "
        "organizations, not an effect of practice."
    )


def mediation_sentences(med: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """Sentences for one area x outcome's ``med_indirect`` and ``med_direct`` rows.

    The assumption (sequential ignorability) is written beside the numbers, always.
    """
    rows = med.set_index("estimator")
    outcome = str(rows["outcome"].iloc[0])
    label = outcome_label(outcome)
    parts = []
    for name, what in [
        ("med_indirect", "carried by the practice change (indirect effect)"),
        ("med_direct", "not carried by it (direct effect)"),
    ]:
        row = rows.loc[name]
        v = _verdict(row, confidence, outcome_direction(outcome))
        if v.verdict == "not_estimable":
            parts.append(f"The part {what} could not be estimated ({row['note'] or v.reason}).")
            continue
        clear = {
            "improved": "clearly an improvement",
            "worsened": "clearly a change for the worse",
            "unclear": "not clearly different from zero",
        }[v.verdict]
        num = _numbers(row, confidence, v, "points")
        parts.append(f"The part of the intervention's change in {label} {what}: {num}, {clear}.")
    return " ".join(parts) + f" The split {dose.SEQUENTIAL_IGNORABILITY}."


def statement_sentence(row, *, confidence: float = 0.95) -> str:
    """One sentence for an ``ancova`` row of :func:`stseval.individual.evaluate_statement`."""
    outcome = str(row["outcome"])
    label = _outcome_words(outcome)
    v = _verdict(row, confidence, outcome_direction(outcome))
    if v.verdict == "not_estimable":
        return f"{label}: could not be estimated ({row.get('note') or v.reason})."
    head = {
        "improved": "participants clearly did better than non-participants",
        "worsened": "participants clearly did worse than non-participants",
        "unclear": "no clear difference between participants and non-participants",
    }[v.verdict]
    num = _numbers(row, confidence, v, "points")
    return (
        f"{label}: {head}: {num}. Participants were not randomized, so this is a comparison "
        "of groups, not proof that the program caused the difference."
    )


def holm_by_estimator(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with ``p_adjusted`` Holm-adjusted per ``estimator`` across its rows."""
    from .models import adjust_p

    out = table.copy()
    for _, idx in out.groupby("estimator", sort=False).groups.items():
        out.loc[idx, "p_adjusted"] = np.asarray(adjust_p(out.loc[idx, "p_value"], method="holm"))
    return out


def _areas(study, areas) -> list[str]:
    if areas is not None:
        return list(areas)
    return [a for a in AREA_KEYS if (study.interventions["area"] == a).any()]


def dose_section(
    study,
    *,
    areas=None,
    outcomes=None,
    covariates=(),
    confidence: float = 0.95,
    min_cell: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Section:
    """ "Does practice change carry the outcome change?": org slopes and mediation per area.

    Tables ``dose`` (the ``dose_org``, ``dose_org_corrected`` and ``dose_bin`` rows of
    :func:`stseval.dose.org_dose_response` for every area x outcome; ``p_adjusted``
    Holm-adjusted per estimator across the table) and ``mediation``
    (:func:`stseval.dose.mediation` for every area on the primary outcome, ``stss_total``
    when measured; Holm per estimator across areas). ``covariates``: measured
    confounders (e.g. ``caseload`` in responses.csv) adjusted for in both. The Markdown has
    one paragraph per area, the sentences chosen by the verdict rule, and :data:`DOSE_LIMITS`.
    """
    title = "Does practice change carry the outcome change?"
    if not has_dose_data(study):
        text = "This study cannot answer it: it needs two waves, organizations that changed "
        text += "practice as a whole (not some of their teams) and a staff-rated practice score "
        text += "(org_guidance or STSI-OA)."
        return Section(title, text, {})
    scored = study.scored().columns
    outcomes = [o for o in STAFF_OUTCOMES if o in scored] if outcomes is None else list(outcomes)
    primary = "stss_total" if "stss_total" in outcomes else outcomes[0]
    dose_rows, med_rows = [], []
    for area in _areas(study, areas):
        for outcome in outcomes:
            try:
                t = dose.org_dose_response(
                    study,
                    area,
                    outcome,
                    covariates=covariates,
                    confidence=confidence,
                    min_cell=min_cell,
                )
            except StsevalError as exc:
                t = dose._out(
                    [dict(estimator="dose_org", note=f"not estimated: {exc}")],
                    area=area,
                    outcome=outcome,
                )
            dose_rows.append(t)
        try:
            med_rows.append(
                dose.mediation(
                    study,
                    area,
                    primary,
                    covariates=covariates,
                    n_boot=n_boot,
                    seed=seed,
                    confidence=confidence,
                    min_cell=min_cell,
                )
            )
        except StsevalError:
            pass
    table = holm_by_estimator(pd.concat(dose_rows, ignore_index=True))
    med = holm_by_estimator(pd.concat(med_rows, ignore_index=True)) if med_rows else pd.DataFrame()
    return Section(
        title, _dose_text(table, med, confidence, primary), {"dose": table, "mediation": med}
    )


def _dose_text(table, med, confidence, primary) -> str:
    paras = []
    for area, sub in table.groupby("area", sort=False):
        title = ORG_AREAS[area].title if area in ORG_AREAS else area
        lines = [f"**{title}.**"]
        for _, row in sub[sub["estimator"] == "dose_org"].iterrows():
            lines.append("- " + dose_sentence(row, confidence=confidence))
        corr = sub[(sub["estimator"] == "dose_org_corrected") & (sub["outcome"] == primary)]
        org = sub[(sub["estimator"] == "dose_org") & (sub["outcome"] == primary)]
        if len(corr) and np.isfinite(corr["estimate"].iloc[0]):
            rel = org["reliability"].iloc[0]
            lines.append(
                f"- The practice change was measured with reliability {rel:.2f}; corrected "
                f"for that, the {outcome_label(primary)} slope is "
                f"{format_number(corr['estimate'].iloc[0], decimals=2)} points per scale point "
                "(the same association, with the same verdict)."
            )
        if len(med):
            m = med[med["area"] == area]
            if len(m):
                lines.append("- " + mediation_sentences(m, confidence=confidence))
        paras.append("\n".join(lines))
    return "\n\n".join(paras + [DOSE_LIMITS])


def individual_section(
    study,
    *,
    statements=None,
    confidence: float = 0.95,
    min_cell: int | None = None,
) -> Section:
    """ "Individual guidance": each programme statement, participants vs non-participants.

    Table ``statements``: the rows of :func:`stseval.individual.evaluate_statement` for
    every statement a program in ``programs.csv`` targets (all estimators). The Markdown
    has one paragraph per statement with a verdict-ruled sentence per ``ancova`` row.
    """
    from .individual import evaluate_statement

    title = "Individual guidance"
    if not has_programs(study):
        return Section(title, "This study records no individual programs (programs.csv).", {})
    chosen = (
        [s for s in IND_STATEMENTS if s in set(study.programs["statement"])]
        if statements is None
        else list(statements)
    )
    tables = [
        evaluate_statement(study, s, confidence=confidence, min_cell=min_cell) for s in chosen
    ]
    table = pd.concat(tables, ignore_index=True)
    paras = []
    for statement, sub in table.groupby("area", sort=False):
        lines = [f"**{IND_STATEMENTS[statement].title}.**"]
        for _, row in sub[sub["estimator"] == "ancova"].iterrows():
            lines.append("- " + statement_sentence(row, confidence=confidence))
        paras.append("\n".join(lines))
    paras.append(
        "Each program is compared with staff in no program, adjusting for their score at the "
        "first wave; staff chose or were chosen for a program, so a difference may reflect "
        "who took part. The statement scores come from the kit-authored Individual Guidance "
        "Inventory: check its reliability (psychometrics notebook) before relying on them."
    )
    return Section(title, "\n\n".join(paras), {"statements": table})
