"""OpenAPI browser at /api/docs, served from vendored Swagger UI (no CDN, no inline script)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.middleware import CSP

router = APIRouter(include_in_schema=False)

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Arigato Board API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><main id="swagger-ui" data-openapi-url="/api/openapi.json"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script></body></html>"""


@router.get("/api/docs", name="api_docs")
async def api_docs() -> HTMLResponse:
    # Swagger UI sets style attributes from its scripts: allow inline styles on this page only.
    csp = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return HTMLResponse(DOCS_HTML, headers={"Content-Security-Policy": csp})
