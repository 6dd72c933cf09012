"""Tests of stseval.models (effect estimators) and stseval._cluster (sandwich variances)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import linalg, stats

from stseval import _cluster, missing_data
from stseval import models as m
from stseval.errors import EstimationWarning, UsageError

# --------------------------------------------------------------------------- simulators


def sim_wide(seed=0, n_orgs=20, n_per=15, icc=0.05, effect=0.0, rho=0.5, miss=0.0):
    """Workers nested in orgs; org shocks independent at each wave (org-level drift)."""
    rng = np.random.default_rng(seed)
    org = np.repeat(np.arange(n_orgs), n_per)
    treated = (org % 2 == 0).astype(int)
    u_pre = rng.normal(0, np.sqrt(icc), n_orgs)[org]
    u_post = rng.normal(0, np.sqrt(icc), n_orgs)[org]
    w = rng.normal(0, np.sqrt(rho * (1 - icc)), len(org))
    e_sd = np.sqrt((1 - rho) * (1 - icc))
    pre = 50 + 10 * (u_pre + w + rng.normal(0, e_sd, len(org)))
    post = 50 + 10 * (u_post + w + rng.normal(0, e_sd, len(org))) + effect * treated
    post = np.where(rng.random(len(org)) < miss, np.nan, post)
    return pd.DataFrame(
        {
            "worker_id": np.arange(len(org)),
            "org_id": [f"o{i:02d}" for i in org],
            "treated": treated,
            "pre": pre,
            "post": post,
        }
    )


def to_long(wide):
    return wide.melt(
        id_vars=["worker_id", "org_id", "treated"],
        value_vars=["pre", "post"],
        var_name="wave",
        value_name="y",
    )


def sim_org_months(seed=0, n_orgs=16, n_months=24, level=0.0, base=0.03):
    """Monthly separations: org level, AR(1) monthly shocks, staggered starts, Poisson counts."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2022-01-01", periods=n_months, freq="MS")
    rows = []
    for o in range(n_orgs):
        treated = int(o < n_orgs // 2)
        start = (
            months[8 + (o % 8)] + pd.Timedelta(days=int(rng.integers(0, 27))) if treated else pd.NaT
        )
        hc = int(rng.integers(40, 120))
        u, ar = rng.normal(0, 0.005), 0.0
        for i, mo in enumerate(months):
            ar = 0.5 * ar + rng.normal(0, 0.003)
            rate = base + u + ar + 0.0002 * i
            if treated and mo >= start.to_period("M").to_timestamp():
                rate += level
            rows.append(
                dict(
                    org_id=f"o{o:02d}",
                    month=mo,
                    headcount=hc,
                    separations=rng.poisson(hc * max(rate, 0.001)),
                    absence_days=rng.poisson(hc * 21 * 0.04),
                    treated=treated,
                    start_date=start,
                )
            )
    return pd.DataFrame(rows)


# A tiny clustered data set (4 organizations) used for reference values.
TINY = pd.DataFrame(
    {
        "org_id": [1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4],
        "treated": [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        "pre": [3.1, 4.0, 2.2, 5.5, 4.1, 3.3, 4.8, 2.9, 4.4, 3.7, 5.0, 2.5],
        "post": [3.9, 4.2, 3.0, 6.1, 4.0, 4.1, 5.9, 2.7, 4.9, 3.5, 5.6, 2.1],
    }
)


def _tiny_design():
    X = np.column_stack([np.ones(len(TINY)), TINY.treated, TINY.pre]).astype(float)
    return X, TINY.post.to_numpy(float), TINY.org_id.to_numpy()


def test_result_columns_fixed():
    w = sim_wide(1)
    long = to_long(w)
    for out in (
        m.ancova(w),
        m.did(long),
        m.org_practice(long),
        m.ancova_mi(w),
        m.paired_test(w.pre, w.post),
        m.wilcoxon_test(w.pre, w.post),
        m.its(sim_org_months(0)),
    ):
        # typed out (tests/test_columns.py has the full lists): a rename must fail here
        assert list(out.columns[:12]) == [
            "term",
            "estimate",
            "se",
            "statistic",
            "df",
            "ci_low",
            "ci_high",
            "p_value",
            "n_workers",
            "n_orgs",
            "method",
            "note",
        ]
        assert str(out["n_orgs"].dtype) == "Int64"


# --------------------------------------------------------------------------- ANCOVA / CR


def test_ancova_matches_statsmodels_ols_and_cr1():
    w = sim_wide(3, effect=2.0, miss=0.1)
    cc = w.dropna()
    ref = smf.ols("post ~ treated + pre", cc).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(cc.org_id)[0]}
    )
    out = m.ancova(w, se_type="CR1")
    assert out.estimate[0] == pytest.approx(ref.params["treated"], rel=1e-10)
    assert out.se[0] == pytest.approx(ref.bse["treated"], rel=1e-10)
    assert out.n_workers[0] == len(cc) and out.n_orgs[0] == 20
    assert out.df[0] == 19
    # t(G-1) interval and p-value
    q = stats.t.ppf(0.975, 19)
    assert out.ci_low[0] == pytest.approx(out.estimate[0] - q * out.se[0])
    assert out.p_value[0] == pytest.approx(2 * stats.t.sf(abs(out.statistic[0]), 19))


