"""The notification list (unread first), one notification, marking read, and the unread count
behind the bell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, events
from app.i18n import _, format_day, quoted, unquoted
from app.models import (
    NotificationKind,
    PostStatus,
    User,
)
from app.models.tables import (
    bulletins,
    notifications,
    posts,
    users,
)
from app.permissions import is_curator
from app.services import scope
from app.services.cursor import decode_cursor, encode_cursor
from app.services.errors import NotFound

Kind = NotificationKind
BELL_CAP = 100  # the bell shows "99+" from here on
BULLETIN_KINDS = (Kind.bulletin, Kind.bulletin_reminder)  # they lead to the bulletin


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
    bulletin_confirm_by: date | None = None  # the bulletin's confirmation deadline

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
        title = unquoted(title or "")  # the messages put it in quotation marks themselves
        if self.kind == Kind.like:
            if self.actor_count > 1:
                return _("%(name)s and %(n)s others liked your post “%(title)s”.") % {
                    "name": name,
                    "n": self.actor_count - 1,
                    "title": title,
                }
            return _("%(name)s liked your post “%(title)s”.") % {"name": name, "title": title}
        if self.kind == Kind.reaction:
            if self.actor_count > 1:
                return _("%(n)s reactions to your post “%(title)s”, the latest from %(name)s.") % {
                    "name": name,
                    "n": self.actor_count,
                    "title": title,
                }
            return _("%(name)s reacted to your post “%(title)s”.") % {"name": name, "title": title}
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
        if self.kind == Kind.bulletin_reminder:
            if self.bulletin_confirm_by is not None:
                return _("Reminder: please read the bulletin %(bulletin)s by %(date)s.") % {
                    "bulletin": self.bulletin_label,
                    "date": format_day(self.bulletin_confirm_by),
                }
            return _("Reminder: please read the bulletin %(bulletin)s.") % {
                "bulletin": self.bulletin_label
            }
        return _("New bulletin: %(bulletin)s") % {"bulletin": self.bulletin_label}

    @property
    def bulletin_label(self) -> str:
        return bulletin_label(self.bulletin_title or "", self.bulletin_volume)

    @property
    def target(self) -> tuple[str, dict[str, int]] | None:
        """The route name and parameters a click leads to (None: nothing left to show)."""
        if self.kind in BULLETIN_KINDS and self.bulletin_id is not None:
            return "show_bulletin", {"bulletin_id": self.bulletin_id}
        if self.post_id is not None and self.post_title is not None:
            return "show_post", {"post_id": self.post_id}
        return None


def bulletin_label(title: str, volume: int | None) -> str:
    """A bulletin in a notification line: 第3号「…」 / Vol. 3 “…”."""
    if volume:
        return _("Vol. %(n)s %(title)s") % {"n": volume, "title": quoted(title)}
    return quoted(title)


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
    bulletins.c.confirm_by,
)
_LIST_FROM = (
    notifications.outerjoin(_actor, _actor.c.id == notifications.c.actor_id)
    .outerjoin(posts, posts.c.id == notifications.c.post_id)
    .outerjoin(bulletins, bulletins.c.id == notifications.c.bulletin_id)
)
_is_read = sa.case((notifications.c.read_at.is_(None), 0), else_=1)


def _visible_title(
    user: User, title: str | None, status: str | None, author: int | None, overseen: bool
) -> Any:
    """A hidden post's title to its author and the curators overseeing it (the post page's
    rule: permissions.ensure_visible_in_scope)."""
    if title is None or status == PostStatus.published:
        return title
    if status == PostStatus.hidden and (author == user.id or (is_curator(user) and overseen)):
        return title
    return None


async def _views(db: AsyncSession, user: User, rows: Sequence[Any]) -> list[NotificationView]:
    hidden = {r[5] for r in rows if r[7] == PostStatus.hidden and r[8] != user.id}
    overseen = await scope.overseen_posts(db, user, hidden) if is_curator(user) else set()
    return [_view(user, r, r[5] in overseen) for r in rows]


def _view(user: User, r: Any, overseen: bool) -> NotificationView:
    return NotificationView(
        id=r[0],
        kind=r[1],
        actor_code=r[2],
        actor_name=r[3],
        actor_count=r[4],
        post_id=r[5],
        post_title=_visible_title(user, r[6], r[7], r[8], overseen),
        bulletin_id=r[9],
        bulletin_title=r[10],
        bulletin_volume=r[11],
        created_at=r[12],
        updated_at=r[13],
        read_at=r[14],
        bulletin_confirm_by=r[15],
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
    views = await _views(db, user, rows[:limit])
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
    return (await _views(db, user, [row]))[0]


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
