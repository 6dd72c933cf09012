"""Seaborn figures for the notebooks and reports.

Every function takes a tidy table made by :mod:`stseval.report` (or the
estimates table) -- never row-level data -- draws one figure and returns the
:class:`matplotlib.figure.Figure`; nothing is shown or saved implicitly
(:func:`save` writes a PNG). Cells that :mod:`stseval.report` suppressed
(fewer than the minimum cell size) are left out of the figure and the figure
says so, so a figure never shows what a table hides.

* :func:`arm_wave` -- mean score by arm and wave with intervals.
* :func:`consort` -- participant-flow diagram drawn from :func:`stseval.report.participant_flow`.
* :func:`forest` -- standardized effects across areas and outcomes, oriented so
  that right is improvement.
* :func:`indicator_series` -- monthly turnover and absence around the start of the change.
* :func:`profile` and :func:`org_trend` -- one organization against the others.
* :func:`item_distributions` -- answer shares per item of an instrument.
* :func:`power_curve`, :func:`truth_check` and :func:`coverage` -- planning and
  simulation figures.

Tests (``tests/test_plots.py``) draw each figure from small hand-built tables
and check what is on the axes (points, labels, the suppression notice).
"""

from __future__ import annotations

from textwrap import wrap as _wrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ._plotsim import coverage, power_curve, truth_check
from ._plotstyle import (
    ARM_COLORS,
    ARM_MARKERS,
    MIN_FONT_PT,
    OKABE_ITO,
    PRINT_WIDTH_IN,
    _finish,
    _need,
    describe,
    palette,
    save,
    set_alt,
    set_theme,
    show,
)
from .areas import AREA_KEYS, LOWER_IS_BETTER, get_area
from .errors import UsageError

__all__ = [
    "ARM_COLORS",
    "ARM_MARKERS",
    "OKABE_ITO",
    "arm_wave",
    "consort",
    "coverage",
    "describe",
    "forest",
    "indicator_series",
    "item_distributions",
    "org_trend",
    "power_curve",
    "profile",
    "palette",
    "save",
    "set_alt",
    "set_theme",
    "show",
    "truth_check",
]

_ARM_NAMES = {"intervention": "changed practice", "comparison": "comparison"}
SUPPRESSED_NOTE = "some groups not shown: fewer than the minimum cell size"


def _label(outcome):
    from ._report_tables import outcome_label

    return outcome_label(outcome)


