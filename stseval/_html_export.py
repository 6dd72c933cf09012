"""Export an executed notebook for readers: self-contained HTML (code hidden), then PDF.

Part of :mod:`stseval.pipeline` (which re-exports :func:`export_html` and
:func:`export_pdf`). The HTML carries the kit's stylesheet (``stseval/_report.css``,
package data): it reflows on a phone and prints on A4 with tables that fit the page, rows
kept whole and header rows repeated. :mod:`stseval._print_html` makes the tables print-ready
(numbers through :mod:`stseval.formatting`, plain names), adds a table of contents and
download links. The PDF is tagged (PDF/UA-1 structure tree) and has a bookmark outline of
the headings.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from html import escape
from importlib import resources
from pathlib import Path

__all__ = ["export_html", "export_pdf", "prepare_pdf", "report_css", "write_pdf"]


def report_css() -> str:
    """The reports' stylesheet (screen and print), read from the package data."""
    return resources.files("stseval").joinpath("_report.css").read_text(encoding="utf-8")


def _strip_for_readers(nb):
    """Drop what a reader must not see: stderr streams, widget views, error tracebacks."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if out.get("output_type") == "error":
                continue
            data = out.get("data", {})
            data.pop("application/vnd.jupyter.widget-view+json", None)
            if "image/png" in data:
                meta = out.setdefault("metadata", {}).setdefault("image/png", {})
                if not str(meta.get("alt", "")).strip():
                    meta["alt"] = "Chart (no description was given by the notebook)"
            if out.get("output_type") in ("display_data", "execute_result") and not data:
                continue
            kept.append(out)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return nb


def export_html(
    notebook,
    html_path,
    *,
    ids: Sequence[str],
    title: str = "Report",
    source: str | None = None,
    downloads: Mapping[str, str] | None = None,
) -> Path:
    """Export an executed notebook to one self-contained HTML file with the code hidden.

    nbconvert's ``basic`` template with ``exclude_input``, input and output
    prompts excluded; stderr, errors and widget views dropped; figures stay
    embedded as base64 PNG with their alt text (and are also written to
    ``<stem>_figures/`` beside the HTML, linked under each figure); tables made
    print-ready and a table of contents added (:func:`stseval._print_html.polish`);
    the kit's stylesheet inlined (no external scripts, fonts or styles). The text is
    scanned with :func:`stseval.privacy.assert_no_leaks` for ``ids`` before it is
    written.

    Parameters
    ----------
    downloads : mapping label -> path relative to the HTML, optional
        Files to link in the report's download box besides ``estimates.csv`` (linked
        when it is beside the HTML), e.g. ``{"PDF": "funder_report.pdf", "Word (editable)":
        "funder_report.docx"}`` for the files the caller writes next.
    """
    import nbformat
    from nbconvert import HTMLExporter

    from ._print_html import polish
    from .privacy import assert_no_leaks

    html_path = Path(html_path)
    nb = _strip_for_readers(nbformat.read(str(notebook), as_version=4))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(nb)
    body, figures = polish(body, html_path=html_path, downloads=dict(downloads or {}))
    html = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{report_css()}</style>\n</head>\n<body>\n"
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
    with warnings.catch_warnings():
        # IDs of one or two characters (e.g. team "T1") are not scanned for: they would match
        # ordinary words and numbers of the report; the leak scan says how many it skipped.
        warnings.filterwarnings(
            "ignore", message=r"\d+ ID\(s\) shorter than min_id_length", category=UserWarning
        )
        assert_no_leaks(html, ids=list(ids), source=source or html_path.name, min_id_length=3)
    html_path.write_text(html, encoding="utf-8")
    for path, data in figures:  # only once the page passed the scan
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return html_path


def _pdf_options() -> dict:
    """WeasyPrint options for a tagged PDF: PDF/UA-1 (tags, language, title in the
    metadata) and, on versions that have the switch, ``pdf_tags``."""
    import weasyprint

    options = {"pdf_variant": "pdf/ua-1"}
    if "pdf_tags" in getattr(weasyprint, "DEFAULT_OPTIONS", {}):
        options["pdf_tags"] = True
    return options


def export_pdf(html_path, pdf_path) -> Path:
    """Render the HTML file to a tagged PDF with WeasyPrint (A4, the HTML's own stylesheet).

    The PDF has a structure tree (``/StructTreeRoot``, ``/MarkInfo``: PDF/UA-1), a bookmark
    outline of the ``h1``-``h3`` headings, a table of contents with page numbers and wide
    tables on landscape pages.
    """
    html_path = Path(html_path)
    return write_pdf(html_path.read_text(encoding="utf-8"), pdf_path, base_url=str(html_path))


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


@lru_cache(maxsize=1)
def _font_config():
    """One WeasyPrint font configuration per process, shared by every document."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=4)
def _stylesheet(css: str):
    """The parsed stylesheet (a ``weasyprint.CSS``), parsed once per process for each text."""
    from weasyprint import CSS

    return CSS(string=css, font_config=_font_config())


def prepare_pdf(css: str) -> None:
    """Import WeasyPrint and parse ``css`` now (e.g. once before a process pool forks)."""
    _stylesheet(css)


def write_pdf(html: str, pdf_path, *, base_url: str | None = None) -> Path:
    """Render an HTML text to a tagged PDF (as :func:`export_pdf`), parsing its stylesheet once.

    A page with exactly one ``<style>`` element (the kit's reports) is rendered with that
    stylesheet taken out and given to WeasyPrint as an already parsed ``CSS`` object,
    cached per process, with one shared font configuration: the same cascade (the only
    author stylesheet either way), so the same pages, without parsing the stylesheet
    again for every document. Any other page is rendered as it is.

    Parameters
    ----------
    html : str
        The complete page.
    pdf_path : path
        Where the PDF goes.
    base_url : str, optional
        What relative links resolve against (the HTML file's path).
    """
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    styles = _STYLE.findall(html)
    options = _pdf_options()
    if len(styles) == 1 and html.count("<style") == 1:
        html = _STYLE.sub("", html, count=1)
        options.update(stylesheets=[_stylesheet(styles[0])], font_config=_font_config())
    font_config = options.pop("font_config", None)
    doc = HTML(string=html, base_url=base_url).render(font_config=font_config, **options)
    doc.write_pdf(str(pdf_path), **_pdf_options())
    return Path(pdf_path)
