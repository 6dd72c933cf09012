"""Scoring: hand-worked examples per instrument, missing-item boundaries, errors, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stseval
import stseval._tally
from stseval import DataValidationError, UsageError, load_instrument, score
from stseval.instruments import builtin_keys


def one_row(key: str, values) -> pd.DataFrame:
    inst = load_instrument(key)
    if np.isscalar(values):
        values = [values] * inst.n_items
    return pd.DataFrame([values], columns=inst.item_columns, dtype=float)


# -- all-minimum and all-maximum answers give the theoretical range of every scale ----------
@pytest.mark.parametrize("key", builtin_keys())
def test_all_min_and_all_max_reach_the_scale_bounds(key):
    inst = load_instrument(key)
    lo_row, hi_row = one_row(key, inst.response.min), one_row(key, inst.response.max)
    lo, hi = score(lo_row, key), score(hi_row, key)
    for name, scale in inst.scales.items():
        col = f"{key}_{name}"
        n_rev = sum(inst.items[i - 1].reverse for i in scale.items)
        k = len(scale.items)
        # With r reverse items, all-min answers give (k - r) * min + r * max for a sum.
        expect_lo = (k - n_rev) * inst.response.min + n_rev * inst.response.max
        expect_hi = (k - n_rev) * inst.response.max + n_rev * inst.response.min
        if scale.method == "mean":
            expect_lo, expect_hi = expect_lo / k, expect_hi / k
        assert lo[col].iloc[0] == pytest.approx(expect_lo)
        assert hi[col].iloc[0] == pytest.approx(expect_hi)


def test_keyed_all_min_reaches_floor_and_keyed_all_max_reaches_ceiling():
    # Answer every item at its *keyed* minimum: reverse items at max. Scores hit the floor.
    for key in builtin_keys():
        inst = load_instrument(key)
        r = inst.response
        keyed_min = [r.max if it.reverse else r.min for it in inst.items]
        keyed_max = [r.min if it.reverse else r.max for it in inst.items]
        lo, hi = score(one_row(key, keyed_min), key), score(one_row(key, keyed_max), key)
        for name in inst.scales:
            bounds = inst.score_range(name)
            assert lo[f"{key}_{name}"].iloc[0] == pytest.approx(bounds[0]), (key, name)
            assert hi[f"{key}_{name}"].iloc[0] == pytest.approx(bounds[1]), (key, name)


# -- hand-worked mixed patterns ---------------------------------------------------------
def test_stss_hand_worked_subscales_and_band():
    # Items 1..17 answered 1,2,3,4,5,1,2,3,4,5,1,2,3,4,5,1,2.
    vals = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]
    out = score(one_row("stss", vals), "stss").iloc[0]
    # Intrusion = items 2,3,6,10,13 = 2+3+1+5+3 = 14
    assert out["stss_intrusion"] == 14
    # Avoidance = 1,5,7,9,12,14,17 = 1+5+2+4+2+4+2 = 20
    assert out["stss_avoidance"] == 20
    # Arousal = 4,8,11,15,16 = 4+3+1+5+1 = 14
    assert out["stss_arousal"] == 14
    assert out["stss_total"] == sum(vals) == 48
    # Bride (2007): 44-48 is "high", 49+ "severe".
    assert out["stss_total_band"] == "high"
    assert score(one_row("stss", [3] * 16 + [1]), "stss")["stss_total_band"].iloc[0] == "severe"


def test_stss_alternative_band_set():
    row = one_row("stss", [3] * 16 + [1])  # total 49
    assert score(row, "stss", bands={"stss": "ctac_app"})["stss_total_band"].iloc[0] == "high"
    with pytest.raises(UsageError, match="no band set 'nope'.*bride_2007"):
        score(row, "stss", bands={"stss": "nope"})


def test_proqol_reverse_items_hand_worked():
    # All answers 4. Burnout holds five reverse items (1,4,15,17,29): 5*4 + 5*(6-4) = 30.
    out = score(one_row("proqol", 4), "proqol").iloc[0]
    assert out["proqol_bo"] == 30
    assert out["proqol_cs"] == 40 and out["proqol_sts"] == 40
    # Raw-sum bands: <=22 low, 23-41 moderate, >=42 high.
    assert out["proqol_bo_band"] == "moderate" and out["proqol_cs_band"] == "moderate"
    assert score(one_row("proqol", 5), "proqol")["proqol_cs_band"].iloc[0] == "high"
    assert score(one_row("proqol", 2), "proqol")["proqol_sts_band"].iloc[0] == "low"


def test_brs_mean_with_reverse_items():
    # Items 1..6 = 5,1,4,2,5,1; reverse 2,4,6 -> 5,5,4,4,5,5 -> mean 28/6.
    out = score(one_row("brs", [5, 1, 4, 2, 5, 1]), "brs").iloc[0]
    assert out["brs_total"] == pytest.approx(28 / 6)
    assert out["brs_total_band"] == "high"  # >= 4.31
    assert score(one_row("brs", [3] * 6), "brs")["brs_total_band"].iloc[0] == "normal"


def test_pss10_reverse_items():
    # All answers 3: 6 forward items * 3 + 4 reverse items * (4-3) = 22.
    assert score(one_row("pss10", 3), "pss10")["pss10_total"].iloc[0] == 22


def test_scssf_reverse_items():
    # All answers 2: six forward items 2, six reverse (6-2=4): mean 3.
    assert score(one_row("scssf", 2), "scssf")["scssf_total"].iloc[0] == 3


def test_psysafety_seven_point_reverse():
    # All answers 6: items 1,3,5 reversed (8-6=2): (4*6 + 3*2)/7.
    assert score(one_row("psysafety", 6), "psysafety")["psysafety_total"].iloc[0] == pytest.approx(
        30 / 7
    )


def test_pcl5_clusters_and_provisional_diagnosis():
    vals = [0] * 20
    # Endorse (>= 2): one intrusion, one avoidance, two cognition/mood, one arousal -> no dx.
    vals[0], vals[5], vals[7], vals[8], vals[14] = 2, 3, 2, 4, 2
    out = score(one_row("pcl5", vals), "pcl5").iloc[0]
    assert (
        out["pcl5_intrusion"],
        out["pcl5_avoidance"],
        out["pcl5_cognition_mood"],
        out["pcl5_arousal"],
        out["pcl5_total"],
    ) == (2, 3, 6, 2, 13)
    assert out["pcl5_provisional_dx"] == False  # noqa: E712 (pandas boolean)
    vals[15] = 2  # a second arousal item -> criteria met
    assert score(one_row("pcl5", vals), "pcl5")["pcl5_provisional_dx"].iloc[0] == True  # noqa
    # A missing item makes the diagnosis unknown, not "no".
    vals[3] = np.nan
    assert pd.isna(score(one_row("pcl5", vals), "pcl5")["pcl5_provisional_dx"].iloc[0])
    # Cut-off 33 (default) and 31 (alternative).
    row = one_row("pcl5", [2] * 16 + [0] * 4)  # total 32
    assert score(row, "pcl5")["pcl5_total_band"].iloc[0] == "below cut-off"
    assert (
        score(row, "pcl5", bands={"pcl5": "ncptsd_31"})["pcl5_total_band"].iloc[0]
        == "probable PTSD"
    )


def test_cbi_steps_reverse_and_author_missing_rule():
    inst = load_instrument("cbi")
    vals = [50.0] * 19
    vals[12] = 100  # the reversed work item answered "always" -> scored 0
    out = score(one_row("cbi", vals), "cbi").iloc[0]
    assert out["cbi_personal"] == 50
    assert out["cbi_work"] == pytest.approx((6 * 50 + 0) / 7)
    # Personal burnout: 3 of 6 answered is enough (Kristensen 2005), 2 is not.
    three = [25, 75, 50, np.nan, np.nan, np.nan] + [50] * 13
    two = [25, 75, np.nan, np.nan, np.nan, np.nan] + [50] * 13
    assert score(one_row("cbi", three), "cbi")["cbi_personal"].iloc[0] == 50
    assert pd.isna(score(one_row("cbi", two), "cbi")["cbi_personal"].iloc[0])
    # Work: 4 of 7 needed.
    w4 = [50] * 6 + [100, 100, 0, 0, np.nan, np.nan, np.nan] + [50] * 6
    w3 = [50] * 6 + [100, 100, 0, np.nan, np.nan, np.nan, np.nan] + [50] * 6
    assert score(one_row("cbi", w4), "cbi")["cbi_work"].iloc[0] == 50
    assert pd.isna(score(one_row("cbi", w3), "cbi")["cbi_work"].iloc[0])
    # 60 is not one of 0/25/50/75/100.
    with pytest.raises(DataValidationError, match=r"cbi_01.*0, 25, 50, 75, 100"):
        score(one_row("cbi", [60] + [50] * 18), "cbi")
    assert inst.scale_rule("personal").source == "author"


def test_stsioa_not_applicable_excluded_and_counted():
    vals = [4] * 40
    vals[0] = 0  # N/A in resilience domain
    vals[1] = 0
    vals[2] = 2
    out = score(one_row("stsioa", vals), "stsioa").iloc[0]
    # Resilience: items 1-7 with two N/A -> mean of 2,4,4,4,4 = 3.6
    assert out["stsioa_resilience"] == pytest.approx(3.6)
    assert out["stsioa_resilience_n_na"] == 2 and out["stsioa_resilience_n_answered"] == 5
    assert out["stsioa_total"] == pytest.approx((2 + 37 * 4) / 38)
    assert out["stsioa_total_n_na"] == 2 and out["stsioa_n_missing"] == 0


# -- the missing-item boundary: just enough answered vs one too few ---------------------------
@pytest.mark.parametrize(
    "key",
    [
        "stss",
        "proqol",
        "brs",
        "pss10",
        "scssf",
        "pcl5",
        "psysafety",
        "org_guidance",
        "ind_guidance",
    ],
)
def test_prorating_boundary_kit_convention(key):
    inst = load_instrument(key)
    for name, scale in inst.scales.items():
        k = len(scale.items)
        need = int(np.ceil(0.8 * k - 1e-9))
        assert inst.scale_rule(name).required(k) == need
        row = pd.DataFrame(
            [[inst.response.max] * inst.n_items], columns=inst.item_columns, dtype=float
        )
        # Make the first items of this scale missing: k - need missing is still enough.
        drop_ok = [inst.item_columns[i - 1] for i in scale.items[: k - need]]
        drop_bad = [inst.item_columns[i - 1] for i in scale.items[: k - need + 1]]
        ok, bad = row.copy(), row.copy()
        ok[drop_ok] = np.nan
        bad[drop_bad] = np.nan
        col = f"{key}_{name}"
        assert not pd.isna(score(ok, key)[col].iloc[0]), (col, need)
        assert pd.isna(score(bad, key)[col].iloc[0]), (col, need)


def test_prorated_sum_is_mean_of_answered_times_items():
    vals = [2.0] * 17
    vals[0], vals[1] = np.nan, 5  # avoidance item 1 missing; intrusion item 2 = 5
    out = score(one_row("stss", vals), "stss").iloc[0]
    # Total: answered 16 items sum 2*15 + 5 = 35 -> 35/16*17
    assert out["stss_total"] == pytest.approx(35 / 16 * 17)
    assert out["stss_total_n_answered"] == 16 and out["stss_n_missing"] == 1


def test_min_answered_override_per_call_and_per_scale():
    vals = [3.0] * 17
    for i in (1, 4, 8, 10):  # four missing items -> 13 of 17 answered (< 14 needed)
        vals[i] = np.nan
    row = one_row("stss", vals)
    assert pd.isna(score(row, "stss")["stss_total"].iloc[0])
    assert score(row, "stss", min_answered=0.75)["stss_total"].iloc[0] == 51
    assert score(row, "stss", min_answered={"stss_total": 13})["stss_total"].iloc[0] == 51
    rules = score(row, "stss", min_answered=13).attrs["scoring_rules"]
    assert set(rules["rule_source"]) == {"user"}
    with pytest.raises(UsageError, match="min_answered"):
        score(row, "stss", min_answered=-1)


# -- errors -----------------------------------------------------------------------------------
def test_out_of_range_error_names_column_rows_and_range():
    inst = load_instrument("stss")
    frame = pd.DataFrame(3, index=range(10), columns=inst.item_columns)
    frame.loc[[2, 7], "stss_04"] = 6
    frame.loc[5, "stss_09"] = 0
    with pytest.raises(DataValidationError) as info:
        score(frame, "stss", source="survey.csv")
    msg = str(info.value)
    assert "stss_04" in msg and "rows 2, 7" in msg and "whole numbers 1 to 5" in msg
    assert "stss_09" in msg and "survey.csv" in msg
    assert len(info.value.failures) == 2  # all problems at once


def test_non_integer_and_text_values_are_rejected():
    inst = load_instrument("brs")
    frame = pd.DataFrame([[3] * 6, [3] * 6], columns=inst.item_columns).astype(object)
    frame.iloc[0, 0] = 2.5
    frame.iloc[1, 3] = "often"
    with pytest.raises(DataValidationError, match=r"brs_01.*2\.5.*\n.*brs_04.*often"):
        score(frame, "brs")


def test_invalid_as_missing_counts_and_warns():
    inst = load_instrument("stss")
    frame = pd.DataFrame(3, index=range(3), columns=inst.item_columns)
    frame.loc[1, "stss_01"] = 9
    with pytest.warns(UserWarning, match="1 invalid answer"):
        out = score(frame, "stss", invalid="missing")
    assert list(out["stss_n_invalid"]) == [0, 1, 0]
    assert out["stss_total"].iloc[1] == pytest.approx(51)  # prorated from 16 answers of 3


def test_missing_instrument_columns_named():
    with pytest.raises(DataValidationError, match="proqol has no item columns"):
        score(one_row("stss", 3), ["stss", "proqol"])
    partial = one_row("stss", 3).drop(columns=["stss_05", "stss_11"])
    with pytest.raises(DataValidationError, match="missing 2 item column.*stss_05, stss_11"):
        score(partial, "stss")


def test_argument_errors():
    with pytest.raises(UsageError, match="unknown instrument 'stsx'.*stss"):
        score(one_row("stss", 3), "stsx")
    with pytest.raises(UsageError, match="invalid must be"):
        score(one_row("stss", 3), "stss", invalid="drop")
    with pytest.raises(UsageError, match="DataFrame"):
        score([[1, 2]], "stss")


# -- contract: several instruments, carried columns, index, input unchanged --------------------
def test_several_instruments_carry_other_columns_and_keep_index():
    stss, proqol = load_instrument("stss"), load_instrument("proqol")
    rng = np.random.default_rng(1)
    n = 20
    frame = pd.DataFrame(
        rng.integers(1, 6, size=(n, 47)),
        columns=stss.item_columns + proqol.item_columns,
        index=pd.Index([f"r{i}" for i in range(n)]),
    )
    frame.insert(0, "worker_id", [f"W{i:03d}" for i in range(n)])
    frame["wave"] = "pre"
    before = frame.copy()
    out = score(frame, ["stss", "proqol"])
    pd.testing.assert_frame_equal(frame, before)  # caller's frame untouched
    assert list(out.index) == list(frame.index)
    assert list(out.columns[:2]) == ["worker_id", "wave"]
    assert not set(stss.item_columns) & set(out.columns)
    for col in ["stss_total", "proqol_cs", "proqol_bo", "proqol_sts", "proqol_n_missing"]:
        assert col in out
    # Independent check: ProQOL CS is a plain sum of its items (no reverse items there).
    cs_items = [f"proqol_{i:02d}" for i in (3, 6, 12, 16, 18, 20, 22, 24, 27, 30)]
    np.testing.assert_allclose(out["proqol_cs"], frame[cs_items].sum(axis=1))


def test_user_instrument_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("""
key: mine
name: My scale
short_name: Mine
version: "1"
citation: Me (2026).
licence: {status: free, summary: mine}
response: {min: 0, max: 3, anchors: {0: never, 3: always}}
items:
  - {number: 1, label: first thing}
  - {number: 2, label: second thing, reverse: true}
