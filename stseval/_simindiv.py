"""The simulator's individual guidance statements and individual programs (issue 11).

Statement model (latent, standard normal at baseline) of worker *i* at wave *w*::

    S_ij = sum_k a_jk Z_ik + sqrt(1 - R2_j) (sqrt(o_j) g_oj + sqrt(t_j) h_tj + sqrt(p_j) q_ij
                                             + sqrt(1 - prepost_r) e_ijw) + program shift

``Z`` = the worker's latent STS, BO, CS at that wave before any trend or
effect; ``a_j = C^-1 r_j`` with ``C`` the latent correlation of STS, BO, CS
and ``r_j`` the latent correlations solved from the observed targets
(``ind_guidance.correlations``); ``R2_j = a_j . r_j``. The residual shares are
set so that the latent ICCs between orgs and teams are ``ind_guidance.icc_org``
and ``icc_team`` exactly and the stability across waves is ``prepost_r``:
``o_j = (icc_org_s - R2_j icc_org) / (1 - R2_j)``, likewise ``t_j``, and
``p_j = prepost_r - o_j - t_j`` (org x wave shocks of STS are ignored here).

Programs: units (teams or workers) are drawn without replacement, a share
``share`` of all units, at random or (``chosen``) with probabilities
proportional to ``exp(selection_strength x`` the unit's baseline latent STS)
(Gumbel top-k). From the first later wave on, each participant's targeted
statements move by ``statement_effect`` and the latent STS, BO, CS by
``outcome_effects`` (times the design's wave multipliers).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ._latent import _NODES, _WEIGHTS
from .areas import STATEMENT_KEYS
from .errors import UsageError

__all__ = [
    "ind_setup",
    "ind_latents",
    "ind_wave",
    "assign_programs",
    "programs_table",
    "write_programs",
    "program_truth_rows",
    "PROGRAM_NOTE",
]

_OUT = ("sts", "bo", "cs")
PROGRAM_NOTE = (
    " Individual programs (programs.csv): rows with area = a statement key that a program "
    "targets; att = mean over all the program's participants (attrition included) of the score "
    "(ind_guidance_<statement> and the staff outcomes) with minus without the program at that "
    "wave (same item-noise draws, same item non-response); att_sd = att / pooled SD of the "
    "observed baseline scores of participants and of workers in no program."
)


def _solve3(c: np.ndarray, r: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(c, r)
    except np.linalg.LinAlgError:  # pragma: no cover - corr3 was checked by a Cholesky
        raise UsageError("the latent correlations of STS, BO and CS are singular") from None


_GRID = np.linspace(-10.0, 10.0, 4001)


@lru_cache(maxsize=64)
def _curve(model) -> tuple[np.ndarray, float, float]:
    """Expected sum score on :data:`_GRID`, and the score's mean and SD at baseline."""
    mean, sd, _ = model.moments()
    return model.conditional(_GRID)[0].sum(axis=1), mean, sd


def _observed_corr(a, b, rho: float) -> float:
    """Correlation of two sum scores whose latents correlate ``rho`` (2-D quadrature).

    As :func:`stseval._latent.latent_correlation` computes it, with each expected
    score interpolated from a fine grid (error below 1e-6) so that 21 solves stay fast.
    """
    ca, ea, sa = _curve(a)
    cb, eb, sb = _curve(b)
    x = _NODES
    ma = np.interp(x, _GRID, ca)
    y = rho * x[:, None] + math.sqrt(max(1.0 - rho * rho, 0.0)) * x[None, :]
    mb = np.interp(y.ravel(), _GRID, cb).reshape(y.shape)
    w2 = _WEIGHTS[:, None] * _WEIGHTS[None, :]
    return float((w2 * (ma[:, None] - ea) * (mb - eb)).sum()) / (sa * sb)


def _latent_r(a, b, target: float) -> float:
    """Latent correlation giving observed correlation ``target`` (ValueError if out of reach)."""
    if target == 0:
        return 0.0
    edge = 0.999 if target > 0 else -0.999
    hi = _observed_corr(a, b, edge)
    if abs(target) >= abs(hi):
        raise ValueError(
            f"an observed correlation of {target} is beyond the reach of these "
            f"scales' reliabilities (at most {hi:.3f})"
        )
    lo, up = sorted((0.0, edge))
    return float(brentq(lambda r: _observed_corr(a, b, r) - target, lo, up, xtol=1e-10))


def ind_setup(design, models, corr3: np.ndarray) -> SimpleNamespace:
    """Coefficients ``a`` (7 x 3) and residual weights (7 x 4: org, team, person, occasion)."""
    spec = design.ind_guidance
    outs = [models[("proqol", k)] for k in _OUT]
    a = np.zeros((len(STATEMENT_KEYS), 3))
    weights = np.zeros((len(STATEMENT_KEYS), 4))
    for j, key in enumerate(STATEMENT_KEYS):
        model = models[("ind_guidance", key)]
        target = spec.correlations[key]
        try:
            r = np.array([_latent_r(model, outs[i], target[k]) for i, k in enumerate(_OUT)])
        except ValueError as exc:
            raise UsageError(f"design ind_guidance.correlations.{key}: {exc}") from None
        a[j] = _solve3(corr3, r)
        r2 = float(a[j] @ r)
        o = (spec.icc_org - r2 * design.icc_org) / (1 - r2) if r2 < 1 else -1.0
        t = (spec.icc_team - r2 * design.icc_team) / (1 - r2) if r2 < 1 else -1.0
        p = design.prepost_r - o - t
        if r2 >= 1 or min(o, t, p) < 0:
            raise UsageError(
                f"design ind_guidance: statement {key} cannot have latent ICCs "
                f"{spec.icc_org}/{spec.icc_team} with its correlations (explained share "
                f"{r2:.2f} of its variance; lower the ICCs or raise them toward icc_org/icc_team)"
            )
        k = math.sqrt(1 - r2)
        weights[j] = [k * math.sqrt(o), k * math.sqrt(t), k * math.sqrt(p)] + [
            k * math.sqrt(1 - design.prepost_r)
        ]
    return SimpleNamespace(a=a, w=weights)


