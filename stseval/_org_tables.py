"""The protected tables of one organization's report (see :mod:`stseval.org_reports`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .areas import AREA_KEYS, STAFF_OUTCOMES, get_area, outcome_label
from .disclosure import AUDIT_COLUMNS, CellTable, other_org_bands, protect_tables
from .errors import UsageError

__all__ = ["OrgReport", "change_interval", "org_practice_means", "org_report_tables"]


@dataclass
class OrgReport:
    """Everything one organization's report prints (already protected).

    Attributes
    ----------
    org_id, name : str
        The organization (only ``name``, its pseudonymous name, is printed).
    outcomes : DataFrame
        ``outcome, label, wave, n, mean, change, ci_low, ci_high, all_orgs_mean, note``.
    bands : DataFrame
        ``outcome, label, wave, band, n, share, note`` (share in %, NaN when hidden).
    profile : DataFrame
        ``area, title, n, mean, others_orgs, band_low, band_high, position, percentile,
        band_text, note``.
    findings : DataFrame
        The study's estimate for each area this organization changed (may be empty).
    audit : DataFrame
        ``table, cell, rule`` rows of this report.
    facts : dict
        ``staff_invited`` (None when below min_cell), ``changed`` (area titles),
        ``min_cell``, ``min_orgs``, ``confidence``, ``waves``, ``study``, ``synthetic``.
    """

    org_id: str
    name: str
    outcomes: pd.DataFrame
    bands: pd.DataFrame
    profile: pd.DataFrame
    findings: pd.DataFrame
    audit: pd.DataFrame
    facts: dict


def change_interval(a, b, *, pairs=None, confidence: float = 0.95) -> dict:
    """Difference of two wave means (``b`` minus ``a``) with an overlap-aware t interval.

    Parameters
    ----------
    a, b : array-like
        The scores of the respondents in the earlier and later wave (NaN dropped).
    pairs : (array-like, array-like), optional
        The two scores of the staff who answered both waves (same order), to allow for
        their correlation. None: the waves are treated as independent samples.
    confidence : float
        Level of the interval.

    Returns
    -------
    dict
        ``change`` (mean(b) - mean(a)), ``se``, ``df`` (min(n_a, n_b) - 1), ``ci_low``,
        ``ci_high`` (NaN when a wave has fewer than 2 scores). Formula in the module
        docstring.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    na, nb = len(a), len(b)
    out = dict(change=np.nan, se=np.nan, df=np.nan, ci_low=np.nan, ci_high=np.nan)
    if na < 2 or nb < 2:
        return out
    var = a.var(ddof=1) / na + b.var(ddof=1) / nb
    if pairs is not None:
        pa, pb = (np.asarray(p, dtype=float) for p in pairs)
        ok = np.isfinite(pa) & np.isfinite(pb)
        n_ab = int(ok.sum())
        if n_ab >= 2:
            var -= 2 * n_ab * np.cov(pa[ok], pb[ok], ddof=1)[0, 1] / (na * nb)
    se = float(np.sqrt(max(var, 0.0)))
    df = min(na, nb) - 1
    q = stats.t.ppf(0.5 + confidence / 2, df)
    change = float(b.mean() - a.mean())
    return dict(change=change, se=se, df=df, ci_low=change - q * se, ci_high=change + q * se)


# -- the tables of one organization ---------------------------------------------------------
def _wave_rows(frame: pd.DataFrame, waves) -> dict:
    """Row masks of each wave (one comparison per wave instead of one per column and wave)."""
    wave = frame["wave"].to_numpy()
    return {w: wave == w for w in waves}


