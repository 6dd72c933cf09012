"""An area's analysis views for many outcomes, the joins done once (evaluate_all at scale).

:func:`stseval.reshape.wide` and :func:`stseval.reshape.long` find the area's
workers and join them to the scores by ``worker_id`` on every call; evaluate_all
calls them twice per outcome and area (70 string joins of the whole study per run
at 7 areas x 5 outcomes). Here

- :class:`ScoreIndex` (once per study and run) locates every response's worker
  in ``study.workers`` and orders the responses by worker and wave, and
- :class:`AreaViews` (once per area) marks the area's workers from its arms and
  returns, per outcome, frames equal to ``reshape.wide`` / ``reshape.long``
  (tested frame for frame in ``tests/test_fast_paths.py``) by taking rows.

A study the index does not cover (team assignment, a ``worker_id`` listed twice in
``workers.csv``, a worker answering a wave twice) falls back to one join per area.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import reshape
from .errors import UsageError

__all__ = ["AreaViews", "ScoreIndex"]

_PEOPLE = ["worker_id", "org_id", "team_id"]


class ScoreIndex:
    """Where each response's worker is in ``study.workers``, responses in (worker, wave) order."""

    def __init__(self, study):
        workers, scored, waves = study.workers, study.scored(), list(study.waves)
        self.ok = bool(workers["worker_id"].is_unique) and len(waves) >= 1
        if not self.ok:
            return
        ids = pd.Index(workers["worker_id"])
        widx = ids.get_indexer(scored["worker_id"])
        rank = scored["wave"].map({w: i for i, w in enumerate(waves)}).to_numpy("float64")
        use = (widx >= 0) & ~np.isnan(rank)
        order = np.argsort(workers["worker_id"].to_numpy(), kind="stable")
        wrank = np.empty(len(order), dtype=np.intp)
        wrank[order] = np.arange(len(order))
        rows = np.flatnonzero(use)
        rows = rows[np.lexsort((rank[rows], wrank[widx[rows]]))]  # by worker_id, then wave
        key = widx[rows] * len(waves) + rank[rows].astype(np.intp)
        self.ok = not len(key) or bool(np.all(np.diff(np.sort(key)) > 0))  # one answer a wave
        self.rows, self.widx, self.by_id = rows, widx[rows], order
        self.wave_of = rank[rows].astype(np.intp)
        self.org_code, self.orgs = pd.factorize(workers["org_id"])  # -1: no organization


class AreaViews:
    """``wide(study, o, area)`` and ``long(study, o, area)`` for the ``outcomes`` of one area."""

    def __init__(self, study, area: str, outcomes, index: ScoreIndex | None = None):
        scored = study.scored()
        for o in outcomes:
            if o not in scored.columns:
                reshape.outcome_scores(study, o)  # raises the usual UsageError
        self.study, self.outcomes = study, list(dict.fromkeys(outcomes))
        table = reshape.arms(study, area)
        fast = index is not None and index.ok and "team_id" not in table.columns
        self.index = index if fast else None
        if self.index is None:
            self.people = reshape.arm_workers(study, area)
        else:  # the arm of each worker's organization, -1 outside the area's arms
            pos = pd.Index(index.orgs).get_indexer(table["org_id"])
            by_org = np.full(len(index.orgs) + 1, -1, dtype=np.int64)  # last: no organization
            treated = (table["arm"] == "intervention").to_numpy(np.int64)
            by_org[pos[pos >= 0]] = treated[pos >= 0]
            self.arm = by_org[index.org_code]
        self._wide = self._long = None

    def _check(self, outcome: str) -> int:
        if outcome not in self.outcomes:
            raise UsageError(f"outcome {outcome!r} was not prepared for this area")
        return self.outcomes.index(outcome)

    def _people(self, rows: np.ndarray) -> pd.DataFrame:
        out = self.study.workers[_PEOPLE].iloc[rows].reset_index(drop=True)
        return out.assign(treated=self.arm[rows])

    def wide(self, outcome: str) -> pd.DataFrame:
        j = self._check(outcome)
        waves = self.study.waves
        if len(waves) < 2:
            raise UsageError(f"wide() needs two waves; study.yaml lists {waves}")
        if self._wide is None:
            self._wide = self._make_wide()
        people, pre, post = self._wide
        return people.assign(pre=pre[:, j], post=post[:, j])

    def _make_wide(self):
        waves = self.study.waves
        y = self.study.scored()[["worker_id", "wave", *self.outcomes]]
        if self.index is None:
            order = self.people.sort_values("worker_id", kind="mergesort").reset_index(drop=True)
            ids = order["worker_id"]
            pre = y[y["wave"] == waves[0]].set_index("worker_id")[self.outcomes].reindex(ids)
            post = y[y["wave"] == waves[1]].set_index("worker_id")[self.outcomes].reindex(ids)
            return order, pre.to_numpy(float), post.to_numpy(float)
        ix = self.index
        mine = ix.by_id[self.arm[ix.by_id] >= 0]  # the area's workers, by worker_id
        values = y[self.outcomes].to_numpy(float)[ix.rows]
        out = []
        for t in (0, 1):
            at = np.full(len(self.arm), -1)
            sel = ix.wave_of == t
            at[ix.widx[sel]] = np.flatnonzero(sel)
            got = at[mine]
            vals = np.full((len(mine), len(self.outcomes)), np.nan)
            vals[got >= 0] = values[got[got >= 0]]
            out.append(vals)
        return self._people(mine), out[0], out[1]

    def long(self, outcome: str) -> pd.DataFrame:
        self._check(outcome)
        if self.index is None:
            return self._long_joined(outcome)
        ix = self.index
        y = self.study.scored()[outcome].to_numpy(float)[ix.rows]
        keep = (self.arm[ix.widx] >= 0) & ~np.isnan(y)
        out = self._people(ix.widx[keep])
        wave = self.study.scored()["wave"].iloc[ix.rows[keep]].reset_index(drop=True)
        return out.assign(wave=wave, y=y[keep])

    def _long_joined(self, outcome: str) -> pd.DataFrame:
        if self._long is None:
            y = self.study.scored()[["worker_id", "wave", *self.outcomes]]
            out = self.people.merge(y, on="worker_id", how="inner")
            out = out[out["wave"].isin(self.study.waves)]
            rank = out["wave"].map({w: i for i, w in enumerate(self.study.waves)})
            self._long = out.assign(_rank=rank).sort_values(
                ["worker_id", "_rank"], kind="mergesort"
            )
        base = self._long
        keep = base[outcome].notna().to_numpy()
        cols = ["worker_id", "org_id", "team_id", "treated", "wave"]
        out = base.loc[keep, cols].assign(y=base.loc[keep, outcome].astype("float64"))
        return out.reset_index(drop=True)
