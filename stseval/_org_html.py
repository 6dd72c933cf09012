"""The HTML of one organization's report (:mod:`stseval.org_reports`): template and charts.

One page template (:data:`TEMPLATE`, :class:`string.Template`) filled with sections built
here. Charts are HTML boxes placed with CSS (no image files, nothing drawn per organization by
matplotlib): they scale on a phone, print sharply and carry their own alt text. A panel
whose numbers are suppressed becomes a notice in the text flow, so nothing overlaps.
"""

from __future__ import annotations

from html import escape
from string import Template

import numpy as np
import pandas as pd

from .formatting import format_count, format_interval, format_number

__all__ = ["render_html", "render_body", "render_fragment", "CSS", "TEMPLATE", "BODY"]

# Okabe-Ito colour-blind-safe palette, light to dark for ordered bands.
_BAND_COLOURS = ["#cfe8f3", "#8cc4e0", "#f0c66e", "#e69f00", "#c45a00"]

CSS = """
@page { size: A4; margin: 14mm 14mm 16mm;
        @bottom-center { content: "page " counter(page); font-size: 8pt; color: #666; } }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10pt;
       line-height: 1.4; color: #1d1d1d; max-width: 900px; margin: 0 auto; padding: 10px; }
h1 { font-size: 18pt; margin: 0 0 0.3em; }
h2 { font-size: 13pt; margin: 1.1em 0 0.4em; border-bottom: 1px solid #bbb;
     break-after: avoid; }
p { margin: 0.35em 0; }
.banner { background: #fff4d6; border-left: 5px solid #e0a800; padding: 0.3em 0.8em; }
.notice { background: #f3f3f3; border-left: 5px solid #999; padding: 0.4em 0.8em;
          font-style: italic; }
.panel { break-inside: avoid; margin: 0.4em 0 0.8em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 9pt; margin: 0.3em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
th { background: #f0f0f0; }
tr { break-inside: avoid; }
thead { display: table-header-group; }
td.suppressed { color: #8a5a00; font-style: italic; }
svg { max-width: 100%; height: auto; display: block; }
.change { position: relative; display: block; max-width: 560px; font-size: 13px;
          line-height: 1.2; }
.change span { position: absolute; display: block; }
.change .row { position: relative; height: 40px; }
.change .lab { left: 4.29%; top: 6px; white-space: nowrap; }
.change .ci { top: 28.75px; height: 2.5px; background: #0072b2; }
.change .pt { top: 25px; width: 10px; height: 10px; margin-left: -5px; border-radius: 50%;
              background: #0072b2; }
.change .zero { top: 4px; bottom: 20px; width: 1px; background: #888; }
.change .axis { position: relative; height: 26px; }
.change .axis span { top: 6px; }
.change .lo { left: 4.29%; } .change .hi { right: 4.29%; }
.change .mid { width: 4em; margin-left: -2em; text-align: center; }
.bar { position: relative; width: 100%; height: 1.3em; border: 1px solid #999; margin: 2px 0; }
.bar span { position: absolute; top: 0; bottom: 0; }
.strip { position: relative; width: 100%; min-width: 8em; height: 14px;
         border-bottom: 1px solid #bbb; margin-bottom: 7px; }
.strip .band { position: absolute; top: 1px; height: 12px; background: #c8c8c8; }
.strip .dot { position: absolute; top: 2px; width: 10px; height: 10px; margin-left: -5px;
              border-radius: 50%; background: #0072b2; }
.bar span.hidden, .legend i.hatch { background: repeating-linear-gradient(45deg, #ddd, #ddd 3px, #fff 3px,
                   #fff 6px); }
.legend span { display: inline-block; margin-right: 1em; white-space: nowrap; }
.legend i { display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #999;
            vertical-align: -0.1em; margin-right: 0.3em; }
.small { font-size: 8.5pt; color: #444; }
footer { margin-top: 1em; border-top: 1px solid #bbb; padding-top: 0.3em;
         break-before: avoid; }
@media (max-width: 480px) { body { font-size: 11pt; padding: 6px; } h1 { font-size: 15pt; } }
"""

