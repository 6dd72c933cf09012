"""Printable views of the reliability and one-factor tables (``psychometrics.ipynb``).

The numbers come from :func:`stseval.report.reliability_table` and
:func:`stseval.factor.one_factor_check`; these functions only choose and format columns so
that the tables fit a page: each statistic with its interval in one column, whole-number
counts, three decimals for fit indices.
"""

from __future__ import annotations

import pandas as pd

from .formatting import format_interval, format_number

__all__ = ["reliability_view", "factor_check_view"]


def _intervals(est, low, high, decimals: int) -> list[str]:
    return [
        format_interval(e, lo, hi, decimals=decimals)
        for e, lo, hi in zip(est, low, high, strict=True)
    ]


def reliability_view(table: pd.DataFrame, *, decimals: int = 2) -> pd.DataFrame:
    """The reliability table as printed.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`stseval.report.reliability_table`.
    decimals : int
        Places of alpha and omega.

    Returns
    -------
    DataFrame
        ``scale, items, staff, alpha (interval), omega (interval), published alpha``:
        alpha with its Feldt interval and omega with its bootstrap interval as text
        (``"0.94 (0.92 to 0.95)"``; ``"(interval not estimable)"`` without resamples).
    """
    t = table
    return pd.DataFrame(
        {
            "scale": t["scale"].to_numpy(),
            "items": t["k"].to_numpy(),
            "staff": t["n"].to_numpy(),
            "alpha (interval)": _intervals(
                t["alpha"], t["alpha_ci_low"], t["alpha_ci_high"], decimals
            ),
            "omega (interval)": _intervals(
                t["omega"], t["omega_ci_low"], t["omega_ci_high"], decimals
            ),
            "published alpha": [
                format_number(v, decimals=decimals, missing="") for v in t["alpha_published"]
            ],
        }
    )


def factor_check_view(fit: pd.DataFrame) -> pd.DataFrame:
    """The one-factor check as printed.

    Parameters
    ----------
    fit : DataFrame
        Rows of :func:`stseval.factor.one_factor_check`.

    Returns
    -------
    DataFrame
        ``scale, items, staff, CFI, RMSEA, SRMR`` (three decimals; blank when not
        defined, e.g. a just-identified 3-item scale), ``smallest loading`` (two
        decimals), ``largest residual correlations`` and ``note``.
    """
    three = lambda col: [format_number(v, decimals=3, missing="") for v in fit[col]]
    return pd.DataFrame(
        {
            "scale": fit["scale"].to_numpy(),
            "items": fit["k"].to_numpy(),
            "staff": fit["n"].to_numpy(),
            "CFI": three("cfi"),
            "RMSEA": three("rmsea"),
            "SRMR": three("srmr"),
            "smallest loading": [format_number(v, decimals=2) for v in fit["min_loading"]],
            "largest residual correlations": fit["largest_residuals"].to_numpy(),
            "note": fit["note"].to_numpy(),
        }
    )
