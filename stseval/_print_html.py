"""Make an exported report read well in print and on a phone (part of :mod:`stseval._html_export`).

:func:`polish` rewrites the HTML body nbconvert made from an executed notebook:

* **Tables**: numbers as :mod:`stseval.formatting` writes them (the Unicode minus, no
  negative zero, p-values of zero shown as ``"< 0.001"`` and of one as ``"> 0.999"`` at the
  decimals the table was rendered with); code names (``stss_total``, ``org_practice``,
  ``p_adjusted``) as plain words (:func:`plain_name`); numeric cells right-aligned and never
  wrapped; every table in a box that scrolls sideways on a narrow screen; a table too wide
  for a portrait A4 page prints smaller or on a landscape page (:func:`wide_table`), with
  its heading.
* **Contents**: a table of contents (every ``h2``) before the first section, with page
  numbers in print; headings get clean ``id`` attributes.
* **Downloads**: each embedded figure is linked under it as a PNG file beside the report
  (:func:`polish` returns the files; the caller writes them after the leak scan); a box
  links the run's ``estimates.csv`` when it is beside the report.

The numbers are re-written from the text the notebook rendered (a table already rounded to
two decimals keeps two); the value is never re-rounded, only its sign and the p-value
extremes change, so nothing can print more precisely than the notebook computed it.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from .errors import UsageError
from .formatting import MINUS, format_p

__all__ = ["plain_name", "polish", "wide_table"]

_NUM = r"[-\u2212]?\d[\d,]*(?:\.\d+)?"
_NUM_RE = re.compile(rf"^{_NUM}$")
_INTERVAL_RE = re.compile(rf"^({_NUM}) to ({_NUM})$")
_EST_INTERVAL_RE = re.compile(rf"^({_NUM}) \(({_NUM}) to ({_NUM})\)$")
_CODE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_P_HEADER_RE = re.compile(r"^(adjusted )?p(-value| value)?( \(.*\))?$|^p_[a-z_]+$", re.I)

#: Reader's names of estimators (the ``estimator`` column).
ESTIMATOR_NAMES = {
    "ancova": "ANCOVA",
    "did": "difference in differences",
    "mixed": "mixed model",
    "org_practice": "organizations' practice",
    "its": "interrupted time series",
    "rci": "reliable change",
    "paired_change": "change within staff",
}
_HEADER_NAMES = {
    "p_value": "p",
    "p_adjusted": "p (adjusted)",
    "p_fdr_all_areas": "p (FDR, all areas)",
    "ci_low": "interval from",
    "ci_high": "interval to",
    "n_workers": "staff",
    "n_orgs": "organizations",
    "effect_size": "effect size",
    "es_type": "effect size type",
    "es_ci_low": "effect size interval from",
    "es_ci_high": "effect size interval to",
    "se": "standard error",
}
# Printable width of an A4 page (mm) and points per mm: portrait text width 182 mm,
# landscape 269 mm; table text 8.5 pt, a character about 0.55 em wide.
_PORTRAIT_PT = 182 * 72 / 25.4
_LANDSCAPE_PT = 269 * 72 / 25.4
_CHAR_PT = 8.5 * 0.55
_CELL_PAD_PT = 10.0
_WRAP_CHARS = 16


def plain_name(code: str) -> str:
    """A reader's name for a column or value code: outcome, estimator, area or column name.

    ``"stss_total"`` -> ``"secondary traumatic stress (STSS total)"``, ``"org_practice"``
    -> ``"organizations' practice"``, ``"p_adjusted"`` -> ``"p (adjusted)"``, an area key
    -> its title; any other ``snake_case`` code has its underscores replaced by spaces.
    """
    from .areas import AREA_KEYS, get_area, outcome_label
    from .columns import OUTCOME_LABELS

    text = str(code)
    if text in _HEADER_NAMES:
        return _HEADER_NAMES[text]
    if text in ESTIMATOR_NAMES:
        return ESTIMATOR_NAMES[text]
    if text in OUTCOME_LABELS or text.startswith("org_guidance_"):
        try:
            return outcome_label(text)
        except UsageError:  # an unknown area after the prefix: fall through
            pass
    if text in AREA_KEYS:
        return get_area(text).title
    return text.replace("_", " ")


def _number(token: str, *, p_value: bool) -> str:
    """One number as the report prints it (sign and p-value extremes; digits unchanged)."""
    body = token.lstrip("-\u2212")
    negative = token != body
    value = float(body.replace(",", ""))
    decimals = len(body.split(".")[1]) if "." in body else 0
    if p_value and decimals >= 1 and 0.0 <= value <= 1.0 and not negative:
        if value == 0.0 or value >= 1.0:
            return format_p(value, decimals=decimals)
        return body
    if negative and value != 0.0:
        return MINUS + body
    return body


def _cell_text(text: str, *, p_value: bool) -> tuple[str, bool]:
    """The cell's text with its numbers re-written, and whether the cell is numeric."""
    t = text.strip()
    if _NUM_RE.match(t):
        return _number(t, p_value=p_value), True
    m = _INTERVAL_RE.match(t)
    if m:
        lo, hi = (_number(g, p_value=False) for g in m.groups())
        return f"{lo} to {hi}", True
    m = _EST_INTERVAL_RE.match(t)
    if m:
        est, lo, hi = (_number(g, p_value=False) for g in m.groups())
        return f"{est} ({lo} to {hi})", True
    if _CODE_RE.match(t) or t in ESTIMATOR_NAMES:
        return plain_name(t), False
    return text, False


