"""The one verdict rule: boundary cases and the words built on it."""

import numpy as np
import pandas as pd
import pytest

from stseval.errors import UsageError
from stseval.verdict import (
    VERDICTS,
    add_verdicts,
    count_sentence,
    decide_verdict,
    verdict_badge,
    verdict_sentence,
)

# (estimate, ci_low, ci_high, p_adjusted, p_value, direction, expected)
CASES = [
    # lower is better (STS): negative, interval below zero, adjusted p below 0.05
    (-2.0, -3.0, -1.0, 0.049, 0.01, "lower", "improved"),
    # adjusted p just at / above the threshold: not clear, however small the raw p
    (-2.0, -3.0, -1.0, 0.05, 0.001, "lower", "unclear"),
    (-2.0, -3.0, -1.0, 0.0500001, 0.001, "lower", "unclear"),
    (-2.0, -3.0, -1.0, 0.08, 0.01, "lower", "unclear"),  # the supervision burnout
    # interval touching zero does not exclude it
    (-2.0, -4.0, 0.0, 0.01, 0.01, "lower", "unclear"),
    (2.0, 0.0, 4.0, 0.01, 0.01, "lower", "unclear"),
    # adjusted p below threshold but interval includes zero: the two must agree
    (-1.0, -2.0, 0.5, 0.03, 0.01, "lower", "unclear"),
    # worse: positive change where lower is better
    (2.0, 0.5, 3.5, 0.01, 0.01, "lower", "worsened"),
    (2.0, 0.5, 3.5, 0.09, 0.01, "lower", "unclear"),  # the issue's leaders' absence
    # higher is better mirrors
    (2.0, 0.5, 3.5, 0.01, 0.01, "higher", "improved"),
    (-2.0, -3.0, -1.0, 0.01, 0.01, "higher", "worsened"),
    (2.0, 0.0, 3.5, 0.01, 0.01, "higher", "unclear"),
    # missing pieces
    (np.nan, -3.0, -1.0, 0.01, 0.01, "lower", "not_estimable"),
    (-2.0, np.nan, -1.0, 0.01, 0.01, "lower", "not_estimable"),
    (-2.0, -3.0, np.nan, 0.01, 0.01, "lower", "not_estimable"),
    (-2.0, -3.0, -1.0, np.nan, np.nan, "lower", "not_estimable"),
    (-2.0, -1.0, -3.0, 0.01, 0.01, "lower", "not_estimable"),  # reversed bounds
    # adjusted p missing: unadjusted used
    (-2.0, -3.0, -1.0, np.nan, 0.01, "lower", "improved"),
    (-2.0, -3.0, -1.0, np.nan, 0.2, "lower", "unclear"),
]


@pytest.mark.parametrize(("est", "lo", "hi", "padj", "p", "direction", "expected"), CASES)
def test_decide_verdict_boundaries(est, lo, hi, padj, p, direction, expected):
    v = decide_verdict(est, lo, hi, padj, p_value=p, direction=direction)
    assert v.verdict == expected


def test_threshold_follows_confidence():
    args = (-2.0, -3.0, -1.0, 0.02)
    assert decide_verdict(*args, confidence=0.95).verdict == "improved"
    assert decide_verdict(*args, confidence=0.99).verdict == "unclear"


def test_unadjusted_fallback_is_reported():
    v = decide_verdict(-2.0, -3.0, -1.0, np.nan, p_value=0.01)
    assert not v.p_adjusted_used and v.p_used == 0.01
    assert "unadjusted p used" in v.reason
    w = decide_verdict(-2.0, -3.0, -1.0, 0.02, p_value=0.01)
    assert w.p_adjusted_used and w.p_used == 0.02 and "unadjusted" not in w.reason


def test_add_verdicts_matches_scalar_rule_and_keeps_input():
    rows = [
        dict(zip(["estimate", "ci_low", "ci_high", "p_adjusted", "p_value"], c[:5], strict=True))
        for c in CASES
    ]
    table = pd.DataFrame(rows)
    table["outcome"] = [
        "stss_total" if c[5] == "lower" else "compassion_satisfaction" for c in CASES
    ]
    before = table.copy()
    out = add_verdicts(table, reason=True)
    pd.testing.assert_frame_equal(table, before)
    assert list(out["verdict"]) == [c[6] for c in CASES]
    assert set(out["verdict"]) <= set(VERDICTS)
    assert out["verdict_reason"].str.len().min() > 0


def test_add_verdicts_random_agrees_with_scalar():
    rng = np.random.default_rng(5)
    n = 300
    est = rng.normal(0, 2, n)
    half = rng.uniform(0.1, 3, n)
    table = pd.DataFrame(
        {
            "estimate": est,
            "ci_low": est - half,
            "ci_high": est + half,
            "p_adjusted": rng.uniform(0, 0.2, n),
            "p_value": rng.uniform(0, 0.1, n),
        }
    )
    table.loc[::17, "p_adjusted"] = np.nan
    for direction in ("lower", "higher"):
        out = add_verdicts(table, direction=direction)
        scalar = [
            decide_verdict(
                r.estimate,
                r.ci_low,
                r.ci_high,
                r.p_adjusted,
                p_value=r.p_value,
                direction=direction,
            ).verdict
            for r in table.itertuples()
        ]
        assert list(out["verdict"]) == scalar