def _outcome_rows(mine: pd.DataFrame, scored: pd.DataFrame, waves, outcomes, show_all: bool):
    rows = []
    mine_w, all_w = _wave_rows(mine, waves), (_wave_rows(scored, waves) if show_all else {})
    for out in outcomes:
        col = mine[out].to_numpy(dtype=float)
        everyone = scored[out].to_numpy(dtype=float) if show_all else None
        for wave in waves:
            vals = col[mine_w[wave]]
            vals = vals[~np.isnan(vals)]
            if show_all:
                e = everyone[all_w[wave]]
                e = e[~np.isnan(e)]
                all_mean = float(e.mean()) if len(e) else np.nan
            rows.append(
                dict(
                    outcome=out,
                    label=outcome_label(out),
                    wave=wave,
                    n=len(vals),
                    mean=float(vals.mean()) if len(vals) else 0.0,
                    all_orgs_mean=all_mean if show_all else np.nan,
                )
            )
    return pd.DataFrame(rows)


def _band_rows(mine: pd.DataFrame, study, waves, outcomes) -> pd.DataFrame:
    rows = []
    masks = _wave_rows(mine, waves)
    for out in outcomes:
        col = f"{out}_band"
        if col not in mine.columns:
            continue
        labels = _band_labels(study, out)
        answered = mine[out].notna().to_numpy()
        bands = mine[col].to_numpy(dtype=object)
        for wave in waves:
            w = bands[masks[wave] & answered]
            w = w[pd.notna(w)]
            counts = dict(zip(*np.unique(w.astype(str), return_counts=True), strict=True))
            for band in labels:
                rows.append(dict(outcome=out, wave=wave, band=band, n=int(counts.get(band, 0))))
            rows.append(dict(outcome=out, wave=wave, band="Total", n=len(w)))
    return pd.DataFrame(rows, columns=["outcome", "wave", "band", "n"])


def _band_labels(study, outcome: str) -> list[str]:
    """Band labels of a score column, low to high, from its instrument's default band set."""
    for inst in study.instrument_objects():
        scale = outcome.removeprefix(f"{inst.key}_")
        if scale == outcome or scale not in inst.scales:
            continue
        name = inst.default_band_set()
        if name:
            return [b.label for b in inst.band_sets[name].bands]
    return []


def _profile_rows(mine, others_means, wave, present) -> pd.DataFrame:
    w = mine[mine["wave"] == wave]
    rows = []
    for col in present:
        vals = w[col].dropna()
        rows.append(
            dict(outcome=col, wave=wave, n=len(vals), mean=float(vals.mean()) if len(vals) else 0.0)
        )
    return pd.DataFrame(rows, columns=["outcome", "wave", "n", "mean"])


def _protect(outcomes, bands, practice, min_cell: int, org_label: str):
    by_wave = {"mean": "{outcome}_{wave}"}
    tables = [CellTable("outcomes", outcomes, dims=["outcome", "wave"], means=by_wave)]
    if len(bands):
        tables.append(CellTable("bands", bands, dims=["outcome", "wave", "band"]))
    if len(practice):
        tables.append(CellTable("practice", practice, dims=["outcome", "wave"], means=by_wave))
    prot = protect_tables(tables, min_cell=min_cell, decimals=1)
    audit = prot.audit.copy()
    audit["table"] = f"org report {org_label}: " + audit["table"].astype(str)
    return prot.tables, audit


def _changes(outcomes: pd.DataFrame, mine: pd.DataFrame, waves, linked: bool, confidence):
    """Change since the first wave, only where both wave means are published."""
    out = outcomes.copy()
    first = waves[0]
    shown = {
        (o, w): np.isfinite(m)
        for o, w, m in zip(out["outcome"], out["wave"], out["mean"], strict=True)
    }
    wave_of, ids = mine["wave"].to_numpy(), mine["worker_id"].to_numpy()
    found = np.full((len(out), 3), np.nan)
    for i, (col, wave) in enumerate(zip(out["outcome"], out["wave"], strict=True)):
        if wave == first or not (shown[(col, wave)] and shown.get((col, first), False)):
            continue
        values = mine[col].to_numpy(dtype=float)
        answered = ~np.isnan(values)
        in_a, in_b = answered & (wave_of == first), answered & (wave_of == wave)
        a, b = values[in_a], values[in_b]
        pairs = None
        if linked:  # the same worker in both waves, matched by worker_id
            _, ia, ib = np.intersect1d(
                ids[in_a].astype(str), ids[in_b].astype(str), return_indices=True
            )
            pairs = (a[ia], b[ib])
        ci = change_interval(a, b, pairs=pairs, confidence=confidence)
        found[i] = (ci["change"], ci["ci_low"], ci["ci_high"])
    out[["change", "ci_low", "ci_high"]] = found
    return out


