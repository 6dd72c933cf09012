"""Does the practice change carry the outcome change? Dose-response and mediation.

Three questions, one table shape (:data:`DOSE_COLUMNS`):

* :func:`org_dose_response` -- did the organizations whose staff-rated
  practice rose more see their staff outcomes improve more? A weighted slope
  across organizations with the arm held fixed (``dose_org``: intervention and
  comparison organizations compared only with organizations of their own arm,
  so the intervention's direct effect is not credited to practice), the same
  slope corrected for the unreliability of a practice change measured on a few
  staff (``dose_org_corrected``), and the mean outcome change per band of
  practice gain (``dose_bin``).
* :func:`worker_dose_response` -- the same question in a mixed model of every
  worker's answers, with the worker's practice rating split by cluster-mean
  centering into a between-organization part (``dose_between``), a
  within-organization change-over-time part (``dose_within``, the one that
  speaks to change) and the worker's own deviation from colleagues
  (``dose_worker``).
* :func:`mediation` -- intervention -> practice change -> outcome change:
  indirect, direct and total effects with organization-resampling bootstrap
  intervals, under an assumption stated in every row.

Every dose row is an **association**: organizations were not assigned their
practice change, so a slope says "organizations whose practice rose more
also saw more improvement", not that practice caused it. :func:`dose_table`
runs the first two for several areas and outcomes.

References
----------
Enders, C. K., & Tofighi, D. (2007). Centering predictor variables in
cross-sectional multilevel models: a new look at an old issue. *Psychological
Methods*, 12(2), 121-138. doi:10.1037/1082-989X.12.2.121
Mundlak, Y. (1978). On the pooling of time series and cross section data.
*Econometrica*, 46(1), 69-85. doi:10.2307/1913646
Imai, K., Keele, L., & Tingley, D. (2010). A general approach to causal
mediation analysis. *Psychological Methods*, 15(4), 309-334. doi:10.1037/a0020761
Fuller, W. A. (1987). *Measurement Error Models*. Wiley. (correcting a slope for
an unreliable predictor)
Sprang, G., Miech, R., & Gusler, S. (2023). *Implementation Research and
Practice*, 4. doi:10.1177/26334895231164582 (the >= 10 STSI-OA points band).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._dosedata import (
    long_scores,
    med_paths,
    org_changes,
    panel_rows,
    stratified_counts,
)
from ._doserows import (
    DOSE_COLUMNS,
    _bin_row,
    _bins,
    _corrected_row,
    _min_cell,
    _out,
    _slope_row,
)
from ._results import _check_confidence, _t_interval
from .areas import AREA_KEYS, STAFF_OUTCOMES
from .columns import DOSE_ESTIMATORS
from .errors import StsevalError, UsageError

__all__ = [
    "DOSE_COLUMNS",
    "DOSE_ESTIMATORS",
    "SEQUENTIAL_IGNORABILITY",
    "org_dose_response",
    "worker_dose_response",
    "mediation",
    "dose_table",
]

#: Estimator names of this module (candidates for ``stseval.columns.ESTIMATORS``).

#: The plain-words assumption written next to every mediation number.
SEQUENTIAL_IGNORABILITY = (
    "assumes sequential ignorability: practice change was not randomized, so the indirect "
    "and direct effects are causal only if nothing unmeasured (a falling caseload, new "
    "leadership, a reorganization) moved both an organization's practice change and its "
    "outcome change; such a confounder biases the indirect effect"
)


def org_dose_response(
    data,
    area: str,
    outcome: str,
    *,
    practice: str | None = None,
    covariates=(),
    waves=None,
    orgs: str = "arms",
    change: str = "auto",
    pooled: bool = False,
    confidence: float = 0.95,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Organization-level dose-response: outcome change against practice change.

    For each organization with at least ``min_cell`` respondents at both
    waves: ``dp`` = change in the mean staff-rated practice score and ``dy`` =
    change in the mean outcome (later minus earlier wave, means over each
    wave's respondents). ``dose_org`` is the weighted least-squares slope of
    ``dy`` on ``dp`` **with the arm held fixed**::

        dy_g = c0 + c1 T_g + b dp_g + d' dcov_g + e_g      (dose_org = b)

    (``T_g`` = 1 for the area's intervention organizations; with ``orgs="all"``
    organizations outside the area's arms count as ``T = 0``; the changes of
    ``covariates`` enter as ``dcov``). Holding the arm fixed matters: the
    intervention raises practice *and* may lower STS directly, so a slope
    pooled over both arms also credits that direct effect to practice (with
    the ``dose_null`` preset, where practice carries nothing, the pooled
    slope was -2.4 STSS points per scale point, z -8.7; the arm-held slope
    about 0). ``b`` is the within-arm slope (the common slope of the two
    arms), the same ``b`` as :func:`mediation`'s ``med_b``. With one arm, or
    no arm known (a frame without ``treated``), there is nothing to hold and
    the method says so. ``pooled=True`` adds the ``dose_org_pooled`` row
    (slope without the arm term): labelled, for comparison only.
    ``dose_org_corrected`` is ``dose_org`` (estimate, SE, interval) divided by
    ``reliability`` (below): the slope per scale point of the organizations'
    true practice change (Fuller, 1987, regression-dilution correction); not
    estimable when the reliability is below 0.2. Weights ``w = 2 /
    (1/n_pre + 1/n_post)`` (the number of respondents when it is the same at
    both waves), with a CR2 (HC2) standard error, each organization its own
    cluster, and t on the Bell-McCaffrey (Satterthwaite) df (Bell & McCaffrey,
    2002; Imbens & Kolesar, 2016; below G - k). ``dose_bin`` rows
    give the weighted mean outcome change of the organizations in each band
    of practice gain (below 0, 0 to 0.5, above 0.5 scale points; with the
    STSI-OA total also below / at least 10 summed points, i.e. 10 / 40 of the
    kit's item-mean scale), SE ``sqrt(G/(G-1) sum u_g^2 (dy_g - m)^2)``,
    ``u_g = w_g / sum w``, t on G_bin - 1 df.

    Parameters
    ----------
    data : Study or DataFrame
        A study, or long scores with ``worker_id, org_id, wave`` and the
        outcome, practice and covariate columns (as ``Study.scored()``).
    area : str
        Area key (chooses the default practice score and, for a study, the orgs).
    outcome : str
        Outcome score column (e.g. ``stss_total``).
    practice : str, optional
        Practice score column; default ``org_guidance_<area>``, else ``stsioa_total``.
    covariates : sequence of str
        Worker-level numeric columns (e.g. caseload) whose organization-mean
        change enters the slope model (adjusts for a measured confounder). With
        a study, a column that is not a score is read from ``responses.csv``
        (matched on ``worker_id`` and ``wave``).
    waves : (str, str), optional
        Earlier and later wave; default the study's first two (a frame: pre, post).
    orgs : {"arms", "all"}
        With a study: the area's intervention and comparison organizations
        (default), or every organization.
    pooled : bool
        Also return the ``dose_org_pooled`` row (arm not held fixed; biased by
        the direct effect whenever the intervention has one).
    change : {"auto", "panel", "cross_section"}
        ``"panel"``: an organization's change is the mean within-worker change
        of the workers who answered both waves (the same people at both waves,
        so a change in who answered cannot move practice and outcome together;
        needed because the same staff rate practice and report their outcome).
        ``"cross_section"``: difference of the two waves' respondent means (for
        unlinked waves). ``"auto"`` (default): panel when any worker answered
        both waves.
    confidence : float
    min_cell : int, optional
        Fewest respondents per organization and wave, and fewest organizations
        and workers in a bin; default the study's ``min_cell`` (5 for a frame).

    The org means are estimates: a practice change measured on few workers is
    partly noise, which shrinks the slope toward 0 (regression dilution).
    ``reliability`` on the ``dose_org`` row is ``1 - sum(u_g v_g) / var_u(dp | arm,
    covariates)`` with ``v_g`` the sampling variance of org g's ``dp`` (variance
    of its workers' own changes / n for a panel, s2_pre / n_pre + s2_post /
    n_post otherwise) and ``var_u(dp | ...)`` the weighted residual variance of
    ``dp`` given the model's other columns (the variation the slope uses):
    roughly the factor by which the slope is shrunk (the tests check it against
    the simulated attenuation). Below 0.8 the note says so.

    Returns
    -------
    DataFrame with :data:`DOSE_COLUMNS`: ``estimate`` is the slope (outcome
    points per practice scale point) for ``dose_org`` and the mean outcome
    change for ``dose_bin`` (``bin`` names the band); ``n_workers`` and
    ``n_orgs`` count what each row used; suppressed bins have NaN and a note.
    ``es_description`` says the row is an association.

    Tests check the slope and its HC2 SE and df against numpy, recovery of a
    known slope, coverage and the false-positive rate by simulation
    (``tests/test_dose.py``). Measured with that simulation (30 organizations
    of 20 workers, two arms, slope -4): bias +0.05 (Monte Carlo SE 0.04), 95%
    coverage 0.93 (400 replications); under no slope (24 organizations of 10)
    5% tests rejected 4.0% of 1,000 times.
    """
    confidence = _check_confidence(confidence)
    mc = _min_cell(data, min_cell)
    covariates = list(covariates)
    long, practice, (w0, w1) = long_scores(
        data, area, outcome, practice=practice, waves=waves, covariates=covariates, orgs=orgs
    )
    n_all = long["org_id"].nunique()
    long, how, panel = panel_rows(long, change)
    ch, _ = org_changes(long, covariates, mc, panel=panel)
    dropped = n_all - len(ch)
    note = f"{dropped} organization(s) with fewer than {mc} respondents in a wave left out"
    note = note if dropped else ""
    fixed = dict(area=area, outcome=outcome, practice=practice, wave=w1)
    rows = [_slope_row(ch, covariates, confidence, note, hold_arm=True)]
    rows.append(_corrected_row(rows[0]))
    if pooled:
        rows.append(_slope_row(ch, covariates, confidence, note, hold_arm=False))
    rows += [_bin_row(ch, b, confidence, mc) for b in _bins(practice)]
    for r in rows:
        r["method"] = f"{how}; {r['method']}"
    return _out(rows, **fixed)


