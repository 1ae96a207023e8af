"""Rules every request input obeys, in one place: id and day types, the text rule, body caps.

`InputGuard` (pure ASGI, inside RequestContextMiddleware so the locale is known) applies the
text rule to the path, the query string and every JSON or urlencoded body, and caps bodies
before anything parses them; the one multipart reader (services/uploads.py) applies the same
text rule to its text fields and sets its own, larger cap with `allow_body`.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import HTTPException, Path, Query
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n, templating
from app.i18n import _
from app.routing import is_scim_path
from app.services.errors import InvalidInput, NotFound
from app.services.spreadsheet import CsvEncoding

# Ids: PostgreSQL's `integer` (int4) is the smaller bound of the two databases.
MAX_ID = 2**31 - 1


def _known_id(value: int) -> int:
    # Raised from inside validation on purpose: no row has an id outside the column's range,
    # so an out-of-range path id is "not found" (404), not a malformed request.
    if not 1 <= value <= MAX_ID:
        raise NotFound(_("There is nothing with this id."))
    return value


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# Every int id in a path: `post_id: PathId`. tests/test_inputs.py fails for a route without it.
PathId = Annotated[int, AfterValidator(_known_id), WithJsonSchema(_ID_SCHEMA), Path()]
# An id inside a body or a cursor: out of range is invalid input (422).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# The encoding of an uploaded CSV file (services/csvimport.decode_csv).
CsvImportEncodingQuery = Annotated[
    Literal["auto", "utf-8", "cp932"],
    Query(
        description="The file's encoding: `auto` (the default) reads strict UTF-8 (with or "
        "without BOM) and else strict CP932 (Windows Shift_JIS); `utf-8` or `cp932` insists "
        "on one. A file the encoding cannot read is a 422 naming the first line it cannot read."
    ),
]

# The encoding of a CSV download (services/spreadsheet.csv_bytes).
CsvEncodingQuery = Annotated[
    CsvEncoding,
    Query(
        description="CSV only: `utf-8` (the default, with a BOM) or `cp932` (Windows "
        "Shift_JIS, for older Excel). A character CP932 cannot hold is a 422 naming it and "
        "its row, never a `?`."
    ),
]


def parse_id(text: str | None) -> int | None:
    """An id typed into a form field or a "post:12" target; None unless it can exist."""
    raw = (text or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_ID)):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


# Days given as filters: beyond these nothing exists, and date arithmetic near year 1 or
# 9999 overflows; clamping keeps "from the beginning" / "until the end" meaning just that.
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2999, 12, 31)


def _clamp_day(value: date) -> date:
    return min(max(value, MIN_DAY), MAX_DAY)


Day = Annotated[date, AfterValidator(_clamp_day)]


def _day_or_none(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return value


# A page's filter form: an empty or unreadable day means "no filter" rather than an error page.
FormDay = Annotated[Day | None, BeforeValidator(_day_or_none)]

# The text rule: no C0 control character but tab, LF and CR (browsers send textarea line
# breaks as CRLF), and no lone surrogate (json.loads lets "\ud800" through; neither database
# can store it, and PostgreSQL refuses NUL).
FORBIDDEN_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff"
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARS}]")
# The same rule for OpenAPI documents (ECMA-262 regex, escaped so that the JSON stays ASCII).
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\ud800-\\udfff]*$"


def text_ok(value: str) -> bool:
    return _FORBIDDEN.search(value) is None


def text_refused(field: str, where: str = "body") -> InvalidInput:
    """The 422 for a text field that breaks the text rule (raised by the multipart reader)."""
    return InvalidInput([_text_error([where, field])])


def _text_error(loc: list[Any]) -> dict[str, Any]:
    return {
        "loc": loc,
        "msg": _("Text may not contain control characters (such as NUL) or broken characters."),
        "type": "value_error",
    }


# Bodies: a post is at most 10,000 characters; 1 MiB leaves room for every other field.
MiB = 1024 * 1024
BODY_LIMIT = 1 * MiB
_BUDGET_KEY = "arigato.body_budget"


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = 0


def allow_body(scope: Scope, limit: int) -> None:
    """Raise this request's body cap: for the readers that stream uploads with their own."""
    budget = scope.get(_BUDGET_KEY)
    if isinstance(budget, _Budget):
        budget.limit = limit


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body passes its cap: FastAPI re-raises HTTPExceptions
    from body reading, so the app's error handler answers (JSON or page)."""

    def __init__(self) -> None:
        super().__init__(413, _too_large_message())


def _too_large_message() -> str:
    return _("The request is too large.")


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _body_kind(content_type: str) -> str | None:
    """ "json" or "form" for the bodies whose text is checked here; None for the others."""
    main = content_type.split(";", 1)[0].strip().lower()
    if main == "application/json" or (main.startswith("application/") and main.endswith("+json")):
        return "json"
    if main == "application/x-www-form-urlencoded":
        return "form"
    return None


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise _NotFinite(text)
    return value


