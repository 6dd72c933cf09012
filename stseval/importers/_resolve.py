"""Which export columns hold which items of an instrument, checked against the export.

Used by the import after the mapping is parsed (:mod:`stseval.importers._mapping`):
every column the mapping names but the export lacks is listed, with a close match.
"""

from __future__ import annotations

import difflib
import re

__all__ = ["resolve_items", "close_matches"]


def _problem(source: str, key: str, text: str) -> dict:
    return {"file": source, "column": key, "rows": "", "problem": text}


_DIGITS = re.compile(r"^(\d{1,3})$")


def _by_prefix(spec, columns: list[str], source: str, problems: list) -> dict[str, int]:
    inst = spec.instrument
    key, k = inst.key, inst.n_items
    found: dict[str, int] = {}
    for col in columns:
        if col.lower().startswith(spec.prefix.lower()):
            m = _DIGITS.match(col[len(spec.prefix) :])
            if m:
                found[col] = int(m.group(1))
    if not found:
        like = [c for c in columns if c.lower().startswith(key)][:5]
        hint = f"; columns starting with {key!r}: {', '.join(like)}" if like else ""
        problems.append(
            _problem(
                source,
                f"{spec.prefix}*",
                f"instrument {key} has no item columns: no column is "
                f"named {spec.prefix}<number> (expected {k} columns "
                f"{spec.prefix}1 ... {spec.prefix}{k}){hint}",
            )
        )
    return found


def _number_problems(inst, found: dict[str, int], source: str, problems: list) -> list[int]:
    """Item numbers outside 1..k, used twice, too many or too few; returns the bad numbers."""
    key, k = inst.key, inst.n_items
    numbers: dict[int, list[str]] = {}
    for col, num in found.items():
        numbers.setdefault(num, []).append(col)
    bad = sorted(n for n in numbers if not 1 <= n <= k)
    if bad:
        problems.append(
            _problem(
                source,
                ", ".join(c for n in bad for c in numbers[n]),
                f"instrument {key} has items 1-{k}; the mapping uses item number(s) {bad}",
            )
        )
    for n, cs in numbers.items():
        if len(cs) > 1:
            problems.append(
                _problem(
                    source,
                    ", ".join(cs),
                    f"instrument {key}: item {n} is mapped from more than one column",
                )
            )
    if len(found) > k and not bad:
        problems.append(
            _problem(
                source,
                "",
                f"instrument {key} has {k} items; the mapping lists {len(found)} columns",
            )
        )
    left = [n for n in range(1, k + 1) if n not in numbers]
    if left and not bad and len(found) <= k:
        problems.append(
            _problem(
                source,
                "",
                f"instrument {key}: {len(left)} of {k} items have no source "
                f"column (item(s) {_ranges(left)}); every item needs one",
            )
        )
    return bad


def resolve_items(spec, columns: list[str], source: str, problems: list) -> dict[str, int]:
    """Source column -> item number for one instrument, checked against ``columns``.

    Problems (appended to ``problems``): the instrument has no item columns;
    a named column is not in the export; an item number outside 1..k or used
    twice; items left without a source column.
    """
    inst = spec.instrument
    if spec.prefix is not None:
        found = _by_prefix(spec, columns, source, problems)
        if not found:
            return {}
    elif spec.columns is not None:
        found = {c: i for i, c in enumerate(spec.columns, start=1)}
    else:
        found = dict(spec.explicit or {})
    absent = [c for c in found if c not in columns]
    for col in absent:
        problems.append(
            _problem(
                source,
                col,
                f"the mapping names column {col!r} for instrument {inst.key}, but the export "
                f"has no such column{close_matches(col, columns)}",
            )
        )
    if absent and len(absent) == len(found):
        return {}
    _number_problems(inst, found, source, problems)
    k = inst.n_items
    return {c: n for c, n in found.items() if c in columns and 1 <= n <= k}


def _ranges(numbers: list[int]) -> str:
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)


def close_matches(name: str, candidates) -> str:
    """`` (did you mean 'X'?)`` when a candidate is close to ``name``, else ``""``."""
    cands = [str(c) for c in candidates]
    lower = {c.lower(): c for c in cands}
    if name.lower() in lower and lower[name.lower()] != name:
        return f" (did you mean {lower[name.lower()]!r}? names are case-sensitive)"
    hits = difflib.get_close_matches(name, cands, n=2, cutoff=0.7)
    return f" (did you mean {' or '.join(repr(h) for h in hits)}?)" if hits else ""
