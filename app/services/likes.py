"""Likes: idempotent like/unlike whose counter always equals the rows, under concurrency.

The (post, user) primary key makes a second like impossible; the counter moves only when a
row was really inserted or deleted, by an atomic `like_count = like_count ± 1` in the same
transaction, so parallel requests can neither lose nor double a like.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import events
from app.db import upsert
from app.models import Post, User
from app.models.base import utcnow
from app.models.tables import likes, posts
from app.services import notifications


async def _count(db: AsyncSession, post_id: int) -> int:
    return int(
        (await db.execute(sa.select(posts.c.like_count).where(posts.c.id == post_id))).scalar_one()
    )


async def set_like(db: AsyncSession, user: User, post: Post, liked: bool) -> tuple[bool, int]:
    """Like (or unlike) once; repeating it changes nothing. Returns (liked, like_count)."""
    assert post.id is not None and user.id is not None
    now = utcnow()
    if liked:
        stmt = upsert(db, likes).values(post_id=post.id, user_id=user.id, created_at=now)
        changed = (await db.execute(stmt.on_conflict_do_nothing())).rowcount == 1  # type: ignore[attr-defined]
        delta = 1
    else:
        stmt_d = (
            sa.delete(likes)
            .where(likes.c.post_id == post.id, likes.c.user_id == user.id)
            .returning(likes.c.created_at)
        )
        removed = (await db.execute(stmt_d)).scalar_one_or_none()
        changed = removed is not None
        delta = -1
    recipients: list[int] = []
    if changed:
        result = await db.execute(
            sa.update(posts)
            .where(posts.c.id == post.id)
            .values(like_count=posts.c.like_count + delta)
            .returning(posts.c.like_count)
        )
        count = int(result.scalar_one())
        # The author's grouped notification moves in the same transaction as the like.
        if liked:
            recipients = await notifications.on_like(db, post, user, now)
        elif removed is not None:
            recipients = await notifications.on_unlike(db, post, user, removed)
    else:
        count = await _count(db, post.id)
    await db.commit()
    if changed:
        await events.post_liked(post.id, count)
        await events.notifications_changed(recipients)
    return liked, count
