"""Tests of stseval.pipeline and `stseval report`: real papermill runs on the small study.

One full run (seven areas, jobs=2, funder report HTML and PDF, one organization report)
is made once per test session by :func:`small_report` and shared with
``tests/test_browser.py`` (and across xdist workers, through a file lock).
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell

import stseval
from stseval import cli, pipeline, report
from stseval.areas import AREA_KEYS, STAFF_OUTCOMES, get_area
from stseval.columns import ESTIMATE_COLUMNS
from stseval.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "data" / "synthetic" / "small"
NOTEBOOKS = ROOT / "notebooks"
pytestmark = pytest.mark.xdist_group("pipeline")


def _tree(path: Path) -> dict:
    return {
        str(p.relative_to(path)): p.stat().st_mtime_ns
        for p in path.rglob("*")
        if "__pycache__" not in p.parts
    }


def small_report(tmp_path_factory):
    """Run the full report on the small study once per test session; return
    (result, tmp root, trees before, trees after, org).

    xdist workers share the session's temporary root: the first caller runs the
    pipeline under a file lock and pickles the result beside it; every other caller
    (another worker, or ``tests/test_browser.py``) waits for the lock and reuses it.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base = root / "stseval_small_report"
    saved = root / "stseval_small_report.pickle"
    with open(root / "stseval_small_report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if saved.exists():
                try:
                    return pickle.loads(saved.read_bytes())
                except Exception:  # noqa: BLE001 - e.g. a failure object that does not unpickle
                    shutil.rmtree(base, ignore_errors=True)
            base.mkdir()
            before = {"notebooks": _tree(NOTEBOOKS), "study": _tree(SMALL)}
            org = "O01"
            result = pipeline.run_report(
                SMALL, base / "out", jobs=2, org_reports=[org], progress=False
            )
            after = {"notebooks": _tree(NOTEBOOKS), "study": _tree(SMALL)}
            run = (result, base, before, after, org)
            saved.write_bytes(pickle.dumps(run))
            return run
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return small_report(tmp_path_factory)


@pytest.fixture(scope="module")
def study():
    return stseval.Study.from_dir(SMALL)


# -- the full run --------------------------------------------------------------------------
def test_run_succeeds_and_writes_only_inside_out(run):
    result, base, before, after, _org = run
    assert result.ok, [str(f) for f in result.failures]
    out = result.out_dir
    assert sorted(p.name for p in base.iterdir()) == ["out"]
    assert before == after  # nothing new in notebooks/ or the study folder
    names = {p.name for p in out.iterdir()}
    assert {
        "areas",
        "estimates.csv",
        "funder_report.html",
        "funder_report.pdf",
        "funder_report.ipynb",
        "run.json",
        "orgs",
    } <= names
    for area in AREA_KEYS:
        files = {p.name for p in (out / "areas" / area).iterdir()}
        assert {
            "area_evaluation.ipynb",
            "estimates.csv",
            "outcomes_by_arm_wave.png",
            "participant_flow.png",
            "indicators.png",
        } <= files


def test_audit_computed_beside_the_funder_notebook_equals_a_direct_one(run, study, tmp_path):
    result, *_ = run
    assert result._audits is not None  # computed while the funder notebook ran
    direct = report.write_run_audit(study, tmp_path, areas=list(AREA_KEYS))
    written = (result.out_dir / "disclosure_audit.csv").read_text().splitlines()
    report_rows = [r for r in written if not r.startswith('"org report ')]  # org reports add
    assert report_rows == direct.read_text().splitlines()
    assert any(r.startswith('"funder report: flow') for r in report_rows)


def _read(path):
    est = pd.read_csv(path)
    for col in ("note", "method", "es_type"):
        est[col] = est[col].fillna("").astype(str)
    return est


def test_area_estimates_equal_evaluate_area_called_directly(run, study):
    result = run[0]
    for area in AREA_KEYS:
        written = _read(result.out_dir / "areas" / area / "estimates.csv")
        direct = stseval.evaluate_area(study, area, min_cell=study.min_cell)
        assert list(written.columns) == list(direct.columns)
        assert written.columns[: len(ESTIMATE_COLUMNS)].tolist() == ESTIMATE_COLUMNS
        for col in direct.columns:
            a, b = written[col], direct[col]
            if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
                np.testing.assert_allclose(
                    a.astype(float),
                    b.astype(float),
                    rtol=1e-9,
                    atol=1e-12,
                    equal_nan=True,
                    err_msg=f"{area}.{col}",
                )
            else:
                assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), (
                    f"{area}.{col}"
                )


