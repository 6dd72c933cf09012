"""Tests of stseval.plots: each figure from a small hand-built table (what is on the axes)."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from stseval import plots
from stseval.errors import UsageError


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _flat(text):
    return " ".join(text.split())


def _notes(ax):
    """The texts of an axes with line breaks undone (wrapped notes read as one line)."""
    return [_flat(t.get_text()) for t in ax.texts]


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [
        t.get_text() for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label)
    ]


def _summary():
    rows = []
    for out in ("stss_total", "proqol_cs"):
        for arm in ("intervention", "comparison"):
            for wave, m in (("pre", 40.0), ("post", 36.0 if arm == "intervention" else 40.0)):
                rows.append(
                    {
                        "outcome": out,
                        "arm": arm,
                        "wave": wave,
                        "workers": 30,
                        "mean": m,
                        "ci_low": m - 2,
                        "ci_high": m + 2,
                        "suppressed": False,
                    }
                )
    t = pd.DataFrame(rows)
    t["wave"] = pd.Categorical(t["wave"], ["pre", "post"], ordered=True)
    return t


def test_arm_wave_one_panel_per_outcome_and_two_lines():
    fig = plots.arm_wave(_summary())
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    assert axes[0].get_title() == "secondary traumatic stress (STSS total)"
    assert "lower is better" in axes[0].get_ylabel()
    assert "higher is better" in axes[1].get_ylabel()
    ys = sorted(tuple(line.get_ydata()) for line in axes[0].lines if len(line.get_ydata()) == 2)
    assert (40.0, 36.0) in ys and (40.0, 40.0) in ys


def test_arm_wave_leaves_out_suppressed_cells_and_says_so():
    t = _summary()
    t.loc[(t["arm"] == "comparison") & (t["outcome"] == "stss_total"), "suppressed"] = True
    t.loc[t["suppressed"], ["mean", "ci_low", "ci_high"]] = np.nan
    fig = plots.arm_wave(t)
    ax = fig.axes[0]
    assert plots.SUPPRESSED_NOTE in _notes(ax)
    data = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_ydata())]
    assert len(data) == 1 and tuple(data[0].get_ydata()) == (40.0, 36.0)  # intervention only


def test_consort_boxes_from_the_flow_with_suppression():
    flow = pd.DataFrame(
        {
            "stage": ["invited", "invited", "analysed", "analysed"],
            "arm": ["intervention", "comparison"] * 2,
            "orgs": [3, 2, 3, 2],
            "workers": [40.0, 12.0, 37.0, np.nan],
            "suppressed": [False, False, False, True],
        }
    )
    fig = plots.consort(flow, min_cell=5)
    texts = _texts(fig)
    assert "Invited\n3 organizations, 40 workers" in texts
    assert "Analysed\n2 organizations, suppressed workers" in texts
    assert texts.count("lost: suppressed") == 2  # 40 -> 37 is a loss of 3 < 5; the other hidden


def test_forest_flips_lower_is_better_so_right_is_improvement():
    est = pd.DataFrame(
        {
            "area": ["supervision", "supervision", "training"],
            "outcome": ["stss_total", "proqol_cs", "stss_total"],
            "estimator": "ancova",
            "effect_size": [-0.4, 0.2, np.nan],
            "es_ci_low": [-0.6, 0.0, np.nan],
            "es_ci_high": [-0.2, 0.4, np.nan],
        }
    )
    fig = plots.forest(est)
    ax = fig.axes[0]
    points = sorted(
        x
        for line in ax.lines
        for x in np.atleast_1d(line.get_xdata())
        if line.get_marker() in ("o", "s")
    )
    assert points == pytest.approx([0.2, 0.4])  # -0.4 on STS shown as +0.4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Supervision"]  # NaN row left out
    with pytest.raises(UsageError, match="no 'did' rows"):
        plots.forest(est, estimator="did")


def test_indicator_series_two_panels_in_percent():
    rows = [
        {"arm": a, "rel_month": m, "indicator": i, "value": 0.02}
        for a in ("intervention", "comparison")
        for m in range(-3, 3)
        for i in ("separation_rate", "absence_rate")
    ]
    fig = plots.indicator_series(pd.DataFrame(rows))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["monthly staff turnover", "monthly absence rate"]
    assert all(
        np.allclose(line.get_ydata(), 2.0) for line in axes[0].lines if len(line.get_ydata()) > 2
    )
    with pytest.raises(UsageError, match="lacks column"):
        plots.indicator_series(pd.DataFrame({"arm": []}))


def test_profile_marks_the_organization_and_hides_small_groups():
    prof = pd.DataFrame(
        {
            "title": ["Training", "Supervision"],
            "org_mean": [3.2, np.nan],
            "others_p25": [2.5, 2.6],
            "others_median": [2.9, 3.0],
            "others_p75": [3.3, 3.4],
        }
    )
    fig = plots.profile(prof)
    ax = fig.axes[0]
    own = next(c for c in ax.collections if c.get_label() == "this organization")
    assert own.get_offsets().shape[0] == 1
    assert plots.SUPPRESSED_NOTE in _notes(ax)


def test_item_distributions_shares_sum_to_one():
    from stseval.instruments import load_instrument

    inst = load_instrument("stss")
    rng = np.random.default_rng(0)
    items = pd.DataFrame(rng.integers(1, 6, size=(50, inst.n_items)), columns=inst.item_columns)
    fig = plots.item_distributions(items, inst)
    ax = fig.axes[0]
    widths = np.zeros(inst.n_items)
    for patch in ax.patches:
        widths[round(patch.get_y() + patch.get_height() / 2)] += patch.get_width()
    assert np.allclose(widths, 1.0)
    assert len(ax.get_yticklabels()) == inst.n_items


def test_power_truth_and_coverage_figures():
    grid = pd.DataFrame(
        {
            "effect_size": [0.2, 0.2, 0.5, 0.5],
            "orgs_per_arm": [4, 8, 4, 8],
            "power": [0.2, 0.4, 0.6, 0.9],
        }
    )
    fig = plots.power_curve(grid, target=0.8)
    assert any(np.allclose(line.get_ydata(), 0.8) for line in fig.axes[0].lines)
    reps = pd.DataFrame(
        {
            "replication": [1, 2],
            "estimate": [-1.0, -3.0],
            "ci_low": [-2.0, -3.5],
            "ci_high": [0.0, -2.5],
            "truth": -1.2,
        }
    )
    fig = plots.coverage(reps)
    assert fig.axes[0].get_xlabel().startswith("estimate and interval: 1 of 2 cover")
    fig = plots.truth_check(reps.assign(label=["a", "b"]))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]


def test_save_writes_png(tmp_path):
    fig = plots.power_curve(
        pd.DataFrame({"effect_size": [0.2], "orgs_per_arm": [4], "power": [0.3]})
    )
    path = plots.save(fig, tmp_path / "sub" / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- style: colours, markers, text sizes, alt text ---------------------------------------
def _forest_table():
    areas = ["policies", "training", "supervision"]
    outcomes = ["stss_total", "proqol_sts", "proqol_bo", "proqol_cs", "org_guidance_training"]
    rows = [
        {
            "area": a,
            "outcome": o,
            "estimator": "ancova",
            "effect_size": 0.1 * (i + j),
            "es_ci_low": 0.1 * (i + j) - 0.2,
            "es_ci_high": 0.1 * (i + j) + 0.2,
        }
        for i, a in enumerate(areas)
        for j, o in enumerate(outcomes)
    ]
    return pd.DataFrame(rows)


def test_palette_is_okabe_ito_with_a_marker_each():
    pairs = plots.palette(7)
    assert len({c for c, _ in pairs}) == 7 and len({m for _, m in pairs}) == 7
    first_five = {c for c, _ in pairs[:5]}
    assert not {"#E69F00", "#D55E00"} <= first_five  # orange and vermilion not together
    assert plots.ARM_COLORS == {"intervention": "#0072B2", "comparison": "#E69F00"}
    assert plots.ARM_MARKERS["intervention"] != plots.ARM_MARKERS["comparison"]


def test_forest_fits_the_page_with_readable_labels_and_distinct_markers():
    from stseval._plotstyle import _png

    plots.set_theme()
    fig = plots.forest(_forest_table())
    assert fig.get_figwidth() <= plots.PRINT_WIDTH_IN
    _, css_px = _png(fig, 1)
    assert css_px <= 7.2 * 96  # the PNG with its legend still fits the A4 text width
    ax = fig.axes[0]
    texts = list(ax.get_yticklabels()) + list(ax.get_xticklabels()) + [ax.xaxis.label]
    legend = fig.legends[0]
    texts += list(legend.get_texts())
    sizes = [t.get_fontsize() for t in texts if t.get_text()]
    assert min(sizes) >= 9
    markers = {line.get_marker() for line in ax.lines if line.get_marker() not in ("None", "")}
    assert len(markers) >= 5  # one shape per outcome
    alt = plots.describe(fig)
    assert alt.startswith("Forest plot") and "3 areas" in alt and "5 outcomes" in alt


def _bbox(artist, renderer):
    return artist.get_window_extent(renderer)


@pytest.mark.parametrize("which", ["arm_wave", "org_trend"])
def test_suppression_note_sits_under_the_panel_not_over_it(which):
    if which == "arm_wave":
        t = _summary()
        t.loc[(t["arm"] == "comparison") & (t["outcome"] == "stss_total"), "suppressed"] = True
        t.loc[t["suppressed"], ["mean", "ci_low", "ci_high"]] = np.nan
        fig = plots.arm_wave(t)
    else:
        t = pd.DataFrame(
            {
                "outcome": ["burnout"] * 4 + ["stress"] * 4,
                "wave": ["pre", "post"] * 4,
                "group": (["this organization"] * 2 + ["all organizations"] * 2) * 2,
                "mean": [20, 19, 21, 20, np.nan, np.nan, 30, 29],
            }
        )
        fig = plots.org_trend(t)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    visible = [ax for ax in fig.axes if ax.get_visible()]
    notes = [
        (ax, x) for ax in visible for x in ax.texts if _flat(x.get_text()) == plots.SUPPRESSED_NOTE
    ]
    assert notes
    for ax, note in notes:
        box = _bbox(note, renderer)
        assert box.y1 <= ax.bbox.y0  # below the plotting area
        assert box.x0 >= figure_box.x0 - 1 and box.x1 <= figure_box.x1 + 1
        assert box.y0 >= figure_box.y0 - 1  # tight layout made room for it
        for other in visible:
            if other is not ax:
                assert not box.overlaps(other.bbox)
        assert note.get_fontsize() >= 9


def test_show_embeds_alt_text_and_the_drawn_width(monkeypatch):
    import IPython.display

    seen = {}
    monkeypatch.setattr(
        IPython.display,
        "display",
        lambda data, raw, metadata: seen.update(data=data, meta=metadata),
    )
    fig = plots.forest(_forest_table())
    alt = plots.describe(fig)
    plots.show(fig)
    meta = seen["meta"]["image/png"]
    assert meta["alt"] == alt
    assert abs(meta["width"] - 7.0 * 96) < 0.05 * 7 * 96
    assert seen["data"]["image/png"][:8] == "iVBORw0K"  # base64 of the PNG signature
    fig2, ax = plt.subplots()
    assert plots.describe(fig2) == "Chart with 1 panel and no labels"


def test_a_saved_figure_is_shown_without_being_drawn_again(tmp_path, monkeypatch):
    from unittest import mock

    import IPython.display
    import matplotlib.figure

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    table = pd.DataFrame({"effect_size": [0.2], "orgs_per_arm": [4], "power": [0.3]})
    real = matplotlib.figure.Figure.savefig
    with mock.patch.object(matplotlib.figure.Figure, "savefig", autospec=True) as spy:
        spy.side_effect = real
        fig = plots.power_curve(table)
        path = plots.save(fig, tmp_path / "p.png")
        plots.show(fig)
        assert spy.call_count == 1  # drawn once: for the file, then shown from its bytes
        assert base64.b64decode(shown[0]["image/png"]) == path.read_bytes()
        fig = plots.power_curve(table)
        plots.save(fig, tmp_path / "q.png")
        fig.axes[0].set_title("changed after saving")
        plots.show(fig)
        assert spy.call_count == 3  # a figure changed after saving is drawn again
    assert base64.b64decode(shown[1]["image/png"]) != (tmp_path / "q.png").read_bytes()
