"""Score instrument responses: reverse keys, range checks, missing-item rules, bands.

Everything is vectorized over respondents, no per-row Python loops: each
instrument's item block is read once, a block of rows at a time, into per-row
sums and counts (``stseval._tally``); the scored frame is assembled from a few
two-dimensional arrays without further copies.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ._tally import Tally, tally
from .errors import DataValidationError, UsageError, format_rows
from .instruments import Instrument, MissingRule, load_instrument

__all__ = ["score", "scoring_rules", "item_matrix"]

InstrumentLike = str | Instrument
MinAnswered = float | int | Mapping[str, float | int] | None


def score(
    responses: pd.DataFrame,
    instrument: InstrumentLike | Iterable[InstrumentLike],
    *,
    min_answered: MinAnswered = None,
    invalid: str = "raise",
    bands: Mapping[str, str] | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Score one or several instruments.

    Parameters
    ----------
    responses : DataFrame
        One row per respondent (or respondent x wave) with item columns
        ``<key>_<NN>`` (zero-padded). Other columns (IDs, wave, dates) are
        carried through unchanged. Item values must be numbers in the
        instrument's declared response range (the range is never inferred
        from the data); blank/NaN is a missing answer. For instruments with a
        not-applicable code (STSI-OA: 0) that code marks N/A.
    instrument : str, path, Instrument, or a list of them
        Built-in key (``"stss"``), a path to a user's YAML file, or loaded
        instruments.
    min_answered : float, int or mapping, optional
        Override the missing-item rule: a fraction below 1 of a scale's
        items (rounded up) or a count of 1 or more. A mapping may key the
        override by score column (``"stss_total"``) or instrument key
        (``"stss"``). By default each scale's own rule from the instrument
        file applies (the author's rule where one is published, otherwise the
        kit convention: at least 80% answered, prorated).
    invalid : {"raise", "missing"}
        What to do with a value outside the response range, a non-integer
        step or a non-number: ``"raise"`` a :class:`DataValidationError`
        naming column, rows and allowed values; or treat it as ``"missing"``
        (counted in ``<key>_n_invalid``, not in ``<key>_n_missing``, and
        reported with a warning).
    bands : mapping, optional
        Band set per instrument key, e.g. ``{"stss": "ctac_app"}``; default
        is each instrument's default band set.
    source : str, optional
        File name to put in error messages.

    Returns
    -------
    DataFrame
        Aligned to ``responses.index``: the non-item columns, then for each
        instrument ``<key>_<scale>`` scores, ``<key>_<scale>_band`` where the
        instrument has bands for the scale, ``<key>_<rule>`` diagnostic
        flags (PCL-5 ``pcl5_provisional_dx``), ``<key>_<scale>_n_answered``,
        ``<key>_<scale>_n_na`` (instruments with an N/A code), and per
        instrument ``<key>_n_missing`` (blank items) and ``<key>_n_invalid``.

    Notes
    -----
    Reverse-keyed items are recoded ``min + max - x``. A sum scale with
    missing items is prorated: mean of answered items x number of items. A
    mean scale is the mean of answered items. Below the required number of
    answered items the score is missing. N/A answers are excluded from the
    score and from the scale's item count when applying the rule.
    """
    if not isinstance(responses, pd.DataFrame):
        raise UsageError(f"responses must be a pandas DataFrame, got {type(responses).__name__}")
    if invalid not in {"raise", "missing"}:
        raise UsageError(f"invalid must be 'raise' or 'missing', got {invalid!r}")
    instruments = _as_instruments(instrument)
    bands = dict(bands or {})
    _check_band_choice(instruments, bands)

    failures: list[dict] = []
    prepared = []
    for inst in instruments:
        absent = _absent_columns(responses, inst, source)
        if absent:
            failures.append(absent)
            continue
        values, nonnumeric = _raw_matrix(responses, inst)
        counts = tally(values, nonnumeric, inst)
        if invalid == "raise" and counts.n_bad:
            _, bad, _ = _read_items(responses, inst)  # the slow path, only to name the cells
            failures.extend(_describe_invalid(responses, inst, bad, source))
        prepared.append((inst, counts))
    if failures:
        raise DataValidationError(failures, title="responses could not be scored")

    item_cols = {c for inst, _ in prepared for c in inst.item_columns}
    parts = [responses[[c for c in responses.columns if c not in item_cols]]]
    for inst, counts in prepared:
        if counts.n_bad and invalid == "missing":
            warnings.warn(
                f"{inst.key}: {counts.n_bad} invalid answer(s) treated as missing "
                f"(allowed {_allowed_text(inst)}); see column {inst.key}_n_invalid",
                stacklevel=2,
            )
        parts.extend(
            _score_instrument(inst, counts, responses.index, min_answered, bands.get(inst.key))
        )
    out = pd.concat(parts, axis=1)
    out.attrs["scoring_rules"] = scoring_rules(instruments, min_answered=min_answered)
    return out


