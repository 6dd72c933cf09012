"""Report helpers: the tables and plain-language sentences the notebooks show.

Everything a notebook would otherwise compute in a cell lives here, so the
notebooks stay thin and the numbers are tested. Three groups:

* **Finding things** -- :func:`resolve_path` (a relative path works from the
  repository root and from ``notebooks/``), :func:`output_dir`,
  :func:`load_study`, :func:`read_area_estimates`.
* **Aggregate tables, small cells suppressed** -- :func:`participant_flow`
  (CONSORT counts), :func:`outcome_summary` (mean by arm and wave),
  :func:`indicator_summary` (monthly turnover and absence by arm),
  :func:`reliability_table`, :func:`practice_profile`, :func:`org_outcomes`,
  :func:`missing_item_rules`. Counts of workers below the minimum cell size
  are blanked with :func:`stseval.privacy.suppress` (primary and
  complementary suppression) and the row is marked in ``note``.
* **Words** -- :func:`outcome_label`, :func:`primary_estimates`,
  :func:`describe_estimate` (one sentence per estimate), :func:`executive_summary`,
  :func:`html_table` (a table for a report, suppressed cells marked), and
  :func:`study_ids` (every identifier of a study, for
  :func:`stseval.privacy.assert_no_leaks`).

Missing-data policy: descriptive tables use every non-missing score (a worker
with only a pre score counts at the pre wave); "analysed" in the participant
flow means a worker with both a pre and a post score on the outcome, the
sample of the primary (ANCOVA) estimate.

Tests (``tests/test_report.py``) check the flow counts by hand on a
simulated study, suppression of small cells and its marking, the wording of
sentences for improvements, deteriorations and unclear results, and that
:func:`study_ids` finds every ID of the study.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .areas import AREA_KEYS, LOWER_IS_BETTER, STAFF_OUTCOMES, get_area, outcome_direction
from .errors import UsageError

__all__ = [
    "FLOW_COLUMNS",
    "SUMMARY_COLUMNS",
    "resolve_path",
    "output_dir",
    "load_study",
    "read_area_estimates",
    "participant_flow",
    "outcome_summary",
    "indicator_summary",
    "reliability_table",
    "practice_profile",
    "org_outcomes",
    "missing_item_rules",
    "outcome_label",
    "primary_estimator",
    "primary_estimates",
    "describe_estimate",
    "certainty",
    "executive_summary",
    "html_table",
    "study_ids",
]

#: Columns of :func:`participant_flow`.
FLOW_COLUMNS = ["stage", "arm", "orgs", "workers", "pct_of_invited", "suppressed", "note"]
#: Columns of :func:`outcome_summary`.
SUMMARY_COLUMNS = ["outcome", "arm", "wave", "workers", "mean", "sd", "ci_low", "ci_high",
                   "suppressed", "note"]

_REPO_ROOT = Path(__file__).resolve().parents[1]
_ARM_LABELS = {"intervention": "changed practice", "comparison": "comparison"}
_LABELS = {
    "stss_total": "secondary traumatic stress (STSS total)",
    "proqol_sts": "secondary traumatic stress (ProQOL)",
    "proqol_bo": "burnout (ProQOL)",
    "proqol_cs": "compassion satisfaction (ProQOL)",
    "separation_rate": "monthly staff turnover",
    "absence_rate": "monthly absence rate",
}
_RATES = ("separation_rate", "absence_rate")
#: Column headers shown in report tables (other columns keep their names).
HEADERS = {
    "pct_of_invited": "% of invited", "p_adjusted": "p (adjusted)", "p_value": "p",
    "effect_size": "effect size", "orgs": "organizations", "n_orgs": "organizations",
    "n_workers": "workers", "ci_low": "CI low", "ci_high": "CI high",
    "workers_baseline": "workers at baseline", "workers_followed": "workers followed up",
    "attrition_pct": "attrition %", "pre_mean_completers": "baseline mean: stayed",
    "pre_mean_dropouts": "baseline mean: left", "alpha_ci_low": "alpha CI low",
    "alpha_ci_high": "alpha CI high", "omega_ci_low": "omega CI low",
    "omega_ci_high": "omega CI high", "alpha_published": "published alpha",
    "kit_authored": "kit-authored", "item_total_r": "item-total r",
    "alpha_if_deleted": "alpha if deleted", "floor_share": "floor share",
    "ceiling_share": "ceiling share", "org_mean": "your mean", "others_orgs": "other orgs",
    "others_p25": "others: 25th pct", "others_median": "others: median",
    "others_p75": "others: 75th pct", "percentile": "percentile (%)",
}


# -- finding things ---------------------------------------------------------------------
def resolve_path(path, *, must_exist: bool = True) -> Path:
    """Find ``path`` as given, relative to the current folder's parent, or to the repository root.

    Notebooks run with their own folder as the working directory (papermill
    ``cwd``, nbval) while their default parameters are written relative to the
    repository root (``data/synthetic/small``); this makes both work.

    Raises
    ------
    UsageError
        ``must_exist`` and the path is found in none of the places (they are listed).
    """
    if path is None or str(path).strip() == "":
        raise UsageError("a path is required, got an empty value")
    p = Path(str(path)).expanduser()
    candidates = [p] if p.is_absolute() else [Path.cwd() / p, Path.cwd().parent / p,
                                               _REPO_ROOT / p]
    for cand in candidates:
        if cand.exists():
            return cand.resolve()
    if must_exist:
        raise UsageError(f"{path} was not found; looked in "
                         + ", ".join(str(c.parent) for c in candidates))
    return candidates[0].resolve()


def output_dir(path=None) -> Path:
    """Create and return the folder results are written to; a new temporary folder if ``path`` is empty."""
    if path is None or str(path).strip() == "":
        return Path(tempfile.mkdtemp(prefix="stseval-"))
    out = Path(str(path)).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_study(study_dir):
    """:meth:`stseval.Study.from_dir` on :func:`resolve_path` of ``study_dir`` (validated)."""
    from .study import Study
    return Study.from_dir(resolve_path(study_dir))


def read_area_estimates(results_dir) -> pd.DataFrame:
    """Every area's ``estimates.csv`` under ``results_dir``, in one table with BH across areas.

    Looks for ``<results_dir>/areas/<area>/estimates.csv`` and
    ``<results_dir>/<area>/estimates.csv``. Areas are ordered as in
    :data:`stseval.areas.AREA_KEYS`; ``p_fdr_all_areas`` is recomputed with
    :func:`stseval.evaluate.add_fdr` over all areas found.

    Raises
    ------
    UsageError
        No ``estimates.csv`` was found.
    """
    from .evaluate import add_fdr
    root = resolve_path(results_dir)
    files = sorted(set(root.glob("areas/*/estimates.csv")) | set(root.glob("*/estimates.csv")))
    if not files:
        raise UsageError(f"no estimates.csv found under {root} (expected areas/<area>/estimates.csv)")
    tables = [pd.read_csv(f, keep_default_na=True) for f in files]
    est = pd.concat(tables, ignore_index=True)
    for col in ("note", "method", "es_type"):
        if col in est:
            est[col] = est[col].fillna("").astype(str)
    for col in ("n_workers", "n_orgs"):
        if col in est:
            est[col] = pd.to_numeric(est[col], errors="coerce").astype("Int64")
    order = {a: i for i, a in enumerate(AREA_KEYS)}
    est = est.sort_values("area", key=lambda s: s.map(order), kind="mergesort")
    return add_fdr(est.reset_index(drop=True))


# -- aggregate tables -------------------------------------------------------------------
def _min_cell(study, min_cell) -> int:
    value = study.min_cell if min_cell is None else min_cell
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise UsageError(f"min_cell must be a positive whole number, got {min_cell!r}")
    return int(value)


def _org_arms(study, area) -> pd.DataFrame:
    """``org_id, arm`` for an area's arms, or for 'changed any area' vs comparison."""
    if area is None:
        changed = set(study.interventions["org_id"])
        orgs = study.orgs[["org_id"]].copy()
        orgs["arm"] = np.where(orgs["org_id"].isin(changed), "intervention", "comparison")
        return orgs
    return study.arms(area)[["org_id", "arm"]]