def test_cr_variances_match_clubsandwich():
    # Reference: R 4.2.2, clubSandwich 0.5.8 (Debian r-cran-clubsandwich), on TINY:
    #   fit <- lm(post ~ trt + pre, d); vcovCR(fit, cluster = d$org, type = "CR1S"/"CR2"/"CR3")
    #   coef_test(fit, vcov = "CR2", cluster = d$org, test = "Satterthwaite")$df_Satt
    ref_var = {"CR1": 0.01088707130952906, "CR2": 0.02094767065908798, "CR3": 0.0658166944550502}
    for se_type, v in ref_var.items():
        out = m.ancova(TINY, cluster="org_id", se_type=se_type)
        assert out.se[0] == pytest.approx(np.sqrt(v), rel=1e-10)
    X, y, g = _tiny_design()
    fit = _cluster.ols(X, y, g)
    assert _cluster.vcov(fit, "CR2")[2, 2] == pytest.approx(0.02362127909957748, rel=1e-10)
    assert _cluster.vcov(fit, "CR3")[0, 2] == pytest.approx(-0.1726601509800358, rel=1e-10)
    df = [_cluster.satterthwaite_df(fit, "CR2", e) for e in np.eye(3)]
    np.testing.assert_allclose(
        df, [2.75078036642974, 1.97289148180135, 2.51785698078929], rtol=1e-10
    )
    out = m.ancova(TINY, se_type="CR2", df_method="satterthwaite")
    assert out.df[0] == pytest.approx(1.97289148180135, rel=1e-10)


def test_cr2_cr3_hand_numpy_and_jackknife():
    X, y, g = _tiny_design()
    bread = np.linalg.inv(X.T @ X)
    b = bread @ X.T @ y
    e = y - X @ b
    meat2 = np.zeros((3, 3))
    meat3 = np.zeros((3, 3))
    jack = np.zeros((3, 3))
    for c in np.unique(g):
        i = g == c
        ihh = np.eye(i.sum()) - X[i] @ bread @ X[i].T
        s2 = X[i].T @ np.real(linalg.inv(linalg.sqrtm(ihh))) @ e[i]
        s3 = X[i].T @ np.linalg.solve(ihh, e[i])
        meat2 += np.outer(s2, s2)
        meat3 += np.outer(s3, s3)
        b_minus = np.linalg.lstsq(X[~i], y[~i], rcond=None)[0]  # leave cluster c out
        jack += np.outer(b_minus - b, b_minus - b)
    fit = _cluster.ols(X, y, g)
    np.testing.assert_allclose(_cluster.vcov(fit, "CR2"), bread @ meat2 @ bread, rtol=1e-10)
    np.testing.assert_allclose(_cluster.vcov(fit, "CR3"), bread @ meat3 @ bread, rtol=1e-10)
    # CR3 is the (uncentred) leave-one-cluster-out jackknife sum.
    np.testing.assert_allclose(_cluster.vcov(fit, "CR3"), jack, rtol=1e-8)


def test_cr_with_cluster_fixed_effects():
    # Org dummies make I - H_gg singular (the pseudo-inverse is used, as in the ITS).
    # Reference: clubSandwich 0.5.8, lm(post ~ 0 + factor(org) + pre) on TINY:
    #   vcovCR(fit, cluster = d$org, type = "CR2")["pre", "pre"] = 0.0259538065349919,
    #   coef_test(..., test = "Satterthwaite") df for pre = 2.54878997114148.
    # (clubSandwich's CR3 stops on the singular matrix.) Our pseudo-inverse CR3 equals
    # the leave-one-cluster-out jackknife that also drops the left-out org's dummy.
    g = TINY.org_id.to_numpy()
    orgs = np.unique(g)
    X = np.column_stack([(g == o).astype(float) for o in orgs] + [TINY.pre])
    y = TINY.post.to_numpy(float)
    fit = _cluster.ols(X, y, g)
    assert _cluster.vcov(fit, "CR2")[4, 4] == pytest.approx(0.0259538065349919, rel=1e-10)
    assert _cluster.satterthwaite_df(fit, "CR2", np.eye(5)[4]) == pytest.approx(
        2.54878997114148, rel=1e-10
    )
    jack = 0.0
    for j, o in enumerate(orgs):
        keep = g != o
        cols = [i for i in range(5) if i != j]
        b = np.linalg.lstsq(X[keep][:, cols], y[keep], rcond=None)[0][-1]
        jack += (b - fit.beta[4]) ** 2
    assert _cluster.vcov(fit, "CR3")[4, 4] == pytest.approx(jack, rel=1e-8)


