"""Disclosure control across tables that share margins, attacked with linear programs.

The attacker here is written independently of stseval's own model: it knows how the
study's populations fit together (per arm: leavers L, analysed A, responded but excluded E;
baseline sums BL, BA, BE; post sum PA of the analysed) and reads every published number of
the protected tables. For each small group it minimises and maximises the group's count and
sums with scipy.optimize.linprog subject to the published equalities and bounds, and asserts
the group's count keeps a range of at least one person and each mean a range of at least
`MEAN_PROTECTION` points.
"""

import math
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from stseval.disclosure import (
    AUDIT_COLUMNS,
    CellTable,
    DisclosureError,
    Relation,
    other_org_bands,
    protect_tables,
    write_disclosure_audit,
)
from stseval.errors import StsevalError, UsageError

MIN_CELL = 5
MEAN_PROTECTION = 1.0
LO, HI = 17.0, 85.0  # STSS total range: the reader knows it
BASE = ["nL", "nA", "nE", "BL", "BA", "BE", "PA"]  # per-arm unknowns of the attacker
T = "Total"


# --------------------------------------------------------------------------- a small study
def make_study(rng, arms=("intervention", "comparison")):
    """Per arm: true counts and sums of the three disjoint groups (L, A, E)."""
    truth = {}
    for arm in arms:
        n = {
            "nL": int(rng.integers(0, 8)),
            "nA": int(rng.integers(0, 26)),
            "nE": int(rng.integers(0, 4)),
        }
        base = {g: rng.uniform(LO, HI, n["n" + g]) for g in "LAE"}
        post = rng.uniform(LO, HI, n["nA"])
        truth[arm] = {
            **{k: float(v) for k, v in n.items()},
            **{"B" + g: float(base[g].sum()) for g in "LAE"},
            "PA": float(post.sum()),
        }
    return truth


# Each published population: (count expression, {measure: sum expression}); expressions are
# dicts base-name -> coefficient, summed over the arms the cell covers.
POPULATIONS = {
    ("flow", "responded_pre"): ({"nL": 1, "nA": 1, "nE": 1}, {}),
    ("flow", "responded_post"): ({"nA": 1, "nE": 1}, {}),
    ("flow", "analysed"): ({"nA": 1}, {}),
    ("attrition", "stayed"): ({"nA": 1, "nE": 1}, {"baseline_mean": {"BA": 1, "BE": 1}}),
    ("attrition", "left"): ({"nL": 1}, {"baseline_mean": {"BL": 1}}),
    ("attrition", T): ({"nL": 1, "nA": 1, "nE": 1}, {"baseline_mean": {"BL": 1, "BA": 1, "BE": 1}}),
    ("summary", "pre"): ({"nL": 1, "nA": 1, "nE": 1}, {"mean": {"BL": 1, "BA": 1, "BE": 1}}),
    ("summary", "post"): ({"nA": 1}, {"mean": {"PA": 1}}),
}
# Small groups the attacker tries to recover, published or not.
TARGETS = {
    "left": ({"nL": 1}, [{"BL": 1}]),
    "excluded": ({"nE": 1}, [{"BE": 1}]),
    "analysed": ({"nA": 1}, [{"BA": 1}, {"PA": 1}]),
    "stayed": ({"nA": 1, "nE": 1}, [{"BA": 1, "BE": 1}]),
    "pre": ({"nL": 1, "nA": 1, "nE": 1}, [{"BL": 1, "BA": 1, "BE": 1}]),
}


def _value(truth, arms, expr):
    return sum(c * truth[a][b] for a in arms for b, c in expr.items())