BODY = Template(
    """<div class="stseval-org-report">
<header>
<h1>$title</h1>
$intro
</header>
<main>
<section id="outcomes"><h2>Your staff's outcomes</h2>$outcomes</section>
<section id="bands"><h2>How many of your staff are in each band</h2>$bands</section>
<section id="profile"><h2>Your practice profile</h2>$profile</section>
$findings
</main>
<footer class="small">$footer</footer>
</div>"""
)

TEMPLATE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
$body
</body>
</html>
"""
)


def _table(head: list[str], rows: list[list[str]], num_cols=(), caption="") -> str:
    """A table in a scroll box; ``rows`` are already escaped cell HTML."""
    th = "".join(
        f'<th scope="col"{" class=num" if i in num_cols else ""}>{escape(h)}</th>'
        for i, h in enumerate(head)
    )
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            cls = ' class="num"' if i in num_cols else ""
            if c in ("fewer than 5", "not shown") or c.startswith("fewer than "):
                cls = ' class="num suppressed"' if i in num_cols else ' class="suppressed"'
            cells.append(f"<td{cls}>{c}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table>{cap}<thead><tr>{th}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _count(n, min_cell: int, note: str = "") -> str:
    if n is None or (isinstance(n, float) and not np.isfinite(n)):
        return f"fewer than {min_cell}" if "n: fewer than" in str(note) else "not shown"
    return format_count(n, min_cell=min_cell)


def _notice(text: str) -> str:
    return f'<p class="notice">{escape(text)}</p>'


def _intro(rep) -> str:
    f = rep.facts
    staff = (
        f"{f['staff_invited']} staff invited"
        if f["staff_invited"] is not None
        else f"fewer than {f['min_cell']} staff invited"
    )
    changed = ", ".join(t.lower() for t in f["changed"]) or "no area (a comparison organization)"
    parts = [
        f"<p>Feedback for one organization of the study <em>{escape(str(f['study']))}</em>: "
        f"{escape(staff)}; changed practice in {escape(changed)}.</p>"
    ]
    if f["synthetic"]:
        parts.insert(
            0,
            '<p class="banner"><strong>Synthetic data.</strong> Every organization and '
            "worker in this study was simulated; no real person is described.</p>",
        )
    return "\n".join(parts)


def _change_chart(rows: pd.DataFrame, confidence: float) -> str:
    """Dot-and-whisker chart of the changes since the first wave (one row per outcome).

    Absolutely placed boxes on a 560-pixel-wide scale (the geometry of an SVG drawn at that
    width: labels above their whiskers, a zero line, the axis ends and 0 below), which
    WeasyPrint lays out and draws several times faster than the same chart as SVG text.
    """
    rows = rows[np.isfinite(rows["change"].astype(float))]
    if rows.empty:
        return ""
    lim = float(np.nanmax(np.abs(rows[["ci_low", "ci_high"]].to_numpy(float)))) * 1.1 or 1.0
    x = lambda v: _PAD + (v + lim) / (2 * lim) * (100 - 2 * _PAD)  # % of the width
    lo_t, hi_t = (escape(format_number(v, decimals=1)) for v in (-lim, lim))
    parts = [f'<span class="zero" style="left:{x(0):.2f}%"></span>']
    desc = []
    for r in rows.to_dict("records"):
        label = f"{r['label']}, {r['wave']}"
        lo, hi = x(r["ci_low"]), x(r["ci_high"])
        parts.append(
            f'<span class="row"><span class="lab">{escape(label)}</span>'
            f'<span class="ci" style="left:{lo:.2f}%;width:{hi - lo:.2f}%"></span>'
            f'<span class="pt" style="left:{x(r["change"]):.2f}%"></span></span>'
        )
        desc.append(
            f"{label}: {format_interval(r['change'], r['ci_low'], r['ci_high'], decimals=1)}"
        )
    parts.append(
        f'<span class="axis"><span class="lo">{lo_t}</span>'
        f'<span class="mid" style="left:{x(0):.2f}%">0</span><span class="hi">{hi_t}</span></span>'
    )
    alt = f"Change since the first wave with {round(confidence * 100)}% intervals: " + "; ".join(
        desc
    )
    return f'<div class="change" role="img" aria-label="{escape(alt)}">{"".join(parts)}</div>'


#: Left and right margin of the change chart's scale, in % of its width (24 of 560 px).
_PAD = 24 / 560 * 100


def _outcomes_html(rep) -> str:
    t, f = rep.outcomes, rep.facts
    if t.empty:
        return _notice("The study has no staff outcome scores.")
    if not np.isfinite(t["mean"].astype(float)).any():
        return _notice(
            f"Not shown: fewer than {f['min_cell']} of your staff answered in every wave."
        )
    show_all = np.isfinite(t["all_orgs_mean"].astype(float)).any()
    level = round(f["confidence"] * 100)
    head = ["outcome", "wave", "staff", "mean", f"change since {f['waves'][0]} ({level}% interval)"]
    head += ["all organizations' mean"] if show_all else []
    rows = []
    for r in t.to_dict("records"):
        hidden = not np.isfinite(r["mean"])
        row = [
            escape(r["label"]),
            escape(str(r["wave"])),
            escape(_count(r["n"], f["min_cell"], r["note"])),
            "not shown" if hidden else escape(format_number(r["mean"], decimals=1)),
            escape(format_interval(r["change"], r["ci_low"], r["ci_high"], decimals=1, missing="")),
        ]
        if show_all:
            row.append(escape(format_number(r["all_orgs_mean"], decimals=1)))
        rows.append(row)
    chart = _change_chart(t, f["confidence"])
    text = (
        "<p>Mean scores of your staff who answered each survey. Lower is better for "
        "secondary traumatic stress and burnout, higher for compassion satisfaction. A change "
        "is shown only when both of its waves are shown; the interval is for your own staff "
        "(the same people answering twice is allowed for).</p>"
    )
    chart = f'<div class="panel">{chart}</div>' if chart else ""
    return text + f'<div class="panel">{_table(head, rows, num_cols=(2, 3, 4, 5))}</div>' + chart


def _bar(seg: list[dict]) -> str:
    """A stacked bar of band shares: absolutely placed spans (cheap to lay out in print)."""
    spans, alt = [], []
    left = 0.0
    for i, r in enumerate(seg):
        share = float(r["share"])
        if not np.isfinite(share):
            continue
        colour = _BAND_COLOURS[min(i, len(_BAND_COLOURS) - 1)]
        if share > 0:
            spans.append(
                f'<span style="left:{left:.2f}%;width:{share:.2f}%;background:{colour}"></span>'
            )
        left += share
        alt.append(f"{r['band']} {share:.0f}%")
    if 100.0 - left > 0.5 and any(not np.isfinite(float(r["share"])) for r in seg):
        spans.append(
            f'<span class="hidden" style="left:{left:.2f}%;width:{100 - left:.2f}%"></span>'
        )
        alt.append("other bands not shown")
    return (
        f'<div class="bar" role="img" aria-label="{escape(", ".join(alt))}">'
        + "".join(spans)
        + "</div>"
    )


def _one_outcome_bands(recs: list[dict]) -> str:
    """Legend, one bar per wave and a table of shares, for one outcome's band rows."""
    total = {r["wave"]: r["n"] for r in recs if r["band"] == "Total"}
    by_wave: dict = {}
    for r in recs:
        if r["band"] != "Total":
            by_wave.setdefault(r["wave"], []).append(r)
    labels = list(dict.fromkeys(r["band"] for r in recs if r["band"] != "Total"))
    hidden_any = any(not np.isfinite(float(r["share"])) for rs in by_wave.values() for r in rs)
    legend = "".join(
        f'<span><i style="background:{_BAND_COLOURS[min(i, 4)]}"></i>{escape(b)}</span>'
        for i, b in enumerate(labels)
    ) + ('<span><i class="hatch"></i>not shown</span>' if hidden_any else "")
    rows, bars = [], []
    for wave, rs in by_wave.items():
        n = float(total.get(wave, np.nan))
        shown = np.isfinite(n) and n > 0
        bars.append(
            f"<p class='small'>{escape(str(wave))}{'' if shown else ': not shown'}</p>"
            + (_bar(rs) if shown else "")
        )
        shares = [
            "not shown" if not np.isfinite(float(r["share"])) else f"{float(r['share']):.0f}%"
            for r in rs
        ]
        rows.append([escape(str(wave))] + [escape(x) for x in shares])
    table = _table(["wave", *labels], rows, num_cols=tuple(range(1, len(labels) + 1)))
    return (
        f'<div class="panel"><h3>{escape(str(recs[0]["label"]))}</h3>'
        f'<p class="legend small">{legend}</p>{"".join(bars)}{table}</div>'
    )


