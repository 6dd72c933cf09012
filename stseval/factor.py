"""Does each scale hold together? A one-factor confirmatory check per scale.

For every scale of an inventory (or any named groups of item columns) a
one-factor model is fitted by maximum likelihood to the items' correlation
matrix, and three kinds of evidence are reported:

* standardized loadings (:func:`one_factor_loadings`): how strongly each item
  reflects the common factor;
* global fit (:func:`one_factor_check`): the ML chi-square, RMSEA, CFI and
  SRMR;
* local fit: the largest residual correlations (observed minus implied
  correlation), which point at pairs of items sharing something the single
  factor does not explain (a second factor, similar wording).

Conventional rough guides (Hu & Bentler, 1999): SRMR <= 0.08 and RMSEA <= 0.06
suggest adequate fit, residual correlations above 0.10 deserve a look. They are
guides, not tests: with many respondents small misfit is significant, with few
the indices are noisy. A scale of three items is just identified (df = 0): its
loadings are reported but the fit indices are not defined.

Formulas (p items, n complete rows, sample correlation matrix R, fitted
Sigma = lambda lambda' + diag(psi)):

* ``F = log|Sigma| - log|R| + tr(R Sigma^-1) - p``; ``chi2 = (n - 1) F``
  on ``df = p (p - 3) / 2``; ``p_value`` from the chi-square distribution;
* ``RMSEA = sqrt(max(chi2 - df, 0) / (df (n - 1)))`` (Steiger, 1990);
* ``CFI = 1 - max(chi2 - df, 0) / max(chi2_0 - df_0, chi2 - df, 0)`` against
  the independence model (``chi2_0 = -(n - 1) log|R|``, ``df_0 = p (p - 1) / 2``);
* ``SRMR = sqrt(mean over i <= j of (r_ij - sigma_ij)^2)`` on the correlation
  scale (Bentler's definition; the diagonal residuals are zero at the ML
  solution but count in the mean, as in lavaan).

The ML fit is :func:`stseval.reliability` 's one-factor fit (the one behind
omega; Joreskog, 1967). Missing data: listwise deletion per scale.

References
----------
Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance
structure analysis. *Structural Equation Modeling*, 6(1), 1-55.
doi:10.1080/10705519909540118
Steiger, J. H. (1990). Structural model evaluation and modification: an interval
estimation approach. *Multivariate Behavioral Research*, 25(2), 173-180.
doi:10.1207/s15327906mbr2502_4
Joreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis.
*Psychometrika*, 32, 443-482. doi:10.1007/BF02289658
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .errors import UsageError
from .reliability import _ml_one_factor

__all__ = ["FIT_COLUMNS", "LOADING_COLUMNS", "one_factor_check", "one_factor_loadings"]

#: One row per scale from :func:`one_factor_check`.
FIT_COLUMNS = [
    "scale",
    "n",
    "k",
    "chi2",
    "df",
    "p_value",
    "rmsea",
    "cfi",
    "srmr",
    "min_loading",
    "max_abs_residual",
    "largest_residuals",
    "note",
]
#: One row per item from :func:`one_factor_loadings`.
LOADING_COLUMNS = ["scale", "item", "loading", "uniqueness", "max_abs_residual", "n"]


def _scales(items: pd.DataFrame, scales, instrument) -> dict[str, list[str]]:
    if instrument is not None:
        from .instruments import Instrument, item_column, load_instrument

        inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
        scales = {
            name: [item_column(inst.key, i, inst.n_items) for i in s.items]
            for name, s in inst.scales.items()
            if scales is None or name in scales
        }
    if scales is None:
        raise UsageError("pass scales={name: [item columns]} or instrument=<key>")
    if not isinstance(scales, dict) or not scales:
        raise UsageError(f"scales must be a non-empty dict of name -> item columns; got {scales!r}")
    out = {}
    for name, cols in scales.items():
        cols = list(cols)
        missing = [c for c in cols if c not in items.columns]
        if missing:
            raise UsageError(
                f"scale {name!r}: items has no column {', '.join(map(repr, missing[:5]))}; "
                f"its columns include {', '.join(map(str, items.columns[:8]))}"
            )
        if len(cols) < 3:
            raise UsageError(
                f"scale {name!r} needs at least 3 items for a factor model; got {cols}"
            )
        out[str(name)] = cols
    return out


def _reverse(items: pd.DataFrame, instrument) -> pd.DataFrame:
    """Reverse-key an instrument's reverse items (min + max - x); a copy."""
    if instrument is None:
        return items
    from .instruments import Instrument, item_column, load_instrument

    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    out = items.copy()
    lo, hi = inst.response.min, inst.response.max
    for number in inst.reverse_items:
        col = item_column(inst.key, number, inst.n_items)
        if col in out:
            out[col] = lo + hi - pd.to_numeric(out[col], errors="coerce")
    return out


