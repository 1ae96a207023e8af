"""The portal feed `/` and its infinite-scroll fragment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.deps import CurrentUser, SessionDep
from app.inputs import FormDay
from app.routes.posts import page_urls
from app.services import bulletins as bulletin_service
from app.services import feed as feed_service
from app.services.errors import InvalidInput
from app.services.feed import FeedFilters
from app.templating import render

router = APIRouter(include_in_schema=False)


def _filters(
    kind: Literal["praise", "knowhow", ""] | None = None,
    unit: Annotated[str | None, Query(max_length=160)] = None,  # a code, or "name (code)"
    tag: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    featured: Annotated[str | None, Query(max_length=5)] = None,
    author: Annotated[str | None, Query(max_length=32)] = None,
    date_from: Annotated[FormDay, Query(alias="from")] = None,
    date_to: Annotated[FormDay, Query(alias="to")] = None,
) -> FeedFilters:
    # Empty form fields arrive as "": they mean "no filter", not an error.
    return FeedFilters(
        kind=kind or None,
        unit=(unit or "").strip() or None,
        tag=(tag or "").strip() or None,
        q=(q or "").strip() or None,
        featured=featured in ("1", "true", "on") or None,
        author=(author or "").strip() or None,
        date_from=date_from,
        date_to=date_to,
    )


FiltersDep = Annotated[FeedFilters, Depends(_filters)]


@router.get("/", name="feed")
async def feed(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    context = {"unread_bulletins": await bulletin_service.unread_for(db, user), "filters": filters}
    try:
        filters, unit_label = await feed_service.with_unit_found(db, filters)
    except InvalidInput as exc:  # an unknown unit: say so, with what was typed kept
        context |= {"cards": [], "unit_error": exc.by_field()["unit"]}
        return render(request, "feed/index.html", context, status_code=422)
    cards, next_cursor = await feed_service.list_posts(db, user, filters, cursor=cursor)
    next_url, more_url = page_urls(request, filters, next_cursor)
    context |= {"cards": cards, "next_url": next_url, "more_url": more_url}
    return render(
        request, "feed/index.html", context | {"filters": filters, "unit_label": unit_label}
    )


@router.get("/feed/page", name="feed_page")
async def feed_page(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The next page of cards, for infinite scroll (the same partial the feed includes)."""
    filters, _label = await feed_service.with_unit_found(db, filters)
    cards, next_cursor = await feed_service.list_posts(db, user, filters, cursor=cursor)
    next_url, more_url = page_urls(request, filters, next_cursor)
    return render(
        request, "posts/_page.html", {"cards": cards, "next_url": next_url, "more_url": more_url}
    )