def build_tables(truth):
    arms = list(truth)
    cols = {a: [a] for a in arms} | {T: arms}
    flow, attr, summ, excl = [], [], [], []
    for label, members in cols.items():
        for stage in ("responded_pre", "responded_post", "analysed"):
            n, _ = POPULATIONS[("flow", stage)]
            flow.append({"stage": stage, "arm": label, "n": _value(truth, members, n)})
        for status in ("stayed", "left", T):
            n, sums = POPULATIONS[("attrition", status)]
            cnt = _value(truth, members, n)
            mean = _value(truth, members, sums["baseline_mean"]) / cnt if cnt else np.nan
            attr.append({"status": status, "arm": label, "n": cnt, "baseline_mean": mean})
        for wave, stage in (("pre", "responded_pre"), ("post", "analysed")):
            n, sums = POPULATIONS[("summary", wave)]
            cnt = _value(truth, members, n)
            mean = _value(truth, members, sums["mean"]) / cnt if cnt else np.nan
            summ.append({"wave": wave, "stage": stage, "arm": label, "n": cnt, "mean": mean})
        cnt = _value(truth, members, {"nE": 1})
        mean = _value(truth, members, {"BE": 1}) / cnt if cnt else np.nan
        excl.append({"stage": "excluded", "arm": label, "n": cnt, "baseline_mean": mean})
    specs = [
        CellTable("flow", pd.DataFrame(flow), dims=["stage", "arm"]),
        CellTable(
            "attrition",
            pd.DataFrame(attr),
            dims=["status", "arm"],
            means={"baseline_mean": "stss_pre"},
            fixed={"stage": "responded_pre"},
        ),
        CellTable(
            "summary", pd.DataFrame(summ), dims=["stage", "arm"], means={"mean": "stss_{wave}"}
        ),
        CellTable(
            "excluded",
            pd.DataFrame(excl),
            dims=["stage", "arm"],
            means={"baseline_mean": "stss_pre"},
            publish=False,
        ),
    ]
    relations = []
    for label in cols:
        post = {"stage": "responded_post", "arm": label}
        relations.append(
            Relation(post, [{"stage": "responded_pre", "status": "stayed", "arm": label}])
        )
        relations.append(
            Relation(
                post, [{"stage": "analysed", "arm": label}, {"stage": "excluded", "arm": label}]
            )
        )
    return specs, relations


def protect(truth):
    specs, relations = build_tables(truth)
    return protect_tables(
        specs,
        relations=relations,
        min_cell=MIN_CELL,
        value_ranges={"stss_pre": (LO, HI), "stss_post": (LO, HI)},
        mean_protection=MEAN_PROTECTION,
    )


# --------------------------------------------------------------------------- the attacker
def _published_rows(result):
    """(population id, members label, count or None, count state, {col: mean or None})."""
    rows = []
    for name, key_col in (("flow", "stage"), ("attrition", "status"), ("summary", "wave")):
        table, text = result.tables[name], result.display[name]
        for i in table.index:
            state = text.at[i, "n"]
            n = table.at[i, "n"]
            means = {c: table.at[i, c] for c in ("baseline_mean", "mean") if c in table}
            rows.append(((name, table.at[i, key_col]), table.at[i, "arm"], n, state, means))
    return rows


class Attacker:
    def __init__(self, arms, result):
        self.arms = list(arms)
        self.nv = len(BASE) * len(self.arms)
        self.eq, self.eq_b, self.ub, self.ub_b = [], [], [], []
        for pop, label, n, state, means in _published_rows(result):
            members = self.arms if label == T else [label]
            cnt_expr, sum_exprs = POPULATIONS[pop]
            cnt = self.vec(members, cnt_expr)
            if not math.isnan(n):
                self.add_eq(cnt, n)
            elif state.startswith("fewer than"):
                self.add_ub(cnt, MIN_CELL - 1), self.add_ub(-cnt, -1)
            else:
                self.add_ub(-cnt, -MIN_CELL)  # "not shown": at least min_cell people
            for col, mean in means.items():
                if col in sum_exprs and not (isinstance(mean, float) and math.isnan(mean)):
                    self.add_eq(self.vec(members, sum_exprs[col]) - mean * cnt, 0.0)
        for arm in self.arms:  # each person's value lies in [LO, HI]
            for s, n in (("BL", "nL"), ("BA", "nA"), ("BE", "nE"), ("PA", "nA")):
                self.add_ub(self.vec([arm], {s: 1, n: -HI}), 0.0)
                self.add_ub(self.vec([arm], {s: -1, n: LO}), 0.0)

    def vec(self, members, expr):
        v = np.zeros(self.nv)
        for a in members:
            for b, c in expr.items():
                v[self.arms.index(a) * len(BASE) + BASE.index(b)] += c
        return v

    def add_eq(self, row, b):
        self.eq.append(row), self.eq_b.append(b)

    def add_ub(self, row, b):
        self.ub.append(row), self.ub_b.append(b)

    def range_of(self, c):
        out = []
        for sign in (1, -1):
            res = linprog(
                sign * c,
                A_ub=np.array(self.ub),
                b_ub=self.ub_b,
                A_eq=np.array(self.eq) if self.eq else None,
                b_eq=self.eq_b if self.eq else None,
                bounds=[(0, None)] * self.nv,
                method="highs",
            )
            assert res.status in (0, 3), res.message  # the truth is always feasible
            out.append(sign * res.fun if res.status == 0 else -sign * math.inf)
        return out[0], out[1]


