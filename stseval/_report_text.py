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
from .areas import AREA_KEYS, STAFF_OUTCOMES, get_area, outcome_direction
from .formatting import format_interval, format_p
from .verdict import (
    VERDICTS,
    add_verdicts,
    count_sentence,
    decide_verdict,
    verdict_badge,
    verdict_phrase,
)

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
    """The estimates a report leads with: one per area and outcome (and wave, if given).

    When the table has a ``primary`` column (set by :func:`stseval.evaluate_area` from the
    study's design) its true rows are used; otherwise the rows chosen by
    :func:`primary_estimator`.
    """
    if "primary" in estimates.columns:
        flag = estimates["primary"]
        if flag.dtype == object:
            flag = flag.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
        return estimates[flag.fillna(False).astype(bool)].reset_index(drop=True)
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


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _verdict(row: dict, confidence: float):
    """The one decision rule (:func:`stseval.verdict.decide_verdict`) for a row."""
    direction = "higher" if row.get("estimator") == "rci" else outcome_direction(row["outcome"])
    return decide_verdict(
        _float(row.get("estimate")),
        _float(row.get("ci_low")),
        _float(row.get("ci_high")),
        _float(row.get("p_adjusted")),
        p_value=_float(row.get("p_value")),
        direction=direction,
        confidence=confidence,
    )


def _p_text(v) -> str:
    """``"adjusted p = 0.020"`` (or the unadjusted p, named as such) for a Verdict."""
    p = format_p(v.p_used)
    pname = "adjusted p" if v.p_adjusted_used else "p (not adjusted for multiple outcomes)"
    return f"{pname} {p if p.startswith(('<', '>')) else '= ' + p}"


def certainty(row, *, confidence: float = 0.95) -> str:
    """How sure we are, in words, from the verdict of :func:`stseval.verdict.decide_verdict`.

    The verdict reads the *adjusted* p-value and the interval at the same level: a
    real difference is called likely only for ``improved`` / ``worsened``; for
    ``unclear`` the words say which of the two conditions failed.
    """
    row = dict(row)
    v = _verdict(row, confidence)
    if v.verdict == "not_estimable":
        return f"no verdict: {v.reason}"
    ptext = _p_text(v)
    if v.verdict in ("improved", "worsened"):
        return f"{ptext} and the interval excludes zero, so a real difference is likely"
    lo, hi = _float(row.get("ci_low")), _float(row.get("ci_high"))
    if lo > 0 or hi < 0:
        return (
            f"the interval excludes zero, but {ptext} once we allow for the number of "
            "outcomes tested, so this is not a clear change"
        )
    if v.p_used < round(1 - confidence, 12):
        return f"{ptext}, but the interval includes zero, so this is not a clear change"
    return f"{ptext} and the interval includes zero: chance alone could explain it"


def describe_estimate(row, *, confidence: float = 0.95, short: bool = False) -> str:
    """One plain-language sentence (or two) for one row of the estimates table.

    The words come from the verdict of :func:`stseval.verdict.decide_verdict` on the
    *adjusted* p-value (the same rule as the ``verdict`` column): "clearly an
    improvement" only for ``improved``, "clearly a change for the worse" only for
    ``worsened``, "no clear change" otherwise (:func:`stseval.verdict.verdict_phrase`).
    ``short`` gives a compact form for a list under an area's heading:
    "**<outcome>**: 3.1 points lower than in comparison organizations (95% CI −5.0 to
    −1.2, adjusted p = 0.020): clearly an improvement." Rows that were not estimated
    say why.
    """
    row = dict(row)
    area, outcome, est = row["area"], row["outcome"], _float(row.get("estimate"))
    label = outcome_label(outcome)
    if not np.isfinite(est):
        note = str(row.get("note") or "").strip() or "not estimated"
        return f"{_cap(label)}: no estimate ({note.rstrip('.')})."
    mult, unit = _scale(outcome)
    digits = 2 if outcome in _RATES else 1
    e, lo, hi = est * mult, _float(row["ci_low"]) * mult, _float(row["ci_high"]) * mult
    word = "lower" if e < 0 else "higher"
    what = get_area(area).title.lower()
    v = _verdict(row, confidence)
    ci = f"{round(confidence * 100):g}% CI {_num(lo, digits)} to {_num(hi, digits)}"
    size = f"{_num(abs(e), digits)} {unit} {word}"
    est_name = row.get("estimator")
    if short:
        versus = _VERSUS.get(est_name, "than in comparison organizations")
        if est_name == "rci":
            size = f"{_num(abs(est) * 100, 0)} percentage points {word}"
        return (
            f"**{_cap(label)}**: {size} {versus} ({ci}, {_p_text(v)}): {verdict_phrase(v.verdict)}."
        )
    sure = certainty(row, confidence=confidence)
    if est_name == "rci":
        return _rci_sentence(row, e, what, label, word, sure, confidence, v.verdict)
    lead = _lead(est_name, what, label, size, e, digits, unit)
    better = "Lower" if outcome_direction(outcome) == "lower" else "Higher"
    return f"{lead} ({ci}). {better} is better; verdict: {verdict_phrase(v.verdict)}; {sure}."


