"""The reader's linear system of :mod:`stseval.disclosure`, solved the slow, independent way.

:class:`ReferenceSystem` is how the kit bounded cells before the kept HiGHS models of
:class:`stseval._disclosure_lp.LinearSystem`: dense constraint matrices rebuilt for each set
of hidden cells, a cold ``scipy.optimize.linprog`` (HiGHS, presolve off) for every bound and
no shortcut. The tests compare every bound and every protection decision with it, and
``benchmarks/bench_disclosure.py`` times it as the "before".
"""

from __future__ import annotations

import math

import numpy as np

from stseval._disclosure_lp import LinearSystem
from stseval.errors import UsageError

__all__ = ["ReferenceSystem"]


class ReferenceSystem(LinearSystem):
    """:class:`LinearSystem` with every bound from a cold ``linprog`` on dense matrices."""

    _dense_cache = None

    def _certified(self, var: int, count_protection: float, mean_protection: float) -> bool:
        return False  # every decision from the bounds themselves

    def _dense(self):
        state = (frozenset(self.hidden), frozenset(self.primary))
        if self._dense_cache is None or self._dense_cache[0] != state:
            self._dense_cache = (state, self._build_dense())
        return self._dense_cache[1]

    def _build_dense(self):
        m = self.model
        nv = len(m.var_key)
        eq_rows, ub_rows = [], []
        for t, parts in m.relations:
            row = np.zeros(nv)
            row[m.count_var[t]] = 1.0
            row[[m.count_var[p] for p in parts]] -= 1.0
            eq_rows.append(row)
            for (k, meas), var in m.sum_var.items():
                if k == t:
                    row = np.zeros(nv)
                    row[var] = 1.0
                    for p in parts:
                        row[m.sum_var[(p, meas)]] -= 1.0
                    eq_rows.append(row)
        for (k, meas), var in m.sum_var.items():
            if var in self._published and var not in self.hidden:
                row = np.zeros(nv)
                row[var], row[m.count_var[k]] = 1.0, -m.mean_true[var]
                eq_rows.append(row)
            if meas in m.value_ranges:
                lo, hi = m.value_ranges[meas]
                for sign, bound in ((-1.0, lo), (1.0, hi)):
                    row = np.zeros(nv)
                    row[var], row[m.count_var[k]] = sign, -sign * bound
                    ub_rows.append(row)
        bounds = [self._count_bounds(v) if m.is_count(v) else (None, None) for v in range(nv)]
        eq = (np.array(eq_rows), np.zeros(len(eq_rows))) if eq_rows else (None, None)
        ub = (np.array(ub_rows), np.zeros(len(ub_rows))) if ub_rows else (None, None)
        return eq, ub, bounds

    def _optimum(self, var: int, sign: float) -> float:
        from scipy.optimize import linprog

        (a_eq, b_eq), (a_ub, b_ub), bounds = self._dense()
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
            return -sign * math.inf
        if res.status == 0:
            return sign * res.fun
        raise UsageError(
            f"the tables' counts and means do not add up (status {res.status}: {res.message}); "
            "pass unrounded values and check the relations"
        )