def _grid(n, col_wrap, width=3.5, height=3.0):
    """``n`` panels, ``col_wrap`` a row, the whole figure at most :data:`PRINT_WIDTH_IN` wide."""
    cols = min(n, col_wrap)
    rows = int(np.ceil(n / cols))
    width = min(width, PRINT_WIDTH_IN / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


# -- change by arm and wave ---------------------------------------------------------
def arm_wave(summary: pd.DataFrame, *, col_wrap: int = 2, title: str | None = None):
    """Mean of each outcome by wave, one line per arm, with its interval.

    ``summary`` is :func:`stseval.report.outcome_summary`: ``outcome, arm, wave,
    mean, ci_low, ci_high, suppressed``. Suppressed cells are not drawn and the
    panel says so.
    """
    _need(summary, ["outcome", "arm", "wave", "mean", "ci_low", "ci_high"], "summary")
    outcomes = list(dict.fromkeys(summary["outcome"]))
    waves = (
        list(summary["wave"].cat.categories)
        if isinstance(summary["wave"].dtype, pd.CategoricalDtype)
        else list(dict.fromkeys(summary["wave"]))
    )
    fig, axes = _grid(len(outcomes), col_wrap)
    hidden = summary["suppressed"] if "suppressed" in summary else pd.Series(False, summary.index)
    for ax, out in zip(axes, outcomes, strict=True):
        sub = summary[summary["outcome"] == out]
        for i, arm in enumerate(("intervention", "comparison")):
            a = sub[(sub["arm"] == arm) & ~hidden[sub.index] & sub["mean"].notna()]
            x = np.array([waves.index(w) for w in a["wave"]]) + (i - 0.5) * 0.08
            ax.errorbar(
                x,
                a["mean"],
                yerr=[a["mean"] - a["ci_low"], a["ci_high"] - a["mean"]],
                marker=ARM_MARKERS[arm],
                capsize=3,
                color=ARM_COLORS[arm],
                label=_ARM_NAMES[arm],
            )
        ax.set_xticks(range(len(waves)), waves)
        ax.set_xlim(-0.5, len(waves) - 0.5)
        ax.set_title(_label(out), fontsize=10, wrap=True)
        ax.set_xlabel("survey wave")
        better = "lower" if out in LOWER_IS_BETTER else "higher"
        ax.set_ylabel(f"mean score ({better} is better)")
        if hidden[sub.index].any():
            _panel_note(ax)
    axes[0].legend(title="organizations", loc="best")
    if title:
        fig.suptitle(title)
    sns.despine(fig=fig)
    fig.tight_layout()
    names = ", ".join(_label(o) for o in outcomes)
    return set_alt(
        fig,
        f"Line charts, one per outcome ({names}): mean score at each survey wave "
        "for organizations that changed practice (circles) and comparison organizations "
        "(squares), with intervals.",
    )


def _panel_note(ax, *, below_pt: float = 44) -> None:
    """The suppression notice under a panel, below its axis label (never over the data).

    An annotation ``below_pt`` points under the axes, wrapped to the panel's width; the
    figure's tight layout makes room for it, so it cannot spill into the next panel.
    """
    import textwrap

    width_in = ax.get_position().width * ax.figure.get_figwidth()
    chars = max(24, int(width_in * 72 / (0.55 * MIN_FONT_PT)))
    ax.annotate(
        "\n".join(textwrap.wrap(SUPPRESSED_NOTE, chars)),
        xy=(0.5, 0),
        xycoords="axes fraction",
        xytext=(0, -below_pt),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=MIN_FONT_PT,
        color="0.3",
    )


# -- participant flow ---------------------------------------------------------------
def _count_text(rec, min_cell):
    workers = rec["workers"]
    shown = "suppressed" if rec.get("suppressed") or pd.isna(workers) else f"{int(workers):,}"
    return f"{int(rec['orgs'])} organizations, {shown} workers"


def consort(flow: pd.DataFrame, *, min_cell: int = 5, title: str | None = None):
    """A CONSORT-style flow diagram: one column of boxes per arm, one row per stage.

    ``flow`` is :func:`stseval.report.participant_flow`. Between two stages the
    number of workers lost is shown when both counts are visible and the loss is
    zero or at least ``min_cell``; otherwise it reads "suppressed".
    """
    _need(flow, ["stage", "arm", "orgs", "workers"], "flow")
    stages = list(dict.fromkeys(flow["stage"]))
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 1.25 * len(stages) + 0.9))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.2, len(stages) + 0.3)
    ax.axis("off")
    xs = {"intervention": 2.6, "comparison": 7.4}
    for arm, x in xs.items():
        ax.text(
            x,
            len(stages) + 0.05,
            _ARM_NAMES[arm].capitalize() + " organizations",
            ha="center",
            va="bottom",
            fontsize=11,
            fontweight="bold",
            color=ARM_COLORS[arm],
        )
        prev = None
        for j, stage in enumerate(stages):
            y = len(stages) - 1 - j + 0.4
            rec = flow[(flow["arm"] == arm) & (flow["stage"] == stage)]
            if rec.empty:
                continue
            rec = rec.iloc[0].to_dict()
            ax.text(
                x,
                y,
                f"{stage.capitalize()}\n{_count_text(rec, min_cell)}",
                ha="center",
                va="center",
                fontsize=9,
                bbox={"boxstyle": "round,pad=0.5", "fc": "white", "ec": ARM_COLORS[arm], "lw": 1.4},
            )
            if prev is not None:
                ax.annotate(
                    "",
                    xy=(x, y + 0.28),
                    xytext=(x, y + 0.72),
                    arrowprops={"arrowstyle": "->", "color": "0.35"},
                )
                lost = _loss(prev, rec, min_cell)
                ax.text(
                    x + 0.15,
                    y + 0.5,
                    lost,
                    ha="left",
                    va="center",
                    fontsize=MIN_FONT_PT,
                    color="0.3",
                )
            prev = rec
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return set_alt(
        fig,
        "Participant flow diagram: for organizations that changed practice and for comparison "
        "organizations, the number of organizations and workers at each stage ("
        + ", ".join(stages)
        + "), and how many workers were lost between stages.",
    )