#: What the short sentence compares with, by estimator (default: comparison organizations).
_VERSUS = {
    "org_practice": "than comparison organizations moved",
    "its": "than the comparison trend after the start",
    "paired_change": "at the second survey (no comparison group)",
    "rci": "with a reliable improvement than in comparison organizations (share of staff)",
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


def _rci_sentence(row, e, what, label, word, sure, confidence, verdict) -> str:
    """The sentence for a reliable-change-index row (a difference in shares, in points)."""
    lead = (
        f"The share of staff with a reliable improvement in {label} was "
        f"{_num(abs(e) * 100, 0)} percentage points {word} in organizations that changed "
        f"{what}"
    )
    ci = (
        f"{round(confidence * 100):g}% CI {_num(_float(row['ci_low']) * 100, 0)} to "
        f"{_num(_float(row['ci_high']) * 100, 0)}"
    )
    return f"{lead} ({ci}); verdict: {verdict_phrase(verdict)}; {sure}."


def executive_summary(estimates: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """One line per area: the primary staff outcome and the practice change, in words.

    Returns
    -------
    DataFrame
        ``area, title, practice, staff`` (sentences from :func:`describe_estimate`
        for the practice score and for the first staff outcome), ``improved``,
        ``worsened``, ``unclear``, ``not_estimable`` (staff outcomes with each verdict of
        :func:`stseval.verdict.add_verdicts`, adjusted p-values) and ``outcomes``
        (staff outcomes in the table) and ``counts`` (the
        :func:`stseval.verdict.count_sentence` for the area's staff outcomes).
    """
    prim = primary_estimates(estimates)
    cols = ["area", "title", "practice", "staff", *VERDICTS, "outcomes", "counts"]
    rows = []
    for area in [a for a in AREA_KEYS if a in set(prim["area"])]:
        sub = prim[prim["area"] == area]
        practice = sub[sub["outcome"].str.startswith("org_guidance_")]
        staff = sub[sub["outcome"].isin(STAFF_OUTCOMES)]
        verdicts = add_verdicts(staff, confidence=confidence)["verdict"].value_counts()
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
                **{v: int(verdicts.get(v, 0)) for v in VERDICTS},
                "outcomes": len(staff),
                "counts": count_sentence(staff, confidence=confidence)
                if len(staff)
                else "No staff outcome was estimated.",
            }
        )
    return pd.DataFrame(rows, columns=cols)


def estimates_table(estimates: pd.DataFrame, *, primary_only: bool = False) -> pd.DataFrame:
    """A reader's version of an estimates table: labels, rounded interval text, notes.

    Returns ``area, outcome, measure, estimator, verdict, estimate, interval, p_adjusted,
    effect_size, workers, orgs, note`` (numbers left numeric for :func:`html_table`);
    ``verdict`` is :func:`stseval.verdict.verdict_badge` of the one rule (adjusted p).
    Turnover and absence rates are shown in percentage points.
    """
    est = primary_estimates(estimates) if primary_only else estimates
    badges = [verdict_badge(v) for v in add_verdicts(est)["verdict"]] if len(est) else []
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
            "verdict": badges,
            "estimate": est["estimate"].astype(float) * mult,
            "interval": [
                format_interval(0.0, lo, hi, decimals=2, missing="").split(" (", 1)[-1][:-1]
                if np.isfinite(lo) and np.isfinite(hi)
                else ""
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
    counts = (
        count_sentence(staff, confidence=confidence)
        if len(staff)
        else "No staff outcome was estimated."
    )
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
    lines += [(f"**How sure we are.** {counts}{few} See the design's limits on the first page.")]
    return "\n".join(lines)


def summary_bullets(estimates: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """Markdown for the executive summary: one bullet per area, verdict counts and STS result.

    Counts are :func:`stseval.verdict.count_sentence` of the area's primary staff
    outcomes (adjusted p-values), the sentence :func:`describe_estimate` of its first.
    """
    summ = executive_summary(estimates, confidence=confidence)
    return "\n".join(
        f"- **{r['title']}**: {r['counts']} {r['staff']}" for r in summ.to_dict("records")
    )


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
