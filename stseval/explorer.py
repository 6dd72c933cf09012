"""The synthetic-study explorer: re-simulate, estimate, set the estimates beside the truth.

:func:`explore` is the function behind the widgets of ``explore_synthetic.ipynb``
(one argument per control, for :func:`ipywidgets.interactive`);
:func:`simulation_check` is the table it draws from. Both are re-exported by
:mod:`stseval.report`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["explore", "simulation_check", "two_arm_power", "power_sentence"]


def simulation_check(
    design, *, area: str, outcome: str = "stss_total", seeds=(1,), confidence: float = 0.95
) -> pd.DataFrame:
    """Simulate with each seed, estimate ``outcome`` in ``area`` and set it beside the truth.

    Returns one row per seed and worker-level estimator: ``replication,
    estimator, label, estimate, ci_low, ci_high, truth, covered`` (truth =
    the study's ``att`` on the score scale), ``n_intervention_orgs`` and
    ``n_comparison_orgs`` (the arms of the simulated study, :func:`stseval.reshape.arms`).
    """
    from .evaluate import evaluate_area
    from .reshape import arms
    from .synthetic import simulate

    rows = []
    for seed in seeds:
        study = simulate(design, seed=int(seed))
        arm = arms(study, area)["arm"].value_counts()
        est = evaluate_area(study, area, outcomes=[outcome], confidence=confidence)
        t = study.truth
        truth = t[(t["area"] == area) & (t["outcome"] == outcome) & (t["estimand"] == "att")]
        value = float(truth["value"].iloc[0]) if len(truth) else np.nan
        for r in est[est["estimator"] != "rci"].to_dict("records"):
            rows.append(
                {
                    "replication": int(seed),
                    "estimator": r["estimator"],
                    "label": f"{r['estimator']}",
                    "estimate": r["estimate"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "truth": value,
                    "covered": bool(r["ci_low"] <= value <= r["ci_high"])
                    if np.isfinite(r["ci_low"])
                    else False,
                    "n_intervention_orgs": int(arm.get("intervention", 0)),
                    "n_comparison_orgs": int(arm.get("comparison", 0)),
                }
            )
    return pd.DataFrame(rows)


def two_arm_power(
    d: float,
    *,
    n_intervention: int,
    n_comparison: int,
    cluster_size: float,
    icc: float,
    r_prepost: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Power of the ANCOVA comparison of two arms of unequal numbers of organizations.

    The formula of :func:`stseval.power.cluster_power` with arms of ``k1`` and ``k2``
    organizations: ``se = sqrt(DE (1 - r^2) (1/k1 + 1/k2) / m)``, ``DE = 1 + (m - 1) icc``,
    two-sided noncentral t with ``df = k1 + k2 - 2`` and noncentrality ``d / se``. With
    ``k1 == k2`` it equals :func:`~stseval.power.cluster_power` (tested); with unequal arms
    it lies between ``cluster_power`` at the smaller and at the larger arm.

    Parameters
    ----------
    d : float
        Difference between arms in total-SD units.
    n_intervention, n_comparison : int
        Organizations in each arm (at least 1 each, 3 together).
    cluster_size, icc, r_prepost, confidence
        As in :func:`stseval.power.cluster_power`.

    Returns
    -------
    float
        The power.
    """
    from scipy import stats

    from .errors import UsageError
    from .power import cluster_design_effect

    k1, k2 = int(n_intervention), int(n_comparison)
    if k1 < 1 or k2 < 1 or k1 + k2 < 3:
        raise UsageError(
            f"each arm needs at least 1 organization and 3 together, got {k1} and {k2}"
        )
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence!r}")
    de = cluster_design_effect(icc, cluster_size)
    se = np.sqrt(de * (1 - r_prepost**2) * (1 / k1 + 1 / k2) / cluster_size)
    df = k1 + k2 - 2
    tcrit = stats.t.isf((1 - confidence) / 2, df)
    ncp = abs(float(d)) / se
    return float(stats.nct.sf(tcrit, df, ncp) + stats.nct.sf(tcrit, df, -ncp))


def power_sentence(
    effect: float, *, n_intervention: int, n_comparison: int, design, icc: float
) -> tuple[str, float]:
    """The explorer's power sentence and the power it states, from the real arm sizes.

    The effect on the observed score is taken as 0.9 of the latent ``effect`` (item
    noise); the organizations' size is the small design's mean staff times 0.8
    (responders); the ICC adds half the team ICC to ``icc``; pre/post correlation 0.6.
    """
    d = abs(effect) * 0.9
    m = float(np.mean(design.teams_per_org)) * float(np.mean(design.workers_per_team)) * 0.8
    pw = two_arm_power(
        max(d, 1e-6),
        n_intervention=n_intervention,
        n_comparison=n_comparison,
        cluster_size=m,
        icc=icc + design.icc_team / 2,
        r_prepost=0.6,
    )
    text = (
        f"With {n_intervention} intervention and {n_comparison} comparison organizations "
        f"and an effect of about {d:.2f} SD on the observed score, the analytic power of the "
        f"ANCOVA comparison is about **{pw:.0%}** (noncentral t with unequal arms, "
        "organizations of the small design's size; `stseval.explorer.two_arm_power`)."
    )
    return text, pw


def explore(
    area: str = "supervision",
    effect: float = -0.3,
    icc: float = 0.05,
    orgs_per_area: int = 4,
    attrition: float = 0.15,
    missingness: float = 0.02,
    replications: int = 3,
    seed: int = 1,
) -> None:
    """Re-simulate a small design and show estimates against the truth, coverage and power.

    Made for :func:`ipywidgets.interactive_output` in ``explore_synthetic.ipynb``:
    every argument is one control. ``effect`` is the latent effect on STS (SD
    units) of the chosen area; ``missingness`` the item non-response rate. Shows
    "Simulating…" while it works.
    """
    from IPython.display import Markdown, display

    from . import plots
    from .synthetic import StudyDesign

    status = display(Markdown("*Simulating…*"), display_id=True)
    design = StudyDesign.small().with_overrides(
        {
            f"effects.{area}.sts": effect,
            "icc_org": icc,
            "orgs_per_area": orgs_per_area,
            "attrition": attrition,
            "item_nonresponse": missingness,
            "areas": [area],
        }
    )
    reps = simulation_check(design, area=area, seeds=range(seed, seed + replications))
    first = reps[reps["replication"] == seed]
    if status is not None:
        status.update(
            Markdown(
                f"*{replications} simulated studies, seeds {seed} to {seed + replications - 1}.*"
            )
        )
    plots.show(
        plots.truth_check(
            first,
            title=f"One simulated study (seed {seed}): estimates "
            "of the effect on STS (STSS total) and the truth",
        )
    )
    ancova = reps[reps["estimator"] == "ancova"]
    plots.show(plots.coverage(ancova, title="ANCOVA interval in each replication"))
    text, _ = power_sentence(
        effect,
        n_intervention=int(first["n_intervention_orgs"].iloc[0]),
        n_comparison=int(first["n_comparison_orgs"].iloc[0]),
        design=design,
        icc=icc,
    )
    display(
        Markdown(
            f"The ANCOVA interval covered the truth in **{int(ancova['covered'].sum())} of "
            f"{len(ancova)}** replications (a 95% interval should miss about 1 in 20). " + text
        )
    )
