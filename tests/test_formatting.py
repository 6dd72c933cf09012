"""Print formatting: Unicode minus, no negative zero, p-values never 0.000."""

import math

import numpy as np
import pytest

from stseval.errors import UsageError
from stseval.formatting import MINUS, format_count, format_interval, format_number, format_p


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (-1.25, 2, MINUS + "1.25"),
        (-1.26, 1, MINUS + "1.3"),
        (2.0, 1, "2.0"),
        (-0.0004, 3, "0.000"),  # rounds to zero: no sign
        (-0.04, 1, "0.0"),
        (-0.0, 2, "0.00"),
        (0.05, 0, "0"),
        (1234.5, 0, "1234"),  # half-to-even
        (-7, 0, MINUS + "7"),
    ],
)
def test_format_number(value, decimals, expected):
    assert format_number(value, decimals=decimals) == expected
    assert "-" not in format_number(value, decimals=decimals)


def test_format_number_missing_and_infinite():
    assert format_number(np.nan) == "\u2014"
    assert format_number(None, missing="n/a") == "n/a"
    assert format_number(-math.inf) == MINUS + "\u221e"


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0, "< 0.001"),
        (0.0009999, "< 0.001"),
        (0.001, "0.001"),
        (0.0014, "0.001"),
        (0.0496, "0.050"),
        (0.08, "0.080"),
        (0.9994, "0.999"),
        (0.9996, "> 0.999"),
        (1.0, "> 0.999"),
    ],
)
def test_format_p(p, expected):
    assert format_p(p) == expected


def test_format_p_never_prints_zero():
    for p in np.linspace(0, 1, 2001):
        text = format_p(p)
        assert text not in ("0.000", "1.000")
        assert len(text.split(".")[-1]) == 3


def test_format_p_rejects_out_of_range():
    with pytest.raises(UsageError, match="between 0 and 1"):
        format_p(1.2)
    with pytest.raises(UsageError, match="decimals"):
        format_p(0.5, decimals=-1)


def test_format_interval():
    assert format_interval(-1.23, -2.31, -0.08) == f"{MINUS}1.2 ({MINUS}2.3 to {MINUS}0.1)"
    assert format_interval(0.5, -0.04, 1.04, decimals=1) == "0.5 (0.0 to 1.0)"
    assert format_interval(np.nan, 1, 2) == "\u2014"
    assert format_interval(1.0, np.nan, 2) == "1.0 (interval not estimable)"


def test_format_count():
    assert format_count(23) == "23"
    assert format_count(3, min_cell=5) == "fewer than 5"
    assert format_count(0, min_cell=5) == "0"
    assert format_count(12345) == "12,345"
    with pytest.raises(UsageError, match="whole"):
        format_count(2.5)
