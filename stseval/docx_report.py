"""An editable Word report (``funder_report.docx``) from a simple, layout-free structure.

Evaluators edit a report before they send it, so the funder report is also written as a
Word document: real headings (so Word's navigation pane and table of contents work), tables
as Word tables with the header row repeated on every page and rows that do not split, and
figures embedded with alt text for screen readers. The structure is independent of the HTML
report layer: a :class:`DocxReport` holds a title and :class:`Section` objects whose blocks
are paragraphs (str), :class:`Table` or :class:`Figure`.

Built with python-docx (MIT licence, https://python-docx.readthedocs.io/). The tests read the
document back with python-docx: headings, every table cell, the embedded image and its alt
text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stseval.errors import UsageError
from stseval.formatting import format_number, format_p

__all__ = ["DocxReport", "Section", "Table", "Figure", "write_docx", "plain_label"]

_P_COLUMNS = {"p_value", "p_adjusted", "p"}


@dataclass(frozen=True)
class Table:
    """A table block.

    Attributes
    ----------
    data : DataFrame
        The rows to print (already through disclosure control). Numbers are formatted
        with :mod:`stseval.formatting`: p-value columns (``p_value``, ``p_adjusted``, ``p``)
        as ``"< 0.001"``, other floats with ``decimals`` places and the Unicode minus;
        text is printed as it is; missing values as an em dash.
    caption : str
        Caption printed above the table.
    labels : mapping column -> label, optional
        Plain column names; unlisted columns go through :func:`plain_label`.
    decimals : int
        Decimals of float columns.
    landscape : bool
        Put the table on its own landscape page (for wide tables).
    """

    data: pd.DataFrame
    caption: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    decimals: int = 1
    landscape: bool = False


@dataclass(frozen=True)
class Figure:
    """A figure block: a PNG file, its alt text (required) and an optional caption."""

    path: str | os.PathLike
    alt_text: str
    caption: str = ""
    width_cm: float = 15.0


@dataclass(frozen=True)
class Section:
    """A heading and its blocks (str paragraphs, :class:`Table`, :class:`Figure`).

    An empty ``heading`` writes the blocks without a heading (e.g. the paragraphs that
    open a report, under its title).
    """

    heading: str
    blocks: Sequence[Any] = ()
    level: int = 1


@dataclass(frozen=True)
class DocxReport:
    """The whole document: a title, an optional subtitle line, and sections.

    With ``contents=True`` a table-of-contents field (headings 1-2) follows the title; Word
    fills it in when fields are updated (it asks when the file is opened).
    """

    title: str
    sections: Sequence[Section] = ()
    subtitle: str = ""
    contents: bool = False


def plain_label(column: str) -> str:
    """A readable column name: ``"org_practice"`` -> ``"Org practice"``; known names get words."""
    known = {
        "ci_low": "Interval from",
        "ci_high": "Interval to",
        "p_value": "p",
        "p_adjusted": "Adjusted p",
        "n_workers": "Staff",
        "n_orgs": "Organizations",
        "se": "Standard error",
        "n": "Number",
        "stss_total": "Secondary traumatic stress (total)",
    }
    if column in known:
        return known[column]
    text = str(column).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _cell_text(value: Any, column: str, decimals: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "\u2014"
    if column in _P_COLUMNS and isinstance(value, int | float | np.number):
        return format_p(value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return format_number(value, decimals=0)
    if isinstance(value, float | np.floating):
        return format_number(value, decimals=decimals)
    return str(value)


def _repeat_header(row) -> None:
    """Mark a table row as a header row repeated at the top of every page (w:tblHeader)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    for tag in ("w:tblHeader", "w:cantSplit"):
        el = OxmlElement(tag)
        el.set(qn("w:val"), "true")
        tr_pr.append(el)