def scoring_rules(instrument, *, min_answered: MinAnswered = None) -> pd.DataFrame:
    """The rules ``score`` applies, one row per scale, for reports to state.

    Columns: ``column, method, n_items, reverse_items, min_answered, rule_source, rule``.
    """
    rows = []
    for inst in _as_instruments(instrument):
        for name, scale in inst.scales.items():
            rule = _rule_for(inst, name, min_answered)
            need = rule.required(len(scale.items))
            rows.append(
                {
                    "column": f"{inst.key}_{name}",
                    "method": scale.method,
                    "n_items": len(scale.items),
                    "reverse_items": ", ".join(
                        str(i) for i in scale.items if inst.items[i - 1].reverse
                    ),
                    "min_answered": need,
                    "rule_source": rule.source,
                    "rule": (
                        f"{scale.method} of items; prorated from the mean of answered items when "
                        f"at least {need} of {len(scale.items)} are answered, otherwise missing"
                        if need < len(scale.items)
                        else f"{scale.method} of items; missing unless all {need} items are answered"
                    ),
                }
            )
    return pd.DataFrame(rows)


def item_matrix(
    responses: pd.DataFrame, instrument: InstrumentLike, *, reverse: bool = True
) -> pd.DataFrame:
    """The instrument's items as floats, reverse-keyed (for reliability), N/A as missing.

    Invalid values raise :class:`DataValidationError` as in :func:`score`.
    """
    inst = load_instrument(instrument)
    absent = [c for c in inst.item_columns if c not in responses.columns]
    if absent:
        raise DataValidationError(
            [
                {
                    "file": None,
                    "column": ", ".join(absent[:3]),
                    "rows": "",
                    "problem": f"instrument {inst.key} item columns missing",
                }
            ]
        )
    values, bad, na = _read_items(responses, inst)
    if bad.any():
        raise DataValidationError(_describe_invalid(responses, inst, bad, None))
    out = values.astype(np.float64, copy=True)
    if na is not None:
        out[na] = np.nan
    if reverse:
        rev = [n - 1 for n in inst.reverse_items]
        out[:, rev] = (inst.response.min + inst.response.max) - out[:, rev]
    return pd.DataFrame(out, index=responses.index, columns=inst.item_columns)


# -- pieces ---------------------------------------------------------------------
def _as_instruments(instrument) -> list[Instrument]:
    if isinstance(instrument, (str, Instrument)) or hasattr(instrument, "__fspath__"):
        instrument = [instrument]
    out = [load_instrument(i) for i in instrument]
    if not out:
        raise UsageError("give at least one instrument (e.g. instrument='stss')")
    keys = [i.key for i in out]
    if len(set(keys)) != len(keys):
        raise UsageError(f"an instrument is listed twice: {keys}")
    return out


def _check_band_choice(instruments: list[Instrument], bands: dict) -> None:
    by_key = {i.key: i for i in instruments}
    for key, name in bands.items():
        if key not in by_key:
            raise UsageError(f"bands names instrument {key!r}, which is not being scored")
        if name not in by_key[key].band_sets:
            raise UsageError(
                f"instrument {key} has no band set {name!r}; "
                f"choose from {sorted(by_key[key].band_sets) or 'none'}"
            )


