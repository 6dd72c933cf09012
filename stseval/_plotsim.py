"""Planning and simulation figures (part of :mod:`stseval.plots`, which re-exports them).

* :func:`power_curve` -- power against organizations per arm, one line per effect size.
* :func:`truth_check` -- estimates with intervals against the simulation's truth.
* :func:`coverage` -- one interval per simulated replication, misses marked.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ._plotstyle import MIN_FONT_PT, OKABE_ITO, PRINT_WIDTH_IN, _finish, _need, set_alt

__all__ = ["coverage", "power_curve", "truth_check"]


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
        data=table,
        x=x,
        y="power",
        hue=hue,
        style=hue,
        markers=True,
        dashes=False,
        ax=ax,
        palette=OKABE_ITO[: table[hue].nunique()] if table[hue].nunique() <= 7 else "colorblind",
        errorbar=None,
    )
    ax.axhline(target, color="0.4", ls="--", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(x.replace("_", " "))
    _finish(fig, ax, title)
    return set_alt(
        fig,
        f"Line chart of statistical power against {x.replace('_', ' ')}, one line per "
        f"{hue.replace('_', ' ')}; the dashed line marks the target power of {target:.0%}.",
    )


def truth_check(table: pd.DataFrame, *, title: str | None = None):
    """Estimates with intervals against the simulation's truth, one row per outcome x estimator.

    ``table``: ``label, estimate, ci_low, ci_high, truth``.
    """
    _need(table, ["label", "estimate", "ci_low", "ci_high", "truth"], "table")
    t = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 0.42 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.errorbar(
        t["estimate"],
        y,
        xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
        fmt="o",
        capsize=3,
        label="estimate and interval",
    )
    ax.scatter(t["truth"], y, marker="X", s=70, color=OKABE_ITO[5], zorder=3, label="truth")
    ax.axvline(0, color="0.6", lw=1)
    ax.set_yticks(y, t["label"])
    ax.invert_yaxis()
    ax.set_xlabel("effect (score points)")
    ax.legend(loc="best", fontsize=MIN_FONT_PT)
    _finish(fig, ax, title, left_spine=False)
    return set_alt(
        fig,
        f"Dot chart of {len(t)} estimates with intervals (circles) against the true "
        "effects the simulation used (crosses).",
    )


def coverage(reps: pd.DataFrame, *, title: str | None = None):
    """One interval per simulated replication; red where it misses the truth.

    ``reps``: ``replication, estimate, ci_low, ci_high, truth``.
    """
    _need(reps, ["replication", "estimate", "ci_low", "ci_high", "truth"], "reps")
    r = reps.reset_index(drop=True)
    hit = (r["ci_low"] <= r["truth"]) & (r["truth"] <= r["ci_high"])
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(r) + 1.4))
    for i, rec in r.iterrows():
        color = "0.3" if hit[i] else OKABE_ITO[5]
        ax.plot([rec["ci_low"], rec["ci_high"]], [i, i], color=color, lw=2)
        ax.plot(rec["estimate"], i, "o" if hit[i] else "X", color=color, ms=5)
    ax.axvline(float(r["truth"].iloc[0]), color=OKABE_ITO[5], ls="--", lw=1, label="truth")
    ax.set_yticks(range(len(r)), [f"seed {s}" for s in r["replication"]], fontsize=MIN_FONT_PT)
    ax.set_xlabel(f"estimate and interval: {int(hit.sum())} of {len(r)} cover the truth")
    ax.legend(loc="best", fontsize=MIN_FONT_PT)
    _finish(fig, ax, title, left_spine=False)
    return set_alt(
        fig,
        f"Interval of each of {len(r)} simulated replications against the truth (dashed "
        f"line): {int(hit.sum())} cover it; misses are drawn with crosses.",
    )
