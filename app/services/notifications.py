"""Notifications: who hears of what (never of their own doing), likes grouped per post, the
list (unread first), marking read, and the unread count behind the bell.

Rules (SPEC §2):
- like: the post's author; one unread notification per post, updated with the latest liker
  and the number of people who liked since the author last read it ("山田さん他3名が…");
  an unlike takes that person out of the group again (and removes an emptied group).
- comment: the post's author. mention: each active colleague @mentioned in the comment,
  except the post's author (who already hears of the comment).
- featured / hidden: the post's author. bulletin_item: the author of each post in a bulletin
  when it is published. bulletin: every active user in the bulletin's audience, except the
  authors told of their own post in it.
- nobody is notified of their own action.

Writers that run inside someone else's transaction (`on_like`, `on_comment`, ...) only add
rows and return who must hear of it; the caller commits and then calls
`events.notifications_changed(recipients)` so the bells update live. The `notify_*`
functions are whole units of work for hooks called after another service committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, events
from app.db import upsert
from app.i18n import _
from app.logging import get_logger
from app.models import (
    BulletinStatus,
    Comment,
    NotificationKind,
    Post,
    PostStatus,
    User,
)
from app.models.notify import UNREAD_LIKE_GROUP
from app.models.tables import (
    bulletin_items,
    bulletins,
    likes,
    notifications,
    posts,
    users,
)
from app.permissions import is_curator
from app.services import org
from app.services.cursor import decode_cursor, encode_cursor
from app.services.errors import NotFound
from app.services.mentions import mentioned_users

Kind = NotificationKind
log = get_logger("arigato.notifications")
BELL_CAP = 100  # the bell shows "99+" from here on


# Writing -------------------------------------------------------------------------------------


async def on_like(db: AsyncSession, post: Post, liker: User, liked_at: datetime) -> list[int]:
    """Inside the like's transaction: count the liker into the author's unread group."""
    if post.author_id == liker.id:
        return []
    stmt = upsert(db, notifications).values(
        user_id=post.author_id,
        kind=Kind.like,
        actor_id=liker.id,
        actor_count=1,
        post_id=post.id,
        created_at=liked_at,
        updated_at=liked_at,
    )
    # The group starts at its earliest like: an unlike can then tell whether the like it
    # removes was counted here (a like from before the author last read is not).
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "post_id", "kind"],
        index_where=sa.text(UNREAD_LIKE_GROUP),
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
    return [post.author_id]


async def on_unlike(db: AsyncSession, post: Post, liker: User, liked_at: datetime) -> list[int]:
    """Inside the unlike's transaction: take the liker out of the unread group, if counted."""
    if post.author_id == liker.id:
        return []
    row = (
        await db.execute(
            sa.select(notifications.c.id, notifications.c.created_at).where(
                notifications.c.user_id == post.author_id,
                notifications.c.post_id == post.id,
                notifications.c.kind == Kind.like,
                notifications.c.read_at.is_(None),
            )
        )
    ).first()
    if row is None or liked_at < row.created_at:
        return []
    latest_liker = (
        sa.select(likes.c.user_id)
        .where(
            likes.c.post_id == post.id,
            likes.c.user_id != post.author_id,
            likes.c.created_at >= notifications.c.created_at,
        )
        .order_by(likes.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    shrunk = await db.execute(
        sa.update(notifications)
        .where(notifications.c.id == row.id, notifications.c.actor_count > 1)
        .values(
            actor_count=notifications.c.actor_count - 1,
            actor_id=sa.func.coalesce(latest_liker, notifications.c.actor_id),
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
    await db.execute(sa.insert(notifications).values(**row))
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
    # Audiences are large: every instance recounts the bells of the users it has connected.
    return None


# Reading -------------------------------------------------------------------------------------


def unread_count_of(user_id: Any) -> sa.ScalarSelect[int]:
    """Unread notifications of a user (a value, or a column to correlate with)."""
    return (
        sa.select(sa.func.count())
        .select_from(notifications)
        .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
        .scalar_subquery()
    )


async def unread_count(db: AsyncSession, user_id: int) -> int:
    return int((await db.execute(sa.select(unread_count_of(user_id)))).scalar_one())


async def unread_counts(db: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    """Unread counts of many users in one query (users without any are left out)."""
    if not user_ids:
        return {}
    rows = await db.execute(
        sa.select(notifications.c.user_id, sa.func.count())
        .where(notifications.c.user_id.in_(user_ids), notifications.c.read_at.is_(None))
        .group_by(notifications.c.user_id)
    )
    return {user_id: int(n) for user_id, n in rows}


def bell_text(count: int) -> str:
    """What the bell shows: nothing at 0, "99+" at the cap."""
    if count <= 0:
        return ""
    return "99+" if count >= BELL_CAP else str(count)


@dataclass(slots=True)
class NotificationView:
    id: int
    kind: str
    actor_code: str | None
    actor_name: str | None
    actor_count: int
    post_id: int | None
    post_title: str | None  # None when the post is no longer visible to the recipient
    bulletin_id: int | None
    bulletin_title: str | None
    bulletin_volume: int | None
    created_at: datetime
    updated_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @property
    def message(self) -> str:
        """One line in the reader's language: names and titles only, never post text."""
        name = self.actor_name or _("Someone")
        title = self.post_title
        if self.post_id is not None and title is None:
            return _("A post that is no longer available.")
        title = title or ""
        if self.kind == Kind.like:
            if self.actor_count > 1:
                return _("%(name)s and %(n)s others liked your post “%(title)s”.") % {
                    "name": name,
                    "n": self.actor_count - 1,
                    "title": title,
                }
            return _("%(name)s liked your post “%(title)s”.") % {"name": name, "title": title}
        if self.kind == Kind.comment:
            return _("%(name)s commented on your post “%(title)s”.") % {
                "name": name,
                "title": title,
            }
        if self.kind == Kind.mention:
            return _("%(name)s mentioned you in a comment on “%(title)s”.") % {
                "name": name,
                "title": title,
            }
        if self.kind == Kind.featured:
            return _("Your post “%(title)s” was chosen as good practice.") % {"title": title}
        if self.kind == Kind.hidden:
            return _("Your post “%(title)s” was hidden by head office.") % {"title": title}
        if self.kind == Kind.bulletin_item:
            return _("Your post “%(title)s” was put in the bulletin %(bulletin)s.") % {
                "title": title,
                "bulletin": self.bulletin_label,
            }
        return _("New bulletin: %(bulletin)s") % {"bulletin": self.bulletin_label}

    @property
    def bulletin_label(self) -> str:
        title = f"“{self.bulletin_title or ''}”"
        if self.bulletin_volume:
            return _("Vol. %(n)s") % {"n": self.bulletin_volume} + " " + title
        return title

    @property
    def target(self) -> tuple[str, dict[str, int]] | None:
        """The route name and parameters a click leads to (None: nothing left to show)."""
        if self.kind == Kind.bulletin and self.bulletin_id is not None:
            return "show_bulletin", {"bulletin_id": self.bulletin_id}
        if self.post_id is not None and self.post_title is not None:
            return "show_post", {"post_id": self.post_id}
        return None


_actor = users.alias("actor")
_LIST_COLUMNS = (
    notifications.c.id,
    notifications.c.kind,
    _actor.c.code,
    _actor.c.name,
    notifications.c.actor_count,
    notifications.c.post_id,
    posts.c.title,
    posts.c.status,
    posts.c.author_id,
    notifications.c.bulletin_id,
    bulletins.c.title,
    bulletins.c.volume,
    notifications.c.created_at,
    notifications.c.updated_at,
    notifications.c.read_at,
)
_LIST_FROM = (
    notifications.outerjoin(_actor, _actor.c.id == notifications.c.actor_id)
    .outerjoin(posts, posts.c.id == notifications.c.post_id)
    .outerjoin(bulletins, bulletins.c.id == notifications.c.bulletin_id)
)
_is_read = sa.case((notifications.c.read_at.is_(None), 0), else_=1)


def _visible_title(user: User, title: str | None, status: str | None, author: int | None) -> Any:
    if title is None or status == PostStatus.published:
        return title
    if status == PostStatus.hidden and (author == user.id or is_curator(user)):
        return title
    return None


def _view(user: User, r: Any) -> NotificationView:
    return NotificationView(
        id=r[0],
        kind=r[1],
        actor_code=r[2],
        actor_name=r[3],
        actor_count=r[4],
        post_id=r[5],
        post_title=_visible_title(user, r[6], r[7], r[8]),
        bulletin_id=r[9],
        bulletin_title=r[10],
        bulletin_volume=r[11],
        created_at=r[12],
        updated_at=r[13],
        read_at=r[14],
    )


def encode_list_cursor(view: NotificationView) -> str:
    return ("r" if view.read_at else "u") + encode_cursor(view.updated_at, view.id)


def _decode_list_cursor(cursor: str) -> tuple[int, datetime, int]:
    if cursor[:1] not in ("u", "r"):
        decode_cursor("!")  # raises the 422 every bad cursor gets
    at, last_id = decode_cursor(cursor[1:])
    return (0 if cursor[0] == "u" else 1), at, last_id


async def list_for(
    db: AsyncSession, user: User, *, cursor: str | None = None, limit: int = 20
) -> tuple[list[NotificationView], str | None]:
    """Unread first, then read ones; newest first within each; keyset paginated."""
    stmt = (
        sa.select(*_LIST_COLUMNS)
        .select_from(_LIST_FROM)
        .where(notifications.c.user_id == user.id)
        .order_by(_is_read, notifications.c.updated_at.desc(), notifications.c.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        read, at, last_id = _decode_list_cursor(cursor)
        stmt = stmt.where(
            (_is_read > read)
            | (
                (_is_read == read)
                & (
                    (notifications.c.updated_at < at)
                    | ((notifications.c.updated_at == at) & (notifications.c.id < last_id))
                )
            )
        )
    rows = (await db.execute(stmt)).all()
    views = [_view(user, r) for r in rows[:limit]]
    next_cursor = encode_list_cursor(views[-1]) if len(rows) > limit and views else None
    return views, next_cursor


async def get_for(db: AsyncSession, user: User, notification_id: int) -> NotificationView:
    """One of the user's own notifications; anybody else's is a 404."""
    row = (
        await db.execute(
            sa.select(*_LIST_COLUMNS)
            .select_from(_LIST_FROM)
            .where(notifications.c.id == notification_id, notifications.c.user_id == user.id)
        )
    ).first()
    if row is None:
        raise NotFound(_("This notification does not exist."))
    return _view(user, row)


async def mark_read(db: AsyncSession, user: User, ids: list[int] | None) -> int:
    """Mark some (ids) or all (None) of the user's unread notifications read; how many."""
    stmt = sa.update(notifications).where(
        notifications.c.user_id == user.id, notifications.c.read_at.is_(None)
    )
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(notifications.c.id.in_(ids))
    result = await db.execute(stmt.values(read_at=clock.now()))
    await db.commit()
    changed = int(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        assert user.id is not None
        await events.notifications_changed([user.id])
    return changed