def worker_dose_response(
    data,
    area: str,
    outcome: str,
    *,
    practice: str | None = None,
    covariates=(),
    waves=None,
    orgs: str = "arms",
    confidence: float = 0.95,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Worker-level dose-response: a mixed model with cluster-mean-centred practice.

    Model (REML, :func:`stseval._cluster.nested_reml`)::

        y_ijt = b0 + tau * later_t + b_B * P_j + b_W * (P_jt - P_j)
                + b_I * (p_ijt - P_jt) + covariates + g0 T_j + g1 T_j later_t
                + u_j + v_jt + w_i + e_ijt

    ``T_j`` (1 = the area's intervention organization; left out when the arm
    is unknown or the same for all) holds the arm fixed, as in
    :func:`org_dose_response`: without ``g1`` the within part would also pick
    up the intervention's direct effect on the outcome.

    with ``p_ijt`` worker i's practice rating in organization j at wave t,
    ``P_jt`` the organization's mean rating at that wave, ``P_j`` the mean of
    its two wave means; random organization (``u``), organization-by-wave
    (``v``) and worker (``w``, when workers repeat) intercepts. Rows:

    * ``dose_within`` (``b_W``): when an organization's practice rose, did its
      outcome move, relative to the common change of all organizations? The
      within-organization part, the one that speaks to change (it removes
      every stable difference between organizations).
    * ``dose_between`` (``b_B``): do organizations with better practice on
      average have better outcomes? Cross-sectional, open to every stable
      confounder (size, caseload, sector).
    * ``dose_worker`` (``b_I``): do workers who rate practice higher than
      their colleagues have better outcomes? Partly how distress colours the
      rating; not evidence about practice.

    When every worker answered both waves and organizations keep their
    respondents, ``dose_within`` equals the ``dose_org`` slope (checked in the
    tests); it differs with unbalanced data, and its interval comes from the
    model. By simulation (24 organizations of 10 workers): 95% coverage 0.94
    with a slope of -4, 2% rejections at 5% with none (100 replications each).

    Inference: Wald t on G - 2 df, as :func:`stseval.models.mixed`. Arguments
    as :func:`org_dose_response`; ``min_cell`` is the fewest workers the
    model may use. Returns :data:`DOSE_COLUMNS` (associations; see
    ``es_description``). Enders & Tofighi (2007); Mundlak (1978).
    """
    confidence = _check_confidence(confidence)
    mc = _min_cell(data, min_cell)
    covariates = list(covariates)
    long, practice, (w0, w1) = long_scores(
        data, area, outcome, practice=practice, waves=waves, covariates=covariates, orgs=orgs
    )
    fixed = dict(area=area, outcome=outcome, practice=practice, wave=w1, bin="")
    terms = {
        "dose_between": "organizations with higher average practice (between-organization; "
        "does not speak to change)",
        "dose_within": "an organization's own practice change over time (within-organization; "
        "the part that speaks to change)",
        "dose_worker": "a worker rating practice above colleagues (within organization and "
        "wave; reflects how staff perceive practice)",
    }
    rows = [
        dict(
            estimator=k,
            es_description=f"outcome difference per scale point for {v}; "
            "association, not an effect",
        )
        for k, v in terms.items()
    ]
    G = long["org_id"].nunique()
    if G < 3 or long["worker_id"].nunique() < mc:
        for r in rows:
            r["note"] = f"not estimable: {G} organization(s), need 3 and {mc} workers"
        return _out(rows, **fixed)
    fit, note = _fit_centred(long, covariates)
    dfree = float(G - 2)
    method = (
        "LMM (REML; random org, org-by-wave, worker), cluster-mean centring, arm and "
        "arm x wave held fixed when known, t(G-2)"
    )
    for j, r in enumerate(rows):
        est, se = (float(fit.beta[2 + j]), float(np.sqrt(fit.cov_beta[2 + j, 2 + j])))
        lo, hi, p = _t_interval(est, se, dfree, confidence)
        r.update(estimate=est, se=se, ci_low=lo, ci_high=hi, p_value=p, note=note)
        r.update(n_orgs=G, n_workers=long["worker_id"].nunique(), method=method)
    return _out(rows, **fixed)


def _fit_centred(long: pd.DataFrame, covariates):
    d = long
    cell = d.groupby(["org_id", "wave"])["p"].transform("mean")
    org_mean = (
        d.groupby(["org_id", "wave"])["p"].mean().groupby("org_id").mean().reindex(d["org_id"])
    ).to_numpy()
    arm = d["treated"].to_numpy(float)
    cols = [np.ones(len(d)), d["wave"], org_mean, cell - org_mean, d["p"] - cell]
    cols += [d[c] for c in covariates]
    if not np.isnan(arm).all():
        arm = np.nan_to_num(arm, nan=0.0)
        if arm.min() != arm.max():  # hold the arm fixed: its level and its change
            cols += [arm, arm * d["wave"].to_numpy(float)]
    X = np.column_stack(cols)
    org = pd.factorize(d["org_id"])[0]
    worker = pd.factorize(d["org_id"] + "\x00" + d["worker_id"])[0]
    repeat = np.bincount(worker).max() > 1
    notes = [] if repeat else ["no worker answered both waves: worker component dropped"]
    fit = _cluster.nested_reml(
        d["y"].to_numpy(float), X, org, d["wave"].to_numpy(), worker, worker_effect=repeat
    )
    if not fit.converged:
        notes.append("the REML optimization did not converge")
    if fit.at_zero:
        notes.append(f"variance component(s) at or near zero: {', '.join(fit.at_zero)}")
    return fit, "; ".join(notes)


def mediation(
    data,
    area: str,
    outcome: str,
    *,
    practice: str | None = None,
    covariates=(),
    waves=None,
    n_boot: int = 1000,
    seed: int = 0,
    change: str = "auto",
    confidence: float = 0.95,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Intervention -> practice change -> outcome change, at the organization level.

    With the organization changes of :func:`org_dose_response` (``dp``,
    ``dy``, weights ``w``) and ``T`` = 1 for the area's intervention
    organizations, 0 for comparison organizations, two weighted regressions
    (Baron-Kenny product of coefficients, linear models; Imai, Keele &
    Tingley 2010)::

        dp = a0 + a T (+ d_a' dcov)          (med_a: practice change per intervention)
        dy = c0 + c' T + b dp (+ d_y' dcov)  (med_b: outcome per practice point, arm fixed)

    ``med_indirect`` = a b (the part of the outcome change carried by the
    practice change), ``med_direct`` = c', ``med_total`` = c' + a b, which
    equals the slope of ``dy`` on ``T`` alone. Intervals: percentile
    bootstrap resampling organizations with replacement within each arm
    (``n_boot`` resamples, all fitted at once with batched normal equations),
    ``se`` = bootstrap SD, ``p_value`` = 2 x the smaller share of resamples on
    either side of 0 (at most 1). Resamples whose design is singular are
    dropped and counted in ``note``.

    Parameters
    ----------
    data : Study or DataFrame
        A study, or long scores with a 0/1 ``treated`` column constant per org.
    covariates : sequence of str
        Measured confounders (e.g. ``caseload``; with a study, score columns or
        columns of ``responses.csv``): their organization-mean change enters both
        models, so sequential ignorability is then needed only given them.
    n_boot : int
        Bootstrap resamples (at least 100).
    seed : int
        Seed of the resampling.
    Other parameters as :func:`org_dose_response`.

    Returns
    -------
    DataFrame with :data:`DOSE_COLUMNS`, five rows ``med_a, med_b,
    med_indirect, med_direct, med_total``; every ``note`` states the
    sequential-ignorability assumption (:data:`SEQUENTIAL_IGNORABILITY`).

    Measured by simulation (``tests/test_dose.py`` generator; a = 0.6, b = -4,
    direct -1.5; 200 replications, 1,000 resamples): with 15 organizations per
    arm the indirect effect's bias was +0.01 (Monte Carlo SE 0.07) and its 95%
    interval covered 0.94 of the time (a, b, direct: 0.915-0.935); with b = 0
    the interval for the indirect effect excluded 0 in 8% of replications. The
    percentile bootstrap is a little liberal with this few organizations.
    """
    confidence = _check_confidence(confidence)
    mc = _min_cell(data, min_cell)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise UsageError(f"n_boot must be a whole number of at least 100; got {n_boot!r}")
    covariates = list(covariates)
    long, practice, (w0, w1) = long_scores(
        data, area, outcome, practice=practice, waves=waves, covariates=covariates, orgs="arms"
    )
    n_all = long["org_id"].nunique()
    long, how, panel = panel_rows(long, change)
    ch, _ = org_changes(long, covariates, mc, panel=panel)
    dropped = n_all - len(ch)
    ch = ch.dropna(subset=["treated"])
    fixed = dict(area=area, outcome=outcome, practice=practice, wave=w1, bin="")
    names = ["med_a", "med_b", "med_indirect", "med_direct", "med_total"]
    rows = [dict(estimator=n, es_description=_MED_WORDS[n]) for n in names]
    n_arm = ch.groupby("treated").size().reindex([0.0, 1.0], fill_value=0)
    if n_arm.min() < 2:
        for r in rows:
            r["note"] = (
                f"not estimable: needs 2 intervention and 2 comparison organizations with "
                f"{mc}+ respondents at both waves; has {n_arm[1.0]} and {n_arm[0.0]}"
            )
        return _out(rows, **fixed)
    T, M, Y, w = (ch[c].to_numpy(float) for c in ("treated", "dp", "dy", "w"))
    C = ch[[f"d_{c}" for c in covariates]].to_numpy(float) if covariates else None
    point = med_paths(T, M, Y, w[None, :], C)[:, 0]
    counts = stratified_counts(T, n_boot, np.random.default_rng(seed))
    boot = med_paths(T, M, Y, counts * w[None, :], C)
    ok = np.all(np.isfinite(boot), axis=0)
    q = (1 - confidence) / 2
    notes = [SEQUENTIAL_IGNORABILITY]
    if dropped:
        notes.append(f"{dropped} organization(s) with fewer than {mc} respondents left out")
    if (~ok).sum():
        notes.append(f"{int((~ok).sum())} singular resample(s) dropped")
    adj = f" adjusted for the change in {', '.join(covariates)}" if covariates else ""
    method = (
        f"{how}; product of coefficients, org-level WLS{adj}; percentile bootstrap of "
        "organizations "
        f"within arm, {n_boot} resamples, seed {seed}"
    )
    for j, r in enumerate(rows):
        b = boot[j, ok]
        p = min(1.0, 2 * min(np.mean(b <= 0), np.mean(b >= 0)))
        r.update(estimate=point[j], se=float(b.std(ddof=1)), p_value=p, method=method)
        r.update(ci_low=float(np.quantile(b, q)), ci_high=float(np.quantile(b, 1 - q)))
        r.update(n_orgs=len(ch), n_workers=int(ch["n_workers"].sum()), note="; ".join(notes))
    return _out(rows, **fixed)


_MED_WORDS = {
    "med_a": "practice change of intervention minus comparison organizations (scale points)",
    "med_b": "outcome change per scale point of practice change, arm held fixed; association",
    "med_indirect": "part of the intervention's outcome change carried by its practice change "
    "(a x b); causal only under sequential ignorability",
    "med_direct": "outcome change of intervention minus comparison organizations not carried "
    "by the practice change; causal only under sequential ignorability",
    "med_total": "outcome change of intervention minus comparison organizations (direct + "
    "indirect)",
}


def dose_table(
    study,
    *,
    areas=None,
    outcomes=None,
    confidence: float = 0.95,
    min_cell: int | None = None,
    worker_level: bool = True,
) -> pd.DataFrame:
    """:func:`org_dose_response` (and :func:`worker_dose_response`) for areas x outcomes.

    ``areas`` default: every area with intervention organizations;
    ``outcomes`` default: the staff outcomes the study measures. An area or
    outcome that cannot be estimated gives rows with a ``note``, not an
    exception. Returns :data:`DOSE_COLUMNS`; ``p_adjusted`` is Holm-adjusted
    per estimator across the table's rows.
    """
    from .models import adjust_p

    scored_cols = set(study.scored().columns)
    areas = (
        list(areas)
        if areas is not None
        else [a for a in AREA_KEYS if (study.interventions["area"] == a).any()]
    )
    outcomes = (
        list(outcomes) if outcomes is not None else [o for o in STAFF_OUTCOMES if o in scored_cols]
    )
    tables = []
    for area in areas:
        for outcome in outcomes:
            kw = dict(confidence=confidence, min_cell=min_cell)
            for fn in [org_dose_response] + ([worker_dose_response] if worker_level else []):
                try:
                    tables.append(fn(study, area, outcome, **kw))
                except StsevalError as exc:
                    tables.append(
                        _out(
                            [dict(estimator="dose_org", note=f"not estimated: {exc}")],
                            area=area,
                            outcome=outcome,
                        )
                    )
    table = pd.concat(tables, ignore_index=True)
    for _, idx in table.groupby("estimator", sort=False).groups.items():
        p = table.loc[idx, "p_value"]
        table.loc[idx, "p_adjusted"] = np.asarray(adjust_p(p, method="holm"))
    return table
