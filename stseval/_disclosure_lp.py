"""The linear model behind :mod:`stseval.disclosure`: populations, relations, attacker's LP.

Variables are one count ``n`` per population (key) and one sum ``S`` per population and
measure. :class:`LinearSystem` holds what a reader of the published tables knows and bounds
any variable with ``scipy.optimize.linprog`` (HiGHS).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from stseval.errors import UsageError

__all__ = ["Model", "LinearSystem", "build_model"]

_TOL = 1e-7


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
    for label, row in spec.frame.iterrows():
        key = model.key_of({**{d: row[d] for d in spec.dims}, **spec.fixed})
        k = model.add_key(key, float(row[spec.count]), where)
        row_keys[label] = k
        cells.append((label, model.count_var[k], spec.count))
        for col, template in spec.means.items():
            var = model.sum_of(k, _row_measure(template, row, where))
            mean = pd.to_numeric(pd.Series([row[col]]), errors="coerce").iloc[0]
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
    """Give every population in a relation every measure any of them has (rule: closure)."""
    changed = True
    while changed:
        changed = False
        for t, parts in model.relations:
            group = [t, *parts]
            measures = {m for (k, m) in model.sum_var if k in group}
            for k in group:
                for m in measures:
                    if (k, m) not in model.sum_var:
                        model._new_var(k, m)
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
    """What a reader knows: equalities and bounds over all variables, given what is hidden."""

    def __init__(self, model: Model, *, min_cell: int):
        self.model = model
        self.min_cell = min_cell
        self.hidden: set[int] = set()
        self.primary: set[int] = set()
        self._published = set(model.published_vars())
        self._cache = None
        self._bounds: dict = {}

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

    def _matrices(self):
        state = (frozenset(self.hidden), frozenset(self.primary))
        if self._cache is None or self._cache[0] != state:
            self._cache = (state, self._build())
        return self._cache[1]

    def _build(self):
        m = self.model
        nv = len(m.var_key)
        eq_rows, eq_b, ub_rows, ub_b = [], [], [], []
        for t, parts in m.relations:
            row = np.zeros(nv)
            row[m.count_var[t]] = 1.0
            row[[m.count_var[p] for p in parts]] -= 1.0
            eq_rows.append(row), eq_b.append(0.0)
            for (k, meas), var in m.sum_var.items():
                if k == t:
                    row = np.zeros(nv)
                    row[var] = 1.0
                    for p in parts:
                        row[m.sum_var[(p, meas)]] -= 1.0
                    eq_rows.append(row), eq_b.append(0.0)
        for (k, meas), var in m.sum_var.items():
            if var in self._published and var not in self.hidden:
                row = np.zeros(nv)
                row[var], row[m.count_var[k]] = 1.0, -m.mean_true[var]
                eq_rows.append(row), eq_b.append(0.0)
            if meas in m.value_ranges:
                lo, hi = m.value_ranges[meas]
                for sign, bound in ((-1.0, lo), (1.0, hi)):
                    row = np.zeros(nv)
                    row[var], row[m.count_var[k]] = sign, -sign * bound
                    ub_rows.append(row), ub_b.append(0.0)
        bounds = [self._count_bounds(v) if m.is_count(v) else (None, None) for v in range(nv)]
        eq = (np.array(eq_rows), np.array(eq_b)) if eq_rows else (None, None)
        ub = (np.array(ub_rows), np.array(ub_b)) if ub_rows else (None, None)
        return eq, ub, bounds

    def bounds_of(self, var: int) -> tuple[float, float]:
        """Smallest and largest value of ``var`` consistent with what a reader knows."""
        (a_eq, b_eq), (a_ub, b_ub), bounds = self._matrices()
        cached = self._bounds.setdefault(self._cache[0], {})
        if var not in cached:
            cached[var] = self._solve(var, a_eq, b_eq, a_ub, b_ub, bounds)
        return cached[var]

    def _solve(self, var, a_eq, b_eq, a_ub, b_ub, bounds) -> tuple[float, float]:
        out = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(bounds))
            c[var] = sign
            res = linprog(
                c,
                A_ub=a_ub,
                b_ub=b_ub,
                A_eq=a_eq,
                b_eq=b_eq,
                bounds=bounds,
                method="highs",
                options={"presolve": False},
            )
            if res.status == 3:
                out.append(-sign * math.inf)
            elif res.status == 0:
                out.append(sign * res.fun)
            else:
                raise UsageError(
                    "the tables' counts and means do not add up (status "
                    f"{res.status}: {res.message}); pass unrounded values and check the "
                    "relations"
                )
        return out[0], out[1]

    def check_feasible(self) -> None:
        if self.model.var_key:
            self.bounds_of(0)

    def is_protected(self, var: int, *, count_protection: float, mean_protection: float) -> bool:
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
        n_hi = self.bounds_of(self.model.count_var[k])[1]
        n_hi = n_hi if math.isfinite(n_hi) else self.model.n_true[k]
        return width >= mean_protection * n_hi - _TOL
