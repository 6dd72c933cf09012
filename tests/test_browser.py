"""Render the funder report in a real headless browser (Debian's chromium via playwright).

Loads the HTML written by the shared small-study pipeline run (see
``tests/test_pipeline.py``) from ``file://``, with the network unused: no console
error, no page error, every image decoded. A screenshot of the first page is
written to the test's temporary folder; with ``STSEVAL_UPDATE_SCREENSHOT=1`` it
also replaces ``docs/funder_report_first_page.png`` (the README's picture), from
the report named by ``STSEVAL_SCREENSHOT_HTML`` if set (e.g. ``reports/demo``'s).

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
                complete: img.complete, width: img.naturalWidth, alt: img.alt}))""")
            height_px = page.evaluate("() => document.body.scrollHeight")
            title = page.title()
            page.screenshot(path=str(png), full_page=False)
        finally:
            browser.close()
    return {"errors": errors, "images": images, "height": height_px, "title": title}


def test_funder_report_renders_in_chromium(tmp_path_factory, tmp_path):
    result = _pipeline_module().small_report(tmp_path_factory)[0]
    assert result.html is not None, [str(f) for f in result.failures]
    png = tmp_path / "first_page.png"
    seen = render(result.html, png)
    assert seen["errors"] == []
    assert len(seen["images"]) >= 3
    bad = [i for i, img in enumerate(seen["images"]) if not img["complete"] or img["width"] <= 0]
    assert bad == [], f"images not loaded: {bad}"
    assert all(img["alt"] for img in seen["images"])
    assert seen["height"] > 3000 and seen["title"].startswith("STS guidance evaluation")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    if os.environ.get("STSEVAL_UPDATE_SCREENSHOT") == "1":
        source = Path(os.environ.get("STSEVAL_SCREENSHOT_HTML", result.html))
        render(source, SCREENSHOT)