def _loss(prev, rec, min_cell):
    a, b = prev["workers"], rec["workers"]
    if prev.get("suppressed") or rec.get("suppressed") or pd.isna(a) or pd.isna(b):
        return "lost: suppressed"
    d = int(a) - int(b)
    if 0 < d < min_cell:
        return "lost: suppressed"
    return f"lost: {d:,}"


# -- effects across areas -----------------------------------------------------------
def forest(
    estimates: pd.DataFrame, *, estimator: str = "ancova", outcomes=None, title: str | None = None
):
    """Standardized effects of every area on every outcome, right = improvement.

    Uses the ``effect_size`` and ``es_ci_low``/``es_ci_high`` of the rows of
    ``estimator`` (ANCOVA: the estimate over the pooled pre-test SD). For
    outcomes where lower is better the sign is flipped, so every point to the
    right of zero is an improvement. Rows without an effect size are left out.
    ``estimator="primary"`` takes the rows the design leads with (the ``primary``
    column of :func:`stseval.evaluate_area`; the first later wave when there are several).
    """
    _need(
        estimates,
        ["area", "outcome", "estimator", "effect_size", "es_ci_low", "es_ci_high"],
        "estimates",
    )
    if estimator == "primary" and "primary" in estimates.columns:
        chosen = estimates["primary"].astype(str).str.lower().isin(["true", "1"])
        est = estimates[chosen & estimates["effect_size"].notna()]
        est = est.drop_duplicates(["area", "outcome"]).copy()
    else:
        est = estimates[(estimates["estimator"] == estimator) & estimates["effect_size"].notna()]
        est = est.copy()
    if outcomes is not None:
        est = est[est["outcome"].isin(outcomes)]
    if est.empty:
        raise UsageError(f"no {estimator!r} rows with an effect size to plot")
    est["practice"] = est["outcome"].str.startswith("org_guidance_")
    est["label"] = np.where(
        est["practice"], "staff-rated practice of the area", est["outcome"].map(_label)
    )
    sign = np.where(est["outcome"].isin(LOWER_IS_BETTER), -1.0, 1.0)
    est["d"] = est["effect_size"] * sign
    lo, hi = est["es_ci_low"] * sign, est["es_ci_high"] * sign
    est["lo"], est["hi"] = np.minimum(lo, hi), np.maximum(lo, hi)
    areas = [a for a in AREA_KEYS if a in set(est["area"])]
    labels = list(dict.fromkeys(est.sort_values("practice", kind="stable")["label"]))
    styles = dict(zip(labels, palette(len(labels)), strict=True))
    height = 0.55 * len(areas) * max(1.0, len(labels) / 4) + 1.2 + 0.25 * np.ceil(len(labels) / 2)
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, height))
    step = 0.72 / max(len(labels), 1)
    for k, lab in enumerate(labels):
        sub = est[est["label"] == lab]
        y = np.array([areas.index(a) for a in sub["area"]]) + (k - (len(labels) - 1) / 2) * step
        color, marker = styles[lab]
        ax.errorbar(
            sub["d"],
            y,
            xerr=[sub["d"] - sub["lo"], sub["hi"] - sub["d"]],
            fmt=marker,
            ms=5,
            capsize=2,
            color=color,
            label=lab,
        )
    ax.axvline(0, color="0.4", lw=1)
    ax.set_yticks(range(len(areas)), ["\n".join(_wrap(get_area(a).title, 22)) for a in areas])
    ax.tick_params(labelsize=MIN_FONT_PT + 1)
    ax.invert_yaxis()
    ax.set_xlabel("standardized effect (SD units); right of 0 = improvement")
    handles, names = ax.get_legend_handles_labels()
    legend_in = 0.3 + 0.22 * np.ceil(len(labels) / 2)
    fig.legend(
        handles,
        names,
        loc="upper center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=2,
        frameon=False,
        fontsize=MIN_FONT_PT + 0.5,
        title="outcome",
        title_fontsize=MIN_FONT_PT + 0.5,
    )
    if title:
        ax.set_title(title)
    sns.despine(fig=fig, left=True)
    fig.tight_layout(rect=(0, 0, 1, 1 - legend_in / height))
    return set_alt(
        fig,
        f"Forest plot: standardized effect with its interval for {len(areas)} "
        f"area{'s' if len(areas) != 1 else ''} of the guidance (rows: "
        + ", ".join(get_area(a).title for a in areas)
        + f") and {len(labels)} outcome{'s' if len(labels) != 1 else ''} (markers: "
        + ", ".join(labels)
        + "); points right of zero are improvements.",
    )


