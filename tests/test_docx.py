"""The editable report: write a .docx and read it back with python-docx."""

import docx
import matplotlib
import numpy as np
import pandas as pd
import pytest
from docx.oxml.ns import qn

from stseval.docx_report import DocxReport, Figure, Section, Table, plain_label, write_docx
from stseval.errors import UsageError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def png(tmp_path):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [3, 1, 2])
    path = tmp_path / "forest.png"
    fig.savefig(path, dpi=50)
    plt.close(fig)
    return path


def _report(png):
    estimates = pd.DataFrame(
        {
            "outcome": ["stss_total", "burnout"],
            "estimate": [-2.104, 0.0004],
            "ci_low": [-3.4, -1.2],
            "p_adjusted": [0.0004, 0.5],
            "n_workers": [120, 118],
        }
    )
    return DocxReport(
        title="Staff wellbeing programme: evaluation",
        subtitle="Funder report",
        sections=[
            Section(
                "At a glance",
                [
                    "Of 2 staff outcomes, 1 clearly improved.",
                    Table(
                        estimates,
                        caption="Table 1. Estimates",
                        labels={"outcome": "Outcome"},
                        decimals=1,
                    ),
                ],
            ),
            Section(
                "Figures",
                [
                    Figure(
                        png,
                        alt_text="Forest plot: estimates with intervals by outcome",
                        caption="Figure 1. Estimates",
                    ),
                    Section("Details", ["A sub-section."], level=2),
                    Table(estimates.iloc[:1], caption="Wide", landscape=True),
                ],
            ),
        ],
    )


def test_docx_reads_back(tmp_path, png):
    path = write_docx(_report(png), tmp_path)
    assert path.name == "funder_report.docx"
    doc = docx.Document(str(path))
    assert doc.core_properties.title == "Staff wellbeing programme: evaluation"
    styles = [(p.style.name, p.text) for p in doc.paragraphs]
    assert ("Title", "Staff wellbeing programme: evaluation") in styles
    assert ("Heading 1", "At a glance") in styles and ("Heading 1", "Figures") in styles
    assert ("Heading 2", "Details") in styles
    assert ("Caption", "Table 1. Estimates") in styles
    table = doc.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header == ["Outcome", "Estimate", "Interval from", "Adjusted p", "Staff"]
    assert [c.text for c in table.rows[1].cells] == [
        "stss_total",
        "\u22122.1",
        "\u22123.4",
        "< 0.001",
        "120",
    ]
    assert [c.text for c in table.rows[2].cells][1:4] == ["0.0", "\u22121.2", "0.500"]
    tr_pr = table.rows[0]._tr.trPr
    assert tr_pr.find(qn("w:tblHeader")) is not None
    assert table.rows[1]._tr.trPr.find(qn("w:cantSplit")) is not None
    assert len(doc.inline_shapes) == 1
    doc_pr = doc.inline_shapes[0]._inline.docPr
    assert doc_pr.get("descr") == "Forest plot: estimates with intervals by outcome"
    blip = doc.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip
    image = doc.part.related_parts[blip.embed]
    assert image.blob == png.read_bytes()
    orient = [s.page_width > s.page_height for s in doc.sections]
    assert orient == [False, True, False]


def test_docx_does_not_change_inputs_and_handles_missing(tmp_path, png):
    data = pd.DataFrame({"n": [np.nan, 3.0], "flag": [True, False], "note": ["a", None]})
    before = data.copy()
    path = write_docx(DocxReport("T", [Section("S", [Table(data)])]), tmp_path / "r.docx")
    pd.testing.assert_frame_equal(data, before)
    cells = [[c.text for c in r.cells] for r in docx.Document(str(path)).tables[0].rows]
    assert cells == [["Number", "Flag", "Note"], ["\u2014", "yes", "a"], ["3.0", "no", "\u2014"]]