def _header_cells(table):
    thead = table.find("thead")
    row = thead.find("tr") if thead else table.find("tr")
    return row.find_all(["th", "td"]) if row else []


def _tidy_table(table) -> None:
    """Plain headers, print numbers and classes on one table (in place)."""
    heads = _header_cells(table)
    p_cols = set()
    for i, th in enumerate(heads):
        text = th.get_text(" ", strip=True)
        if _CODE_RE.match(text) or text in _HEADER_NAMES:
            th.string = plain_name(text)
            text = th.get_text(" ", strip=True)
        if _P_HEADER_RE.match(text):
            p_cols.add(i)
    header_row = heads[0].parent if heads else None
    numeric_cols: dict[int, int] = {}
    for tr in table.find_all("tr"):
        if tr is header_row:
            continue
        for i, cell in enumerate(tr.find_all(["td", "th"], recursive=False)):
            if cell.find(True) is not None:  # markup inside: leave it as it is
                continue
            new, numeric = _cell_text(cell.get_text(), p_value=i in p_cols)
            if new != cell.get_text():
                cell.string = new
            if numeric:
                cell["class"] = [*cell.get("class", []), "num"]
                numeric_cols[i] = numeric_cols.get(i, 0) + 1
    for i in numeric_cols:
        if i < len(heads):
            heads[i]["class"] = [*heads[i].get("class", []), "num"]


def wide_table(table) -> str:
    """How a table prints, as CSS classes of its box: ``""`` (portrait, 8.5 pt),
    ``"compact"`` (portrait, 7.5 pt), ``"wide"`` (a landscape page, 8.5 pt), ``"wide
    compact"`` (landscape, 7.5 pt) or ``"wide compact squeeze"`` (landscape, 7.5 pt, numbers
    may wrap too).

    The estimate: each column as wide as its longest unbreakable text (numbers in body
    cells never wrap; other text, headers included, wraps, so it needs its longest word or
    about 16 characters), plus the cell padding, a character being about 0.55 em wide.
    """
    widths: dict[int, int] = {}
    for tr in table.find_all("tr"):
        for i, cell in enumerate(tr.find_all(["td", "th"], recursive=False)):
            text = cell.get_text(" ", strip=True)
            if cell.name == "td" and "num" in cell.get("class", []):
                need = len(text)
            else:
                longest_word = max((len(w) for w in text.split()), default=0)
                need = max(longest_word, min(len(text), _WRAP_CHARS))
            widths[i] = max(widths.get(i, 0), need)
    chars = sum(widths.values())
    pad = _CELL_PAD_PT * len(widths)
    for classes, room, size in (
        ("", _PORTRAIT_PT, 8.5),
        ("compact", _PORTRAIT_PT, 7.5),
        ("wide", _LANDSCAPE_PT, 8.5),
        ("wide compact", _LANDSCAPE_PT, 7.5),
    ):
        if chars * _CHAR_PT * size / 8.5 + pad <= room:
            return classes
    return "wide compact squeeze"


def _wrap_tables(soup) -> None:
    for table in soup.find_all("table"):
        _tidy_table(table)
        caption = table.find("caption")
        box = soup.new_tag("div")
        box["class"] = ["table-scroll"]
        width = wide_table(table)
        box["class"] += width.split()
        box["role"] = "region"
        box["tabindex"] = "0"
        box["aria-label"] = caption.get_text(" ", strip=True) if caption else "table"
        table.wrap(box)
        if "wide" in box["class"]:
            _keep_lead_with(box)


_LEAD_CHARS = 600


def _mark(el, cls: str) -> None:
    el["class"] = [*el.get("class", []), cls]


