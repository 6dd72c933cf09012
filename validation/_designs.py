"""Per-design estimate step of the recovery study: one function per preset.

Each ``estimate_<kind>(study, area)`` returns a frame with :data:`EST_COLUMNS`:
the estimator's rows for the area's outcomes, and the truth estimand each row
targets (``estimand``: ``att`` unless said otherwise; the truth is looked up by
``area, outcome, estimand, wave, cohort``). :func:`estimate_design` dispatches
by preset. The design estimators are called directly (``stseval.no_comparison``,
``cross_section``, ``waves``, ``staggered``, ``teams``, ``linking``, ``dose``,
``individual``) on frames built with ``stseval.reshape.long``, so the study
does not depend on how ``evaluate_area`` wires them; the two-wave organization
designs use ``evaluate_area`` itself (what the report prints).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = [
    "EST_COLUMNS",
    "KEYS",
    "ROW_KEYS",
    "PRIMARY",
    "ESTIMAND_TEXT",
    "estimate_design",
    "set_outcomes",
    "staff_outcomes",
]

#: What one estimate row is of: with the preset and null flag, the key of the summary.
ROW_KEYS = ["area", "outcome", "estimator", "estimand", "wave", "cohort"]
#: Replications are summarized per design, null flag and :data:`ROW_KEYS`.
KEYS = ["preset", "null", *ROW_KEYS]

EST_COLUMNS = [
    *ROW_KEYS,
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "baseline_sd",
    "note",
]

#: The estimator the report leads with in each design (for staff outcomes).
PRIMARY = {
    "default": "ancova",
    "selected": "ancova",
    "single_org": "within_paired",
    "anonymous": "did_cross_section",
    "coded": "did_cross_section",
    "three_wave": "ancova_wave",
    "staggered": "att_overall",
    "team_rct": "team_did",
    "dose": "med_indirect",
    "individual": "ancova",
}

#: What each estimator targets (printed in RESULTS.md).
ESTIMAND_TEXT = {
    "ancova": "ATT at the post wave (intervention orgs' workers), adjusted for pre score",
    "did": "ATT at the post wave (difference in mean changes)",
    "paired_change": "change of the intervention arm (ATT + secular trend): naive",
    "org_practice": "ATT on the practice score, organization means",
    "within_paired": "change of the only (treated) organization: ATT + secular trend",
    "within_unlinked": "difference of wave means, no comparison: ATT + secular trend",
    "did_cross_section": "ATT at each later wave from all responses (no linkage needed)",
    "did_org_means": "ATT from respondent-weighted organization-mean changes",
    "ancova_wave": "ATT at each later wave, linked (or code-matched) workers",
    "wave_effect": "ATT at each later wave, one model of all waves",
    "att_gt": "ATT of start cohort g at wave t (Callaway-Sant'Anna)",
    "att_overall": "cohort-size-weighted mean over cohorts of their post-start ATTs",
    "twfe": "no clean estimand under staggered, growing effects (compared with att_overall)",
    "team_did": "ATT of the treated teams' workers, within organizations",
    "dose_org": "dose_slope (but pools arms: picks up the direct effect)",
    "med_b": "dose_slope: outcome points per practice point, arm held fixed",
    "med_indirect": "indirect effect (practice-carried part of the ATT)",
    "med_direct": "direct effect (ATT minus the practice-carried part)",
    "med_total": "ATT of the area (org-level, worker-weighted)",
}

#: Staff outcomes estimated (``set_outcomes``): the primary STSS total by default, to keep
#: the CPU budget; ``--all-outcomes`` adds the ProQOL scales.
STAFF = ["stss_total"]
ALL_STAFF = ("stss_total", "proqol_sts", "proqol_bo", "proqol_cs")


def set_outcomes(all_outcomes: bool) -> None:
    """Estimate every staff outcome (True) or the primary STSS total only (False)."""
    STAFF[:] = list(ALL_STAFF) if all_outcomes else ["stss_total"]


def staff_outcomes(study) -> list[str]:
    """Staff outcomes the study measures and :data:`STAFF` lists, in a fixed order."""
    cols = set(study.scored().columns)
    return [o for o in STAFF if o in cols]


def _first_wave_sd(long: pd.DataFrame, first) -> float:
    """Pooled within-arm SD of the first-wave scores (the truth's att_sd denominator)."""
    base = long[long["wave"] == first]
    parts = [g["y"].to_numpy(float) for _, g in base.groupby("treated")]
    num = sum(((p - p.mean()) ** 2).sum() for p in parts if len(p) > 1)
    den = sum(len(p) - 1 for p in parts if len(p) > 1)
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def _rows(
    res: pd.DataFrame, area, outcome, sd, estimand="att", cohort_col="cohort"
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "area": area,
            "outcome": outcome,
            "estimator": res["estimator"].to_numpy(),
            "estimand": estimand,
            "wave": res["wave"].to_numpy() if "wave" in res else None,
            "cohort": res[cohort_col].to_numpy() if cohort_col in res else None,
        }
    )
    for c in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        out[c] = pd.to_numeric(res[c], errors="coerce").to_numpy()
    out["baseline_sd"] = sd
    out["note"] = res["note"].astype(object).to_numpy() if "note" in res else None
    return out


