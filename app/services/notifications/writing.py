"""Who hears of what: the rows written for likes, reactions, comments, mentions, featured and
hidden posts, published bulletins and reminders to read one (the rules are in the package's
docstring)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, events
from app.db import upsert
from app.logging import get_logger
from app.models import (
    BulletinStatus,
    Comment,
    NotificationKind,
    Post,
    PostStatus,
    User,
)
from app.models.notify import UNREAD_LIKE_GROUP, UNREAD_REACTION_GROUP
from app.models.tables import (
    bulletin_items,
    bulletins,
    likes,
    notifications,
    posts,
    reactions,
    users,
)
from app.services import org
from app.services.mentions import mentioned_users
from app.services.push import outbox as push_outbox

Kind = NotificationKind
log = get_logger("arigato.notifications")


# Writing -------------------------------------------------------------------------------------


async def on_like(db: AsyncSession, post: Post, liker: User, liked_at: datetime) -> list[int]:
    """Inside the like's transaction: count the liker into the author's unread group."""
    return await _group_add(db, Kind.like, post, liker, liked_at)


async def on_unlike(db: AsyncSession, post: Post, liker: User, liked_at: datetime) -> list[int]:
    """Inside the unlike's transaction: take the liker out of the unread group, if counted."""
    return await _group_remove(db, Kind.like, post, liker, liked_at)


async def on_reaction(db: AsyncSession, post: Post, actor: User, reacted_at: datetime) -> list[int]:
    """Inside the reaction's transaction: count it into the author's unread reaction group
    (one group per post for every kind of reaction, like likes)."""
    return await _group_add(db, Kind.reaction, post, actor, reacted_at)


async def on_unreaction(
    db: AsyncSession, post: Post, actor: User, reacted_at: datetime
) -> list[int]:
    """Inside the transaction that took a reaction back: out of the unread group, if counted."""
    return await _group_remove(db, Kind.reaction, post, actor, reacted_at)


# The grouped kinds: the partial unique index each group's upsert meets in, and the rows
# whose latest actor the group names.
_GROUPS = {
    Kind.like: (UNREAD_LIKE_GROUP, likes),
    Kind.reaction: (UNREAD_REACTION_GROUP, reactions),
}


async def _group_add(
    db: AsyncSession, kind: Kind, post: Post, actor: User, at: datetime
) -> list[int]:
    if post.author_id == actor.id:
        return []
    stmt = upsert(db, notifications).values(
        user_id=post.author_id,
        kind=kind,
        actor_id=actor.id,
        actor_count=1,
        post_id=post.id,
        created_at=at,
        updated_at=at,
    )
    # The group starts at its earliest like: an unlike can then tell whether the like it
    # removes was counted here (a like from before the author last read is not).
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "post_id", "kind"],
        index_where=sa.text(_GROUPS[kind][0]),
        set_={
            "actor_id": stmt.excluded.actor_id,
            "actor_count": notifications.c.actor_count + 1,
            "updated_at": stmt.excluded.updated_at,
            "created_at": sa.case(
                (stmt.excluded.created_at < notifications.c.created_at, stmt.excluded.created_at),
                else_=notifications.c.created_at,
            ),
        },
    )
    await db.execute(stmt)
    await push_outbox.enqueue(
        db,
        (notifications.c.user_id == post.author_id)
        & (notifications.c.post_id == post.id)
        & (notifications.c.kind == kind),
    )
    return [post.author_id]