def test_collected_estimates_have_every_area_and_fdr(run):
    result = run[0]
    est = _read(result.estimates)
    assert list(dict.fromkeys(est["area"])) == list(AREA_KEYS)
    from stseval.evaluate import add_fdr

    parts = pd.concat(
        [_read(result.out_dir / "areas" / a / "estimates.csv") for a in AREA_KEYS],
        ignore_index=True,
    )
    np.testing.assert_allclose(
        est["p_fdr_all_areas"], add_fdr(parts)["p_fdr_all_areas"], equal_nan=True
    )


def test_run_json_records_version_seed_parameters_and_timings(run, study):
    result = run[0]
    rec = json.loads((result.out_dir / "run.json").read_text())
    assert rec["stseval_version"] == stseval.__version__
    assert rec["study"]["seed"] == study.provenance.get("seed") and rec["study"]["synthetic"]
    assert set(rec["areas"]) == set(AREA_KEYS)
    params = rec["areas"]["training"]["parameters"]
    assert params["area"] == "training" and params["study_dir"] == str(SMALL.resolve())
    assert rec["areas"]["training"]["status"] == "ok" and rec["areas"]["training"]["seconds"] > 0
    assert rec["funder_report"]["areas"] == list(AREA_KEYS)
    funder = rec["funder_report"]["parameters"]
    assert funder["estimates_csv"] == str(result.out_dir / "estimates.csv")
    assert rec["funder_report"]["status"] == "ok"
    assert rec["timings_seconds"]["total"] > 0 and rec["failures"] == []


