"""Cookies and CSRF for browser requests: the one place that reads and writes them (and, in
app.web.forms, the one reader of browser forms)."""

from __future__ import annotations

from fastapi import Request, Response

from app.config import get_settings
from app.security import csrf_matches, csrf_token_for, new_token

SESSION_COOKIE = "arigato_session"
PRESESSION_COOKIE = "arigato_pre"
LANG_COOKIE = "arigato_lang"
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
    seed = request.cookies.get(SESSION_COOKIE) if getattr(request.state, "user", None) else None
    seed = seed or request.cookies.get(PRESESSION_COOKIE)
    return bool(seed) and csrf_matches(get_settings().secret_key, seed or "", given)


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
