"""The reader's linear system: kept HiGHS models and certificates against cold linprog.

:class:`stseval._disclosure_lp.LinearSystem` keeps one HiGHS model per direction between
solves and skips a linear program when two vertices it already found prove a cell
protected. :class:`stseval._disclosure_reference.ReferenceSystem` solves every bound from
scratch with ``scipy.optimize.linprog`` on dense matrices (the kit's solver before the kept
models). On random systems built from people-level data, every bound and every decision of
``protect_tables`` must be the same; two small systems are also worked by hand.
"""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import stseval.disclosure as disclosure
from stseval._disclosure_lp import LinearSystem, build_model
from stseval._disclosure_reference import ReferenceSystem
from stseval.disclosure import CellTable, protect_tables

MIN_CELL = 5
T = "Total"


# ------------------------------------------------------------------ random tables of people
def _people(rng) -> pd.DataFrame:
    n = int(rng.integers(6, 70))
    return pd.DataFrame(
        {
            "g": rng.choice(["g1", "g2", "g3"], n, p=[0.6, 0.3, 0.1]),
            "h": rng.choice(["h1", "h2"], n, p=[0.8, 0.2]),
            "arm": rng.choice(["a", "b"], n),
            "y": rng.uniform(0, 10, n),
            "z": rng.uniform(-5, 5, n),
        }
    )


def _cube(people, dims, means) -> pd.DataFrame:
    """Every combination of ``dims`` values and ``Total``: count and means of ``means``."""
    levels = [sorted(people[d].unique()) + [T] for d in dims]
    rows = []
    for combo in pd.MultiIndex.from_product(levels):
        mask = np.ones(len(people), bool)
        for d, v in zip(dims, combo, strict=True):
            if v != T:
                mask &= (people[d] == v).to_numpy()
        sub = people[mask]
        row = dict(zip(dims, combo, strict=True), n=len(sub))
        row |= {f"mean_{m}": sub[m].mean() if len(sub) else np.nan for m in means}
        rows.append(row)
    return pd.DataFrame(rows)


def random_tables(seed: int):
    """Three tables of the same people: by group and arm (means of y), by h and arm (means
    of z), and the unpublished cross of g, h and arm whose h totals are the first table."""
    rng = np.random.default_rng(seed)
    people = _people(rng)
    t1 = _cube(people, ["g", "arm"], ["y"])
    t2 = _cube(people, ["h", "arm"], ["z"])
    t3 = _cube(people, ["g", "h", "arm"], [])
    specs = [
        CellTable("by_g", t1, dims=["g", "arm"], means={"mean_y": "y"}),
        CellTable("by_h", t2, dims=["h", "arm"], means={"mean_z": "z"}),
        CellTable("cross", t3, dims=["g", "h", "arm"], publish=False),
    ]
    # y's range is known to a reader; z's only sometimes (then its sums are unbounded)
    ranges = {"y": (0.0, 10.0)} | ({"z": (-5.0, 5.0)} if seed % 2 else {})
    return specs, ranges


def _system(cls, seed: int):
    specs, ranges = random_tables(seed)
    model = build_model(specs, relations=(), total=T, value_ranges=ranges)
    system = cls(model, min_cell=MIN_CELL)
    for var in model.published_vars():  # rule 1, as protect_tables does
        if 0 < model.n_true[model.var_key[var]] < MIN_CELL:
            system.hide(var, primary=True)
    return model, system


def _loosening_cells(model) -> list[int]:
    """Shown cells protect_tables may hide: means, and counts of at least MIN_CELL."""
    return [
        v
        for v in model.published_vars()
        if not model.is_count(v) or model.n_true[model.var_key[v]] >= MIN_CELL
    ]


def _same_bound(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-6)


# ------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("seed", range(4))
def test_bounds_equal_cold_linprog_through_hide_and_unhide(seed):
    """The kept models follow every hide and unhide: each bound equals a cold linprog's."""
    model, system = _system(LinearSystem, seed)
    _, reference = _system(ReferenceSystem, seed)
    rng = np.random.default_rng(seed)
    cells = _loosening_cells(model)
    checked = unbounded = 0
    for _step in range(5):
        for var in rng.choice(cells, size=min(3, len(cells)), replace=False):
            var = int(var)
            for s in (system, reference):
                (s.unhide if var in s.hidden - s.primary else s.hide)(var)
        for var in rng.choice(len(model.var_key), size=25, replace=False):
            got, want = system.bounds_of(int(var)), reference.bounds_of(int(var))
            assert all(_same_bound(a, b) for a, b in zip(got, want, strict=True)), (
                seed,
                model.describe(int(var)),
                got,
                want,
            )
            checked += 1
            unbounded += math.isinf(want[1])
    assert checked == 125
    if seed % 2 == 0:  # z has no known range: some of its sums are unbounded
        assert unbounded > 0