def test_docx_errors(tmp_path, png):
    with pytest.raises(UsageError, match="alt text"):
        write_docx(DocxReport("T", [Section("S", [Figure(png, alt_text=" ")])]), tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        write_docx(DocxReport("T", [Section("S", [Figure(tmp_path / "x.png", "x")])]), tmp_path)
    with pytest.raises(UsageError, match="block must be"):
        write_docx(DocxReport("T", [Section("S", [42])]), tmp_path)
    with pytest.raises(UsageError, match=".docx"):
        write_docx(DocxReport("T"), tmp_path / "r.pdf")


def test_plain_label():
    assert plain_label("org_practice") == "Org practice"
    assert plain_label("p_adjusted") == "Adjusted p"


# -- the funder report's DOCX, built from the exported HTML ------------------------------
def _export_made(folder):
    import reportsim

    from stseval._html_export import export_html

    nb = reportsim.write_notebook(folder / "report.ipynb")
    return export_html(nb, folder / "report.html", ids=[], title="Test report")


def _instr_text(doc) -> str:
    return " ".join(el.text or "" for el in doc.element.body.iter(qn("w:instrText")))


def test_export_docx_has_the_html_sections_tables_and_figures(tmp_path):
    import reportsim

    from stseval._docx_build import export_docx

    html = _export_made(tmp_path)
    path = export_docx(html)
    assert path == tmp_path / "report.docx"
    doc = docx.Document(str(path))
    styles = [(p.style.name, p.text) for p in doc.paragraphs]
    assert styles[0] == ("Title", "Protecting staff: what changed?")
    assert [t for s, t in styles if s == "Heading 1"] == reportsim.SECTIONS
    assert ("Normal", "A test report.") in styles
    assert "TOC" in _instr_text(doc)
    narrow, wide = doc.tables
    assert [c.text for c in narrow.rows[0].cells] == [
        "outcome",
        "estimate",
        "interval",
        "p (adjusted)",
        "workers",
    ]
    assert [c.text for c in narrow.rows[1].cells] == [
        "secondary traumatic stress (STSS total)",
        "\u22123.20",
        "\u22125.03 to \u22121.38",
        "< 0.001",
        "765",
    ]
    assert narrow.rows[2].cells[1].text == "0.000"  # "-0.000" lost its sign
    assert len(wide.rows) == 1 + 48 and wide.rows[0].cells[5].text == "p (adjusted)"
    assert wide.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert len(doc.inline_shapes) == 1
    shape = doc.inline_shapes[0]
    assert shape._inline.docPr.get("descr") == reportsim.ALT
    blip = shape._inline.graphic.graphicData.pic.blipFill.blip
    figure_file = next((tmp_path / "report_figures").glob("figure-1-*.png"))
    assert doc.part.related_parts[blip.embed].blob == figure_file.read_bytes()
    assert abs(shape.width.cm - 480 / 96 * 2.54) < 0.01  # drawn size kept (5 in)
    first = doc.sections[0]
    assert (round(first.page_width.cm, 1), round(first.page_height.cm, 1)) == (21.0, 29.7)
    assert [s.page_width > s.page_height for s in doc.sections] == [False, True, False]


def test_export_docx_without_the_html_is_a_usage_error(tmp_path):
    from stseval._docx_build import export_docx

    with pytest.raises(UsageError, match="export the report first"):
        export_docx(tmp_path / "missing.html")


@pytest.mark.xdist_group("pipeline")
def test_funder_report_docx_of_the_small_study(tmp_path_factory, tmp_path):
    from bs4 import BeautifulSoup
    from test_browser import _pipeline_module

    from stseval._docx_build import export_docx

    result = _pipeline_module().small_report(tmp_path_factory)[0]
    assert result.html is not None, [str(f) for f in result.failures]
    soup = BeautifulSoup(result.html.read_text(encoding="utf-8"), "html.parser")
    path = export_docx(result.html, tmp_path / "funder_report.docx")
    doc = docx.Document(str(path))
    sections = [h.get_text(" ", strip=True) for h in soup.find_all("h2") if h["id"] != "contents"]
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == sections
    alts = [img["alt"] for img in soup.find_all("img")]
    assert [s._inline.docPr.get("descr") for s in doc.inline_shapes] == alts
    assert all(len(a) > 40 for a in alts)  # real descriptions, not "Figure"
    html_tables = soup.find_all("table")
    assert len(doc.tables) == len(html_tables)
    first_row = [
        td.get_text(" ", strip=True)
        for td in html_tables[0].find("tbody").find("tr").find_all("td")
    ]
    assert [c.text for c in doc.tables[0].rows[1].cells] == first_row