def _fit(x: np.ndarray) -> dict:
    """One-factor ML fit of a complete (n x p) array: loadings, residuals and fit indices."""
    n, p = x.shape
    r = np.corrcoef(x, rowvar=False)
    lam, psi, heywood = _ml_one_factor(r)
    sigma = np.outer(lam, lam) + np.diag(psi)
    resid = r - sigma
    _, logdet_s = np.linalg.slogdet(sigma)
    _, logdet_r = np.linalg.slogdet(r)
    F = max(logdet_s - logdet_r + np.trace(r @ np.linalg.inv(sigma)) - p, 0.0)
    chi2, df = (n - 1) * F, p * (p - 3) / 2
    chi2_0, df_0 = -(n - 1) * logdet_r, p * (p - 1) / 2
    low = np.tril_indices(p)
    fit = dict(n=n, k=p, chi2=chi2, df=df, lam=lam, psi=psi, resid=resid, heywood=heywood)
    fit["srmr"] = float(np.sqrt(np.mean(resid[low] ** 2)))
    if df > 0:
        fit["p_value"] = float(stats.chi2.sf(chi2, df))
        fit["rmsea"] = float(np.sqrt(max(chi2 - df, 0.0) / (df * (n - 1))))
        den = max(chi2_0 - df_0, chi2 - df, 0.0)
        fit["cfi"] = float(1 - max(chi2 - df, 0.0) / den) if den > 0 else 1.0
    return fit


def _complete(items: pd.DataFrame, cols, name) -> np.ndarray:
    x = items[cols].apply(pd.to_numeric, errors="coerce").dropna().to_numpy(float)
    if len(x) < len(cols) + 2:
        raise UsageError(f"scale {name!r}: only {len(x)} complete rows for {len(cols)} items")
    return x


def _fits(items, scales, instrument):
    if not isinstance(items, pd.DataFrame):
        raise UsageError(f"items must be a pandas DataFrame; got {type(items).__name__}")
    groups = _scales(items, scales, instrument)
    data = _reverse(items, instrument)
    out = {}
    for name, cols in groups.items():
        x = _complete(data, cols, name)
        if (
            np.any(x.std(axis=0) == 0)
            or np.linalg.eigvalsh(np.corrcoef(x, rowvar=False))[0] < 1e-10
        ):
            out[name] = (cols, None)
        else:
            out[name] = (cols, _fit(x))
    return out


def one_factor_check(items, *, scales=None, instrument=None, n_residuals: int = 3) -> pd.DataFrame:
    """One-factor ML fit per scale: chi-square, RMSEA, CFI, SRMR and largest residuals.

    Parameters
    ----------
    items : DataFrame
        One row per respondent, item columns (e.g. ``responses.csv`` rows).
    scales : dict of str -> list of str, optional
        Scale name -> item columns (at least 3). With ``instrument``, a list or
        dict restricting which of its scales to check.
    instrument : str or Instrument, optional
        Take the scales from an instrument definition (``"org_guidance"``); its
        reverse-keyed items are reversed first.
    n_residuals : int
        How many of the largest residual correlations to list.

    Returns
    -------
    DataFrame with :data:`FIT_COLUMNS`, one row per scale: ``n`` complete rows,
    ``k`` items, ``chi2``, ``df``, ``p_value``, ``rmsea``, ``cfi`` (NaN when
    df = 0), ``srmr``, ``min_loading``, ``max_abs_residual``,
    ``largest_residuals`` (``"item_a~item_b: +0.123; ..."``) and ``note``
    (Heywood case, just-identified scale, singular correlations).

    Tests check recovery of known loadings, SRMR against a hand computation,
    and that two-factor data is flagged.
    """
    rows = []
    for name, (cols, fit) in _fits(items, scales, instrument).items():
        row = dict(scale=name, k=len(cols))
        if fit is None:
            row["note"] = "not fitted: an item has no variance or the correlations are singular"
            rows.append(row)
            continue
        resid = fit["resid"]
        iu = np.triu_indices(len(cols), 1)
        order = np.argsort(-np.abs(resid[iu]))[: int(n_residuals)]
        listed = "; ".join(f"{cols[iu[0][o]]}~{cols[iu[1][o]]}: {resid[iu][o]:+.3f}" for o in order)
        notes = []
        if fit["df"] == 0:
            notes.append("3 items: just identified, fit indices not defined")
        if fit["heywood"]:
            notes.append("Heywood case: an item's uniqueness is at its lower bound")
        row.update(
            {k: fit.get(k, np.nan) for k in ("n", "chi2", "df", "p_value", "rmsea", "cfi")},
            srmr=fit["srmr"],
            min_loading=float(fit["lam"].min()),
            max_abs_residual=float(np.abs(resid[iu]).max()),
            largest_residuals=listed,
            note="; ".join(notes),
        )
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=FIT_COLUMNS)
    for col in ("largest_residuals", "note"):
        out[col] = out[col].astype(object).fillna("").astype(str)
    return out


def one_factor_loadings(items, *, scales=None, instrument=None) -> pd.DataFrame:
    """Standardized one-factor ML loadings per item (same fit as :func:`one_factor_check`).

    Returns
    -------
    DataFrame with :data:`LOADING_COLUMNS`: ``loading`` (standardized; the
    factor's sign makes the loadings sum positive), ``uniqueness`` (1 -
    loading^2 at the ML solution), ``max_abs_residual`` (the item's largest
    absolute residual correlation with another item of its scale), ``n``.
    """
    rows = []
    for name, (cols, fit) in _fits(items, scales, instrument).items():
        for j, col in enumerate(cols):
            row = dict(scale=name, item=col)
            if fit is not None:
                r = np.abs(np.delete(fit["resid"][j], j))
                row.update(
                    loading=fit["lam"][j],
                    uniqueness=fit["psi"][j],
                    max_abs_residual=r.max(),
                    n=fit["n"],
                )
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=LOADING_COLUMNS)
