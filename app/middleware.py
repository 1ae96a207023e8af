"""Pure ASGI middleware: request id, structured request log, security headers, locale."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.config import get_settings
from app.logging import get_logger
from app.web import LANG_COOKIE

# No inline script or style anywhere: htmx is told not to inject its indicator styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Sent only when the site is served over https (BASE_URL): it pins browsers to https for a year.
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(base_url: str) -> dict[str, str]:
    if base_url.startswith("https://"):
        return {**SECURITY_HEADERS, "Strict-Transport-Security": HSTS}
    return SECURITY_HEADERS


log = get_logger("arigato.request")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.security_headers = security_headers(get_settings().base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("x-request-id", "")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        # The locale before we know the user; get_auth refines it with the user's setting.
        cookies = _cookie(headers.get("cookie", ""), LANG_COOKIE)
        i18n.current_locale.set(i18n.negotiate(None, cookies, headers.get("accept-language")))
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["X-Request-ID"] = request_id
                for name, value in self.security_headers.items():
                    if name not in out:
                        out[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            fields: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
            log.info("request", **fields)
            structlog.contextvars.unbind_contextvars("request_id")


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None
