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

import warnings
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from pathlib import Path

__all__ = ["export_html", "export_pdf", "report_css"]


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
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(filename=str(html_path)).write_pdf(str(pdf_path), **_pdf_options())
    return Path(pdf_path)