def _keep_row_whole(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _set_orientation(doc, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT, WD_SECTION

    current = doc.sections[-1]
    want = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    if current.orientation == want:
        return
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    width, height = new.page_width, new.page_height
    if (landscape and width < height) or (not landscape and width > height):
        new.page_width, new.page_height = height, width
    new.orientation = want


def _add_table(doc, block: Table) -> None:
    if not isinstance(block.data, pd.DataFrame):
        raise UsageError(f"Table.data must be a DataFrame, got {type(block.data).__name__}")
    if block.landscape:
        _set_orientation(doc, True)
    if block.caption:
        doc.add_paragraph(block.caption, style="Caption")
    data = block.data.reset_index(drop=True)
    columns = [str(c) for c in data.columns]
    table = doc.add_table(rows=1, cols=max(len(columns), 1))
    table.style = "Table Grid"
    header = table.rows[0]
    for cell, col in zip(header.cells, columns, strict=False):
        cell.text = block.labels.get(col, plain_label(col))
        for run in cell.paragraphs[0].runs:
            run.bold = True
    _repeat_header(header)
    for _, values in data.iterrows():
        row = table.add_row()
        _keep_row_whole(row)
        for cell, col in zip(row.cells, data.columns, strict=True):
            cell.text = _cell_text(values[col], str(col), block.decimals)
    if block.landscape:
        _set_orientation(doc, False)


def _add_figure(doc, block: Figure) -> None:
    from docx.shared import Cm

    path = Path(block.path)
    if not path.is_file():
        raise UsageError(f"figure file {str(path)!r} does not exist")
    if not isinstance(block.alt_text, str) or not block.alt_text.strip():
        raise UsageError(f"figure {path.name!r} needs alt text describing what it shows")
    doc.add_picture(str(path), width=Cm(block.width_cm))
    shape = doc.inline_shapes[len(doc.inline_shapes) - 1]
    doc_pr = shape._inline.docPr
    doc_pr.set("descr", block.alt_text.strip())
    doc_pr.set("title", (block.caption or path.stem)[:255])
    if block.caption:
        doc.add_paragraph(block.caption, style="Caption")


def _add_section(doc, section: Section) -> None:
    if not isinstance(section, Section):
        raise UsageError(f"sections must be Section objects, got {type(section).__name__}")
    if section.level not in (1, 2, 3):
        raise UsageError(f"Section.level must be 1, 2 or 3, got {section.level!r}")
    if section.heading:
        doc.add_heading(section.heading, level=section.level)
    for block in section.blocks:
        if isinstance(block, str):
            doc.add_paragraph(block)
        elif isinstance(block, Table):
            _add_table(doc, block)
        elif isinstance(block, Figure):
            _add_figure(doc, block)
        elif isinstance(block, Section):
            _add_section(doc, block)
        else:
            raise UsageError(
                f"section {section.heading!r}: a block must be a str, Table, Figure or "
                f"Section, got {type(block).__name__}"
            )


def _page_setup(doc) -> None:
    """A4 portrait with 2 cm margins (python-docx's default template is US Letter)."""
    from docx.shared import Cm

    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))


def _contents_field(doc) -> None:
    """A "Contents" heading and a TOC field over headings 1-2, updated when Word opens it."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc.add_paragraph().add_run("Contents").bold = True
    paragraph = doc.add_paragraph()
    parts = [("begin", None), (None, 'TOC \\o "1-2" \\h \\z \\u'), ("separate", None)]
    for kind, instr in parts:
        run = paragraph.add_run()
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
        run._r.append(el)
    paragraph.add_run(
        "Update this field (F9, or right-click and Update Field) to list the sections."
    )
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    paragraph.add_run()._r.append(end)
    settings = doc.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    settings.append(update)


def write_docx(report: DocxReport, path: str | os.PathLike) -> Path:
    """Write ``report`` as a Word document.

    Parameters
    ----------
    report : DocxReport
        Title, optional subtitle and sections.
    path : path
        A ``.docx`` file, or a folder (``funder_report.docx`` is written inside it).
        An existing file is replaced.

    Returns
    -------
    pathlib.Path
        The file written. The document has a ``Title`` paragraph, ``Heading 1..3``
        headings, tables in the ``Table Grid`` style whose first row repeats on every page
        (``w:tblHeader``) and whose rows do not split across pages (``w:cantSplit``), and
        pictures whose ``descr`` (alt text) and ``title`` are set. The core properties'
        title is the report title.
    """
    import docx

    if not isinstance(report, DocxReport):
        raise UsageError(f"report must be a DocxReport, got {type(report).__name__}")
    out = Path(path)
    if out.is_dir():
        out = out / "funder_report.docx"
    if out.suffix.lower() != ".docx":
        raise UsageError(f"path must end in .docx or be a folder, got {str(out)!r}")
    doc = docx.Document()
    _page_setup(doc)
    doc.core_properties.title = report.title
    doc.add_heading(report.title, level=0)
    if report.subtitle:
        doc.add_paragraph(report.subtitle, style="Subtitle")
    if report.contents:
        _contents_field(doc)
    for section in report.sections:
        _add_section(doc, section)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    return out
