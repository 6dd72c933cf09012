"""Organization reports at scale (stseval.org_reports through stseval.parallel.map_tasks):
the same reports in this process, in a process pool and on a two-worker Dask LocalCluster;
a failing organization is named while the others are written; each PDF holds its own
organization only, tagged, and looks the same as a PDF rendered the plain WeasyPrint way."""

from __future__ import annotations

import pdfplumber
import pytest

from stseval import org_reports, parallel
from stseval.cli import main
from stseval.privacy import PrivacyLeakError
from stseval.study import Study

pytestmark = pytest.mark.xdist_group("parallel")

N_ORGS = 12  # two workers: runs of two organizations, so a task holds several


@pytest.fixture(scope="module")
def client():
    with parallel.open_scheduler("local", jobs=2) as c:
        yield c


@pytest.fixture(scope="module")
def study(small_study_dir):
    return Study.from_dir(small_study_dir)


@pytest.fixture(scope="module")
def three_ways(study, client, tmp_path_factory):
    """The same organizations' reports written here, in a process pool and on the cluster."""
    orgs = list(study.orgs["org_id"].astype(str))[:N_ORGS]
    kinds = {"here": {}, "pool": {"jobs": 2, "scheduler": "processes"}, "cluster": {}}
    kinds["cluster"] = {"client": client}
    out = {}
    for kind, kw in kinds.items():
        folder = tmp_path_factory.mktemp(kind)
        table = org_reports.write_org_reports(study, folder, orgs=orgs, pdf=True, **kw)
        out[kind] = (folder, table)
    return orgs, out


def _pdf_text(path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def test_same_reports_here_in_a_pool_and_on_a_local_cluster(three_ways):
    orgs, out = three_ways
    here_dir, here = out["here"]
    assert here["org_id"].tolist() == orgs and set(here["status"]) == {"ok"}
    for kind in ("pool", "cluster"):
        folder, table = out[kind]
        assert table["org_id"].tolist() == orgs  # org order, whatever ran them
        assert table["status"].tolist() == here["status"].tolist()
        for org in orgs:
            a, b = (f / "orgs" / org for f in (here_dir, folder))
            assert (b / "org_report.html").read_bytes() == (a / "org_report.html").read_bytes()
            assert _pdf_text(b / "org_report.pdf") == _pdf_text(a / "org_report.pdf")
        audit = (folder / "disclosure_audit.csv").read_bytes()
        assert audit == (here_dir / "disclosure_audit.csv").read_bytes()


def test_each_pdf_holds_its_own_organization_only_and_is_tagged(study, three_ways):
    orgs, out = three_ways
    folder, _ = out["cluster"]
    names = dict(zip(study.orgs["org_id"].astype(str), study.orgs["name"], strict=True))
    for org in orgs:
        with pdfplumber.open(folder / "orgs" / org / "org_report.pdf") as pdf:
            assert "StructTreeRoot" in pdf.doc.catalog, "the PDF is not tagged"
            assert pdf.metadata.get("Title") == f"Feedback for {names[org]}"
            outline = [title for _, title, *_ in pdf.doc.get_outlines()]
            text = "\n".join(p.extract_text() or "" for p in pdf.pages)
        assert outline[0] == f"Feedback for {names[org]}"
        assert "Your practice profile" in outline
        flat = " ".join(text.split())
        assert names[org] in flat
        others = [n for o, n in names.items() if o != org and n in flat]
        assert others == [], f"{org}'s PDF names {others}"


def test_the_pdf_looks_as_rendered_the_plain_weasyprint_way(three_ways, tmp_path):
    """Stylesheet parsed once and shared: every word at the same place as with the HTML file
    rendered on its own (``HTML(filename).write_pdf``)."""
    from weasyprint import HTML

    from stseval._html_export import _pdf_options

    orgs, out = three_ways
    folder, _ = out["here"]
    for org in orgs[:3]:
        plain = tmp_path / f"{org}.pdf"
        HTML(filename=str(folder / "orgs" / org / "org_report.html")).write_pdf(
            str(plain), **_pdf_options()
        )
        with (
            pdfplumber.open(plain) as a,
            pdfplumber.open(folder / "orgs" / org / "org_report.pdf") as b,
        ):
            assert len(a.pages) == len(b.pages)
            for pa, pb in zip(a.pages, b.pages, strict=True):
                wa = [
                    (w["text"], round(w["x0"], 2), round(w["top"], 2)) for w in pa.extract_words()
                ]
                wb = [
                    (w["text"], round(w["x0"], 2), round(w["top"], 2)) for w in pb.extract_words()
                ]
                assert wa == wb
                assert len(pa.rects) == len(pb.rects) and len(pa.lines) == len(pb.lines)


def _leaking_estimates(study):
    """The run's estimate for O02's area, its verdict carrying a worker ID: every organization
    that changed that area (O02 only, of O01-O05) must not get a report; the others must."""
    import pandas as pd

    iv = study.interventions
    area = iv.loc[iv["org_id"] == "O02", "area"].iloc[0]
    assert set(iv.loc[iv["area"] == area, "org_id"]) & {"O01", "O03", "O04", "O05"} == set()
    worker = str(study.workers["worker_id"].iloc[0])
    return pd.DataFrame(
        [
            dict(area=area, outcome="stss_total", estimator="ancova", estimate=-1.0,
                 ci_low=-2.0, ci_high=0.0, verdict=f"see {worker}")
        ]
    )  # fmt: skip


@pytest.mark.parametrize("where", ["here", "pool", "cluster"])
def test_a_failing_organization_is_named_and_the_others_are_written(where, study, client, tmp_path):
    orgs = ["O01", "O02", "O03", "O04", "O05"]
    kw = {"here": {}, "pool": {"jobs": 2, "scheduler": "processes"}, "cluster": {}}[where]
    if where == "cluster":
        kw = {"client": client}
    out = tmp_path / "out"
    with pytest.raises(PrivacyLeakError) as info:
        org_reports.write_org_reports(
            study, out, orgs=orgs, estimates=_leaking_estimates(study), pdf=False, **kw
        )
    note = " ".join(getattr(info.value, "__notes__", []))
    assert "1 of 5 organization report(s) failed: O02" in note
    assert "report of organization O02" in str(info.value)
    written = sorted(p.name for p in (out / "orgs").iterdir())
    assert written == ["O01", "O03", "O04", "O05"]
    audit = (out / "disclosure_audit.csv").read_text(encoding="utf-8")
    assert "org report Alder Family Services:" in audit and "Birch" not in audit


def test_chunks_are_consecutive_runs_covering_every_organization():
    orgs = [f"O{i:03d}" for i in range(70)]
    for workers in (1, 2, 3, 8):
        chunks = org_reports._chunks(orgs, workers)
        assert [o for c in chunks for o in c] == orgs
        if workers == 1:
            assert all(len(c) == 1 for c in chunks)  # progress per organization here
        else:
            assert len(chunks) <= 4 * workers and max(map(len, chunks)) - min(map(len, chunks)) <= (
                len(chunks[0])
            )


def test_cli_scheduler_processes(small_study_dir, tmp_path, capsys):
    import json

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"study": {"folder": str(small_study_dir)}}))
    argv = ["org-reports", "--results", str(run), "--orgs", "O01,O02,O03", "--no-pdf", "-q"]
    assert main([*argv, "--scheduler", "processes", "--jobs", "2"]) == 0
    assert sorted(p.name for p in (run / "orgs").iterdir()) == ["O01", "O02", "O03"]
    assert "3 of 3" in capsys.readouterr().out
    assert main([*argv, "--scheduler", "nowhere"]) == 2
    assert "unknown scheduler 'nowhere'" in capsys.readouterr().err


