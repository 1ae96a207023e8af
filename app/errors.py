"""Error answers: JSON for the API, a page for the browser, a toast for an HTMX request, a
redirect to /login when anonymous."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app import db
from app.deps import NotAuthenticated
from app.i18n import _
from app.logging import get_logger
from app.services.auth import LoginThrottled
from app.services.errors import Conflict, InvalidInput
from app.templating import is_htmx, render


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" + (f"?next={quote(target)}" if target != "/" else "")


async def not_authenticated(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        return JSONResponse(
            {"detail": _("Not logged in.")},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    url = login_url(request)
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# An HTMX request's error goes into the toast region of base.html, whatever element asked
# and whatever it would have swapped: a page inside a fragment would repeat the site header.
# static/js/app.js lets htmx swap any status aimed at #toasts; it never enters the history.
TOAST_SWAP = {
    "HX-Retarget": "#toasts",
    "HX-Reswap": "beforeend",
    "HX-Reselect": ".toast",
    "HX-Push-Url": "false",
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_json(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    titles = {
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        429: _("Too many attempts"),
    }
    title = titles.get(exc.status_code, _("Something went wrong"))
    message = exc.detail if isinstance(exc.detail, str) else ""
    headers = dict(getattr(exc, "headers", None) or {})
    if is_htmx(request):
        return render(
            request,
            "errors/_toast.html",
            {"message": message or title},
            status_code=exc.status_code,
            headers={**headers, **TOAST_SWAP},
        )
    return render(
        request,
        "errors/error.html",
        {"status": exc.status_code, "title": title, "message": message},
        status_code=exc.status_code,
        headers=headers,
    )


async def throttled(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginThrottled)
    return await http_error(
        request,
        HTTPException(
            429,
            _("Too many failed logins. Try again in %(seconds)s seconds.")
            % {"seconds": exc.retry_after},
            headers={"Retry-After": str(exc.retry_after)},
        ),
    )


async def invalid_input(request: Request, exc: Exception) -> Response:
    """Service-level 422 in FastAPI's `detail` shape; pages catch InvalidInput themselves."""
    assert isinstance(exc, InvalidInput)
    return JSONResponse({"detail": exc.errors}, status_code=422)


async def conflict(request: Request, exc: Exception) -> Response:
    """A change that clashes with the current state (services.errors.Conflict): 409."""
    return await http_error(request, HTTPException(409, str(exc)))


async def database_away(request: Request, exc: Exception) -> Response:
    """The database is restarting or out of reach: 503 with Retry-After, never a 500 (one
    handler for every route; any other database error is re-raised, a bug stays a 500)."""
    if not db.database_unavailable(exc):
        raise exc
    get_logger("arigato.db").warning("database unavailable", error=type(exc).__name__)
    message = _("The database is unavailable for a moment. Please try again in a few seconds.")
    headers = {"Retry-After": str(db.UNAVAILABLE_RETRY_AFTER_S)}
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=503, headers=headers)
    return await http_error(request, HTTPException(503, message, headers=headers))


def install_database_away(app: FastAPI) -> None:
    for error in db.unavailable_errors():
        app.add_exception_handler(error, database_away)


def install(app: FastAPI) -> None:
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(NotAuthenticated, not_authenticated)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(LoginThrottled, throttled)
    app.add_exception_handler(Conflict, conflict)
    install_database_away(app)
