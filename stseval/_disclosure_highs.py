"""HiGHS models kept between solves, for :class:`stseval._disclosure_lp.LinearSystem`.

:func:`constraints` builds the reader's constraint matrix once (it does not change with
what is hidden); :class:`Kept` is one HiGHS model (highspy) that minimizes or maximizes
one variable at a time from its last optimal basis; :class:`Vertices` keeps the optimal
points found, for certificates.
"""

from __future__ import annotations

import math

import highspy
import numpy as np
from highspy._core import _Highs
from scipy import sparse

from stseval.errors import UsageError

__all__ = ["INF", "OPTIMAL", "UNBOUNDED", "Kept", "Vertices", "constraints"]


def constraints(model):
    """Rows of the reader's system that do not change with what is hidden.

    Returns ``(matrix, lower, upper, mean_row)``: a CSC matrix over all variables, row
    bounds, and for each published sum the row of its equation ``S - mean * n = 0`` (free
    while the mean is hidden). Rows: each relation's counts and sums add up; each published
    mean; each sum within ``[lo * n, hi * n]`` of its measure's value range.
    """
    rows: list[list[int]] = []  # each relation row: its total, then its parts
    sums_of: dict[int, list[tuple[str, int]]] = {}
    for (k, meas), var in model.sum_var.items():
        sums_of.setdefault(k, []).append((meas, var))
    for t, parts in model.relations:
        rows.append([model.count_var[t], *(model.count_var[p] for p in parts)])
        for meas, var in sums_of.get(t, ()):
            rows.append([var, *(model.sum_var[(p, meas)] for p in parts)])
    n_eq = len(rows)
    published = set(model.published_vars())
    sums = [(var, model.count_var[k], meas) for (k, meas), var in model.sum_var.items()]
    means = [(var, n) for var, n, _ in sums if var in published]
    ranged = [(var, n, *model.value_ranges[m]) for var, n, m in sums if m in model.value_ranges]
    entries = [np.array([c for row in rows for c in row], dtype=np.int64)]
    coefs = [np.array([1.0 if i == 0 else -1.0 for row in rows for i in range(len(row))])]
    row_of = [np.repeat(np.arange(n_eq), [len(row) for row in rows])]
    first = n_eq
    for block in (
        [(var, 1.0, n, -model.mean_true[var]) for var, n in means],
        [(var, -1.0, n, lo) for var, n, lo, _ in ranged],
        [(var, 1.0, n, -hi) for var, n, _, hi in ranged],
    ):
        if block:
            var, a, n, b = (np.array(x) for x in zip(*block, strict=True))
            entries.append(np.concatenate([var, n]).astype(np.int64))
            coefs.append(np.concatenate([a, b]).astype(float))
            row_of.append(np.tile(np.arange(first, first + len(block)), 2))
        first += len(block)
    mean_row = {var: n_eq + i for i, (var, _) in enumerate(means)}
    n_rows = n_eq + len(means) + 2 * len(ranged)
    matrix = sparse.csc_array(  # duplicate entries are summed
        (np.concatenate(coefs), (np.concatenate(row_of), np.concatenate(entries))),
        shape=(n_rows, len(model.var_key)),
    )
    matrix.eliminate_zeros()
    lower = np.zeros(n_rows)
    lower[n_eq + len(means) :] = -math.inf
    return matrix, lower, np.zeros(n_rows), mean_row


class Vertices:
    """Optimal vertices found so far, each with the system (hidden, primary) it solved."""

    def __init__(self, n_vars: int):
        self.rows = np.empty((64, n_vars))
        self.states: list[tuple[frozenset, frozenset]] = []
        self.usable: dict = {}  # system -> (vertices checked, indices of those allowed)

    def add(self, state, point) -> None:
        n = len(self.states)
        if n == len(self.rows):
            self.rows = np.concatenate([self.rows, np.empty_like(self.rows)])
        self.rows[n] = point
        self.states.append(state)

    def values(self, state, var: int, allowed) -> np.ndarray:
        """``var`` at the vertices whose system passes ``allowed`` (checked once each)."""
        checked, index = self.usable.get(state, (0, []))
        index += [i for i in range(checked, len(self.states)) if allowed(self.states[i])]
        self.usable[state] = (len(self.states), index)
        return self.rows[index, var]