def _bands_html(rep) -> str:
    t, f = rep.bands, rep.facts
    if t.empty:
        return _notice("None of the study's staff outcomes has published severity bands.")
    parts = [
        "<p>Share of your staff in each band of the instrument's published cut-offs, per "
        "survey. A band with fewer than "
        f"{f['min_cell']} staff is not shown, nor any band that would let it be worked out.</p>"
    ]
    by_outcome: dict = {}
    for r in t.to_dict("records"):
        by_outcome.setdefault(r["outcome"], []).append(r)
    parts += [_one_outcome_bands(recs) for recs in by_outcome.values()]
    return "".join(parts)


def _profile_svg(r: dict) -> str:
    """Scale 1 to 5: the other organizations' band (grey) and this organization's mean (dot).

    Drawn with absolutely placed spans (cheaper than SVG in WeasyPrint, same on screen).
    """
    pos = lambda v: (float(v) - 1) / 4 * 100
    parts = []
    if np.isfinite(r["band_low"]):
        lo, hi = pos(r["band_low"]), pos(r["band_high"])
        parts.append(f'<span class="band" style="left:{lo:.1f}%;width:{hi - lo:.1f}%"></span>')
    if np.isfinite(r["mean"]):
        parts.append(f'<span class="dot" style="left:{pos(r["mean"]):.1f}%"></span>')
    alt = f"{r['title']}: your mean {format_number(r['mean'], decimals=1)}; {r['band_text']}"
    return f'<div class="strip" role="img" aria-label="{escape(alt)}">{"".join(parts)}</div>'


