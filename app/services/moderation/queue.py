"""Reading for the moderation page: the open flags grouped by target, and recent posts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.models import User
from app.models.tables import comments, posts, units, users
from app.models.tables import flags as flags_t
from app.services import scope
from app.services.cursor import decode_cursor, encode_cursor
from app.services.moderation.rules import HIDDEN, PUBLISHED, parse_target

EXCERPT_CHARS = 200


@dataclass(slots=True)
class FlagView:
    id: int
    reason: str
    note: str | None
    created_at: datetime
    reporter_code: str | None  # None: opened by the system (services/flags.open_system_flag)
    reporter_name: str | None

    @property
    def by_system(self) -> bool:
        return self.reporter_code is None


@dataclass(slots=True)
class TargetPost:
    id: int
    kind: str
    title: str
    body: str
    status: str
    featured: bool
    feature_note: str | None
    hidden_reason: str | None
    created_at: datetime
    like_count: int
    comment_count: int
    author_code: str
    author_name: str
    unit_code: str
    unit_name: str

    @property
    def excerpt(self) -> str:
        return _excerpt(self.body)


@dataclass(slots=True)
class TargetComment:
    id: int
    post_id: int
    body: str
    status: str
    hidden_reason: str | None
    created_at: datetime
    author_code: str
    author_name: str

    @property
    def excerpt(self) -> str:
        return _excerpt(self.body)


@dataclass(slots=True)
class FlagGroup:
    """The open flags on one target, with what is needed to judge it."""

    target: str
    target_type: str
    target_id: int
    oldest: datetime
    first_id: int
    post: TargetPost
    comment: TargetComment | None = None
    flags: list[FlagView] = field(default_factory=list)
    # Set after an action in place ("hidden", "dismissed", ...): the group is shown as done.
    resolved: str | None = None

    @property
    def count(self) -> int:
        return len(self.flags)

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """Each reason with its count, most reported first."""
        return Counter(f.reason for f in self.flags).most_common()

    @property
    def notes(self) -> list[FlagView]:
        return [f for f in self.flags if f.note]

    @property
    def dom_id(self) -> str:
        return f"flag-group-{self.target_type}-{self.target_id}"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


_POST_COLUMNS = (
    posts.c.id,
    posts.c.kind,
    posts.c.title,
    posts.c.body,
    posts.c.status,
    posts.c.featured,
    posts.c.feature_note,
    posts.c.hidden_reason,
    posts.c.created_at,
    posts.c.like_count,
    posts.c.comment_count,
    users.c.code,
    users.c.name,
    units.c.code,
    units.c.name,
)
_POST_FROM = posts.join(users, users.c.id == posts.c.author_id).join(
    units, units.c.id == posts.c.unit_id
)


async def _posts_by_id(db: AsyncSession, ids: set[int]) -> dict[int, TargetPost]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(*_POST_COLUMNS).select_from(_POST_FROM).where(posts.c.id.in_(ids))
    )
    return {r[0]: TargetPost(*r) for r in rows}


async def _comments_by_id(db: AsyncSession, ids: set[int]) -> dict[int, TargetComment]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(
            comments.c.id,
            comments.c.post_id,
            comments.c.body,
            comments.c.status,
            comments.c.hidden_reason,
            comments.c.created_at,
            users.c.code,
            users.c.name,
        )
        .join(users, users.c.id == comments.c.author_id)
        .where(comments.c.id.in_(ids))
    )
    return {r[0]: TargetComment(*r) for r in rows}


async def _groups_for(db: AsyncSession, heads: list[tuple[str, datetime, int]]) -> list[FlagGroup]:
    """Build groups (in the given order) for (target, oldest, first_id) heads."""
    if not heads:
        return []
    targets = [h[0] for h in heads]
    flag_rows = await db.execute(
        sa.select(
            flags_t.c.target,
            flags_t.c.id,
            flags_t.c.reason,
            flags_t.c.note,
            flags_t.c.created_at,
            users.c.code,
            users.c.name,
            flags_t.c.post_id,
            flags_t.c.comment_id,
        )
        .outerjoin(users, users.c.id == flags_t.c.reporter_id)
        .where(flags_t.c.target.in_(targets), flags_t.c.resolved_at.is_(None))
        .order_by(flags_t.c.created_at, flags_t.c.id)
    )
    by_target: dict[str, list[FlagView]] = {t: [] for t in targets}
    post_of: dict[str, int] = {}
    for target, fid, reason, note, created_at, code, name, post_id, _comment_id in flag_rows:
        by_target[target].append(FlagView(fid, reason, note, created_at, code, name))
        post_of[target] = post_id
    comment_ids = {p[1] for t in targets if (p := parse_target(t)) and p[0] == "comment"}
    found_comments = await _comments_by_id(db, comment_ids)
    for t in targets:
        parsed = parse_target(t)
        if parsed and parsed[0] == "comment" and parsed[1] in found_comments:
            post_of[t] = found_comments[parsed[1]].post_id
        elif parsed and parsed[0] == "post":
            post_of[t] = parsed[1]
    found_posts = await _posts_by_id(db, set(post_of.values()))
    groups = []
    for target, oldest, first_id in heads:
        parsed = parse_target(target)
        post = found_posts.get(post_of.get(target, -1))
        if parsed is None or post is None:
            continue
        groups.append(
            FlagGroup(
                target=target,
                target_type=parsed[0],
                target_id=parsed[1],
                oldest=oldest,
                first_id=first_id,
                post=post,
                comment=found_comments.get(parsed[1]) if parsed[0] == "comment" else None,
                flags=by_target[target],
            )
        )
    return groups


def _in_scope(viewer: User) -> sa.ColumnElement[bool]:
    """A clause on flags: on a post of the viewer's scope (every flag names its post)."""
    if not scope.is_scoped(viewer):
        return sa.true()
    return sa.exists().where(
        posts.c.id == flags_t.c.post_id, scope.overseen(viewer, posts.c.unit_id)
    )