def _profile(practice_pub, others_means, own_org, min_orgs, label):
    rows, audits = [], []
    for rec in practice_pub.to_dict("records"):
        col = rec["outcome"]
        area = col.removeprefix("org_guidance_")
        others = others_means[col].drop(index=own_org, errors="ignore").dropna()
        own = rec["mean"] if np.isfinite(rec["mean"]) else None
        band, audit = other_org_bands(
            others.to_numpy(),
            own=own,
            min_orgs=min_orgs,
            decimals=1,
            table=f"org report {label}: {area}",
        )
        b = band.iloc[0]
        pct = np.nan
        if b["shown"] and own is not None:
            pct = float(np.round(100 * (others < own).mean()))
        rows.append(
            dict(
                area=area,
                title=get_area(area).title,
                n=rec["n"],
                mean=rec["mean"],
                others_orgs=int(b["n_orgs"]),
                band_low=b["low"],
                band_high=b["high"],
                position=b["position"],
                percentile=pct,
                band_text=b["text"],
                note=rec["note"],
            )
        )
        audits.append(audit)
    return pd.DataFrame(rows), audits


def org_report_tables(
    study,
    org_id: str,
    *,
    scored: pd.DataFrame | None = None,
    org_rows: pd.DataFrame | None = None,
    others_means: pd.DataFrame | None = None,
    estimates: pd.DataFrame | None = None,
    min_cell: int | None = None,
    min_orgs: int | None = None,
    confidence: float = 0.95,
) -> OrgReport:
    """The protected tables of one organization's report.

    Parameters
    ----------
    study : Study
    org_id : str
        An ``org_id`` of orgs.csv.
    scored, others_means : DataFrame, optional
        ``study.scored()`` and :func:`org_practice_means` computed once for many
        organizations (computed here when absent); ``org_rows``: this organization's
        rows of ``scored`` (taken from ``scored`` when absent).
    estimates : DataFrame, optional
        The run's estimates table: the report quotes the study's estimate for each area
        the organization changed.
    min_cell, min_orgs : int, optional
        Default: the study's (study.yaml); ``min_orgs`` defaults to 10.
    confidence : float
        Level of the change intervals.

    Returns
    -------
    OrgReport
        Tables as described in :class:`OrgReport`.

    Raises
    ------
    UsageError
        Unknown organization.
    stseval.disclosure.DisclosureError
        A small cell cannot be protected (nothing may be published).
    """
    org_id = str(org_id)
    orgs = study.orgs[study.orgs["org_id"].astype(str) == org_id]
    if orgs.empty:
        raise UsageError(f"org_id {org_id!r} is not an organization of this study (orgs.csv)")
    min_cell = int(min_cell or study.min_cell)
    min_orgs = int(min_orgs or study.min_orgs or 10)
    scored = study.scored() if scored is None else scored
    if others_means is None:
        others_means = org_practice_means(scored, study.waves[-1], min_cell)
    waves = list(study.waves)
    cols = set(scored.columns)
    outcomes_present = [o for o in STAFF_OUTCOMES if o in cols]
    mine = scored[scored["org_id"].astype(str) == org_id] if org_rows is None else org_rows
    n_others = scored["org_id"].nunique() - 1
    outcomes = _outcome_rows(mine, scored, waves, outcomes_present, n_others >= min_orgs)
    bands = _band_rows(mine, study, waves, outcomes_present)
    present = [f"org_guidance_{a}" for a in AREA_KEYS if f"org_guidance_{a}" in cols]
    practice = _profile_rows(mine, others_means, waves[-1], present)
    label = str(orgs["name"].iloc[0])
    pub, audit = _protect(outcomes, bands, practice, min_cell, label)
    linked = getattr(getattr(study, "design", None), "linkage", "linked") == "linked"
    out_tab = _changes(_blank_empty(pub["outcomes"]), mine, waves, linked, confidence)
    out_tab["note"] = out_tab["note"].astype(str)
    band_tab = _shares(pub["bands"]) if "bands" in pub else _shares(bands.assign(note=""))
    profile, band_audits = _profile(
        _blank_empty(pub["practice"]) if "practice" in pub else practice.assign(note=""),
        others_means,
        org_id,
        min_orgs,
        label,
    )
    audit = pd.concat([audit, *band_audits], ignore_index=True).reindex(columns=AUDIT_COLUMNS)
    size = int((study.workers["org_id"].astype(str) == org_id).sum())
    facts = dict(
        staff_invited=size if size >= min_cell else None,
        changed=_changed(study, org_id),
        min_cell=min_cell,
        min_orgs=min_orgs,
        confidence=confidence,
        waves=waves,
        study=study.name,
        synthetic=bool(study.is_synthetic),
    )
    findings = _findings(estimates, study, org_id)
    return OrgReport(org_id, label, out_tab, band_tab, profile, findings, audit, facts)


