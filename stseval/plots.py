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

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .areas import AREA_KEYS, LOWER_IS_BETTER, get_area
from .errors import UsageError

__all__ = [
    "ARM_COLORS",
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
    "save",
    "set_theme",
    "show",
    "truth_check",
]

#: Colours of the two arms in every figure (seaborn "colorblind" palette).
ARM_COLORS = {
    "intervention": sns.color_palette("colorblind")[0],
    "comparison": sns.color_palette("colorblind")[1],
}
_ARM_NAMES = {"intervention": "changed practice", "comparison": "comparison"}
SUPPRESSED_NOTE = "some groups not shown: fewer than the minimum cell size"


def set_theme(*, dpi: int = 96) -> None:
    """The kit's look: seaborn ``whitegrid``, colour-blind palette, modest resolution."""
    sns.set_theme(
        style="whitegrid",
        palette="colorblind",
        context="notebook",
        rc={
            "figure.dpi": dpi,
            "savefig.dpi": dpi,
            "savefig.bbox": "tight",
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.title_fontsize": 9,
        },
    )


def save(fig, path) -> Path:
    """Write ``fig`` as PNG to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", bbox_inches="tight")
    return path


def describe(fig) -> str:
    """Alternative text for a figure: its title and the titles and labels of its panels."""
    parts = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        bits = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        parts.append(", ".join(b for b in bits if b))
    text = "; ".join(p for p in parts if p)
    return f"Figure: {text}" if text else "Figure"


def show(fig, *, alt: str | None = None) -> None:
    """Display ``fig`` now, with alternative text, and close it (figures keep their place)."""
    from IPython.display import display

    display(fig, metadata={"image/png": {"alt": alt or describe(fig)}})
    plt.close(fig)


def _need(table, columns, name):
    if not isinstance(table, pd.DataFrame):
        raise UsageError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise UsageError(f"{name} lacks column(s) {missing}; it has {list(table.columns)}")


def _finish(fig, ax, title, *, left_spine: bool = True):
    """Common last steps of an axes figure: title, despine, tight layout."""
    if title:
        ax.set_title(title)
    sns.despine(fig=fig, left=not left_spine)
    fig.tight_layout()
    return fig


def _label(outcome):
    from ._report_tables import outcome_label

    return outcome_label(outcome)


def _grid(n, col_wrap, width=3.6, height=3.0):
    cols = min(n, col_wrap)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


# -- change by arm and wave ---------------------------------------------------------
def arm_wave(summary: pd.DataFrame, *, col_wrap: int = 3, title: str | None = None):
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
                marker="o",
                capsize=3,
                color=ARM_COLORS[arm],
                label=_ARM_NAMES[arm],
            )
        ax.set_xticks(range(len(waves)), waves)
        ax.set_xlim(-0.5, len(waves) - 0.5)
        ax.set_title(_label(out), fontsize=10)
        ax.set_xlabel("survey wave")
        better = "lower" if out in LOWER_IS_BETTER else "higher"
        ax.set_ylabel(f"mean score ({better} is better)")
        if hidden[sub.index].any():
            ax.text(0.02, 0.02, SUPPRESSED_NOTE, transform=ax.transAxes, fontsize=7, color="0.3")
    axes[0].legend(title="organizations", loc="best")
    if title:
        fig.suptitle(title)
    sns.despine(fig=fig)
    fig.tight_layout()
    return fig


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
    fig, ax = plt.subplots(figsize=(8.6, 1.25 * len(stages) + 0.9))
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
                ax.text(x + 0.15, y + 0.5, lost, ha="left", va="center", fontsize=8, color="0.3")
            prev = rec
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


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
    """
    _need(
        estimates,
        ["area", "outcome", "estimator", "effect_size", "es_ci_low", "es_ci_high"],
        "estimates",
    )
    est = estimates[(estimates["estimator"] == estimator) & estimates["effect_size"].notna()].copy()
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
    colors = dict(zip(labels, sns.color_palette("colorblind", len(labels)), strict=True))
    fig, ax = plt.subplots(figsize=(10, 0.7 * len(areas) + 1.2))
    step = 0.7 / max(len(labels), 1)
    for k, lab in enumerate(labels):
        sub = est[est["label"] == lab]
        y = np.array([areas.index(a) for a in sub["area"]]) + (k - (len(labels) - 1) / 2) * step
        ax.errorbar(
            sub["d"],
            y,
            xerr=[sub["d"] - sub["lo"], sub["hi"] - sub["d"]],
            fmt="o",
            ms=4,
            capsize=2,
            color=colors[lab],
            label=lab,
        )
    ax.axvline(0, color="0.4", lw=1)
    ax.set_yticks(range(len(areas)), [get_area(a).title for a in areas])
    ax.invert_yaxis()
    ax.set_xlabel("standardized effect (SD units); right of 0 = improvement")
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8, title="outcome"
    )
    return _finish(fig, ax, title, left_spine=False)


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
    fig, axes = _grid(len(inds), 2, width=4.4, height=3.0)
    data = series.assign(percent=series["value"] * 100, organizations=series["arm"].map(_ARM_NAMES))
    for ax, ind in zip(axes, inds, strict=True):
        sns.lineplot(
            data=data[data["indicator"] == ind],
            x="rel_month",
            y="percent",
            hue="organizations",
            hue_order=list(_ARM_NAMES.values()),
            palette=[ARM_COLORS["intervention"], ARM_COLORS["comparison"]],
            marker="o",
            markersize=3,
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
    return fig


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
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(t) + 1.4))
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
    if not own.all():
        ax.text(0.01, -0.2, SUPPRESSED_NOTE, transform=ax.transAxes, fontsize=8, color="0.3")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False, fontsize=8)
    return _finish(fig, ax, title, left_spine=False)


