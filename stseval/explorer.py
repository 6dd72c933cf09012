"""The synthetic-study explorer: re-simulate, estimate, set the estimates beside the truth.

:func:`explore` is the function behind the widgets of ``explore_synthetic.ipynb``
(one argument per control, for :func:`ipywidgets.interactive`);
:func:`simulation_check` is the table it draws from. Both are re-exported by
:mod:`stseval.report`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["explore", "simulation_check"]


def simulation_check(
    design, *, area: str, outcome: str = "stss_total", seeds=(1,), confidence: float = 0.95
) -> pd.DataFrame:
    """Simulate with each seed, estimate ``outcome`` in ``area`` and set it beside the truth.

    Returns one row per seed and worker-level estimator: ``replication,
    estimator, label, estimate, ci_low, ci_high, truth, covered`` (truth =
    the study's ``att`` on the score scale).
    """
    from .evaluate import evaluate_area
    from .synthetic import simulate

    rows = []
    for seed in seeds:
        study = simulate(design, seed=int(seed))
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
                }
            )
    return pd.DataFrame(rows)


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
    units) of the chosen area; ``missingness`` the item non-response rate.
    """
    from IPython.display import Markdown, display

    from . import plots
    from .power import cluster_power
    from .synthetic import StudyDesign

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
    plots.show(
        plots.truth_check(
            first,
            title=f"One simulated study (seed {seed}): estimates "
            "of the effect on STS (STSS total) and the truth",
        )
    )
    ancova = reps[reps["estimator"] == "ancova"]
    plots.show(plots.coverage(ancova, title="ANCOVA interval in each replication"))
    study_inputs = {
        "cluster_size": float(np.mean(design.teams_per_org))
        * float(np.mean(design.workers_per_team))
        * 0.8,
        "icc": icc + design.icc_team / 2,
        "r_prepost": 0.6,
    }
    d = abs(effect) * 0.9
    pw = cluster_power(max(d, 1e-6), n_clusters_per_arm=orgs_per_area, **study_inputs)
    display(
        Markdown(
            f"The ANCOVA interval covered the truth in **{int(ancova['covered'].sum())} of "
            f"{len(ancova)}** replications (a 95% interval should miss about 1 in 20). With "
            f"{orgs_per_area} organizations per arm and an effect of about {d:.2f} SD on the "
            f"observed score, the analytic power of the ANCOVA comparison is about **{pw:.0%}** "
            "(stseval.power.cluster_power, organizations of the small design's size)."
        )
    )