def _arm_frame(study, area) -> pd.DataFrame:
    """Every response of the area's arms with all score columns (cached on the study object).

    Per outcome the rows equal ``stseval.reshape.long(study, outcome, area)``
    (checked in ``tests/test_validation_script.py``), built once instead of
    once per outcome. With team assignment ``treated`` marks the teams named
    in ``interventions.csv`` (reshape gives the organization's arm).
    """
    cache = _CACHE.get(id(study))
    if cache is not None and cache[0] is study and cache[1] == area:
        return cache[2]
    from stseval import reshape

    people = reshape.arm_workers(study, area)
    if study.design.assignment == "team":
        iv = study.interventions
        teams = set(iv.loc[iv["area"] == area, "team_id"].dropna())
        people["treated"] = people["team_id"].isin(teams).astype("int64")
    scored = study.scored()
    scored = scored.drop(columns=[c for c in people.columns if c != "worker_id"], errors="ignore")
    names = list(study.design.waves)
    out = people.merge(scored, on="worker_id", how="inner")
    out = out[out["wave"].isin(names)].copy()
    out["_rank"] = out["wave"].map({w: i for i, w in enumerate(names)})
    out = out.sort_values(["worker_id", "_rank"], kind="mergesort").reset_index(drop=True)
    _CACHE.clear()
    _CACHE[id(study)] = (study, area, out)
    return out


_CACHE: dict = {}


def _long(study, outcome, area):
    """``reshape.long`` for one outcome (``score`` column) and its baseline SD."""
    frame = _arm_frame(study, area)
    cols = ["worker_id", "org_id", "team_id", "treated", "wave", outcome]
    lg = frame.loc[frame[outcome].notna(), cols].rename(columns={outcome: "score"})
    lg["score"] = lg["score"].astype("float64")
    lg = lg.reset_index(drop=True)
    first = study.design.waves[0]
    return lg, _first_wave_sd(lg.rename(columns={"score": "y"}), first)


def _quiet(fn, *args, **kwargs):
    """Run an estimator; silence only the known small-sample / RuntimeWarning chatter."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("ignore", category=UserWarning, message=".*converge.*")
        return fn(*args, **kwargs)


def _evaluate(study, area, estimators) -> pd.DataFrame:
    """Two-wave org designs: evaluate_area, as the report prints it."""
    import stseval

    outcomes = [*staff_outcomes(study), f"org_guidance_{area}"]
    est = _quiet(stseval.evaluate_area, study, area, outcomes=outcomes, estimators=estimators)
    parts = []
    for outcome, g in est.groupby("outcome", sort=False):
        _, sd = _long(study, outcome, area)
        g = g.assign(wave=None, cohort=None)
        parts.append(_rows(g, area, outcome, sd))
    return pd.concat(parts, ignore_index=True)


def _each_outcome(study, area):
    """(outcome, long table, baseline SD) for each staff outcome and the area's practice."""
    for outcome in [*staff_outcomes(study), f"org_guidance_{area}"]:
        lg, sd = _long(study, outcome, area)
        yield outcome, lg, sd


