"""Reactions (スタンプ): a fixed set beside the like — idempotent per (post, kind, user), each
kind counted on the post row and always equal to its rows, under concurrency.

Same shape as likes (app.services.likes): the (post, kind, user) primary key makes a second
reaction impossible; the kind's counter moves only when a row was really inserted or
deleted, by an atomic `<kind>_count = <kind>_count ± 1` in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import events
from app.db import upsert
from app.models import Post, ReactionKind, User, reaction_count_column
from app.models.base import utcnow
from app.models.tables import posts, reactions, units, users
from app.services import notifications

KINDS: tuple[ReactionKind, ...] = tuple(ReactionKind)


async def set_reaction(
    db: AsyncSession, user: User, post: Post, kind: ReactionKind, on: bool
) -> tuple[bool, int]:
    """React (or take it back) once; repeating it changes nothing. Returns (reacted, count)."""
    assert post.id is not None and user.id is not None
    kind = ReactionKind(kind)
    counter = posts.c[reaction_count_column(kind)]
    now = utcnow()
    removed = None
    if on:
        stmt = upsert(db, reactions).values(
            post_id=post.id, kind=kind.value, user_id=user.id, created_at=now
        )
        changed = (await db.execute(stmt.on_conflict_do_nothing())).rowcount == 1  # type: ignore[attr-defined]
    else:
        removed = (
            await db.execute(
                sa.delete(reactions)
                .where(
                    reactions.c.post_id == post.id,
                    reactions.c.kind == kind.value,
                    reactions.c.user_id == user.id,
                )
                .returning(reactions.c.created_at)
            )
        ).scalar_one_or_none()
        changed = removed is not None
    recipients: list[int] = []
    if changed:
        result = await db.execute(
            sa.update(posts)
            .where(posts.c.id == post.id)
            .values({counter: counter + (1 if on else -1)})
            .returning(counter)
        )
        count = int(result.scalar_one())
        # The author's grouped notification moves in the same transaction as the reaction.
        if removed is None:
            recipients = await notifications.on_reaction(db, post, user, now)
        else:
            recipients = await notifications.on_unreaction(db, post, user, removed)
    else:
        count = int(
            (await db.execute(sa.select(counter).where(posts.c.id == post.id))).scalar_one()
        )
    await db.commit()
    if changed:
        await events.post_reacted(post.id, kind.value, count)
        await events.notifications_changed(recipients)
    return on, count


@dataclass(slots=True, frozen=True)
class Reactor:
    code: str
    name: str
    unit: str


_REACTORS = (
    sa.select(reactions.c.kind, users.c.code, users.c.name, units.c.name)
    .select_from(
        reactions.join(users, users.c.id == reactions.c.user_id).join(
            units, units.c.id == users.c.unit_id
        )
    )
    .where(reactions.c.post_id == sa.bindparam("post_id", type_=sa.Integer))
    .order_by(reactions.c.created_at.desc(), reactions.c.user_id.desc())
)


async def reactors(db: AsyncSession, post_id: int, limit: int = 100) -> dict[str, list[Reactor]]:
    """Who reacted to a post, per kind (every kind present), most recent first, at most
    `limit` people per kind."""
    out: dict[str, list[Reactor]] = {k.value: [] for k in KINDS}
    for kind, code, name, unit in await db.execute(_REACTORS, {"post_id": post_id}):
        people = out.get(kind)
        if people is not None and len(people) < limit:
            people.append(Reactor(code, name, unit))
    return out
