"""Data preparation for :mod:`stseval.dose`: long scores, organization changes, weighted fits.

Private. Turns a :class:`~stseval.study.Study` or a long frame of scores into
one shape (``worker_id, org_id, wave (0/1), y, p, <covariates>, treated``) and
aggregates it to one row per organization.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from .areas import ORG_AREAS
from .errors import UsageError

__all__: list[str] = []

_ID_COLUMNS = ("worker_id", "org_id", "wave")


def _default_practice(scored: pd.DataFrame, area: str) -> str:
    """``org_guidance_<area>`` when present, else the STSI-OA total."""
    own = ORG_AREAS[area].practice_scale if area in ORG_AREAS else f"org_guidance_{area}"
    for col in (own, "stsioa_total"):
        if col in scored.columns and scored[col].notna().any():
            return col
    raise UsageError(
        f"no practice score for area {area!r}: neither {own!r} nor 'stsioa_total' has "
        "answers; pass practice=<a score column>"
    )


def _frame_waves(frame: pd.DataFrame, waves) -> tuple[str, str]:
    if waves is not None:
        waves = [str(w) for w in waves]
        if len(waves) != 2:
            raise UsageError(f"waves must name two waves (earlier, later); got {waves}")
        return waves[0], waves[1]
    present = list(pd.unique(frame["wave"].astype(str)))
    if set(present) >= {"pre", "post"}:
        return "pre", "post"
    raise UsageError(f"cannot tell the order of the waves {present}; pass waves=(earlier, later)")


def long_scores(data, area, outcome, *, practice, waves, covariates, orgs="arms"):
    """One row per response of the two waves: ``worker_id, org_id, wave, y, p, covs, treated``.

    Returns the frame, the practice column used and the two wave names.
    ``treated`` is 1 for the area's intervention orgs, 0 for comparison orgs
    (from ``study.arms``; from a ``treated`` column of a frame; NaN if unknown).
    """
    if orgs not in ("arms", "all"):
        raise UsageError(f"orgs must be 'arms' or 'all'; got {orgs!r}")
    covariates = list(covariates)
    if isinstance(data, pd.DataFrame):
        scored = data
        w0, w1 = _frame_waves(scored, waves)
        arm = None
        if "treated" in scored.columns:
            arm = scored.groupby("org_id")["treated"].first()
    elif hasattr(data, "scored") and hasattr(data, "arms"):
        scored = _with_response_columns(data, data.scored(), covariates)
        chosen = [str(w) for w in waves] if waves is not None else list(data.waves[:2])
        if len(chosen) != 2 or not set(chosen) <= set(data.waves):
            raise UsageError(
                f"dose-response needs two waves of the study ({', '.join(data.waves)}); "
                f"got {chosen}"
            )
        w0, w1 = chosen
        arms = data.arms(area)
        arm = arms.set_index("org_id")["arm"].eq("intervention").astype(float)
        if orgs == "arms":
            scored = scored[scored["org_id"].isin(arm.index)]
    else:
        raise UsageError(
            f"data must be a Study or a pandas DataFrame of scores; got {type(data).__name__}"
        )
    practice = practice or _default_practice(scored, area)
    need = list(_ID_COLUMNS) + [outcome, practice] + covariates
    missing = [c for c in need if c not in scored.columns]
    if missing:
        raise UsageError(
            f"the scores have no column {', '.join(map(repr, missing))}; "
            f"columns are {', '.join(map(str, scored.columns))}"
        )
    d = scored.loc[scored["wave"].astype(str).isin([w0, w1]), need].copy()
    for c in [outcome, practice, *covariates]:
        d[c] = pd.to_numeric(d[c], errors="coerce")
    d = d.dropna(subset=[outcome, practice, *covariates])
    d = d.rename(columns={outcome: "y", practice: "p"})
    d["wave"] = (d["wave"].astype(str) == w1).astype(int)
    d["worker_id"] = d["worker_id"].astype(str)
    d["org_id"] = d["org_id"].astype(str)
    d["treated"] = d["org_id"].map(arm).astype(float) if arm is not None else np.nan
    return d.reset_index(drop=True), practice, (w0, w1)


def _with_response_columns(study, scored: pd.DataFrame, covariates) -> pd.DataFrame:
    """``scored`` plus the ``covariates`` that are not scores, read from ``study.responses``.

    ``Study.scored()`` carries scores only; a measured non-item column of
    ``responses.csv`` (e.g. ``caseload``) is joined on ``worker_id`` and ``wave``.
    """
    extra = [c for c in covariates if c not in scored.columns]
    if not extra:
        return scored
    resp = study.responses
    missing = [c for c in extra if c not in resp.columns]
    if missing:
        raise UsageError(
            f"covariate(s) {', '.join(map(repr, missing))} are neither a score nor a column "
            "of responses.csv; add the column to responses.csv (one value per worker and wave)"
        )
    cols = resp[["worker_id", "wave", *extra]].copy()
    cols["worker_id"] = cols["worker_id"].astype(str)
    cols["wave"] = cols["wave"].astype(str)
    dup = cols.duplicated(["worker_id", "wave"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise UsageError(
            f"responses.csv has more than one row for worker {cols['worker_id'].iloc[i]!r} at "
            f"wave {cols['wave'].iloc[i]!r}; cannot attach covariate(s) {extra}"
        )
    for c in extra:
        num = pd.to_numeric(cols[c], errors="coerce")
        bad = num.isna() & cols[c].notna() & (cols[c].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UsageError(
                f"responses.csv column {c!r} must be numeric; row {i + 2} has {cols[c].iloc[i]!r}"
            )
        cols[c] = num
    out = scored.copy()
    key = out["worker_id"].astype(str) + "\x00" + out["wave"].astype(str)
    lookup = cols.set_index(cols["worker_id"] + "\x00" + cols["wave"])
    for c in extra:
        out[c] = key.map(lookup[c]).to_numpy()
    return out


def panel_rows(long: pd.DataFrame, change: str) -> tuple[pd.DataFrame, str, bool]:
    """Keep only workers who answered both waves (``change="panel"``, or ``"auto"`` when
    any worker did); returns the rows, the words for ``method`` and whether it is a panel."""
    if change not in ("auto", "panel", "cross_section"):
        raise UsageError(f"change must be 'auto', 'panel' or 'cross_section'; got {change!r}")
    both = long.groupby(["org_id", "worker_id"])["wave"].transform("nunique") == 2
    if change == "cross_section" or (change == "auto" and not both.any()):
        return long, "org means over each wave's respondents", False
    how = "mean within-worker change of workers with both waves"
    return long[both].reset_index(drop=True), how, True


def org_changes(
    long: pd.DataFrame, covariates, min_cell: int, *, panel: bool = False
) -> tuple[pd.DataFrame, int]:
    """One row per organization with both waves: wave means, changes, weight.

    Columns ``org_id, n_pre, n_post, n_workers, dp, dy, d_<cov>..., w, treated,
    noise_dp``; ``noise_dp`` is the sampling variance of ``dp`` as an estimate of
    the organization's change: var of the workers' own changes / n (``panel``),
    else s2_pre / n_pre + s2_post / n_post.
    ``dp``/``dy`` = later-wave mean minus earlier-wave mean of practice and
    outcome over the respondents of each wave; ``w = 2 / (1/n_pre + 1/n_post)``
    (equals the number of respondents when both waves have the same number).
    Organizations with fewer than ``min_cell`` respondents in a wave are
    dropped; their count is returned.
    """
    codes, orgs = pd.factorize(long["org_id"], sort=True)
    G = len(orgs)
    cell = codes * 2 + long["wave"].to_numpy()
    n = np.bincount(cell, minlength=2 * G).reshape(G, 2)  # one row per worker and wave
    keep = (n[:, 0] >= min_cell) & (n[:, 1] >= min_cell)
    out = pd.DataFrame({"org_id": orgs[keep], "n_pre": n[keep, 0], "n_post": n[keep, 1]})
    wk = pd.factorize(long["worker_id"])[0]
    pairs = np.unique(np.column_stack([codes, wk]), axis=0)
    out["n_workers"] = np.bincount(pairs[:, 0], minlength=G)[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        for c, name in [("p", "dp"), ("y", "dy")] + [(c, f"d_{c}") for c in covariates]:
            m = np.bincount(cell, long[c].to_numpy(float), 2 * G).reshape(G, 2) / n
            out[name] = (m[:, 1] - m[:, 0])[keep]
    out["w"] = 2.0 / (1.0 / out["n_pre"] + 1.0 / out["n_post"])
    treated = np.full(G, np.nan)
    treated[codes] = long["treated"].to_numpy(float)
    out["treated"] = treated[keep]
    out["noise_dp"] = _noise(long, codes, cell, n, panel)[keep]
    return out, int((~keep).sum())


def _noise(long, codes, cell, n, panel) -> np.ndarray:
    G = n.shape[0]
    p = long["p"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if panel:
            sign = np.where(long["wave"].to_numpy() == 1, 1.0, -1.0)
            wk = pd.factorize(long["org_id"] + "\x00" + long["worker_id"])[0]
            d = np.bincount(wk, sign * p)
            org_of = np.zeros(len(d), dtype=int)
            org_of[wk] = codes
            k = np.bincount(org_of, minlength=G).astype(float)
            m = np.bincount(org_of, d, G) / k
            return (np.bincount(org_of, d**2, G) - k * m**2) / (k - 1) / k
        s1 = np.bincount(cell, p, 2 * G).reshape(G, 2)
        s2 = np.bincount(cell, p**2, 2 * G).reshape(G, 2)
        var = (s2 - s1**2 / n) / (n - 1)
        return (var / n).sum(axis=1)


def wls_cr2(X: np.ndarray, y: np.ndarray, w: np.ndarray, col: int):
    """Weighted least squares, CR2 (= HC2, each row its own cluster) SE, Bell-McCaffrey df.

    Returns estimate, se, df. The fit is OLS on ``sqrt(w) X``, ``sqrt(w) y``; the
    df is the Satterthwaite approximation of Bell & McCaffrey (2002), which
    Imbens & Kolesar (2016) recommend with HC2 when a few rows have high leverage
    (t on G - k alone rejected a true null about 7% of the time at 5% in our
    simulation with 24 organizations in two arms).
    """
    s = np.sqrt(np.asarray(w, float))
    fit = _cluster.ols(X * s[:, None], y * s, np.arange(len(y)))
    V = _cluster.vcov(fit, "CR2")
    c = np.zeros(X.shape[1])
    c[col] = 1.0
    dfree = _cluster.satterthwaite_df(fit, "CR2", c)
    return float(fit.beta[col]), float(np.sqrt(max(V[col, col], 0.0))), float(dfree)


def change_reliability(ch: pd.DataFrame, Z: np.ndarray | None = None) -> float:
    """Share of the weighted variance of ``dp`` across organizations that is not noise.

    ``1 - sum(u_g noise_g) / var_u(dp | Z)``, ``u_g = w_g / sum w``, where
    ``var_u(dp | Z) = G / (G - k) * sum u_g r_g^2`` and ``r`` are the residuals
    of the weighted regression of ``dp`` on the slope model's other columns
    ``Z`` (k columns; default the intercept alone: the weighted variance with
    the G/(G-1) factor). With the arm and covariate changes in ``Z`` this is
    the variation the slope actually uses; clipped to [0, 1]. The slope of
    ``dy`` on ``dp`` is attenuated toward zero by about this factor (regression
    dilution; Fuller 1987, section 1.1 and 2.2).
    """
    G = len(ch)
    Z = np.ones((G, 1)) if Z is None else np.asarray(Z, float)
    if G < Z.shape[1] + 2 or ch["noise_dp"].isna().any():
        return float("nan")
    u = ch["w"].to_numpy(float) / ch["w"].sum()
    dp = ch["dp"].to_numpy(float)
    s = np.sqrt(u)
    coef = np.linalg.lstsq(Z * s[:, None], dp * s, rcond=None)[0]
    var = G / (G - Z.shape[1]) * np.sum(u * (dp - Z @ coef) ** 2)
    if not var > 0:
        return float("nan")
    return float(np.clip(1 - np.sum(u * ch["noise_dp"].to_numpy(float)) / var, 0.0, 1.0))


def weighted_mean(v: np.ndarray, w: np.ndarray):
    """Weighted mean, sandwich SE with the G/(G-1) factor, df = G - 1.

    ``se^2 = G/(G-1) * sum_g u_g^2 (v_g - m)^2`` with ``u_g = w_g / sum w``:
    the CR1 SE of an intercept-only WLS fit; with equal weights the usual
    ``s / sqrt(G)``.
    """
    u = w / w.sum()
    m = float(np.sum(u * v))
    G = len(v)
    se = float(np.sqrt(G / (G - 1) * np.sum(u**2 * (v - m) ** 2))) if G > 1 else np.nan
    return m, se, float(G - 1)


def stratified_counts(T: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """(n_boot, G) counts: how often each organization is drawn, resampling within arm."""
    counts = np.zeros((n_boot, len(T)))
    rows = np.arange(n_boot)[:, None]
    for arm in (0.0, 1.0):
        idx = np.flatnonzero(T == arm)
        draw = idx[rng.integers(0, len(idx), size=(n_boot, len(idx)))]
        np.add.at(counts, (np.broadcast_to(rows, draw.shape), draw), 1.0)
    return counts


def _batched_wls(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """WLS coefficients for each row of weights ``W`` (B x G); NaN rows where singular."""
    with np.errstate(invalid="ignore", divide="ignore"):
        xtx = np.einsum("bg,gi,gj->bij", W, X, X)
        xty = np.einsum("bg,gi,g->bi", W, X, y)
        scale = np.abs(xtx).max(axis=(1, 2))
        det = np.linalg.det(xtx / scale[:, None, None])
        good = np.abs(det) > 1e-10
        beta = np.full((len(W), X.shape[1]), np.nan)
        beta[good] = np.linalg.solve(xtx[good], xty[good][..., None])[..., 0]
    return beta


def med_paths(T, M, Y, W: np.ndarray, C: np.ndarray | None = None) -> np.ndarray:
    """a, b, a*b, c', c'+a*b for each row of weights ``W`` (B x G), batched WLS.

    ``a``: coefficient of T in M ~ 1 + T (+ C); ``b``, ``c'``: coefficients of M and T in
    Y ~ 1 + T + M (+ C). With the same covariates and weights in both models,
    c' + a b is the coefficient of T in Y ~ 1 + T (+ C) (the product-of-coefficients identity).
    """
    ones = np.ones_like(T)
    extra = [] if C is None else [np.asarray(C, float).reshape(len(T), -1)]
    a = _batched_wls(W, np.column_stack([ones, T, *extra]), M)[:, 1]
    beta = _batched_wls(W, np.column_stack([ones, T, M, *extra]), Y)
    c_direct, b = beta[:, 1], beta[:, 2]
    return np.vstack([a, b, a * b, c_direct, c_direct + a * b])
