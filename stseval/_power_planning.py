"""Planning helpers: design values from a study, organizations needed, power grid, MDE in words.

Used by ``power_planning.ipynb`` through :mod:`stseval.report`. These belong
with :mod:`stseval.power` (issue 9 item 5): they are kept in this module until
they move there, and :mod:`stseval.report` re-exports them under the same names.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._report_tables import _primary_outcome, outcome_label

__all__ = [
    "design_inputs",
    "design_inputs_text",
    "mde_text",
    "power_grid",
    "sample_sizes",
]


def design_inputs(study, outcome: str | None = None) -> dict:
    """What a power calculation needs, estimated from a study's baseline data.

    Returns ``{"outcome", "icc", "r_prepost", "cluster_size", "cv", "orgs"}``:
    ICC(1) of the first-wave score by organization, the pre/post correlation of
    workers with both scores, the mean number of respondents per organization at
    the first wave and the coefficient of variation of that number.
    """
    from .reliability import icc

    outcome = outcome or _primary_outcome(study)
    scored = study.scored()
    pre = scored[scored["wave"] == study.waves[0]].dropna(subset=[outcome])
    post = scored[scored["wave"] == study.waves[1]].dropna(subset=[outcome])
    both = pre[["worker_id", outcome]].merge(post[["worker_id", outcome]], on="worker_id")
    sizes = pre.groupby("org_id")["worker_id"].nunique()
    return {
        "outcome": outcome,
        "icc": max(float(icc(pre[outcome], pre["org_id"])["icc1"].iloc[0]), 0.0),
        "r_prepost": float(np.corrcoef(both[f"{outcome}_x"], both[f"{outcome}_y"])[0, 1]),
        "cluster_size": float(sizes.mean()),
        "cv": float(sizes.std(ddof=0) / sizes.mean()),
        "orgs": len(sizes),
    }


def power_grid(
    effect_sizes,
    orgs_per_arm,
    *,
    cluster_size,
    icc,
    r_prepost=0.0,
    cv=0.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`stseval.power.cluster_power` over a grid: ``effect_size, orgs_per_arm, power``."""
    from .power import cluster_power

    rows = [
        {
            "effect_size": d,
            "orgs_per_arm": k,
            "power": cluster_power(
                d,
                n_clusters_per_arm=k,
                cluster_size=cluster_size,
                icc=icc,
                r_prepost=r_prepost,
                cv=cv,
                confidence=confidence,
            ),
        }
        for d in effect_sizes
        for k in orgs_per_arm
    ]
    return pd.DataFrame(rows)


def sample_sizes(
    effect_sizes, *, cluster_size, icc, r_prepost=0.0, cv=0.0, power=0.8, confidence: float = 0.95
) -> pd.DataFrame:
    """Organizations per arm (and workers) needed per effect size, and the paired-only n.

    Returns ``effect_size, orgs_per_arm, workers_per_arm, paired_workers`` where
    ``paired_workers`` is the n of a one-group pre/post design with ``d_z`` equal to
    the effect size (no comparison group, see :func:`stseval.power.paired_n`).
    """
    from .power import cluster_n_clusters, paired_n

    rows = []
    for d in effect_sizes:
        k = cluster_n_clusters(
            d,
            cluster_size=cluster_size,
            icc=icc,
            power=power,
            r_prepost=r_prepost,
            cv=cv,
            confidence=confidence,
        )
        rows.append(
            {
                "effect_size": d,
                "orgs_per_arm": k,
                "workers_per_arm": math.ceil(k * cluster_size),
                "paired_workers": paired_n(d, power=power, confidence=confidence),
            }
        )
    return pd.DataFrame(rows)


def design_inputs_text(inputs: dict, *, icc: float, cluster_size: float) -> str:
    """Markdown stating the design values a power calculation uses."""
    return (
        f"Design values for **{outcome_label(inputs['outcome'])}**: between-organization ICC "
        f"{icc:.3f} (study estimate {inputs['icc']:.3f}), pre/post correlation "
        f"{inputs['r_prepost']:.2f}, {cluster_size:.1f} respondents per organization "
        f"(coefficient of variation of size {inputs['cv']:.2f}), from {inputs['orgs']} "
        "organizations at the first wave."
    )


def mde_text(
    orgs_per_arm: int,
    *,
    cluster_size,
    icc,
    r_prepost=0.0,
    cv=0.0,
    power=0.8,
    confidence: float = 0.95,
) -> str:
    """Markdown: the minimum detectable effect of a design (:func:`stseval.power.cluster_mde`)."""
    from .power import cluster_mde

    mde = cluster_mde(
        n_clusters_per_arm=orgs_per_arm,
        cluster_size=cluster_size,
        icc=icc,
        power=power,
        r_prepost=r_prepost,
        cv=cv,
        confidence=confidence,
    )
    return (
        f"With **{orgs_per_arm} organizations per arm** of about {cluster_size:.0f} "
        f"respondents, the smallest effect detected with power {power:.0%} is **{mde:.2f} "
        f"SD**. Programs that protect staff from STS have shown effects of about 0.2 to 0.3 SD "
        "when they worked, so a design that cannot detect 0.3 SD risks missing a real effect."
    )
