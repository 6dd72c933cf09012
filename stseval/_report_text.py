"""Words about estimates: which estimate leads, plain-language sentences, summaries.

Part of :mod:`stseval.report` (use it through that module); the markdown and
HTML pieces about a study (title pages, overview, attrition, HTML tables) are in
``_report_sections``. Sentences name the
arm, the outcome, the size and direction in the outcome's units, whether that
direction is an improvement, the interval and how sure we are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import reshape
from ._report_tables import _RATES, outcome_label
from .areas import AREA_KEYS, LOWER_IS_BETTER, STAFF_OUTCOMES, get_area, outcome_direction

__all__ = [
    "area_section",
    "areas_in",
    "certainty",
    "describe_estimate",
    "estimates_table",
    "executive_summary",
    "its_table",
    "plain_language",
    "primary_estimates",
    "primary_estimator",
    "summary_bullets",
    "truth_check",
]


def primary_estimator(outcome: str, area: str | None = None) -> str:
    """The estimator a report leads with: ITS for indicators, org_practice for the area's
    practice score, ANCOVA (post adjusted for pre, cluster-robust) for staff outcomes."""
    if outcome in _RATES:
        return "its"
    if outcome.startswith("org_guidance_"):
        return "org_practice"
    return "ancova"


def primary_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """The rows chosen by :func:`primary_estimator`: one per area and outcome."""
    keep = [
        primary_estimator(o, a) == e
        for o, a, e in zip(
            estimates["outcome"], estimates["area"], estimates["estimator"], strict=True
        )
    ]
    return estimates[keep].reset_index(drop=True)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(x, digits=1) -> str:
    """Round for a sentence; a non-zero value that would print as 0 gets more digits."""
    while x != 0 and round(abs(x), digits) == 0 and digits < 4:
        digits += 1
    s = f"{abs(x):.{digits}f}"
    return ("−" + s) if x < 0 and float(s) != 0 else s


def _scale(outcome):
    """(multiplier, unit) used to put an estimate in words."""
    if outcome in _RATES:
        return 100.0, "percentage points"
    return 1.0, "points"


def certainty(row, *, confidence: float = 0.95) -> str:
    """How sure we are, in words, from the interval and the Holm-adjusted p-value."""
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return "no interval could be computed"
    if lo > 0 or hi < 0:
        p_adj = row.get("p_adjusted")
        if p_adj is not None and np.isfinite(p_adj) and p_adj >= 1 - confidence:
            return (
                "the interval excludes zero, but not once we allow for the number of "
                "outcomes tested, so treat it as suggestive"
            )
        return "the interval excludes zero, so a real difference is likely"
    return "the interval includes zero, so we cannot tell it apart from no difference"


def describe_estimate(row, *, confidence: float = 0.95, short: bool = False) -> str:
    """One plain-language sentence (or two) for one row of the estimates table.

    The sentence names the arm ("organizations that changed <area>"), the
    outcome, the size and direction in the outcome's units, whether that
    direction is an improvement, the confidence interval and how sure we are
    (:func:`certainty`). Rows that were not estimated say why. ``short`` gives
    a compact form for a list under an area's heading: "<outcome>: 2.9 points
    lower than in comparison organizations (95% CI ...): an improvement, but
    the interval includes zero."
    """
    row = dict(row)
    area, outcome, est = row["area"], row["outcome"], row.get("estimate")
    label = outcome_label(outcome)
    if est is None or est is pd.NA or not np.isfinite(est):
        note = str(row.get("note") or "").strip() or "not estimated"
        return f"{_cap(label)}: no estimate ({note.rstrip('.')})."
    mult, unit = _scale(outcome)
    e, lo, hi = est * mult, row["ci_low"] * mult, row["ci_high"] * mult
    digits = 2 if outcome in _RATES else 1
    word = "lower" if e < 0 else "higher"
    better = (e < 0) == (outcome_direction(outcome) == "lower")
    verdict = "an improvement" if better else "a change for the worse"
    ci = f"{round(confidence * 100):g}% CI {_num(lo, digits)} to {_num(hi, digits)}"
    est_name = row.get("estimator")
    size = f"{_num(abs(e), digits)} {unit} {word}"
    clear = lo > 0 or hi < 0
    if short:
        tail = f"clearly {verdict}" if clear else f"{verdict}, but the interval includes zero"
        versus = _VERSUS.get(est_name, "than in comparison organizations")
        return f"**{_cap(label)}**: {size} {versus} ({ci}): {tail}."
    what = get_area(area).title.lower()
    sure = certainty(row, confidence=confidence)
    if est_name == "rci":
        return _rci_sentence(row, e, what, label, word, sure, confidence)
    lead = _lead(est_name, what, label, size, e, digits, unit)
    direction = "lower" if outcome_direction(outcome) == "lower" else "higher"
    # Only an interval that excludes zero is called an improvement; otherwise it is a direction.
    reading = f"this is {verdict}" if clear else f"the estimate points to {verdict}"
    return f"{lead} ({ci}). {direction.capitalize()} is better, so {reading}; {sure}."


#: What the short sentence compares with, by estimator (default: comparison organizations).
_VERSUS = {
    "org_practice": "than comparison organizations moved",
    "its": "than the comparison trend after the start",
    "paired_change": "at the second survey (no comparison group)",
}


def _lead(est_name, what, label, size, e, digits, unit) -> str:
    """The first clause of a long sentence: who changed and what moved, by estimator."""
    if est_name == "org_practice":
        return (
            f"Organizations that changed {what} moved their staff-rated practice score "
            f"{_num(abs(e), digits)} {unit} {'higher' if e > 0 else 'lower'} than comparison "
            f"organizations did"
        )
    if est_name == "its":
        return (
            f"After the change, {label} in organizations that changed {what} shifted "
            f"{size} than the comparison organizations' trend predicted"
        )
    if est_name == "paired_change":
        return (
            f"Within organizations that changed {what}, {label} was {size} at the second "
            "survey than at the first (no comparison group)"
        )
    return (
        f"Staff in organizations that changed {what} reported {label} {size} than "
        "expected from comparison organizations"
    )


def _rci_sentence(row, e, what, label, word, sure, confidence) -> str:
    """The sentence for a reliable-change-index row (a difference in shares, in points)."""
    lead = (
        f"The share of staff with a reliable improvement in {label} was "
        f"{_num(abs(e) * 100, 0)} percentage points {word} in organizations that changed "
        f"{what}"
    )
    ci = (
        f"{round(confidence * 100):g}% CI {_num(row['ci_low'] * 100, 0)} to "
        f"{_num(row['ci_high'] * 100, 0)}"
    )
    verdict = "in favour of the change" if e > 0 else "against the change"
    return f"{lead} ({ci}), {verdict}; {sure}."


def executive_summary(estimates: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """One line per area: the primary staff outcome and the practice change, in words.

    Returns
    -------
    DataFrame
        ``area, title, practice, staff`` (sentences from :func:`describe_estimate`
        for the practice score and for the first staff outcome estimated), and
        ``improved`` (number of staff outcomes whose interval excludes zero in
        the improving direction) and ``outcomes`` (number estimated).
    """
    prim = primary_estimates(estimates)
    rows = []
    for area in [a for a in AREA_KEYS if a in set(prim["area"])]:
        sub = prim[prim["area"] == area]
        practice = sub[sub["outcome"].str.startswith("org_guidance_")]
        staff = sub[sub["outcome"].isin(STAFF_OUTCOMES)]
        est = staff.dropna(subset=["estimate"])
        good = ((est["ci_high"] < 0) & est["outcome"].isin(LOWER_IS_BETTER)) | (
            (est["ci_low"] > 0) & ~est["outcome"].isin(LOWER_IS_BETTER)
        )
        rows.append(
            {
                "area": area,
                "title": get_area(area).title,
                "practice": describe_estimate(practice.iloc[0], confidence=confidence)
                if len(practice)
                else "Practice in this area was not measured.",
                "staff": describe_estimate(staff.iloc[0], confidence=confidence)
                if len(staff)
                else "No staff outcome was measured.",
                "improved": int(good.sum()),
                "outcomes": len(est),
            }
        )
    return pd.DataFrame(
        rows, columns=["area", "title", "practice", "staff", "improved", "outcomes"]
    )


def estimates_table(estimates: pd.DataFrame, *, primary_only: bool = False) -> pd.DataFrame:
    """A reader's version of an estimates table: labels, rounded interval text, notes.

    Returns ``area, outcome, measure, estimator, estimate, interval, p_adjusted,
    effect_size, workers, orgs, note`` (numbers left numeric for :func:`html_table`).
    Turnover and absence rates are shown in percentage points.
    """
    est = primary_estimates(estimates) if primary_only else estimates
    mult = np.where(est["outcome"].isin(_RATES) & (est["estimator"] != "rci"), 100.0, 1.0)
    lows, highs = est["ci_low"].astype(float) * mult, est["ci_high"].astype(float) * mult
    out = pd.DataFrame(
        {
            "area": est["area"].map(lambda a: get_area(a).title),
            "outcome": est["outcome"],
            "measure": [
                outcome_label(o) + (" (percentage points)" if m == 100 else "")
                for o, m in zip(est["outcome"], mult, strict=True)
            ],
            "estimator": est["estimator"],
            "estimate": est["estimate"].astype(float) * mult,
            "interval": [
                f"{lo:.2f} to {hi:.2f}" if np.isfinite(lo) and np.isfinite(hi) else ""
                for lo, hi in zip(lows, highs, strict=True)
            ],
            "p_adjusted": est["p_adjusted"],
            "effect_size": est["effect_size"],
            "workers": est["n_workers"],
            "orgs": est["n_orgs"],
            "note": est["note"].fillna("").astype(str).str.slice(0, 90),
        }
    )
    return out.reset_index(drop=True)


def plain_language(
    estimates: pd.DataFrame, *, confidence: float = 0.95, short: bool = False
) -> str:
    """Markdown bullet list: :func:`describe_estimate` for each primary estimate."""
    prim = primary_estimates(estimates)
    return "\n".join(
        f"- {describe_estimate(r, confidence=confidence, short=short)}"
        for r in prim.to_dict("records")
    )


def area_section(
    estimates: pd.DataFrame,
    area: str,
    study=None,
    *,
    confidence: float = 0.95,
    min_cell: int | None = None,
) -> str:
    """Markdown section of the funder report for one area.

    What the guidance asks, who changed, what changed (:func:`describe_estimate`,
    short form) and how sure we are.
    """
    spec = get_area(area)
    est = estimates[estimates["area"] == area]
    prim = primary_estimates(est)
    staff = prim[prim["outcome"].isin(STAFF_OUTCOMES)]
    summary = executive_summary(est, confidence=confidence)
    improved = int(summary["improved"].sum()) if len(summary) else 0
    n_staff = int(summary["outcomes"].sum()) if len(summary) else 0
    lines = [f"## {spec.title}", "", f"**What the guidance asks.** {spec.target}", ""]
    if study is not None:
        arms = reshape.arms(study, area)["arm"].value_counts()
        lines += [
            (
                f"**Who changed.** {int(arms.get('intervention', 0))} organizations changed "
                f"practice in this area; {int(arms.get('comparison', 0))} organizations that "
                "changed nothing are the comparison."
            ),
            "",
        ]
    lines += ["**What changed.**", "", plain_language(est, confidence=confidence, short=True), ""]
    orgs = staff["n_orgs"].dropna()
    few = (
        f" The comparison rests on {int(orgs.max())} organizations, so intervals are wide."
        if len(orgs) and int(orgs.max()) < 20
        else ""
    )
    lines += [
        (
            f"**How sure we are.** {improved} of {n_staff} staff outcomes improved with an "
            f"interval that excludes zero.{few} These organizations chose to change, so "
            "other differences between them and the comparison organizations may explain "
            "part of any difference (see Methods and limitations)."
        )
    ]
    return "\n".join(lines)


def summary_bullets(estimates: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """Markdown for the executive summary: one bullet per area with its headline results."""
    summ = executive_summary(estimates, confidence=confidence)
    lines = []
    for r in summ.to_dict("records"):
        lines.append(
            f"- **{r['title']}**: {r['improved']} of {r['outcomes']} staff outcomes "
            f"improved clearly. {r['staff']}"
        )
    return "\n".join(lines)


def its_table(estimates: pd.DataFrame) -> pd.DataFrame:
    """The interrupted-time-series rows (turnover, absence) in percentage points per month."""
    its = estimates[estimates["estimator"] == "its"]
    return pd.DataFrame(
        {
            "area": its["area"].map(lambda a: get_area(a).title),
            "indicator": its["outcome"].map(outcome_label),
            "level change (pp)": its["estimate"] * 100,
            "interval (pp)": [
                f"{lo * 100:.2f} to {hi * 100:.2f}" if np.isfinite(lo) else ""
                for lo, hi in zip(
                    its["ci_low"].astype(float), its["ci_high"].astype(float), strict=True
                )
            ],
            "p_adjusted": its["p_adjusted"],
            "orgs": its["n_orgs"],
        }
    ).reset_index(drop=True)


def areas_in(estimates: pd.DataFrame) -> list[str]:
    """The areas of an estimates table in the guidance's order."""
    present = set(estimates["area"])
    return [a for a in AREA_KEYS if a in present]


def truth_check(estimates: pd.DataFrame, study) -> pd.DataFrame:
    """Synthetic studies only: each main estimate beside the simulator's known truth.

    One row per area and outcome (the :func:`primary_estimates`), with columns
    ``area, outcome, estimator, estimate, ci_low, ci_high, truth, covered``;
    ``truth`` is the ATT on the observed score scale from ``truth.csv``; ``covered`` is
    "yes" when the interval contains it.
    An empty table for a study without a truth (real data).
    """
    columns = ["area", "outcome", "estimator", "estimate", "ci_low", "ci_high", "truth", "covered"]
    truth = getattr(study, "truth", None)
    if truth is None or not len(truth) or not len(estimates):
        return pd.DataFrame(columns=columns)
    att = truth[truth["estimand"] == "att"][["area", "outcome", "value"]]
    main = primary_estimates(estimates).merge(att, on=["area", "outcome"], how="inner")
    main = main.rename(columns={"value": "truth"})
    inside = (main["ci_low"] <= main["truth"]) & (main["truth"] <= main["ci_high"])
    main["covered"] = np.where(inside, "yes", "no")
    return main[columns].reset_index(drop=True)