def _profile_html(rep) -> str:
    t, f = rep.profile, rep.facts
    if t.empty:
        return _notice(
            "The study has no Organizational Guidance Inventory scores; no profile can be drawn."
        )
    own_shown = np.isfinite(t["mean"].astype(float)).any()
    bands_shown = np.isfinite(t["band_low"].astype(float)).any()
    text = (
        "<p>Your staff's mean rating of how fully your organization practises each area "
        "(1 = not at all, 5 = completely), in the last survey. "
    )
    text += (
        "The grey band is the middle half of the other organizations' means, rounded "
        "outward to one decimal; no other organization is named.</p>"
        if bands_shown
        else f"Other organizations are described only when there are at least {f['min_orgs']} "
        "of them with enough respondents; this study has fewer, so none are shown.</p>"
    )
    if not own_shown:
        text += _notice(f"Your own ratings are not shown: fewer than {f['min_cell']} answered.")
    rows = []
    for r in t.to_dict("records"):
        pct = "" if not np.isfinite(r["percentile"]) else f"{r['percentile']:.0f}"
        band = (
            f"{format_number(r['band_low'], decimals=1)} to "
            f"{format_number(r['band_high'], decimals=1)}"
            if np.isfinite(r["band_low"])
            else "not shown"
        )
        rows.append(
            [
                escape(r["title"]),
                escape(_count(r["n"], f["min_cell"], r["note"])),
                escape(format_number(r["mean"], decimals=1, missing="not shown")),
                escape(band),
                escape(pct),
                _profile_svg(r) if (bands_shown or own_shown) else "",
            ]
        )
    head = ["area", "staff", "your mean", "others' middle half", "percentile", "chart"]
    note = (
        '<p class="small">Percentile: the share of the other organizations (in %, whole '
        "numbers) whose staff rated the area lower than yours.</p>"
        if bands_shown
        else ""
    )
    return text + f'<div class="panel">{_table(head, rows, num_cols=(1, 2, 3, 4))}</div>' + note


def _findings_html(rep) -> str:
    t = rep.findings
    if t is None or t.empty:
        return ""
    rows = [
        [
            escape(str(r["area"])),
            escape(format_interval(r["estimate"], r["ci_low"], r["ci_high"], decimals=1)),
            escape(str(r["verdict"]) if isinstance(r["verdict"], str) else ""),
        ]
        for r in t.to_dict("records")
    ]
    return (
        '<section id="findings"><h2>What the whole study found for the areas you changed'
        "</h2><p>Across all organizations that changed the area, against the comparison "
        "organizations (secondary traumatic stress, STSS total; negative is less stress). "
        "This is the study's estimate, not your organization's.</p>"
        + _table(["area", "estimate (interval)", "verdict"], rows, num_cols=(1,))
        + "</section>"
    )


