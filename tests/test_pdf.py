"""The exported HTML and PDF read back: print numbers, plain names, pages that hold their
text, tags, bookmarks, a table of contents (pdfplumber reads the PDF).

Two sources: a hand-made executed notebook (``tests/reportsim.py``: fast, with the number
forms the report tables print today) and the funder report of the shared small-study
pipeline run (``tests/test_pipeline.py``).
"""

from __future__ import annotations

import re

import pdfplumber
import pytest
import reportsim
from bs4 import BeautifulSoup

from stseval._html_export import export_html, export_pdf
from stseval._print_html import plain_name, wide_table

MM = 72 / 25.4
MARGIN_MM = 14  # the stylesheet's left/right page margin (portrait and landscape)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    (folder / "estimates.csv").write_text("area,outcome\n", encoding="utf-8")
    nb = reportsim.write_notebook(folder / "report.ipynb")
    html = export_html(
        nb,
        folder / "report.html",
        ids=["ORG-SECRET-77"],
        title="Test report",
        downloads={"Word (editable)": "report.docx"},
    )
    pdf = export_pdf(html, folder / "report.pdf")
    return folder, html, pdf


def _soup(html):
    return BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")


def _column(soup, header):
    """Cells of the first table that has ``header``, by that column."""
    for table in soup.find_all("table"):
        heads = [th.get_text(" ", strip=True) for th in table.find("thead").find_all("th")]
        if header in heads:
            i = heads.index(header)
            return [tr.find_all("td")[i].get_text() for tr in table.find("tbody").find_all("tr")]
    raise AssertionError(f"no table with a {header!r} column")


def test_html_tables_print_numbers_and_plain_names(made):
    _, html, _ = made
    soup = _soup(html)
    assert _column(soup, "p (adjusted)") == ["< 0.001", "> 0.99", "0.032"]
    assert _column(soup, "estimate")[:2] == ["\u22123.20", "0.000"]  # minus; no "-0.000"
    assert _column(soup, "interval")[0] == "\u22125.03 to \u22121.38"
    assert _column(soup, "outcome")[0] == "secondary traumatic stress (STSS total)"
    text = soup.get_text()
    for raw in ("stss_total", "org_practice", "p_adjusted", "n_workers", "es_ci_low"):
        assert raw not in text
    assert not re.search(r"(?<![\w.])-\d", text), "a hyphen used as a minus sign"
    wide = soup.find_all("table")[-1]
    assert "wide" in wide.find_parent("div")["class"]
    assert "wide" not in soup.find_all("table")[0].find_parent("div")["class"]
    assert wide.find_all("td")[0].get("class") is None  # text column: may wrap
    assert "num" in wide.find_all("td")[3]["class"]  # number column: right-aligned, no wrap


def test_html_has_contents_downloads_and_figure_files(made):
    folder, html, _ = made
    soup = _soup(html)
    toc = [a["href"] for a in soup.select("nav.toc a")]
    ids = [soup.find(id=h[1:]).get_text(strip=True) for h in toc]
    assert ids == reportsim.SECTIONS
    assert soup.find("meta", attrs={"name": "viewport"}) is not None
    assert [a["href"] for a in soup.select(".downloads a")] == ["estimates.csv", "report.docx"]
    assert "estimates.csv, report.docx" in soup.select_one(".print-only").get_text()
    img = soup.find("img")
    assert img["alt"] == reportsim.ALT
    link = soup.select_one(".figure-download a")["href"]
    png = folder / link
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert link.startswith("report_figures/figure-1-forest-plot")


def test_plain_names_and_width_rule():
    assert plain_name("stss_total") == "secondary traumatic stress (STSS total)"
    assert plain_name("org_guidance_training") == "staff-rated practice: training"
    assert plain_name("its") == "interrupted time series"
    assert plain_name("supervision") == "Supervision"
    assert plain_name("some_new_column") == "some new column"
    narrow = BeautifulSoup(reportsim.NARROW, "html.parser").find("table")
    assert wide_table(narrow) == ""

    def numbers(k):  # k columns of 14-digit numbers: 14 x 0.55 x 8.5 pt + 10 pt padding each
        row = "".join(f'<td class="num">{"1" * 14}</td>' for _ in range(k))
        return wide_table(BeautifulSoup(f"<table><tr>{row}</tr></table>", "html.parser"))

    # portrait text width 182 mm = 515.9 pt, landscape 269 mm = 762.5 pt
    assert numbers(6) == ""  # 6 x 75.45 = 452.7 pt
    assert numbers(7) == "compact"  # 528.2 pt at 8.5 pt; 7 x 67.75 = 474.3 at 7.5 pt
    assert numbers(8) == "wide"  # 542.0 pt at 7.5 pt; 603.6 pt at 8.5 pt fits landscape
    assert numbers(11) == "wide compact"  # 829.95 at 8.5 pt; 745.25 at 7.5 pt
    assert numbers(12) == "wide compact squeeze"  # 813.0 pt even at 7.5 pt


