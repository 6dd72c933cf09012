"""Page 1 of the funder report: the design's limits, the results at a glance, the checks.

Part of :mod:`stseval.report` (use it through that module). The order on the page is
fixed by the funder notebook: :func:`design_limits` (what the design cannot tell, before
any verdict), :func:`comparison_check_text` (only when the shared comparison group moved
on its own), :func:`at_a_glance` (area x outcome: verdict symbol, estimate with interval),
:func:`overall_count` (how many estimates improved, from :func:`stseval.verdict.count_sentence`)
and, on synthetic data, :func:`report_check` (how many intervals covered the truth).

Every verdict word comes from :mod:`stseval.verdict` on the *adjusted* p-value.

The comparison-group check (:func:`comparison_check`)
------------------------------------------------------
Every area is compared with the same comparison organizations, so if that one group moves
for reasons of its own, every area's estimate moves with it. For each staff outcome the
check estimates, between the first two waves, the comparison organizations' own change
and the pooled change of every organization that changed practice (any area), each with a
cluster-robust interval (:func:`stseval.no_comparison.within_change`: paired changes when
waves are linked, the difference of wave means when they are anonymous; CR3, t on G-1 df).

Rule: the check **signals** on an outcome when

1. the comparison organizations' change has an interval (at ``confidence``) that excludes
   zero (they moved, beyond chance), and
2. the organizations that changed practice did *not* move clearly the same way (their
   pooled interval does not lie entirely on the same side of zero).

A movement shared by both (a trend over the whole field) is what a comparison group is for
and does not signal. When the comparison group got worse (for the outcome's direction),
every estimate leans toward improvement; when it got better, toward a change for the worse.
With two waves the kit cannot tell the comparison group's own movement from a trend that
the program offset, so the sentence says what would follow *if* it was its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._report_text import primary_estimates
from .areas import STAFF_OUTCOMES, get_area, outcome_direction, outcome_label
from .errors import UsageError
from .formatting import format_interval, format_number
from .verdict import add_verdicts, count_sentence, verdict_badge, verdict_symbol

__all__ = [
    "CHECK_COLUMNS",
    "GLANCE_COLUMNS",
    "at_a_glance",
    "at_a_glance_wide",
    "comparison_check",
    "comparison_check_text",
    "design_limits",
    "glance_key",
    "overall_count",
    "report_check",
    "with_verdicts",
]

#: Columns of :func:`at_a_glance`.
GLANCE_COLUMNS = ["area", "title", "outcome", "measure", "estimator", "verdict", "text"]

#: Columns of :func:`comparison_check`.
CHECK_COLUMNS = [
    "outcome",
    "comparison_change",
    "comparison_ci_low",
    "comparison_ci_high",
    "comparison_orgs",
    "changed_change",
    "changed_ci_low",
    "changed_ci_high",
    "changed_orgs",
    "signals",
    "lean",
    "sentence",
]


def with_verdicts(estimates: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """The estimates with a ``verdict`` column from the one rule (:mod:`stseval.verdict`).

    A copy; an existing ``verdict`` column is recomputed, so it always agrees with the
    numbers beside it (adjusted p-value and interval at ``confidence``). ``rci`` rows
    (shares of staff improving) count higher as better.
    """
    return add_verdicts(estimates, confidence=confidence)


def _areas_sharing(study) -> list[str]:
    return sorted(set(study.interventions["area"])) if len(study.interventions) else []


def design_limits(study) -> str:
    """Markdown: the design's limits in one short paragraph, for page 1 before any verdict.

    Built from ``study.design`` (:class:`stseval.design.Design`): the design in one
    phrase (:meth:`~stseval.design.Design.describe`), then whichever applies: no
    comparison group; self-selection and regression to the mean (comparison ``chosen``);
    one comparison group shared by every area; anonymous or code-linked waves; team
    assignment; few organizations.
    """
    d = study.design
    parts = [f"**What this design can and cannot tell.** The study has {d.describe()}."]
    if d.comparison == "none":
        parts.append(
            "There is no comparison group: any change may come from everything else that "
            "changed over the same months, so no estimate here is the effect of the program."
        )
    elif d.comparison == "chosen":
        parts.append(
            "Organizations chose to change, so they may differ from the comparison "
            "organizations in ways the analysis cannot see; organizations that start with "
            "worse scores tend to improve anyway (regression to the mean)."
        )
    else:
        parts.append("Organizations were randomized, which protects against self-selection.")
    areas = _areas_sharing(study)
    if d.comparison != "none" and len(areas) > 1:
        parts.append(
            f"All {len(areas)} areas are compared with the same {d.n_comparison_orgs} "
            "comparison organizations, so a chance movement in that one group moves every "
            "area's estimate the same way: results that agree across areas are less "
            "independent than they look."
        )
    if d.linkage == "anonymous":
        parts.append(
            "Survey waves are anonymous: the same staff cannot be followed, so estimates "
            "compare all responses of each wave and are less precise."
        )
    elif d.linkage == "code":
        parts.append(
            "Waves are linked by self-generated codes, which match imperfectly; unmatched "
            "staff are left out of the linked estimates."
        )
    if d.assignment == "team":
        parts.append(
            "Teams, not organizations, changed practice; teams of one organization "
            "may influence each other."
        )
    parts.append(_size_sentence(study))
    return " ".join(p for p in parts if p)


def _size_sentence(study) -> str:
    d = study.design
    if d.n_orgs == 1:
        return (
            "There is one organization: its own ups and downs cannot be told apart from the effect."
        )
    changed = (
        study.interventions.groupby("area")["org_id"].nunique()
        if len(study.interventions)
        else pd.Series(dtype=int)
    )
    smallest = int(changed.min()) if len(changed) else 0
    if d.n_comparison_orgs < 10 or (len(changed) and smallest < 10):
        comp = f"{d.n_comparison_orgs} comparison" if d.comparison != "none" else "no comparison"
        per = (
            f"{smallest} to {int(changed.max())}"
            if len(changed) and smallest != changed.max()
            else f"{smallest}"
        )
        return (
            f"With few organizations ({per} per area that changed, {comp}) intervals are wide "
            "and one unusual organization can move an estimate."
        )
    return ""


def at_a_glance(estimates: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """The primary estimates with their verdicts: one row per area and outcome.

    Returns
    -------
    DataFrame
        :data:`GLANCE_COLUMNS`: ``title`` (the area's title), ``measure`` (outcome label;
        with the wave when the estimates hold effects at several later waves),
        ``verdict`` (:data:`stseval.verdict.VERDICTS`, adjusted p-value) and ``text``:
        the verdict symbol, then the estimate with its interval
        (:func:`stseval.formatting.format_interval`; rates in percentage points),
        e.g. ``"✓ −2.1 (−3.4 to −0.8)"``.
    """
    prim = with_verdicts(primary_estimates(estimates), confidence=confidence)
    waves = prim["wave"].dropna().astype(str) if "wave" in prim.columns else pd.Series([])
    several = waves[waves != ""].nunique() > 1  # effect at every later wave: name it
    rows = []
    for r in prim.to_dict("records"):
        rate = r["outcome"] in ("separation_rate", "absence_rate") and r["estimator"] != "rci"
        mult, dec = (100.0, 2) if rate else (1.0, 1)
        est = format_interval(
            _f(r["estimate"]) * mult,
            _f(r["ci_low"]) * mult,
            _f(r["ci_high"]) * mult,
            decimals=dec,
            missing="not estimated",
        )
        rows.append(
            {
                "area": r["area"],
                "title": get_area(r["area"]).title,
                "outcome": r["outcome"],
                "measure": (
                    "staff-rated practice of the area"
                    if str(r["outcome"]).startswith("org_guidance_")
                    else outcome_label(r["outcome"]) + (" (pp)" if rate else "")
                )
                + (f", {r['wave']}" if several and isinstance(r.get("wave"), str) else ""),
                "estimator": r["estimator"],
                "verdict": r["verdict"],
                "text": f"{verdict_symbol(r['verdict'])} {est}",
            }
        )
    return pd.DataFrame(rows, columns=GLANCE_COLUMNS)


def at_a_glance_wide(glance: pd.DataFrame) -> pd.DataFrame:
    """:func:`at_a_glance` as a grid for print: one row per area, one column per measure."""
    if glance.empty:
        return pd.DataFrame(columns=["area"])
    order = list(dict.fromkeys(glance["measure"]))
    grid = glance.pivot_table(
        index="title", columns="measure", values="text", aggfunc="first", sort=False
    )
    grid = grid.reindex(columns=order).fillna("")
    grid = grid.reindex(list(dict.fromkeys(glance["title"])))
    return grid.rename_axis(None, axis=1).reset_index().rename(columns={"title": "area"})


def glance_key() -> str:
    """The legend under the at-a-glance table (symbols and words from the verdict rule)."""
    return "; ".join(verdict_badge(v) for v in ("improved", "worsened", "unclear", "not_estimable"))


def overall_count(estimates: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """The count sentence for every area's primary staff-outcome estimates (adjusted p)."""
    prim = primary_estimates(estimates)
    staff = prim[prim["outcome"].isin(STAFF_OUTCOMES)]
    if staff.empty:
        return "No staff outcome was estimated."
    n_areas = staff["area"].nunique()
    what = f"staff-outcome estimates ({n_areas} area{'s' if n_areas != 1 else ''})"
    return count_sentence(staff, what=what, confidence=confidence)


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _change(study, orgs, outcome, confidence) -> dict:
    """Change between the first two waves of ``orgs`` on ``outcome`` (within_change)."""
    from .no_comparison import within_change

    scored = study.scored()
    rows = scored[scored["org_id"].isin(orgs) & scored["wave"].isin(study.waves[:2])]
    rows = rows[["worker_id", "org_id", "wave", outcome]].dropna(subset=[outcome])
    if rows["org_id"].nunique() < 2 or rows["wave"].nunique() < 2:
        return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_orgs": 0}
    est = within_change(
        rows.rename(columns={outcome: "score"}),
        linked=study.design.linked,
        waves=list(study.waves[:2]),
        confidence=confidence,
    ).iloc[0]
    return {k: _f(est[k]) for k in ("estimate", "ci_low", "ci_high")} | {
        "n_orgs": int(_f(est["n_orgs"])) if np.isfinite(_f(est["n_orgs"])) else 0
    }