def test_absorbed_fixed_effects_match_the_dummies():
    # ols_absorbed (fixed effects swept out, issue 14) against the dense dummy design
    # that the ITS used before: same coefficients, same CR0-CR3 variances and
    # Satterthwaite df of the non-dummy coefficients, to ~1e-12.
    g = TINY.org_id.to_numpy()
    fit = _cluster.ols_absorbed(TINY[["pre"]].to_numpy(float), TINY.post.to_numpy(float), g)
    assert _cluster.vcov(fit, "CR2")[0, 0] == pytest.approx(0.0259538065349919, rel=1e-10)
    assert _cluster.satterthwaite_df(fit, "CR2", np.eye(1)[0]) == pytest.approx(
        2.54878997114148, rel=1e-10
    )
    om = sim_org_months(3, n_orgs=12, n_months=18)
    codes = pd.factorize(om.org_id)[0]
    rng = np.random.default_rng(5)
    Z = np.column_stack([np.arange(len(om)) % 18, rng.normal(size=(len(om), 2)), om.treated])
    Z[:, 3] = Z[:, 3] * Z[:, 1]
    y = om.separations.to_numpy(float) / om.headcount.to_numpy(float)
    dense = _cluster.ols(np.column_stack([np.eye(12)[codes], Z]), y, codes)
    thin = _cluster.ols_absorbed(Z, y, codes)
    np.testing.assert_allclose(thin.beta, dense.beta[12:], rtol=1e-10, atol=1e-14)
    for se_type in ("CR0", "CR1", "CR2", "CR3"):
        np.testing.assert_allclose(
            _cluster.vcov(thin, se_type), _cluster.vcov(dense, se_type)[12:, 12:], rtol=1e-12
        )
    for j in range(4):
        assert _cluster.satterthwaite_df(thin, "CR2", np.eye(4)[j]) == pytest.approx(
            _cluster.satterthwaite_df(dense, "CR2", np.eye(16)[12 + j]), rel=1e-10
        )


def test_its_same_ses_as_the_dense_dummy_fit():
    # The ITS's CR3/CR2 SEs with organization dummies written out (the implementation
    # before issue 14), computed here from its own formula.
    om = sim_org_months(4, n_orgs=14, n_months=20, level=-0.01)
    for se_type in ("CR3", "CR2", "CR1"):
        out = m.its(om, se_type=se_type).set_index("term")
        d = om.assign(rate=om.separations / om.headcount)
        m_ = pd.to_datetime(d.month)
        d["mi"] = m_.dt.year * 12 + m_.dt.month - 1
        s_ = pd.to_datetime(d.start_date)
        d["si"] = s_.dt.year * 12 + s_.dt.month - 1
        ref = d.groupby("org_id").si.min()
        treated_ref = ref[d.groupby("org_id").treated.first() == 1]
        ref = ref.fillna(np.floor(treated_ref.median()))
        rel = (d.mi - d.org_id.map(ref)).to_numpy(float)
        post = (rel >= 0).astype(float)
        since = np.clip(rel, 0, None)
        t = d.treated.to_numpy(float)
        codes, uniq = pd.factorize(d.org_id)
        X = np.column_stack(
            [np.eye(len(uniq))[codes], rel, post, since, t * rel, t * post, t * since]
        )
        fit = _cluster.ols(X, d.rate.to_numpy(float), codes)
        V = _cluster.vcov(fit, se_type)
        k = len(uniq)
        assert out.loc["level_change", "estimate"] == pytest.approx(fit.beta[k + 4], rel=1e-9)
        assert out.loc["level_change", "se"] == pytest.approx(np.sqrt(V[k + 4, k + 4]), rel=1e-9)
        assert out.loc["slope_change", "se"] == pytest.approx(np.sqrt(V[k + 5, k + 5]), rel=1e-9)


def test_cr2_equals_welch_for_cluster_level_treatment():
    # Imbens & Kolesar (2016, doi:10.1162/REST_a_00552): with a binary regressor, HC2
    # gives the unequal-variance (Welch/Neyman) variance. Clustered analogue, equal
    # cluster sizes, treatment at cluster level: CR2 = s1^2/G1 + s0^2/G0 of cluster means.
    w = sim_wide(5, n_orgs=11, n_per=6).dropna()
    X = np.column_stack([np.ones(len(w)), w.treated]).astype(float)
    fit = _cluster.ols(X, w.post.to_numpy(), w.org_id.to_numpy())
    cm = w.groupby("org_id").agg(y=("post", "mean"), t=("treated", "first"))
    welch = sum(cm.y[cm.t == a].var(ddof=1) / (cm.t == a).sum() for a in (0, 1))
    assert _cluster.vcov(fit, "CR2")[1, 1] == pytest.approx(welch, rel=1e-10)


