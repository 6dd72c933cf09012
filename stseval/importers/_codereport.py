"""The code-map report: ``import_report.md`` and the short version ``stseval import`` prints.

For each instrument: the code -> value map used (items sharing one map are
listed together), how each code was decided (source labels, mapping file,
numeric identity, user-missing), how many answers had each code, and every
answer turned into missing and why. Meant to be read in a minute, before any
estimate exists, so a wrong map is caught early.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ._codemap import IDENTITY

__all__ = ["code_map_table", "report_markdown", "report_short", "CODE_MAP_COLUMNS"]

#: Columns of :func:`code_map_table`.
CODE_MAP_COLUMNS = [
    "instrument",
    "item",
    "column",
    "kit_column",
    "code",
    "label",
    "value",
    "missing_reason",
    "decided_by",
    "answers",
]


def _sort_key(code: str):
    try:
        return (0, float(code), "")
    except ValueError:
        return (1, 0.0, code)


def _is_number(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return True


def _rows_of(key: str, entry: dict) -> list[dict]:
    cmap, counts = entry["map"], entry["counts"]
    codes = set(cmap.values) | set(cmap.missing) | set(cmap.labels) | set(counts)
    rows = []
    found = entry.get("text", {})
    for code in sorted(codes, key=_sort_key):
        kind, value = found[code] if code in found else cmap.lookup(code)
        how = cmap.how.get(code)
        if how is None:
            if not _is_number(code):
                how = "answer text"
            elif kind == "missing":
                how = "missing code"
            elif kind != "value":
                how = "not a choice"
            else:
                how = "source labels (step)" if cmap.step else IDENTITY
        rows.append(
            {
                "instrument": key,
                "item": entry["number"],
                "column": entry["column"],
                "kit_column": entry["kit_column"],
                "code": code,
                "label": cmap.labels.get(code, ""),
                "value": float(value) if kind == "value" else np.nan,
                "missing_reason": value if kind == "missing" else "",
                "decided_by": how,
                "answers": int(counts.get(code, 0)),
            }
        )
    return rows


def code_map_table(code_maps: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per instrument x item column x code (see :data:`CODE_MAP_COLUMNS`).

    Returns
    -------
    DataFrame
        ``instrument, item, column`` (source), ``kit_column``, ``code``,
        ``label`` (the source's label or ``""``),
        ``value`` (the instrument value, NaN when the code means missing),
        ``missing_reason``, ``decided_by`` (``source labels``, ``source labels
        (step)``, ``mapping file``, ``numeric identity``, ``missing code``,
        ``answer text`` for label cells, ``not a choice``),
        ``answers`` (cells with that code).
    """
    rows = [r for key, entries in code_maps.items() for e in entries for r in _rows_of(key, e)]
    return pd.DataFrame(rows, columns=CODE_MAP_COLUMNS)


def _items_text(numbers: list[int]) -> str:
    numbers = sorted(numbers)
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ", ".join(parts)


def _groups(table: pd.DataFrame):
    """(item numbers, rows of the shared map with answers summed) per distinct map."""
    by_sig: dict[tuple, list] = {}
    for (item, _), rows in table.groupby(["item", "column"], sort=True):
        sig = tuple(
            rows[["code", "label", "value", "missing_reason", "decided_by"]]
            .astype(str)
            .itertuples(index=False, name=None)
        )
        by_sig.setdefault(sig, []).append((item, rows))
    for members in by_sig.values():
        first = members[0][1].reset_index(drop=True).copy()
        first["answers"] = sum(r["answers"].to_numpy() for _, r in members)
        yield [m[0] for m in members], first


def _value_text(row) -> str:
    return "missing" if pd.isna(row.value) else f"{row.value:g}"


def report_markdown(table: pd.DataFrame, reasons: pd.DataFrame, *, title: str, notes) -> str:
    """``import_report.md``: the code map per instrument, counts and answers turned missing."""
    out = [f"# Import report: {title}", ""]
    out += [f"- {n}" for n in notes] + ([""] if notes else [])
    for key, inst_rows in table.groupby("instrument", sort=False):
        out += [f"## {key}", ""]
        for numbers, rows in _groups(inst_rows):
            cols = inst_rows[inst_rows["item"].isin(numbers)]["column"].unique()
            shown = ", ".join(cols[:4]) + (f" ... ({len(cols)} columns)" if len(cols) > 4 else "")
            out += [f"Items {_items_text(numbers)} ({shown}):", ""]
            out += [
                "| code | source label | value | decided by | answers |",
                "|---|---|---|---|---|",
            ]
            for r in rows.itertuples(index=False):
                val = _value_text(r) + (f" ({r.missing_reason})" if r.missing_reason else "")
                out.append(f"| {r.code} | {r.label} | {val} | {r.decided_by} | {r.answers} |")
            out.append("")
        out += _missing_section(key, inst_rows, reasons)
    return "\n".join(out).rstrip() + "\n"


def _missing_section(key: str, inst_rows: pd.DataFrame, reasons: pd.DataFrame) -> list[str]:
    kit = reasons[reasons["column"].isin(_kit_columns(inst_rows))] if len(reasons) else reasons
    if not len(kit):
        return [f"No {key} answer was turned into missing.", ""]
    counts = Counter(zip(kit["code"], kit["reason"], strict=True))
    out = [f"Answers turned into missing: {len(kit)} (reasons in missing_reasons.csv)", ""]
    out += ["| code | reason | answers |", "|---|---|---|"]
    out += [f"| {c} | {r} | {n} |" for (c, r), n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return out + [""]


def _kit_columns(inst_rows: pd.DataFrame) -> set:
    return set(inst_rows["kit_column"])


def report_short(table: pd.DataFrame, reasons: pd.DataFrame) -> list[str]:
    """One line per instrument: the map in words and the answers turned into missing."""
    lines = []
    for key, inst_rows in table.groupby("instrument", sort=False):
        parts = []
        for numbers, rows in _groups(inst_rows):
            val = rows[rows["value"].notna()]
            how = ", ".join(dict.fromkeys(val["decided_by"])) or "-"
            pairs = ", ".join(f"{r.code}->{r.value:g}" for r in val.itertuples(index=False))
            miss = rows[rows["value"].isna() & (rows["missing_reason"] != "")]
            gone = "; ".join(f"{r.code} {r.missing_reason!r} -> missing" for r in miss.itertuples())
            parts.append(
                f"items {_items_text(numbers)}: {pairs or 'numbers as given'} ({how})"
                + (f"; {gone}" if gone else "")
            )
        n_missing = (
            int((reasons["column"].isin(_kit_columns(inst_rows))).sum()) if len(reasons) else 0
        )
        lines.append(f"{key}: " + " | ".join(parts) + f"; {n_missing} answer(s) read as missing")
    return lines
