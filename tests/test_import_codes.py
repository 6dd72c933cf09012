"""Answer codes mapped choice by choice: the silent misreads of issue 13 and round trips.

Answers in -> an export in the tool's own format (REDCap records + data dictionary,
SPSS .sav written by pyreadstat with value labels and user-missing values, Qualtrics
CSV with three header rows) -> ``import_study`` -> the same answers, with every
non-answer choice and missing code turned into missing with its reason. Hypothesis
varies the code order (forward, reversed), the first code, the extra non-answer
choices and the missing codes.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stseval.cli import main
from stseval.errors import DataValidationError
from stseval.importers import import_study
from stseval.instruments import load_instrument

EXTRA = ["Prefer not to say", "Not applicable", "Don't know"]
WAVES = {"baseline_arm_1": "pre", "followup_arm_1": "post"}


def _answers(key: str, n_workers: int, seed: int, extra: list[str], with_code: bool):
    """Worker x wave rows: instrument values, NaN blanks, EXTRA labels and -99 codes."""
    inst = load_instrument(key)
    rng = np.random.default_rng(seed)
    values = np.array(inst.response.values, dtype=object)
    grid = rng.choice(values, size=(2 * n_workers, inst.n_items)).astype(object)
    grid[rng.random(grid.shape) < 0.05] = None
    for label in extra:
        grid[rng.random(grid.shape) < 0.04] = label
    if with_code:
        grid[rng.random(grid.shape) < 0.03] = -99
    ids = [f"P{i // 2:02d}" for i in range(2 * n_workers)]
    events = list(WAVES) * n_workers
    return inst, ids, events, grid


def _codebook(inst, *, start: int, reverse: bool, extra: list[str]) -> dict[str, object]:
    """Label -> source code: the scale's anchors in (reversed) order, then the extras."""
    anchors = [inst.response.anchors[v] for v in inst.response.values]
    order = anchors[::-1] if reverse else anchors
    book = {lab: start + i for i, lab in enumerate(order)}
    for j, lab in enumerate(extra):
        book[lab] = 97 + j
    return book


def _cell_codes(inst, grid, book) -> np.ndarray:
    out = np.empty(grid.shape, dtype=object)
    anchors = inst.response.anchors
    for idx, v in np.ndenumerate(grid):
        if v is None:
            out[idx] = None
        elif isinstance(v, str):
            out[idx] = book[v]
        elif v == -99:
            out[idx] = -99
        else:
            out[idx] = book[anchors[int(v)]]
    return out


def _expected(grid) -> np.ndarray:
    return np.array(
        [
            [np.nan if (v is None or isinstance(v, str) or v == -99) else float(v) for v in row]
            for row in grid
        ]
    )


def _imported(result, inst, ids, events) -> np.ndarray:
    resp = result.study.responses.set_index(["worker_id", "wave"])
    keys = list(zip(ids, [WAVES[e] for e in events], strict=True))
    return resp.loc[keys, inst.item_columns].to_numpy(dtype=float)


def _mapping(key: str, prefix: str, **extra) -> dict:
    return {
        "worker_id": "record_id",
        "org_id": "agency",
        "wave": {"column": "event", "values": dict(WAVES)},
        "items": {key: {"prefix": prefix, **extra}},
        "missing_codes": {-99: "refused (project code)"},
    }


# -- writers, each in the tool's own format ----------------------------------------------
def _write_redcap(tmp, inst, ids, events, codes, book, *, prefix="q_"):
    choices = " | ".join(f"{c}, {lab}" for lab, c in sorted(book.items(), key=lambda kv: kv[1]))
    fields = [("record_id", "text", "Record ID", ""), ("agency", "text", "Agency", "")]
    fields += [(f"{prefix}{k}", "radio", f"Item {k}", choices) for k in range(1, inst.n_items + 1)]
    with open(tmp / "dict.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "field_name",
                "form_name",
                "field_type",
                "field_label",
                "select_choices_or_calculations",
                "identifier",
            ]
        )
        for name, ftype, label, ch in fields:
            w.writerow([name, "survey", ftype, label, ch, ""])
    with open(tmp / "records.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "record_id",
                "redcap_event_name",
                "agency",
                *[f"{prefix}{k}" for k in range(1, inst.n_items + 1)],
            ]
        )
        for i, (wid, ev) in enumerate(zip(ids, events, strict=True)):
            w.writerow(
                [wid, ev, "A" if i % 4 < 2 else "B", *["" if c is None else c for c in codes[i]]]
            )
    mapping = _mapping(inst.key, prefix)
    mapping["wave"]["column"] = "redcap_event_name"
    return tmp / "records.csv", mapping, {"dictionary": tmp / "dict.csv"}