def _keep_lead_with(box) -> None:
    """Put a wide table's heading on its landscape page too, so no heading is left alone
    at the foot of a portrait page: the notebook cell holding the table (when it holds little
    else) and the short heading cell just before it print on the ``wide`` page."""
    cell = box.find_parent(class_="cell")
    if cell is None:
        return
    other = len(cell.get_text(" ", strip=True)) - len(box.get_text(" ", strip=True))
    if len(cell.find_all("table")) != 1 or other > _LEAD_CHARS:
        return
    _mark(cell, "wide-page")
    before = cell.find_previous_sibling(class_="cell")
    heading = before.find(["h2", "h3"]) if before is not None else None
    if heading is not None and len(before.get_text(" ", strip=True)) <= _LEAD_CHARS // 2:
        _mark(before, "wide-page")


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "section"
    slug, k = base, 2
    while slug in used:
        slug, k = f"{base}-{k}", k + 1
    used.add(slug)
    return slug


def _add_contents(soup) -> None:
    """Clean heading ids and a table of contents of the ``h2`` sections before the first."""
    used: set[str] = set()
    for h in soup.find_all(["h1", "h2", "h3", "h4"]):
        h["id"] = _slug(h.get_text(" ", strip=True), used)
    sections = soup.find_all("h2")
    if len(sections) < 2:
        return
    nav = soup.new_tag("nav")
    nav["class"] = ["toc"]
    nav["aria-labelledby"] = "contents"
    title = soup.new_tag("h2", id="contents")
    title.string = "Contents"
    nav.append(title)
    ol = soup.new_tag("ol")
    for h in sections:
        li = soup.new_tag("li")
        a = soup.new_tag("a", href=f"#{h['id']}")
        a.string = h.get_text(" ", strip=True)
        li.append(a)
        ol.append(li)
    nav.append(ol)
    first = sections[0]
    anchor = first.find_parent(class_="cell") or first
    anchor.insert_before(nav)


def _figure_files(soup, folder: Path, link_prefix: str) -> list[tuple[Path, bytes]]:
    """Link each embedded PNG under its figure; return the files to write (path, bytes)."""
    written: list[tuple[Path, bytes]] = []
    images = [
        img for img in soup.find_all("img") if img.get("src", "").startswith("data:image/png")
    ]
    for k, img in enumerate(images, start=1):
        alt = img.get("alt", "")
        words = re.sub(r"[^a-z0-9 ]+", " ", alt.lower()).split()[:4]
        name = f"figure-{k}" + ("-" + "-".join(words) if words else "") + ".png"
        written.append((folder / name, base64.b64decode(img["src"].split(",", 1)[1])))
        p = soup.new_tag("p")
        p["class"] = ["figure-download", "no-print"]
        a = soup.new_tag("a", href=f"{link_prefix}{name}", download=name)
        a.string = f"Download figure {k} (PNG)"
        p.append(a)
        img.insert_after(p)
    return written


def _downloads_box(soup, files: dict[str, str]) -> None:
    """A box of links (label -> relative path) after the table of contents."""
    if not files:
        return
    box = soup.new_tag("p")
    box["class"] = ["downloads", "no-print"]
    strong = soup.new_tag("strong")
    strong.string = "Download: "
    box.append(strong)
    for i, (label, href) in enumerate(files.items()):
        if i:
            box.append(", ")
        a = soup.new_tag("a", href=href, download=Path(href).name)
        a.string = label
        box.append(a)
    note = soup.new_tag("p")
    note["class"] = ["print-only"]
    note.string = "Files with this report, in the same folder: " + ", ".join(
        Path(href).name for href in files.values()
    )
    nav = soup.find("nav", class_="toc")
    target = nav or soup.find("h2")
    if target is None:
        soup.append(box)
        soup.append(note)
        return
    if nav is not None:
        nav.insert_after(box)
        box.insert_after(note)
    else:
        target.insert_before(box)
        target.insert_before(note)


def polish(
    body: str, *, html_path: Path, downloads: dict[str, str] | None = None
) -> tuple[str, list[tuple[Path, bytes]]]:
    """The report body with print-ready tables, a table of contents and download links,
    and the figure files it links to (path, PNG bytes), for the caller to write once the
    page has passed the leak scan.

    Parameters
    ----------
    body : str
        HTML of the exported notebook (nbconvert's ``basic`` template).
    html_path : Path
        Where the HTML will be written; figures go to ``<stem>_figures/`` beside it, and
        ``estimates.csv`` beside it is linked.
    downloads : dict label -> relative path, optional
        More files to link (e.g. the PDF and DOCX the caller writes next); linked as given.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    _wrap_tables(soup)
    _add_contents(soup)
    folder = html_path.parent / f"{html_path.stem}_figures"
    figures = _figure_files(soup, folder, f"{folder.name}/")
    files = {}
    if (html_path.parent / "estimates.csv").is_file():
        files["every estimate (estimates.csv)"] = "estimates.csv"
    files.update(downloads or {})
    _downloads_box(soup, files)
    return str(soup), figures