# -- monthly indicators -------------------------------------------------------------
def indicator_series(series: pd.DataFrame, *, title: str | None = None):
    """Monthly turnover and absence rate (%) by arm around the start (month 0).

    ``series`` is :func:`stseval.report.indicator_summary` (``arm, rel_month,
    indicator, value``; an ``area`` column is ignored: pass one area's rows, or
    the pooled rows).
    """
    _need(series, ["arm", "rel_month", "indicator", "value"], "series")
    inds = [i for i in ("separation_rate", "absence_rate") if i in set(series["indicator"])]
    if not inds:
        raise UsageError("series has no separation_rate or absence_rate rows")
    fig, axes = _grid(len(inds), 2, width=3.5, height=3.0)
    data = series.assign(percent=series["value"] * 100, organizations=series["arm"].map(_ARM_NAMES))
    for ax, ind in zip(axes, inds, strict=True):
        sns.lineplot(
            data=data[data["indicator"] == ind],
            x="rel_month",
            y="percent",
            hue="organizations",
            hue_order=list(_ARM_NAMES.values()),
            palette=[ARM_COLORS["intervention"], ARM_COLORS["comparison"]],
            style="organizations",
            style_order=list(_ARM_NAMES.values()),
            markers=[ARM_MARKERS["intervention"], ARM_MARKERS["comparison"]],
            dashes=False,
            markersize=4,
            ax=ax,
            errorbar=None,
        )
        ax.axvline(-0.5, color="0.4", ls="--", lw=1)
        ax.set_title(_label(ind))
        ax.set_xlabel("months from the start of the change")
        ax.set_ylabel("% per month")
        if ax.get_legend():
            ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, -0.02)
    )
    if title:
        fig.suptitle(title)
    sns.despine(fig=fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return set_alt(
        fig,
        "Line charts of "
        + " and ".join(_label(i) for i in inds)
        + " in percent per month, by month from the start of the change (dashed line), for "
        "organizations that changed practice (circles) and comparison organizations (squares).",
    )


# -- one organization ---------------------------------------------------------------
def profile(profile_table: pd.DataFrame, *, title: str | None = None):
    """An organization's practice score per area (diamond) on the other organizations'
    middle half (bar, 25th to 75th percentile) and median (tick).

    ``profile_table`` is :func:`stseval.report.practice_profile`.
    """
    _need(
        profile_table,
        ["title", "org_mean", "others_p25", "others_median", "others_p75"],
        "profile_table",
    )
    t = profile_table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 0.5 * len(t) + 1.8))
    y = np.arange(len(t))
    ax.barh(
        y,
        t["others_p75"] - t["others_p25"],
        left=t["others_p25"],
        height=0.5,
        color="0.85",
        label="other organizations: middle half",
    )
    ax.scatter(
        t["others_median"], y, marker="|", s=300, color="0.3", label="other organizations: median"
    )
    own = t["org_mean"].notna()
    ax.scatter(
        t.loc[own, "org_mean"],
        y[own.to_numpy()],
        marker="D",
        s=60,
        color=ARM_COLORS["intervention"],
        zorder=3,
        label="this organization",
    )
    ax.set_yticks(y, t["title"])
    ax.invert_yaxis()
    ax.set_xlabel("staff-rated practice (1 = not at all ... 5 = completely)")
    ax.set_xlim(1, 5)
    ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.01), ncol=2, frameon=False, fontsize=MIN_FONT_PT
    )
    if not own.all():
        _panel_note(ax, below_pt=36)
    _finish(fig, ax, title, left_spine=False)
    return set_alt(
        fig,
        f"Dot chart of staff-rated practice in {len(t)} areas: this organization's mean "
        "(diamond) against the other organizations' median (tick) and middle half (bar)"
        + ("; areas with too few staff are left out." if not own.all() else "."),
    )