def test_cr_ordering_sanity():
    w = sim_wide(2)
    se = {st: m.ancova(w, se_type=st).se[0] for st in ("CR0", "CR1", "CR2", "CR3")}
    assert se["CR0"] < se["CR1"] < se["CR3"]
    assert se["CR0"] < se["CR2"] < se["CR3"]


def test_ancova_constant_post_gives_no_estimate_and_says_why():
    # Rounding noise used to become a result: SE 4.7e-14, p = 0.61, no note (issue 9).
    w = TINY.assign(post=3.7)
    with pytest.warns(EstimationWarning, match="same value"):
        out = m.ancova(w)
    assert out[["estimate", "se", "ci_low", "ci_high", "p_value"]].isna().all(axis=None)
    assert "column 'post' has the same value (3.7) in every row" in out.note[0]
    assert out.n_workers[0] == 12 and out.n_orgs[0] == 4


def test_exact_fit_keeps_the_estimate_without_a_standard_error():
    # post = pre + 0.5 treated exactly (non-constant): the coefficient is exact (0.5),
    # its SE would be rounding noise, so none is given.
    w = TINY.assign(post=lambda d: d.pre + 0.5 * d.treated)
    with pytest.warns(EstimationWarning, match="fits every row exactly"):
        out = m.ancova(w)
    assert out.estimate[0] == pytest.approx(0.5, abs=1e-12)
    assert np.isnan(out.se[0]) and np.isnan(out.p_value[0])
    assert "no standard error" in out.note[0]


def test_ancova_covariates_and_errors():
    w = sim_wide(4)
    w["tenure"] = np.arange(len(w)) % 7
    out = m.ancova(w, covariates=["tenure"])
    ref = smf.ols("post ~ treated + pre + tenure", w).fit()
    assert out.estimate[0] == pytest.approx(ref.params["treated"], rel=1e-10)
    with pytest.raises(UsageError, match="se_type must be one of"):
        m.ancova(w, se_type="HC3")
    with pytest.raises(UsageError, match="confidence must be"):
        m.ancova(w, confidence=95)
    with pytest.raises(UsageError, match=r"no column 'baseline' \(parameter pre\)"):
        m.ancova(w, pre="baseline")
    bad = w.assign(treated=np.where(w.treated == 1, "yes", "no"))
    with pytest.raises(UsageError, match="must be 0/1"):
        m.ancova(bad)
    one = w[(w.treated == 0) | (w.org_id == "o00")]
    with pytest.raises(UsageError, match="at least 2 treated and 2 comparison.*got 1 treated"):
        m.ancova(one)
    with pytest.raises(UsageError, match="rank deficient"):
        m.ancova(w.assign(tenure=1.0), covariates=["tenure"])


def test_wild_bootstrap():
    w = sim_wide(6, effect=6.0)
    p1 = m.wild_bootstrap_p(w, n_boot=399, seed=1)
    assert p1 == m.wild_bootstrap_p(w, n_boot=399, seed=1)
    assert p1 < 0.05
    rej = np.mean([m.wild_bootstrap_p(sim_wide(s), n_boot=199, seed=s) < 0.05 for s in range(100)])
    assert rej <= 0.12  # nominal 0.05; binomial sd over 100 replications ~0.022
    with pytest.raises(UsageError, match="weights must be"):
        m.wild_bootstrap_p(w, weights="mammen")


def test_false_positive_rate_by_simulation(record_property):
    # Null: 20 orgs (10 per arm), 15 workers each, ICC 0.05 with org shocks at each wave.
    reps = 300
    rej = {"CR1": 0, "CR3": 0}
    for s in range(reps):
        w = sim_wide(1000 + s)
        for st in rej:
            rej[st] += m.ancova(w, se_type=st).p_value[0] < 0.05
    rate = {k: float(v / reps) for k, v in rej.items()}
    record_property("false_positive_rates", rate)
    print("false-positive rate at 5%:", rate)
    # 0.05 + 2.5 binomial SDs (sqrt(.05 * .95 / 300) = 0.0126) ~ 0.08
    assert rate["CR3"] <= 0.08
    assert rate["CR1"] >= rate["CR3"]


# --------------------------------------------------------------------------- long form


