"""Importers: study -> export -> import gives identical scores; privacy; formats; mapping; checks.

The round-trip reference is the small synthetic study (data/synthetic/small): exported with
stseval.importers.export_redcap / export_qualtrics, imported back, scored with stseval.score;
every score of every worker x wave must be identical (and the tables equal).
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from stseval.cli import main
from stseval.errors import DataValidationError, UsageError
from stseval.importers import (
    export_qualtrics,
    export_redcap,
    import_study,
    load_mapping,
    mapping_template,
    read_source,
)
from stseval.study import Study
from stseval.validate import arm_wave_counts, check_study, study_warnings

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "data" / "synthetic" / "small"
SHIPPED = ROOT / "data" / "synthetic" / "exports"
KEY = "test-key-0123456789abcdef-not-secret"
KEYS = ["worker_id", "wave"]


@pytest.fixture(scope="module")
def study():
    if SMALL.is_dir():
        return Study.from_dir(SMALL)
    import stseval  # the shipped study is missing: simulate one like it

    return stseval.simulate(stseval.StudyDesign.small(), seed=1)


@pytest.fixture(scope="module")
def exports(study, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return {
        "redcap": export_redcap(study, base / "redcap", seed=3),
        "redcap_labels": export_redcap(study, base / "redcap_labels", labels=True, seed=3),
        "redcap_repeating": export_redcap(
            study, base / "rep", layout="repeating", labels=True, api_dictionary=True, seed=4
        ),
        "qualtrics": export_qualtrics(study, base / "q", seed=5),
        "qualtrics_text": export_qualtrics(study, base / "qt", choice_text=True, seed=5),
    }


def _hashes(paths) -> dict:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def _scores(st, cols=None) -> pd.DataFrame:
    cols = cols or st.score_columns()
    return st.scored()[KEYS + cols].sort_values(KEYS).reset_index(drop=True)


def _same_study(a, b):
    pd.testing.assert_frame_equal(_scores(a), _scores(b, a.score_columns()))
    for name in ("workers", "orgs", "interventions", "org_metrics"):
        x, y = getattr(a, name), getattr(b, name)
        cols = list(x.columns[:2])
        pd.testing.assert_frame_equal(
            x.sort_values(cols).reset_index(drop=True), y.sort_values(cols).reset_index(drop=True)
        )
    pd.testing.assert_frame_equal(
        a.responses.sort_values(KEYS).reset_index(drop=True),
        b.responses.sort_values(KEYS).reset_index(drop=True),
    )


def _run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["redcap", "redcap_labels", "redcap_repeating"])
def test_redcap_round_trip_gives_identical_scores(which, study, exports, tmp_path, capsys):
    p = exports[which]
    inputs = [p["records"], p["dictionary"], p["mapping"], p["orgs"]]
    before = _hashes(inputs)
    code, out, err = _run(
        [
            "import",
            p["records"],
            "--dictionary",
            p["dictionary"],
            "--mapping",
            p["mapping"],
            "--out",
            tmp_path / "st",
            "--no-pseudonymize",
        ],
        capsys,
    )
    assert code == 0, err
    assert f"{len(study.responses)} survey responses" in out
    assert "Identifier columns dropped: first_name, last_name, email" in out
    _same_study(study, Study.from_dir(tmp_path / "st"))
    assert _hashes(inputs) == before


@pytest.mark.parametrize("which", ["qualtrics", "qualtrics_text"])
def test_qualtrics_round_trip_gives_identical_scores(which, study, exports, tmp_path):
    p = exports[which]
    result = import_study(p["responses"], p["mapping"], tmp_path / "st", pseudonymize=False)
    assert any("preview" in n for n in result.notes)  # the survey-preview row is left out
    _same_study(study, result.study)
    text = "".join(f.read_text() for f in (tmp_path / "st").glob("*.csv"))
    assert "@example.org" not in text and "192.0.2." not in text and "EMP-" not in text


def test_missing_codes_become_missing_with_reason(exports, tmp_path):
    p = exports["redcap"]
    result = import_study(
        p["records"], p["mapping"], tmp_path / "st", dictionary=p["dictionary"], pseudonymize=False
    )
    raw = pd.read_csv(p["records"], dtype=str)
    n_codes = int((raw.filter(regex=r"^(stss|proqol|org_guidance)_\d+$") == "-99").sum().sum())
    reasons = pd.read_csv(tmp_path / "st" / "missing_reasons.csv", dtype=str)
    assert n_codes > 0 and len(reasons) == n_codes
    assert set(reasons["reason"]) == {"declined"} and set(reasons["code"]) == {"-99"}
    assert reasons["column"].str.match(r"^[a-z_]+_\d{2}$").all()
    assert result.study.provenance["missing_codes"] == {"declined": n_codes}


def test_pseudonymized_import_maps_ids_by_hmac_and_hides_key(
    study, exports, tmp_path, capsys, monkeypatch
):
    p = exports["redcap"]
    monkeypatch.setenv("STSEVAL_KEY", KEY)
    code, _, err = _run(
        ["import", p["records"], "-d", p["dictionary"], "-m", p["mapping"], "-o", tmp_path / "st"],
        capsys,
    )
    assert code == 0, err
    got = Study.from_dir(tmp_path / "st")

    def pseudo(text, prefix):  # independent HMAC-SHA256 (RFC 2104), 12 hex characters
        return f"{prefix}-" + hmac.new(KEY.encode(), text.encode(), hashlib.sha256).hexdigest()[:12]

    ref = study.scored()[KEYS + study.score_columns()].copy()
    ref["worker_id"] = ref["worker_id"].map(lambda w: pseudo(w, "W"))
    pd.testing.assert_frame_equal(ref.sort_values(KEYS).reset_index(drop=True), _scores(got))
    orgs = study.workers.set_index("worker_id")["org_id"]
    want = {pseudo(w, "W"): pseudo(o, "O") for w, o in orgs.items()}
    assert got.workers.set_index("worker_id")["org_id"].to_dict() == want
    teams = study.workers.assign(t=study.workers["org_id"] + "\x1f" + study.workers["team_id"])
    assert set(got.workers["team_id"]) == {pseudo(t, "T") for t in teams["t"]}
    for f in (tmp_path / "st").iterdir():
        text = f.read_text(encoding="utf-8")
        assert KEY not in text
        assert not any(w in text for w in study.workers["worker_id"].head(20))
    assert got.provenance["pseudonymized"] is True
    assert set(got.orgs["name"]) == set(study.orgs["name"])  # keep_org_names: true


def test_org_names_replaced_when_pseudonymizing(exports, tmp_path):
    p = exports["qualtrics"]
    mapping = yaml.safe_load(Path(p["mapping"]).read_text())
    mapping["keep_org_names"] = False
    for name in ("orgs", "interventions", "org_metrics"):  # a dict mapping: absolute paths
        mapping[f"{name}_file"] = str(Path(p[name]))
    result = import_study(p["responses"], mapping, tmp_path / "st", key=KEY.encode())
    names = sorted(result.study.orgs["name"])
    assert names[0] == "Organization 01" and all(n.startswith("Organization ") for n in names)


def test_shipped_exports_import_cleanly(tmp_path):
    files = sorted(SHIPPED.iterdir())
    before = _hashes(files)
    runs = [
        ("redcap_records.csv", "redcap_data_dictionary.csv", "redcap_mapping.yaml"),
        ("redcap_records_labels.csv", "redcap_data_dictionary.csv", "redcap_mapping.yaml"),
        (
            "redcap_repeating_records.csv",
            "redcap_repeating_data_dictionary.csv",
            "redcap_repeating_mapping.yaml",
        ),
        ("qualtrics_numeric.csv", None, "qualtrics_mapping.yaml"),
        ("qualtrics_choice_text.csv", None, "qualtrics_mapping.yaml"),
    ]
    first = None
    for i, (records, dictionary, mapping) in enumerate(runs):
        result = import_study(
            SHIPPED / records,
            SHIPPED / mapping,
            tmp_path / str(i),
            dictionary=SHIPPED / dictionary if dictionary else None,
            key=KEY,
        )
        scores = _scores(result.study)
        if first is None:
            first = scores
        else:  # every export of the same study gives the same scores
            pd.testing.assert_frame_equal(first, scores)
    assert _hashes(files) == before


# -- templates ---------------------------------------------------------------------------------
def test_template_from_redcap_export_imports_without_edits(study, exports, tmp_path, capsys):
    p = exports["redcap"]
    code, out, err = _run(
        ["import", p["records"], "--dictionary", p["dictionary"], "--template"], capsys
    )
    assert code == 0, err
    assert '"baseline_arm_1": pre' in out and 'stss: {prefix: "stss_"}' in out
    assert '"first_name"' in out.split("identifiers:")[1].split("items:")[0]
    mapping = tmp_path / "m.yaml"
    mapping.write_text(out)
    result = import_study(
        p["records"], mapping, tmp_path / "st", dictionary=p["dictionary"], pseudonymize=False
    )
    pd.testing.assert_frame_equal(_scores(study), _scores(result.study, study.score_columns()))


def test_template_from_qualtrics_guesses_blocks_by_item_labels(exports, tmp_path, capsys):
    p = exports["qualtrics_text"]
    text = mapping_template(p["responses"])
    assert 'stss: {prefix: "Q2_"}' in text and 'proqol: {prefix: "Q3_"}' in text
    assert 'worker_id: "staff_id"' in text and '"RecipientEmail"' in text
    out = tmp_path / "mapping.yaml"
    code, _, err = _run(["import", p["responses"], "--template", "--out", out], capsys)
    assert code == 0, err
    assert load_mapping(out).items.keys() == {"stss", "proqol", "org_guidance"}


def test_template_marks_unknowns(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("person,when,a1,a2\nx,1,2,3\n")
    text = mapping_template(src)
    assert "org_id: null  # TODO" in text and "items:  # TODO" in text
    assert "Columns not used" in text


# -- generic formats ------------------------------------------------------------------------------
def _wide(n=8, coded_from=1):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "worker": [f"P{i // 2:02d}" for i in range(n)],
            "agency": [f"A{(i // 2) % 2}" for i in range(n)],
            "time": [1, 2] * (n // 2),
            "when": pd.to_datetime(["2024-01-05", "2024-09-01"] * (n // 2)),
        }
    )
    for k in range(1, 18):
        frame[f"sts{k}"] = rng.integers(0, 5, n).astype(float) + coded_from
    return frame


def _expected_items(frame, shift):
    return frame[[f"sts{k}" for k in range(1, 18)]].to_numpy() + shift


def test_spss_value_labels_recode_and_user_missing(tmp_path):
    frame = _wide(coded_from=0)  # SPSS file coded 0-4 with the STSS labels
    frame.loc[0, "sts3"] = -9
    labels = {
        f"sts{k}": {
            0: "Never",
            1: "Rarely",
            2: "Occasionally",
            3: "Often",
            4: "Very often",
            -9: "Refused",
        }
        for k in range(1, 18)
    }
    pyreadstat.write_sav(
        frame,
        tmp_path / "s.sav",
        variable_value_labels=labels,
        missing_ranges={f"sts{k}": [-9] for k in range(1, 18)},
    )
    mapping = {
        "worker_id": "worker",
        "org_id": "agency",
        "date": "when",
        "wave": {"column": "time", "values": {1: "pre", 2: "post"}},
        "items": {"stss": {"prefix": "sts"}},
    }
    result = import_study(tmp_path / "s.sav", mapping, tmp_path / "st", pseudonymize=False)
    got = result.study.responses[[f"stss_{k:02d}" for k in range(1, 18)]].to_numpy(dtype=float)
    want = _expected_items(frame, 1)
    want[0, 2] = np.nan
    np.testing.assert_array_equal(got, want)
    assert result.missing_reasons.iloc[0][["column", "code", "reason"]].tolist() == [
        "stss_03",
        "-9",
        "Refused",
    ]
    item1 = result.code_map[result.code_map["item"] == 1].set_index("code")
    assert item1.loc[["0", "1", "2", "3", "4"], "value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert set(item1.loc[["0", "4"], "decided_by"]) == {"source labels"}
    assert item1.loc["-9", "decided_by"] == "SPSS user-missing"
    assert list(result.study.responses["date"].dt.strftime("%Y-%m-%d")[:2]) == [
        "2024-01-05",
        "2024-09-01",
    ]


def test_excel_wide_with_recode_and_date_format(tmp_path):
    frame = _wide(coded_from=0)
    frame["when"] = frame["when"].dt.strftime("%d/%m/%Y")
    frame.to_excel(tmp_path / "s.xlsx", index=False)
    mapping = {
        "format": "excel",
        "worker_id": "worker",
        "org_id": "agency",
        "wave": {"column": "time", "values": {1: "pre", 2: "post"}},
        "date": {"column": "when", "format": "%d/%m/%Y"},
        "items": {"stss": {"prefix": "sts", "recode": {i: i + 1 for i in range(5)}}},
    }
    result = import_study(tmp_path / "s.xlsx", mapping, tmp_path / "st", pseudonymize=False)
    got = result.study.responses[[f"stss_{k:02d}" for k in range(1, 18)]].to_numpy(dtype=float)
    np.testing.assert_array_equal(got, _expected_items(frame, 1))
    assert str(result.study.responses["date"].iloc[1].date()) == "2024-09-01"


def test_long_layout_with_answer_labels(tmp_path):
    frame = _wide()
    long = frame.melt(
        id_vars=["worker", "agency", "time", "when"], var_name="question", value_name="answer"
    )
    words = {1: "1 - Never", 2: "rarely", 3: " Occasionally ", 4: "OFTEN", 5: "(5) Very often"}
    long["answer"] = long["answer"].map(words)
    long["when"] = long["when"].dt.strftime("%Y-%m-%d")
    long.to_csv(tmp_path / "long.csv", index=False)
    mapping = {
        "layout": "long",
        "long": {"item": "question", "value": "answer"},
        "worker_id": "worker",
        "org_id": "agency",
        "date": "when",
        "wave": {"column": "time", "values": {1: "pre", 2: "post"}},
        "items": {"stss": {"prefix": "sts"}},
    }
    result = import_study(tmp_path / "long.csv", mapping, tmp_path / "st", pseudonymize=False)
    resp = result.study.responses
    resp = resp.assign(t=resp["wave"].map({"pre": 1, "post": 2})).sort_values(["worker_id", "t"])
    got = resp[[f"stss_{k:02d}" for k in range(1, 18)]].to_numpy(dtype=float)
    want = frame.sort_values(["worker", "time"])
    np.testing.assert_array_equal(got, _expected_items(want, 0))


def test_mapping_forms_columns_explicit_and_constant_wave(tmp_path):
    frame = _wide()
    frame = frame[frame["time"] == 1].drop(columns="time")
    frame.to_csv(tmp_path / "pre.csv", index=False)
    cols = [f"sts{k}" for k in range(1, 18)]
    forms = [{"columns": cols}, {c: k for k, c in enumerate(cols, 1)}, {"prefix": "STS"}]
    for i, spec in enumerate(forms):
        mapping = {
            "worker_id": "worker",
            "org_id": "agency",
            "wave": {"value": "pre"},
            "items": {"stss": spec},
        }
        result = import_study(
            tmp_path / "pre.csv", mapping, tmp_path / f"st{i}", pseudonymize=False
        )
        got = result.study.responses[[f"stss_{k:02d}" for k in range(1, 18)]]
        np.testing.assert_array_equal(got.to_numpy(dtype=float), _expected_items(frame, 0))
        assert set(result.study.responses["wave"]) == {"pre"}
        assert list(result.study.workers["team_id"]) == list(result.study.workers["org_id"])


# -- privacy and safety ----------------------------------------------------------------------------
def _tiny(tmp_path, **columns):
    rows = []
    for w in range(6):
        for wave in ("pre", "post"):
            rows.append(
                {
                    "worker": f"P{w}",
                    "agency": "A1" if w < 3 else "A2",
                    "team": "Blue",
                    "wave": wave,
                    **{f"stss_{k}": str((w + k) % 5 + 1) for k in range(1, 18)},
                    **{k: v(w) for k, v in columns.items()},
                }
            )
    path = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_formula_injection_is_neutralized(tmp_path):
    path = _tiny(
        tmp_path,
        job=lambda w: '=HYPERLINK("x")' if w == 0 else "@cmd",
        staff=lambda w: f"+{w}A" if w < 2 else f"S{w}",
    )
    mapping = {
        "worker_id": "staff",
        "org_id": "agency",
        "wave": "wave",
        "role": "job",
        "items": {"stss": {"prefix": "stss_"}},
    }
    result = import_study(path, mapping, tmp_path / "st", pseudonymize=False)
    for name in ("workers.csv", "responses.csv"):
        lines = (tmp_path / "st" / name).read_text().splitlines()[1:]
        assert not any(
            cell.lstrip('"').startswith(("=", "+", "-", "@"))
            for line in lines
            for cell in line.split(",")
        ), name
    text = (tmp_path / "st" / "workers.csv").read_text()
    assert "'=HYPERLINK" in text and "'@cmd" in text and "'+0A" in text
    assert set(result.study.responses["worker_id"]) == set(result.study.workers["worker_id"])


def test_same_team_name_in_two_orgs_gets_two_teams(tmp_path):
    path = _tiny(tmp_path)
    mapping = {
        "worker_id": "worker",
        "org_id": "agency",
        "team_id": "team",
        "wave": "wave",
        "items": {"stss": {"prefix": "stss_"}},
    }
    plain = import_study(path, mapping, tmp_path / "a", pseudonymize=False).study
    assert set(plain.workers["team_id"]) == {"A1-Blue", "A2-Blue"}
    hashed = import_study(path, mapping, tmp_path / "b", key=KEY).study
    assert hashed.workers.groupby("org_id")["team_id"].nunique().tolist() == [1, 1]
    assert hashed.workers["team_id"].nunique() == 2


def test_identifiers_dropped_and_key_choices(tmp_path, monkeypatch):
    path = _tiny(
        tmp_path, email=lambda w: f"person{w}@example.org", full_name=lambda w: f"Person Number{w}"
    )
    mapping = {
        "worker_id": "email",
        "org_id": "agency",
        "wave": "wave",
        "identifiers": ["email", "full_name"],
        "items": {"stss": {"prefix": "stss_"}},
    }
    monkeypatch.delenv("STSEVAL_KEY", raising=False)
    with pytest.raises(UsageError, match="--no-pseudonymize"):
        import_study(path, mapping, tmp_path / "a")
    with pytest.raises(UsageError, match="not both"):
        import_study(path, mapping, tmp_path / "a", key=KEY, pseudonymize=False)
    with pytest.raises(DataValidationError, match="only be imported pseudonymized"):
        import_study(path, mapping, tmp_path / "a", pseudonymize=False)
    key_file = tmp_path / "secret.key"
    key_file.write_text(KEY)
    key_file.chmod(0o600)
    result = import_study(path, mapping, tmp_path / "b", key_file=key_file)
    text = "".join(f.read_text() for f in (tmp_path / "b").iterdir())
    assert "@example.org" not in text and "Number" not in text and KEY not in text
    assert result.study.provenance["identifiers_dropped"] == ["email", "full_name"]


def test_redcap_checkbox_column_and_require_complete(tmp_path):
    d = (
        "field_name,form_name,section_header,field_type,field_label,"
        "select_choices_or_calculations\n"
        "record_id,staff,,text,Record ID,\nagency,staff,,text,Agency,\n"
        'duty,staff,,checkbox,Duties,"1, Casework | 2, Supervision"\n'
        + "".join(
            f's{k},stss,,radio,item {k},"0, Never | 1, Rarely | 2, Occasionally | '
            f'3, Often | 4, Very often"\n'
            for k in range(1, 18)
        )
    )
    (tmp_path / "dict.csv").write_text(d)
    rows = [
        "record_id,agency,duty___1,duty___2,"
        + ",".join(f"s{k}" for k in range(1, 18))
        + ",stss_complete"
    ]
    for w in range(4):
        rows.append(
            f"R{w},A,1,{w % 2},"
            + ",".join(str((w + k) % 5) for k in range(1, 18))
            + (",2" if w else ",0")
        )
    (tmp_path / "rec.csv").write_text("\n".join(rows) + "\n")
    mapping = {
        "worker_id": "record_id",
        "org_id": "agency",
        "role": "duty",
        "wave": {"value": "pre"},
        "items": {"stss": {"prefix": "s"}},
        "redcap": {"require_complete": True},
    }
    result = import_study(
        tmp_path / "rec.csv",
        mapping,
        tmp_path / "st",
        dictionary=tmp_path / "dict.csv",
        pseudonymize=False,
    )
    workers = result.study.workers.set_index("worker_id")
    assert workers.loc["R1", "role"] == "Casework; Supervision"
    assert workers.loc["R2", "role"] == "Casework"
    assert "R0" not in set(result.study.responses["worker_id"])  # form Incomplete: no answers
    r1 = result.study.responses.set_index("worker_id").loc["R1"]
    assert r1["stss_01"] == (1 + 1) % 5 + 1  # codes 0-4 recoded to 1-5 through the labels


def test_output_never_overwrites_inputs(tmp_path, capsys):
    path = _tiny(tmp_path)
    (tmp_path / "m.yaml").write_text(
        "worker_id: worker\norg_id: agency\nwave: wave\nitems: {stss: {prefix: stss_}}\n"
    )
    code, _, err = _run(
        [
            "import",
            path,
            "-m",
            tmp_path / "m.yaml",
            "-o",
            tmp_path,
            "--overwrite",
            "--no-pseudonymize",
        ],
        capsys,
    )
    assert code == 0, err  # export.csv is not a study file name: nothing clashes
    assert (tmp_path / "workers.csv").is_file() and (tmp_path / "export.csv").is_file()
    code, _, err = _run(
        ["import", path, "-m", tmp_path / "m.yaml", "-o", tmp_path, "--no-pseudonymize"], capsys
    )
    assert code == 2 and "is not empty" in err


# -- reading sources ----------------------------------------------------------------------------
def test_read_source_detects_formats(exports):
    assert read_source(exports["qualtrics"]["responses"]).format == "qualtrics"
    src = read_source(exports["redcap"]["records"], dictionary=exports["redcap"]["dictionary"])
    assert src.format == "redcap" and src.frame.index[0] == 2
    q = read_source(exports["qualtrics"]["responses"])
    assert q.frame.index[0] == 5  # lines 2-3 are header rows, line 4 the preview response
    assert "RecipientEmail" in q.identifier_columns


# -- study checks --------------------------------------------------------------------------------
def test_check_command_summarizes_a_valid_study(capsys):
    code, out, err = _run(["check", SMALL, "--min-cell", "30"], capsys)
    assert code == 0, err
    assert "valid" in out and "Respondents per arm and wave" in out
    assert "unmatched workers" in out and "fewer than min_cell=30 respondents" in out


def test_study_warnings_and_arm_counts(study):
    warns = study_warnings(study, 5)
    n_pre = study.responses.loc[study.responses["wave"] == "pre", "worker_id"].nunique()
    n_both = study.responses.groupby("worker_id")["wave"].nunique().eq(2).sum()
    assert f"paired estimates use the {n_both} who answered both" in warns[0]
    assert f"{n_pre - n_both} answered pre but not post" in warns[0]
    counts = arm_wave_counts(study)
    overall = counts[counts["area"] == "(all)"]
    assert overall["pre"].sum() == n_pre


def test_check_study_reports_all_failures(tmp_path):
    for f in SMALL.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    resp = (tmp_path / "responses.csv").read_text().splitlines()
    resp[1] = resp[1].replace(",pre,", ",mid,")
    resp[2] = ",".join(resp[2].split(",")[:3] + ["9"] + resp[2].split(",")[4:])
    (tmp_path / "responses.csv").write_text("\n".join(resp) + "\n")
    (tmp_path / "orgs.csv").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check_study(tmp_path)
    assert not result.ok and result.study is None
    problems = " | ".join(result.failures["problem"])
    assert "unknown wave(s) mid" in problems and "orgs.csv is required" in problems
    assert "not allowed (e.g. 9" in problems


def test_shipped_exports_do_not_drift_from_the_code(tmp_path):
    """The committed exports are what scripts/make_exports.py writes from the small study."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_exports", Path(__file__).resolve().parents[1] / "scripts" / "make_exports.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.make_exports(SHIPPED.parent / "small", tmp_path)
    assert {p.name for p in written} == {p.name for p in SHIPPED.iterdir()}
    for path in written:
        assert path.read_bytes() == (SHIPPED / path.name).read_bytes(), (
            f"{path.name} differs: run `python scripts/make_exports.py` and commit the result"
        )
