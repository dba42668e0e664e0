"""Drive the try-it page in headless Chromium as a person would (pick a background, drag a
box, type, press Render) and take a screenshot. Used by the browser test and by
``docs/make_pictures.py``. Needs ``playwright`` (a dev dependency) and Debian's Chromium
(``apt-get install chromium``); no browser is downloaded."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What the device-less machines here need for Chromium to start as root with a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageRun:
    screenshot: Path
    verdict: dict[str, str]  # the verdict panel's cells, by row id
    badge_class: str
    result_box: dict[str, float]  # the result image's place in the screenshot (CSS px)
    canvas_box: dict[str, float]
    drag: tuple[float, float, float, float]  # the dragged box, as fractions of the canvas
    cjk_font: bool  # the page's own CJK font loaded (no boxes for hanzi)


def try_page(
    url: str,
    screenshot: Path,
    *,
    text: str = "宁静致远",
    preset: str | None = None,
    drag: tuple[float, float, float, float] = (0.2, 0.35, 0.8, 0.6),
    vertical: bool = False,
    colour: str | None = None,  # "#rrggbb": tick the page's colour box and pick it
    timeout_s: float = 120,
    viewport: tuple[int, int] = (1400, 760),
) -> PageRun:
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium on PATH; install it with apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.goto(url)
            page.wait_for_function("document.getElementById('status').textContent.length > 0")
            if preset is not None:
                page.select_option("#preset", preset)
                page.wait_for_function(
                    "document.getElementById('status').textContent.startsWith('Drag')"
                )
            canvas: Any = page.locator("#canvas").bounding_box()
            assert canvas is not None
            x0 = canvas["x"] + drag[0] * canvas["width"]
            y0 = canvas["y"] + drag[1] * canvas["height"]
            page.mouse.move(x0, y0)
            page.mouse.down()
            page.mouse.move(
                canvas["x"] + drag[2] * canvas["width"],
                canvas["y"] + drag[3] * canvas["height"],
                steps=8,
            )
            page.mouse.up()
            page.fill("#text", text)
            if vertical:
                page.check("#vertical")
            if colour is not None:
                page.check("#own-colour")
                page.fill("#colour", colour)
            page.click("#render")
            page.wait_for_selector("#verdict:not([hidden])", timeout=timeout_s * 1000)
            page.wait_for_function("document.getElementById('result').complete")
            page.evaluate("document.fonts.ready.then(() => true)")
            cjk_font = bool(
                page.evaluate(
                    "[...document.fonts].some(f => f.family.includes('glyphgen-cjk')"
                    " && f.status === 'loaded')"
                )
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            verdict = {
                cell: page.inner_text(f"#{cell}")
                for cell in (
                    "v-target",
                    "v-read",
                    "v-diff",
                    "v-scores",
                    "v-judge",
                    "v-tries",
                    "v-time",
                )
            }
            badge = page.get_attribute("#badge", "class") or ""
            result: Any = page.locator("#result").bounding_box()
            return PageRun(screenshot, verdict, badge, result, canvas, drag, cjk_font)
        finally:
            browser.close()