def test_did_matches_ols_and_mean_changes():
    w = sim_wide(7, effect=3.0)
    long = to_long(w)
    out = m.did(long, se_type="CR1")
    d = long.assign(post=(long.wave == "post").astype(float))
    ref = smf.ols("y ~ treated * post", d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d.org_id)[0]}
    )
    assert out.estimate[0] == pytest.approx(ref.params["treated:post"], rel=1e-10)
    assert out.se[0] == pytest.approx(ref.bse["treated:post"], rel=1e-10)
    ch = (w.post - w.pre).groupby(w.treated).mean()
    assert out.estimate[0] == pytest.approx(ch[1] - ch[0], rel=1e-10)
    assert out.n_workers[0] == 300 and out.n_orgs[0] == 20
    # Other waves are ignored; missing waves raise.
    extra = pd.concat([long, long.assign(wave="follow_up", y=0.0)])
    assert m.did(extra).estimate[0] == pytest.approx(m.did(long).estimate[0])
    with pytest.raises(UsageError, match="no rows for wave"):
        m.did(long, waves=("pre", "t2"))


def test_did_cr2_equals_org_welch_test():
    # Balanced complete panel, equal org sizes: CR2 DID = Welch test on org mean changes
    # (the identity of test_cr2_equals_welch_for_cluster_level_treatment).
    w = sim_wide(8, n_orgs=13, n_per=5)
    long = to_long(w)
    a, b = m.did(long, se_type="CR2"), m.org_practice(long)
    assert a.estimate[0] == pytest.approx(b.estimate[0], rel=1e-10)
    assert a.se[0] == pytest.approx(b.se[0], rel=1e-10)