class _Tables(HTMLParser):
    """Collect every HTML table as (headers, rows of cell text)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._row, self._in = [], None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell, self._in = [], tag

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(("".join(self._cell).strip(), self._in))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            heads, rows = self.tables[-1]
            if all(kind == "th" for _, kind in self._row):
                heads.extend(text for text, _ in self._row)
            else:
                rows.append([text for text, _ in self._row])
            self._row = None


def _check_counts(html: str, min_cell: int) -> int:
    parser = _Tables()
    parser.feed(html)
    checked = 0
    for heads, rows in parser.tables:
        cols = [i for i, h in enumerate(heads) if "workers" in h.lower()]
        for row in rows:
            for i in cols:
                text = row[i].replace(",", "")
                if text in ("", "suppressed", "not shown") or text.startswith("fewer than"):
                    continue
                value = float(text)
                assert value == 0 or value >= min_cell, f"{heads[i]} = {text} in {row}"
                checked += 1
    return checked


def test_funder_html_has_every_area_and_outcome_and_no_ids(run, study):
    result = run[0]
    html = result.html.read_text(encoding="utf-8")
    for area in AREA_KEYS:
        assert "<h2" in html and get_area(area).title in html
    for outcome in [*STAFF_OUTCOMES, "separation_rate", "absence_rate"]:
        assert report.outcome_label(outcome) in html, outcome
    for area in AREA_KEYS:
        assert report.outcome_label(f"org_guidance_{area}") in html
    first_section = html.split("<h2")[0]
    assert "Synthetic data" in first_section  # said on the first page
    ids = report.study_ids(study)
    tokens = set(
        re.findall(r"[\w.@-]+", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html))
    )
    leaked = [i for i in ids if i in tokens or (" " in i and i in html)]
    assert leaked == []
    assert _check_counts(html, study.min_cell) > 10
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    images = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(images) >= 3 and all(s.startswith("data:image/png;base64,") for s in images)
    assert "<pre" not in html or "Traceback" not in html


def pdf_pages(data: bytes) -> int:
    """Count page objects, looking inside compressed object streams too (PDF 1.5+)."""
    import zlib

    chunks = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    return sum(len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", c)) for c in chunks)


def test_funder_pdf_exists_and_has_pages(run):
    data = run[0].pdf.read_bytes()
    assert data[:5] == b"%PDF-" and data.rstrip().endswith(b"%%EOF")
    assert pdf_pages(data) >= 5


def test_org_report_names_only_its_own_organization(run, study):
    result, *_, org = run
    html = result.org_reports[org].read_text(encoding="utf-8")
    name = study.orgs.loc[study.orgs["org_id"] == org, "name"].iloc[0]
    assert name in html
    others = set(report.study_ids(study)) - {org, name}
    tokens = set(
        re.findall(r"[\w.@-]+", re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html))
    )
    assert not [i for i in others if i in tokens or (" " in i and i in html)]
    _check_counts(html, study.min_cell)


def test_area_notebook_keeps_row_level_data_out(run, study):
    text = (run[0].out_dir / "areas" / "supervision" / "area_evaluation.ipynb").read_text()
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+|\"image/png\": \"[^\"]+\"", "", text)
    workers = set(study.workers["worker_id"])
    assert not workers & set(re.findall(r"[\w-]+", text))


def test_funder_notebook_shows_the_pipelines_estimates_without_estimating(run):
    """Estimates are read and adjusted once, by the pipeline; the funder notebook only reads
    the CSV it is handed (its one mode)."""
    result = run[0]
    executed = nbformat.read(result.out_dir / "funder_report.ipynb", as_version=4)
    injected = next(
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert f"estimates_csv = {str(result.estimates)!r}" in injected.source or (
        f'estimates_csv = "{result.estimates}"' in injected.source
    )
    code = "\n".join(c.source for c in executed.cells if c.cell_type == "code")
    for call in ("evaluate_all", "evaluate_area", "add_fdr", "read_area_estimates"):
        assert call not in code


# -- the plan -------------------------------------------------------------------------------
def test_plan_is_validated_frozen_and_writes_nothing(tmp_path):
    import dataclasses

    out = tmp_path / "out"
    plan = pipeline.plan(
        SMALL, out, areas=["training", "supervision"], org_reports=["O01"], pdf=False, jobs=3
    )
    assert not out.exists()
    assert plan.areas == ("training", "supervision") and plan.jobs == 3 and plan.pdf is None
    assert [r.output for r in plan.area_runs] == [
        out.resolve() / "areas" / a / "area_evaluation.ipynb" for a in plan.areas
    ]
    assert plan.area_runs[1].parameters["area"] == "supervision"
    assert plan.funder.parameters["estimates_csv"] == str(plan.estimates_csv)
    assert plan.estimates_csv == out.resolve() / "estimates.csv"
    assert plan.org_ids == ("O01",) and plan.org_runs == ()  # rendered without notebooks
    assert plan.notebooks_dir == pipeline.notebooks_dir()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.jobs = 1
    with pytest.raises(TypeError):
        plan.funder.parameters["confidence"] = 0.5
    with pytest.raises(UsageError, match="confidence must be"):
        pipeline.plan(SMALL, out, confidence="0.9")
    assert not out.exists()


def test_record_reports_a_run_that_never_started(tmp_path):
    """record() on a plan whose funder report did not run (no area finished) says so."""
    plan = pipeline.plan(SMALL, tmp_path / "out", areas=["training"], pdf=False)
    plan.out_dir.mkdir()
    result = pipeline.ReportRun(out_dir=plan.out_dir, started="2026-01-01T00:00:00+00:00")
    path = pipeline.record(plan, result)
    rec = json.loads(path.read_text())
    assert rec["funder_report"]["status"] == "not run" and rec["funder_report"]["areas"] == []
    assert rec["areas"]["training"]["status"] == "not run"
    assert rec["started"] == "2026-01-01T00:00:00+00:00"


# -- failures and validation ---------------------------------------------------------------
def _broken_notebooks(tmp_path, area="training"):
    nb_dir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, nb_dir)
    path = nb_dir / "area_evaluation.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(
        4,
        new_code_cell(
            f'if area == "{area}":\n    raise RuntimeError("planted failure in " + area)'
        ),
    )
    nbformat.write(nb, path)
    return nb_dir


def test_failing_area_is_reported_and_others_finish(tmp_path, monkeypatch, capsys):
    nb_dir = _broken_notebooks(tmp_path)
    monkeypatch.setattr(pipeline, "notebooks_dir", lambda: nb_dir)
    out = tmp_path / "out"
    code = cli.main(
        [
            "report",
            "--study",
            str(SMALL),
            "--out",
            str(out),
            "--areas",
            "training,supervision",
            "--jobs",
            "2",
            "--no-pdf",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "area_evaluation.ipynb for area 'training' failed at cell 5" in err
    assert "RuntimeError: planted failure in training" in err
    assert "Traceback" not in err
    assert (out / "areas" / "training" / "area_evaluation.ipynb").exists()  # partial kept
    assert (out / "areas" / "supervision" / "estimates.csv").exists()
    assert not (out / "areas" / "training" / "estimates.csv").exists()
    est = pd.read_csv(out / "estimates.csv")
    assert set(est["area"]) == {"supervision"}
    assert (out / "funder_report.html").exists() and not (out / "funder_report.pdf").exists()
    rec = json.loads((out / "run.json").read_text())
    assert rec["areas"]["training"]["status"] == "failed"
    assert rec["areas"]["training"]["error"]["cell"] == 5


def test_unknown_and_missing_parameters_are_refused(tmp_path):
    nb = NOTEBOOKS / "area_evaluation.ipynb"
    pipeline.check_parameters(nb, {"study_dir": "x", "area": "training", "out_dir": "y"})
    with pytest.raises(UsageError, match=r"unknown parameter\(s\) colour"):
        pipeline.check_parameters(nb, {"study_dir": "x", "area": "a", "out_dir": "y", "colour": 1})
    with pytest.raises(UsageError, match=r"missing required parameter\(s\) area"):
        pipeline.check_parameters(nb, {"study_dir": "x", "out_dir": "y"})
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[new_code_cell("x = 1")]), plain)
    with pytest.raises(UsageError, match="no cell tagged 'parameters'"):
        pipeline.notebook_parameters(plain)


def test_bad_notebook_parameters_stop_before_anything_runs(tmp_path, monkeypatch):
    nb_dir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, nb_dir)
    path = nb_dir / "area_evaluation.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("out_dir = ", "output_folder = ")
    nbformat.write(nb, path)
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"unknown parameter\(s\) out_dir"):
        pipeline.run_report(SMALL, out, notebooks=nb_dir, progress=False)
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--areas", "bogus"], "unknown area(s) bogus"),
        (["--jobs", "0"], "jobs must be at least 1"),
        (["--org-reports", "nope"], "unknown organization(s) nope"),
        (["--confidence", "1.5"], "confidence must be between 0 and 1"),
    ],
)
def test_cli_user_errors_exit_2_without_traceback(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    code = cli.main(["report", "--study", str(SMALL), "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_out_inside_the_study_is_refused(tmp_path):
    with pytest.raises(UsageError, match="must not be inside the study folder"):
        pipeline.run_report(SMALL, SMALL / "report", progress=False)


def test_area_without_interventions_is_refused(tmp_path, study):
    copy = tmp_path / "study"
    shutil.copytree(SMALL, copy)
    inter = pd.read_csv(copy / "interventions.csv", dtype=str)
    inter[inter["area"] != "culture"].to_csv(copy / "interventions.csv", index=False)
    with pytest.raises(UsageError, match="no organization changed practice in culture"):
        pipeline.run_report(copy, tmp_path / "out", areas=["culture"], progress=False)
    assert not (tmp_path / "out").exists()


def test_export_html_refuses_a_report_with_an_id(tmp_path, study):
    from stseval.privacy import PrivacyLeakError

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"Worker {study.workers['worker_id'].iloc[3]} said so.")
        ]
    )
    path = tmp_path / "leak.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(PrivacyLeakError, match="not safe to share"):
        pipeline.export_html(path, tmp_path / "leak.html", ids=report.study_ids(study))
    assert not (tmp_path / "leak.html").exists()


def test_kernel_start_failure_is_retried_once(tmp_path, monkeypatch):
    import papermill

    calls = []

    def flaky(*args, **kwargs):
        calls.append(kwargs["parameters"]["area"])
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        Path(args[1]).write_text("{}")

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    monkeypatch.setattr(pipeline.time, "sleep", lambda s: None)
    nb = NOTEBOOKS / "area_evaluation.ipynb"
    seconds = pipeline.run_notebook(nb, tmp_path / "o.ipynb", {"area": "training"})
    assert calls == ["training", "training"] and seconds >= 0

    def dead(*args, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(papermill, "execute_notebook", dead)
    with pytest.raises(stseval.NotebookRunError, match="the kernel could not run the notebook"):
        pipeline.run_notebook(nb, tmp_path / "p.ipynb", {"area": "training"}, label="x")


def test_demo_simulates_a_missing_study_then_reports(tmp_path, monkeypatch, capsys):
    from stseval.synthetic import StudyDesign

    monkeypatch.setattr(StudyDesign, "default", classmethod(lambda cls: cls.small()))
    study, out = tmp_path / "default", tmp_path / "demo"
    code = cli.main(
        [
            "demo",
            "--study",
            str(study),
            "--out",
            str(out),
            "--areas",
            "supervision",
            "--jobs",
            "1",
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert (study / "study.yaml").is_file() and (study / "README.md").is_file()
    assert f"Funder report: {out / 'funder_report.html'}" in printed
    assert f"PDF:           {out / 'funder_report.pdf'}" in printed
    assert (out / "funder_report.pdf").read_bytes()[:5] == b"%PDF-"


# -- scale: the study scored once, several studies, schedulers (issue 14) ------------------
def _injected(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    return cells[0].source


def test_study_is_scored_once_and_every_area_notebook_reads_that_table(run, study):
    result = run[0]
    scored = result.out_dir / pipeline.SCORED_FILE
    pd.testing.assert_frame_equal(pd.read_parquet(scored), study.scored(), check_exact=True)
    for area in AREA_KEYS:
        source = _injected(result.out_dir / "areas" / area / "area_evaluation.ipynb")
        assert f'scored_path = "{scored}"' in source
    rec = json.loads((result.out_dir / "run.json").read_text())
    assert rec["scored"] == pipeline.SCORED_FILE and rec["scheduler"] == "processes"
    assert "score" in rec["timings_seconds"]


def test_a_scored_table_of_another_study_is_refused(tmp_path, study):
    shuffled = study.scored().iloc[::-1].reset_index(drop=True)
    shuffled.to_parquet(tmp_path / "other.parquet", index=False)
    with pytest.raises(UsageError, match="not the scored table of the study"):
        report.load_study(SMALL, scored_path=tmp_path / "other.parquet")
    study.scored().to_parquet(tmp_path / "same.parquet", index=False)
    primed = report.load_study(SMALL, scored_path=tmp_path / "same.parquet")
    pd.testing.assert_frame_equal(primed.scored(), study.scored(), check_exact=True)
    assert report.load_study(SMALL, scored_path="").scored().equals(study.scored())


def test_plan_refuses_an_unknown_scheduler_and_defaults_to_processes(tmp_path):
    with pytest.raises(UsageError, match="unknown scheduler 'gpu'"):
        pipeline.plan(SMALL, tmp_path / "out", scheduler="gpu")
    assert pipeline.plan(SMALL, tmp_path / "out", pdf=False).scheduler == "processes"
    assert not (tmp_path / "out").exists()


def test_two_studies_on_a_local_cluster_match_the_process_pool_byte_for_byte(run, tmp_path_factory):
    from stseval.portfolio import run_reports

    tmp = tmp_path_factory.mktemp("portfolio")
    for name in ("alpha", "beta"):
        shutil.copytree(SMALL, tmp / name)
    out = tmp / "R"
    results = run_reports(
        [tmp / "alpha", tmp / "beta"],
        out,
        areas=["training"],
        pdf=False,
        jobs=2,
        progress=False,
        scheduler="local",
    )
    assert sorted(results) == ["alpha", "beta"] and all(r.ok for r in results.values())
    pool = (run[0].out_dir / "areas" / "training" / "estimates.csv").read_bytes()
    for name in ("alpha", "beta"):
        assert (out / name / "areas" / "training" / "estimates.csv").read_bytes() == pool
        assert (out / name / "funder_report.html").is_file()
        rec = json.loads((out / name / "run.json").read_text())
        assert rec["scheduler"] == "local" and rec["study"]["folder"] == str(tmp / name)
    with pytest.raises(UsageError, match="would both write into alpha/"):
        run_reports([tmp / "alpha", tmp / "x" / "alpha"], out)