def determined_cells(truth, result):
    """Small groups whose count or mean the attacker pins down; [] when all protected."""
    arms = list(truth)
    attacker = Attacker(arms, result)
    found = []
    for label in [*arms, T]:
        members = arms if label == T else [label]
        for name, (cnt_expr, sum_exprs) in TARGETS.items():
            n_true = _value(truth, members, cnt_expr)
            if not 0 < n_true < MIN_CELL:
                continue
            lo, hi = attacker.range_of(attacker.vec(members, cnt_expr))
            if hi - lo < 1 - 1e-6:
                found.append(f"{name}/{label}: count in [{lo:.2f}, {hi:.2f}]")
            for expr in sum_exprs:
                lo, hi = attacker.range_of(attacker.vec(members, expr))
                if hi - lo < MEAN_PROTECTION * n_true - 1e-6:
                    found.append(f"{name}/{label}: sum {expr} in [{lo:.2f}, {hi:.2f}]")
    return found


def primary_only(truth):
    """What per-table primary suppression alone would publish (the old behaviour)."""
    specs, _ = build_tables(truth)
    tables, display = {}, {}
    for spec in specs[:3]:
        out, text = spec.frame.copy(), spec.frame.copy().astype(object)
        small = (out["n"] > 0) & (out["n"] < MIN_CELL)
        for col in [c for c in ("baseline_mean", "mean") if c in out]:
            out.loc[small, col] = np.nan
        out.loc[small, "n"] = np.nan
        text.loc[small, "n"] = f"fewer than {MIN_CELL}"
        tables[spec.name], display[spec.name] = out, text
    return SimpleNamespace(tables=tables, display=display)


ARMS = ("intervention", "comparison", "other")
N_RANDOM = int(os.environ.get("STSEVAL_ATTACK_CASES", "12"))


@pytest.mark.slow
def test_attack_random_small_studies_recovers_nothing():
    with_small = 0
    for seed in range(N_RANDOM):
        rng = np.random.default_rng(1000 + seed)
        truth = make_study(rng, arms=ARMS[: 2 + seed % 2])
        specs, _ = build_tables(truth)
        with_small += int(
            any(((s.frame["n"] > 0) & (s.frame["n"] < MIN_CELL)).any() for s in specs)
        )
        result = protect(truth)
        assert determined_cells(truth, result) == [], f"seed {1000 + seed}"
        for name, table in result.tables.items():
            shown = table["n"].dropna()
            assert not ((shown > 0) & (shown < MIN_CELL)).any(), name
    assert with_small >= N_RANDOM // 2  # the attack had something to look for


def test_attacker_breaks_primary_suppression_alone():
    """The attacker is not toothless: without complementary suppression it wins."""
    broken = 0
    for seed in range(8):
        truth = make_study(np.random.default_rng(1000 + seed), arms=ARMS[: 2 + seed % 2])
        broken += bool(determined_cells(truth, primary_only(truth)))
    assert broken >= 4


