"""The events integrations are told of, written to the outbox in the caller's transaction:
`post.published`, `post.featured`, `bulletin.published`, and the retraction
`post.withdrawn` when a post that was sent is hidden, redacted or deleted.

What goes out: titles, the unit, the author, the kind and whether it is good practice (好取組)
— never a post's body, a comment or a hiding reason (the digest's rule). The link is added by
the drainer (it knows the pages' routes)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.models import Post
from app.models.tables import (
    bulletin_audience,
    bulletins,
    integration_deliveries,
    integrations,
    posts,
    units,
    users,
)
from app.services import org
from app.services.integrations import outbox


class Event:
    post_published = "post.published"
    post_featured = "post.featured"
    bulletin_published = "bulletin.published"
    post_withdrawn = "post.withdrawn"


# The events an admin chooses; the retraction always follows what was sent.
CHOOSABLE = (Event.post_published, Event.post_featured, Event.bulletin_published)
POST_EVENTS = (Event.post_published, Event.post_featured)


async def _active(db: AsyncSession, event: str) -> list[Any]:
    rows = await db.execute(
        sa.select(
            integrations.c.id,
            integrations.c.units,
            integrations.c.events,
            integrations.c.post_kinds,
        )
        .where(integrations.c.enabled.is_(True))
        .order_by(integrations.c.id)
    )
    return [r for r in rows if event in r.events.split("\t")]


async def _scope_ids(db: AsyncSession, codes: str) -> set[int] | None:
    """The unit ids an integration covers (None: the whole company)."""
    wanted = [c for c in codes.split("\t") if c]
    if not wanted:
        return None
    tops = sa.select(units.c.id).where(units.c.code.in_(wanted))
    return set((await db.execute(org.subtree(units.c.id.in_(tops)))).scalars())


async def post_payload(db: AsyncSession, post_id: int) -> dict[str, Any] | None:
    row = (
        await db.execute(
            sa.select(
                posts.c.id,
                posts.c.kind,
                posts.c.title,
                posts.c.featured,
                posts.c.unit_id,
                units.c.code,
                units.c.name,
                users.c.code,
                users.c.name,
            )
            .join(units, units.c.id == posts.c.unit_id)
            .join(users, users.c.id == posts.c.author_id)
            .where(posts.c.id == post_id)
        )
    ).first()
    if row is None:
        return None
    return {
        "post": {
            "id": row[0],
            "kind": row[1],
            "title": row[2],
            "unit": {"code": row[5], "name": row[6]},
            "author": {"code": row[7], "name": row[8]},
            "featured": bool(row[3]),
        },
        "_unit_id": row[4],
    }


async def post_event(
    db: AsyncSession, post: Post | int, event: str, only: set[int] | None = None
) -> int:
    """`post.published` or `post.featured` for each integration whose scope and kinds take
    the post (of those in `only`, if given); how many deliveries were written."""
    post_id = post if isinstance(post, int) else post.id
    assert post_id is not None
    chosen = await _active(db, event)
    if not chosen:
        return 0
    payload = await post_payload(db, post_id)
    if payload is None:
        return 0
    unit_id = payload.pop("_unit_id")
    payload["occurred_at"] = clock.now().isoformat()
    # An integration takes the post when one of its units is the post's unit or above it:
    # the codes up the tree, read once for every integration.
    above = set(
        (
            await db.execute(sa.select(units.c.code).where(units.c.id.in_(org.ancestors(unit_id))))
        ).scalars()
    )
    written = 0
    for row in chosen:
        if only is not None and row.id not in only:
            continue
        if payload["post"]["kind"] not in row.post_kinds.split("\t"):
            continue
        codes = {c for c in row.units.split("\t") if c}
        if not codes or codes & above:
            await outbox.add(db, row.id, event, f"post:{post_id}", payload)
            written += 1
    return written


async def bulletin_published(db: AsyncSession, bulletin_id: int) -> int:
    """`bulletin.published` for each integration whose scope meets the audience."""
    chosen = await _active(db, Event.bulletin_published)
    if not chosen:
        return 0
    b = (
        await db.execute(
            sa.select(bulletins.c.title, bulletins.c.volume, bulletins.c.audience_all).where(
                bulletins.c.id == bulletin_id
            )
        )
    ).first()
    if b is None:
        return 0
    audience: set[int] | None = None
    if not b.audience_all:
        tops = sa.select(bulletin_audience.c.unit_id).where(
            bulletin_audience.c.bulletin_id == bulletin_id
        )
        audience = set((await db.execute(org.subtree(units.c.id.in_(tops)))).scalars())
    payload = {
        "occurred_at": clock.now().isoformat(),
        "bulletin": {"id": bulletin_id, "volume": b.volume, "title": b.title},
    }
    written = 0
    for row in chosen:
        scope = await _scope_ids(db, row.units)
        if scope is None or audience is None or scope & audience:
            await outbox.add(
                db, row.id, Event.bulletin_published, f"bulletin:{bulletin_id}", payload
            )
            written += 1
    return written


async def post_withdrawn(db: AsyncSession, post_id: int, resend: bool = False) -> int:
    """The post is no longer shown (hidden, deleted) or its text changed (redacted: `resend`
    sends it again with the new title). Copies not sent yet are dropped; each integration
    that has (or is sending) one gets a `post.withdrawn` delivery that removes it."""
    subject = f"post:{post_id}"
    d = integration_deliveries
    now = clock.now()
    # Not sent, not being sent: never sent at all.
    await db.execute(
        sa.update(d)
        .where(
            d.c.subject == subject,
            d.c.event.in_(POST_EVENTS),
            d.c.done_at.is_(None),
            sa.or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
        )
        .values(done_at=now, outcome="skipped", last_error="withdrawn before it was sent")
    )
    touched = (
        (
            await db.execute(
                sa.select(d.c.integration_id)
                .where(
                    d.c.subject == subject,
                    d.c.event.in_(POST_EVENTS),
                    sa.or_(d.c.outcome == "sent", d.c.done_at.is_(None)),
                )
                .distinct()
            )
        )
        .scalars()
        .all()
    )
    payload = {"occurred_at": now.isoformat(), "post": {"id": post_id}}
    for integration_id in touched:
        await outbox.add(db, integration_id, Event.post_withdrawn, subject, payload)
    if resend:
        status = (await db.execute(sa.select(posts.c.status).where(posts.c.id == post_id))).scalar()
        if status == "published":
            await post_event(db, post_id, Event.post_published, only=set(touched))
    return len(touched)
