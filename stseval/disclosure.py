"""Disclosure control across tables that share margins, proved by linear programming.

A report prints several tables about the same people: the participant flow, the arms,
attrition, outcome summaries. Suppressing small cells table by table is not enough: a hidden
count or mean often follows from shown ones by addition or subtraction across tables
(issue 12: "responded post 23, analysed 22" reveals a 1; the attrition table's hidden
leavers' mean follows from the outcome summary's mean of everybody). This module hides
cells until no such derivation is possible, and proves it the way an attacker would try.

Model
-----
Every row of every :class:`CellTable` is a *population* (a set of staff) identified by a
key: its values on ``dims`` plus ``fixed``; a dimension a table does not have is filled
with ``total`` (``"Total"``). Rows with the same key in different tables are the same
people. Each population has a count ``n`` and, for each measure, a sum ``S = mean * n``
(a mean is a linked cell: shown mean and shown count fix ``S``; a shown mean beside a
hidden count still gives the linear equation ``S - mean * n = 0``).

Additivity: within a table, a row whose value on a dimension is ``total`` equals the sum
of the rows that differ from it only on that dimension (counts and every measure's sum).
:class:`Relation` adds more (``total = sum(parts)``; one part means "the same people",
e.g. flow stage "responded post" = attrition status "stayed"). A remainder the report
never prints (e.g. "responded but not analysed") is given as a table with
``publish=False``: it is protected like any other cell.

Rules
-----
1. Primary: a published count ``1 <= n <= min_cell - 1`` is hidden (shown as "fewer than
   <min_cell>"), together with every mean of that population. Zeros stay visible.
2. What a reader knows (the attacker's linear system): every shown count and the
   equations above; a count shown as "fewer than <min_cell>" lies in ``[1, min_cell-1]``;
   a count shown as "not shown" (complementary) is at least ``min_cell``; unpublished
   counts are ``>= 0``; sums lie in ``[lo * n, hi * n]`` when ``value_ranges`` gives the
   measure's range, else are free.
3. Sensitive: every population whose true count is ``1..min_cell-1`` (published or not):
   its count and each of its sums. A sensitive count is protected when
   ``max n - min n >= count_protection`` over the reader's system (default 1: at least two
   whole numbers possible); a sensitive sum when ``max S - min S >= mean_protection *
   n_max`` and is not a single value (the mean can move by at least ``mean_protection``).
   Bounds are computed with the HiGHS simplex solver (highspy), minimizing and maximizing
   each sensitive quantity on two models kept between solves (warm starts). A quantity is
   also protected, without a linear program, when two optimal vertices already found for
   the reader's system (or a tighter one) differ in it by more than the protection needs
   (a certificate: its range is at least their difference).
4. Complementary: while a sensitive quantity is not protected, hide one more shown cell.
   Candidates are shown cells of populations connected to it through relations, ranked:
   for a count, counts before means; for a sum, means of the same measure, then counts,
   then other means; then nearest in the relation graph, non-totals before totals,
   smallest count first; zeros never. The first of the top four that protects it alone
   is hidden; if none does, the top one is hidden and the search goes on. Fail closed:
   when nothing is left to hide, :class:`DisclosureError` is raised, nothing returned.

This greedy search does not minimise information loss (Hundepool et al. 2012, ch. 4,
describe optimal methods); its guarantee is rule 3, checked exactly on the final tables.
Counts are treated as real numbers in the bounds (a linear relaxation), so a protected
count may in rare integer-constrained cases have fewer possible values than its range.

References
----------
Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley, ch. 4 (cell
suppression, the attacker's linear program). https://doi.org/10.1002/9781118348239
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stseval._disclosure_lp import LinearSystem, Model, build_model
from stseval.errors import StsevalError, UsageError
from stseval.formatting import format_count, format_number

__all__ = [
    "AUDIT_COLUMNS",
    "CellTable",
    "Relation",
    "DisclosureError",
    "ProtectedTables",
    "protect_tables",
    "other_org_bands",
    "write_disclosure_audit",
]

#: Columns of every disclosure audit (``disclosure_audit.csv``).
AUDIT_COLUMNS = ["table", "cell", "rule"]


class DisclosureError(StsevalError):
    """A disclosure check could not be satisfied; nothing may be written.

    Attributes
    ----------
    cells : list of str
        The cells (described, never with their values) that stay derivable.
    """

    def __init__(self, message: str, cells: Sequence[str] = ()):
        self.cells = list(cells)
        shown = "; ".join(self.cells[:10])
        super().__init__(message + (f": {shown}" if shown else ""))


@dataclass(frozen=True)
class CellTable:
    """One table of counts (and means) by group, as given to :func:`protect_tables`.

    Attributes
    ----------
    name : str
        Table name (used in the audit and as the key of the result).
    frame : DataFrame
        One row per population, unrounded values.
    dims : sequence of str
        Columns naming the population (e.g. ``("arm", "status")``); ``total`` in a dim
        marks the row that sums the others.
    count : str
        Column with the number of people.
    means : mapping column -> measure
        Mean columns and the measure each holds. The measure may use ``{column}``
        placeholders filled from the row (``"stss_{wave}"``). Two means of the same
        measure on the same population must be equal; a measure must be defined for every
        member of the population (use another name when a mean covers a subset).
    fixed : mapping dim -> value
        Dimensions with one value for the whole table (``{"stage": "responded_pre"}``).
    publish : bool
        False for populations the report never prints but a reader could derive (a
        remainder): they are protected, never returned.
    """

    name: str
    frame: pd.DataFrame
    dims: Sequence[str]
    count: str = "n"
    means: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    publish: bool = True


@dataclass(frozen=True)
class Relation:
    """``total`` population = sum of ``parts`` populations (one part: the same people).

    Keys are mappings dim -> value; dims left out are ``total``.
    """

    total: Mapping[str, Any]
    parts: Sequence[Mapping[str, Any]]


@dataclass
class ProtectedTables:
    """What :func:`protect_tables` returns.

    Attributes
    ----------
    tables : dict name -> DataFrame
        Published tables: copies with hidden counts and means set to NaN (float) and a
        ``note`` column naming what was hidden and why.
    display : dict name -> DataFrame
        The same tables as text for printing: counts as whole numbers, means with
        ``decimals`` places (Unicode minus), hidden primary counts ``"fewer than
        <min_cell>"``, other hidden cells ``"not shown"``.
    audit : DataFrame
        Columns ``table, cell, rule``: one row per hidden cell, one per protected
        unpublished population, one ``checked`` row per table. Never holds a value.
    """

    tables: dict[str, pd.DataFrame]
    display: dict[str, pd.DataFrame]
    audit: pd.DataFrame


def _check_positive_int(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise UsageError(f"{name} must be an integer of at least {low}, got {value!r}")
    return int(value)


def protect_tables(
    tables: Sequence[CellTable],
    *,
    min_cell: int = 5,
    relations: Sequence[Relation] = (),
    total: Any = "Total",
    value_ranges: Mapping[str, tuple[float, float]] | None = None,
    count_protection: float = 1.0,
    mean_protection: float = 0.0,
    decimals: int = 1,
) -> ProtectedTables:
    """Suppress small cells in tables that share margins so none can be worked out.

    Parameters
    ----------
    tables : sequence of CellTable
        Every table of the report that shows counts or means of the same people.
    min_cell : int
        Smallest count that may be shown (study.yaml ``min_cell``).
    relations : sequence of Relation
        Additivity beyond each table's own total rows (see the module docstring).
    total : scalar
        Label of total rows in every dimension.
    value_ranges : mapping measure -> (low, high), optional
        Possible range of one person's value (e.g. ``{"stss_pre": (17, 85)}``); bounds a
        reader would use. Measures not listed are unbounded.
    count_protection : float
        Smallest range a sensitive count must keep (people).
    mean_protection : float
        Smallest range a sensitive mean must keep (outcome units); 0 means any range.
    decimals : int
        Decimals of means in ``display``.

    Returns
    -------
    ProtectedTables
        See :class:`ProtectedTables`. The rules are in the module docstring.

    Raises
    ------
    DisclosureError
        A sensitive cell stays derivable after every shown cell that could protect it
        was hidden (fail closed).
    UsageError
        Bad arguments, a relation naming an unknown population, or numbers that do not
        add up (pass unrounded values).

    Examples
    --------
    The participant flow, attrition and outcome summary of one report (arms plus a
    ``Total`` row each); "responded post" is the attrition table's "stayed", and the
    responders who were not analysed are a remainder the report never prints::

        flow = CellTable("flow", flow_df, dims=["stage", "arm"])
        attrition = CellTable("attrition", attr_df, dims=["status", "arm"],
                              means={"baseline_mean": "stss_pre"},
                              fixed={"stage": "responded_pre"})
        summary = CellTable("summary", summ_df, dims=["stage", "arm"],
                            means={"mean": "stss_{wave}"})
        excluded = CellTable("excluded", excl_df, dims=["stage", "arm"],
                             means={"baseline_mean": "stss_pre"}, publish=False)
        relations = [r for arm in ["intervention", "comparison", "Total"] for r in (
            Relation({"stage": "responded_post", "arm": arm},
                     [{"stage": "responded_pre", "status": "stayed", "arm": arm}]),
            Relation({"stage": "responded_post", "arm": arm},
                     [{"stage": "analysed", "arm": arm}, {"stage": "excluded", "arm": arm}]),
        )]
        result = protect_tables([flow, attrition, summary, excluded], relations=relations,
                                min_cell=5, value_ranges={"stss_pre": (17, 85)},
                                mean_protection=1.0)
    """
    min_cell = _check_positive_int(min_cell, "min_cell", 2)
    if count_protection < 0 or mean_protection < 0:
        raise UsageError("count_protection and mean_protection must be non-negative")
    model = build_model(tables, relations=relations, total=total, value_ranges=value_ranges)
    system = LinearSystem(model, min_cell=min_cell)
    reasons = _primary(model, system, min_cell)
    _complementary(model, system, reasons, count_protection, mean_protection)
    return _render(model, system, reasons, min_cell, decimals)


def _primary(model: Model, system: LinearSystem, min_cell: int) -> dict[int, str]:
    """Hide published small counts and their means; return var -> reason."""
    reasons: dict[int, str] = {}
    for var in model.published_vars():
        key = model.var_key[var]
        if 0 < model.n_true[key] < min_cell:
            kind = "count" if model.is_count(var) else "mean"
            system.hide(var, primary=True)
            reasons[var] = (
                f"primary: count 1 to {min_cell - 1}, shown as 'fewer than {min_cell}'"
                if kind == "count"
                else f"primary: mean of fewer than {min_cell} people"
            )
    return reasons


def _complementary(
    model: Model, system: LinearSystem, reasons: dict[int, str], cp: float, mp: float
) -> None:
    """Rule 4: hide more shown cells until every sensitive quantity is protected.

    Hiding only removes equalities or loosens bounds, so a quantity once protected stays
    protected: each is checked until it passes, then never again.
    """
    system.check_feasible()
    protect = lambda v: system.is_protected(v, count_protection=cp, mean_protection=mp)
    for target in model.sensitive_vars(system.min_cell):
        while not protect(target):
            candidates = model.candidates(target, system.hidden)
            if not candidates:
                raise DisclosureError(
                    "cannot protect every small cell: nothing left to hide (refusing to publish)",
                    [model.describe(target)],
                )
            chosen = candidates[0]
            for cand in candidates[:4]:
                system.hide(cand)
                ok = protect(target)
                system.unhide(cand)
                if ok:
                    chosen = cand
                    break
            system.hide(chosen)
            reasons[chosen] = f"complementary: protects {model.describe(target)}"


def _render(
    model: Model, system: LinearSystem, reasons: dict[int, str], min_cell: int, decimals: int
) -> ProtectedTables:
    tables, display, audit = {}, {}, []
    for spec in model.tables:
        if not spec.publish:
            continue
        out, text, rows = _render_table(model, system, reasons, spec, min_cell, decimals)
        tables[spec.name], display[spec.name] = out, text
        audit += rows
        audit.append(
            (
                spec.name,
                "all cells",
                "checked: no small count or mean derivable "
                "by addition or subtraction across the tables given",
            )
        )
    for var in model.unpublished_sensitive(min_cell):
        audit.append(("(not published)", model.describe(var), "checked: not derivable"))
    frame = pd.DataFrame(audit, columns=AUDIT_COLUMNS)
    return ProtectedTables(tables=tables, display=display, audit=frame)


def _render_table(model, system, reasons, spec, min_cell, decimals):
    """One published table: values (hidden as NaN), text, and its audit rows."""
    out = spec.frame.copy()
    text = spec.frame.copy().astype(object)
    notes = [[] for _ in range(len(out))]
    position = {label: i for i, label in enumerate(out.index)}
    cols = [spec.count, *spec.means]
    values = {c: np.array(pd.to_numeric(out[c], errors="coerce"), dtype=float) for c in cols}
    shown_text = {c: text[c].tolist() for c in cols}
    audit = []
    for label, var, col in model.table_cells(spec.name):
        row = position[label]
        value = spec.frame.at[label, col]
        if col == spec.count:
            shown = format_count(value)
        else:
            shown = format_number(value, decimals=decimals)
        if var in system.hidden:
            values[col][row] = np.nan
            primary = reasons.get(var, "").startswith("primary: count")
            shown = f"fewer than {min_cell}" if primary else "not shown"
            notes[row].append(f"{col}: {shown}")
            audit.append(
                (
                    spec.name,
                    f"{model.describe_row(spec, label)}: {col}",
                    reasons.get(var, "hidden with another table's cell"),
                )
            )
        shown_text[col][row] = shown
    for c in cols:
        out[c] = pd.Series(values[c], index=out.index, dtype=float)
        text[c] = pd.Series(shown_text[c], index=text.index, dtype=object)
    out["note"] = ["; ".join(n) for n in notes]
    text["note"] = out["note"]
    return out, text, audit


def other_org_bands(
    values: Any,
    *,
    own: float | None = None,
    min_orgs: int = 10,
    decimals: int = 0,
    table: str = "other organizations",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Describe other organizations' values as a rounded band, never as order statistics.

    Rule: with fewer than ``min_orgs`` finite values nothing is shown. Otherwise the
    band is the middle half (25th to 75th percentile, numpy's linear interpolation)
    rounded *outward* to ``decimals`` places (down for the low edge, up for the high
    edge); an edge equal to any one organization's value moves one more step outward,
    so no printed number is an organization's own value.

    Parameters
    ----------
    values : array-like
        One value per *other* organization (never the reader's own).
    own : float, optional
        The reader's organization's value, to say where it sits.
    min_orgs : int
        Fewest other organizations a summary may describe (study.yaml ``min_orgs``).
    decimals : int
        Places of the band's edges (0: whole numbers).
    table : str
        Name written in the audit.

    Returns
    -------
    summary : DataFrame
        One row: ``shown`` (bool), ``n_orgs``, ``low``, ``high`` (NaN when not shown),
        ``position`` (``"below"``, ``"within"``, ``"above"`` the band, or ``""``) and
        ``text`` (the sentence to print).
    audit : DataFrame
        Columns ``table, cell, rule``.
    """
    min_orgs = _check_positive_int(min_orgs, "min_orgs", 2)
    _check_positive_int(decimals, "decimals", 0)
    arr = pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce")
    arr = arr[np.isfinite(arr.to_numpy(dtype=float))].to_numpy(dtype=float)
    n = int(arr.size)
    if n < min_orgs:
        row = dict(
            shown=False,
            n_orgs=n,
            low=np.nan,
            high=np.nan,
            position="",
            text=f"Not shown: fewer than {min_orgs} other organizations.",
        )
        rule = f"withheld: fewer than min_orgs ({min_orgs}) other organizations"
        return pd.DataFrame([row]), pd.DataFrame([(table, "band", rule)], columns=AUDIT_COLUMNS)
    low, high = _band(arr, decimals)
    position = ""
    if own is not None and np.isfinite(own):
        position = "below" if own < low else "above" if own > high else "within"
    lo_t, hi_t = format_number(low, decimals=decimals), format_number(high, decimals=decimals)
    text = f"The middle half of the {n} other organizations lies between {lo_t} and {hi_t}."
    if position:
        text += f" Yours is {position} that range."
    row = dict(shown=True, n_orgs=n, low=low, high=high, position=position, text=text)
    rule = "banded: quartiles rounded outward, edges never equal to one organization's value"
    return pd.DataFrame([row]), pd.DataFrame([(table, "band", rule)], columns=AUDIT_COLUMNS)


