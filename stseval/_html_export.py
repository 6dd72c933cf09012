"""Export an executed notebook for readers: self-contained HTML (code hidden), then PDF.

Part of :mod:`stseval.pipeline` (which re-exports :func:`export_html` and
:func:`export_pdf`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from html import escape
from pathlib import Path

__all__ = ["export_html", "export_pdf"]

_CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10.5pt;
       line-height: 1.45; color: #1d1d1d; max-width: 960px; margin: 0 auto; padding: 12px; }
h1 { font-size: 20pt; margin: 0.2em 0 0.4em; }
h2 { font-size: 15pt; margin-top: 1.4em; border-bottom: 1px solid #bbb; break-after: avoid; }
h3 { font-size: 12pt; break-after: avoid; }
blockquote { background: #fff4d6; border-left: 5px solid #e0a800; margin: 0.8em 0;
             padding: 0.4em 0.9em; }
img { max-width: 100%; height: auto; break-inside: avoid; }
table { border-collapse: collapse; font-size: 8.5pt; margin: 0.6em 0 1em; break-inside: auto; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
td.suppressed { color: #8a5a00; font-style: italic; }
a.anchor-link { display: none; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 3px; }
.jp-OutputArea-output pre, pre { white-space: pre-wrap; font-size: 8.5pt; }
"""


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
                meta.setdefault("alt", "Figure")
            if out.get("output_type") in ("display_data", "execute_result") and not data:
                continue
            kept.append(out)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return nb


def export_html(
    notebook, html_path, *, ids: Sequence[str], title: str = "Report", source: str | None = None
) -> Path:
    """Export an executed notebook to one self-contained HTML file with the code hidden.

    nbconvert's ``basic`` template with ``exclude_input``, input and output
    prompts excluded; stderr, errors and widget views dropped; figures stay
    embedded as base64 PNG; a small stylesheet of our own (no external scripts,
    fonts or styles). The text is scanned with
    :func:`stseval.privacy.assert_no_leaks` for ``ids`` before it is written.
    """
    import nbformat
    from nbconvert import HTMLExporter

    from .privacy import assert_no_leaks

    nb = _strip_for_readers(nbformat.read(str(notebook), as_version=4))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(nb)
    html = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )
    with warnings.catch_warnings():
        # IDs of one or two characters (e.g. team "T1") are not scanned for: they would match
        # ordinary words and numbers of the report; the leak scan says how many it skipped.
        warnings.filterwarnings(
            "ignore", message=r"\d+ ID\(s\) shorter than min_id_length", category=UserWarning
        )
        assert_no_leaks(html, ids=list(ids), source=source or Path(html_path).name, min_id_length=3)
    html_path = Path(html_path)
    html_path.write_text(html, encoding="utf-8")
    return html_path


def export_pdf(html_path, pdf_path) -> Path:
    """Render the HTML file to PDF with WeasyPrint (A4, the HTML's own stylesheet)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    return Path(pdf_path)
