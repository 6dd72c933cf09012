"""A small simulator for the design-estimator tests (known truth, seeded by the caller)."""

from __future__ import annotations

import numpy as np
import pandas as pd

WAVES = ["pre", "post", "follow_up"]


def simulate(
    rng,
    *,
    n_orgs=30,
    per_org=20,
    waves=WAVES,
    effect=(0.0, 0.5, 0.3),
    trend=(0.0, 0.2, 0.4),
    treated_share=0.5,
    linked=True,
    teams_per_org=1,
    team_assignment=False,
    sd_org=0.5,
    sd_team=0.0,
    sd_worker=0.8,
    sd_noise=0.6,
):
    """Long frame ``worker_id, org_id, team_id, wave, score, treated``.

    ``effect[k]`` is the true effect at wave k in treated units (the arm x wave
    interaction), ``trend[k]`` the change everyone shares. With
    ``team_assignment`` half the teams of every organization are treated;
    otherwise whole organizations are. Anonymous (``linked=False``): every wave
    draws new workers and every row has its own ``worker_id``.
    """
    org_fx = rng.normal(0, sd_org, n_orgs)
    n_teams = n_orgs * teams_per_org
    team_fx = rng.normal(0, sd_team, n_teams)
    team_org = np.repeat(np.arange(n_orgs), teams_per_org)
    if team_assignment:
        treated_team = np.tile(np.arange(teams_per_org) < teams_per_org // 2, n_orgs)
    else:
        treated_org = np.arange(n_orgs) < int(round(treated_share * n_orgs))
        treated_team = treated_org[team_org]
    rows = []
    n_people = n_orgs * per_org
    person_team = np.repeat(np.arange(n_teams), per_org // teams_per_org)
    person_team = np.resize(person_team, n_people)
    worker_fx = rng.normal(0, sd_worker, n_people)
    for k, w in enumerate(waves):
        if not linked:
            worker_fx = rng.normal(0, sd_worker, n_people)
        tm = person_team
        tr = treated_team[tm].astype(float)
        y = (
            org_fx[team_org[tm]]
            + team_fx[tm]
            + worker_fx
            + trend[k]
            + effect[k] * tr
            + rng.normal(0, sd_noise, n_people)
        )
        ids = np.arange(n_people) if linked else np.arange(n_people) + k * n_people
        rows.append(
            pd.DataFrame(
                {
                    "worker_id": ids,
                    "org_id": team_org[tm],
                    "team_id": tm,
                    "wave": w,
                    "score": y,
                    "treated": tr.astype(int),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
