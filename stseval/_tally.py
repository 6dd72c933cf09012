"""Per-row sums and counts of one instrument's items: the fast core of ``scoring.score``.

The item block is read a block of rows at a time (the work arrays of one block stay in
cache), in the data's own memory layout. Each block is turned into indicator arrays
(answered, N/A, endorsed) and the raw answers with unusable cells set to zero, and a
small, sparse weight matrix W combines them into every tally at once: keyed sums and
answered counts per scale, N/A counts, items at or above a diagnostic cut. Every tally is
a whole number, so float32 holds it exactly (float64 when the response range is huge).
Private: the layout of a ``Tally`` may change with ``scoring``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .instruments import Instrument

__all__ = ["Tally", "tally"]

_CHUNK = 8192  # rows per block: one block's work arrays stay in cache


@dataclass
class Tally:
    """Per-row tallies of one instrument: keyed sums and counts by scale, row counts."""

    sums: np.ndarray  # (m, n) keyed sum of the answered items of each scale
    n_ans: np.ndarray  # (m, n) answered items of each scale
    n_na: np.ndarray | None  # (m, n) not-applicable answers (instruments with an N/A code)
    endorsed: dict[str, np.ndarray]  # per diagnostic rule: (m, n) items at or above the cut
    n_missing: np.ndarray  # (n,) blank items
    n_invalid: np.ndarray  # (n,) invalid answers

    @property
    def n_bad(self) -> int:
        return int(self.n_invalid.sum())


def _weights(inst: Instrument) -> np.ndarray:
    """W such that [filled | answered | n/a | endorsed per rule] @ W gives every tally.

    Row blocks (k items each): raw answers with unusable cells set to 0, answered (0/1),
    then with an N/A code the N/A indicator, then per diagnostic rule the endorsed
    indicator. Columns: keyed sums (m), answered counts (m), all answered (1), then
    N/A counts (m) and all N/A (1), then endorsed counts (m) per rule. A reverse item's
    keyed value is (min + max) - x: over a scale, -x from the filled block plus
    (min + max) per answered item from the answered block.
    """
    k, m = inst.n_items, len(inst.scales)
    member = np.zeros((k, m))
    for j, scale in enumerate(inst.scales.values()):
        member[[n - 1 for n in scale.items], j] = 1.0
    rev = np.array([it.reverse for it in inst.items], dtype=float)[:, None]
    has_na = inst.response.not_applicable is not None
    n_rules = len(inst.diagnostic_rules)
    rows, cols = k * (2 + has_na + n_rules), 2 * m + 1 + has_na * (m + 1) + n_rules * m
    w = np.zeros((rows, cols))
    w[:k, :m] = member * (1 - 2 * rev)
    w[k : 2 * k, :m] = member * rev * (inst.response.min + inst.response.max)
    w[k : 2 * k, m : 2 * m] = member
    w[k : 2 * k, 2 * m] = 1.0
    row, col = 2 * k, 2 * m + 1
    if has_na:
        w[row : row + k, col : col + m] = member
        w[row : row + k, col + m] = 1.0
        row, col = row + k, col + m + 1
    for _ in range(n_rules):
        w[row : row + k, col : col + m] = member
        row, col = row + k, col + m
    return w


def _valid(v: np.ndarray, resp, buf: dict) -> np.ndarray:
    """Cells holding an allowed answer (NaN, N/A code, off-step and out of range are not)."""
    out, tmp = buf["ok"], buf["tmp"]
    with np.errstate(invalid="ignore"):
        if resp.step != 1:
            v = (v.astype(np.float64) - resp.min) / resp.step
            lo, hi = 0, (resp.max - resp.min) // resp.step
        else:
            lo, hi = resp.min, resp.max
        np.greater_equal(v, lo, out=out)
        out &= np.less_equal(v, hi, out=tmp)
        whole = np.floor(v, out=buf["float"]) if v.dtype == buf["float"].dtype else np.floor(v)
        out &= np.equal(whole, v, out=tmp)
    return out


def _buffers(rows: int, k: int, depth: int, ftype, like: np.ndarray) -> dict:
    """Work arrays for one block of rows, laid out like the data (row- or column-major).

    NumPy runs elementwise work on arrays of one layout several times faster than on
    mixed layouts; the data frame's item block is usually column-major.
    """
    fortran = like.ndim == 2 and like.strides[0] < like.strides[1]

    def empty(width, dtype):
        return np.empty((width, rows), dtype).T if fortran else np.empty((rows, width), dtype)

    float_type = like.dtype if like.dtype.kind == "f" else np.float64
    return {
        "z": empty(depth, ftype),
        "ok": empty(k, bool),
        "tmp": empty(k, bool),
        "nan": empty(k, bool),
        "float": empty(k, float_type),
    }


def tally(values: np.ndarray, nonnumeric: np.ndarray | None, inst: Instrument) -> Tally:
    """Sums and counts for every row, a block of rows at a time: [filled | answered | ...] @ W.

    ``values`` is the instrument's item matrix (any numeric dtype, NaN = blank) and
    ``nonnumeric`` marks cells that held text (NaN in ``values`` but invalid, not blank).
    Tallies are whole numbers below 2**24 (checked), so float32 holds them exactly.
    """
    n, k = len(values), inst.n_items
    resp, rules = inst.response, list(inst.diagnostic_rules.values())
    ftype = np.float64 if k * max(abs(resp.min), abs(resp.max)) >= 2**24 else np.float32
    wt = _weights(inst).T
    terms = [[(i, row[i]) for i in np.flatnonzero(row)] for row in wt]
    res = np.empty((wt.shape[0], n), dtype=ftype)  # one row per tally: contiguous columns out
    n_missing = np.empty(n, dtype=np.int64)
    buf = _buffers(min(n, _CHUNK), k, wt.shape[1], ftype, values)
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        v = values[sl]
        if v.dtype.kind != "f":
            v = v.astype(np.float64)
        r = len(v)
        b = {name: a[:r] for name, a in buf.items()}
        ok, nan, z = _valid(v, resp, b), np.isnan(v, out=b["nan"]), b["z"]
        if nonnumeric is not None:
            nan &= ~nonnumeric[sl]  # text is invalid, not blank
        filled = z[:, :k]
        filled.fill(0)
        np.copyto(filled, v, where=ok, casting="unsafe")
        np.copyto(z[:, k : 2 * k], ok)
        col = 2 * k
        if resp.not_applicable is not None:
            np.equal(v, resp.not_applicable, out=z[:, col : col + k], casting="unsafe")
            col += k
        for rule in rules:
            np.greater_equal(filled, rule.endorsed_at, out=z[:, col : col + k], casting="unsafe")
            z[:, col : col + k] *= z[:, k : 2 * k]
            col += k
        _combine(terms, z.T, res[:, sl])
        n_missing[sl] = _blank_counts(ok, nan, z, res[:, sl], inst)
    return _split_tally(res, n_missing, inst)


def _combine(terms: list, zt: np.ndarray, out: np.ndarray) -> None:
    """out = W.T @ zt, term by term: W is small and sparse (0, 1, -1, a constant).

    Row-wise adds need no BLAS, so they do not slow down when BLAS threads compete for
    cores (a small product per block took up to 20x longer on a loaded machine).
    """
    for o, row_terms in zip(out, terms, strict=True):
        (first, weight), rest = row_terms[0], row_terms[1:]
        np.multiply(zt[first], weight, out=o)
        for i, weight in rest:
            if weight == 1:
                o += zt[i]
            elif weight == -1:
                o -= zt[i]
            else:
                o += weight * zt[i]


def _blank_counts(ok, nan, z, res, inst) -> np.ndarray:
    """Blank items per row; without invalid cells in the block, items - answered - N/A."""
    k, m = inst.n_items, len(inst.scales)
    accounted = np.count_nonzero(nan) + np.count_nonzero(ok)
    if inst.response.not_applicable is None:
        if accounted == ok.size:
            return k - res[2 * m]
    elif accounted + np.count_nonzero(z[:, 2 * k : 3 * k]) == ok.size:
        return k - res[2 * m] - res[3 * m + 1]
    return nan.sum(axis=1)


def _split_tally(res: np.ndarray, n_missing: np.ndarray, inst: Instrument) -> Tally:
    """Name the rows of the tally matrix; invalid = items - answered - blank - N/A."""
    k, m = inst.n_items, len(inst.scales)
    n_invalid = k - res[2 * m].astype(np.int64) - n_missing
    col = 2 * m + 1
    n_na = None
    if inst.response.not_applicable is not None:
        n_na = res[col : col + m]
        n_invalid -= res[col + m].astype(np.int64)
        col += m + 1
    endorsed = {}
    for name in inst.diagnostic_rules:
        endorsed[name] = res[col : col + m]
        col += m
    return Tally(res[:m], res[m : 2 * m], n_na, endorsed, n_missing, n_invalid)
