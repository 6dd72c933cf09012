"""Markdown and HTML pieces of the reports about a study: titles, overview, attrition, tables.

Part of :mod:`stseval.report` (use it through that module). :func:`html_table`
renders any report table with suppressed cells marked; the other functions
return markdown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import reshape
from ._report_disclosure import _min_cell
from ._report_tables import missing_item_rules, outcome_label
from ._report_text import areas_in
from .areas import get_area
from .areas import primary_outcome as _primary_outcome
from .errors import UsageError

__all__ = [
    "HEADERS",
    "attrition_summary",
    "funder_title",
    "html_table",
    "instrument_heading",
    "methods_facts",
    "org_title",
    "profile_reading",
    "study_overview",
]

#: Column headers shown in report tables (other columns keep their names).
HEADERS = {
    "pct_of_invited": "% of invited",
    "p_adjusted": "p (adjusted)",
    "p_value": "p",
    "effect_size": "effect size",
    "orgs": "organizations",
    "n_orgs": "organizations",
    "n_workers": "workers",
    "ci_low": "CI low",
    "ci_high": "CI high",
    "workers_baseline": "workers at baseline",
    "workers_followed": "workers followed up",
    "workers_left": "workers who left",
    "attrition_pct": "attrition %",
    "pre_mean_completers": "baseline mean: stayed",
    "pre_mean_dropouts": "baseline mean: left",
    "alpha_ci_low": "alpha CI low",
    "alpha_ci_high": "alpha CI high",
    "omega_ci_low": "omega CI low",
    "omega_ci_high": "omega CI high",
    "alpha_published": "published alpha",
    "kit_authored": "kit-authored",
    "item_total_r": "item-total r",
    "alpha_if_deleted": "alpha if deleted",
    "floor_share": "floor share",
    "ceiling_share": "ceiling share",
    "org_mean": "your mean",
    "others_orgs": "other orgs",
    "others_p25": "others: 25th pct",
    "others_median": "others: median",
    "others_p75": "others: 75th pct",
    "percentile": "percentile (%)",
    "orgs_per_arm": "organizations per arm",
    "workers_per_arm": "workers per arm",
    "paired_workers": "workers, one group before/after",
}


def _fmt(value, digits):
    if (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float | np.floating) and not np.isfinite(value))
    ):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if float(value).is_integer() and digits == 0:
            return f"{int(value):,}"
        return f"{value:.{digits}f}"
    return str(value)


def _hidden_text(note: str, column: str) -> str:
    """What a hidden cell reads: "fewer than <n>" when ``note`` says so of it, else "not shown"."""
    import re

    for key in dict.fromkeys([column, HEADERS.get(column, column)]):
        m = re.search(rf"(?:^|; ){re.escape(key)}: (fewer than \d+)", note)
        if m:
            return m.group(1)
    return "not shown"


def html_table(
    table: pd.DataFrame,
    *,
    digits: int | dict = 2,
    columns=None,
    rename=None,
    caption: str | None = None,
    count_cols=("workers",),
):
    """An HTML table for a report: rounded, blanks for missing, suppressed cells marked.

    On rows with ``suppressed`` True, the empty ``count_cols`` and value cells
    show ``fewer than <min_cell>`` (a small count, as ``note`` says) or ``not shown``;
    the ``suppressed`` column itself is not shown. Headers
    are renamed by :data:`HEADERS` and then ``rename``. Returns an
    :class:`IPython.display.HTML` object (its ``.data`` is the HTML text).
    """
    from html import escape

    from IPython.display import HTML

    df = table.copy()
    hidden = (
        df["suppressed"].astype(bool).to_numpy()
        if "suppressed" in df
        else np.zeros(len(df), dtype=bool)
    )
    cols = list(columns) if columns is not None else [c for c in df.columns if c != "suppressed"]
    digits_for = (lambda c: digits.get(c, 2)) if isinstance(digits, dict) else (lambda c: digits)
    names = {**HEADERS, **(rename or {})}
    head = "".join(f"<th>{escape(str(names.get(c, c)))}</th>" for c in cols)
    notes = df["note"].fillna("").astype(str).tolist() if "note" in df else [""] * len(df)
    body = []
    for i, rec in enumerate(df[cols].itertuples(index=False)):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            text = _fmt(v, 0 if c in count_cols else digits_for(c))
            blank = hidden[i] and text == "" and c not in ("note",)
            if blank:
                text = _hidden_text(notes[i], c)
            cls = ' class="suppressed"' if blank else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return HTML(
        f'<table class="stseval">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def study_overview(study, area: str | None = None, *, min_cell: int | None = None) -> str:
    """Markdown: what the study is, whether it is synthetic, and (with ``area``) who is compared."""
    min_cell = _min_cell(study, min_cell)
    lines = []
    if study.is_synthetic:
        seed = study.provenance.get("seed")
        lines.append(
            "> **Synthetic data.** Every organization and worker in this study was "
            "simulated by stseval"
            + (f" (seed {seed})" if seed is not None else "")
            + "; no real person is described. The numbers show how the kit works and "
            "are not evidence about any real program."
        )
        lines.append("")
    from ._report_disclosure import protected_tables

    if min_cell >= 2:
        total = protected_tables(study, None, min_cell=min_cell).invited_total
    else:
        total = float(study.workers["worker_id"].nunique())
    invited = (
        f"{int(total):,} workers invited"
        if total == total
        else "workers invited: not shown (the number would reveal a small group)"
    )
    lines.append(
        f"**Study:** {study.name}: {study.orgs['org_id'].nunique()} organizations, "
        f"{invited}, survey waves "
        f"{' → '.join(study.waves)}; minimum cell size {min_cell} (smaller groups are "
        "not shown)."
    )
    if area is not None:
        spec = get_area(area)
        arms = reshape.arms(study, area)["arm"].value_counts()
        lines.append("")
        lines.append(f"**Area:** {spec.title}. *What the guidance asks:* {spec.target}")
        lines.append("")
        lines.append(
            f"**Compared:** {int(arms.get('intervention', 0))} organizations that changed "
            f"practice in this area against {int(arms.get('comparison', 0))} "
            "organizations that changed nothing. Organizations that changed another "
            "area are left out of this comparison."
        )
    return "\n".join(lines)


def attrition_summary(
    study, area: str, outcome: str | None = None, *, min_cell: int | None = None
) -> tuple[pd.DataFrame, str]:
    """Attrition by arm and the What Works Clearinghouse ratings, small groups suppressed.

    Returns
    -------
    table : DataFrame
        ``arm, workers_baseline, workers_followed, workers_left, attrition_pct,
        pre_mean_completers, pre_mean_dropouts, suppressed, note``, protected together
        with the participant flow and the outcome summary
        (:func:`stseval.report.protected_tables`): small counts read "fewer than
        <min_cell>", and any count or mean that would let a reader work one out is
        hidden too ("not shown").
    text : str
        Markdown: overall and differential attrition with the WWC rating and the
        baseline-equivalence classification (:func:`stseval.evaluate.missing_data_report`).
    """
    from . import models
    from ._report_disclosure import protected_tables

    min_cell = _min_cell(study, min_cell)
    outcome = outcome or _primary_outcome(study)
    wide = reshape.wide(study, outcome, area)
    att = models.attrition_table(wide).set_index("arm")
    table = protected_tables(study, area, outcome=outcome, min_cell=min_cell).attrition
    overall = float(att.loc["overall", "attrition"])
    diff = float(att.loc["overall", "differential_attrition"])
    wwc = models.wwc_attrition(overall, diff).iloc[0]
    try:
        base = models.baseline_equivalence(wide).iloc[0]
        base_text = (
            f"At baseline the analysed workers of the two arms differed by g = "
            f"{base['effect_size']:.2f} on {outcome_label(outcome)}: the WWC "
            f"classification is *{base['classification']}*."
        )
    except UsageError:  # fewer than 2 workers with a baseline score in an arm
        base_text = "Baseline equivalence could not be assessed (too few workers)."
    rates = (
        f"Overall attrition {100 * overall:.0f}%, differential attrition "
        f"{100 * diff:.0f} percentage points: "
        if table["attrition_pct"].notna().all()
        else "Attrition rates are not shown (they would reveal a group smaller than the "
        "minimum cell size): "
    )
    text = (
        f"{rates}{wwc['cautious']} attrition by the What Works Clearinghouse cautious boundary "
        f"({wwc['optimistic']} by the optimistic one). " + base_text
    )
    return table, text


def funder_title(study, estimates: pd.DataFrame, *, min_cell: int | None = None) -> str:
    """Markdown for the first page of the funder report (says so when the data are synthetic)."""
    areas = areas_in(estimates)
    head = ["# Protecting staff from secondary traumatic stress: what changed?", ""]
    head.append(
        f"Evaluation of {len(areas)} area{'s' if len(areas) != 1 else ''} of the "
        "Secondary Traumatic Stress Consortium's organizational guidance (2021): "
        + ", ".join(get_area(a).title.lower() for a in areas)
        + "."
    )
    head.append("")
    return "\n".join(head) + "\n" + study_overview(study, min_cell=min_cell)


def methods_facts(study, *, min_cell: int | None = None, confidence: float = 0.95) -> str:
    """Markdown: the minimum cell size, the missing-item rule and the confidence level in force."""
    min_cell = _min_cell(study, min_cell)
    rules = missing_item_rules(study)
    prorated = rules[rules["rule"].str.contains("prorated")]
    share = round(100 * (prorated["needs"] / prorated["items"]).min()) if len(prorated) else 100
    rule = (
        f"a scale score needs at least {share}"
        "% of the scale's items answered (the instrument's own rule where it has one); a "
        "sum score is then prorated from the answered items, otherwise it is missing"
        if len(prorated)
        else "a scale score needs every item answered"
    )
    return (
        f"**Rules in force.** Minimum cell size: **{min_cell}** workers; any group smaller "
        "than that, and any count that would reveal one, is not shown (marked *suppressed*). "
        f"Missing items: {rule}; the table below gives the rule of each scale. Intervals are "
        f"{round(confidence * 100):g}% confidence intervals."
    )


def org_title(study, org_id: str, *, min_cell: int | None = None) -> str:
    """Markdown heading of an organization's feedback report."""
    org_id = str(org_id)
    orgs = study.orgs[study.orgs["org_id"].astype(str) == org_id]
    if orgs.empty:
        raise UsageError(f"org_id {org_id!r} is not an organization of this study")
    name = str(orgs["name"].iloc[0])
    changed = study.interventions.loc[study.interventions["org_id"] == org_id, "area"]
    what = (
        ", ".join(get_area(a).title.lower() for a in changed)
        if len(changed)
        else "no area (a comparison organization)"
    )
    staff = int((study.workers["org_id"] == org_id).sum())
    return (
        f"# Practice profile: {name}\n\nFeedback for one organization ({org_id}): "
        f"{staff} staff invited; changed practice in {what}.\n\n"
        + study_overview(study, min_cell=min_cell)
    )


def profile_reading(profile_table: pd.DataFrame) -> str:
    """Markdown: the organization's strongest and weakest areas relative to the others."""
    t = profile_table.dropna(subset=["percentile"])
    if t.empty:
        return (
            "Too few of your staff answered to show your profile (fewer than the minimum "
            "cell size)."
        )
    top = t.sort_values("percentile", ascending=False).iloc[0]
    low = t.sort_values("percentile").iloc[0]
    return (
        f"Relative to the other organizations, your staff rate **{top['title'].lower()}** "
        f"highest (above {top['percentile']:.0f}% of organizations) and "
        f"**{low['title'].lower()}** lowest (above {low['percentile']:.0f}%). "
        f"What the guidance asks in that area: {get_area(low['area']).target}"
    )


def instrument_heading(inst) -> str:
    """Markdown heading for one instrument, flagging kit-authored, unvalidated inventories."""
    text = f"## {inst.name} ({inst.short_name})\n\n{inst.citation}"
    if inst.kit_authored:
        text += "\n\n> **Kit-authored inventory, not yet validated.** " + (
            inst.validation_note or "Check its reliability and structure on your data."
        )
    return text
