"""Render the app icons (static/icons/*.png) from static/favicon.svg with Chromium.

Run after changing the logo: `python scripts/make-icons.py`. The maskable icons fill the
square with the brand blue and keep the glyph inside the central 80% "safe zone" that
Android's masks (circle, squircle) never cut.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SVG = (ROOT / "static" / "favicon.svg").read_text()
OUT = ROOT / "static" / "icons"
BLUE = "#0172ad"


def page_html(size: int, maskable: bool) -> str:
    svg = re.sub(r"<svg ", f'<svg width="{size}" height="{size}" ', SVG, count=1)
    if maskable:
        # Square full-bleed background; the logo (without its rounded tile) at 60%.
        inner = round(size * 0.6)
        svg = re.sub(r"<rect[^>]*/>", "", svg, count=1)
        svg = svg.replace(f'width="{size}" height="{size}"', f'width="{inner}" height="{inner}"')
        body = (
            f'<div style="width:{size}px;height:{size}px;background:{BLUE};display:flex;'
            f'align-items:center;justify-content:center">{svg}</div>'
        )
    else:
        body = svg
    return f"<html><body style='margin:0;background:transparent'>{body}</body></html>"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for size in (192, 512):
            for maskable in (False, True):
                page = browser.new_page(viewport={"width": size, "height": size})
                page.set_content(page_html(size, maskable))
                name = f"icon-{'maskable-' if maskable else ''}{size}.png"
                page.screenshot(path=str(OUT / name), omit_background=True)
                page.close()
        page = browser.new_page(viewport={"width": 180, "height": 180})
        page.set_content(page_html(180, True))  # iOS rounds the corners itself
        page.screenshot(path=str(OUT / "apple-touch-icon.png"))
        browser.close()


if __name__ == "__main__":
    main()
