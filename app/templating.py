"""The Jinja2 environment: i18n, URL building, filters, and the one render helper."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app import clock, i18n, labels, links
from app.config import get_settings
from app.events import Counts, HxEvents
from app.services.markdown import render_preview

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=env)
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
)
env.filters["datetime"] = i18n.format_dt
env.filters["day"] = i18n.format_day
env.filters["month"] = i18n.format_month
env.globals["LOCALE_NAMES"] = i18n.LOCALE_NAMES


_formats: dict[str, tuple[str, frozenset[str]]] = {}


def _route_formats(router: Any, prefix: str = "") -> None:
    for route in router.routes:
        inner = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if inner is not None:
            context = getattr(route, "include_context", None)
            _route_formats(inner, prefix + (getattr(context, "prefix", "") or ""))
            continue
        name = getattr(route, "name", None)
        path_format = getattr(route, "path_format", None)
        if name and path_format and name not in _formats:
            params = frozenset(getattr(route, "param_convertors", {}) or {})
            _formats[name] = (prefix + path_format, params)


@jinja2.pass_context
def path_for(ctx: jinja2.runtime.Context, name: str, /, **params: object) -> str:
    """A site-relative URL for a named route: templates never hard-code paths."""
    return url_path(ctx["request"].app, name, **params)


def url_path(app: Any, name: str, /, **params: object) -> str:
    """`app.url_path_for(name, **params)` as a string, faster: Starlette's walks every route
    on each call (~90 µs); a feed page makes over a hundred of these, so the route's path
    format is looked up once and filled in."""
    if not _formats:
        _route_formats(app)
    found = _formats.get(name)
    if found is None or found[1] != frozenset(params):
        return str(app.url_path_for(name, **params))
    return found[0].format(
        **{k: v if isinstance(v, int) else quote(str(v), safe="/") for k, v in params.items()}
    )


env.globals["path_for"] = path_for

# Partials whose HTML depends only on the values passed in and on the locale (a post card, a
# comment) are kept rendered, least recently used first out: a feed page is 20 cards that
# every viewer shares, and rendering them was a third of the page's time. The viewer's CSRF
# token must not be baked in, so they render with this placeholder and `render` puts each
# response's own token in its place. It is random per process: no user text can hold it.
CSRF_PLACEHOLDER = "csrf-placeholder-" + secrets.token_hex(16)
_CSRF_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
# Bounded by entries and by characters held (keys and HTML): a card can hold a 10,000
# character post twice over, and 2,000 of those would be ~100 MB of a 200 MB worker budget.
FRAGMENT_CACHE_SIZE = 2000
FRAGMENT_CACHE_CHARS = 4_000_000  # 8-16 MB of Python strings
FRAGMENT_MAX_CHARS = 40_000  # a larger one is rendered each time rather than push out dozens
_fragments: OrderedDict[tuple[Any, ...], tuple[Markup, int]] = OrderedDict()
_fragment_chars = 0


_ATOMIC = frozenset({str, int, bool, float, type(None), date, datetime})
_field_getters: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _field_getter(kind: type) -> Callable[[Any], tuple[Any, ...]]:
    """A dataclass's field values as a tuple (attrgetter: one C call for all of them)."""
    names = [f.name for f in fields(kind)]
    if len(names) == 1:  # attrgetter of a single name returns the bare value
        return lambda value: (getattr(value, names[0]),)
    return attrgetter(*names)


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a partial's input: dataclasses by every field, lists as tuples."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is list or kind is tuple:
        return tuple([v if type(v) in _ATOMIC else _freeze(v) for v in value])
    if not is_dataclass(kind):
        return value
    getter = _field_getters.get(kind)
    if getter is None:
        getter = _field_getters[kind] = _field_getter(kind)
    return (kind, *[v if type(v) in _ATOMIC else _freeze(v) for v in getter(value)])


def _chars(value: Any) -> int:
    """Roughly how many characters a frozen key holds (its strings)."""
    if type(value) is str:
        return len(value)
    if type(value) is tuple:
        return sum(map(_chars, value))
    return 0


