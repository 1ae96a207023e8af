"""Cookies and CSRF for browser requests: the one place that reads and writes them (and, in
app.web.forms, the one reader of browser forms)."""

from __future__ import annotations

from fastapi import Request, Response

from app.config import get_settings
from app.security import csrf_matches, csrf_token_for, new_token

SESSION_COOKIE = "arigato_session"
PRESESSION_COOKIE = "arigato_pre"
LANG_COOKIE = "arigato_lang"
# A shop device's long-lived credential (services/terminal): never a user's session.
DEVICE_COOKIE = "arigato_device"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def _csrf_seed(request: Request) -> str:
    """The session cookie when logged in, else a random pre-session cookie (set on demand)."""
    seed = request.cookies.get(SESSION_COOKIE) if getattr(request.state, "user", None) else None
    if seed:
        return seed
    seed = request.cookies.get(PRESESSION_COOKIE) or getattr(request.state, "new_pre", None)
    if not seed:
        seed = new_token()
        request.state.new_pre = seed
    return seed


def csrf_token(request: Request) -> str:
    return csrf_token_for(get_settings().secret_key, _csrf_seed(request))


def csrf_valid(request: Request, given: str | None) -> bool:
    secret = get_settings().secret_key
    session = request.cookies.get(SESSION_COOKIE)
    if getattr(request.state, "user", None):
        return bool(session) and csrf_matches(secret, session or "", given)
    # Logged out: the pre-session token, or that of a session that has just lapsed (a page
    # rendered while signed in, e.g. a shop terminal's idle sign-out arriving late). Either
    # is an HMAC of an HttpOnly cookie another site cannot read.
    return any(
        seed and csrf_matches(secret, seed, given)
        for seed in (request.cookies.get(PRESESSION_COOKIE), session)
    )


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/",
    )


def set_locale_cookie(response: Response, locale: str) -> None:
    """Remember the chosen language in the browser (the login page and logged-out visits)."""
    set_cookie(response, LANG_COOKIE, locale, max_age=365 * 86400)


def pending_cookies(request: Request, response: Response) -> None:
    new_pre = getattr(request.state, "new_pre", None)
    if new_pre:
        set_cookie(response, PRESESSION_COOKIE, new_pre)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