def org_trend(table: pd.DataFrame, *, col_wrap: int = 3, title: str | None = None):
    """An organization's staff outcomes by wave beside the average of all organizations.

    ``table`` is :func:`stseval.report.org_outcomes` (``outcome`` holds labels); blanked
    (small) groups are not drawn.
    """
    _need(table, ["outcome", "wave", "group", "mean"], "table")
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = _grid(len(outcomes), col_wrap, width=2.4, height=2.6)
    colors = {"this organization": ARM_COLORS["intervention"], "all organizations": "0.5"}
    for ax, out in zip(axes, outcomes, strict=True):
        sub = table[(table["outcome"] == out) & table["mean"].notna()]
        sns.lineplot(
            data=sub,
            x="wave",
            y="mean",
            hue="group",
            palette=colors,
            style="group",
            style_order=list(colors),
            markers=["o", "s"],
            dashes=False,
            ax=ax,
            errorbar=None,
            hue_order=list(colors),
            sort=False,
        )
        ax.set_title(out, fontsize=10)
        ax.set_ylabel("mean score")
        if ax is not axes[0] and ax.get_legend():
            ax.get_legend().remove()
        if table[(table["outcome"] == out)]["mean"].isna().any():
            _panel_note(ax)
    if title:
        fig.suptitle(title)
    sns.despine(fig=fig)
    fig.tight_layout()
    return set_alt(
        fig,
        f"Line charts, one per outcome ({', '.join(map(str, outcomes))}): this organization's "
        "mean score at each wave beside the average of all organizations.",
    )


# -- instruments --------------------------------------------------------------------
def item_distributions(items: pd.DataFrame, instrument, *, title: str | None = None):
    """Share of each answer per item, as stacked horizontal bars.

    ``items`` holds the item columns (raw answers, as in ``responses.csv``);
    ``instrument`` an :class:`stseval.instruments.Instrument` (or key). Item
    labels are the instrument file's short paraphrases, never item wording.
    """
    from .instruments import load_instrument

    inst = load_instrument(instrument)
    cols = [c for c in inst.item_columns if c in items.columns]
    if not cols:
        raise UsageError(
            f"items has none of the {inst.key} item columns ({inst.item_columns[0]} ...)"
        )
    values = inst.response.values
    shares = pd.DataFrame({v: (items[cols] == v).sum() / items[cols].notna().sum() for v in values})
    labels = [
        f"{i.number}. {i.label}" + (" (R)" if i.reverse else "")
        for i in inst.items
        if inst.item_columns[i.number - 1] in cols
    ]
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 0.3 * len(cols) + 1.6))
    left = np.zeros(len(cols))
    palette = sns.color_palette("RdYlBu_r", len(values))
    for v, color in zip(values, palette, strict=True):
        ax.barh(
            range(len(cols)),
            shares[v].to_numpy(),
            left=left,
            color=color,
            label=f"{v} {inst.response.anchors.get(v, '')}".strip(),
            height=0.8,
        )
        left += shares[v].to_numpy()
    ax.set_yticks(range(len(cols)), labels, fontsize=MIN_FONT_PT)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of answers ((R) = reverse-keyed item)")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.7 / (0.3 * len(cols) + 1.6) - 0.02),
        ncol=min(len(values), 3),
        frameon=False,
        fontsize=MIN_FONT_PT,
    )
    ax.set_title(title or f"{inst.short_name}: answers per item")
    fig.tight_layout()
    return set_alt(
        fig,
        f"Stacked bar chart: share of each answer ({len(values)} options) for each of the "
        f"{len(cols)} items of the {inst.short_name}.",
    )