# --------------------------------------------------------------------------- issue 12 attacks
def test_issue_attack_flow_23_vs_22():
    flow = pd.DataFrame(
        {"stage": ["responded_pre", "responded_post", "analysed"], "n": [40, 23, 22]}
    )
    excluded = pd.DataFrame({"stage": ["excluded"], "n": [1]})
    result = protect_tables(
        [
            CellTable("flow", flow, dims=["stage"]),
            CellTable("excluded", excluded, dims=["stage"], publish=False),
        ],
        relations=[
            Relation({"stage": "responded_post"}, [{"stage": "analysed"}, {"stage": "excluded"}])
        ],
    )
    shown = result.tables["flow"].set_index("stage")["n"]
    assert shown.isna().sum() >= 1
    post, analysed = shown["responded_post"], shown["analysed"]
    assert np.isnan(post) or np.isnan(analysed), "both shown: 23 - 22 = 1"
    # the attacker: excluded = post - analysed with the hidden one >= min_cell
    excluded = [
        p - a
        for p in range(5, 41)
        for a in range(5, 41)
        if (np.isnan(post) or p == post)
        and (np.isnan(analysed) or a == analysed)
        and 0 <= p - a
        and p <= 40
    ]
    assert len(set(excluded)) > 1
    rows = result.audit[result.audit["table"] == "(not published)"]
    assert rows["cell"].str.contains("stage=excluded: count").any()
    assert "excluded" not in result.tables


def test_issue_attack_attrition_mean_by_subtraction():
    """Leavers' hidden baseline mean = (mean_all * n_all - mean_stayed * n_stayed) / n_left."""
    rng = np.random.default_rng(3)
    stayed, left = rng.uniform(LO, HI, 28), rng.uniform(LO, HI, 3)
    everyone = np.concatenate([stayed, left])
    attr = pd.DataFrame(
        {
            "status": ["stayed", "left", T],
            "n": [28, 3, 31],
            "baseline_mean": [stayed.mean(), left.mean(), everyone.mean()],
        }
    )
    summary = pd.DataFrame({"wave": ["pre"], "n": [31], "mean": [everyone.mean()]})
    result = protect_tables(
        [
            CellTable("attrition", attr, dims=["status"], means={"baseline_mean": "stss_pre"}),
            CellTable("summary", summary, dims=[], means={"mean": "stss_{wave}"}),
        ],
        value_ranges={"stss_pre": (LO, HI)},
        mean_protection=MEAN_PROTECTION,
    )
    a = result.tables["attrition"].set_index("status")
    s = result.tables["summary"]
    assert np.isnan(a.at["left", "n"]) and np.isnan(a.at["left", "baseline_mean"])
    assert result.display["attrition"].set_index("status").at["left", "n"] == "fewer than 5"
    # attacker LP over (n_left, S_left, n_stayed, S_stayed) from what is published
    eq, b, ub, ub_b = [], [], [], []
    for n_val, m_val, coefs in (
        (a.at["stayed", "n"], a.at["stayed", "baseline_mean"], (0, 0, 1, 0)),
        (a.at[T, "n"], a.at[T, "baseline_mean"], (1, 0, 1, 0)),
        (s.at[0, "n"], s.at[0, "mean"], (1, 0, 1, 0)),
    ):
        cnt = np.array(coefs, dtype=float)
        tot = np.array([0, coefs[0], 0, coefs[2]], dtype=float)
        if not np.isnan(n_val):
            eq.append(cnt), b.append(n_val)
        if not np.isnan(m_val):
            eq.append(tot - m_val * cnt), b.append(0.0)
    ub += [
        [1, 0, 0, 0],
        [-1, 0, 0, 0],
        [LO, -1, 0, 0],
        [-HI, 1, 0, 0],
        [0, 0, LO, -1],
        [0, 0, -HI, 1],
        [0, 0, -1, 0],
    ]
    ub_b += [4, -1, 0, 0, 0, 0, -MIN_CELL]
    ranges = []
    for var in (0, 1):
        c = np.eye(4)[var]
        lo = linprog(
            c,
            A_ub=ub,
            b_ub=ub_b,
            A_eq=eq or None,
            b_eq=b or None,
            bounds=[(0, None)] * 4,
            method="highs",
        )
        hi = linprog(
            -c,
            A_ub=ub,
            b_ub=ub_b,
            A_eq=eq or None,
            b_eq=b or None,
            bounds=[(0, None)] * 4,
            method="highs",
        )
        ranges.append(-hi.fun - lo.fun)
    assert ranges[0] >= 1 - 1e-9  # the leavers' count keeps at least two values
    assert ranges[1] >= MEAN_PROTECTION * 3  # their sum moves by more than 1 point each