def ind_latents(rng, s, lat, ind) -> None:
    """Draw the lasting statement components (org, team, person) into ``lat.ind_stable``."""
    n_st = len(STATEMENT_KEYS)
    g = rng.standard_normal((s.n_org, n_st))
    h = rng.standard_normal((len(s.team_org), n_st))
    q = rng.standard_normal((s.n, n_st))
    lat.ind_stable = ind.w[:, 0] * g[s.worker_org] + ind.w[:, 1] * h[s.worker_team]
    lat.ind_stable += ind.w[:, 2] * q


def ind_wave(rng, lat, ind, z: np.ndarray) -> np.ndarray:
    """Latent statements (n x 7) at one wave from the outcome latents ``z`` (n x 3)."""
    eps = rng.standard_normal((z.shape[0], len(STATEMENT_KEYS)))
    out = lat.ind_stable + ind.w[:, 3] * eps
    for k in range(3):  # element-wise, in a fixed order
        out += z[:, k : k + 1] * ind.a[:, k]
    return out


def _units(p, s, lat):
    """Baseline latent STS of each unit of program ``p`` (teams or workers)."""
    return lat.u_team[:, 0] if p.unit == "team" else lat.stable[:, 0]


def assign_programs(design, rng, s, lat) -> None:
    """Participants and latent shifts of every program (sets ``s.prog_*``, ``lat.prog_*``)."""
    s.prog_members, s.prog_units = [], []
    n_st = len(STATEMENT_KEYS)
    lat.prog_out = [np.zeros((s.n, 3)) for _ in design.programs]
    lat.prog_ind = [np.zeros((s.n, n_st)) for _ in design.programs]
    for i, p in enumerate(design.programs):
        level = _units(p, s, lat)
        n_units = len(level)
        k = max(1, int(round(p.share * n_units)))
        keys = p.selection_strength * level / max(float(np.std(level)), 1e-12)
        keys = keys + rng.gumbel(size=n_units)
        chosen = np.sort(np.argsort(-keys, kind="mergesort")[:k])
        on = np.zeros(n_units, dtype=bool)
        on[chosen] = True
        member = on[s.worker_team] if p.unit == "team" else on
        s.prog_units.append(chosen)
        s.prog_members.append(member)
        out = np.array([p.outcome_effects.get(key, 0.0) for key in ("sts", "bo", "cs")])
        ind = np.array([p.effect_on(key) for key in STATEMENT_KEYS])
        lat.prog_out[i] = member[:, None] * out[None, :]
        lat.prog_ind[i] = member[:, None] * ind[None, :]


def programs_table(design, s, tid, wid) -> pd.DataFrame | None:
    """``programs.csv``: one row per program, targeted statement and participating unit."""
    if not design.programs:
        return None
    parts = []
    for p, units in zip(design.programs, s.prog_units, strict=True):
        ids = (tid if p.unit == "team" else wid).take(units)
        day = pd.Timestamp(p.start_date or design.start_date)
        for st in p.statements:
            blank = pd.array([""] * len(units), dtype="str")
            parts.append(
                pd.DataFrame(
                    {
                        "program": p.name,
                        "statement": st,
                        "start_date": day,
                        "team_id": ids if p.unit == "team" else blank,
                        "worker_id": blank if p.unit == "team" else ids,
                    }
                )
            )
    out = pd.concat(parts, ignore_index=True)
    out["start_date"] = out["start_date"].dt.strftime("%Y-%m-%d")
    return out


def program_truth_rows(design, s, diffs, pre_score, pooled_sd) -> list[tuple]:
    """Truth rows ``(statement, outcome, estimand, value, wave, cohort)`` of the programs.

    ``pre_score(key, scale)`` gives every worker's observed baseline score;
    ``pooled_sd(a, b)`` the pooled SD of two samples.
    """
    names = design.wave_names
    anyp = np.zeros(s.n, dtype=bool)
    for member in s.prog_members:
        anyp |= member
    plan = [("stss", "total"), ("proqol", "sts"), ("proqol", "bo"), ("proqol", "cs")]
    out = []
    for w, entries in sorted(diffs.items()):
        for label, _, d in entries:
            if not (isinstance(label, tuple) and label[0] == "program"):
                continue
            i = label[1]
            for st in design.programs[i].statements:
                for key, scale in [("ind_guidance", st), *plan]:
                    pre = pre_score(key, scale)
                    sd = pooled_sd(pre[s.prog_members[i]], pre[~anyp])
                    diff = d[(key, scale)]
                    ok = ~np.isnan(diff)
                    att = float(np.mean(diff[ok])) if ok.any() else float("nan")
                    col = f"{key}_{scale}"
                    out.append((st, col, "att", att, names[w], ""))
                    out.append(
                        (st, col, "att_sd", att / sd if sd > 0 else float("nan"), names[w], "")
                    )
    return out


def write_programs(study, folder: Path) -> None:
    """``programs.csv`` of a simulated study with individual programs (removed when it has none).

    ``Study.to_dir`` does not know the table yet; rows sorted by program,
    statement, team and worker, LF line endings, like the other tables.
    """
    target = Path(folder) / "programs.csv"
    programs = getattr(study, "programs", None)
    if programs is None:
        if target.exists():
            target.unlink()
        return
    keys = ["program", "statement", "team_id", "worker_id"]
    frame = programs.sort_values(keys, kind="mergesort")
    target.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