def _single_org(study, area) -> pd.DataFrame:
    from stseval import no_comparison

    parts = []
    for outcome, lg, sd in _each_outcome(study, area):
        res = _quiet(no_comparison.within_change, lg, linked=study.design.linked)
        parts.append(_rows(res.assign(wave=None), area, outcome, sd))
    return pd.concat(parts, ignore_index=True)


def _anonymous(study, area) -> pd.DataFrame:
    from stseval import cross_section

    parts = []
    for outcome, lg, sd in _each_outcome(study, area):
        for fn in (cross_section.did_cross_section, cross_section.org_mean_did):
            res = _quiet(fn, lg)
            parts.append(_rows(res.assign(wave=None), area, outcome, sd))
    return pd.concat(parts, ignore_index=True)


def _coded(study, area) -> pd.DataFrame:
    """Unlinked estimators on all rows, and ANCOVA on code-matched pairs (k = m - 1 of m)."""
    from stseval import linking, waves

    elements = list(study.design.link_code_columns)
    codes = study.responses[["worker_id", "wave", *elements]]
    parts = [_anonymous(study, area)]
    for outcome, lg, sd in _each_outcome(study, area):
        frame = lg.merge(codes, on=["worker_id", "wave"], how="left")
        rule = {"rule": "k_of_m", "k": len(elements) - 1} if len(elements) > 1 else {}
        linked = _quiet(linking.link_codes, frame, elements, **rule).linked
        res = _quiet(waves.ancova_by_wave, linked, worker="linked_id")
        res = res.assign(wave=None, estimator="ancova_matched")
        parts.append(_rows(res, area, outcome, sd))
    return pd.concat(parts, ignore_index=True)


def _three_wave(study, area) -> pd.DataFrame:
    from stseval import waves

    parts = []
    for outcome, lg, sd in _each_outcome(study, area):
        for fn in (waves.wave_effects, waves.ancova_by_wave):
            parts.append(_rows(_quiet(fn, lg, linked=study.design.linked), area, outcome, sd))
    return pd.concat(parts, ignore_index=True)


def _cohorts(study, area, lg) -> pd.Series:
    """First wave at or after each org's start date (its start cohort); NaN = never treated."""
    names = list(study.design.waves)
    dates = pd.Series(study.design.wave_dates, index=names)
    if dates.isna().any():  # undated waves: the first response date of each wave
        resp = study.responses
        dates = pd.to_datetime(resp["date"]).groupby(resp["wave"]).min().reindex(names)
    dates = pd.to_datetime(dates)
    iv = study.interventions
    iv = iv[iv["area"] == area]
    start = pd.to_datetime(iv.set_index("org_id")["start_date"])

    def first_after(day):
        later = [n for n in names if dates[n] >= day]
        return later[0] if later else None

    cohort = start.map(first_after)
    return lg["org_id"].map(cohort)


