"""The live events the app publishes on the broker after a commit, and what each carries;
and the events an HTMX answer sends to the page that asked (`HX-Trigger`).

Publishers call `publish` after their transaction committed (so a browser never hears of
a row it cannot read yet); `app.live` turns them into Server-Sent Events for browsers.
"""

from __future__ import annotations

import json
from typing import Any

from app.broker import get_broker
from app.logging import get_logger

log = get_logger("arigato.events")


class Topics:
    # {"post_id", "kind", "unit_id", "author_id"}: a post was published (new, or a draft).
    post_created = "post.created"
    # {"post_id", "like_count"}: the like count of a post changed.
    post_liked = "post.liked"
    # {"post_id", "kind", "count"}: the count of one kind of reaction on a post changed.
    post_reacted = "post.reacted"
    # {"user_ids": [...]} or {"all": true}: these users' unread notification counts changed.
    notifications_changed = "notifications.changed"
    # {"attachment_id"}: an image was stored and waits for its personal-data check (OCR).
    image_stored = "image.stored"


class HxEvents:
    """The events an HTMX answer names in its `HX-Trigger` header (see `hx_trigger`)."""

    # {count key: number}: static/js/app.js writes each number into every element of the
    # page marked data-count="key" (keys from `Counts`), so a number shown in two places (a
    # card and a heading) changes in both, and a page without it is not an error.
    counts = "counts-changed"

    @staticmethod
    def likes_changed(post_id: int) -> str:
        """Who likes the post changed: the post page's liked-by list fetches itself again."""
        return f"likes-changed-{post_id}"


class Counts:
    """The keys of the numbers a page may show in more than one place (data-count=...)."""

    open_flags = "open-flags"  # the moderation queue's open reports

    @staticmethod
    def comments(post_id: int) -> str:
        return f"comments-{post_id}"


def hx_trigger(*events: str, counts: dict[str, int] | None = None) -> dict[str, str]:
    """The `HX-Trigger` header for `events` (no detail) and the new `counts`."""
    payload: dict[str, Any] = dict.fromkeys(events)
    if counts:
        payload[HxEvents.counts] = counts
    return {"HX-Trigger": json.dumps(payload)}


# NOTIFY payloads are limited to 8,000 bytes: a longer list of users becomes "everyone".
MAX_USER_IDS = 500


async def publish(name: str, data: dict[str, Any]) -> None:
    """Publish on the broker; a lost live event is logged, never an error for the caller."""
    try:
        broker = await get_broker()
        await broker.publish(name, data)
    except Exception as exc:
        log.warning("live event not published", event=name, error=type(exc).__name__)


async def post_created(post_id: int, kind: str, unit_id: int, author_id: int) -> None:
    await publish(
        Topics.post_created,
        {"post_id": post_id, "kind": kind, "unit_id": unit_id, "author_id": author_id},
    )


async def post_liked(post_id: int, like_count: int) -> None:
    await publish(Topics.post_liked, {"post_id": post_id, "like_count": like_count})


async def notifications_changed(user_ids: list[int] | None) -> None:
    """`None` means "maybe everyone" (a bulletin for the whole company)."""
    if user_ids is not None and not user_ids:
        return
    if user_ids is None or len(user_ids) > MAX_USER_IDS:
        await publish(Topics.notifications_changed, {"all": True})
    else:
        await publish(Topics.notifications_changed, {"user_ids": sorted(set(user_ids))})


async def post_reacted(post_id: int, kind: str, count: int) -> None:
    await publish(Topics.post_reacted, {"post_id": post_id, "kind": kind, "count": count})


async def image_stored(attachment_id: int) -> None:
    await publish(Topics.image_stored, {"attachment_id": attachment_id})
