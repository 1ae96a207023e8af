"""The live events the app publishes on the broker after a commit, and what each carries.

Publishers call `publish` after their transaction committed (so a browser never hears of
a row it cannot read yet); `app.live` turns them into Server-Sent Events for browsers.
"""

from __future__ import annotations

from typing import Any

from app.broker import get_broker
from app.logging import get_logger

log = get_logger("arigato.events")


class Topics:
    # {"post_id", "kind", "unit_id", "author_id"}: a post was published (new, or a draft).
    post_created = "post.created"
    # {"post_id", "like_count"}: the like count of a post changed.
    post_liked = "post.liked"
    # {"user_ids": [...]} or {"all": true}: these users' unread notification counts changed.
    notifications_changed = "notifications.changed"


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