def test_issue_attack_three_other_orgs_percentiles():
    summary, audit = other_org_bands([61.3, 70.8, 88.41], own=75.0)
    assert not summary.at[0, "shown"] and np.isnan(summary.at[0, "low"])
    assert "fewer than 10" in summary.at[0, "text"]
    assert "88" not in summary.at[0, "text"] and "withheld" in audit.at[0, "rule"]


def test_other_org_bands_never_print_an_org_value():
    rng = np.random.default_rng(8)
    for trial in range(200):
        values = np.round(rng.uniform(20, 80, int(rng.integers(10, 30))), int(rng.integers(0, 2)))
        if trial % 10 == 0:  # identical whole-number values
            values = np.full(12, 50.0)
        summary, _ = other_org_bands(values, own=50.0)
        low, high = summary.at[0, "low"], summary.at[0, "high"]
        q1, q3 = np.quantile(values, [0.25, 0.75])
        assert low <= q1 and high >= q3 and low < high
        assert low == round(low) and high == round(high)
        assert not np.isin(values, [low, high]).any()
        assert summary.at[0, "position"] in ("below", "within", "above")


def test_other_org_bands_text_and_position():
    values = [40.2, 41.7, 44.9, 47.0, 48.3, 50.5, 52.2, 55.8, 57.1, 60.6, 63.2, 66.4]
    summary, audit = other_org_bands(values, own=70.0)
    q1, q3 = np.quantile(values, [0.25, 0.75])
    assert summary.at[0, "low"] == np.floor(q1) and summary.at[0, "high"] == np.ceil(q3)
    assert summary.at[0, "position"] == "above"
    assert "middle half of the 12 other organizations" in summary.at[0, "text"]
    assert list(audit.columns) == AUDIT_COLUMNS


# --------------------------------------------------------------------------- contract
def test_inputs_unchanged_and_audit_has_no_values(tmp_path):
    truth = make_study(np.random.default_rng(1000))
    specs, relations = build_tables(truth)
    before = [s.frame.copy() for s in specs]
    result = protect_tables(
        specs, relations=relations, value_ranges={"stss_pre": (LO, HI), "stss_post": (LO, HI)}
    )
    for spec, old in zip(specs, before, strict=True):
        pd.testing.assert_frame_equal(spec.frame, old)
    assert list(result.audit.columns) == AUDIT_COLUMNS
    assert set(result.tables) == {"flow", "attrition", "summary"}
    hidden = sum(int(t["n"].isna().sum()) for t in result.tables.values())
    assert hidden == (result.audit["cell"].str.endswith(": n")).sum()
    text = result.audit.to_csv(index=False).replace("1 to 4", "").replace("fewer than 5", "")
    assert not any(ch.isdigit() for ch in text)  # no count or mean travels in the audit
    path = write_disclosure_audit([result.audit], tmp_path)
    assert path.name == "disclosure_audit.csv"
    assert len(pd.read_csv(path)) == len(result.audit)


def test_fails_closed_when_protection_is_impossible():
    table = pd.DataFrame({"group": ["a", "b", T], "n": [3, 0, 3]})
    with pytest.raises(DisclosureError, match="refusing to publish") as err:
        protect_tables([CellTable("t", table, dims=["group"])], count_protection=10)
    assert isinstance(err.value, StsevalError) and err.value.cells


def test_numbers_that_do_not_add_up_are_rejected():
    table = pd.DataFrame({"group": ["a", "b", T], "n": [10, 12, 25]})
    with pytest.raises(UsageError, match="do not add up"):
        protect_tables([CellTable("t", table, dims=["group"])])


def test_bad_arguments():
    table = pd.DataFrame({"group": ["a", T], "n": [10, 10]})
    with pytest.raises(UsageError, match="lacks column"):
        protect_tables([CellTable("t", table, dims=["arm"])])
    with pytest.raises(UsageError, match="min_cell"):
        protect_tables([CellTable("t", table, dims=["group"])], min_cell=0)
    with pytest.raises(UsageError, match="no table gives"):
        protect_tables(
            [CellTable("t", table, dims=["group"])],
            relations=[Relation({"group": "a"}, [{"group": "zz"}])],
        )
    with pytest.raises(UsageError, match="whole numbers"):
        protect_tables([CellTable("t", table.assign(n=[1.5, 1.5]), dims=["group"])])
