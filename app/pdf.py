"""HTML to PDF with WeasyPrint (README "Libraries chosen"): a page the app rendered, with
stylesheets from static/css, set in the fonts fontconfig finds (Noto Sans CJK JP from Debian's
fonts-noto-cjk) and embedded as subsets. Nothing is fetched while rendering: no network, no
file; the HTML carries everything but the stylesheets handed in."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool

STATIC_CSS = Path(__file__).resolve().parent.parent / "static" / "css"
MEDIA_TYPE = "application/pdf"


@cache
def _stylesheet(name: str) -> str:
    return (STATIC_CSS / name).read_text(encoding="utf-8")


def _render(html: str, stylesheets: tuple[str, ...]) -> bytes:
    # Imported here, not at start-up: WeasyPrint (and pango through it) is loaded by the
    # first PDF, not by every worker.
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    refuse_all = URLFetcher(allowed_protocols=set())
    css = [CSS(string=_stylesheet(n), url_fetcher=refuse_all) for n in stylesheets]
    document = HTML(string=html, url_fetcher=refuse_all, media_type="print")
    pdf = document.write_pdf(stylesheets=css)
    assert isinstance(pdf, bytes)
    return pdf


async def html_to_pdf(html: str, *stylesheets: str) -> bytes:
    """The PDF of `html` styled by the named files of static/css (rendered in a worker
    thread: it takes a few hundred milliseconds of CPU)."""
    return await run_in_threadpool(_render, html, stylesheets)