async def _group_remove(
    db: AsyncSession, kind: Kind, post: Post, actor: User, at: datetime
) -> list[int]:
    if post.author_id == actor.id:
        return []
    row = (
        await db.execute(
            sa.select(notifications.c.id, notifications.c.created_at).where(
                notifications.c.user_id == post.author_id,
                notifications.c.post_id == post.id,
                notifications.c.kind == kind,
                notifications.c.read_at.is_(None),
            )
        )
    ).first()
    if row is None or at < row.created_at:
        return []
    table = _GROUPS[kind][1]
    latest_actor = (
        sa.select(table.c.user_id)
        .where(
            table.c.post_id == post.id,
            table.c.user_id != post.author_id,
            table.c.created_at >= notifications.c.created_at,
        )
        .order_by(table.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    shrunk = await db.execute(
        sa.update(notifications)
        .where(notifications.c.id == row.id, notifications.c.actor_count > 1)
        .values(
            actor_count=notifications.c.actor_count - 1,
            actor_id=sa.func.coalesce(latest_actor, notifications.c.actor_id),
        )
    )
    if shrunk.rowcount == 0:  # type: ignore[attr-defined]
        await db.execute(
            sa.delete(notifications).where(
                notifications.c.id == row.id, notifications.c.actor_count <= 1
            )
        )
    return [post.author_id]


def _row(
    user_id: int,
    kind: Kind,
    actor_id: int | None,
    now: datetime,
    *,
    post_id: int | None = None,
    comment_id: int | None = None,
    bulletin_id: int | None = None,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "kind": kind.value,
        "actor_id": actor_id,
        "actor_count": 1,
        "post_id": post_id,
        "comment_id": comment_id,
        "bulletin_id": bulletin_id,
        "created_at": now,
        "updated_at": now,
        "read_at": None,
    }


async def on_comment(db: AsyncSession, post: Post, comment: Comment, author: User) -> list[int]:
    """Inside the comment's transaction: the post's author, then everyone @mentioned."""
    now = clock.now()
    rows = []
    if post.author_id != author.id:
        rows.append(_row(post.author_id, Kind.comment, author.id, now, post_id=post.id))
        rows[-1]["comment_id"] = comment.id
    for user_id, _code in await mentioned_users(db, comment.body):
        if user_id in (author.id, post.author_id):
            continue
        rows.append(
            _row(user_id, Kind.mention, author.id, now, post_id=post.id, comment_id=comment.id)
        )
    if rows:
        await db.execute(sa.insert(notifications), rows)
        await push_outbox.enqueue(db, notifications.c.comment_id == comment.id)
    return [r["user_id"] for r in rows]


async def _post_event(
    db: AsyncSession, post_id: int, actor: User | None, kind: Kind
) -> list[int] | None:
    """Tell the post's author (unless they did it themselves); who must hear of it."""
    author_id = (
        await db.execute(sa.select(posts.c.author_id).where(posts.c.id == post_id))
    ).scalar_one_or_none()
    if author_id is None or (actor is not None and actor.id == author_id):
        return []
    if kind is Kind.featured:
        # Featuring again only replaces the note: one unread "chosen" notice is enough.
        already = await db.execute(
            sa.select(notifications.c.id).where(
                notifications.c.user_id == author_id,
                notifications.c.post_id == post_id,
                notifications.c.kind == kind.value,
                notifications.c.read_at.is_(None),
            )
        )
        if already.first() is not None:
            return []
    row = _row(author_id, kind, actor.id if actor else None, clock.now(), post_id=post_id)
    new_id = (
        await db.execute(sa.insert(notifications).values(**row).returning(notifications.c.id))
    ).scalar_one()
    await push_outbox.enqueue(db, notifications.c.id == new_id)
    return [author_id]


async def _best_effort(
    db: AsyncSession, what: str, work: Callable[[], Awaitable[list[int] | None]]
) -> None:
    """Hooks run after the curator's action committed: their writes go in a SAVEPOINT, so a
    failure is logged and undone without an error for an action that already happened
    (and without expiring the caller's objects, as a full rollback would); then the
    recipients' bells are told (`None`: maybe everyone)."""
    await db.commit()  # the caller's work is done: start afresh (SQLite takes the lock anew)
    try:
        async with db.begin_nested():
            recipients = await work()
        await db.commit()
    except Exception:
        log.exception("notifications not written", hook=what)
        return
    await events.notifications_changed(recipients)


async def notify_post_featured(db: AsyncSession, post_id: int, actor: User | None) -> None:
    """Hook: call after a post was marked good practice (好取組) and committed."""
    await _best_effort(db, "featured", lambda: _post_event(db, post_id, actor, Kind.featured))


async def notify_post_hidden(db: AsyncSession, post_id: int, actor: User | None) -> None:
    """Hook: call after a post was hidden by a curator and committed."""
    await _best_effort(db, "hidden", lambda: _post_event(db, post_id, actor, Kind.hidden))


async def notify_bulletin_published(
    db: AsyncSession, bulletin_id: int, actor: User | None = None
) -> None:
    """Hook: call after a bulletin was published and committed (now or when due).

    The authors of its posts hear that their post was put in it; everyone else in its
    audience hears of the new bulletin. Calling it twice for one bulletin adds nothing.
    """
    await _best_effort(db, "bulletin", lambda: _bulletin_published(db, bulletin_id, actor))


async def notify_bulletins_published(
    db: AsyncSession, bulletin_ids: list[int], actor: User | None = None
) -> None:
    """Hook: `notify_bulletin_published` for each of several bulletins (scheduled ones)."""
    for bulletin_id in bulletin_ids:
        await notify_bulletin_published(db, bulletin_id, actor)


async def _bulletin_published(
    db: AsyncSession, bulletin_id: int, actor: User | None
) -> list[int] | None:
    found = (
        await db.execute(
            sa.select(
                bulletins.c.status, bulletins.c.audience_all, bulletins.c.created_by_id
            ).where(bulletins.c.id == bulletin_id)
        )
    ).first()
    if found is None or found.status != BulletinStatus.published:
        return []
    done = await db.execute(
        sa.select(notifications.c.id)
        .where(
            notifications.c.bulletin_id == bulletin_id,
            notifications.c.kind.in_((Kind.bulletin, Kind.bulletin_item)),
        )
        .limit(1)
    )
    if done.first() is not None:
        return []
    now = clock.now()
    actor_id = actor.id if actor else None
    curators = {found.created_by_id, actor_id} - {None}
    items = (
        await db.execute(
            sa.select(posts.c.id, posts.c.author_id)
            .join(bulletin_items, bulletin_items.c.post_id == posts.c.id)
            .where(
                bulletin_items.c.bulletin_id == bulletin_id,
                posts.c.status == PostStatus.published,
            )
        )
    ).all()
    told = {author for _post, author in items}
    item_rows = [
        _row(author, Kind.bulletin_item, actor_id, now, post_id=post, bulletin_id=bulletin_id)
        for post, author in items
        if author not in curators
    ]
    if item_rows:
        await db.execute(sa.insert(notifications), item_rows)
    audience = org.audience_users(bulletin_id, found.audience_all).where(
        users.c.id.not_in(told | curators or {0})
    )
    await db.execute(
        sa.insert(notifications).from_select(
            [
                "user_id",
                "kind",
                "actor_id",
                "actor_count",
                "bulletin_id",
                "created_at",
                "updated_at",
            ],
            sa.select(
                audience.subquery().c.id,
                sa.literal(Kind.bulletin.value),
                sa.literal(actor_id, sa.Integer),
                sa.literal(1),
                sa.literal(bulletin_id),
                sa.literal(now, notifications.c.created_at.type),
                sa.literal(now, notifications.c.updated_at.type),
            ),
        )
    )
    await push_outbox.enqueue(
        db,
        (notifications.c.bulletin_id == bulletin_id)
        & notifications.c.kind.in_((Kind.bulletin, Kind.bulletin_item)),
    )
    # Audiences are large: every instance recounts the bells of the users it has connected.
    return None


async def on_bulletin_reminder(
    db: AsyncSession, bulletin_id: int, unread: list[int], actor: User | None
) -> list[int]:
    """Inside the reminder's transaction: a `bulletin_reminder` to each of `unread` (the
    people in the audience who have not opened the bulletin: services/bulletins/followup.py),
    except the curator who sent it; a push follows the recipient's push settings (with new
    bulletins) and the digest lists it while unread. Who was reminded."""
    now = clock.now()
    actor_id = actor.id if actor else None
    recipients = sorted(set(unread) - {actor_id})
    if not recipients:
        return []
    rows = [
        _row(user_id, Kind.bulletin_reminder, actor_id, now, bulletin_id=bulletin_id)
        for user_id in recipients
    ]
    await db.execute(sa.insert(notifications), rows)
    await push_outbox.enqueue(
        db,
        (notifications.c.bulletin_id == bulletin_id)
        & (notifications.c.kind == Kind.bulletin_reminder)
        & (notifications.c.created_at == now),
    )
    return recipients
