"""Render the funder report in a real headless browser (Debian's chromium via playwright).

Loads the HTML written by the shared small-study pipeline run (see
``tests/test_pipeline.py``) from ``file://``, with the network unused, on a desktop
(1280 px) and a phone (390 px) screen: no console error, no page error, every image
decoded, alt text that describes each figure, and no sideways scrolling of the page (wide
tables scroll inside their own box). A screenshot of the first screen is written to the
test's temporary folder; with ``STSEVAL_UPDATE_SCREENSHOT=1`` it also replaces
``docs/funder_report_first_page.png`` (the README's picture) and
``docs/funder_report_phone.png``, from the report named by ``STSEVAL_SCREENSHOT_HTML`` if
set (e.g. ``reports/demo``'s).

``.ci/run`` installs chromium; if it is missing this test fails (it never skips).
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = ROOT / "docs" / "funder_report_first_page.png"
PHONE_SCREENSHOT = ROOT / "docs" / "funder_report_phone.png"
#: Elements wider than the screen that are not inside a box of their own that scrolls.
_OVERFLOW_JS = """() => {
    const width = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > width + 1)
        .filter(e => !e.closest('.table-scroll'))
        .map(e => e.tagName.toLowerCase() + '.' + e.className);
}"""
pytestmark = pytest.mark.xdist_group("pipeline")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.fail(
        "chromium is not installed: the browser test needs Debian's chromium package "
        "(.ci/run installs it: apt-get install -y chromium)",
        pytrace=False,
    )


def _pipeline_module():
    for name in ("test_pipeline", "tests.test_pipeline"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise RuntimeError("tests/test_pipeline.py could not be imported")


def render(html: Path, png: Path, *, width: int = 1100, height: int = 1400) -> dict:
    """Open ``html`` in headless chromium; return console errors, bad images and the page size."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on(
                "console",
                lambda msg: (
                    errors.append(f"console {msg.type}: {msg.text}")
                    if msg.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
            page.goto(html.resolve().as_uri(), wait_until="load")
            images = page.evaluate("""() => Array.from(document.images).map(img => ({
                complete: img.complete, width: img.naturalWidth, alt: img.alt,
                shown: img.getBoundingClientRect().width}))""")
            height_px = page.evaluate("() => document.body.scrollHeight")
            scroll = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            overflow = page.evaluate(_OVERFLOW_JS)
            font_px = page.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)"
            )
            title = page.title()
            page.screenshot(path=str(png), full_page=False)
        finally:
            browser.close()
    return {
        "errors": errors,
        "images": images,
        "height": height_px,
        "title": title,
        "scroll": scroll,
        "overflow": overflow,
        "font_px": font_px,
    }


@pytest.mark.parametrize("width", [1280, 390])
def test_funder_report_renders_in_chromium(tmp_path_factory, tmp_path, width):
    result = _pipeline_module().small_report(tmp_path_factory)[0]
    assert result.html is not None, [str(f) for f in result.failures]
    png = tmp_path / "first_page.png"
    seen = render(result.html, png, width=width, height=844 if width < 500 else 1400)
    assert seen["errors"] == []
    assert len(seen["images"]) >= 3
    bad = [i for i, img in enumerate(seen["images"]) if not img["complete"] or img["width"] <= 0]
    assert bad == [], f"images not loaded: {bad}"
    alts = [img["alt"] for img in seen["images"]]
    assert all(len(a) > 40 and not a.startswith("Figure") for a in alts), alts
    page_width, screen = seen["scroll"]
    assert page_width <= screen == width, "the page scrolls sideways"
    assert seen["overflow"] == []
    assert all(img["shown"] <= width for img in seen["images"])
    assert seen["font_px"] >= 16  # readable body text on a phone without zooming
    assert seen["height"] > 3000 and seen["title"].startswith("STS guidance evaluation")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    if os.environ.get("STSEVAL_UPDATE_SCREENSHOT") == "1":
        source = Path(os.environ.get("STSEVAL_SCREENSHOT_HTML", result.html))
        if width < 500:
            render(source, PHONE_SCREENSHOT, width=width, height=844)
        else:
            render(source, SCREENSHOT)