def render_body(rep) -> str:
    """The report's content (``<div class="stseval-org-report">``), without page or stylesheet."""
    f = rep.facts
    footer = (
        "These are descriptions, not estimates of what caused what: staff ratings move for "
        f"many reasons. Rules: no group of fewer than {f['min_cell']} staff is shown, nor any "
        "number from which one could be worked out; other organizations are summarized only "
        f"when there are at least {f['min_orgs']} of them, as rounded bands."
    )
    return BODY.substitute(
        title=escape(f"Feedback for {rep.name}"),
        intro=_intro(rep),
        outcomes=_outcomes_html(rep),
        bands=_bands_html(rep),
        profile=_profile_html(rep),
        findings=_findings_html(rep),
        footer=escape(footer),
    )


def render_html(rep) -> str:
    """The complete HTML page of one organization's report (an :class:`OrgReport`)."""
    return TEMPLATE.substitute(
        title=escape(f"Feedback for {rep.name}"), css=CSS, body=render_body(rep)
    )


_FRAGMENT_CSS = """
.stseval-org-report .banner { background: #fff4d6; border-left: 5px solid #e0a800;
  padding: 0.3em 0.8em; }
.stseval-org-report .notice { background: #f3f3f3; border-left: 5px solid #999;
  padding: 0.4em 0.8em; font-style: italic; }
.stseval-org-report .scroll { overflow-x: auto; max-width: 100%; }
.stseval-org-report svg { max-width: 100%; height: auto; display: block; }
.stseval-org-report .change { position: relative; max-width: 560px; font-size: 13px;
  line-height: 1.2; }
.stseval-org-report .change span { position: absolute; display: block; }
.stseval-org-report .change .row { position: relative; height: 40px; }
.stseval-org-report .change .lab { left: 4.29%; top: 6px; white-space: nowrap; }
.stseval-org-report .change .ci { top: 28.75px; height: 2.5px; background: #0072b2; }
.stseval-org-report .change .pt { top: 25px; width: 10px; height: 10px; margin-left: -5px;
  border-radius: 50%; background: #0072b2; }
.stseval-org-report .change .zero { top: 4px; bottom: 20px; width: 1px; background: #888; }
.stseval-org-report .change .axis { position: relative; height: 26px; }
.stseval-org-report .change .axis span { top: 6px; }
.stseval-org-report .change .lo { left: 4.29%; }
.stseval-org-report .change .hi { right: 4.29%; }
.stseval-org-report .change .mid { width: 4em; margin-left: -2em; text-align: center; }
.stseval-org-report .bar { position: relative; width: 100%; height: 1.3em;
  border: 1px solid #999; }
.stseval-org-report .bar span { position: absolute; top: 0; bottom: 0; }
.stseval-org-report .strip { position: relative; width: 100%; min-width: 8em; height: 14px;
  border-bottom: 1px solid #bbb; }
.stseval-org-report .strip .band { position: absolute; top: 1px; height: 12px;
  background: #c8c8c8; }
.stseval-org-report .strip .dot { position: absolute; top: 2px; width: 10px; height: 10px;
  margin-left: -5px; border-radius: 50%; background: #0072b2; }
.stseval-org-report .bar span.hidden, .stseval-org-report .legend i.hatch {
  background: repeating-linear-gradient(45deg, #ddd, #ddd 3px, #fff 3px, #fff 6px); }
.stseval-org-report .legend span { display: inline-block; margin-right: 1em; }
.stseval-org-report .legend i { display: inline-block; width: 0.9em; height: 0.9em;
  border: 1px solid #999; margin-right: 0.3em; }
.stseval-org-report .small { font-size: 85%; color: #444; }
"""


def render_fragment(rep) -> str:
    """The report for a notebook output: a stylesheet scoped to the report, then the body."""
    return f"<style>{_FRAGMENT_CSS}</style>\n" + render_body(rep)
