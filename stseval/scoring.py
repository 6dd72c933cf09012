"""Score instrument responses: reverse keys, range checks, missing-item rules, bands.

Everything is vectorized over respondents: one NumPy matrix per instrument,
no per-row Python loops.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

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
        (counted in ``<key>_n_invalid`` and reported with a warning).
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
        cols = inst.item_columns
        absent = [c for c in cols if c not in responses.columns]
        if absent:
            expected = f"{cols[0]} ... {cols[-1]}"
            what = (
                "has no item columns in the data"
                if len(absent) == len(cols)
                else f"is missing {len(absent)} item column(s): {', '.join(absent[:8])}"
                + (" ..." if len(absent) > 8 else "")
            )
            failures.append(
                {
                    "file": source,
                    "column": ", ".join(absent[:3]),
                    "rows": "",
                    "problem": f"instrument {inst.key} {what} (expected {expected})",
                }
            )
            continue
        values, bad, na = _read_items(responses, inst)
        if invalid == "raise" and bad.any():
            failures.extend(_describe_invalid(responses, inst, bad, source))
        prepared.append((inst, values, bad, na))
    if failures:
        raise DataValidationError(failures, title="responses could not be scored")

    item_cols = {c for inst, *_ in prepared for c in inst.item_columns}
    carried = responses[[c for c in responses.columns if c not in item_cols]]
    blocks = []
    for inst, values, bad, na in prepared:
        n_bad = int(bad.sum())
        if n_bad and invalid == "missing":
            warnings.warn(
                f"{inst.key}: {n_bad} invalid answer(s) treated as missing "
                f"(allowed {_allowed_text(inst)}); see column {inst.key}_n_invalid",
                stacklevel=2,
            )
        blocks.append(
            _score_instrument(
                inst, values, bad, na, responses.index, min_answered, bands.get(inst.key)
            )
        )
    out = pd.concat([carried, *blocks], axis=1)
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


def _weights(inst: Instrument):
    """Item x scale matrices: membership, signed keying and reverse-key constant."""
    k, m = inst.n_items, len(inst.scales)
    member = np.zeros((k, m))
    for j, scale in enumerate(inst.scales.values()):
        member[[n - 1 for n in scale.items], j] = 1.0
    rev = np.array([it.reverse for it in inst.items], dtype=float)[:, None]
    # keyed value = x for forward items, (min + max) - x for reverse items, so over a scale
    # sum(keyed) = answered-filled @ signed + answered @ (reverse * (min + max)).
    signed = member * (1 - 2 * rev)
    constant = member * rev * (inst.response.min + inst.response.max)
    return member, signed, constant


def _score_instrument(inst, values, bad, na, index, min_answered, band_set) -> pd.DataFrame:
    n, m = len(values), len(inst.scales)
    member, signed, constant = _weights(inst)
    sums, n_ans = np.empty((n, m)), np.empty((n, m))
    n_na = np.zeros((n, m)) if na is not None else None
    n_missing = np.empty(n, dtype=np.int64)
    dx_rules = list(inst.diagnostic_rules.items())
    endorsed = {name: np.empty((n, m)) for name, _ in dx_rules}
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        v, nan, na_b, _ = _classify(values[sl], inst.response)
        unusable = nan | bad[sl]
        if na_b is not None:
            unusable |= na_b
            n_na[sl] = na_b @ member
        answered = (~unusable).astype(np.float64)
        filled = np.where(unusable, 0.0, v)
        sums[sl] = filled @ signed + answered @ constant
        n_ans[sl] = answered @ member
        n_missing[sl] = nan.sum(axis=1)
        for name, rule in dx_rules:
            endorsed[name][sl] = ((filled >= rule.endorsed_at) & ~unusable) @ member
    block: dict = {}
    scores = {}
    names = list(inst.scales)
    for j, (name, scale) in enumerate(inst.scales.items()):
        k = len(scale.items)
        applicable = k - (n_na[:, j] if n_na is not None else 0)
        rule = _rule_for(inst, name, min_answered)
        # The required count is taken of the applicable items (N/A excluded).
        need = np.array([rule.required(a) if a > 0 else 1 for a in range(k + 1)])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums[:, j] / n_ans[:, j]
        result = mean * k if scale.method == "sum" else mean
        result[
            (n_ans[:, j] < need[np.asarray(applicable, dtype=np.int64)]) | (n_ans[:, j] == 0)
        ] = np.nan
        scores[name] = result
        block[f"{inst.key}_{name}"] = result
    set_name = band_set or inst.default_band_set()
    if set_name:
        bset = inst.band_sets[set_name]
        lowers = np.array([b.lower for b in bset.bands])
        labels = [b.label for b in bset.bands]
        for name in bset.scales:
            s = scores[name]
            pos = np.searchsorted(lowers, s, side="right") - 1
            codes = np.where(np.isnan(s) | (pos < 0), -1, pos)
            block[f"{inst.key}_{name}_band"] = pd.Categorical.from_codes(
                codes, categories=labels, ordered=True
            )
    for rname, rule in dx_rules:
        ok = np.ones(n, dtype=bool)
        complete = np.ones(n, dtype=bool)
        for scale, required in rule.require.items():
            j = names.index(scale)
            complete &= n_ans[:, j] == len(inst.scales[scale].items)
            ok &= endorsed[rname][:, j] >= required
        flag = pd.array(ok, dtype="boolean")
        flag[~complete] = pd.NA
        block[f"{inst.key}_{rname}"] = flag
    for j, name in enumerate(names):
        block[f"{inst.key}_{name}_n_answered"] = n_ans[:, j].astype(np.int64)
        if n_na is not None:
            block[f"{inst.key}_{name}_n_na"] = n_na[:, j].astype(np.int64)
    block[f"{inst.key}_n_missing"] = n_missing
    block[f"{inst.key}_n_invalid"] = bad.sum(axis=1)
    return pd.DataFrame(block, index=index)
