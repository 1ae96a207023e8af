"""Files browsers ask for at fixed addresses outside /static: the site icon, the web app
manifest, the service worker (it must be served from the root to control every page) and
the page the service worker shows when the network is gone."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from app import i18n
from app.config import get_settings
from app.i18n import _
from app.templating import render

STATIC = Path(__file__).resolve().parents[2] / "static"
ICON = STATIC / "favicon.ico"
SERVICE_WORKER = STATIC / "js" / "sw.js"
THEME_COLOR = "#0172ad"

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico", name="favicon")
async def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico on a first visit whatever the page links to."""
    return FileResponse(
        ICON,
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=604800"},
    )


@router.get("/sw.js", name="service_worker")
async def service_worker() -> FileResponse:
    """The service worker, a static file: from the root its scope is the whole site. No
    caching by the HTTP cache, so a deploy's new worker is seen at the next visit."""
    return FileResponse(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/manifest.webmanifest", name="web_manifest")
async def web_manifest(request: Request) -> JSONResponse:
    """The web app manifest. Browsers fetch it without cookies, so it speaks the site's
    default language (Japanese unless DEFAULT_LOCALE says otherwise)."""

    def icon(name: str, size: int, purpose: str) -> dict[str, str]:
        return {
            "src": str(request.app.url_path_for("static", path=f"icons/{name}")),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }

    locale = get_settings().default_locale
    i18n.current_locale.set(locale)
    start = str(request.app.url_path_for("feed"))
    manifest = {
        "id": start,
        "name": _("Arigato Board"),
        "short_name": _("Arigato"),
        "description": _("Arigato Board — customers' thanks, shared with every shop."),
        "lang": locale,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            icon("icon-192.png", 192, "any"),
            icon("icon-512.png", 512, "any"),
            icon("icon-maskable-192.png", 192, "maskable"),
            icon("icon-maskable-512.png", 512, "maskable"),
        ],
    }
    return JSONResponse(
        manifest,
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/offline", name="offline")
async def offline(request: Request) -> HTMLResponse:
    """What the service worker shows for a page asked for without a network (it keeps a
    copy from its installation). Nobody's data in it: it is kept on the device."""
    return render(request, "site/offline.html", {"current_user": None, "current_unit": None})