_CHUNK = 8192  # rows per block: keeps the temporaries of one block in cache


def _raw_matrix(responses: pd.DataFrame, inst: Instrument):
    """The item columns as a numeric matrix (no copy when possible) and a non-number mask."""
    frame = responses[inst.item_columns]
    if all(
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in frame.dtypes
    ):
        values = frame.to_numpy()
        if values.dtype == object:  # nullable integer columns with <NA>
            values = frame.to_numpy(dtype=float, na_value=np.nan)
        return values, None
    values = np.column_stack(
        [
            pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            for c in frame.columns
        ]
    )
    given = (
        frame.notna().to_numpy()
        & ~(frame.astype(str).apply(lambda s: s.str.strip()) == "").to_numpy()
    )
    return values, given & np.isnan(values)


def _classify(block: np.ndarray, resp):
    """Masks for one block of rows: missing (blank), not applicable, invalid."""
    v = block.astype(np.float64, copy=False)
    nan = np.isnan(v)
    k = v - resp.min
    if resp.step != 1:
        k /= resp.step
    with np.errstate(invalid="ignore"):
        bad = (k < 0) | (k > (resp.max - resp.min) // resp.step) | (k != np.floor(k))
    bad &= ~nan
    na = None
    if resp.not_applicable is not None:
        na = v == resp.not_applicable
        bad &= ~na
    return v, nan, na, bad


def _read_items(responses: pd.DataFrame, inst: Instrument):
    """Raw item matrix plus full-size masks of invalid and not-applicable cells."""
    values, nonnumeric = _raw_matrix(responses, inst)
    bad = np.empty(values.shape, dtype=bool)
    na = np.zeros(values.shape, dtype=bool) if inst.response.not_applicable is not None else None
    for lo in range(0, len(values), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        _, _, na_b, bad_b = _classify(values[sl], inst.response)
        bad[sl] = bad_b
        if na is not None:
            na[sl] = na_b
    if nonnumeric is not None:
        bad |= nonnumeric
    return values, bad, na


def _allowed_text(inst: Instrument) -> str:
    r = inst.response
    text = (
        f"whole numbers {r.min} to {r.max}" if r.step == 1 else f"{', '.join(map(str, r.values))}"
    )
    if r.not_applicable is not None:
        text += f", or {r.not_applicable} for not applicable"
    return text


def _describe_invalid(responses, inst, bad, source) -> list[dict]:
    out = []
    for j in np.flatnonzero(bad.any(axis=0)):
        col = inst.item_columns[j]
        rows = responses.index[bad[:, j]]
        examples = pd.unique(responses[col].iloc[np.flatnonzero(bad[:, j])[:5]].astype(str))
        out.append(
            {
                "file": source,
                "column": col,
                "rows": format_rows(rows),
                "problem": f"{len(rows)} value(s) not allowed (e.g. {', '.join(examples)}); "
                f"expected {_allowed_text(inst)} or blank",
            }
        )
    return out


def _rule_for(inst: Instrument, scale: str, override: MinAnswered) -> MissingRule:
    rule = inst.scale_rule(scale)
    if override is None:
        return rule
    if isinstance(override, Mapping):
        value = override.get(f"{inst.key}_{scale}", override.get(inst.key))
        if value is None:
            return rule
    else:
        value = override
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise UsageError(
            f"min_answered must be a fraction in (0, 1) or an item count >= 1; got {value!r}"
        )
    return MissingRule(
        rule="prorate", min_answered=float(value), source="user", note="set in the call to score()"
    )


def _absent_columns(responses: pd.DataFrame, inst: Instrument, source) -> dict | None:
    """A failure row when some of the instrument's item columns are not in the data."""
    cols = inst.item_columns
    absent = [c for c in cols if c not in responses.columns]
    if not absent:
        return None
    what = (
        "has no item columns in the data"
        if len(absent) == len(cols)
        else f"is missing {len(absent)} item column(s): {', '.join(absent[:8])}"
        + (" ..." if len(absent) > 8 else "")
    )
    return {
        "file": source,
        "column": ", ".join(absent[:3]),
        "rows": "",
        "problem": f"instrument {inst.key} {what} (expected {cols[0]} ... {cols[-1]})",
    }


def _score_instrument(inst, tally: Tally, index, min_answered, band_set) -> list[pd.DataFrame]:
    """The instrument's output columns as a few frames, each one block (no later copies)."""
    names = list(inst.scales)
    scores = np.empty((len(names), len(index)))
    for j, (name, scale) in enumerate(inst.scales.items()):
        k = len(scale.items)
        rule = _rule_for(inst, name, min_answered)
        result, answered = scores[j], tally.n_ans[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(tally.sums[j], answered, out=result, dtype=np.float64)
        if scale.method == "sum":
            result *= k
        if tally.n_na is None:
            too_few = answered < max(rule.required(k), 1)
        else:
            # The required count is taken of the applicable items (N/A excluded).
            need = np.array([rule.required(a) if a > 0 else 1 for a in range(k + 1)])
            too_few = answered < need[k - tally.n_na[j].astype(np.int64)]
        result[too_few] = np.nan
    key = inst.key
    frames = [_frame(scores, [f"{key}_{name}" for name in names], index)]
    extra = _bands(inst, dict(zip(names, scores, strict=True)), band_set)
    extra.update(_diagnoses(inst, tally))
    if extra:
        frames.append(pd.DataFrame(extra, index=index))
    counts, labels = [], []
    for j, name in enumerate(names):
        counts.append(tally.n_ans[j])
        labels.append(f"{key}_{name}_n_answered")
        if tally.n_na is not None:
            counts.append(tally.n_na[j])
            labels.append(f"{key}_{name}_n_na")
    counts += [tally.n_missing, tally.n_invalid]
    labels += [f"{key}_n_missing", f"{key}_n_invalid"]
    block = np.empty((len(counts), len(index)), dtype=np.int64)
    for row, values in zip(block, counts, strict=True):
        np.copyto(row, values, casting="unsafe")  # whole numbers held as float32
    frames.append(_frame(block, labels, index))
    return frames


def _frame(block: np.ndarray, columns: list[str], index) -> pd.DataFrame:
    """A frame over a (columns x rows) array without copying it (pandas' own layout)."""
    return pd.DataFrame(block.T, columns=columns, index=index, copy=False)


def _diagnoses(inst: Instrument, tally: Tally) -> dict:
    """Diagnostic flags: criteria met, not met, or missing when a needed item is unanswered."""
    names, out = list(inst.scales), {}
    for rname, rule in inst.diagnostic_rules.items():
        ok = np.ones(tally.n_ans.shape[1], dtype=bool)
        complete = ok.copy()
        for scale, required in rule.require.items():
            j = names.index(scale)
            complete &= tally.n_ans[j] == len(inst.scales[scale].items)
            ok &= tally.endorsed[rname][j] >= required
        flag = pd.array(ok, dtype="boolean")
        flag[~complete] = pd.NA
        out[f"{inst.key}_{rname}"] = flag
    return out


def _bands(inst: Instrument, scores: dict, band_set: str | None) -> dict:
    """Band columns: the last band whose lower bound the score reaches (missing below all)."""
    set_name = band_set or inst.default_band_set()
    if not set_name:
        return {}
    bset = inst.band_sets[set_name]
    labels = [b.label for b in bset.bands]
    out = {}
    for name in bset.scales:
        s = scores[name]
        codes = np.full(len(s), -1, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            for band in bset.bands:
                codes += s >= band.lower  # NaN compares False: stays -1
        out[f"{inst.key}_{name}_band"] = pd.Categorical.from_codes(
            codes, categories=labels, ordered=True, validate=False
        )
    return out