def test_add_verdicts_errors():
    with pytest.raises(UsageError, match="p_adjusted"):
        add_verdicts(pd.DataFrame({"estimate": [1.0], "ci_low": [0.0], "ci_high": [2.0]}))
    table = pd.DataFrame(
        {"estimate": [1.0], "ci_low": [0.0], "ci_high": [2.0], "p_adjusted": [0.01]}
    )
    with pytest.raises(UsageError, match="outcome"):
        add_verdicts(table)
    with pytest.raises(UsageError, match="confidence"):
        add_verdicts(table, direction="lower", confidence=95)
    with pytest.raises(UsageError, match="direction"):
        add_verdicts(table, direction="down")


def _row(est, lo, hi, padj, p=0.001, outcome="stss_total"):
    return {
        "outcome": outcome,
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "p_adjusted": padj,
        "p_value": p,
    }


def test_sentence_words_follow_the_verdict():
    improved = verdict_sentence(_row(-2.1, -3.4, -0.8, 0.004), label="STSS total")
    assert "clearly an improvement" in improved
    assert "\u22122.1 points (95% interval \u22123.4 to \u22120.8" in improved
    assert "adjusted p = 0.004" in improved
    not_adj = verdict_sentence(_row(-2.1, -3.4, -0.8, 0.08))
    assert "clearly" not in not_adj and "no clear change" in not_adj
    assert "adjusted p = 0.080" in not_adj
    worse = verdict_sentence(_row(2.1, 0.8, 3.4, 0.0004))
    assert "clearly a change for the worse" in worse and "adjusted p < 0.001" in worse
    touching = verdict_sentence(_row(-2.0, -4.0, 0.0, 0.01))
    assert "clearly" not in touching
    fallback = verdict_sentence(_row(-2.1, -3.4, -0.8, np.nan, 0.01))
    assert "not adjusted for multiple outcomes" in fallback
    missing = verdict_sentence({**_row(np.nan, np.nan, np.nan, np.nan), "note": "too few orgs"})
    assert "could not be estimated" in missing and "too few orgs" in missing


def test_sentence_only_says_clearly_for_clear_verdicts():
    rng = np.random.default_rng(11)
    for _ in range(200):
        est = rng.normal(0, 2)
        half = rng.uniform(0.1, 3)
        row = _row(
            est,
            est - half,
            est + half,
            rng.uniform(0, 0.1),
            outcome=rng.choice(["stss_total", "compassion_satisfaction"]),
        )
        v = decide_verdict(
            row["estimate"],
            row["ci_low"],
            row["ci_high"],
            row["p_adjusted"],
            direction="lower" if row["outcome"] == "stss_total" else "higher",
        )
        text = verdict_sentence(row)
        assert ("clearly" in text) == (v.verdict in ("improved", "worsened"))


def test_count_sentence_counts_adjusted_verdicts():
    table = pd.DataFrame(
        [
            _row(-2.0, -3.0, -1.0, 0.01),
            _row(-2.0, -3.0, -1.0, 0.08),  # clear unadjusted interval, adjusted p too big
            _row(2.0, 1.0, 3.0, 0.01),
            _row(np.nan, np.nan, np.nan, np.nan),
        ]
    )
    text = count_sentence(table)
    assert text.startswith(
        "Of 4 staff outcomes, 1 clearly improved, 1 clearly worsened, "
        "1 showed no clear change and 1 could not be estimated"
    )
    assert "adjusted p below 0.05" in text and "95% interval" in text


def test_verdict_badge():
    assert verdict_badge("improved").startswith("\u2713")
    assert "clearly" not in verdict_badge("unclear")
    assert {verdict_badge(v) for v in VERDICTS}.__len__() == 4
    with pytest.raises(UsageError, match="verdict must be"):
        verdict_badge("better")


def test_rci_rows_count_a_higher_share_of_improvers_as_better():
    """rci estimates are differences in the share of staff with a reliable improvement."""
    import pandas as pd

    from stseval.verdict import add_verdicts, verdict_sentence

    rows = pd.DataFrame(
        {
            "outcome": ["stss_total", "stss_total"],
            "estimator": ["rci", "ancova"],
            "estimate": [0.2, 0.2],
            "ci_low": [0.1, 0.1],
            "ci_high": [0.3, 0.3],
            "p_adjusted": [0.01, 0.01],
        }
    )
    assert add_verdicts(rows)["verdict"].tolist() == ["improved", "worsened"]
    assert "clearly an improvement" in verdict_sentence(rows.iloc[0].to_dict())
    assert "clearly a change for the worse" in verdict_sentence(rows.iloc[1].to_dict())


def test_unclear_sentence_says_which_condition_failed():
    from stseval.verdict import verdict_sentence

    row = {"outcome": "stss_total", "estimate": -2.0, "ci_low": -3.0, "ci_high": -1.0}
    adjusted_away = verdict_sentence({**row, "p_adjusted": 0.08})
    assert "no clear change" in adjusted_away and "interval excludes zero" in adjusted_away
    straddles = verdict_sentence({**row, "ci_high": 0.5, "p_adjusted": 0.03})
    assert straddles.endswith("; the interval includes zero.")
    chance = verdict_sentence({**row, "ci_high": 0.5, "p_adjusted": 0.3})
    assert "chance alone could explain" in chance