def test_a_name_that_holds_another_organizations_name_is_not_a_leak(study, tmp_path, monkeypatch):
    """At scale the synthetic names repeat with a number ("Alder Family Services 2"): the
    own name holds another organization's; that name elsewhere is still a leak."""
    study.to_dir(tmp_path / "study")
    orgs = (tmp_path / "study" / "orgs.csv").read_text(encoding="utf-8")
    assert "Alder Family Services" in orgs and "Birch Family Services" in orgs
    orgs = orgs.replace("Birch Family Services", "Alder Family Services 2")
    (tmp_path / "study" / "orgs.csv").write_text(orgs, encoding="utf-8")
    named = Study.from_dir(tmp_path / "study")
    table = org_reports.write_org_reports(named, tmp_path / "out", orgs=["O02"], pdf=False)
    assert table["status"].tolist() == ["ok"]
    html = (tmp_path / "out" / "orgs" / "O02" / "org_report.html").read_text(encoding="utf-8")
    assert "Feedback for Alder Family Services 2" in html
    real = org_reports.render_html
    monkeypatch.setattr(
        org_reports, "render_html", lambda rep: real(rep) + "<p>see Alder Family Services.</p>"
    )
    with pytest.raises(PrivacyLeakError, match="report of organization O02"):
        org_reports.write_org_reports(named, tmp_path / "out2", orgs=["O02"], pdf=False)


def test_candidate_ids_are_exactly_those_found_by_a_plain_substring_search():
    """The run pre-filter (start / end / whole run of the text) drops no ID that occurs."""
    from types import SimpleNamespace

    ids = ["O001-T1", "O001-T10", "-ab", "ab-", "x.y.z", "T1_b", "Ünï-9", "a--b", "q-w-e"]
    ctx = SimpleNamespace(simple_ids={}, other_ids={i: org_reports._runs(i) for i in ids})
    texts = [
        "team xo001-t1y and O001-T10 here",
        "AB- and -abc",
        "X.Y.Zed t1_bb",
        "ünï-90 a--b q-w-ee",
        "nothing at all: o001 t1 ab x y",
        "o001-t x.y q-w",
    ]
    for text in texts:
        brute = sorted(i for i in ids if i.lower() in text.lower())
        assert org_reports._candidates(ctx, text, set()) == brute, text
    assert org_reports._candidates(ctx, texts[0], {"O001-T1"}) == ["O001-T10"]
