"""Agreement within groups: ICC(1)/ICC(2) and r_wg(j).

Private home of :func:`stseval.reliability.icc` and :func:`stseval.reliability.rwg`
(re-exported there); split out to keep modules small (issue 9).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._args import check_items, negligible_spread
from .errors import DataValidationError, UsageError

__all__ = ["ICC_COLUMNS", "RWG_COLUMNS", "icc", "rwg"]

#: One-row result of :func:`icc`.
ICC_COLUMNS = ["icc1", "icc2", "n_groups", "n", "mean_group_size", "f_value", "p_value", "method"]
#: One row per group from :func:`rwg`.
RWG_COLUMNS = ["group", "n", "k", "rwg", "mean_variance", "expected_variance", "truncated"]

# --------------------------------------------------------------------------- aggregation


def _as_series(values, name: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise UsageError(
                f"{name} must be one column; got a DataFrame with {values.shape[1]} columns"
            )
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        s = values
    else:
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise UsageError(f"{name} must be one-dimensional; got shape {arr.shape}")
        s = pd.Series(arr)
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise UsageError(f"{name} must be numeric; got dtype {s.dtype}")
    return s.astype(float)


def _align_groups(data, groups, name: str) -> pd.Series:
    """Return ``groups`` as a Series on ``data``'s index (positional unless both indexed)."""
    if isinstance(groups, pd.DataFrame):
        raise UsageError("groups must be one column (a Series or 1-D array), not a DataFrame")
    if isinstance(groups, pd.Series):
        if len(groups) != len(data):
            raise UsageError(f"groups has {len(groups)} values but {name} has {len(data)} rows")
        if isinstance(data, (pd.Series, pd.DataFrame)) and not groups.index.equals(data.index):
            raise UsageError(
                f"groups and {name} must share the same index (row labels); "
                "reset both indexes or pass groups as an array"
            )
        return pd.Series(groups.to_numpy(), index=data.index)
    arr = np.asarray(groups, dtype=object)
    if arr.ndim != 1 or len(arr) != len(data):
        raise UsageError(
            f"groups must be 1-D with one label per row of {name} "
            f"({len(data)}); got shape {arr.shape}"
        )
    return pd.Series(list(groups), index=data.index)


def icc(scores, groups) -> pd.DataFrame:
    """ICC(1) and ICC(2) of scores nested in groups (teams, organisations).

    Parameters
    ----------
    scores : pandas.Series or 1-D array-like
        Individual scores.
    groups : pandas.Series or 1-D array-like
        Group label of each score (same length; if both are Series they must
        share the index).

    Returns
    -------
    pandas.DataFrame
        One row (:data:`ICC_COLUMNS`):

        ``icc1``  ``(MSB - MSW) / (MSB + (k0 - 1) MSW)``, share of variance
        between groups.
        ``icc2``  ``(MSB - MSW) / MSB``, reliability of the group means.
        ``n_groups``  J, groups with at least one score.
        ``n``  N, scores used.
        ``mean_group_size``  ``k0 = (N - sum n_j^2 / N) / (J - 1)``, the
        adjusted average group size (equals n_j when balanced).
        ``f_value``, ``p_value``  one-way ANOVA ``F = MSB/MSW`` on
        ``(J-1, N-J)`` degrees of freedom.
        ``method``  text.

    Notes
    -----
    Rows with a missing score or group are dropped. Negative values are
    reported as computed (they mean no between-group variance). Needs at
    least 2 groups and N > J.

    Tests check a hand-computed balanced 3 x 3 example and a simulation with
    ICC(1) = 0.1 (200 groups of 10).

    References
    ----------
    Bliese, P. D. (2000). Within-group agreement, non-independence, and
    reliability. In K. J. Klein & S. W. J. Kozlowski (Eds.), Multilevel theory,
    research, and methods in organizations (pp. 349-381). Jossey-Bass.

    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in
    assessing rater reliability. Psychological Bulletin, 86, 420-428.
    https://doi.org/10.1037/0033-2909.86.2.420
    """
    s = _as_series(scores, "scores")
    g = _align_groups(s, groups, "scores")
    keep = s.notna() & g.notna()
    s, g = s[keep], g[keep]
    n = len(s)
    sizes = s.groupby(g, sort=False).size()
    j = len(sizes)
    if j < 2:
        raise UsageError(f"icc needs scores in at least 2 groups; got {j}")
    if n <= j:
        raise UsageError(
            f"icc needs more scores than groups (some group with 2+ members); "
            f"got {n} scores in {j} groups"
        )
    means = s.groupby(g, sort=False).mean()
    grand = s.mean()
    ssb = float((sizes * (means - grand) ** 2).sum())
    ssw = float(((s - g.map(means)) ** 2).sum())
    msb, msw = ssb / (j - 1), ssw / (n - j)
    k0 = (n - float((sizes**2).sum()) / n) / (j - 1)
    if negligible_spread(np.sqrt(msw), s):  # no spread within groups, up to rounding
        msw = 0.0
    if negligible_spread(np.sqrt(msb), s):
        msb = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        icc1 = (msb - msw) / (msb + (k0 - 1) * msw) if (msb + (k0 - 1) * msw) > 0 else np.nan
        icc2 = (msb - msw) / msb if msb > 0 else np.nan
        f = msb / msw if msw > 0 else (np.inf if msb > 0 else np.nan)
    p = float(stats.f.sf(f, j - 1, n - j)) if np.isfinite(f) else (0.0 if f == np.inf else np.nan)
    method = "one-way ANOVA; ICC(1), ICC(2) (Bliese 2000), k0-adjusted group size"
    return pd.DataFrame(
        [[float(icc1), float(icc2), j, n, k0, float(f), p, method]], columns=ICC_COLUMNS
    )