INF = highspy.kHighsInf
OPTIMAL = highspy.HighsModelStatus.kOptimal
UNBOUNDED = highspy.HighsModelStatus.kUnbounded
_UNBOUNDED_OR_INFEASIBLE = highspy.HighsModelStatus.kUnboundedOrInfeasible


class Kept:
    """One HiGHS model that only minimizes ``sign * x`` for one variable ``x`` at a time,
    kept between solves: a new bound changes the objective and the bounds of what was
    hidden or shown since, and the primal simplex starts from the last optimal basis (a
    new objective leaves it feasible). The first solve starts from ``basis`` (the other
    direction's) or, with none, from HiGHS's presolve."""

    def __init__(self, system, sign: float, basis=None):
        self.sign = sign
        self.highs = h = _Highs()
        h.setOptionValue("output_flag", False)  # before anything else: no banner either
        h.setOptionValue("simplex_strategy", 4)
        matrix, lower, upper, mean_row = system._constraints
        self.mean_row = mean_row
        lower, upper = lower.copy(), upper.copy()
        for var, row in mean_row.items():
            lower[row], upper[row] = system.row_bounds(var)
        cols = [system.col_bounds(v) for v in range(matrix.shape[1])]
        _pass_model(h, matrix, lower, upper, cols)
        self.hidden, self.primary = set(system.hidden), set(system.primary)
        self.cost_var: int | None = None
        self.presolve = basis is None or not basis.valid
        if not self.presolve:
            h.setBasis(basis)
            h.setOptionValue("presolve", "off")  # a warm start needs the model as it is

    def _sync(self, system) -> None:
        h, model = self.highs, system.model
        for var in (self.hidden ^ system.hidden) | (self.primary ^ system.primary):
            if model.is_count(var):
                h.changeColBounds(var, *system.col_bounds(var))
            elif var in self.mean_row:
                h.changeRowBounds(self.mean_row[var], *system.row_bounds(var))
        self.hidden, self.primary = set(system.hidden), set(system.primary)

    def solve(self, system, var: int):
        """``(status, bound)``: the optimum of ``var`` in this model's direction."""
        h = self.highs
        self._sync(system)
        if self.cost_var != var:
            if self.cost_var is not None:
                h.changeColCost(self.cost_var, 0.0)
            h.changeColCost(var, self.sign)
            self.cost_var = var
        h.run()
        status = h.getModelStatus()
        if self.presolve:  # from now on: warm starts
            h.setOptionValue("presolve", "off")
            self.presolve = False
        if status not in (OPTIMAL, UNBOUNDED):  # rare: once more, from no basis
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status == _UNBOUNDED_OR_INFEASIBLE and self._feasible():
            status = UNBOUNDED
        return status, self.sign * h.getObjectiveValue()

    def _feasible(self) -> bool:
        h = self.highs
        h.changeColCost(self.cost_var, 0.0)
        self.cost_var = None
        h.clearSolver()
        h.run()
        return h.getModelStatus() == OPTIMAL


def _pass_model(h, matrix, lower, upper, cols) -> None:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = np.zeros(matrix.shape[1])
    lp.col_lower_ = np.array([c[0] for c in cols], float)
    lp.col_upper_ = np.array([c[1] for c in cols], float)
    lp.row_lower_, lp.row_upper_ = np.clip(lower, -INF, INF), np.clip(upper, -INF, INF)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    status = h.passModel(lp)
    if status != highspy.HighsStatus.kOk:
        raise UsageError(f"HiGHS could not load the reader's linear system ({status})")
