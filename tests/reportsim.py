"""A small executed report notebook made by hand, for the export tests (no kernel needed).

The notebook has what a real funder report has: a title, sections, a narrow and a very
wide table whose numbers are printed as the report tables print them (hyphen minus, a
negative zero, p-values of 0.000 and 1.00, code names), and one figure with alt text.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

ALT = "Forest plot: standardized effect of supervision on burnout with its interval"
SECTIONS = ["Summary", "Effects", "Appendix: every estimate"]


def _png() -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.errorbar([0.4], [0], xerr=[[0.2], [0.2]], fmt="o")
    ax.set_xlabel("standardized effect")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    plt.close(fig)
    return buf.getvalue()


def _table(columns, rows, caption="") -> str:
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<table class="stseval">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


NARROW = _table(
    ["outcome", "estimate", "interval", "p (adjusted)", "workers"],
    [
        ["stss_total", "-3.20", "-5.03 to -1.38", "0.000", "765"],
        ["proqol_bo", "-0.000", "-0.51 to 0.49", "1.00", "752"],
        ["proqol_cs", "0.49", "0.10 to 1.49", "0.032", "753"],
    ],
    caption="Main estimates (score points)",
)
WIDE_COLUMNS = [
    "area",
    "outcome",
    "estimator",
    "estimate",
    "interval",
    "p_adjusted",
    "effect_size",
    "es_ci_low",
    "es_ci_high",
    "n_workers",
    "n_orgs",
    "note",
]
WIDE = _table(
    WIDE_COLUMNS,
    [
        [
            "Organizational assessment and monitoring",
            f"org_guidance_{area}",
            "org_practice",
            "0.782",
            "0.67 to 0.89",
            "0.000",
            "-1.104",
            "-1.900",
            "-0.300",
            "1,027",
            "22",
            "cluster-robust standard errors, small-sample corrected",
        ]
        for area in ["training", "supervision", "culture", "policies"] * 12
    ],
)


def write_notebook(path: Path) -> Path:
    """Write the executed notebook to ``path`` and return it."""
    import base64

    png = base64.b64encode(_png()).decode("ascii")
    cells = [
        new_markdown_cell("# Protecting staff: what changed?\n\nA test report."),
        new_markdown_cell(f"## {SECTIONS[0]}\n\nEach line gives one area."),
        new_code_cell(
            "display(table)", outputs=[new_output("display_data", {"text/html": NARROW})]
        ),
        new_markdown_cell(f"## {SECTIONS[1]}\n\nRight of zero is better."),
        new_code_cell(
            "plots.show(fig)",
            outputs=[
                new_output(
                    "display_data",
                    {"image/png": png},
                    metadata={"image/png": {"alt": ALT, "width": 480}},
                )
            ],
        ),
        new_markdown_cell(f"## {SECTIONS[2]}"),
        new_code_cell("display(wide)", outputs=[new_output("display_data", {"text/html": WIDE})]),
    ]
    nb = new_notebook(cells=cells)
    nbformat.write(nb, str(path))
    return path