def _primary_outcome(study) -> str:
    cols = set(study.score_columns())
    for out in STAFF_OUTCOMES:
        if out in cols:
            return out
    raise UsageError("the study measures none of the staff outcomes "
                     f"({', '.join(STAFF_OUTCOMES)}); cannot count who was analysed")


def _suppress(table, count_col, min_cell, group_cols, value_cols, name):
    from .privacy import suppress
    out, _audit = suppress(table, count_col=count_col, min_cell=min_cell, group_cols=group_cols,
                           value_cols=value_cols, name=name)
    return out


def participant_flow(study, area: str | None = None, *, outcome: str | None = None,
                     min_cell: int | None = None) -> pd.DataFrame:
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
    min_cell = _min_cell(study, min_cell)
    outcome = outcome or _primary_outcome(study)
    arms = _org_arms(study, area)
    people = study.workers[["worker_id", "org_id"]].merge(arms, on="org_id", how="inner")
    waves = study.waves[:2]
    resp = study.responses[["worker_id", "wave"]]
    scored = study.scored()[["worker_id", "wave", outcome]].dropna(subset=[outcome])
    stages = {"invited": set(people["worker_id"])}
    for w in waves:
        stages[f"responded {w}"] = set(resp.loc[resp["wave"] == w, "worker_id"])
    have = [set(scored.loc[scored["wave"] == w, "worker_id"]) for w in waves]
    stages["analysed"] = have[0] & have[1] if len(have) == 2 else set()
    rows = []
    invited = people.groupby("arm")["worker_id"].nunique()
    for stage, ids in stages.items():
        for arm in ("intervention", "comparison"):
            sub = people[(people["arm"] == arm) & people["worker_id"].isin(ids)]
            n = int(sub["worker_id"].nunique())
            base = int(invited.get(arm, 0))
            rows.append({"stage": stage, "arm": arm, "orgs": int(sub["org_id"].nunique()),
                         "workers": n, "pct_of_invited": 100 * n / base if base else np.nan})
    table = pd.DataFrame(rows)
    out = _suppress(table, "workers", min_cell, [["stage"]], ["pct_of_invited"], "flow")
    return out[FLOW_COLUMNS]


def outcome_summary(study, area: str, outcomes=None, *, confidence: float = 0.95,
                    min_cell: int | None = None) -> pd.DataFrame:
    """Mean score by arm and wave for each outcome of an area, small cells suppressed.

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`: ``workers`` with a score, ``mean``, ``sd`` and a
        t interval for the mean (``ci_low``, ``ci_high``; it ignores clustering
        and is descriptive only). Cells with fewer than ``min_cell`` workers, and
        the other arm of the same outcome and wave, are blanked and marked.
    """
    min_cell = _min_cell(study, min_cell)
    if outcomes is None:
        from .evaluate import area_outcomes
        outcomes = [o for o in area_outcomes(study, area) if o not in _RATES]
    arms = study.arms(area)[["org_id", "arm"]]
    scored = study.scored().merge(arms, on="org_id", how="inner")
    rows = []
    for out in outcomes:
        for arm in ("intervention", "comparison"):
            for wave in study.waves:
                y = scored.loc[(scored["arm"] == arm) & (scored["wave"] == wave), out].dropna()
                y = y.astype(float)
                n = len(y)
                mean = float(y.mean()) if n else np.nan
                sd = float(y.std(ddof=1)) if n > 1 else np.nan
                half = (stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
                        if n > 1 else np.nan)
                rows.append({"outcome": out, "arm": arm, "wave": wave, "workers": n,
                             "mean": mean, "sd": sd, "ci_low": mean - half,
                             "ci_high": mean + half})
    table = pd.DataFrame(rows)
    out = _suppress(table, "workers", min_cell, [["outcome", "wave"]],
                    ["mean", "sd", "ci_low", "ci_high"], "summary")
    out["wave"] = pd.Categorical(out["wave"], categories=study.waves, ordered=True)
    return out[SUMMARY_COLUMNS]


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
    areas = [area] if area is not None else [
        a for a in AREA_KEYS if (study.interventions["area"] == a).any()]
    frames = []
    for a in areas:
        m = study.org_months(a)
        m = m.assign(arm=np.where(m["treated"] == 1, "intervention", "comparison"))
        long = m.melt(id_vars=["org_id", "arm", "rel_month"], value_vars=list(_RATES),
                      var_name="indicator", value_name="rate")
        g = long.dropna(subset=["rel_month", "rate"]).groupby(
            ["arm", "rel_month", "indicator"], as_index=False).agg(
            value=("rate", "mean"), orgs=("org_id", "nunique"))
        frames.append(g.assign(area=a))
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["rel_month"] = out["rel_month"].astype(int)
    if pooled and area is None:
        out["_w"] = out["value"] * out["orgs"]
        g = out.groupby(["arm", "rel_month", "indicator"], as_index=False).agg(
            _w=("_w", "sum"), n=("orgs", "sum"), orgs_sum=("orgs", "sum"),
            orgs_max=("orgs", "max"))
        g["value"] = g["_w"] / g["n"]
        g["orgs"] = np.where(g["arm"] == "comparison", g["orgs_max"], g["orgs_sum"])
        out = g.assign(area="all")
    return out[cols].reset_index(drop=True)