def org_trend(table: pd.DataFrame, *, col_wrap: int = 4, title: str | None = None):
    """An organization's staff outcomes by wave beside the average of all organizations.

    ``table`` is :func:`stseval.report.org_outcomes` (``outcome`` holds labels); blanked
    (small) groups are not drawn.
    """
    _need(table, ["outcome", "wave", "group", "mean"], "table")
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = _grid(len(outcomes), col_wrap, width=3.2, height=2.8)
    colors = {"this organization": ARM_COLORS["intervention"], "all organizations": "0.5"}
    for ax, out in zip(axes, outcomes, strict=True):
        sub = table[(table["outcome"] == out) & table["mean"].notna()]
        sns.lineplot(
            data=sub,
            x="wave",
            y="mean",
            hue="group",
            palette=colors,
            marker="o",
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
            ax.text(0.02, 0.02, SUPPRESSED_NOTE, transform=ax.transAxes, fontsize=7)
    if title:
        fig.suptitle(title)
    sns.despine(fig=fig)
    fig.tight_layout()
    return fig


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
    fig, ax = plt.subplots(figsize=(8.4, 0.24 * len(cols) + 1.5))
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
    ax.set_yticks(range(len(cols)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of answers ((R) = reverse-keyed item)")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.6 / (0.24 * len(cols) + 1.5) - 0.02),
        ncol=min(len(values), 5),
        frameon=False,
        fontsize=7,
    )
    ax.set_title(title or f"{inst.short_name}: answers per item")
    fig.tight_layout()
    return fig


# -- planning and simulation --------------------------------------------------------
def power_curve(
    table: pd.DataFrame,
    *,
    x: str = "orgs_per_arm",
    hue: str = "effect_size",
    target: float = 0.8,
    title: str | None = None,
):
    """Power against ``x`` (one line per ``hue`` value) with the target power marked."""
    _need(table, [x, hue, "power"], "table")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    sns.lineplot(
        data=table, x=x, y="power", hue=hue, marker="o", ax=ax, palette="colorblind", errorbar=None
    )
    ax.axhline(target, color="0.4", ls="--", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(x.replace("_", " "))
    return _finish(fig, ax, title)


def truth_check(table: pd.DataFrame, *, title: str | None = None):
    """Estimates with intervals against the simulation's truth, one row per outcome x estimator.

    ``table``: ``label, estimate, ci_low, ci_high, truth``.
    """
    _need(table, ["label", "estimate", "ci_low", "ci_high", "truth"], "table")
    t = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.6, 0.42 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.errorbar(
        t["estimate"],
        y,
        xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
        fmt="o",
        capsize=3,
        label="estimate and interval",
    )
    ax.scatter(t["truth"], y, marker="x", s=70, color="crimson", zorder=3, label="truth")
    ax.axvline(0, color="0.6", lw=1)
    ax.set_yticks(y, t["label"])
    ax.invert_yaxis()
    ax.set_xlabel("effect (score points)")
    ax.legend(loc="best", fontsize=8)
    return _finish(fig, ax, title, left_spine=False)


def coverage(reps: pd.DataFrame, *, title: str | None = None):
    """One interval per simulated replication; red where it misses the truth.

    ``reps``: ``replication, estimate, ci_low, ci_high, truth``.
    """
    _need(reps, ["replication", "estimate", "ci_low", "ci_high", "truth"], "reps")
    r = reps.reset_index(drop=True)
    hit = (r["ci_low"] <= r["truth"]) & (r["truth"] <= r["ci_high"])
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(r) + 1.4))
    for i, rec in r.iterrows():
        color = "0.3" if hit[i] else "crimson"
        ax.plot([rec["ci_low"], rec["ci_high"]], [i, i], color=color, lw=2)
        ax.plot(rec["estimate"], i, "o", color=color, ms=4)
    ax.axvline(float(r["truth"].iloc[0]), color="crimson", ls="--", lw=1, label="truth")
    ax.set_yticks(range(len(r)), [f"seed {s}" for s in r["replication"]], fontsize=8)
    ax.set_xlabel(f"estimate and interval: {int(hit.sum())} of {len(r)} cover the truth")
    ax.legend(loc="best", fontsize=8)
    return _finish(fig, ax, title, left_spine=False)