def _json_problem(body: bytes) -> dict[str, Any] | None:
    """The first broken string (or NaN/Infinity) of a JSON body; None when it is fine or
    not JSON at all (the app answers malformed JSON itself)."""
    try:
        data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotFinite:
        return {
            "loc": ["body"],
            "msg": _("Numbers must be finite (no NaN or Infinity)."),
            "type": "value_error",
        }
    except (ValueError, RecursionError):
        return None
    loc = _first_broken_string(data)
    return None if loc is None else _text_error(loc)


def _first_broken_string(data: Any) -> list[Any] | None:
    """Where the first string (key or value) breaking the text rule is; iterative, and with
    no allocation per plain string, so that a list of 100,000 tags costs milliseconds."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ("body",))]
    while stack:
        value, loc = stack.pop()
        items: Any
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            if isinstance(value, str) and not text_ok(value):
                return list(loc)
            continue
        for key, item in items:
            if isinstance(key, str) and not text_ok(key):
                return list(loc)
            if isinstance(item, str):
                if not text_ok(item):
                    return [*loc, key]
            elif isinstance(item, dict | list):
                stack.append((item, (*loc, key)))
    return None


def _pairs_problem(text: str, where: str) -> dict[str, Any] | None:
    """The same for a query string or an urlencoded form, decoded as Starlette decodes them."""
    for name, value in parse_qsl(text, keep_blank_values=True):
        if not (text_ok(name) and text_ok(value)):
            return _text_error([where, name])
    return None


class InputGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not text_ok(scope["path"]):
            # No page or row has such a name: a lookup like /users/<NUL> is "not found".
            await _answer(scope, send, 404, str(_text_error(["path"])["msg"]))
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if query and (problem := _pairs_problem(query, "query")):
            await _answer(scope, send, 422, [problem])
            return
        headers = Headers(scope=scope)
        budget = _Budget(BODY_LIMIT)
        scope[_BUDGET_KEY] = budget
        declared = _declared_length(headers)
        kind = _body_kind(headers.get("content-type", ""))
        if kind is not None:
            # Small enough to read whole here (FastAPI would read it whole anyway), so the
            # text rule is checked before anything else sees the body.
            if declared is not None and declared > budget.limit:
                await _answer(scope, send, 413, _too_large_message())
                return
            body = await _read_body(receive, budget.limit)
            if body is None:
                await _answer(scope, send, 413, _too_large_message())
                return
            problem = (
                _json_problem(body)
                if kind == "json"
                else _pairs_problem(body.decode("latin-1"), "body")
            )
            if problem:
                await _answer(scope, send, 422, [problem])
                return
            receive = _replay(body, receive)

        async def limited_receive() -> Message:
            # Checked on the first read, not before the app runs: an upload route raises the
            # cap (allow_body) after routing, before it reads.
            if declared is not None and declared > budget.limit:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                budget.received += len(message.get("body", b""))
                if budget.received > budget.limit:
                    raise BodyTooLarge
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            # Only reached when a body was read outside the app's error handling.
            if started:
                raise
            await _answer(scope, send, 413, _too_large_message())


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: the disconnect, when it comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def _answer(scope: Scope, send: Send, status: int, detail: str | list[Any]) -> None:
    """JSON `{"detail": ...}` for the API, a short page otherwise; in the caller's language."""
    extra: list[tuple[bytes, bytes]] = []
    message = detail if isinstance(detail, str) else str(detail[0]["msg"])
    if is_scim_path(scope["path"]):  # RFC 7644 §3.12: bad input is a 400
        status = 400 if status == 422 else status
        error = {"schemas": [SCIM_ERROR], "status": str(status), "detail": message}
        if status == 400:
            error["scimType"] = "invalidValue"
        content = json.dumps(error, ensure_ascii=False).encode()
        ctype = b"application/scim+json"
    elif scope["path"].startswith("/api/"):
        content = json.dumps({"detail": detail}, ensure_ascii=False).encode()
        ctype = b"application/json"
    elif Headers(scope=scope).get("hx-request") == "true":
        # An HTMX request's error goes to the toast region, as errors.http_error sends it.
        content = templating.toast_html(message).encode()
        ctype = b"text/html; charset=utf-8"
        extra = [(k.lower().encode(), v.encode()) for k, v in templating.TOAST_SWAP.items()]
    else:
        title = {404: _("Page not found"), 413: _("The request is too large.")}.get(
            status, _("Something went wrong")
        )
        content = _PAGE.format(
            lang=i18n.current_locale.get(),
            title=html.escape(title),
            message=html.escape(message),
            status=html.escape(_("Error %(status)s") % {"status": status}),
            back=html.escape(_("Back to the feed")),
        ).encode()
        ctype = b"text/html; charset=utf-8"
    # The client may still be sending a body we will not read: close the connection after.
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/static/css/app.css"></head>
<body><main class="container error-page"><h1>{title}</h1><p>{message}</p>
<p><small>{status}</small></p><p><a href="/">{back}</a></p></main></body></html>
"""