def reliability_table(study, *, wave: str | None = None, confidence: float = 0.95,
                      n_boot: int = 0, seed: int = 0) -> pd.DataFrame:
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
            row = {"instrument": inst.short_name, "scale": scale.label,
                   "column": f"{inst.key}_{name}", "k": len(cols), "n": np.nan,
                   "alpha_published": inst.published_reliability(name),
                   "kit_authored": inst.kit_authored}
            block = items[cols].dropna()
            if len(cols) >= 3 and len(block) >= 10:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    a = alpha(block, confidence=confidence).iloc[0]
                    o = omega(block, n_boot=n_boot, confidence=confidence,
                              random_state=seed).iloc[0]
                row.update(n=int(a["n"]), alpha=a["estimate"], alpha_ci_low=a["ci_low"],
                           alpha_ci_high=a["ci_high"], omega=o["estimate"],
                           omega_ci_low=o["ci_low"], omega_ci_high=o["ci_high"])
            rows.append(row)
    cols = ["instrument", "scale", "column", "k", "n", "alpha", "alpha_ci_low", "alpha_ci_high",
            "omega", "omega_ci_low", "omega_ci_high", "alpha_published", "kit_authored"]
    return pd.DataFrame(rows).reindex(columns=cols)


def _org_means(study, columns, wave, min_cell):
    scored = study.scored()
    scored = scored[scored["wave"] == wave]
    g = scored.groupby("org_id")
    means = g[columns].mean()
    counts = g["worker_id"].nunique()
    return means[counts >= min_cell], counts


def practice_profile(study, org_id: str, *, wave: str | None = None,
                     min_cell: int | None = None) -> pd.DataFrame:
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
        organizations scoring below this one, in %). Only organizations with at
        least ``min_cell`` respondents in the wave enter the distribution; for
        this organization, a smaller group blanks ``org_mean`` and ``workers``
        (``note`` says so). Other organizations are never named.
    """
    min_cell = _min_cell(study, min_cell)
    org_id = str(org_id)
    if org_id not in set(study.orgs["org_id"]):
        raise UsageError(f"org_id {org_id!r} is not an organization of this study "
                         f"({len(study.orgs)} organizations in orgs.csv)")
    wave = wave or study.waves[-1]
    cols = [f"org_guidance_{a}" for a in AREA_KEYS]
    present = [c for c in cols if c in set(study.score_columns())]
    if not present:
        raise UsageError("the study has no Organizational Guidance Inventory scores "
                         "(instrument org_guidance); no practice profile can be drawn")
    means, counts = _org_means(study, present, wave, min_cell)
    n_org = int(counts.get(org_id, 0))
    rows = []
    for col in present:
        area = col.removeprefix("org_guidance_")
        others = means.drop(index=org_id, errors="ignore")[col].dropna()
        own = means[col].get(org_id, np.nan) if n_org >= min_cell else np.nan
        rows.append({"area": area, "title": get_area(area).title, "column": col,
                     "org_mean": own, "workers": n_org if n_org >= min_cell else np.nan,
                     "others_orgs": len(others),
                     "others_p25": others.quantile(0.25) if len(others) else np.nan,
                     "others_median": others.median() if len(others) else np.nan,
                     "others_p75": others.quantile(0.75) if len(others) else np.nan,
                     "percentile": 100 * float((others < own).mean())
                     if len(others) and np.isfinite(own) else np.nan,
                     "note": "" if n_org >= min_cell else
                     f"suppressed: fewer than {min_cell} respondents in wave {wave}"})
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
            rows.append({"outcome": outcome_label(out), "wave": wave, "group": "this organization",
                         "workers": np.nan if small else len(mine),
                         "mean": np.nan if small else float(mine.mean()),
                         "note": f"suppressed: fewer than {min_cell} respondents" if small else ""})
            rows.append({"outcome": outcome_label(out), "wave": wave, "group": "all organizations",
                         "workers": len(rest), "mean": float(rest.mean()) if len(rest) else np.nan,
                         "note": ""})
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
            text = ("every item must be answered" if rule.rule == "complete" or need == k else
                    f"at least {need} of {k} items answered; the score is prorated"
                    if scale.method == "sum" else
                    f"at least {need} of {k} items answered; mean of the answered items")
            rows.append({"instrument": inst.short_name, "scale": scale.label, "items": k,
                         "needs": need, "rule": text, "source": rule.source})
    return pd.DataFrame(rows)


# -- words ------------------------------------------------------------------------------
def outcome_label(outcome: str) -> str:
    """A reader's name for a score column or indicator (``proqol_bo`` -> ``burnout (ProQOL)``)."""
    if outcome in _LABELS:
        return _LABELS[outcome]
    if outcome.startswith("org_guidance_"):
        area = outcome.removeprefix("org_guidance_")
        return f"staff-rated practice: {get_area(area).title.lower()}"
    return outcome.replace("_", " ")