async def open_flags(
    db: AsyncSession,
    viewer: User,
    reason: str | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[FlagGroup], str | None]:
    """Open flags grouped by target, the group with the oldest flag first (keyset paginated);
    only those on posts of the viewer's scope.

    With `reason`, only the targets that have an open flag for that reason; each group still
    shows all its open flags.
    """
    oldest = sa.func.min(flags_t.c.created_at)
    first_id = sa.func.min(flags_t.c.id)
    stmt = (
        sa.select(flags_t.c.target, oldest.label("oldest"), first_id.label("first_id"))
        .where(flags_t.c.resolved_at.is_(None), _in_scope(viewer))
        .group_by(flags_t.c.target)
    )
    if reason:
        stmt = stmt.having(sa.func.sum(sa.case((flags_t.c.reason == reason, 1), else_=0)) > 0)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.having(sa.or_(oldest > at, sa.and_(oldest == at, first_id > last_id)))
    stmt = stmt.order_by(oldest, first_id).limit(limit + 1)
    heads = [(r[0], r[1], r[2]) for r in await db.execute(stmt)]
    groups = await _groups_for(db, heads[:limit])
    next_cursor = None
    if len(heads) > limit:
        last = heads[limit - 1]
        next_cursor = encode_cursor(last[1], last[2])
    return groups, next_cursor


async def flag_group(db: AsyncSession, target: str) -> FlagGroup | None:
    """One target's group (its open flags, possibly none), for re-rendering after an action."""
    parsed = parse_target(target)
    if parsed is None:
        return None
    head = (
        await db.execute(
            sa.select(sa.func.min(flags_t.c.created_at), sa.func.min(flags_t.c.id)).where(
                flags_t.c.target == target, flags_t.c.resolved_at.is_(None)
            )
        )
    ).one()
    groups = await _groups_for(db, [(target, head[0] or clock.now(), head[1] or 0)])
    return groups[0] if groups else None


async def open_flag_count(db: AsyncSession, viewer: User) -> int:
    stmt = sa.select(sa.func.count(sa.distinct(flags_t.c.target))).where(
        flags_t.c.resolved_at.is_(None), _in_scope(viewer)
    )
    return int((await db.execute(stmt)).scalar_one())


async def recent_posts(
    db: AsyncSession, viewer: User, *, cursor: str | None = None, limit: int = 30
) -> tuple[list[TargetPost], str | None]:
    """Published and hidden posts of the viewer's scope, newest first, for the moderation
    page."""
    stmt = (
        sa.select(*_POST_COLUMNS)
        .select_from(_POST_FROM)
        .where(posts.c.status.in_((PUBLISHED, HIDDEN)), scope.overseen(viewer, posts.c.unit_id))
    )
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            posts.c.created_at <= at, (posts.c.created_at < at) | (posts.c.id < last_id)
        )
    stmt = stmt.order_by(posts.c.created_at.desc(), posts.c.id.desc()).limit(limit + 1)
    rows = [TargetPost(*r) for r in await db.execute(stmt)]
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return rows[:limit], next_cursor


async def post_row(db: AsyncSession, post_id: int) -> TargetPost | None:
    return (await _posts_by_id(db, {post_id})).get(post_id)
