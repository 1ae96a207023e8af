"""Error answers: JSON for the API, a page for the browser, a toast for an HTMX request, a
redirect to /login when anonymous."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import db
from app.deps import NotAuthenticated
from app.i18n import _
from app.inputs import SCIM_ERROR
from app.logging import get_logger
from app.routing import is_scim_path
from app.services.errors import Conflict, DomainError, InvalidInput, generic_message
from app.templating import TOAST_SWAP, is_htmx, render

Handler = Callable[[Request, Exception], Awaitable[Response]]


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


async def domain_error(request: Request, exc: Exception) -> Response:
    """Any error a service raised (services.errors.DomainError): its status, headers and
    message, answered like an HTTPException (JSON `{"detail": ...}`, a page, or a toast)."""
    assert isinstance(exc, DomainError)
    headers = exc.headers or None
    # JSON gets `detail` (a list for InvalidInput); a page or toast shows text: the message
    # where `detail` is such a list, else `detail` (worded in the request's language).
    detail = exc.detail
    if isinstance(detail, list) and not wants_json(request):
        detail = exc.message
    return await http_error(request, HTTPException(exc.status_code, detail, headers))


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


# How much of a rejected request a 422 repeats back: FastAPI's own handler echoes each
# `input` whole (a 1 MB body came back twice over), and one error per item of a long list.
ECHO_MAX_CHARS = 200
ERRORS_MAX = 50
_DROP = object()


def _text(value: str) -> str:
    """A string JSON and UTF-8 can carry (a lone surrogate is spelled out), cut short."""
    safe = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= ECHO_MAX_CHARS else safe[:ECHO_MAX_CHARS] + "…"


def _plain(value: Any) -> Any:
    """`value` with every part JSON can carry: NaN and infinities, which FastAPI's JSON reader
    accepts but a JSON answer may not hold, are sent as the words JSON text uses for them."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # "NaN", "Infinity", "-Infinity"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {_text(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _text(str(value))


def _echo(value: Any) -> Any:
    """The rejected input as the 422 may repeat it: a string cut to ECHO_MAX_CHARS, anything
    else only while its JSON is that short (_DROP otherwise)."""
    if isinstance(value, str):
        return _text(value)
    try:
        size = len(json.dumps(value, default=str))
    except (ValueError, TypeError, RecursionError):
        return _DROP
    return _plain(value) if size <= ECHO_MAX_CHARS else _DROP


def _validation_error(error: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": str(error.get("type", "")),
        "loc": [_plain(part) for part in error.get("loc", ())],
        "msg": _text(str(error.get("msg", ""))),
    }
    if out["type"] == "json_invalid":
        out["msg"] = _("The request body is not valid JSON.")
    if "input" in error and (echo := _echo(error["input"])) is not _DROP:
        out["input"] = echo
    if ctx := error.get("ctx"):
        out["ctx"] = _plain(ctx)
    return out


async def request_invalid(request: Request, exc: Exception) -> Response:
    """A request FastAPI's validation refused: its 422 `detail` list, bounded (ECHO_MAX_CHARS,
    ERRORS_MAX) and always encodable (FastAPI's handler answered NaN or a lone surrogate in the
    input with a 500)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if not wants_json(request):  # a page's query or form FastAPI refused: a page, or a toast
        kind = str(errors[0].get("type", "")) if errors else ""
        message = generic_message(kind) or _("Enter a valid value.")
        return await http_error(request, HTTPException(422, message))
    return JSONResponse(
        {"detail": [_validation_error(e) for e in errors[:ERRORS_MAX]]}, status_code=422
    )


async def unreadable_body(request: Request, exc: Exception) -> Response:
    """SPEC §4 has no 400: a JSON body FastAPI cannot even decode (not UTF-8, nested too
    deep), for which it raises Starlette's HTTPException 400, is a 422 in the `detail` shape
    like JSON with a syntax error. Starlette's other HTTPExceptions (404 for no route, 405)
    keep FastAPI's handler; the app's own HTTPException (a subclass) goes to http_error."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        error = {
            "type": "json_invalid",
            "loc": ["body"],
            "msg": _("The request body is not valid JSON."),
        }
        return JSONResponse({"detail": [error]}, status_code=422)
    return await http_exception_handler(request, exc)


def scim_error(
    status: int, detail: str, scim_type: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error as RFC 7644 §3.12 shapes it (the status as a string), application/scim+json."""
    body: dict[str, Any] = {"schemas": [SCIM_ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type="application/scim+json"
    )


def _scim_answer(exc: Exception) -> Response:
    if isinstance(exc, DomainError):
        if isinstance(exc, InvalidInput):  # a rule on a field: SCIM says 400 invalidValue
            return scim_error(400, exc.message, "invalidValue")
        scim_type = getattr(exc, "scim_type", None)
        if isinstance(exc, Conflict) and exc.field == "code":
            scim_type = "uniqueness"
        return scim_error(exc.status_code, exc.message, scim_type, exc.headers)
    if isinstance(exc, NotAuthenticated):
        return scim_error(401, _("Not logged in."), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, RequestValidationError):
        errors = [_validation_error(e) for e in exc.errors()[:ERRORS_MAX]]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return scim_error(400, detail, "invalidSyntax")
    assert isinstance(exc, StarletteHTTPException)
    scim_type = "invalidSyntax" if exc.status_code == 400 else None
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return scim_error(exc.status_code, detail, scim_type, getattr(exc, "headers", None))


def _scim_aware(handler: Handler) -> Handler:
    """Under /scim/v2 every error is answered in SCIM's shape, whatever raised it."""

    async def answer(request: Request, exc: Exception) -> Response:
        if is_scim_path(request.url.path):
            return _scim_answer(exc)
        return await handler(request, exc)

    return answer


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _scim_aware(domain_error))
    app.add_exception_handler(NotAuthenticated, _scim_aware(not_authenticated))
    app.add_exception_handler(HTTPException, _scim_aware(http_error))
    install_database_away(app)
    app.add_exception_handler(RequestValidationError, _scim_aware(request_invalid))
    app.add_exception_handler(StarletteHTTPException, _scim_aware(unreadable_body))
