"""The kit's figure style: colour-blind-safe colours with distinct markers, readable text,
and alternative text for every figure (part of :mod:`stseval.plots`, which re-exports it).

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), ordered so
that the first colours of a figure are far apart for every common colour-vision deficiency:
blue, orange, bluish green, reddish purple, sky blue, vermilion, black. Orange and vermilion,
hard to tell apart, are never both among the first five. Each series also gets its own marker
shape, so a figure reads in greyscale too.

Text: the figures are drawn at most :data:`PRINT_WIDTH_IN` inches wide, the width of an A4
page's text, with tick and legend labels of at least 9 pt, so that a figure printed at the
page's width keeps its labels at 9 pt or more. :func:`show` embeds the PNG at twice the
resolution and tells the page its width at 96 px per inch (the CSS inch), so it prints sharp
at its drawn size.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .errors import UsageError

__all__ = [
    "ARM_COLORS",
    "ARM_MARKERS",
    "MARKERS",
    "MIN_FONT_PT",
    "OKABE_ITO",
    "PRINT_WIDTH_IN",
    "describe",
    "palette",
    "save",
    "set_alt",
    "set_theme",
    "show",
]

#: Okabe-Ito colours in the order the kit uses them (hex).
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermilion
    "#000000",  # black
    "#F0E442",  # yellow (last: pale on white)
]
#: One marker shape per series, in the same order as the colours.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
#: Colours of the two arms in every figure.
ARM_COLORS = {"intervention": OKABE_ITO[0], "comparison": OKABE_ITO[1]}
#: Marker of each arm.
ARM_MARKERS = {"intervention": "o", "comparison": "s"}
#: Smallest text size (points) of labels the kit draws.
MIN_FONT_PT = 9
#: Widest figure, in inches: the text width of an A4 page with the report's margins.
PRINT_WIDTH_IN = 7.0
_ALT_ATTR = "_stseval_alt"
_CSS_DPI = 96
#: Figures are drawn at this multiple of 96 dpi for display and for files (sharp in print).
_SHOW_SCALE = 2
#: Attribute holding a saved figure's PNG bytes and CSS width (drawn once, shown from it).
_DRAWN_ATTR = "_stseval_png"


def palette(n: int) -> list[tuple[str, str]]:
    """``n`` (colour, marker) pairs; past eight the pairs repeat with the colours shifted."""
    k = len(OKABE_ITO) - 1  # yellow only when more than seven series are drawn
    return [
        (OKABE_ITO[i % k] if n <= k else OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)])
        for i in range(n)
    ]


def set_theme(*, dpi: int = _CSS_DPI) -> None:
    """The kit's look: seaborn ``whitegrid``, Okabe-Ito colours, labels of 9 pt or more."""
    sns.set_theme(
        style="whitegrid",
        palette=OKABE_ITO[:7],
        context="notebook",
        rc={
            "figure.dpi": dpi,
            "savefig.dpi": dpi,
            "savefig.bbox": "tight",
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "xtick.labelsize": MIN_FONT_PT + 0.5,
            "ytick.labelsize": MIN_FONT_PT + 0.5,
            "legend.fontsize": MIN_FONT_PT + 0.5,
            "legend.title_fontsize": MIN_FONT_PT + 0.5,
        },
    )


def set_alt(fig, text: str):
    """Attach alternative text (what the figure shows, in words) to ``fig``; return ``fig``."""
    setattr(fig, _ALT_ATTR, " ".join(str(text).split()))
    return fig


def describe(fig) -> str:
    """Alternative text for a figure.

    The text attached by the function that drew it (:func:`set_alt`), else one built from
    the figure's title and the titles and axis labels of its panels. Never the bare word
    "Figure": a figure with no words at all is described by its number of panels.
    """
    own = getattr(fig, _ALT_ATTR, "")
    if own:
        return own
    parts = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        bits = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        parts.append(", ".join(b for b in bits if b))
    text = "; ".join(p for p in parts if p)
    if text:
        return f"Chart: {text}"
    panels = sum(ax.get_visible() for ax in fig.axes)
    return f"Chart with {panels} panel{'s' if panels != 1 else ''} and no labels"


def save(fig, path) -> Path:
    """Write ``fig`` as PNG to ``path`` (folders created) and return the path.

    The file is drawn at 192 dpi (the resolution :func:`show` displays), and the
    bytes are kept on the figure: a :func:`show` that follows, with the figure
    unchanged, displays them instead of drawing the figure a second time.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data, width = _png(fig, _SHOW_SCALE)
    path.write_bytes(data)
    setattr(fig, _DRAWN_ATTR, (data, width))
    fig.stale = False  # any change to the figure from now on marks it stale again
    return path


def _png(fig, scale: int) -> tuple[bytes, int]:
    """The figure as PNG bytes at ``scale`` x 96 dpi, and its width in CSS pixels."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_CSS_DPI * scale, bbox_inches="tight")
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as img:
        width = img.size[0]
    return data, max(1, round(width / scale))


def show(fig, *, alt: str | None = None) -> None:
    """Display ``fig`` now, with alternative text, and close it (figures keep their place).

    The PNG is drawn at 192 dpi and shown at its drawn size (its width in CSS pixels is in
    the output's metadata), so it is sharp in print and its labels keep their point size.
    ``alt`` defaults to :func:`describe`.
    """
    from IPython.display import display

    drawn = getattr(fig, _DRAWN_ATTR, None)
    # fig.stale: the figure changed after it was saved (then it is drawn again)
    data, width = drawn if drawn is not None and not fig.stale else _png(fig, _SHOW_SCALE)
    meta = {"image/png": {"alt": alt or describe(fig), "width": width}}
    display({"image/png": base64.b64encode(data).decode("ascii")}, raw=True, metadata=meta)
    plt.close(fig)


def _need(table, columns, name):
    if not isinstance(table, pd.DataFrame):
        raise UsageError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise UsageError(f"{name} lacks column(s) {missing}; it has {list(table.columns)}")


def _finish(fig, ax, title, *, left_spine: bool = True):
    """Common last steps of an axes figure: title, despine, tight layout."""
    if title:
        ax.set_title(title)
    sns.despine(fig=fig, left=not left_spine)
    fig.tight_layout()
    return fig