def _outside_margins(page, margin_mm=MARGIN_MM, tol=1.0):
    """Characters outside the page's text box (the margins), as (text, x0, x1)."""
    left, right = margin_mm * MM - tol, page.width - margin_mm * MM + tol
    return [
        (c["text"], round(c["x0"]), round(c["x1"]))
        for c in page.chars
        if c["x0"] < left or c["x1"] > right or c["top"] < 0 or c["bottom"] > page.height
    ]


def _p_value_cells(page):
    """Words right-aligned under a "p (adjusted)" header of this page (the header may wrap:
    "p" left of "(adjusted)" on its line, or above it, right-aligned with it)."""
    words = page.extract_words(keep_blank_chars=False)
    cells = []
    for adj in (w for w in words if w["text"] == "(adjusted)"):
        p_word = [
            w
            for w in words
            if w["text"] == "p"
            and (
                (abs(w["top"] - adj["top"]) < 1 and 0 <= adj["x0"] - w["x1"] < 6)
                or (abs(w["x1"] - adj["x1"]) < 1.5 and 0 < adj["top"] - w["top"] < 14)
            )
        ]
        if p_word:
            cells += [
                v["text"]
                for v in words
                if v["top"] > adj["bottom"] and abs(v["x1"] - adj["x1"]) < 1.5
            ]
    return cells


def _check_pdf(path, sections):
    with pdfplumber.open(path) as pdf:
        catalog = pdf.doc.catalog
        assert "StructTreeRoot" in catalog, "the PDF is not tagged"
        mark = catalog["MarkInfo"]
        mark = mark.resolve() if hasattr(mark, "resolve") else mark
        assert mark.get("Marked") is True
        outline = [title for _, title, *_ in pdf.doc.get_outlines()]
        for s in sections:
            assert s in outline, f"no bookmark for {s!r}"
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
        assert "Contents" in text
        outside = {i + 1: _outside_margins(p) for i, p in enumerate(pdf.pages)}
        assert {k: v for k, v in outside.items() if v} == {}
        p_cells = [c for p in pdf.pages for c in _p_value_cells(p)]
        landscape = sum(p.width > p.height for p in pdf.pages)
    assert p_cells, "no p-value column found"
    bad = [c for c in p_cells if re.fullmatch(r"[01]\.0+", c)]
    assert bad == [], f"p-values printed as {bad[:5]}"
    assert not re.search(r"[-\u2212]0\.0+(?!\d*[1-9])\b", text), "negative zero printed"
    return text, landscape


def test_pdf_of_the_made_report(made):
    _, _, pdf = made
    text, landscape = _check_pdf(pdf, reportsim.SECTIONS)
    assert landscape >= 1  # the 12-column table is on landscape pages
    assert text.count("area outcome estimator") >= 2  # its header row repeats on each page
    assert "< 0.001" in text and "\u22125.03 to \u22121.38" in text
    with pdfplumber.open(pdf) as doc:
        home = [
            p for p in doc.pages if (p.extract_text() or "").startswith("Appendix: every estimate")
        ]
        # the wide table's heading prints on its landscape page, not alone on a portrait one
        assert [p.width > p.height for p in home] == [True]


@pytest.mark.xdist_group("pipeline")
def test_pdf_of_the_small_study_funder_report(tmp_path_factory):
    from test_browser import _pipeline_module

    result = _pipeline_module().small_report(tmp_path_factory)[0]
    assert result.pdf is not None, [str(f) for f in result.failures]
    soup = _soup(result.html)
    sections = [h.get_text(" ", strip=True) for h in soup.find_all("h2") if h["id"] != "contents"]
    assert "Summary" in sections and len(sections) >= 5
    text, _ = _check_pdf(result.pdf, sections)
    assert "stss_total" not in text and "org_practice" not in text
    assert not re.search(r"(?<![\w.])-\d", text), "a hyphen used as a minus sign"


def test_a_refused_export_writes_no_figure_files(tmp_path):
    import nbformat

    from stseval.privacy import PrivacyLeakError

    nb = nbformat.read(str(reportsim.write_notebook(tmp_path / "r.ipynb")), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Worker ORG-SECRET-77 said so."))
    nbformat.write(nb, str(tmp_path / "r.ipynb"))
    with pytest.raises(PrivacyLeakError):
        export_html(tmp_path / "r.ipynb", tmp_path / "r.html", ids=["ORG-SECRET-77"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.ipynb"]