def rwg(items_or_scores, groups, *, n_options: int) -> pd.DataFrame:
    """Within-group agreement r_wg (one item) or r_wg(J) (J items) per group.

    Parameters
    ----------
    items_or_scores : pandas.DataFrame, pandas.Series or 1-D array-like
        Ratings on a Likert-type item (Series/array or one-column frame) or
        several parallel items (DataFrame, reverse-keyed).
    groups : pandas.Series or 1-D array-like
        Group label per row (same length; if both are pandas objects they
        must share the index).
    n_options : int
        Number of response options A (e.g. 5 for a 1-5 scale).

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted by group label (:data:`RWG_COLUMNS`):

        ``group``  label.
        ``n``  rows in the group with every item answered.
        ``k``  number of items J.
        ``rwg``  ``1 - s2 / sigma2_EU`` for one item,
        ``J (1 - s2/sigma2_EU) / (J (1 - s2/sigma2_EU) + s2/sigma2_EU)`` for J
        items, where ``s2`` is the observed variance (``ddof=1``), averaged
        over items.
        ``mean_variance``  ``s2``.
        ``expected_variance``  ``sigma2_EU = (A^2 - 1) / 12``, the variance of
        a discrete uniform ("no agreement") distribution over A options.
        ``truncated``  True where ``s2 > sigma2_EU`` and ``rwg`` was set to 0.

    Notes
    -----
    When the observed variance exceeds the uniform null variance the formulas
    give values below 0 (or, for r_wg(J), outside [0, 1]); as is customary
    (James et al., 1984; Lindell & Brandt, 1997) these are set to 0 and
    flagged in ``truncated``. Groups with fewer than 2 complete rows get NaN.
    Rows with a missing group or item are dropped. An item whose observed
    spread (max - min) exceeds ``n_options - 1`` cannot come from an
    A-option scale and raises :class:`~stseval.errors.DataValidationError`.

    Tests check the hand example [3, 3, 4, 4, 3] on a 5-point scale, a
    two-item group and truncation.

    References
    ----------
    James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group
    interrater reliability with and without response bias. Journal of Applied
    Psychology, 69, 85-98. https://doi.org/10.1037/0021-9010.69.1.85

    Lindell, M. K., & Brandt, C. J. (1997). Measuring interrater agreement for
    ratings of a single target. Applied Psychological Measurement, 21,
    271-278. https://doi.org/10.1177/01466216970213006
    """
    if isinstance(n_options, bool) or not isinstance(n_options, (int, np.integer)) or n_options < 2:
        raise UsageError(
            f"n_options must be an integer of at least 2 (number of response "
            f"options); got {n_options!r}"
        )
    if isinstance(items_or_scores, pd.DataFrame):
        frame = check_items(items_or_scores, min_items=1, name="items_or_scores")
    else:
        frame = _as_series(items_or_scores, "items_or_scores").to_frame("score")
    g = _align_groups(frame, groups, "items_or_scores")
    spread = frame.max() - frame.min()
    bad = [str(c) for c in frame.columns if spread[c] > n_options - 1 + 1e-9]
    if bad:
        raise DataValidationError(
            [
                {
                    "file": "",
                    "column": c,
                    "rows": "",
                    "problem": f"answers span more than the {n_options} response options "
                    f"(max - min = {spread[c]:g})",
                }
                for c in bad
            ],
            title="rwg: ratings do not fit n_options",
        )
    keep = frame.notna().all(axis=1) & g.notna()
    frame, g = frame[keep], g[keep]
    k = frame.shape[1]
    sigma2 = (n_options**2 - 1) / 12.0
    rows = []
    for label, sub in frame.groupby(g, sort=True):
        m = len(sub)
        if m < 2:
            rows.append([label, m, k, np.nan, np.nan, sigma2, False])
            continue
        s2 = float(sub.var(ddof=1).mean())
        ratio = s2 / sigma2
        truncated = ratio > 1
        if truncated:
            value = 0.0
        elif k == 1:
            value = 1.0 - ratio
        else:
            value = k * (1.0 - ratio) / (k * (1.0 - ratio) + ratio)
        rows.append([label, m, k, float(value), s2, sigma2, bool(truncated)])
    return pd.DataFrame(rows, columns=RWG_COLUMNS)
