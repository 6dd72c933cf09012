"""Tests for stseval.privacy: pseudonyms, cell suppression, leak scans, CSV safety.

Reference values are computed independently with the standard library
(`hmac.new(key, id.encode(), hashlib.sha256).hexdigest()[:12]`) or worked by hand
on small arm x wave tables.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import re
import time

import numpy as np
import pandas as pd
import pytest

from stseval.errors import DataValidationError, StsevalError, UsageError
from stseval.privacy import (
    PrivacyLeakError,
    assert_no_leaks,
    check_min_cell,
    drop_identifiers,
    load_key,
    neutralize_formulas,
    pseudonymize,
    pseudonymize_frame,
    safe_csv,
    scan_for_leaks,
    suppress,
    suppress_mask,
)

KEY = b"0123456789abcdef-test-key-not-secret"
OTHER_KEY = b"fedcba9876543210-another-test-key"


def _ref(key: bytes, text: str, prefix: str = "W", length: int = 12) -> str:
    return f"{prefix}-" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]


# --------------------------------------------------------------------------- pseudonyms


def test_pseudonymize_matches_independent_hmac():
    ids = pd.Series(
        ["W0001", " W0002 ", np.nan, "A-17", "W0001"], index=[10, 11, 12, 13, 14], name="worker_id"
    )
    out = pseudonymize(ids, KEY)
    assert list(out.index) == [10, 11, 12, 13, 14] and out.name == "worker_id"
    assert out[10] == _ref(KEY, "W0001")
    assert out[11] == _ref(KEY, "W0002")  # whitespace stripped
    assert pd.isna(out[12])  # NaN stays NaN
    assert out[13] == _ref(KEY, "A-17")
    assert out[10] == out[14]  # deterministic
    assert re.fullmatch(r"W-[0-9a-f]{12}", out[10])


def test_pseudonymize_numbers_keys_prefix_length():
    # integral floats (from a column with NaN) agree with the integer / string form
    a = pseudonymize([101, 101.0, "101"], KEY, prefix="T", length=16)
    assert a.nunique() == 1 and a[0] == _ref(KEY, "101", "T", 16)
    other = pseudonymize(["W0001", "W0002"], OTHER_KEY)
    assert (other != pseudonymize(["W0001", "W0002"], KEY)).all()
    assert pseudonymize(["x1"], KEY, prefix="")[0] == _ref(KEY, "x1")[2:]
    with pytest.raises(UsageError):
        pseudonymize(["W1"], b"short")
    with pytest.raises(UsageError):
        pseudonymize(["W1"], KEY, length=4)
    with pytest.raises(UsageError):
        pseudonymize("W0001", KEY)


def test_load_key_env_file_and_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("STSEVAL_TEST_KEY", KEY.decode())
    assert load_key(env_var="STSEVAL_TEST_KEY") == KEY
    path = tmp_path / "stseval.key"
    path.write_bytes(OTHER_KEY + b"\n")
    path.chmod(0o600)
    assert load_key(env_var="STSEVAL_TEST_KEY", key_file=path) == OTHER_KEY  # file wins

    monkeypatch.delenv("STSEVAL_TEST_KEY")
    with pytest.raises(UsageError, match="STSEVAL_TEST_KEY"):
        load_key(env_var="STSEVAL_TEST_KEY")
    with pytest.raises(UsageError, match="does not exist"):
        load_key(key_file=tmp_path / "nope.key")

    short = "tooShort-9Xq"
    monkeypatch.setenv("STSEVAL_TEST_KEY", short)
    with pytest.raises(UsageError) as err:
        load_key(env_var="STSEVAL_TEST_KEY")
    assert short not in str(err.value) and "16 bytes" in str(err.value)
    path.write_bytes(short.encode())
    with pytest.raises(UsageError) as err:
        load_key(key_file=path)
    assert short not in str(err.value)


def test_key_never_in_error_text_or_output():
    with pytest.raises(UsageError) as err:
        pseudonymize(["W1"], b"s3cr3t-short")
    assert "s3cr3t" not in str(err.value)
    out = pseudonymize_frame(pd.DataFrame({"worker_id": ["W0001"]}), KEY)
    assert KEY.decode() not in out.to_csv()


def test_pseudonymize_frame_copy_and_drop_identifiers():
    df = pd.DataFrame(
        {
            "worker_id": ["W0001", "W0002"],
            "team_id": ["t1", "t1"],
            "email": ["a@x.org", "b@x.org"],
            "score": [1.0, 2.0],
        }
    )
    before = df.copy()
    out = pseudonymize_frame(df, KEY)
    pd.testing.assert_frame_equal(df, before)  # caller's frame unchanged
    assert out["worker_id"].tolist() == [_ref(KEY, "W0001"), _ref(KEY, "W0002")]
    assert out["team_id"].tolist() == [_ref(KEY, "t1", "T")] * 2
    assert out["email"].tolist() == df["email"].tolist()  # not in the mapping
    with pytest.raises(UsageError, match="org_id"):
        pseudonymize_frame(df, KEY, columns={"org_id": "O"})
    dropped = drop_identifiers(df, ["email", "phone"])
    assert list(dropped.columns) == ["worker_id", "team_id", "score"]
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(UsageError, match="phone"):
        drop_identifiers(df, ["email", "phone"], missing="raise")


# --------------------------------------------------------------------------- suppression


def _arm_wave_table() -> pd.DataFrame:
    # Hand-built: wave "pre" has a small arm A (n=3); totals are the sums of the arms.
    n = {
        ("pre", "control"): 40,
        ("pre", "A"): 3,
        ("pre", "B"): 12,
        ("post", "control"): 38,
        ("post", "A"): 20,
        ("post", "B"): 14,
    }
    rows = []
    for wave in ("pre", "post"):
        total = sum(v for (w, _), v in n.items() if w == wave)
        for arm in ("control", "A", "B"):
            k = n[(wave, arm)]
            rows.append(
                {"wave": wave, "arm": arm, "n": k, "mean": 2.0 + k / 100, "pct": 100 * k / total}
            )
        rows.append({"wave": wave, "arm": "Total", "n": total, "mean": 2.2, "pct": 100.0})
    return pd.DataFrame(rows)


def test_suppress_primary_and_complementary_within_wave():
    table = _arm_wave_table()
    before = table.copy()
    out, audit = suppress(table, group_cols=["wave"], total_rows=table["arm"].eq("Total"))
    pd.testing.assert_frame_equal(table, before)

    hidden = out.loc[out["suppressed"], ["wave", "arm"]].apply(tuple, axis=1).tolist()
    # arm A (n=3) is primary; the next-smallest arm in that wave (B, n=12) is the complement
    assert hidden == [("pre", "A"), ("pre", "B")]
    for col in ("n", "mean", "pct"):
        assert out.loc[out["suppressed"], col].isna().all()
        assert out.loc[~out["suppressed"], col].notna().all()
    assert out.loc[1, "note"] == "suppressed: n < 5"
    assert out.loc[2, "note"] == "suppressed: protects another cell"

    assert list(audit.columns) == ["table", "row", "column", "reason"]
    assert set(audit["row"]) == {1, 2}
    assert set(audit.loc[audit["row"] == 1, "reason"]) == {"primary: n < min_cell 5"}
    assert set(audit.loc[audit["row"] == 2, "reason"]) == {"complementary: protects row 1"}
    assert set(audit["column"]) == {"n", "mean", "pct"}
    assert not audit.astype(str).apply(lambda c: c.str.contains("n=3")).any().any()

    check_min_cell(out, "n", 5)  # no visible count < 5
    # The total minus the visible arms gives only the SUM of the hidden cells (15),
    # never the small cell alone: every wave has 0 or >= 2 hidden arms.
    cells = out[out["arm"] != "Total"]
    per_wave = cells.groupby("wave")["suppressed"].sum()
    assert set(per_wave) <= {0, 2}
    pre = out[out["wave"] == "pre"]
    gap = (
        pre.loc[pre["arm"] == "Total", "n"].item()
        - pre.loc[(pre["arm"] != "Total") & ~pre["suppressed"], "n"].sum()
    )
    assert gap == 15 and gap != 3


def test_suppress_crossing_sets_and_min_cell_11():
    table = _arm_wave_table()
    out, audit = suppress(
        table, group_cols=[["wave"], ["arm"]], total_rows=table["arm"].eq("Total")
    )
    cells = out[out["arm"] != "Total"]
    for key in ("wave", "arm"):
        assert set(cells.groupby(key)["suppressed"].sum()) <= {0, 2, 3}
    assert audit["reason"].str.startswith("primary").sum() == 3  # one row x 3 columns

    out11, audit11 = suppress(
        table, min_cell=11, group_cols="wave", total_rows=table["arm"].eq("Total")
    )
    check_min_cell(out11, "n", 11)
    # pre: A=3 < 11 primary, complement B=12; post: nothing below 11
    assert out11.loc[out11["suppressed"], "arm"].tolist() == ["A", "B"]
    assert "primary: n < min_cell 11" in set(audit11["reason"])
    assert out11.loc[1, "note"] == "suppressed: n < 11"
    with pytest.raises(PrivacyLeakError):
        check_min_cell(table, "n", 11)


def test_suppress_without_sets_and_with_percentages():
    # Independent cells (no sets, no totals, no percentages): primary only.
    t = pd.DataFrame({"team": ["a", "b", "c"], "n": [2, 30, 0], "mean": [1.0, 2.0, np.nan]})
    out, audit = suppress(t)
    assert out["suppressed"].tolist() == [True, False, False]  # zero counts stay visible
    assert set(audit["column"]) == {"n", "mean"}
    # A percentage column lets a reader recover the hidden cell: complement needed.
    t["pct"] = 100 * t["n"] / t["n"].sum()
    out, _ = suppress(t)
    assert out["suppressed"].tolist() == [True, True, False]
    # Re-running on the output changes nothing: earlier flags count as hidden.
    again, audit2 = suppress(out)
    pd.testing.assert_frame_equal(again[["n", "suppressed"]], out[["n", "suppressed"]])
    assert audit2.empty and list(audit2.columns) == ["table", "row", "column", "reason"]
    # Bad arguments are clear errors.
    with pytest.raises(UsageError, match="count_col"):
        suppress(t, count_col="count")
    with pytest.raises(UsageError, match="min_cell"):
        suppress(t, min_cell=0)
    with pytest.raises(DataValidationError):
        suppress(pd.DataFrame({"n": [-1, 4]}))


def test_check_min_cell_message_and_suppress_mask():
    t = pd.DataFrame({"n": [3, 10, np.nan, 0]}, index=["a", "b", "c", "d"])
    with pytest.raises(PrivacyLeakError) as err:
        check_min_cell(t, "n", 5, name="table 2")
    assert isinstance(err.value, StsevalError)
    assert "row a" in str(err.value) and "table 2" in str(err.value)
    assert len(err.value.findings) == 1
    assert suppress_mask(t["n"], 5).tolist() == [True, False, False, False]
    assert suppress_mask([1, 5, 11], 11).tolist() == [True, True, False]
    m = suppress_mask(pd.DataFrame({"x": [1, 7], "y": [6, np.nan]}), 7)
    assert m.to_numpy().tolist() == [[True, True], [False, False]]


# --------------------------------------------------------------------------- leak scan

RAW_IDS = [f"W{i:04d}" for i in range(1, 301)]
PSEUDO_IDS = pseudonymize(RAW_IDS, KEY).tolist()
FREE_TEXT = [
    "I keep dreaming about the calls from last winter",
    "Nobody asked how we were doing after the fire",
    "ok",  # too short to scan
    np.nan,
]


def _image(nbytes: int, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    return base64.b64encode(rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()).decode()


def _clean_report(img: str) -> str:
    summary = pd.DataFrame(
        {"arm": ["control", "program"], "n": [40, 38], "mean": [2.1, 1.8]}
    ).to_html(index=False)
    return (
        f"<html><body><h1>Program evaluation</h1><p>Staff reported less stress.</p>"
        f'{summary}<img src="data:image/png;base64,{img}"></body></html>'
    )


def test_clean_report_passes_and_plants_are_caught():
    clean = _clean_report(_image(20_000))
    assert scan_for_leaks(clean, ids=RAW_IDS + PSEUDO_IDS, free_text=FREE_TEXT) == []
    assert_no_leaks(clean, ids=RAW_IDS + PSEUDO_IDS, free_text=FREE_TEXT)

    plants = {
        "raw": clean.replace("</h1>", "</h1><p>Outlier: worker W0042.</p>"),
        "pseudo": clean.replace("</h1>", f"</h1><td>{PSEUDO_IDS[7]}</td>"),
        "free": clean.replace(
            "</h1>",
            "</h1><blockquote>“nobody ASKED how we were\n   doing "
            "after the <em>fire</em>”</blockquote>",
        ),
        "attr": clean.replace("<h1>", '<h1 id="w0042">'),  # hidden in HTML source
    }
    expect = {"raw": "W0042", "pseudo": PSEUDO_IDS[7], "free": FREE_TEXT[1], "attr": "W0042"}
    for name, text in plants.items():
        findings = scan_for_leaks(text, ids=RAW_IDS + PSEUDO_IDS, free_text=FREE_TEXT)
        assert [f.value for f in findings] == [expect[name]], name
        with pytest.raises(PrivacyLeakError) as err:
            assert_no_leaks(
                text, ids=RAW_IDS + PSEUDO_IDS, free_text=FREE_TEXT, source=f"report-{name}"
            )
        message = str(err.value)
        assert f"report-{name}" in message
        assert expect[name] not in message  # value masked
        assert repr(expect[name][:2] + "…") in message


def test_id_tokens_are_whole_and_markdown_plain_text():
    md = "# Report\n\nSee W00420 and 2023-10-12 and W0042x. Also file worker-W0043.csv\n"
    hits = [f.value for f in scan_for_leaks(md, ids=["W0042", "W0043", "2023", "10-12"])]
    assert hits == ["W0043"]
    assert scan_for_leaks("n = 1234.5", ids=["1234"]) == []
    assert [f.value for f in scan_for_leaks("n = 1234", ids=[1234])] == ["1234"]
    with pytest.warns(UserWarning, match="shorter than min_id_length"):
        assert scan_for_leaks("W1 W2", ids=["W1", "W2"]) == []


def test_base64_images_do_not_cause_false_positives():
    img = _image(600_000)
    # IDs chosen to occur as whole tokens (between '+' and '/') inside the base64
    # payload: a scan that did not skip images would report every one of them.
    ids = sorted({t for t in re.split(r"[+/=]", img) if 4 <= len(t) <= 8})[:200]
    assert len(ids) >= 50
    report = _clean_report(img)
    notebook = '{"outputs": [{"data": {"image/png": "' + img[:200_000] + '\\n"}}]}'
    assert scan_for_leaks(report, ids=ids) == []
    assert scan_for_leaks(notebook, ids=ids) == []


def test_row_level_tables_are_caught(tmp_path):
    per_worker = pd.DataFrame({"worker_id": RAW_IDS[:5], "score": [1, 2, 3, 4, 5]})
    kinds = [f.kind for f in scan_for_leaks(per_worker.to_html(index=False))]
    assert kinds == ["identifier_column"]
    md = "| Respondent | score |\n|---|---|\n| x | 1 |\n"
    assert [f.kind for f in scan_for_leaks(md)] == ["identifier_column"]
    # many rows keyed by unknown ID-like values (IDs not passed to the scan)
    keyed = pd.DataFrame(
        {"who": pseudonymize([f"Q{i}" for i in range(30)], KEY), "score": range(30)}
    ).to_html(index=False)
    assert [f.kind for f in scan_for_leaks(keyed, max_rows=20)] == ["row_level_table"]
    assert scan_for_leaks(keyed, max_rows=50) == []
    path = tmp_path / "export.csv"
    pd.DataFrame({"Email": ["a@x.org"], "n": [1]}).to_csv(path, index=False)
    findings = scan_for_leaks(path)
    assert [f.kind for f in findings] == ["identifier_column"]
    assert "Email" in str(findings[0])
    kinds = {f.kind for f in scan_for_leaks(str(path), ids=["a@x.org"])}
    assert kinds == {"identifier_column", "id"}
    with pytest.raises(UsageError, match="does not exist"):
        scan_for_leaks(str(tmp_path / "missing.html"))


def test_large_report_scans_quickly():
    rng = np.random.default_rng(7)
    words = np.array("staff felt tired after shifts the program helped sleep team".split())
    paras = "\n".join("<p>" + " ".join(rng.choice(words, 25)) + "</p>" for _ in range(30_000))
    report = _clean_report(_image(3_000_000)).replace("</h1>", "</h1>" + paras)
    assert len(report) > 5_000_000
    answers = [" ".join(rng.choice(words, 10)) + f" code{i}" for i in range(1_000)]
    start = time.perf_counter()
    assert scan_for_leaks(report, ids=RAW_IDS + PSEUDO_IDS, free_text=answers) == []
    assert time.perf_counter() - start < 5


# --------------------------------------------------------------------------- CSV safety


def test_neutralize_formulas_and_safe_csv(tmp_path):
    df = pd.DataFrame(
        {
            "text": ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "-1.5", "+2", "fine", None],
            "num": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, -10.0],
        }
    )
    before = df.copy()
    out = neutralize_formulas(df)
    pd.testing.assert_frame_equal(df, before)
    assert out["text"].tolist()[:6] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert out["text"].tolist()[6:9] == ["-1.5", "+2", "fine"] and pd.isna(out["text"].iloc[9])
    pd.testing.assert_series_equal(out["num"], df["num"])
    labelled = neutralize_formulas(pd.DataFrame({"=HYPERLINK(1)": ["a"]}))
    assert list(labelled.columns) == ["'=HYPERLINK(1)"]

    path = tmp_path / "out.csv"
    safe_csv(df, path, index=False)
    pd.testing.assert_frame_equal(df, before)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["text", "num"]
    assert [r[0] for r in rows[1:7]] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert rows[7] == ["-1.5", "7.0"] and rows[1][1] == "-1.5"
    assert not any(r[0].startswith(("=", "+c", "-2", "@", "\t", "\r")) for r in rows[1:])
    # a carriage return inside a cell cannot split the row and start a new "=..." cell
    text = safe_csv(pd.DataFrame({"t": ["x\r=cmd"], "n": [1]}), None, index=False)
    assert text == '"t","n"\n"x\r=cmd",1\n'
    back = pd.read_csv(path)
    assert back["text"].tolist()[6:9] == ["-1.5", "+2", "fine"]
    pd.testing.assert_series_equal(back["num"], df["num"])


def test_a_leak_error_survives_pickling_as_it_travels_back_from_a_worker():
    import pickle

    from stseval._leakscan import LeakFinding, PrivacyLeakError

    finding = LeakFinding(kind="id", shown="W0…1", line=3, detail="an ID", value="W0001")
    err = PrivacyLeakError("report of organization O01", [finding])
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is PrivacyLeakError and str(back) == str(err)
    assert back.source == err.source and back.findings == err.findings