def _band(arr: np.ndarray, decimals: int) -> tuple[float, float]:
    """Quartiles rounded outward; an edge equal to any value moves one step further out."""
    step = 10.0**-decimals
    q1, q3 = np.quantile(arr, [0.25, 0.75])
    low = np.floor(round(q1 / step, 9)) * step
    high = np.ceil(round(q3 / step, 9)) * step
    while np.any(np.isclose(arr, low, rtol=0, atol=step * 1e-6)):
        low -= step
    while np.any(np.isclose(arr, high, rtol=0, atol=step * 1e-6)) or high <= low:
        high += step
    return float(round(low, decimals)), float(round(high, decimals))


def write_disclosure_audit(audit: Any, path: Any) -> Any:
    """Write ``disclosure_audit.csv`` (columns ``table, cell, rule``).

    Parameters
    ----------
    audit : DataFrame or sequence of DataFrames
        Audits from :func:`protect_tables`, :func:`other_org_bands` (concatenated).
    path : path
        A folder (the file is written as ``disclosure_audit.csv`` inside it) or a file.

    Returns
    -------
    pathlib.Path
        The file written (through :func:`stseval.privacy.safe_csv`).
    """
    from pathlib import Path

    from stseval._csvsafe import safe_csv

    frames = [audit] if isinstance(audit, pd.DataFrame) else list(audit)
    for f in frames:
        if not isinstance(f, pd.DataFrame) or list(f.columns) != AUDIT_COLUMNS:
            raise UsageError(f"each audit must be a DataFrame with columns {AUDIT_COLUMNS}")
    out = Path(path)
    if out.is_dir():
        out = out / "disclosure_audit.csv"
    combined = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=AUDIT_COLUMNS)
    )
    safe_csv(combined, out, index=False)
    return out
