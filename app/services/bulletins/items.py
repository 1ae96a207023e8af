"""A draft's items: add, remove, move, comment, reorder or replace them, and the
editor's post search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import (
    Bulletin,
    BulletinItem,
    Post,
    PostStatus,
    User,
)
from app.models.tables import (
    bulletin_items,
    rollout_responses,
)
from app.services import audit
from app.services import feed as feed_service
from app.services.bulletins.rules import (
    ITEMS_MAX,
    checked_comment,
    ensure_editable,
    item_of,
    one_change,
    touch,
)
from app.services.errors import Conflict, InvalidInput
from app.services.feed import FeedFilters, PostCard

# Items --------------------------------------------------------------------------------------


async def items_of(db: AsyncSession, bulletin_id: int) -> list[BulletinItem]:
    return list(
        (
            await db.exec(
                select(BulletinItem)
                .where(col(BulletinItem.bulletin_id) == bulletin_id)
                .order_by(col(BulletinItem.position), col(BulletinItem.id))
                .execution_options(populate_existing=True)
            )
        ).all()
    )


def _renumber(items: list[BulletinItem]) -> None:
    for position, item in enumerate(items):
        item.position = position


async def _addable_post(db: AsyncSession, post_id: Any) -> Post:
    if not isinstance(post_id, int) or isinstance(post_id, bool):
        raise InvalidInput.field("post_id", _("Enter a valid value."))
    post = (
        await db.exec(
            select(Post).where(col(Post.id) == post_id).execution_options(populate_existing=True)
        )
    ).first()
    if post is None or post.status != PostStatus.published:
        raise InvalidInput.field("post_id", _("Only published posts can be added."))
    return post


def _duplicate() -> Conflict:
    return Conflict(_("This post is already in the bulletin."))


async def add_item(
    db: AsyncSession, actor: User, bulletin: Bulletin, post_id: Any, comment: Any = ""
) -> BulletinItem:
    """Append a published post (at the end); the same post twice is a 409."""
    ensure_editable(bulletin)
    assert bulletin.id is not None
    post = await _addable_post(db, post_id)
    text = checked_comment(comment)
    items = await items_of(db, bulletin.id)
    if any(i.post_id == post.id for i in items):
        raise _duplicate()
    if len(items) >= ITEMS_MAX:
        raise InvalidInput.field(
            "post_id", _("A bulletin can hold at most %(n)s posts.") % {"n": ITEMS_MAX}
        )
    assert post.id is not None
    item = BulletinItem(bulletin_id=bulletin.id, post_id=post.id, position=len(items), comment=text)
    try:
        async with one_change(db):
            db.add(item)
            await db.flush()
            touch(db, bulletin)
            audit.record(
                db,
                actor,
                "bulletin.item_add",
                "bulletin",
                bulletin.id,
                after={"item_id": item.id, "post_id": post.id},
            )
    except IntegrityError as exc:  # added by someone else in the meantime
        raise _duplicate() from exc
    return item


async def remove_item(db: AsyncSession, actor: User, bulletin: Bulletin, item_id: int) -> None:
    ensure_editable(bulletin)
    assert bulletin.id is not None
    item = await item_of(db, bulletin, item_id)
    post_id = item.post_id
    async with one_change(db):
        await _delete_items(db, [item_id])
        _renumber([i for i in await items_of(db, bulletin.id) if i.id != item_id])
        touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.item_remove",
            "bulletin",
            bulletin.id,
            before={"item_id": item_id, "post_id": post_id},
        )


async def _delete_items(db: AsyncSession, item_ids: list[int]) -> None:
    if not item_ids:
        return
    await db.execute(sa.delete(rollout_responses).where(rollout_responses.c.item_id.in_(item_ids)))
    await db.execute(sa.delete(bulletin_items).where(bulletin_items.c.id.in_(item_ids)))
    for item_id in item_ids:  # forget the deleted rows the session may still hold
        stale = await db.get(BulletinItem, item_id)
        if stale is not None:
            db.expunge(stale)


async def move_item(
    db: AsyncSession, actor: User, bulletin: Bulletin, item_id: int, direction: str
) -> None:
    """Swap an item with its neighbour ("up" or "down"); at either end nothing changes."""
    ensure_editable(bulletin)
    assert bulletin.id is not None
    if direction not in ("up", "down"):
        raise InvalidInput.field("direction", _("Choose one of the options."))
    await item_of(db, bulletin, item_id)
    items = await items_of(db, bulletin.id)
    index = next(i for i, it in enumerate(items) if it.id == item_id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    async with one_change(db):
        _renumber(items)
        touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.item_move",
            "bulletin",
            bulletin.id,
            after={"item_id": item_id, "direction": direction},
        )


async def set_order(db: AsyncSession, actor: User, bulletin: Bulletin, item_ids: list[int]) -> None:
    """Put the items in this order; the list must name every item exactly once."""
    ensure_editable(bulletin)
    assert bulletin.id is not None
    items = await items_of(db, bulletin.id)
    if sorted(item_ids) != sorted(i.id for i in items if i.id is not None):
        raise InvalidInput.field("order", _("Name every item of the bulletin exactly once."))
    by_id = {i.id: i for i in items}
    before = [i.id for i in items]
    async with one_change(db):
        _renumber([by_id[i] for i in item_ids])
        touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.item_order",
            "bulletin",
            bulletin.id,
            before={"order": before},
            after={"order": item_ids},
        )


async def set_item_comment(
    db: AsyncSession, actor: User, bulletin: Bulletin, item_id: int, comment: Any
) -> BulletinItem:
    ensure_editable(bulletin)
    assert bulletin.id is not None
    item = await item_of(db, bulletin, item_id)
    text = checked_comment(comment)
    if text != item.comment:
        async with one_change(db):
            audit.record(
                db,
                actor,
                "bulletin.item_comment",
                "bulletin",
                bulletin.id,
                before={"item_id": item_id, "comment": item.comment},
                after={"item_id": item_id, "comment": text},
            )
            item.comment = text
            db.add(item)
            touch(db, bulletin)
    return item


async def replace_items(db: AsyncSession, actor: User, bulletin: Bulletin, wanted: Any) -> None:
    """The whole item list, in order: kept posts keep their item (and 横展開 answers)."""
    assert bulletin.id is not None
    if not isinstance(wanted, list):
        raise InvalidInput.field("items", _("This value has the wrong type."))
    if len(wanted) > ITEMS_MAX:
        raise InvalidInput.field(
            "items", _("A bulletin can hold at most %(n)s posts.") % {"n": ITEMS_MAX}
        )
    entries: list[tuple[int, str]] = []
    for entry in wanted:
        data = entry if isinstance(entry, dict) else {}
        post_id = data.get("post_id")
        if not isinstance(post_id, int) or isinstance(post_id, bool):
            raise InvalidInput.field("items", _("Enter a valid value."))
        entries.append((post_id, checked_comment(data.get("comment"))))
    ids = [p for p, _c in entries]
    if len(set(ids)) != len(ids):
        raise _duplicate()
    current = await items_of(db, bulletin.id)
    before = [(i.post_id, i.comment) for i in current]
    by_post = {i.post_id: i for i in current}
    for post_id in ids:
        if post_id not in by_post:
            await _addable_post(db, post_id)
    await _delete_items(db, [i.id for i in current if i.post_id not in ids and i.id is not None])
    for position, (post_id, comment) in enumerate(entries):
        item = by_post.get(post_id)
        if item is None:
            item = BulletinItem(bulletin_id=bulletin.id, post_id=post_id)
        item.position, item.comment = position, comment
        db.add(item)
    await db.flush()
    if before != entries:
        touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.items",
            "bulletin",
            bulletin.id,
            before={"items": [p for p, _c in before]},
            after={"items": ids},
        )


# The editor's post search ----------------------------------------------------------------------


@dataclass(slots=True)
class SearchHit:
    card: PostCard
    added: bool


async def search_posts(
    db: AsyncSession, viewer: User, bulletin: Bulletin, q: str | None, limit: int = 10
) -> list[SearchHit]:
    """Published posts matching `q` (recent good practice when `q` is blank): never a hidden
    or deleted post; the ones already in the bulletin are marked."""
    text = (q or "").strip()
    filters = FeedFilters(q=text) if text else FeedFilters(featured=True)
    cards, _next = await feed_service.list_posts(db, viewer, filters, limit=limit)
    assert bulletin.id is not None
    added = {i.post_id for i in await items_of(db, bulletin.id)}
    return [SearchHit(c, c.id in added) for c in cards]