def test_mixed_matches_direct_statsmodels_and_truth():
    w = sim_wide(9, effect=5.0, n_orgs=16, n_per=20, miss=0.05)
    long = to_long(w)
    d = long.dropna().assign(post=lambda x: (x.wave == "post").astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = smf.mixedlm(
            "y ~ treated * post",
            d,
            groups="org_id",
            re_formula="1",
            vc_formula={"w": "0 + C(worker_id)"},
        ).fit(reml=True, method="lbfgs")
        ref2 = smf.mixedlm(
            "y ~ treated * post",
            d,
            groups="org_id",
            re_formula="1",
            vc_formula={"w": "0 + C(worker_id)", "ow": "0 + C(post)"},
        ).fit(reml=True, method="lbfgs")
    # Fast engine (own REML) and the statsmodels engine against the direct call.
    for engine in ("fast", "statsmodels"):
        out = m.mixed(long, org_wave_effect=False, engine=engine)
        assert out.estimate[0] == pytest.approx(ref.fe_params["treated:post"], rel=1e-5)
        assert out.se[0] == pytest.approx(ref.bse_fe["treated:post"], rel=1e-3)
    out2 = m.mixed(long)
    assert out2.estimate[0] == pytest.approx(ref2.fe_params["treated:post"], rel=1e-5)
    assert out2.se[0] == pytest.approx(ref2.bse_fe["treated:post"], rel=1e-3)
    assert out2.ci_low[0] < 5.0 < out2.ci_high[0]
    assert out2.df[0] == 14 and out2.n_orgs[0] == 16
    assert "org-by-wave" in out2.method[0]


def test_mixed_without_repeated_workers_notes_it():
    # Every row a new worker: the worker component cannot be told from the residual,
    # so it is dropped (said in note); what remains is the org + org-by-wave model,
    # checked against a direct statsmodels fit of exactly that model.
    long = to_long(sim_wide(10, n_orgs=10, n_per=8, icc=0.3, effect=3.0))
    long["worker_id"] = np.arange(len(long))
    # a lasting organization effect, so no variance component sits on the boundary
    effects = np.random.default_rng(3).normal(0, 6, 10)
    lasting = dict(zip(sorted(long.org_id.unique()), effects, strict=True))
    long["y"] = long["y"] + long["org_id"].map(lasting)
    out = m.mixed(long)
    assert "no worker observed in both waves: worker variance component dropped" in out.note[0]
    assert "worker intercept" not in out.method[0]
    d = long.dropna().assign(post=lambda x: (x.wave == "post").astype(float))
    ref = smf.mixedlm(
        "y ~ treated * post", d, groups="org_id", re_formula="1", vc_formula={"ow": "0 + C(post)"}
    ).fit(reml=True, method="lbfgs")
    assert out.estimate[0] == pytest.approx(ref.fe_params["treated:post"], rel=1e-5)
    assert out.se[0] == pytest.approx(ref.bse_fe["treated:post"], rel=1e-3)


def test_org_practice_against_scipy_and_hand_g():
    long = to_long(sim_wide(11, effect=4.0, n_orgs=14, n_per=8, miss=0.2)).dropna()
    out = m.org_practice(long)
    means = long.groupby(["org_id", "wave"]).y.mean().unstack()
    change = means["post"] - means["pre"]
    arm = long.groupby("org_id").treated.first()
    a, b = change[arm == 1], change[arm == 0]
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert out.estimate[0] == pytest.approx(a.mean() - b.mean())
    assert out.statistic[0] == pytest.approx(ref.statistic)
    assert out.p_value[0] == pytest.approx(ref.pvalue)
    sp = np.sqrt((6 * a.var() + 6 * b.var()) / 12)
    assert out.effect_size[0] == pytest.approx((1 - 3 / (4 * 14 - 9)) * (a.mean() - b.mean()) / sp)
    assert out.n_orgs[0] == 14 and out.es_type[0] == "hedges_g_org_change"
    with pytest.raises(UsageError, match="at least 2 treated"):
        m.org_practice(long[long.treated == 0])


def test_paired_and_wilcoxon():
    w = sim_wide(12, miss=0.1)
    out = m.paired_test(w.pre, w.post, orgs=w.org_id)
    cc = w.dropna()
    ref = stats.ttest_rel(cc.post, cc.pre)
    assert out.estimate[0] == pytest.approx((cc.post - cc.pre).mean())
    assert out.p_value[0] == pytest.approx(ref.pvalue)
    assert out.n_workers[0] == len(cc) and out.n_orgs[0] == 20
    # Reference: R 4.2.2 wilcox.test(y - x, conf.int = TRUE) on the Hollander & Wolfe
    # depression data of ?wilcox.test: V = 5, p = 0.0390625, CI (-0.786, -0.010),
    # pseudo-median -0.46.
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    wx = m.wilcoxon_test(x, y)
    assert wx.estimate[0] == pytest.approx(-0.46)
    assert (wx.ci_low[0], wx.ci_high[0]) == pytest.approx((-0.786, -0.010))
    assert wx.p_value[0] == pytest.approx(0.0390625)
    assert wx.statistic[0] == 5
    big = m.wilcoxon_test(w.pre, w.post)  # normal-approximation CI path
    assert big.ci_low[0] < big.estimate[0] < big.ci_high[0]
    with pytest.raises(UsageError, match="same length"):
        m.paired_test([1, 2, 3], [1, 2])
    with pytest.raises(UsageError, match="at least 2 complete"):
        m.wilcoxon_test([1, np.nan], [2, 3])


# --------------------------------------------------------------------------- ITS


def test_its_recovers_level_change_and_null():
    truth = -0.01
    out = m.its(sim_org_months(0, level=truth))
    assert list(out.term) == ["level_change", "slope_change"]
    assert out.n_orgs[0] == 16 and out.n_workers.isna().all()
    covered = [
        (r.ci_low[0] <= truth <= r.ci_high[0])
        for r in (m.its(sim_org_months(s, level=truth)) for s in range(60))
    ]
    assert np.mean(covered) >= 0.85
    rej = np.mean([m.its(sim_org_months(500 + s)).p_value[0] < 0.05 for s in range(60)])
    assert rej <= 0.12


def test_its_exact_on_noise_free_absence_rate():
    # absence_rate = absence_days / (headcount * 21); noise-free series with a step of
    # 0.02 for treated orgs at their start month: OLS recovers it exactly.
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    rows = []
    for o in range(6):
        treated = o < 3
        start = pd.Timestamp(f"2023-{5 + o:02d}-14") if treated else pd.NaT
        for i, mo in enumerate(months):
            rate = 0.05 + 0.01 * o + 0.001 * i
            if treated and mo >= start.to_period("M").to_timestamp():
                rate += 0.02
            rows.append(
                dict(
                    org_id=o,
                    month=mo,
                    headcount=50,
                    separations=1,
                    absence_days=rate * 50 * 21,
                    treated=int(treated),
                    start_date=start,
                )
            )
    om = pd.DataFrame(rows)
    out = m.its(om, indicator="absence_rate")
    assert out.estimate[0] == pytest.approx(0.02, abs=1e-10)
    assert out.estimate[1] == pytest.approx(0.0, abs=1e-10)
    single = m.its(om[~om.org_id.isin([4, 5])], indicator="absence_rate")
    assert "single-group" in single.note[0]
    with pytest.raises(UsageError, match="at least 2 treated"):
        m.its(
            om[om.org_id != 0].assign(
                treated=lambda d: np.where(d.org_id == 1, 0, d.treated),
                start_date=lambda d: d.start_date.where(d.org_id != 1),
            )
        )
    with pytest.raises(UsageError, match="indicator must be one of"):
        m.its(om, indicator="turnover")
    with pytest.raises(UsageError, match="need a 'start_date'"):
        m.its(om.assign(start_date=pd.NaT))


# --------------------------------------------------------------------------- multiplicity


def test_adjust_p_matches_statsmodels_multipletests():
    # The NumPy Holm / BH (issue 14) give statsmodels' numbers, ties and NaN included.
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(12)
    for size in (1, 2, 7, 50, 400):
        p = rng.uniform(size=size) ** 3
        p[rng.random(size) < 0.2] = p[0]  # ties
        p[rng.random(size) < 0.05] = 1.0
        for method in ("holm", "fdr_bh"):
            np.testing.assert_allclose(
                m.adjust_p(p, method), multipletests(p, method=method)[1], rtol=1e-15, atol=0
            )
    p = np.array([0.2, np.nan, 0.01, 0.04, np.nan])
    ok = ~np.isnan(p)
    np.testing.assert_allclose(
        m.adjust_p(p, "fdr_bh")[ok], multipletests(p[ok], method="fdr_bh")[1], rtol=1e-15
    )


def test_adjust_p_hand_values():
    # Hand-worked: sorted p = .005, .01, .03, .04 (m = 4).
    # Holm: .005*4 = .02, .01*3 = .03, .03*2 = .06, max(.04*1, .06) = .06.
    # BH: .04*4/4 = .04, .03*4/3 = .04, .01*4/2 = .02, .005*4/1 = .02 (cumulative min).
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(m.adjust_p(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(m.adjust_p(p, "fdr_bh"), [0.02, 0.04, 0.04, 0.02])
    s = pd.Series([0.01, np.nan, 0.04, 0.03, 0.005], index=list("abcde"), name="p")
    out = m.adjust_p(s)
    assert isinstance(out, pd.Series) and list(out.index) == list("abcde") and out.name == "p"
    assert np.isnan(out["b"])
    np.testing.assert_allclose(out.drop("b"), [0.03, 0.06, 0.06, 0.02])
    assert m.adjust_p(np.array([[0.01, 0.04], [0.03, 0.005]])).shape == (2, 2)
    assert np.isnan(m.adjust_p([np.nan, np.nan])).all()
    with pytest.raises(UsageError, match="'holm' or 'fdr_bh'"):
        m.adjust_p(p, method="bonferroni")
    with pytest.raises(UsageError, match="between 0 and 1"):
        m.adjust_p([0.5, 1.5])


# --------------------------------------------------------------------------- missing data


def test_wwc_attrition_boundaries():
    # WWC Standards Handbook v4.1 Table II.1: at 30% overall the cautious boundary is
    # 4.1 points, optimistic 8.2; at 10% overall 6.3 / 10.9; cautious ends at 57%
    # (0.0), optimistic at 65% (0.3).
    r = m.wwc_attrition(0.30, 0.06)
    assert (r.cautious[0], r.optimistic[0]) == ("high", "low")
    assert r.max_differential_cautious[0] == pytest.approx(0.041)
    assert r.max_differential_optimistic[0] == pytest.approx(0.082)
    assert m.wwc_attrition(0.10, 0.063).cautious[0] == "low"  # on the boundary
    assert m.wwc_attrition(0.10, 0.064).cautious[0] == "high"
    assert m.wwc_attrition(0.104, 0.109).optimistic[0] == "low"  # rounds to 10%
    assert m.wwc_attrition(0.60, 0.01).cautious[0] == "high"
    assert m.wwc_attrition(0.60, 0.01).optimistic[0] == "low"  # 1.4 points at 60%
    assert m.wwc_attrition(0.70, 0.0).optimistic[0] == "high"
    assert m.wwc_max_differential(0.65, "optimistic") == pytest.approx(0.003)
    assert np.isnan(m.wwc_max_differential(0.58))
    with pytest.raises(UsageError, match="boundary must be"):
        m.wwc_max_differential(0.1, "liberal")
    with pytest.raises(UsageError, match="proportion between 0 and 1"):
        m.wwc_attrition(30, 6)


def test_attrition_table_by_hand():
    wide = pd.DataFrame(
        {
            "worker_id": range(10),
            "org_id": ["a", "a", "b", "b", "b", "c", "c", "d", "d", "d"],
            "treated": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
            "pre": [10, 12, 14, 16, np.nan, 11, 13, 15, 17, 19],
            "post": [11, np.nan, 15, np.nan, 20, 12, 14, 16, 18, np.nan],
        }
    )
    t = m.attrition_table(wide).set_index("arm")
    # Treated baseline: 4 with pre (worker 4 has only post); followed: workers 0, 2.
    assert t.loc["treated", ["n_baseline", "n_followed", "n_dropped"]].tolist() == [4, 2, 2]
    assert t.loc["treated", "attrition"] == pytest.approx(0.5)
    assert t.loc["treated", "pre_mean_completers"] == pytest.approx(12.0)  # (10 + 14) / 2
    assert t.loc["treated", "pre_mean_dropouts"] == pytest.approx(14.0)  # (12 + 16) / 2
    assert t.loc["treated", "pre_sd_dropouts"] == pytest.approx(np.sqrt(8))
    # Comparison: 5 baseline, 4 followed.
    assert t.loc["comparison", ["n_baseline", "n_followed"]].tolist() == [5, 4]
    assert t.loc["comparison", "attrition"] == pytest.approx(0.2)
    assert t.loc["overall", "attrition"] == pytest.approx(3 / 9)
    assert t.loc["overall", "differential_attrition"] == pytest.approx(0.3)
    assert t.loc["overall", "n_orgs_baseline"] == 4
    assert np.isnan(t.loc["comparison", "pre_sd_dropouts"])  # one dropout


def test_baseline_equivalence_hand():
    wide = pd.DataFrame(
        {
            "treated": [1, 1, 1, 0, 0, 0, 0],
            "pre": [4.0, 6.0, 8.0, 3.0, 5.0, 7.0, 9.0],
            "post": [1, 1, 1, 1, 1, 1, np.nan],
        }
    )
    out = m.baseline_equivalence(wide)
    # analytic sample: treated 4, 6, 8 (mean 6, var 4); comparison 3, 5, 7 (mean 5, var 4)
    # s_pooled = 2; omega = 1 - 3 / (4 * 6 - 9) = 0.8; g = 0.8 * 1 / 2 = 0.4
    assert out.effect_size[0] == pytest.approx(0.4)
    assert out.classification[0] == "does not satisfy"
    allb = m.baseline_equivalence(wide, analytic=False)
    assert allb.n_comparison[0] == 4
    assert missing_data._equivalence_class(0.05) == "satisfies"
    assert missing_data._equivalence_class(-0.0501) == "requires statistical adjustment"
    assert missing_data._equivalence_class(0.25) == "requires statistical adjustment"
    assert missing_data._equivalence_class(0.2501) == "does not satisfy"


def test_rubin_rules_hand():
    # Q = 1, 2, 3 (B = 1), U = 0.5 each (W = 0.5): T = 0.5 + 4/3 = 11/6.
    q, t, df = missing_data._rubin([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], 19)
    assert q == 2.0 and t == pytest.approx(11 / 6)
    lam = (4 / 3) / (11 / 6)
    nu_old = 2 / lam**2
    nu_obs = 20 / 22 * 19 * (1 - lam)
    assert df == pytest.approx(1 / (1 / nu_old + 1 / nu_obs))


def test_ancova_mi():
    w = sim_wide(13, effect=4.0)
    full = m.ancova(w)
    same = m.ancova_mi(w)
    assert same.estimate[0] == pytest.approx(full.estimate[0])
    assert same.se[0] == pytest.approx(full.se[0])
    assert "no post score missing" in same.note[0]
    # MAR: high baseline scorers more often missing at follow-up.
    rng = np.random.default_rng(1)
    mar = w.copy()
    p_miss = 1 / (1 + np.exp(-(mar.pre - 55) / 4))
    mar.loc[rng.random(len(mar)) < p_miss * 0.6, "post"] = np.nan
    a = m.ancova_mi(mar, n_imputations=10, seed=3)
    assert a.equals(m.ancova_mi(mar, n_imputations=10, seed=3))
    assert a.n_workers[0] == 300 and "imputed" in a.note[0]
    assert abs(a.estimate[0] - full.estimate[0]) < a.se[0]
    assert a.se[0] > m.ancova(mar).se[0] * 0.8
    with pytest.raises(UsageError, match="n_imputations"):
        m.ancova_mi(mar, n_imputations=1)


def test_icc_by_org_hand():
    # Groups {1,2,3}, {4,5,6}, {7,8,9}: MSB = 3 * (9 + 0 + 9) / 2 = 27, MSW = 6 / 6 = 1,
    # n0 = 3: ICC(1) = (27 - 1) / (27 + 2) = 26 / 29.
    vals = [1, 2, 3, 4, 5, 6, 7, 8, 9, np.nan]
    orgs = list("aaabbbcccc")
    assert m.icc_by_org(vals, orgs) == pytest.approx(26 / 29)
    w = sim_wide(14, n_orgs=40, n_per=30, icc=0.2)
    assert m.icc_by_org(w.pre, w.org_id) == pytest.approx(0.2, abs=0.1)
    with pytest.raises(UsageError, match="at least 2 groups"):
        m.icc_by_org([1, 2], ["a", "a"])


def test_inputs_not_modified():
    w = sim_wide(15, miss=0.1)
    long = to_long(w)
    om = sim_org_months(1)
    copies = [w.copy(deep=True), long.copy(deep=True), om.copy(deep=True)]
    m.ancova(w)
    m.ancova_mi(w, n_imputations=3)
    m.attrition_table(w)
    m.baseline_equivalence(w)
    m.did(long)
    m.org_practice(long)
    m.its(om)
    m.its(om, indicator="absence_rate")
    for before, after in zip(copies, [w, long, om], strict=True):
        pd.testing.assert_frame_equal(before, after)