def primary_estimator(outcome: str, area: str | None = None) -> str:
    """The estimator a report leads with: ITS for indicators, org_practice for the area's
    practice score, ANCOVA (post adjusted for pre, cluster-robust) for staff outcomes."""
    if outcome in _RATES:
        return "its"
    if outcome.startswith("org_guidance_"):
        return "org_practice"
    return "ancova"


def primary_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """The rows of an estimates table chosen by :func:`primary_estimator`, one per area x outcome."""
    keep = [primary_estimator(o, a) == e for o, a, e in
            zip(estimates["outcome"], estimates["area"], estimates["estimator"], strict=True)]
    return estimates[keep].reset_index(drop=True)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _num(x, digits=1) -> str:
    s = f"{abs(x):.{digits}f}"
    return ("−" + s) if x < 0 and float(s) != 0 else s


def _scale(outcome):
    """(multiplier, unit) used to put an estimate in words."""
    if outcome in _RATES:
        return 100.0, "percentage points"
    return 1.0, "points"


def certainty(row, *, confidence: float = 0.95) -> str:
    """How sure we are, in words, from the interval and the Holm-adjusted p-value."""
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return "no interval could be computed"
    if lo > 0 or hi < 0:
        p_adj = row.get("p_adjusted")
        if p_adj is not None and np.isfinite(p_adj) and p_adj >= 1 - confidence:
            return ("the interval excludes zero, but not once we allow for the number of "
                    "outcomes tested, so treat it as suggestive")
        return "the interval excludes zero, so a real difference is likely"
    return "the interval includes zero, so we cannot tell it apart from no difference"


def describe_estimate(row, *, confidence: float = 0.95, short: bool = False) -> str:
    """One plain-language sentence (or two) for one row of the estimates table.

    The sentence names the arm ("organizations that changed <area>"), the
    outcome, the size and direction in the outcome's units, whether that
    direction is an improvement, the confidence interval and how sure we are
    (:func:`certainty`). Rows that were not estimated say why. ``short`` gives
    a compact form for a list under an area's heading: "<outcome>: 2.9 points
    lower than in comparison organizations (95% CI ...): an improvement, but
    the interval includes zero."
    """
    row = dict(row)
    area, outcome, est = row["area"], row["outcome"], row.get("estimate")
    what = get_area(area).title.lower()
    label = outcome_label(outcome)
    if est is None or est is pd.NA or not np.isfinite(est):
        note = str(row.get("note") or "").strip() or "not estimated"
        return f"{_cap(label)}: no estimate ({note.rstrip('.')})."
    mult, unit = _scale(outcome)
    e, lo, hi = est * mult, row["ci_low"] * mult, row["ci_high"] * mult
    digits = 2 if outcome in _RATES else 1
    word = "lower" if e < 0 else "higher"
    better = (e < 0) == (outcome_direction(outcome) == "lower")
    verdict = "an improvement" if better else "a change for the worse"
    ci = f"{round(confidence * 100):g}% CI {_num(lo, digits)} to {_num(hi, digits)}"
    sure = certainty(row, confidence=confidence)
    est_name = row.get("estimator")
    size = f"{_num(abs(e), digits)} {unit} {word}"
    if short:
        clear = lo > 0 or hi < 0
        tail = f"clearly {verdict}" if clear else f"{verdict}, but the interval includes zero"
        versus = {"org_practice": "than comparison organizations moved",
                  "its": "than the comparison trend after the start",
                  "paired_change": "at the second survey (no comparison group)"}.get(
            est_name, "than in comparison organizations")
        return f"**{_cap(label)}**: {size} {versus} ({ci}): {tail}."
    if est_name == "org_practice":
        lead = (f"Organizations that changed {what} moved their staff-rated practice score "
                f"{_num(abs(e), digits)} {unit} {'higher' if e > 0 else 'lower'} than comparison "
                f"organizations did")
    elif est_name == "its":
        lead = (f"After the change, {label} in organizations that changed {what} shifted "
                f"{size} than the comparison organizations' trend predicted")
    elif est_name == "paired_change":
        lead = (f"Within organizations that changed {what}, {label} was {size} at the second "
                "survey than at the first (no comparison group)")
    elif est_name == "rci":
        lead = (f"The share of staff with a reliable improvement in {label} was "
                f"{_num(abs(e) * 100, 0)} percentage points {word} in organizations that changed "
                f"{what}")
        ci = (f"{round(confidence * 100):g}% CI {_num(row['ci_low'] * 100, 0)} to "
              f"{_num(row['ci_high'] * 100, 0)}")
        verdict = "in favour of the change" if e > 0 else "against the change"
        return f"{lead} ({ci}), {verdict}; {sure}."
    else:
        lead = (f"Staff in organizations that changed {what} reported {label} {size} than "
                "expected from comparison organizations")
    direction = "lower" if outcome_direction(outcome) == "lower" else "higher"
    return f"{lead} ({ci}). {direction.capitalize()} is better, so this is {verdict}; {sure}."


def executive_summary(estimates: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """One line per area: the primary staff outcome and the practice change, in words.

    Returns
    -------
    DataFrame
        ``area, title, practice, staff`` (sentences from :func:`describe_estimate`
        for the practice score and for the first staff outcome estimated), and
        ``improved`` (number of staff outcomes whose interval excludes zero in
        the improving direction) and ``outcomes`` (number estimated).
    """
    prim = primary_estimates(estimates)
    rows = []
    for area in [a for a in AREA_KEYS if a in set(prim["area"])]:
        sub = prim[prim["area"] == area]
        practice = sub[sub["outcome"].str.startswith("org_guidance_")]
        staff = sub[sub["outcome"].isin(STAFF_OUTCOMES)]
        est = staff.dropna(subset=["estimate"])
        good = ((est["ci_high"] < 0) & est["outcome"].isin(LOWER_IS_BETTER)) | (
            (est["ci_low"] > 0) & ~est["outcome"].isin(LOWER_IS_BETTER))
        rows.append({
            "area": area, "title": get_area(area).title,
            "practice": describe_estimate(practice.iloc[0], confidence=confidence)
            if len(practice) else "Practice in this area was not measured.",
            "staff": describe_estimate(staff.iloc[0], confidence=confidence)
            if len(staff) else "No staff outcome was measured.",
            "improved": int(good.sum()), "outcomes": int(len(est)),
        })
    return pd.DataFrame(rows, columns=["area", "title", "practice", "staff", "improved",
                                       "outcomes"])


def _fmt(value, digits):
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float | np.floating) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if float(value).is_integer() and digits == 0:
            return f"{int(value):,}"
        return f"{value:.{digits}f}"
    return str(value)