def comparison_check(study, *, confidence: float = 0.95, outcomes=None) -> pd.DataFrame:
    """Did the shared comparison group move on its own? One row per staff outcome.

    See the module docstring for the rule. Parameters: ``outcomes`` (default every staff
    outcome the study measures), ``confidence`` (level of every interval).

    Returns
    -------
    DataFrame
        :data:`CHECK_COLUMNS`: the comparison organizations' change (later minus first
        wave, outcome units) with its interval and organizations, the same for every
        organization that changed practice (pooled over areas), ``signals`` (bool, the
        rule), ``lean`` (``"improvement"``, ``"worse"`` or ``""``: which way every area's
        estimate leans) and ``sentence`` (printed on page 1 when ``signals``).
        Empty when the study has no comparison group or fewer than two waves.
    """
    if not 0 < float(confidence) < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence!r}")
    d = study.design
    if d.comparison == "none" or d.n_waves < 2 or not len(study.interventions):
        return pd.DataFrame(columns=CHECK_COLUMNS)
    changed = set(study.interventions["org_id"])
    comp = [o for o in study.orgs["org_id"] if o not in changed]
    scores = set(study.score_columns())
    outcomes = outcomes or [o for o in STAFF_OUTCOMES if o in scores]
    rows = []
    for out in outcomes:
        c = _change(study, comp, out, confidence)
        t = _change(study, sorted(changed), out, confidence)
        rows.append(_check_row(out, c, t, confidence, study.waves[:2]))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _check_row(outcome, c, t, confidence, waves) -> dict:
    rose = c["ci_low"] > 0
    fell = c["ci_high"] < 0
    same_way = (t["ci_low"] > 0) if rose else (t["ci_high"] < 0) if fell else False
    signals = bool((rose or fell) and not same_way)
    worse = rose if outcome_direction(outcome) == "lower" else fell
    lean = ("improvement" if worse else "worse") if signals else ""
    level = f"{confidence * 100:g}%"
    sentence = ""
    if signals:
        label = outcome_label(outcome)
        size = format_number(abs(c["estimate"]))
        lo, hi = sorted((abs(c["ci_low"]), abs(c["ci_high"])))
        them = format_interval(t["estimate"], t["ci_low"], t["ci_high"])
        sentence = (
            f"The comparison organizations' {label} {'rose' if rose else 'fell'} by {size} "
            f"points ({level} CI {format_number(lo)} to {format_number(hi)}) from {waves[0]} "
            f"to {waves[1]}, while the organizations that changed practice moved by {them} "
            f"points. Every area is measured against this one group, so if this "
            f"{'rise' if rose else 'fall'} was its own, every area's estimate of {label} "
            f"leans toward {'improvement' if worse else 'a change for the worse'} because of it."
        )
    return {
        "outcome": outcome,
        "comparison_change": c["estimate"],
        "comparison_ci_low": c["ci_low"],
        "comparison_ci_high": c["ci_high"],
        "comparison_orgs": c["n_orgs"],
        "changed_change": t["estimate"],
        "changed_ci_low": t["ci_low"],
        "changed_ci_high": t["ci_high"],
        "changed_orgs": t["n_orgs"],
        "signals": signals,
        "lean": lean,
        "sentence": sentence,
    }


