"""Aggregate tables for reports, small cells suppressed (part of :mod:`stseval.report`).

Every table is an aggregate of a :class:`~stseval.study.Study`; counts of workers
below the minimum cell size are blanked with :func:`stseval.privacy.suppress`
(primary and complementary suppression) and the row is marked in ``note``.
Use these through :mod:`stseval.report`.

Missing-data policy: descriptive tables use every non-missing score (a worker
with only a pre score counts at the pre wave); "analysed" in the participant
flow means a worker with both a pre and a post score on the outcome, the
sample of the primary (ANCOVA) estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import reshape
from ._report_disclosure import _RATES, FLOW_COLUMNS, SUMMARY_COLUMNS, _min_cell, protected_tables
from .areas import AREA_KEYS, STAFF_OUTCOMES, get_area, outcome_label
from .errors import UsageError

__all__ = [
    "FLOW_COLUMNS",
    "SUMMARY_COLUMNS",
    "indicator_summary",
    "item_table",
    "missing_item_rules",
    "org_outcomes",
    "outcome_label",
    "outcome_summary",
    "participant_flow",
    "practice_profile",
    "reliability_table",
    "study_ids",
]


def participant_flow(
    study, area: str | None = None, *, outcome: str | None = None, min_cell: int | None = None
) -> pd.DataFrame:
    """Participant flow (CONSORT-style counts) by arm.

    Parameters
    ----------
    study : Study
    area : str, optional
        An organizational area: its intervention and comparison organizations
        (:meth:`Study.arms`). None: organizations that changed any area
        (``intervention``) against those that changed none (``comparison``).
    outcome : str, optional
        Score column defining "analysed"; default the first staff outcome measured.
    min_cell : int, optional
        Default: the study's ``min_cell``.

    Returns
    -------
    DataFrame
        :data:`FLOW_COLUMNS`, one row per stage and arm. Stages, in order:
        ``invited`` (workers listed in ``workers.csv``), ``responded <wave>`` for
        the first two waves (any answer in that wave), ``analysed`` (a pre and a
        post ``outcome`` score). ``orgs`` counts organizations with at least one
        worker at the stage; ``workers`` and ``pct_of_invited`` are blanked where
        the count is below ``min_cell`` or would reveal such a cell (the arms of a
        stage add up to a total), with ``suppressed`` True and ``note`` saying why.
    """
    return protected_tables(study, area, outcome=outcome, min_cell=min_cell).flow


def outcome_summary(
    study, area: str, outcomes=None, *, confidence: float = 0.95, min_cell: int | None = None
) -> pd.DataFrame:
    """Mean score by arm and wave for each outcome of an area, small cells suppressed.

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`: ``workers`` with a score, ``mean``, ``sd`` and a
        t interval for the mean (``ci_low``, ``ci_high``; it ignores clustering
        and is descriptive only). Cells with fewer than ``min_cell`` workers, and
        the other arm of the same outcome and wave, are blanked and marked.
    """
    return protected_tables(
        study, area, outcomes=outcomes, confidence=confidence, min_cell=min_cell
    ).summary


def indicator_summary(study, area: str | None = None, *, pooled: bool = False) -> pd.DataFrame:
    """Monthly turnover and absence by arm, months counted from the start of the change.

    Parameters
    ----------
    area : str, optional
        One area's arms; None: every area with intervention organizations,
        stacked (``area`` column).
    pooled : bool
        With ``area`` None: average the areas into one series per arm
        (``area`` = ``"all"``), weighting each area by its organizations; the
        comparison organizations appear once per area, so ``orgs`` is their
        largest count rather than a sum.

    Returns
    -------
    DataFrame
        ``area, arm, rel_month, indicator, value, orgs``: the mean over
        organizations of ``separation_rate`` or ``absence_rate`` (see
        :meth:`Study.org_months`) per month relative to the start (0 = first
        month of the change). Organization-level figures: no worker counts.
    """
    cols = ["area", "arm", "rel_month", "indicator", "value", "orgs"]
    if study.org_metrics is None or not len(study.org_metrics):
        return pd.DataFrame(columns=cols)
    areas = (
        [area]
        if area is not None
        else [a for a in AREA_KEYS if (study.interventions["area"] == a).any()]
    )
    frames = []
    for a in areas:
        m = reshape.org_months(study, a)
        m = m.assign(arm=np.where(m["treated"] == 1, "intervention", "comparison"))
        long = m.melt(
            id_vars=["org_id", "arm", "rel_month"],
            value_vars=list(_RATES),
            var_name="indicator",
            value_name="rate",
        )
        g = (
            long.dropna(subset=["rel_month", "rate"])
            .groupby(["arm", "rel_month", "indicator"], as_index=False)
            .agg(value=("rate", "mean"), orgs=("org_id", "nunique"))
        )
        frames.append(g.assign(area=a))
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["rel_month"] = out["rel_month"].astype(int)
    if pooled and area is None:
        out["_w"] = out["value"] * out["orgs"]
        g = out.groupby(["arm", "rel_month", "indicator"], as_index=False).agg(
            _w=("_w", "sum"), n=("orgs", "sum"), orgs_sum=("orgs", "sum"), orgs_max=("orgs", "max")
        )
        g["value"] = g["_w"] / g["n"]
        g["orgs"] = np.where(g["arm"] == "comparison", g["orgs_max"], g["orgs_sum"])
        out = g.assign(area="all")
    return out[cols].reset_index(drop=True)


def reliability_table(
    study, *, wave: str | None = None, confidence: float = 0.95, n_boot: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega of every scale of the study's instruments.

    One response per worker (the first wave unless ``wave`` is given), items
    reverse-keyed, complete rows per scale (see :func:`stseval.reliability.alpha`).

    Returns
    -------
    DataFrame
        ``instrument, scale, column, k, n, alpha, alpha_ci_low, alpha_ci_high,
        omega, omega_ci_low, omega_ci_high, alpha_published, kit_authored``.
        Omega intervals are NaN unless ``n_boot`` > 0. Scales of fewer than 3
        items get NaN (omega needs 3; alpha is not reported for 2 either).
    """
    from .reliability import alpha, omega
    from .scoring import item_matrix

    wave = wave or study.waves[0]
    resp = study.responses[study.responses["wave"] == wave]
    rows = []
    for inst in study.instrument_objects():
        if not set(inst.item_columns) <= set(resp.columns):
            continue
        items = item_matrix(resp, inst)
        for name, scale in inst.scales.items():
            cols = [inst.item_columns[i - 1] for i in scale.items]
            row = {
                "instrument": inst.short_name,
                "scale": scale.label,
                "column": f"{inst.key}_{name}",
                "k": len(cols),
                "n": np.nan,
                "alpha_published": inst.published_reliability(name),
                "kit_authored": inst.kit_authored,
            }
            block = items[cols].dropna()
            if len(cols) >= 3 and len(block) >= 10:
                a = alpha(block, confidence=confidence).iloc[0]
                o = omega(block, n_boot=n_boot, confidence=confidence, random_state=seed).iloc[0]
                row.update(
                    n=int(a["n"]),
                    alpha=a["estimate"],
                    alpha_ci_low=a["ci_low"],
                    alpha_ci_high=a["ci_high"],
                    omega=o["estimate"],
                    omega_ci_low=o["ci_low"],
                    omega_ci_high=o["ci_high"],
                )
            rows.append(row)
    cols = [
        "instrument",
        "scale",
        "column",
        "k",
        "n",
        "alpha",
        "alpha_ci_low",
        "alpha_ci_high",
        "omega",
        "omega_ci_low",
        "omega_ci_high",
        "alpha_published",
        "kit_authored",
    ]
    return pd.DataFrame(rows).reindex(columns=cols)


def _org_means(study, columns, wave, min_cell):
    scored = study.scored()
    scored = scored[scored["wave"] == wave]
    g = scored.groupby("org_id")
    means = g[columns].mean()
    counts = g["worker_id"].nunique()
    return means[counts >= min_cell], counts


def practice_profile(
    study, org_id: str, *, wave: str | None = None, min_cell: int | None = None
) -> pd.DataFrame:
    """One organization's practice scores in the seven areas against all other organizations.

    Parameters
    ----------
    org_id : str
        The organization the profile is for.
    wave : str, optional
        Default: the last wave.

    Returns
    -------
    DataFrame
        One row per area: ``area, title, column, org_mean, workers, others_orgs,
        others_p25, others_median, others_p75, percentile`` (share of the other
        organizations scoring below this one, in whole %). Only organizations with at
        least ``min_cell`` respondents in the wave enter the distribution; for
        this organization, a smaller group blanks ``org_mean`` and ``workers``
        (``note`` says so). Other organizations are never named, and never described
        by an order statistic that equals one of their values (issue 12):
        ``others_p25`` / ``others_p75`` are the edges of
        :func:`stseval.disclosure.other_org_bands` (quartiles rounded outward to one
        decimal, moved off any organization's value), ``others_median`` is always NaN,
        and with fewer than ``min_orgs`` (study.yaml, default 10) other organizations
        the band and the percentile are NaN.
    """
    min_cell = _min_cell(study, min_cell)
    org_id = str(org_id)
    if org_id not in set(study.orgs["org_id"]):
        raise UsageError(
            f"org_id {org_id!r} is not an organization of this study "
            f"({len(study.orgs)} organizations in orgs.csv)"
        )
    wave = wave or study.waves[-1]
    cols = [f"org_guidance_{a}" for a in AREA_KEYS]
    present = [c for c in cols if c in set(study.score_columns())]
    if not present:
        raise UsageError(
            "the study has no Organizational Guidance Inventory scores "
            "(instrument org_guidance); no practice profile can be drawn"
        )
    from .disclosure import other_org_bands

    means, counts = _org_means(study, present, wave, min_cell)
    n_org = int(counts.get(org_id, 0))
    min_orgs = getattr(study, "min_orgs", None) or 10
    rows = []
    for col in present:
        area = col.removeprefix("org_guidance_")
        others = means.drop(index=org_id, errors="ignore")[col].dropna()
        own = means[col].get(org_id, np.nan) if n_org >= min_cell else np.nan
        band, _ = other_org_bands(
            others.to_numpy(), own=own if np.isfinite(own) else None, min_orgs=min_orgs, decimals=1
        )
        b = band.iloc[0]
        notes = (
            []
            if n_org >= min_cell
            else [f"suppressed: fewer than {min_cell} respondents in wave {wave}"]
        )
        if not b["shown"]:
            notes.append(f"others not shown: fewer than {min_orgs} other organizations")
        rows.append(
            {
                "area": area,
                "title": get_area(area).title,
                "column": col,
                "org_mean": own,
                "workers": n_org if n_org >= min_cell else np.nan,
                "others_orgs": len(others),
                "others_p25": b["low"],
                "others_median": np.nan,
                "others_p75": b["high"],
                "percentile": float(np.round(100 * float((others < own).mean())))
                if b["shown"] and np.isfinite(own)
                else np.nan,
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows)


def org_outcomes(study, org_id: str, outcomes=None, *, min_cell: int | None = None) -> pd.DataFrame:
    """One organization's staff outcomes by wave next to all organizations' average.

    Returns
    -------
    DataFrame
        ``outcome`` (its label, :func:`outcome_label`), ``wave, group, workers,
        mean, note``: ``group`` is ``"this organization"``
        or ``"all organizations"`` (every worker of the study). This
        organization's rows are blanked (``workers`` and ``mean`` NaN, ``note``
        says so) in a wave where fewer than ``min_cell`` of its staff answered.
    """
    min_cell = _min_cell(study, min_cell)
    org_id = str(org_id)
    outcomes = outcomes or [o for o in STAFF_OUTCOMES if o in set(study.score_columns())]
    scored = study.scored()
    rows = []
    for out in outcomes:
        for wave in study.waves:
            w = scored[scored["wave"] == wave]
            mine = w.loc[w["org_id"] == org_id, out].dropna()
            rest = w[out].dropna()
            small = 0 < len(mine) < min_cell or len(mine) == 0
            rows.append(
                {
                    "outcome": outcome_label(out),
                    "wave": wave,
                    "group": "this organization",
                    "workers": np.nan if small else len(mine),
                    "mean": np.nan if small else float(mine.mean()),
                    "note": f"suppressed: fewer than {min_cell} respondents" if small else "",
                }
            )
            rows.append(
                {
                    "outcome": outcome_label(out),
                    "wave": wave,
                    "group": "all organizations",
                    "workers": len(rest),
                    "mean": float(rest.mean()) if len(rest) else np.nan,
                    "note": "",
                }
            )
    out = pd.DataFrame(rows)
    out["wave"] = pd.Categorical(out["wave"], categories=study.waves, ordered=True)
    return out


def missing_item_rules(study) -> pd.DataFrame:
    """The missing-item rule of every scale: ``instrument, scale, items, needs, rule, source``."""
    rows = []
    for inst in study.instrument_objects():
        for name, scale in inst.scales.items():
            rule = inst.scale_rule(name)
            k = len(scale.items)
            need = rule.required(k)
            text = (
                "every item must be answered"
                if rule.rule == "complete" or need == k
                else f"at least {need} of {k} items answered; the score is prorated"
                if scale.method == "sum"
                else f"at least {need} of {k} items answered; mean of the answered items"
            )
            rows.append(
                {
                    "instrument": inst.short_name,
                    "scale": scale.label,
                    "items": k,
                    "needs": need,
                    "rule": text,
                    "source": rule.source,
                }
            )
    return pd.DataFrame(rows)


def item_table(answers: pd.DataFrame, inst) -> pd.DataFrame:
    """:func:`stseval.reliability.item_stats` for every scale of ``inst`` (reverse-keyed items).

    Returns ``scale, item, label, n, mean, sd, item_total_r, alpha_if_deleted,
    floor_share, ceiling_share``.
    """
    from .reliability import item_stats
    from .scoring import item_matrix

    items = item_matrix(answers, inst)
    frames = []
    for scale in inst.scales.values():
        if len(scale.items) < 3:
            continue
        cols = [inst.item_columns[i - 1] for i in scale.items]
        st = item_stats(items[cols], min_value=inst.response.min, max_value=inst.response.max)
        labels = {
            inst.item_columns[i.number - 1]: i.label + (" (R)" if i.reverse else "")
            for i in inst.items
        }
        st.insert(0, "scale", scale.label)
        st.insert(2, "label", st["item"].map(labels))
        frames.append(st)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def study_ids(study, *, keep_org: str | None = None, key: bytes | None = None) -> list[str]:
    """Every identifier in a study, for :func:`stseval.privacy.assert_no_leaks`.

    Worker, team and organization IDs, organization names (pseudonymous, but
    still not for a funder report), any other ``*_id`` or ``*pseudonym*``
    column of the workers table, and, when a pseudonymization ``key`` is given,
    the keyed pseudonyms of worker, team and organization IDs
    (:func:`stseval.privacy.pseudonymize`). ``keep_org`` leaves one
    organization's own ID and name out (its own feedback report names it).
    """
    from .privacy import DEFAULT_PSEUDONYM_COLUMNS, pseudonymize

    ids: set[str] = set()
    w = study.workers
    cols = [c for c in w.columns if c.endswith("_id") or "pseudonym" in c]
    for c in cols:
        ids |= set(w[c].dropna().astype(str))
    ids |= set(study.orgs["org_id"].dropna().astype(str))
    ids |= set(study.orgs["name"].dropna().astype(str))
    ids |= set(study.responses["worker_id"].dropna().astype(str))
    if key is not None:
        for col, prefix in DEFAULT_PSEUDONYM_COLUMNS.items():
            source = study.orgs if col == "org_id" else w
            ids |= set(
                pseudonymize(source[col].dropna().astype(str), key, prefix=prefix).astype(str)
            )
    if keep_org is not None:
        own = study.orgs[study.orgs["org_id"].astype(str) == str(keep_org)]
        ids -= set(own["org_id"].astype(str)) | set(own["name"].astype(str))
    return sorted(i for i in ids if i.strip())