def _staggered(study, area) -> pd.DataFrame:
    """att_gt / att_overall on the linked worker panel, TWFE on the same data.

    The truth of ``att_overall`` is built in :func:`stagger_truth` from the
    cohort x wave truth rows with this replication's cohort sizes (workers).
    """
    from stseval import staggered

    parts = []
    names = list(study.design.waves)
    for outcome, lg, sd in _each_outcome(study, area):
        lg = lg.assign(cohort=_cohorts(study, area, lg))
        kw = {"unit": "worker_id", "cluster": "org_id", "waves": names}
        res = _quiet(staggered.att_gt, lg, **kw)
        res = res[res["estimator"].isin(["att_gt", "att_overall"])]
        res = res[(res["estimator"] != "att_gt") | (res["event_time"] >= 0)]
        rows = _rows(res, area, outcome, sd)
        sizes = lg.drop_duplicates("worker_id")["cohort"].value_counts()
        rows["cohort_sizes"] = ";".join(f"{k}={v}" for k, v in sizes.items())
        parts.append(rows)
        tw = _rows(_quiet(staggered.twfe_did, lg, **kw), area, outcome, sd, estimand="att_overall")
        tw["cohort_sizes"] = rows["cohort_sizes"].iloc[0]
        parts.append(tw)
    out = pd.concat(parts, ignore_index=True)
    out.loc[out["estimator"] == "att_overall", "estimand"] = "att_overall"
    return out


def _team_rct(study, area) -> pd.DataFrame:
    from stseval import teams

    parts = []
    for outcome, lg, sd in _each_outcome(study, area):
        res = _quiet(teams.team_effect, lg, randomized=True)
        parts.append(_rows(res.assign(wave=None), area, outcome, sd))
    return pd.concat(parts, ignore_index=True)


_MED_ESTIMAND = {
    "med_b": "dose_slope",
    "med_indirect": "indirect",
    "med_direct": "direct",
    "med_total": "att",
}


def _dose(study, area, n_boot=499, seed=0) -> pd.DataFrame:
    from stseval import dose

    parts = []
    for outcome in staff_outcomes(study):
        _, sd = _long(study, outcome, area)
        med = _quiet(dose.mediation, study, area, outcome, n_boot=n_boot, seed=seed)
        med = med[med["estimator"].isin(list(_MED_ESTIMAND))]
        for est, estimand in _MED_ESTIMAND.items():
            parts.append(
                _rows(
                    med[med["estimator"] == est].assign(wave=None),
                    area,
                    outcome,
                    sd,
                    estimand=estimand,
                )
            )
        org = _quiet(dose.org_dose_response, study, area, outcome)
        org = org[org["estimator"] == "dose_org"].assign(wave=None)
        parts.append(_rows(org, area, outcome, sd, estimand="dose_slope"))
    return pd.concat(parts, ignore_index=True)


def _individual(study, area) -> pd.DataFrame:
    """evaluate_statement for every statement a program targets (area column = statement)."""
    from stseval.individual import evaluate_statement

    statements = sorted(set(study.programs["statement"])) if study.programs is not None else []
    sd_of = study.scored()
    first = study.design.waves[0]
    parts = []
    for st in statements:
        outcomes = [f"ind_guidance_{st}", *staff_outcomes(study)]
        res = _quiet(evaluate_statement, study, st, outcomes=outcomes)
        res = res[res["estimator"].isin(["ancova", "paired_change"])]
        for outcome, g in res.groupby("outcome", sort=False):
            base = sd_of.loc[sd_of["wave"] == first, outcome]
            parts.append(_rows(g.assign(wave=None), st, outcome, float(base.std())))
    return pd.concat(parts, ignore_index=True)


_KIND = {
    "default": lambda s, a: _evaluate(s, a, ["ancova", "did", "paired_change", "org_practice"]),
    "selected": lambda s, a: _evaluate(s, a, ["ancova", "did", "paired_change"]),
    "single_org": _single_org,
    "anonymous": _anonymous,
    "coded": _coded,
    "three_wave": _three_wave,
    "staggered": _staggered,
    "team_rct": _team_rct,
    "dose": _dose,
    "individual": _individual,
}


def estimate_design(study, preset: str, area: str) -> pd.DataFrame:
    """The per-design estimate step: rows of :data:`EST_COLUMNS` for one simulated study."""
    out = _KIND[preset](study, area)
    for c in EST_COLUMNS:
        if c not in out:
            out[c] = None
    extra = [c for c in out.columns if c not in EST_COLUMNS]
    return out[EST_COLUMNS + extra]