def html_table(table: pd.DataFrame, *, digits: int | dict = 2, columns=None, rename=None,
               caption: str | None = None, count_cols=("workers",)):
    """An HTML table for a report: rounded, blanks for missing, suppressed cells marked.

    On rows with ``suppressed`` True, the empty ``count_cols`` and value cells
    show ``suppressed``; the ``suppressed`` column itself is not shown. Headers
    are renamed by :data:`HEADERS` and then ``rename``. Returns an
    :class:`IPython.display.HTML` object (its ``.data`` is the HTML text).
    """
    from html import escape

    from IPython.display import HTML
    df = table.copy()
    hidden = df["suppressed"].astype(bool).to_numpy() if "suppressed" in df else \
        np.zeros(len(df), dtype=bool)
    cols = list(columns) if columns is not None else [c for c in df.columns if c != "suppressed"]
    digits_for = (lambda c: digits.get(c, 2)) if isinstance(digits, dict) else (lambda c: digits)
    names = {**HEADERS, **(rename or {})}
    head = "".join(f"<th>{escape(str(names.get(c, c)))}</th>" for c in cols)
    body = []
    for i, rec in enumerate(df[cols].itertuples(index=False)):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            text = _fmt(v, 0 if c in count_cols else digits_for(c))
            if hidden[i] and text == "" and c not in ("note",):
                text = "suppressed"
            cls = ' class="suppressed"' if text == "suppressed" else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return HTML(f'<table class="stseval">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")


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
            ids |= set(pseudonymize(source[col].dropna().astype(str), key, prefix=prefix)
                       .astype(str))
    if keep_org is not None:
        own = study.orgs[study.orgs["org_id"].astype(str) == str(keep_org)]
        ids -= set(own["org_id"].astype(str)) | set(own["name"].astype(str))
    return sorted(i for i in ids if i.strip())


# -- report sections (markdown) -------------------------------------------------------
def study_overview(study, area: str | None = None, *, min_cell: int | None = None) -> str:
    """Markdown: what the study is, whether it is synthetic, and (with ``area``) who is compared."""
    min_cell = _min_cell(study, min_cell)
    lines = []
    if study.is_synthetic:
        seed = study.provenance.get("seed")
        lines.append("> **Synthetic data.** Every organization and worker in this study was "
                     "simulated by stseval" + (f" (seed {seed})" if seed is not None else "")
                     + "; no real person is described. The numbers show how the kit works and "
                     "are not evidence about any real program.")
        lines.append("")
    lines.append(f"**Study:** {study.name}: {study.orgs['org_id'].nunique()} organizations, "
                 f"{study.workers['worker_id'].nunique():,} workers invited, survey waves "
                 f"{' → '.join(study.waves)}; minimum cell size {min_cell} (smaller groups are "
                 "not shown).")
    if area is not None:
        spec = get_area(area)
        arms = study.arms(area)["arm"].value_counts()
        lines.append("")
        lines.append(f"**Area:** {spec.title}. *What the guidance asks:* {spec.target}")
        lines.append("")
        lines.append(f"**Compared:** {int(arms.get('intervention', 0))} organizations that changed "
                     f"practice in this area against {int(arms.get('comparison', 0))} "
                     "organizations that changed nothing. Organizations that changed another "
                     "area are left out of this comparison.")
    return "\n".join(lines)


def attrition_summary(study, area: str, outcome: str | None = None, *,
                      min_cell: int | None = None) -> tuple[pd.DataFrame, str]:
    """Attrition by arm and the What Works Clearinghouse ratings, small groups suppressed.

    Returns
    -------
    table : DataFrame
        ``arm, workers_baseline, workers_followed, attrition_pct,
        pre_mean_completers, pre_mean_dropouts, suppressed, note``; the dropouts'
        baseline mean is blanked when fewer than ``min_cell`` workers dropped out.
    text : str
        Markdown: overall and differential attrition with the WWC rating and the
        baseline-equivalence classification (:func:`stseval.evaluate.missing_data_report`).
    """
    from . import models
    min_cell = _min_cell(study, min_cell)
    outcome = outcome or _primary_outcome(study)
    wide = study.wide(outcome, area)
    att = models.attrition_table(wide).set_index("arm")
    rows = []
    for arm, key in (("intervention", "treated"), ("comparison", "comparison")):
        r = att.loc[key]
        dropped = int(r["n_dropped"])
        rows.append({"arm": arm, "workers_baseline": int(r["n_baseline"]),
                     "workers_followed": int(r["n_followed"]),
                     "attrition_pct": 100 * float(r["attrition"]),
                     "pre_mean_completers": float(r["pre_mean_completers"]),
                     "pre_mean_dropouts": float(r["pre_mean_dropouts"])
                     if dropped >= min_cell else np.nan,
                     "suppressed": False,
                     "note": "" if dropped >= min_cell or dropped == 0 else
                     f"dropouts' mean suppressed: fewer than {min_cell} dropped out"})
    table = pd.DataFrame(rows)
    overall = float(att.loc["overall", "attrition"])
    diff = float(att.loc["overall", "differential_attrition"])
    wwc = models.wwc_attrition(overall, diff).iloc[0]
    try:
        base = models.baseline_equivalence(wide).iloc[0]
        base_text = (f"At baseline the analysed workers of the two arms differed by g = "
                     f"{base['effect_size']:.2f} on {outcome_label(outcome)}: the WWC "
                     f"classification is *{base['classification']}*.")
    except Exception:  # noqa: BLE001 - too few workers for a baseline comparison
        base_text = "Baseline equivalence could not be assessed (too few workers)."
    text = (f"Overall attrition {100 * overall:.0f}%, differential attrition "
            f"{100 * diff:.0f} percentage points: {wwc['cautious']} attrition by the What Works "
            f"Clearinghouse cautious boundary ({wwc['optimistic']} by the optimistic one). "
            + base_text)
    return table, text


def load_estimates(results_dir, study, *, areas=None, confidence: float = 0.95,
                   min_cell: int | None = None) -> pd.DataFrame:
    """The estimates a report shows: read from the area notebooks' output, or computed here.

    With ``results_dir`` (the folder holding ``areas/<area>/estimates.csv``) this is
    :func:`read_area_estimates`; with an empty ``results_dir`` every area with
    intervention organizations is evaluated now (:func:`stseval.evaluate_all`).
    ``areas`` keeps only those areas.
    """
    if results_dir:
        est = read_area_estimates(results_dir)
    else:
        from .evaluate import evaluate_all
        chosen = areas or [a for a in AREA_KEYS if (study.interventions["area"] == a).any()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = evaluate_all(study, areas=chosen, confidence=confidence,
                               min_cell=_min_cell(study, min_cell))
    if areas:
        from .evaluate import add_fdr
        unknown = [a for a in areas if a not in AREA_KEYS]
        if unknown:
            raise UsageError(f"unknown area(s) {unknown}; areas are {', '.join(AREA_KEYS)}")
        est = add_fdr(est[est["area"].isin(list(areas))].reset_index(drop=True))
    return est


def estimates_table(estimates: pd.DataFrame, *, primary_only: bool = False) -> pd.DataFrame:
    """A reader's version of an estimates table: labels, rounded interval text, notes.

    Returns ``area, outcome, measure, estimator, estimate, interval, p_adjusted,
    effect_size, workers, orgs, note`` (numbers left numeric for :func:`html_table`).
    Turnover and absence rates are shown in percentage points.
    """
    est = primary_estimates(estimates) if primary_only else estimates
    mult = np.where(est["outcome"].isin(_RATES) & (est["estimator"] != "rci"), 100.0, 1.0)
    lows, highs = est["ci_low"].astype(float) * mult, est["ci_high"].astype(float) * mult
    out = pd.DataFrame({
        "area": est["area"].map(lambda a: get_area(a).title),
        "outcome": est["outcome"],
        "measure": [outcome_label(o) + (" (percentage points)" if m == 100 else "")
                    for o, m in zip(est["outcome"], mult, strict=True)],
        "estimator": est["estimator"],
        "estimate": est["estimate"].astype(float) * mult,
        "interval": [f"{lo:.2f} to {hi:.2f}" if np.isfinite(lo) and np.isfinite(hi) else ""
                     for lo, hi in zip(lows, highs, strict=True)],
        "p_adjusted": est["p_adjusted"],
        "effect_size": est["effect_size"],
        "workers": est["n_workers"],
        "orgs": est["n_orgs"],
        "note": est["note"].fillna("").astype(str).str.slice(0, 90),
    })
    return out.reset_index(drop=True)


def plain_language(estimates: pd.DataFrame, *, confidence: float = 0.95,
                   short: bool = False) -> str:
    """Markdown bullet list: :func:`describe_estimate` for each primary estimate."""
    prim = primary_estimates(estimates)
    return "\n".join(f"- {describe_estimate(r, confidence=confidence, short=short)}"
                     for r in prim.to_dict("records"))


def area_section(estimates: pd.DataFrame, area: str, study=None, *,
                 confidence: float = 0.95, min_cell: int | None = None) -> str:
    """Markdown section of the funder report for one area: asks, who changed, what changed, how sure."""
    spec = get_area(area)
    est = estimates[estimates["area"] == area]
    prim = primary_estimates(est)
    staff = prim[prim["outcome"].isin(STAFF_OUTCOMES)]
    summary = executive_summary(est, confidence=confidence)
    improved = int(summary["improved"].sum()) if len(summary) else 0
    n_staff = int(summary["outcomes"].sum()) if len(summary) else 0
    lines = [f"## {spec.title}", "", f"**What the guidance asks.** {spec.target}", ""]
    if study is not None:
        arms = study.arms(area)["arm"].value_counts()
        lines += [f"**Who changed.** {int(arms.get('intervention', 0))} organizations changed "
                  f"practice in this area; {int(arms.get('comparison', 0))} organizations that "
                  "changed nothing are the comparison.", ""]
    lines += ["**What changed.**", "", plain_language(est, confidence=confidence, short=True), ""]
    orgs = staff["n_orgs"].dropna()
    few = f" The comparison rests on {int(orgs.max())} organizations, so intervals are wide." \
        if len(orgs) and int(orgs.max()) < 20 else ""
    lines += [f"**How sure we are.** {improved} of {n_staff} staff outcomes improved with an "
              f"interval that excludes zero.{few} These organizations chose to change, so "
              "other differences between them and the comparison organizations may explain "
              "part of any difference (see Methods and limitations)."]
    return "\n".join(lines)


def summary_bullets(estimates: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """Markdown for the executive summary: one bullet per area with its headline results."""
    summ = executive_summary(estimates, confidence=confidence)
    lines = []
    for r in summ.to_dict("records"):
        lines.append(f"- **{r['title']}**: {r['improved']} of {r['outcomes']} staff outcomes "
                     f"improved clearly. {r['staff']}")
    return "\n".join(lines)


def its_table(estimates: pd.DataFrame) -> pd.DataFrame:
    """The interrupted-time-series rows (turnover, absence) in percentage points per month."""
    its = estimates[estimates["estimator"] == "its"]
    return pd.DataFrame({
        "area": its["area"].map(lambda a: get_area(a).title),
        "indicator": its["outcome"].map(outcome_label),
        "level change (pp)": its["estimate"] * 100,
        "interval (pp)": [f"{lo * 100:.2f} to {hi * 100:.2f}" if np.isfinite(lo) else ""
                          for lo, hi in zip(its["ci_low"].astype(float),
                                            its["ci_high"].astype(float), strict=True)],
        "p_adjusted": its["p_adjusted"],
        "orgs": its["n_orgs"],
    }).reset_index(drop=True)


# -- planning and simulation (power_planning and explore_synthetic notebooks) ------------
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
    return {"outcome": outcome,
            "icc": max(float(icc(pre[outcome], pre["org_id"])["icc1"].iloc[0]), 0.0),
            "r_prepost": float(np.corrcoef(both[f"{outcome}_x"], both[f"{outcome}_y"])[0, 1]),
            "cluster_size": float(sizes.mean()), "cv": float(sizes.std(ddof=0) / sizes.mean()),
            "orgs": int(len(sizes))}


def power_grid(effect_sizes, orgs_per_arm, *, cluster_size, icc, r_prepost=0.0, cv=0.0,
               confidence: float = 0.95) -> pd.DataFrame:
    """:func:`stseval.power.cluster_power` over a grid: ``effect_size, orgs_per_arm, power``."""
    from .power import cluster_power
    rows = [{"effect_size": d, "orgs_per_arm": k,
             "power": cluster_power(d, n_clusters_per_arm=k, cluster_size=cluster_size, icc=icc,
                                    r_prepost=r_prepost, cv=cv, confidence=confidence)}
            for d in effect_sizes for k in orgs_per_arm]
    return pd.DataFrame(rows)


def sample_sizes(effect_sizes, *, cluster_size, icc, r_prepost=0.0, cv=0.0, power=0.8,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Organizations per arm (and workers) needed per effect size, and the paired-only n.

    Returns ``effect_size, orgs_per_arm, workers_per_arm, paired_workers`` where
    ``paired_workers`` is the n of a one-group pre/post design with ``d_z`` equal to
    the effect size (no comparison group, see :func:`stseval.power.paired_n`).
    """
    from .power import cluster_n_clusters, paired_n
    rows = []
    for d in effect_sizes:
        k = cluster_n_clusters(d, cluster_size=cluster_size, icc=icc, power=power,
                               r_prepost=r_prepost, cv=cv, confidence=confidence)
        rows.append({"effect_size": d, "orgs_per_arm": k,
                     "workers_per_arm": int(math.ceil(k * cluster_size)),
                     "paired_workers": paired_n(d, power=power, confidence=confidence)})
    return pd.DataFrame(rows)


def simulation_check(design, *, area: str, outcome: str = "stss_total", seeds=(1,),
                     confidence: float = 0.95) -> pd.DataFrame:
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = evaluate_area(study, area, outcomes=[outcome], confidence=confidence)
        t = study.truth
        truth = t[(t["area"] == area) & (t["outcome"] == outcome) & (t["estimand"] == "att")]
        value = float(truth["value"].iloc[0]) if len(truth) else np.nan
        for r in est[est["estimator"] != "rci"].to_dict("records"):
            rows.append({"replication": int(seed), "estimator": r["estimator"],
                         "label": f"{r['estimator']}", "estimate": r["estimate"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "truth": value,
                         "covered": bool(r["ci_low"] <= value <= r["ci_high"])
                         if np.isfinite(r["ci_low"]) else False})
    return pd.DataFrame(rows)


def explore(area: str = "supervision", effect: float = -0.3, icc: float = 0.05,
            orgs_per_area: int = 4, attrition: float = 0.15, missingness: float = 0.02,
            replications: int = 3, seed: int = 1) -> None:
    """Re-simulate a small design and show estimates against the truth, coverage and power.

    Made for :func:`ipywidgets.interactive_output` in ``explore_synthetic.ipynb``:
    every argument is one control. ``effect`` is the latent effect on STS (SD
    units) of the chosen area; ``missingness`` the item non-response rate.
    """
    from IPython.display import Markdown, display

    from . import plots
    from .synthetic import StudyDesign
    design = StudyDesign.small().with_overrides({
        f"effects.{area}.sts": effect, "icc_org": icc, "orgs_per_area": orgs_per_area,
        "attrition": attrition, "item_nonresponse": missingness, "areas": [area]})
    reps = simulation_check(design, area=area, seeds=range(seed, seed + replications))
    first = reps[reps["replication"] == seed]
    plots.show(plots.truth_check(first, title=f"One simulated study (seed {seed}): estimates "
                                              "of the effect on STS (STSS total) and the truth"))
    ancova = reps[reps["estimator"] == "ancova"]
    plots.show(plots.coverage(ancova, title="ANCOVA interval in each replication"))
    study_inputs = dict(cluster_size=float(np.mean(design.teams_per_org))
                        * float(np.mean(design.workers_per_team)) * 0.8,
                        icc=icc + design.icc_team / 2, r_prepost=0.6)
    d = abs(effect) * 0.9
    from .power import cluster_power
    pw = cluster_power(max(d, 1e-6), n_clusters_per_arm=orgs_per_area, **study_inputs)
    display(Markdown(
        f"The ANCOVA interval covered the truth in **{int(ancova['covered'].sum())} of "
        f"{len(ancova)}** replications (a 95% interval should miss about 1 in 20). With "
        f"{orgs_per_area} organizations per arm and an effect of about {d:.2f} SD on the "
        f"observed score, the analytic power of the ANCOVA comparison is about **{pw:.0%}** "
        "(stseval.power.cluster_power, organizations of the small design's size)."))


# -- small pieces the notebooks call ------------------------------------------------------
def areas_in(estimates: pd.DataFrame) -> list[str]:
    """The areas of an estimates table in the guidance's order."""
    present = set(estimates["area"])
    return [a for a in AREA_KEYS if a in present]


def save_estimates(estimates: pd.DataFrame, path) -> Path:
    """Write an estimates table as CSV with :func:`stseval.privacy.safe_csv`; return the path."""
    from .privacy import safe_csv
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_csv(estimates, path, index=False)
    return path


def funder_title(study, estimates: pd.DataFrame, *, min_cell: int | None = None) -> str:
    """Markdown for the first page of the funder report (says so when the data are synthetic)."""
    areas = areas_in(estimates)
    head = ["# Protecting staff from secondary traumatic stress: what changed?", ""]
    head.append(f"Evaluation of {len(areas)} area{'s' if len(areas) != 1 else ''} of the "
                "Secondary Traumatic Stress Consortium's organizational guidance (2021): "
                + ", ".join(get_area(a).title.lower() for a in areas) + ".")
    head.append("")
    return "\n".join(head) + "\n" + study_overview(study, min_cell=min_cell)


def methods_facts(study, *, min_cell: int | None = None, confidence: float = 0.95) -> str:
    """Markdown: the minimum cell size, the missing-item rule and the confidence level in force."""
    min_cell = _min_cell(study, min_cell)
    rules = missing_item_rules(study)
    prorated = rules[rules["rule"].str.contains("prorated")]
    rule = (f"a scale score needs at least {int(round(100 * (prorated['needs'] / prorated['items']).min()))}"
            "% of the scale's items answered (the instrument's own rule where it has one); a "
            "sum score is then prorated from the answered items, otherwise it is missing"
            if len(prorated) else "a scale score needs every item answered")
    return (f"**Rules in force.** Minimum cell size: **{min_cell}** workers; any group smaller "
            "than that, and any count that would reveal one, is not shown (marked *suppressed*). "
            f"Missing items: {rule}; the table below gives the rule of each scale. Intervals are "
            f"{round(confidence * 100):g}% confidence intervals.")


def org_title(study, org_id: str, *, min_cell: int | None = None) -> str:
    """Markdown heading of an organization's feedback report."""
    org_id = str(org_id)
    orgs = study.orgs[study.orgs["org_id"].astype(str) == org_id]
    if orgs.empty:
        raise UsageError(f"org_id {org_id!r} is not an organization of this study")
    name = str(orgs["name"].iloc[0])
    changed = study.interventions.loc[study.interventions["org_id"] == org_id, "area"]
    what = (", ".join(get_area(a).title.lower() for a in changed)
            if len(changed) else "no area (a comparison organization)")
    staff = int((study.workers["org_id"] == org_id).sum())
    return (f"# Practice profile: {name}\n\nFeedback for one organization ({org_id}): "
            f"{staff} staff invited; changed practice in {what}.\n\n"
            + study_overview(study, min_cell=min_cell))


def profile_reading(profile_table: pd.DataFrame) -> str:
    """Markdown: the organization's strongest and weakest areas relative to the others."""
    t = profile_table.dropna(subset=["percentile"])
    if t.empty:
        return ("Too few of your staff answered to show your profile (fewer than the minimum "
                "cell size).")
    top = t.sort_values("percentile", ascending=False).iloc[0]
    low = t.sort_values("percentile").iloc[0]
    return (f"Relative to the other organizations, your staff rate **{top['title'].lower()}** "
            f"highest (above {top['percentile']:.0f}% of organizations) and "
            f"**{low['title'].lower()}** lowest (above {low['percentile']:.0f}%). "
            f"What the guidance asks in that area: {get_area(low['area']).target}")


def instrument_heading(inst) -> str:
    """Markdown heading for one instrument, flagging kit-authored, unvalidated inventories."""
    text = f"## {inst.name} ({inst.short_name})\n\n{inst.citation}"
    if inst.kit_authored:
        text += ("\n\n> **Kit-authored inventory, not yet validated.** "
                 + (inst.validation_note or "Check its reliability and structure on your data."))
    return text


def item_table(answers: pd.DataFrame, inst) -> pd.DataFrame:
    """:func:`stseval.reliability.item_stats` for every scale of ``inst`` (reverse-keyed items).

    Returns ``scale, item, label, n, mean, sd, item_total_r, alpha_if_deleted,
    floor_share, ceiling_share``.
    """
    from .reliability import item_stats
    from .scoring import item_matrix
    items = item_matrix(answers, inst)
    frames = []
    for name, scale in inst.scales.items():
        if len(scale.items) < 3:
            continue
        cols = [inst.item_columns[i - 1] for i in scale.items]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = item_stats(items[cols], min_value=inst.response.min,
                            max_value=inst.response.max)
        labels = {inst.item_columns[i.number - 1]: i.label + (" (R)" if i.reverse else "")
                  for i in inst.items}
        st.insert(0, "scale", scale.label)
        st.insert(2, "label", st["item"].map(labels))
        frames.append(st)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def design_inputs_text(inputs: dict, *, icc: float, cluster_size: float) -> str:
    """Markdown stating the design values a power calculation uses."""
    return (f"Design values for **{outcome_label(inputs['outcome'])}**: between-organization ICC "
            f"{icc:.3f} (study estimate {inputs['icc']:.3f}), pre/post correlation "
            f"{inputs['r_prepost']:.2f}, {cluster_size:.1f} respondents per organization "
            f"(coefficient of variation of size {inputs['cv']:.2f}), from {inputs['orgs']} "
            "organizations at the first wave.")


def mde_text(orgs_per_arm: int, *, cluster_size, icc, r_prepost=0.0, cv=0.0, power=0.8,
             confidence: float = 0.95) -> str:
    """Markdown: the minimum detectable effect of a planned design (:func:`stseval.power.cluster_mde`)."""
    from .power import cluster_mde
    mde = cluster_mde(n_clusters_per_arm=orgs_per_arm, cluster_size=cluster_size, icc=icc,
                      power=power, r_prepost=r_prepost, cv=cv, confidence=confidence)
    return (f"With **{orgs_per_arm} organizations per arm** of about {cluster_size:.0f} "
            f"respondents, the smallest effect detected with power {power:.0%} is **{mde:.2f} "
            f"SD**. Programs that protect staff from STS have shown effects of about 0.2 to 0.3 SD "
            "when they worked, so a design that cannot detect 0.3 SD risks missing a real effect.")
