"""`/events`: the Server-Sent Events stream behind the bell, the feed's "N new posts" banner
and the like counts of the cards on the page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from app import i18n, live
from app.deps import OptionalUser, SessionDep
from app.i18n import _
from app.models import PostStatus
from app.models.tables import posts
from app.routes.feed import FiltersDep
from app.services import notifications
from app.services.feed import CARD_FROM, apply_filters

router = APIRouter(include_in_schema=False)
MISSED_CAP = 100


@router.get("/events", name="events")
async def events(
    request: Request,
    db: SessionDep,
    auth: OptionalUser,
    filters: FiltersDep,
    feed: Annotated[str | None, Query(max_length=1)] = None,
    since: Annotated[str | None, Query(max_length=15)] = None,
) -> StreamingResponse:
    """Logged-in users only. `feed=1` (with the feed's filters) asks for new-post banners;
    `since` (ms since the epoch, when the page was made) lets a reconnecting stream count
    the posts it missed."""
    if auth is None:
        raise HTTPException(401, _("Not logged in."))
    user = auth.user
    assert user.id is not None
    unread = (
        auth.unread_notifications
        if auth.via == "session"
        else await notifications.unread_count(db, user.id)
    )
    listener = live.Listener(user_id=user.id, locale=i18n.current_locale.get(), viewer=user)
    first = [live.sse(live.SseEvents.bell, live.bell_html(unread))]
    if feed == "1":
        listener.feed = filters
        query = urlencode(filters.query_params())
        listener.feed_url = str(request.app.url_path_for("feed")) + (f"?{query}" if query else "")
        after = live.since_time(since)
        if after is not None:
            listener.new_posts = await _missed(db, user.id, filters, after)
            if listener.new_posts:
                first.append(live.sse(live.SseEvents.new_posts, live.banner_html(listener)))
    # The stream may stay open for hours: give the connection back to the pool now.
    await db.close()
    hub = await live.get_hub()
    return StreamingResponse(
        live.stream(hub, listener, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _missed(db: SessionDep, user_id: int, filters: FiltersDep, after: object) -> int:
    """Posts matching the filters published since the page was made (others' only)."""
    stmt = (
        sa.select(posts.c.id)
        .select_from(CARD_FROM)
        .where(
            posts.c.status == PostStatus.published,
            posts.c.created_at > after,
            posts.c.author_id != user_id,
        )
    )
    stmt = apply_filters(stmt, filters, db.get_bind().dialect.name).limit(MISSED_CAP)
    counted = sa.select(sa.func.count()).select_from(stmt.subquery())
    return int((await db.execute(counted)).scalar_one())