@jinja2.pass_context
def fragment(ctx: jinja2.runtime.Context, name: str, /, **values: Any) -> Markup:
    """The partial `name` rendered with exactly `values` (and the locale), from the cache.

    The partial sees only `values`, `request` (for URLs) and `csrf_token` (the placeholder);
    everything it shows must come from `values`, which are the cache key.
    """
    global _fragment_chars
    key = (name, i18n.current_locale.get(), _freeze(sorted(values.items())))
    hit = _fragments.get(key)
    if hit is not None:
        _fragments.move_to_end(key)
        return hit[0]
    html = Markup(  # noqa: S704 - the output of an autoescaped template
        env.get_template(name).render(request=ctx["request"], csrf_token=CSRF_PLACEHOLDER, **values)
    )
    size = len(html) + _chars(key)
    if size <= FRAGMENT_MAX_CHARS:
        _fragments[key] = (html, size)
        _fragment_chars += size
        while len(_fragments) > FRAGMENT_CACHE_SIZE or _fragment_chars > FRAGMENT_CACHE_CHARS:
            _fragment_chars -= _fragments.popitem(last=False)[1][1]
    return html


def fragment_cache_stats() -> tuple[int, int]:
    """(entries, characters) held by the fragment cache."""
    return len(_fragments), _fragment_chars


def clear_fragments() -> None:
    global _fragment_chars
    _fragments.clear()
    _fragment_chars = 0


env.globals["fragment"] = fragment
env.globals["one_comment"] = links.one_comment
# The live stream's `since` (ms since the epoch): posts after it count as new on the feed.
env.globals["now_ms"] = lambda: int(clock.now().timestamp() * 1000)
env.globals["label"] = labels.label
env.globals["render_preview"] = render_preview
# A new Idempotency-Key for each rendered create form (services/idempotency.py).
env.globals["form_key"] = lambda: secrets.token_urlsafe(18)
env.globals["labels"] = labels.LABELS
# The names an HTMX answer triggers (hx-trigger="... from:body") and the data-count keys.
env.globals["HxEvents"] = HxEvents
env.globals["Counts"] = Counts


def _bell_text(count: int) -> str:
    """The one "99+" rule (notifications.bell_text). Imported late: app.inputs imports this
    module for its toast, and the services import app.inputs."""
    from app.services.notifications import bell_text

    return bell_text(count)


env.globals["bell_text"] = _bell_text


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# An HTMX request's error goes into the toast region of base.html, whatever element asked
# and whatever it would have swapped: a page inside a fragment would repeat the site header.
# static/js/app.js lets htmx swap any status aimed at #toasts; it never enters the history.
TOAST_SWAP = {
    "HX-Retarget": "#toasts",
    "HX-Reswap": "beforeend",
    "HX-Reselect": ".toast",
    "HX-Push-Url": "false",
}


def toast_html(message: str) -> str:
    """The toast partial for answers made outside a route (the ASGI input guard)."""
    return env.get_template("errors/_toast.html").render(message=message)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page (or, for HTMX, the partial it names) with the common context."""
    from app.web import csrf_token, pending_cookies  # late: web imports templating

    ctx: dict[str, Any] = {
        "current_user": getattr(request.state, "user", None),
        "current_unit": getattr(request.state, "unit", None),
        "locale": i18n.current_locale.get(),
        "csrf_token": csrf_token(request),
        "settings": get_settings(),
        "is_htmx": is_htmx(request),
        "unread_notifications": getattr(request.state, "unread_notifications", 0),
        # A session on a shop's shared terminal (services/terminal): base.html marks the body
        # (data-terminal, data-no-local-drafts) and loads the idle countdown.
        "is_terminal": getattr(request.state, "terminal", False),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=headers
    )
    body = bytes(response.body)
    if _CSRF_PLACEHOLDER_BYTES in body:
        response.body = body.replace(_CSRF_PLACEHOLDER_BYTES, (ctx["csrf_token"] or "").encode())
        response.headers["content-length"] = str(len(response.body))
    pending_cookies(request, response)
    return response