scales:
  total: {label: Total, items: [1, 2], method: sum}
""")
    out = score(pd.DataFrame({"mine_01": [3], "mine_02": [0]}), str(path))
    assert out["mine_total"].iloc[0] == 6


# -- properties -------------------------------------------------------------------------------
_KEYS = ["stss", "proqol", "brs", "pss10", "cbi", "scssf", "psysafety", "stsioa", "pcl5"]


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(_KEYS), data=st.data())
def test_scores_stay_in_theoretical_range(key, data):
    inst = load_instrument(key)
    values = data.draw(
        st.lists(
            st.one_of(st.sampled_from(inst.response.values), st.just(np.nan)),
            min_size=inst.n_items,
            max_size=inst.n_items,
        )
    )
    out = score(pd.DataFrame([values], columns=inst.item_columns, dtype=float), key).iloc[0]
    for name in inst.scales:
        val = out[f"{key}_{name}"]
        lo, hi = inst.score_range(name)
        assert pd.isna(val) or lo - 1e-9 <= val <= hi + 1e-9


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(["proqol", "brs", "pss10", "scssf", "psysafety", "cbi"]), data=st.data())
def test_reverse_keyed_items_move_scores_the_other_way(key, data):
    inst = load_instrument(key)
    values = data.draw(
        st.lists(
            st.sampled_from(inst.response.values[1:-1]),
            min_size=inst.n_items,
            max_size=inst.n_items,
        )
    )
    item = data.draw(st.sampled_from(inst.items))
    up = list(values)
    up[item.number - 1] += inst.response.step
    base = score(pd.DataFrame([values], columns=inst.item_columns), key).iloc[0]
    more = score(pd.DataFrame([up], columns=inst.item_columns), key).iloc[0]
    for name, scale in inst.scales.items():
        if item.number in scale.items:
            diff = more[f"{key}_{name}"] - base[f"{key}_{name}"]
            assert (diff < 0) if item.reverse else (diff > 0)


def test_vectorized_matches_row_by_row_reference():
    """Independent, slow reference: score each row with plain Python."""
    inst = load_instrument("proqol")
    rng = np.random.default_rng(7)
    vals = rng.integers(1, 6, size=(200, 30)).astype(float)
    vals[rng.random(vals.shape) < 0.08] = np.nan
    frame = pd.DataFrame(vals, columns=inst.item_columns)
    fast = score(frame, "proqol")
    for name, scale in inst.scales.items():
        ref = []
        for row in vals:
            keyed = [
                6 - row[i - 1] if inst.items[i - 1].reverse else row[i - 1] for i in scale.items
            ]
            answered = [v for v in keyed if not np.isnan(v)]
            ref.append(sum(answered) / len(answered) * 10 if len(answered) >= 8 else np.nan)
        np.testing.assert_allclose(fast[f"proqol_{name}"], ref)


def test_public_names():
    """The top-level names resolve to the objects of their modules and behave."""
    import inspect

    from stseval import evaluate, individual, scoring, study, synthetic

    assert stseval.score is scoring.score and stseval.Study is study.Study
    assert stseval.evaluate_area is evaluate.evaluate_area
    assert stseval.evaluate_statement is individual.evaluate_statement
    assert stseval.simulate is synthetic.simulate
    assert list(inspect.signature(stseval.score).parameters)[:2] == ["responses", "instrument"]
    inst = stseval.load_instrument("stss")
    assert inst.key == "stss" and len(inst.items) == 17
    frame = pd.DataFrame({c: [1] for c in inst.item_columns})
    assert stseval.score(frame, inst)["stss_total"].iloc[0] == 17  # all "never"
    for name in stseval.__all__:
        assert getattr(stseval, name) is not None, name
    assert set(builtin_keys()) == {
        "stss",
        "proqol",
        "stsioa",
        "brs",
        "pcl5",
        "pss10",
        "scssf",
        "cbi",
        "psysafety",
        "org_guidance",
        "ind_guidance",
    }


# -- the vectorized scorer against a plain cell-by-cell reference, every column --------------
def _reference_cell(x, resp):
    """'blank', 'na', 'invalid' or the answer as a float (the documented contract)."""
    if x is None or x is pd.NA or (isinstance(x, str) and not x.strip()):
        return "blank"
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return "invalid"
    x = float(x)
    if np.isnan(x):
        return "blank"
    if resp.not_applicable is not None and x == resp.not_applicable:
        return "na"
    return x if x in {float(v) for v in resp.values} else "invalid"


def _reference_score(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Score row by row in plain Python, written from the docstring of `score`."""
    insts = [load_instrument(k) for k in keys]
    items = {c for inst in insts for c in inst.item_columns}
    out = frame[[c for c in frame.columns if c not in items]].copy()
    for inst in insts:
        r, key = inst.response, inst.key
        cells = [[_reference_cell(x, r) for x in row] for row in frame[inst.item_columns].values]
        cols: dict = {}
        for name, scale in inst.scales.items():
            k, rule = len(scale.items), inst.scale_rule(name)
            vals, n_ans, n_na = [], [], []
            for row in cells:
                got = [row[i - 1] for i in scale.items]
                keyed = [
                    r.min + r.max - x if inst.items[i - 1].reverse else x
                    for i, x in zip(scale.items, got, strict=True)
                    if not isinstance(x, str)
                ]
                na = sum(x == "na" for x in got)
                applicable = k - na
                need = rule.required(applicable) if applicable > 0 else 1
                ok = len(keyed) >= need and len(keyed) > 0
                mean = sum(keyed) / len(keyed) if ok else np.nan
                vals.append(mean * k if scale.method == "sum" else mean)
                n_ans.append(len(keyed))
                n_na.append(na)
            cols[name] = (vals, n_ans, n_na)
        for name, (vals, _, _) in cols.items():
            out[f"{key}_{name}"] = np.array(vals, dtype=float)
        bset_name = inst.default_band_set()
        if bset_name:
            bset = inst.band_sets[bset_name]
            labels = [b.label for b in bset.bands]
            for name in bset.scales:
                got = [
                    None
                    if np.isnan(s)
                    else ([b.label for b in bset.bands if s >= b.lower] or [None])[-1]
                    for s in cols[name][0]
                ]
                out[f"{key}_{name}_band"] = pd.Categorical(got, categories=labels, ordered=True)
        for rname, rule in inst.diagnostic_rules.items():
            flags = []
            for row in cells:
                items_of = {s: [row[i - 1] for i in inst.scales[s].items] for s in rule.require}
                if any(isinstance(x, str) for got in items_of.values() for x in got):
                    flags.append(pd.NA)
                else:
                    flags.append(
                        all(
                            sum(x >= rule.endorsed_at for x in items_of[s]) >= need
                            for s, need in rule.require.items()
                        )
                    )
            out[f"{key}_{rname}"] = pd.array(flags, dtype="boolean")
        for name, (_, n_ans, n_na) in cols.items():
            out[f"{key}_{name}_n_answered"] = np.array(n_ans, dtype=np.int64)
            if r.not_applicable is not None:
                out[f"{key}_{name}_n_na"] = np.array(n_na, dtype=np.int64)
        out[f"{key}_n_missing"] = np.array([row.count("blank") for row in cells], dtype=np.int64)
        out[f"{key}_n_invalid"] = np.array([row.count("invalid") for row in cells], dtype=np.int64)
    return out


