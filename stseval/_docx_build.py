"""The funder report as an editable Word document, built from the exported HTML report.

The HTML report (:func:`stseval._html_export.export_html`) is the one source: its headings,
paragraphs, lists, tables (numbers already as :mod:`stseval.formatting` prints them, plain
names) and figures (with their alt text) become a :class:`stseval.docx_report.DocxReport`
with the same sections in the same order, written by :func:`stseval.docx_report.write_docx`.
So the Word file says exactly what the HTML and PDF say, and it was leak-scanned with them.

Reading order: ``h1`` is the title; each ``h2`` starts a section and each ``h3`` a
subsection; paragraphs, list items (as "• ..." paragraphs), block quotes and tables follow
in document order; a figure is embedded from the PNG the export wrote beside the report
(or decoded from the page when that file is missing) with the image's alt text. What is
only for the screen (the table of contents, download links) is left out: Word builds its
own contents from the headings.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

import pandas as pd

from .docx_report import DocxReport, Figure, Section, Table, write_docx
from .errors import UsageError

__all__ = ["build_docx_report", "export_docx"]

_BLOCKS = ["h1", "h2", "h3", "h4", "p", "li", "table", "img", "pre"]
_CONTAINERS = ("table", "li", "nav", "pre")
_CSS_DPI = 96


def _skip(el) -> bool:
    """Screen-only parts, and elements inside a block handled as a whole."""
    for parent in el.parents:
        classes = parent.get("class", []) if hasattr(parent, "get") else []
        if "no-print" in classes or parent.name == "nav":
            return True
        if parent.name in _CONTAINERS and not (el.name == "li" and parent.name == "li"):
            return True
    return "no-print" in el.get("class", [])


def _li_text(li) -> str:
    parts = []
    for child in li.children:
        if getattr(child, "name", None) in ("ul", "ol"):
            break
        parts.append(child.get_text(" ") if hasattr(child, "get_text") else str(child))
    text = " ".join("".join(parts).split())
    depth = sum(1 for p in li.parents if p.name in ("ul", "ol")) - 1
    return "  " * max(depth, 0) + "\u2022 " + text


def _table(el) -> Table:
    rows = el.find_all("tr")
    if not rows:
        return Table(pd.DataFrame())
    thead = el.find("thead")
    head_row = thead.find("tr") if thead else rows[0]
    heads = [c.get_text(" ", strip=True) for c in head_row.find_all(["th", "td"])]
    names, seen = [], {}
    for h in heads:
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    body = []
    for tr in rows:
        if tr is head_row:
            continue
        cells = [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]
        body.append((cells + [""] * len(names))[: len(names)])
    caption = el.find("caption")
    box = el.find_parent(class_="table-scroll")
    landscape = box is not None and "wide" in box.get("class", [])
    return Table(
        pd.DataFrame(body, columns=names, dtype=object),
        caption=caption.get_text(" ", strip=True) if caption else "",
        labels={n: n for n in names},
        landscape=landscape,
    )


def _figure(img, html_dir: Path, scratch: Path, k: int) -> Figure:
    link = img.find_next_sibling("p", class_="figure-download")
    href = link.find("a")["href"] if link and link.find("a") else None
    path = html_dir / href if href else None
    if path is None or not path.is_file():
        src = img.get("src", "")
        if not src.startswith("data:image/png;base64,"):
            raise UsageError(f"figure {k} of the report is not an embedded PNG")
        path = scratch / f"figure-{k}.png"
        path.write_bytes(base64.b64decode(src.split(",", 1)[1]))
    width_px = img.get("width")
    width_cm = 16.0
    if width_px and str(width_px).isdigit():
        width_cm = min(16.0, int(width_px) / _CSS_DPI * 2.54)
    alt = img.get("alt", "").strip() or f"Figure {k} of the report"
    return Figure(path, alt_text=alt, width_cm=width_cm)


def _new_section(heading: str, level: int) -> Section:
    return Section(heading, [], level=level)


def build_docx_report(html_path, *, scratch: str | os.PathLike | None = None) -> DocxReport:
    """Read an exported report's HTML and return its :class:`DocxReport` (same sections).

    Parameters
    ----------
    html_path : path
        An HTML report written by :func:`stseval._html_export.export_html`.
    scratch : path, optional
        Folder for figures that must be decoded from the page (default: a new temporary
        folder; the figures beside the report are used when they are there).
    """
    from bs4 import BeautifulSoup

    html_path = Path(html_path)
    if not html_path.is_file():
        raise UsageError(f"no HTML report at {str(html_path)!r}: export the report first")
    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    scratch_dir = Path(scratch) if scratch is not None else Path(tempfile.mkdtemp("stseval"))
    title = soup.title.get_text(strip=True) if soup.title else html_path.stem
    front = _new_section("", 1)
    sections: list[Section] = []
    current, parent = front, None
    figures = 0
    for el in soup.find_all(_BLOCKS):
        if _skip(el):
            continue
        if el.name == "h1":
            title = el.get_text(" ", strip=True)
        elif el.name == "h2":
            current, parent = _new_section(el.get_text(" ", strip=True), 1), None
            sections.append(current)
        elif el.name in ("h3", "h4"):
            parent = parent or current
            current = _new_section(el.get_text(" ", strip=True), 2)
            parent.blocks.append(current)
        elif el.name == "table":
            current.blocks.append(_table(el))
        elif el.name == "img":
            figures += 1
            current.blocks.append(_figure(el, html_path.parent, scratch_dir, figures))
        elif el.name == "li":
            current.blocks.append(_li_text(el))
        else:
            text = " ".join(el.get_text(" ").split())
            if text:
                current.blocks.append(text)
    if front.blocks:
        sections.insert(0, front)  # the paragraphs under the title, without a heading
    return DocxReport(title=title, sections=sections, contents=True)


def export_docx(html_path, docx_path=None) -> Path:
    """Write the Word version of an exported HTML report; return its path.

    ``docx_path`` defaults to the HTML's path with ``.docx``. Same sections, tables as Word
    tables (header row repeated, rows kept whole, wide tables on landscape pages), figures
    embedded with their alt text (:func:`build_docx_report`, :func:`stseval.docx_report.write_docx`).
    """
    html_path = Path(html_path)
    out = Path(docx_path) if docx_path is not None else html_path.with_suffix(".docx")
    with tempfile.TemporaryDirectory(prefix="stseval-docx-") as scratch:
        report = build_docx_report(html_path, scratch=scratch)
        return write_docx(report, out)