def comparison_check_text(check: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """Markdown for page 1: the outcomes where the check signals, in one paragraph; "" if none.

    One clause per signalling outcome (the comparison organizations' change with its
    interval, beside the pooled change of the organizations that changed practice), then
    one closing sentence per direction in which the estimates lean.
    """
    hits = check[check["signals"].astype(bool)] if len(check) else check
    if hits.empty:
        return ""
    level = f"{confidence * 100:g}%"
    clauses = []
    for r in hits.to_dict("records"):
        moved = "rose" if r["comparison_change"] > 0 else "fell"
        lo, hi = sorted((abs(r["comparison_ci_low"]), abs(r["comparison_ci_high"])))
        clauses.append(
            f"{outcome_label(r['outcome'])} {moved} by {format_number(abs(r['comparison_change']))}"
            f" points ({level} CI {format_number(lo)} to {format_number(hi)}; organizations "
            "that changed practice: "
            f"{format_interval(r['changed_change'], r['changed_ci_low'], r['changed_ci_high'])})"
        )
    text = (
        "**Check on the shared comparison group: it moved on its own.** Between the first "
        "two surveys, in the comparison organizations " + "; ".join(clauses) + "."
    )
    for lean, words in (("improvement", "improvement"), ("worse", "a change for the worse")):
        names = [outcome_label(o) for o in hits.loc[hits["lean"] == lean, "outcome"]]
        if names:
            text += (
                f" Every area is measured against this one group, so every area's estimate "
                f"of {_and(names)} leans toward {words} because of it (if the change was the "
                "comparison group's own and not shared by the field); read those verdicts "
                "with care."
            )
    return text


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def report_check(estimates: pd.DataFrame, study, *, confidence: float = 0.95) -> str:
    """Synthetic data only: "how well did this report do" (k of n intervals cover the truth).

    Uses :func:`stseval.report.truth_check` on the primary estimates; returns "" for a
    study without a truth (real data).
    """
    from ._report_text import truth_check

    check = truth_check(estimates, study)
    if check.empty:
        return ""
    k, n = int((check["covered"] == "yes").sum()), len(check)
    missed = check[check["covered"] != "yes"]
    below = int((missed["ci_high"] < missed["truth"]).sum())
    above = len(missed) - below
    text = (
        f"> **How well did this report do?** The data are simulated, so the true effects "
        f"are known: **{k} of {n}** primary estimates have a {confidence:.0%} interval that "
        f"contains the truth (about {confidence:.0%} should)."
    )
    if len(missed):
        text += (
            f" Of the {len(missed)} that missed, {below} lay below the truth and {above} "
            "above it"
            + (
                ": misses in one direction are what a shared comparison group that moved "
                "on its own produces."
                if len(missed) > 1 and min(below, above) == 0
                else "."
            )
        )
    return text + " The full table is in the appendix."