def _random_answers(keys, n, rng, *, invalid_share=0.03) -> pd.DataFrame:
    """Allowed answers, 10% blank, N/A codes, and out-of-range / off-step / infinite values."""
    blocks = []
    for key in keys:
        inst = load_instrument(key)
        r = inst.response
        allowed = np.array(r.values, dtype=float)
        vals = rng.choice(allowed, size=(n, inst.n_items))
        u = rng.random(vals.shape)
        vals[u < 0.10] = np.nan
        if r.not_applicable is not None:
            vals[(u >= 0.10) & (u < 0.15)] = r.not_applicable
        bad = (u >= 0.15) & (u < 0.15 + invalid_share)
        weird = np.array([r.max + r.step, r.min - 1, r.min + r.step / 2, np.inf, -np.inf])
        vals[bad] = rng.choice(weird, size=int(bad.sum()))
        blocks.append(pd.DataFrame(vals, columns=inst.item_columns))
    frame = pd.concat(blocks, axis=1)
    frame.insert(0, "worker_id", [f"W{i:04d}" for i in range(n)])
    frame.index = pd.Index(np.arange(n) * 3 + 7, name="row")
    return frame


_REF_KEYS = ["stss", "proqol", "pcl5", "stsioa", "cbi", "brs"]


@pytest.mark.parametrize("layout", ["column-major", "row-major", "float32"])
@pytest.mark.parametrize("chunk", [None, 16])
def test_every_column_matches_the_cell_by_cell_reference(layout, chunk, monkeypatch):
    if chunk:  # many blocks of rows, the last one ragged
        monkeypatch.setattr(stseval._tally, "_CHUNK", chunk)
    frame = _random_answers(_REF_KEYS, 203, np.random.default_rng(11))
    items = frame.columns[1:]
    if layout == "row-major":  # the item block as a C-ordered matrix, not pandas' usual layout
        values = np.ascontiguousarray(frame[items].to_numpy())
        frame = pd.concat(
            [
                frame[["worker_id"]],
                pd.DataFrame(values, columns=items, index=frame.index, copy=False),
            ],
            axis=1,
        )
        block = frame[list(items[:5])].to_numpy()
        assert block.strides[0] > block.strides[1]  # rows are contiguous
    elif layout == "float32":
        frame = frame.astype({c: np.float32 for c in items})
    expected = _reference_score(frame, _REF_KEYS)
    with pytest.warns(UserWarning, match="invalid answer"):
        got = score(frame, _REF_KEYS, invalid="missing")
    assert expected[[c for c in expected if c.endswith("_n_invalid")]].to_numpy().sum() > 50
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_integer_and_text_columns_match_the_reference():
    rng = np.random.default_rng(5)
    frame = _random_answers(["pcl5", "proqol"], 120, rng, invalid_share=0.0)
    pcl5 = load_instrument("pcl5").item_columns
    proqol = load_instrument("proqol").item_columns
    frame[pcl5] = frame[pcl5].fillna(0).astype(np.int64)  # 0-based, no blanks, integers
    frame[pcl5[3]] = frame[pcl5[3]].where(rng.random(120) > 0.05, 7)  # out of range
    text = frame[proqol[:2]].astype(object)
    text.iloc[::7, 0] = "often"
    text.iloc[1::9, 1] = " "  # blank
    text.iloc[2::11, 1] = "4"  # a number written as text is that number
    frame[proqol[:2]] = text
    expected = _reference_score(frame, ["pcl5", "proqol"])
    with pytest.warns(UserWarning, match="invalid answer"):
        got = score(frame, ["pcl5", "proqol"], invalid="missing")
    assert expected["proqol_n_invalid"].sum() > 0 and expected["pcl5_n_invalid"].sum() > 0
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_raise_mode_names_the_invalid_cells_and_scores_clean_data_the_same():
    rng = np.random.default_rng(9)
    clean = _random_answers(_REF_KEYS, 80, rng, invalid_share=0.0)
    pd.testing.assert_frame_equal(
        score(clean, _REF_KEYS), _reference_score(clean, _REF_KEYS), check_exact=True
    )
    dirty = clean.copy()
    dirty.loc[dirty.index[[3, 40]], "pcl5_07"] = 5
    dirty.loc[dirty.index[10], "cbi_02"] = 60
    with pytest.raises(DataValidationError) as info:
        score(dirty, _REF_KEYS)
    msg = str(info.value)
    assert "pcl5_07" in msg and "cbi_02" in msg and len(info.value.failures) == 2