@pytest.mark.parametrize("seed", range(6))
def test_certificates_only_claim_what_the_bounds_prove(seed):
    """A cell certified protected from vertices already found is protected by its bounds,
    and certificates do skip linear programs."""
    model, system = _system(LinearSystem, seed)
    _, reference = _system(ReferenceSystem, seed)
    cells = _loosening_cells(model)
    for var in cells[: len(cells) // 2]:
        system.hide(var), reference.hide(var)
    sensitive = model.sensitive_vars(MIN_CELL)
    for var in range(len(model.var_key)):  # vertices to certify with
        system.bounds_of(var)
    certified = 0
    for var in sensitive:
        for cp, mp in ((1.0, 0.0), (1.0, 1.0), (2.0, 3.0)):
            if system._certified(var, cp, mp):
                certified += 1
                assert reference.is_protected(var, count_protection=cp, mean_protection=mp)
            assert system.is_protected(
                var, count_protection=cp, mean_protection=mp
            ) == reference.is_protected(var, count_protection=cp, mean_protection=mp)
    assert certified > 0 or not sensitive


def _tables_equal(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        pd.testing.assert_frame_equal(a.display[name], b.display[name])
    pd.testing.assert_frame_equal(a.audit, b.audit)


@pytest.mark.parametrize("seed", range(10))
def test_protect_tables_decides_as_with_cold_linprog(seed, monkeypatch):
    specs, ranges = random_tables(100 + seed)
    kwargs = dict(min_cell=MIN_CELL, value_ranges=ranges, mean_protection=seed % 3 * 0.5)
    fast = protect_tables(specs, **kwargs)
    monkeypatch.setattr(disclosure, "LinearSystem", ReferenceSystem)
    _tables_equal(fast, protect_tables(specs, **kwargs))
    rules = fast.audit["rule"]  # the case exercises both rules, not only the checks
    assert rules.str.startswith("primary").any() and rules.str.startswith("complementary").any()


def test_hand_worked_bounds():
    """Total 12 = a + b + c with c = 0 shown. a (3) is shown as 'fewer than 5', so a is in
    [1, 4]; b, hidden with it, is at least 5, so b = 12 - a is in [8, 11]. Mean of b hidden,
    of the total shown (6.0), values in [0, 10]: S_b = 72 - S_a with S_a in [0, 10 a], so
    S_b is in [72 - 40, 72 - 0] but also in [0, 10 b] = up to 110: [32, 72]."""
    frame = pd.DataFrame(
        {"grp": ["a", "b", "c", T], "n": [3, 9, 0, 12], "mean": [4.0, 6.666667, np.nan, 6.0]}
    )
    frame.loc[1, "mean"] = (72 - 12.0) / 9  # a's three people score 4 each: S_a = 12
    model = build_model(
        [CellTable("t", frame, dims=["grp"], means={"mean": "y"})],
        relations=(),
        total=T,
        value_ranges={"y": (0.0, 10.0)},
    )
    for cls in (LinearSystem, ReferenceSystem):
        system = cls(model, min_cell=MIN_CELL)
        a, b = (model.count_var[model.key_index[(g,)]] for g in ("a", "b"))
        sum_a, sum_b = (model.sum_var[(model.key_index[(g,)], "y")] for g in ("a", "b"))
        system.hide(a, primary=True), system.hide(sum_a, primary=True)
        system.hide(b), system.hide(sum_b)
        assert system.bounds_of(a) == pytest.approx((1.0, 4.0))
        assert system.bounds_of(b) == pytest.approx((8.0, 11.0))
        assert system.bounds_of(sum_b) == pytest.approx((32.0, 72.0))
        assert system.bounds_of(sum_a) == pytest.approx((0.0, 40.0))


def test_highs_prints_nothing():
    """HiGHS writes its banner to the process's stdout when highspy.Highs() is made: the
    kit's models must not (a notebook would show it)."""
    code = (
        "import pandas as pd\n"
        "from stseval.disclosure import CellTable, protect_tables\n"
        "t = pd.DataFrame({'g': ['a', 'b', 'Total'], 'n': [3, 9, 12]})\n"
        "r = protect_tables([CellTable('t', t, dims=['g'])])\n"
        "print('hidden', int(r.tables['t']['n'].isna().sum()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "hidden 2\n"
    assert "HiGHS" not in out.stderr


def test_threads_give_the_same_tables():
    """Dask may run reports in threads: HiGHS models made and solved in two threads at
    once (each thread has its own HiGHS scheduler) decide as one thread does."""
    from concurrent.futures import ThreadPoolExecutor

    cases = [random_tables(200 + seed) for seed in range(4)]

    def run(case):
        specs, ranges = case
        return protect_tables(specs, min_cell=MIN_CELL, value_ranges=ranges, mean_protection=1.0)

    alone = [run(case) for case in cases]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(run, cases))
    for a, b in zip(alone, together, strict=True):
        _tables_equal(a, b)


def test_a_shipped_studys_report_tables_as_with_cold_linprog(monkeypatch):
    """The participant flow, outcome summary and attrition of a shipped study's area report
    (and the funder report's flow) are the same with the old solver: same cells hidden,
    same text, same audit."""
    from pathlib import Path

    from stseval.report import protected_tables
    from stseval.study import Study

    folder = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "small"
    fast = {area: protected_tables(Study.from_dir(folder), area) for area in (None, "policies")}
    monkeypatch.setattr(disclosure, "LinearSystem", ReferenceSystem)
    for area, got in fast.items():
        want = protected_tables(Study.from_dir(folder), area)  # a new Study: no cached tables
        for name in ("flow", "summary", "attrition", "audit"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
        assert got.audit["rule"].str.startswith("complementary").any()