def _write_spss(tmp, inst, ids, events, codes, book, *, prefix="q_"):
    frame = pd.DataFrame(
        {
            "record_id": ids,
            "event": events,
            "agency": ["A" if i % 4 < 2 else "B" for i in range(len(ids))],
        }
    )
    labels = {c: lab for lab, c in book.items()}
    labels[-99] = "Refused"
    for k in range(1, inst.n_items + 1):
        frame[f"{prefix}{k}"] = [np.nan if c is None else float(c) for c in codes[:, k - 1]]
    cols = [f"{prefix}{k}" for k in range(1, inst.n_items + 1)]
    pyreadstat.write_sav(
        frame,
        tmp / "s.sav",
        variable_value_labels={c: dict(labels) for c in cols},
        missing_ranges={c: [-99] for c in cols},
    )
    return tmp / "s.sav", _mapping(inst.key, prefix), {}


def _write_qualtrics(tmp, inst, ids, events, grid, *, prefix="Q1_", book=None):
    """Choice-text export (cells hold the labels the respondent saw) or, with ``book``, a
    numeric export of the recode values; the CSV has no labels, so the mapping's ``codes:``
    block says what each recode value is (as a user copies it from the survey's recode
    values)."""
    names = [
        "StartDate",
        "Status",
        "ResponseId",
        "record_id",
        "event",
        "agency",
        *[f"{prefix}{k}" for k in range(1, inst.n_items + 1)],
    ]
    anchors = inst.response.anchors
    with open(tmp / "q.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        w.writerow([f"Question {n}" for n in names])
        w.writerow([json.dumps({"ImportId": n}) for n in names])
        for i, (wid, ev) in enumerate(zip(ids, events, strict=True)):
            cells = []
            for v in grid[i]:
                if v is None:
                    cells.append("")
                elif isinstance(v, str):
                    cells.append(v if book is None else str(book[v]))
                elif v == -99:
                    cells.append("-99")
                else:
                    label = anchors[int(v)]
                    cells.append(label if book is None else str(book[label]))
            w.writerow(
                [
                    "2024-01-01 10:00:00",
                    "IP Address",
                    f"R_{i}",
                    wid,
                    ev,
                    "A" if i % 4 < 2 else "B",
                    *cells,
                ]
            )
    mapping = _mapping(inst.key, prefix)
    mapping["format"] = "qualtrics"
    if book is not None:
        mapping["items"][inst.key]["codes"] = {code: label for label, code in book.items()}
    return tmp / "q.csv", mapping, {}


def _round_trip(tmp, fmt, key, seed, start, reverse, extra, with_code):
    inst, ids, events, grid = _answers(key, 4, seed, extra, with_code)
    book = _codebook(inst, start=start, reverse=reverse, extra=extra)
    codes = _cell_codes(inst, grid, book)
    if fmt == "redcap":
        source, mapping, kw = _write_redcap(tmp, inst, ids, events, codes, book)
    elif fmt == "spss":
        source, mapping, kw = _write_spss(tmp, inst, ids, events, codes, book)
    elif fmt == "qualtrics_numeric":
        source, mapping, kw = _write_qualtrics(tmp, inst, ids, events, grid, book=book)
    else:
        source, mapping, kw = _write_qualtrics(tmp, inst, ids, events, grid)
    result = import_study(source, mapping, tmp / "study", pseudonymize=False, **kw)
    np.testing.assert_array_equal(_imported(result, inst, ids, events), _expected(grid))
    n_extra = sum(isinstance(v, str) for v in grid.ravel())
    n_code = sum((not isinstance(v, str)) and v == -99 for v in grid.ravel())
    reasons = result.missing_reasons
    assert len(reasons) == n_extra + n_code
    if n_extra:
        assert set(reasons.loc[reasons["code"] != "-99", "reason"]) <= set(EXTRA)
    return result


_SETTINGS = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_CASES = dict(
    key=st.sampled_from(["stss", "pcl5"]),
    seed=st.integers(0, 10_000),
    start=st.integers(0, 2),
    reverse=st.booleans(),
    extra=st.lists(st.sampled_from(EXTRA), unique=True, max_size=3),
    with_code=st.booleans(),
)


@pytest.mark.parametrize("fmt", ["redcap", "spss"])
@_SETTINGS
@given(**_CASES)
def test_round_trip_any_code_order(
    fmt, key, seed, start, reverse, extra, with_code, tmp_path_factory
):
    tmp = tmp_path_factory.mktemp(fmt)
    result = _round_trip(tmp, fmt, key, seed, start, reverse, extra, with_code)
    table = result.code_map
    decided = table.loc[table["label"].isin(EXTRA), "decided_by"]
    assert set(decided) <= {"source labels"}
    if reverse:
        assert any("run opposite to the instrument's anchors" in n for n in result.notes)


@_SETTINGS
@given(key=_CASES["key"], seed=_CASES["seed"], extra=_CASES["extra"], with_code=st.booleans())
def test_round_trip_qualtrics_choice_text(key, seed, extra, with_code, tmp_path_factory):
    _round_trip(tmp_path_factory.mktemp("q"), "qualtrics", key, seed, 0, False, extra, with_code)


@_SETTINGS
@given(**_CASES)
def test_round_trip_qualtrics_recode_values_with_a_codes_block(
    key, seed, start, reverse, extra, with_code, tmp_path_factory
):
    tmp = tmp_path_factory.mktemp("qn")
    result = _round_trip(tmp, "qualtrics_numeric", key, seed, start, reverse, extra, with_code)
    assert set(result.code_map["decided_by"]) <= {"mapping file", "missing code"}
    if with_code and (result.missing_reasons["code"] == "-99").any():
        assert "missing code" in set(result.code_map["decided_by"])


# -- the two silent misreads of issue 13, as they were reported ------------------------
def test_redcap_reversed_choices_with_prefer_not_to_say(tmp_path):
    """``1, Very often | ... | 5, Never | 9, Prefer not to say`` on ProQOL was read as 1 = Never."""
    inst = load_instrument("proqol")
    book = {
        "Very often": 1,
        "Often": 2,
        "Sometimes": 3,
        "Rarely": 4,
        "Never": 5,
        "Prefer not to say": 9,
    }
    _, ids, events, grid = _answers("proqol", 6, 11, ["Prefer not to say"], False)
    codes = _cell_codes(inst, grid, book)
    source, mapping, kw = _write_redcap(tmp_path, inst, ids, events, codes, book, prefix="pq_")
    result = import_study(source, mapping, tmp_path / "st", pseudonymize=False, **kw)
    want = _expected(grid)
    np.testing.assert_array_equal(_imported(result, inst, ids, events), want)
    # code 1 ("Very often") is 5 on ProQOL; a reverse-keyed item is scored from that 5
    item1 = result.code_map[result.code_map["item"] == 1].set_index("code")
    assert item1.loc["1", "value"] == 5.0 and item1.loc["5", "value"] == 1.0
    assert np.isnan(item1.loc["9", "value"]) and item1.loc["9", "missing_reason"] == (
        "Prefer not to say"
    )
    assert set(result.missing_reasons["reason"]) == {"Prefer not to say"}
    report = (tmp_path / "st" / "import_report.md").read_text(encoding="utf-8")
    assert "| 9 | Prefer not to say | missing (Prefer not to say) | source labels |" in report
    assert "| 1 | Very often | 5 | source labels |" in report
    assert "run opposite to the instrument's anchors" in report


def test_spss_not_applicable_label_when_nobody_answered_zero(tmp_path):
    """Labels 0-4 plus ``7 Not applicable``, no 0 in the data: "Rarely" (1) was read as 1."""
    rng = np.random.default_rng(3)
    n = 12
    frame = pd.DataFrame(
        {
            "record_id": [f"P{i // 2}" for i in range(n)],
            "event": list(WAVES) * (n // 2),
            "agency": ["A" if i % 4 < 2 else "B" for i in range(n)],
        }
    )
    labels = {
        0: "Never",
        1: "Rarely",
        2: "Occasionally",
        3: "Often",
        4: "Very often",
        7: "Not applicable",
    }
    for k in range(1, 18):
        frame[f"s{k}"] = rng.integers(1, 5, n).astype(float)  # never a 0
    frame.loc[2, "s4"] = 7.0
    pyreadstat.write_sav(
        frame, tmp_path / "s.sav", variable_value_labels={f"s{k}": labels for k in range(1, 18)}
    )
    result = import_study(
        tmp_path / "s.sav", _mapping("stss", "s"), tmp_path / "st", pseudonymize=False
    )
    want = frame[[f"s{k}" for k in range(1, 18)]].to_numpy() + 1
    want[2, 3] = np.nan
    resp = result.study.responses
    got = (
        resp.set_index(["worker_id", "wave"])
        .loc[list(zip(frame["record_id"], frame["event"].map(WAVES), strict=True))][
            [f"stss_{k:02d}" for k in range(1, 18)]
        ]
        .to_numpy(dtype=float)
    )
    np.testing.assert_array_equal(got, want)
    assert result.missing_reasons[["column", "code", "reason"]].values.tolist() == [
        ["stss_04", "7", "Not applicable"]
    ]


def test_spss_user_missing_range_97_thru_99(tmp_path):
    """``MISSING VALUES (97 THRU 99)``: any code in the range is missing with its reason."""
    n = 8
    frame = pd.DataFrame(
        {
            "record_id": [f"P{i // 2}" for i in range(n)],
            "event": list(WAVES) * (n // 2),
            "agency": ["A"] * 4 + ["B"] * 4,
        }
    )
    for k in range(1, 18):
        frame[f"s{k}"] = float(1 + k % 5)
    frame.loc[0, "s1"], frame.loc[1, "s2"], frame.loc[2, "s3"] = 97.0, 98.0, 99.0
    labels = {
        1: "Never",
        2: "Rarely",
        3: "Occasionally",
        4: "Often",
        5: "Very often",
        98: "Refused",
    }
    pyreadstat.write_sav(
        frame,
        tmp_path / "s.sav",
        variable_value_labels={f"s{k}": labels for k in range(1, 18)},
        missing_ranges={f"s{k}": [{"lo": 97.0, "hi": 99.0}] for k in range(1, 18)},
    )
    result = import_study(
        tmp_path / "s.sav", _mapping("stss", "s"), tmp_path / "st", pseudonymize=False
    )
    reasons = result.missing_reasons.sort_values("code")
    assert reasons["code"].tolist() == ["97", "98", "99"]
    assert reasons["reason"].tolist() == [
        "user-missing (SPSS: 97 thru 99)",
        "Refused",
        "user-missing (SPSS: 97 thru 99)",
    ]
    assert result.study.responses[["stss_01", "stss_02", "stss_03"]].isna().sum().sum() == 3


def test_spss_discrete_user_missing_is_per_column(tmp_path):
    """A user-missing 5 in one variable must not blank the answer 5 in another."""
    n = 4
    frame = pd.DataFrame(
        {"record_id": ["P0", "P0", "P1", "P1"], "event": list(WAVES) * 2, "agency": ["A"] * n}
    )
    for k in range(1, 18):
        frame[f"s{k}"] = 5.0
    pyreadstat.write_sav(frame, tmp_path / "s.sav", missing_ranges={"s1": [5]})
    result = import_study(
        tmp_path / "s.sav", _mapping("stss", "s"), tmp_path / "st", pseudonymize=False
    )
    resp = result.study.responses
    assert resp["stss_01"].isna().all() and (resp["stss_02"] == 5).all()
    assert set(result.missing_reasons["reason"]) == {"user-missing (SPSS: 5)"}


def test_codes_block_and_synonyms_in_the_mapping(tmp_path):
    inst = load_instrument("stss")
    book = {"Nie": 1, "Selten": 2, "Manchmal": 3, "Oft": 4, "Sehr oft": 5, "Keine Angabe": 6}
    _, ids, events, grid = _answers("stss", 4, 5, [], False)
    german = dict(
        zip(["Never", "Rarely", "Occasionally", "Often", "Very often"], list(book)[:5], strict=True)
    )
    codes = _cell_codes(inst, grid, {a: book[g] for a, g in german.items()})
    source, mapping, kw = _write_redcap(tmp_path, inst, ids, events, codes, book)
    with pytest.raises(DataValidationError, match="none of the source's labels"):
        import_study(source, mapping, tmp_path / "a", pseudonymize=False, **kw)
    synonyms = {g: a for a, g in german.items()}
    mapping["items"]["stss"]["synonyms"] = {**synonyms, "Keine Angabe": 1}  # wrong on purpose
    with pytest.raises(DataValidationError, match="both stand for the answer 1"):
        import_study(source, mapping, tmp_path / "b", pseudonymize=False, **kw)
    mapping["items"]["stss"]["synonyms"] = synonyms
    result = import_study(source, mapping, tmp_path / "c", pseudonymize=False, **kw)
    np.testing.assert_array_equal(_imported(result, inst, ids, events), _expected(grid))
    assert any("6 'Keine Angabe' is not an answer" in n for n in result.notes)
    del mapping["items"]["stss"]["synonyms"]
    mapping["items"]["stss"]["codes"] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 7}
    with pytest.raises(DataValidationError, match=r"outside stss's answers \(5: 7\)"):
        import_study(source, mapping, tmp_path / "d", pseudonymize=False, **kw)
    mapping["items"]["stss"]["codes"] = {1: "Never", 2: 2, 3: 3, 4: 4, 5: 5, 6: "no answer"}
    result = import_study(source, mapping, tmp_path / "e", pseudonymize=False, **kw)
    np.testing.assert_array_equal(_imported(result, inst, ids, events), _expected(grid))
    assert set(result.code_map["decided_by"]) == {"mapping file"}
    assert result.code_map.set_index("code").loc["6", "missing_reason"].iloc[0] == "no answer"


def test_unknown_label_among_anchors_stops_naming_item_codes_labels(tmp_path, capsys):
    inst = load_instrument("stss")
    book = {"Never": 1, "Rarely": 2, "Sometimes": 3, "Often": 4, "Very often": 5}
    _, ids, events, grid = _answers("stss", 4, 9, [], False)
    codes = _cell_codes(inst, grid, {**book, "Occasionally": 3})
    source, mapping, kw = _write_redcap(tmp_path, inst, ids, events, codes, book)
    (tmp_path / "m.yaml").write_text(json.dumps(mapping), encoding="utf-8")
    code = _import(tmp_path, source, kw)
    err = capsys.readouterr().err
    assert code == 2
    assert "column q_1, q_2" in err and "3 'Sometimes'" in err and "stss:" in err
    assert "1, Never | 2, Rarely | 3, Sometimes" in err and "synonyms" in err
    assert not (tmp_path / "o").exists()


def test_cli_prints_the_short_code_map_and_writes_the_report(tmp_path, capsys):
    inst = load_instrument("stss")
    book = _codebook(inst, start=0, reverse=False, extra=["Don't know"])
    _, ids, events, grid = _answers("stss", 4, 2, ["Don't know"], False)
    source, mapping, kw = _write_redcap(
        tmp_path, inst, ids, events, _cell_codes(inst, grid, book), book
    )
    (tmp_path / "m.yaml").write_text(json.dumps(mapping), encoding="utf-8")
    code = _import(tmp_path, source, kw)
    out = capsys.readouterr().out
    assert code == 0
    assert "stss: items 1-17: 0->1, 1->2, 2->3, 3->4, 4->5 (source labels)" in out
    assert '97 "Don\'t know" -> missing' in out
    report = (tmp_path / "o" / "import_report.md").read_text(encoding="utf-8")
    n_dk = sum(v == "Don't know" for v in grid.ravel())
    assert f"| 97 | Don't know | {n_dk} |" in report


def _import(tmp_path, source, kw) -> int:
    """`stseval import` of a REDCap export with the mapping m.yaml and its dictionary."""
    args = ["import", str(source), "-m", str(tmp_path / "m.yaml"), "-d", str(kw["dictionary"])]
    return main([*args, "--out", str(tmp_path / "o"), "--no-pseudonymize"])
