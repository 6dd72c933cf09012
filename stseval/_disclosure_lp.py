"""The linear model behind :mod:`stseval.disclosure`: populations, relations, attacker's LP.

Variables are one count ``n`` per population (key) and one sum ``S`` per population and
measure. :class:`LinearSystem` holds what a reader of the published tables knows and bounds
any variable with the HiGHS simplex solver (highspy) on models kept between solves
(:mod:`stseval._disclosure_highs`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stseval._disclosure_highs import INF, OPTIMAL, UNBOUNDED, Kept, Vertices, constraints
from stseval.errors import UsageError

__all__ = ["Model", "LinearSystem", "build_model"]

_TOL = 1e-7
#: Relative margin by which a certificate must clear a protection threshold.
_MARGIN = 1e-5


def _norm(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class Model:
    """Populations (keys), variables, true values, published cells and relations."""

    def __init__(self, tables: Sequence, dims: list[str], total: str):
        self.tables = list(tables)
        self.dims = dims
        self.total = total
        self.keys: list[tuple] = []
        self.key_index: dict[tuple, int] = {}
        self.n_true: list[float] = []
        self.var_key: list[int] = []
        self.var_measure: list[str | None] = []
        self.count_var: dict[int, int] = {}
        self.sum_var: dict[tuple[int, str], int] = {}
        self.mean_true: dict[int, float] = {}
        self.cells: dict[str, list[tuple[Any, int, str]]] = {}
        self.relations: list[tuple[int, list[int]]] = []
        self.value_ranges: dict[str, tuple[float, float]] = {}
        self.row_keys: dict[str, dict[Any, int]] = {}

    # ----------------------------------------------------------------- building
    def key_of(self, mapping: Mapping[str, Any]) -> tuple:
        return tuple(_norm(mapping.get(d, self.total)) for d in self.dims)

    def add_key(self, key: tuple, n: float | None, where: str) -> int:
        if key not in self.key_index:
            self.key_index[key] = len(self.keys)
            self.keys.append(key)
            self.n_true.append(np.nan)
            self._new_var(self.key_index[key], None)
        k = self.key_index[key]
        if n is not None:
            old = self.n_true[k]
            if not np.isnan(old) and old != n:
                raise UsageError(
                    f"{where}: {self.describe_key(k)} has count {n:g} here but another "
                    "table gives a different count for the same people"
                )
            self.n_true[k] = n
        return k

    def _new_var(self, k: int, measure: str | None) -> int:
        var = len(self.var_key)
        self.var_key.append(k)
        self.var_measure.append(measure)
        if measure is None:
            self.count_var[k] = var
        else:
            self.sum_var[(k, measure)] = var
        return var

    def sum_of(self, k: int, measure: str) -> int:
        var = self.sum_var.get((k, measure))
        return self._new_var(k, measure) if var is None else var

    def set_mean(self, var: int, mean: float, where: str) -> None:
        old = self.mean_true.get(var)
        if old is not None and not math.isclose(old, mean, rel_tol=1e-9, abs_tol=1e-9):
            raise UsageError(f"{where}: two different means given for {self.describe(var)}")
        self.mean_true[var] = mean

    # ----------------------------------------------------------------- queries
    def is_count(self, var: int) -> bool:
        return self.var_measure[var] is None

    def describe_key(self, k: int) -> str:
        parts = [f"{d}={v}" for d, v in zip(self.dims, self.keys[k], strict=True)]
        shown = [p for p, v in zip(parts, self.keys[k], strict=True) if v != self.total]
        return ", ".join(shown) or "everyone"

    def describe(self, var: int) -> str:
        what = "count" if self.is_count(var) else f"mean of {self.var_measure[var]}"
        return f"{self.describe_key(self.var_key[var])}: {what}"

    def describe_row(self, spec, label) -> str:
        k = self.row_keys[spec.name][label]
        return self.describe_key(k)

    def table_cells(self, name: str) -> list[tuple[Any, int, str]]:
        return self.cells[name]

    def published_vars(self) -> list[int]:
        return sorted({v for cells in self.cells.values() for _, v, _ in cells})

    def sensitive_vars(self, min_cell: int) -> list[int]:
        small = {k for k, n in enumerate(self.n_true) if 0 < n < min_cell}
        return [v for v, k in enumerate(self.var_key) if k in small]

    def unpublished_sensitive(self, min_cell: int) -> list[int]:
        published = set(self.published_vars())
        return [v for v in self.sensitive_vars(min_cell) if v not in published]

    def _distances(self, start: int) -> dict[int, int]:
        adj: dict[int, set[int]] = {}
        for t, parts in self.relations:
            group = [t, *parts]
            for k in group:
                adj.setdefault(k, set()).update(group)
        dist, queue = {start: 0}, deque([start])
        while queue:
            k = queue.popleft()
            for j in adj.get(k, ()):
                if j not in dist:
                    dist[j] = dist[k] + 1
                    queue.append(j)
        return dist

    def candidates(self, target: int, hidden: set[int]) -> list[int]:
        """Shown published cells that could protect ``target``, best first."""
        dist = self._distances(self.var_key[target])
        totals = {t for t, _ in self.relations}
        measure = self.var_measure[target]
        ranked = []
        for var in self.published_vars():
            k = self.var_key[var]
            if var in hidden or k not in dist or var == target:
                continue
            if self.n_true[k] == 0:
                continue
            m = self.var_measure[var]
            # a count is best protected by hiding counts, a sum by hiding means of the
            # same measure; means also pin counts (sum = mean * n), so all are candidates
            if measure is None:
                kind = 0 if m is None else 1
            else:
                kind = 0 if m == measure else 1 if m is None else 2
            ranked.append((kind, dist[k], k in totals, self.n_true[k], var))
        return [r[-1] for r in sorted(ranked)]


def _row_measure(template: str, row: Mapping, where: str) -> str:
    try:
        return template.format(**{str(c): _norm(v) for c, v in row.items()})
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(f"{where}: measure {template!r} names an unknown column") from exc


def _check_spec(spec) -> None:
    if not isinstance(spec.frame, pd.DataFrame):
        raise UsageError(f"table {spec.name!r}: frame must be a DataFrame")
    if not spec.frame.index.is_unique:
        raise UsageError(f"table {spec.name!r}: the frame's index must be unique")
    need = [*spec.dims, spec.count, *spec.means]
    absent = [c for c in need if c not in spec.frame.columns]
    if absent:
        raise UsageError(
            f"table {spec.name!r} lacks column(s) {absent} (columns: {list(spec.frame.columns)})"
        )
    counts = pd.to_numeric(spec.frame[spec.count], errors="coerce")
    if counts.isna().any() or (counts < 0).any() or (counts != counts.round()).any():
        raise UsageError(
            f"table {spec.name!r}, column {spec.count!r}: counts must be whole numbers >= 0"
        )


def _add_table(model: Model, spec) -> None:
    _check_spec(spec)
    where = f"table {spec.name!r}"
    model.cells[spec.name] = cells = []
    model.row_keys[spec.name] = row_keys = {}
    means = {  # each value read as pd.to_numeric reads it alone
        col: pd.to_numeric(pd.Series(spec.frame[col].tolist(), dtype=object), errors="coerce")
        for col in spec.means
    }
    records = spec.frame.to_dict("records")
    for i, (label, row) in enumerate(zip(spec.frame.index, records, strict=True)):
        key = model.key_of({**{d: row[d] for d in spec.dims}, **spec.fixed})
        k = model.add_key(key, float(row[spec.count]), where)
        row_keys[label] = k
        cells.append((label, model.count_var[k], spec.count))
        for col, template in spec.means.items():
            var = model.sum_of(k, _row_measure(template, row, where))
            mean = means[col].iloc[i]
            if pd.notna(mean):
                model.set_mean(var, float(mean), where)
                cells.append((label, var, col))
    if not spec.publish:
        del model.cells[spec.name]


def _table_relations(model: Model, spec) -> list[tuple[int, list[int]]]:
    keys = model.row_keys[spec.name]
    out = []
    for d in spec.dims:
        j = model.dims.index(d)
        for k in set(keys.values()):
            key = model.keys[k]
            if key[j] != model.total:
                continue
            parts = sorted(
                {
                    q
                    for q in keys.values()
                    if model.keys[q][j] != model.total
                    and all(
                        a == b
                        for i, (a, b) in enumerate(zip(model.keys[q], key, strict=True))
                        if i != j
                    )
                }
            )
            if parts:
                out.append((k, parts))
    return out


def _close_measures(model: Model) -> None:
    """Give every population in a relation every measure any of them has (rule: closure).

    Measures are added in sorted order, so the variables' numbering (and the order of
    the audit) does not depend on the order of a set of strings."""
    measures_of: dict[int, set[str]] = {}
    for k, m in model.sum_var:
        measures_of.setdefault(k, set()).add(m)
    changed = True
    while changed:
        changed = False
        for t, parts in model.relations:
            group = [t, *parts]
            measures = set().union(*(measures_of.get(k, ()) for k in group))
            for k in group:
                have = measures_of.setdefault(k, set())
                for m in sorted(measures - have):
                    model._new_var(k, m)
                    have.add(m)
                    changed = True


def build_model(tables, *, relations, total, value_ranges) -> Model:
    """Collect populations, variables, true values and relations from the tables."""
    if not tables:
        raise UsageError("protect_tables needs at least one CellTable")
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise UsageError(f"table names must be unique, got {names}")
    dims: list[str] = []
    for spec in tables:
        for d in [*spec.dims, *spec.fixed]:
            if d not in dims:
                dims.append(d)
    for rel in relations:
        for key in [rel.total, *rel.parts]:
            dims += [d for d in key if d not in dims]
    model = Model(tables, dims, _norm(total))
    for spec in tables:
        _add_table(model, spec)
    rels = {(t, tuple(p)) for spec in tables for t, p in _table_relations(model, spec)}
    for rel in relations:
        idx = []
        for key in [rel.total, *rel.parts]:
            k = model.key_index.get(model.key_of(key))
            if k is None:
                raise UsageError(
                    f"relation names population {dict(key)} that no table gives; add it as a "
                    "CellTable (publish=False if it is not printed) with its count"
                )
            idx.append(k)
        rels.add((idx[0], tuple(sorted(idx[1:]))))
    model.relations = [(t, list(p)) for t, p in sorted(rels)]
    _close_measures(model)
    model.value_ranges = {
        str(m): (float(a), float(b)) for m, (a, b) in (value_ranges or {}).items()
    }
    return model


class LinearSystem:
    """What a reader knows: equalities and bounds over all variables, given what is hidden.

    The constraint matrix does not depend on what is hidden: hiding a mean frees the row of
    its equation, hiding a count changes its column's bounds. So the matrix is built once,
    and two HiGHS models (highspy) are kept, one that minimizes and one that maximizes:
    each bound is one primal simplex run on the model of its direction, with only the
    objective and the bounds hidden or shown since its last run changed, starting from
    its last optimal basis. Bounds are cached per set of hidden cells.
    """

    def __init__(self, model: Model, *, min_cell: int):
        self.model = model
        self.min_cell = min_cell
        self.hidden: set[int] = set()
        self.primary: set[int] = set()
        self._published = set(model.published_vars())
        self._bounds: dict = {}
        self._constraints = None
        self._kept: dict[float, Kept] = {}
        self._vertices = Vertices(len(model.var_key))

    def hide(self, var: int, *, primary: bool = False) -> None:
        self.hidden.add(var)
        if primary:
            self.primary.add(var)

    def unhide(self, var: int) -> None:
        self.hidden.discard(var)
        self.primary.discard(var)

    def _count_bounds(self, var: int) -> tuple[float, float | None]:
        k = self.model.var_key[var]
        if var not in self._published:
            return (0.0, None)
        if var in self.primary:
            return (1.0, float(self.min_cell - 1))
        if var in self.hidden:
            return (float(self.min_cell), None)
        return (self.model.n_true[k], self.model.n_true[k])

    def col_bounds(self, var: int) -> tuple[float, float]:
        """Bounds of a variable's column now (HiGHS's infinity for none)."""
        if not self.model.is_count(var):
            return (-INF, INF)
        lo, hi = self._count_bounds(var)
        return (lo, INF if hi is None else hi)

    def row_bounds(self, var: int) -> tuple[float, float]:
        """Bounds of a published sum's row ``S - mean * n``: 0 while shown, free if hidden."""
        return (-INF, INF) if var in self.hidden else (0.0, 0.0)

    def _optimum(self, var: int, sign: float) -> float:
        """Smallest (``sign`` 1) or largest (``sign`` -1) value of ``var``."""
        if self._constraints is None:
            self._constraints = constraints(self.model)
        kept = self._kept.get(sign)
        if kept is None:
            other = self._kept.get(-sign)
            basis = other.highs.getBasis() if other is not None else None
            kept = self._kept[sign] = Kept(self, sign, basis)
        status, value = kept.solve(self, var)
        if status == OPTIMAL:
            return value
        if status == UNBOUNDED:
            return -sign * math.inf
        raise UsageError(
            "the tables' counts and means do not add up (HiGHS: "
            f"{kept.highs.modelStatusToString(status)}); pass unrounded values and check "
            "the relations"
        )

    def _side(self, var: int, side: int) -> float:
        """Cached lower (``side`` 0) or upper (``side`` 1) bound of ``var`` now."""
        state = (frozenset(self.hidden), frozenset(self.primary))
        cached = self._bounds.setdefault(state, {}).setdefault(var, [None, None])
        if cached[side] is None:
            sign = 1.0 if side == 0 else -1.0
            cached[side] = self._optimum(var, sign)
            if math.isfinite(cached[side]) and sign in self._kept:
                self._vertices.add(state, self._kept[sign].highs.getSolution().col_value)
        return cached[side]

    def _loosens(self, var: int) -> bool:
        """Hiding ``var`` (not primary) only removes what a reader knows: a mean's equation,
        or a count's single value for a range that holds it."""
        return not self.model.is_count(var) or self.model.n_true[self.model.var_key[var]] >= (
            self.min_cell
        )

    def _known_values(self, var: int) -> np.ndarray:
        """``var`` at the optimal vertices found so far that the reader's system now allows.

        A vertex found with fewer cells hidden (each hidden since only loosening the
        system) and the same primary cells satisfies every constraint of now."""
        hidden, primary = frozenset(self.hidden), frozenset(self.primary)
        tight = {v for v in hidden - primary if not self._loosens(v)}
        return self._vertices.values(
            (hidden, primary),
            var,
            lambda was: was[1] == primary and was[0] <= hidden and tight <= was[0],
        )

    def _certified(self, var: int, count_protection: float, mean_protection: float) -> bool:
        """Protected, shown without a linear program: two values the reader's system allows
        differ by more than the protection needs (the width is at least that difference),
        by a margin far above the solver's tolerance."""
        values = self._known_values(var)
        if values.size < 2:
            return False
        spread = float(values.max() - values.min())
        size = float(np.abs(values).min())
        margin = _MARGIN * (1.0 + float(np.abs(values).max()))
        if self.model.is_count(var):
            return spread >= max(count_protection - _TOL, _TOL) + margin
        # width > _TOL * (1 + max |bound|) follows from width * (1 - _TOL) > _TOL * (1 + size)
        if spread * (1.0 - _TOL) <= _TOL * (1.0 + size) + margin:
            return False
        if mean_protection <= 0:
            return True
        k = self.model.var_key[var]
        n_hi = self.col_bounds(self.model.count_var[k])[1]
        if n_hi >= INF:
            n_hi = self._side(self.model.count_var[k], 1)
            n_hi = n_hi if math.isfinite(n_hi) else self.model.n_true[k]
        return spread >= mean_protection * n_hi + margin

    def bounds_of(self, var: int) -> tuple[float, float]:
        """Smallest and largest value of ``var`` consistent with what a reader knows."""
        return self._side(var, 0), self._side(var, 1)

    def check_feasible(self) -> None:
        if self.model.var_key:
            self.bounds_of(0)

    def is_protected(self, var: int, *, count_protection: float, mean_protection: float) -> bool:
        """Rule 3 of :mod:`stseval.disclosure` on the bounds of ``var`` (or a certificate)."""
        if self._certified(var, count_protection, mean_protection):
            return True
        lo, hi = self.bounds_of(var)
        width = hi - lo
        if self.model.is_count(var):
            return width > _TOL and width >= count_protection - _TOL
        scale = 1.0 + max(abs(lo) if math.isfinite(lo) else 0, abs(hi) if math.isfinite(hi) else 0)
        if width <= _TOL * scale:
            return False
        if mean_protection <= 0:
            return True
        k = self.model.var_key[var]
        n_hi = self._side(self.model.count_var[k], 1)
        n_hi = n_hi if math.isfinite(n_hi) else self.model.n_true[k]
        return width >= mean_protection * n_hi - _TOL
