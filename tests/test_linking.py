"""Tests of stseval.linking: hand-built codes and a simulated population with known pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stseval.errors import UsageError
from stseval.linking import RATE_COLUMNS, link_codes

ELEMENTS = ["initial", "month", "sibling"]


def _frame(rows):
    return pd.DataFrame(rows, columns=["worker_id", "org_id", "wave", *ELEMENTS])


def _pairs(res):
    """Set of (pre id, post id) pairs that share a linked_id."""
    lk = res.linked
    pre = lk[lk["wave"] == "pre"].set_index("linked_id")["worker_id"]
    post = lk[lk["wave"] == "post"].set_index("linked_id")["worker_id"]
    both = pre.index.intersection(post.index)
    return {(pre[i], post[i]) for i in both}


HAND = _frame(
    [
        # org A: a1 exact, a2 one element wrong at post, a3/a4 identical codes (tie), a5 blank
        ("a1", "A", "pre", "M", 3, 2),
        ("a2", "A", "pre", "J", 7, 0),
        ("a3", "A", "pre", "K", 1, 1),
        ("a4", "A", "pre", "K", 1, 1),
        ("a5", "A", "pre", "S", 12, None),
        ("b1", "A", "post", "m ", 3, 2),  # same code, other case and a space
        ("b2", "A", "post", "J", 8, 0),
        ("b3", "A", "post", "K", 1, 1),
        ("b5", "A", "post", "S", 12, 3),
        # org B: same code as a1, but another organization: never matched across orgs
        ("c1", "B", "post", "M", 3, 2),
    ]
)


def test_exact_rule_hand_built():
    res = link_codes(HAND, ELEMENTS, rule="exact")
    assert _pairs(res) == {("a1", "b1")}
    rates = res.rates.set_index("org_id")
    assert list(res.rates.columns) == RATE_COLUMNS
    a = rates.loc["A"]
    assert (a["n_from"], a["n_to"], a["n_matched"]) == (5, 4, 1)
    # a3 and a4 both have b3 as their candidate: a tie, nobody matched
    assert a["n_tied"] == 2
    # a5 has a blank element: cannot meet the exact rule
    assert a["n_unusable"] == 1
    assert a["share_from_matched"] == pytest.approx(1 / 5)
    assert rates.loc["all", "n_matched"] == 1
    assert rates.loc["B", "n_from"] == 0 and rates.loc["B", "n_matched"] == 0


def test_k_of_m_rule_recovers_one_wrong_element_and_blank():
    res = link_codes(HAND, ELEMENTS, rule="k_of_m", k=2)
    # a2 (one element wrong) and a5 (blank element, two agree) now match; the tie stays
    assert _pairs(res) == {("a1", "b1"), ("a2", "b2"), ("a5", "b5")}
    assert res.rates.set_index("org_id").loc["A", "n_tied"] == 2


def test_best_candidate_wins_over_weaker_one_and_input_unchanged():
    df = _frame(
        [
            ("a1", "A", "pre", "M", 3, 2),
            ("a2", "A", "pre", "M", 3, 4),  # agrees 2 of 3 with b1
            ("b1", "A", "post", "M", 3, 2),
        ]
    )
    before = df.copy()
    res = link_codes(df, ELEMENTS, rule="k_of_m", k=2)
    assert _pairs(res) == {("a1", "b1")}
    pd.testing.assert_frame_equal(df, before)
    assert "linked_id" not in df.columns


def test_chain_over_three_waves_shares_one_id():
    df = _frame(
        [
            ("x0", "A", "t0", "M", 3, 2),
            ("x1", "A", "t1", "M", 3, 2),
            ("x2", "A", "t2", "M", 3, 2),
            ("y2", "A", "t2", "Q", 5, 1),
        ]
    )
    res = link_codes(df, ELEMENTS, waves=["t0", "t1", "t2"])
    ids = res.linked.set_index("worker_id")["linked_id"]
    assert ids["x0"] == ids["x1"] == ids["x2"] == "x0"
    assert ids["y2"] == "y2"
    assert len(res.rates) == 4  # (t0,t1), (t1,t2) for org A, then two "all" rows


def test_single_code_column():
    df = pd.DataFrame(
        {
            "worker_id": [1, 2, 3, 4],
            "org_id": "A",
            "wave": ["pre", "pre", "post", "post"],
            "link_code": ["AB12", "CD34", "CD34", "ZZ99"],
        }
    )
    res = link_codes(df, ["link_code"])
    ids = res.linked.set_index("worker_id")["linked_id"]
    assert ids[3] == "2" and ids[4] == "4"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rule": "fuzzy"}, "rule must be one of"),
        ({"rule": "k_of_m"}, "needs k"),
        ({"rule": "k_of_m", "k": 4}, "at most the number of elements"),
        ({"rule": "exact", "k": 2}, "leave k=None"),
        ({"org_col": "agency"}, "no column 'agency'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(UsageError, match=match):
        link_codes(HAND, ELEMENTS, **kwargs)


def test_repeated_id_in_a_wave_is_refused():
    df = pd.concat([HAND, HAND.iloc[[0]]])
    with pytest.raises(UsageError, match="once per wave"):
        link_codes(df, ELEMENTS)


# --------------------------------------------------------------------------- simulation


SIM_ELEMENTS = ["mother_initial", "father_initial", "birth_month", "siblings"]
LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _draw_codes(rng, n, p_letter):
    return np.column_stack(
        [
            rng.choice(LETTERS, n, p=p_letter),
            rng.choice(LETTERS, n, p=p_letter),
            rng.integers(1, 13, n).astype(str),
            rng.choice(np.array(["0", "1", "2", "3", "4"]), n, p=[0.2, 0.35, 0.25, 0.12, 0.08]),
        ]
    ).astype(object)


def _population(rng, n_orgs=20, per_org=80, misremember=0.15, blank=0.03, turnover=0.15):
    """Two waves of SGIC answers; the true person behind each row is known (column person)."""
    p_letter = rng.dirichlet(np.full(26, 0.8))  # first letters of names are far from uniform
    rows = []
    person = 0
    for org in range(n_orgs):
        code = _draw_codes(rng, per_org, p_letter)
        for i in range(per_org):
            rows.append((f"p{person + i}", org, "pre", *code[i], person + i))
        for i in np.flatnonzero(rng.random(per_org) > turnover):
            c = code[i].copy()
            if rng.random() < misremember:  # one element answered differently
                j = rng.integers(4)
                c[j] = c[j] + "x"
            if rng.random() < blank:
                c[rng.integers(4)] = None
            rows.append((f"q{person + i}", org, "post", *c, person + i))
        person += per_org
        new = _draw_codes(rng, int(turnover * per_org), p_letter)
        for i in range(len(new)):
            rows.append((f"n{org}_{i}", org, "post", *new[i], -1))
    return pd.DataFrame(rows, columns=["worker_id", "org_id", "wave", *SIM_ELEMENTS, "person"])


def _accuracy(df, res):
    lk = res.linked
    pre = lk[lk["wave"] == "pre"].set_index("linked_id")["person"]
    post = lk[lk["wave"] == "post"].set_index("linked_id")["person"]
    both = pre.index.intersection(post.index)
    correct = int((pre[both].to_numpy() == post[both].to_numpy()).sum())
    n_true = int(df.loc[df["wave"] == "post", "person"].ge(0).sum())
    return correct / n_true, (len(both) - correct) / n_true, len(both)


def test_simulated_population_precision_and_recall():
    """15% misremember one element: about McGloin et al.'s 75% matched, 2.7% wrong."""
    rng = np.random.default_rng(20260)
    df = _population(rng)
    exact = link_codes(df, SIM_ELEMENTS, rule="exact")
    recall, wrong, n_linked = _accuracy(df, exact)
    # correct matches need an unchanged, complete, unique code: ~0.85 * 0.97 minus ties;
    # McGloin et al. (1996) matched 75.2% correctly and 2.7% wrongly
    assert 0.74 <= recall <= 0.88
    assert wrong <= 0.03
    assert exact.rates.set_index("org_id").loc["all", "n_matched"] == n_linked
    k3 = link_codes(df, SIM_ELEMENTS, rule="k_of_m", k=3)
    recall2, wrong2, _ = _accuracy(df, k3)
    # allowing one element to differ finds most of the misremembered codes ...
    assert recall2 >= 0.88 and recall2 > recall + 0.05
    # ... at the price of a few more wrong matches, still a small share
    assert wrong >= 0 and wrong2 <= 0.03


def test_linked_frame_feeds_the_paired_estimator():
    """link_codes -> within_change(worker="linked_id"): pairs = matches, change recovered."""
    from stseval.no_comparison import within_change

    rng = np.random.default_rng(11)
    df = _population(rng, n_orgs=10, per_org=60)
    level = pd.Series(rng.normal(0, 1, df["person"].max() + 1))
    df["score"] = np.where(df["person"] >= 0, df["person"].map(level), rng.normal(0, 1, len(df)))
    df["score"] += np.where(df["wave"] == "post", 0.5, 0.0) + rng.normal(0, 0.3, len(df))
    res = link_codes(df, SIM_ELEMENTS, rule="k_of_m", k=3)
    est = within_change(res.linked, worker="linked_id").iloc[0]
    assert est["n_workers"] == res.rates.set_index("org_id").loc["all", "n_matched"]
    assert abs(est["estimate"] - 0.5) < 3 * est["se"]