def _blank_empty(table: pd.DataFrame) -> pd.DataFrame:
    """Means of nobody (n = 0) are not numbers: blank them."""
    t = table.copy()
    t.loc[t["n"].fillna(-1) == 0, "mean"] = np.nan
    return t


def _shares(bands: pd.DataFrame) -> pd.DataFrame:
    t = bands.copy()
    if t.empty:
        return t.assign(label=[], share=[])
    totals = t[t["band"] == "Total"].set_index(["outcome", "wave"])["n"]
    keys = list(zip(t["outcome"], t["wave"], strict=True))
    tot = np.array([totals.get(k, np.nan) for k in keys], dtype=float)
    t["share"] = np.where(tot > 0, 100 * t["n"].astype(float) / tot, np.nan)
    t["label"] = t["outcome"].map(outcome_label)
    return t


def _changed(study, org_id: str) -> list[str]:
    iv = study.interventions
    areas = iv.loc[iv["org_id"].astype(str) == org_id, "area"].dropna().unique()
    return [get_area(a).title for a in areas if a in AREA_KEYS]


def org_practice_means(scored: pd.DataFrame, wave, min_cell: int) -> pd.DataFrame:
    """Each organization's mean practice rating per area in ``wave`` (orgs >= min_cell only)."""
    cols = [c for c in scored.columns if c.startswith("org_guidance_") and c[13:] in AREA_KEYS]
    w = scored[scored["wave"] == wave]
    g = w.groupby(w["org_id"].astype(str))
    means = g[cols].mean()
    counts = g[cols].count()
    return means.where(counts >= min_cell)


def _findings(estimates, study, org_id: str) -> pd.DataFrame:
    """The study's estimate on the primary outcome for each area this organization changed."""
    cols = ["area", "outcome", "estimator", "estimate", "ci_low", "ci_high", "verdict"]
    if estimates is None or estimates.empty:
        return pd.DataFrame(columns=cols)
    iv = study.interventions
    areas = set(iv.loc[iv["org_id"].astype(str) == org_id, "area"])
    e = estimates[estimates["area"].isin(areas) & (estimates["outcome"] == "stss_total")]
    preferred = e[e["estimator"] == "ancova"]
    e = preferred if len(preferred) else e.drop_duplicates("area")
    return e.reindex(columns=cols).reset_index(drop=True)
