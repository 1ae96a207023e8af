"""Error answers: JSON for the API, a page for the browser, a redirect to /login when anonymous."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.deps import NotAuthenticated
from app.i18n import _
from app.services.auth import LoginThrottled
from app.services.errors import Conflict, InsufficientStorage, InvalidInput
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


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_json(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    titles = {
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        429: _("Too many attempts"),
    }
    return render(
        request,
        "errors/error.html",
        {
            "status": exc.status_code,
            "title": titles.get(exc.status_code, _("Something went wrong")),
            "message": exc.detail if isinstance(exc.detail, str) else "",
        },
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
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


async def insufficient_storage(request: Request, exc: Exception) -> Response:
    """The disk for uploads is full (services.errors.InsufficientStorage): 507."""
    message = _(
        "There is no room left on the server to store files, so nothing was saved. "
        "Try again later, or tell an administrator."
    )
    return await http_error(request, HTTPException(507, message))


def install(app: FastAPI) -> None:
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(NotAuthenticated, not_authenticated)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(LoginThrottled, throttled)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(InsufficientStorage, insufficient_storage)
