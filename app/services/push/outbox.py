"""The push outbox: a push is written as a row in the transaction that writes its
notification (so it is never lost, and never sent for a notification that was rolled
back), and sent later by a drainer in any app instance (app/services/push/drainer.py).

Exactly one drainer takes a row: `claim` locks due rows with SELECT … FOR UPDATE SKIP
LOCKED on PostgreSQL (on SQLite the one writer lock serialises claims) and marks them
claimed for a lease; a drainer that dies mid-send leaves rows that are taken again when the
lease runs out. Grouped likes: one push per unread like group and subscription (the
unique (notification, subscription) pair); the count shown is the group's when it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.db import upsert
from app.models.tables import notifications, push_outbox, push_subscriptions, users
from app.services.outbox import claim_due

LEASE = timedelta(seconds=120)
CLAIM_BATCH = 50
MAX_ATTEMPTS = 8
KEEP_DONE = timedelta(days=7)  # finished rows kept this long (the like groups' memory)


async def enqueue(db: AsyncSession, where: Any) -> None:
    """Inside the caller's transaction: a push for each notification matching `where` to
    each subscription of its recipient (none when they have none)."""
    now = clock.now()
    source = (
        sa.select(
            notifications.c.id,
            push_subscriptions.c.id,
            sa.literal(now, push_outbox.c.created_at.type),
            sa.literal(now, push_outbox.c.due_at.type),
            sa.literal(0),
        )
        .join(push_subscriptions, push_subscriptions.c.user_id == notifications.c.user_id)
        .where(where, notifications.c.read_at.is_(None))
    )
    stmt = upsert(db, push_outbox).from_select(
        ["notification_id", "subscription_id", "created_at", "due_at", "attempts"], source
    )
    await db.execute(
        stmt.on_conflict_do_nothing(index_elements=["notification_id", "subscription_id"])
    )


@dataclass(slots=True)
class Claimed:
    id: int
    notification_id: int
    attempts: int
    user_id: int
    locale: str
    endpoint: str
    p256dh: str
    auth: str


async def claim(db: AsyncSession, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take due rows for this drainer (its own short transaction, committed here)."""
    ids = await claim_due(db, push_outbox, now, limit, LEASE)
    if not ids:
        return []
    rows = await db.execute(
        sa.select(
            push_outbox.c.id,
            push_outbox.c.notification_id,
            push_outbox.c.attempts,
            notifications.c.user_id,
            users.c.locale,
            push_subscriptions.c.endpoint,
            push_subscriptions.c.p256dh,
            push_subscriptions.c.auth,
        )
        .join(notifications, notifications.c.id == push_outbox.c.notification_id)
        .join(push_subscriptions, push_subscriptions.c.id == push_outbox.c.subscription_id)
        .join(users, users.c.id == notifications.c.user_id)
        # Only to a device of the notification's recipient (subscribe() keeps it so).
        .where(push_outbox.c.id.in_(ids), push_subscriptions.c.user_id == users.c.id)
        .order_by(push_outbox.c.due_at, push_outbox.c.id)
    )
    claimed = [Claimed(*r) for r in rows]
    stray = set(ids) - {c.id for c in claimed}
    if stray:
        await db.execute(
            sa.update(push_outbox)
            .where(push_outbox.c.id.in_(stray))
            .values(done_at=now, outcome="gone", claimed_until=None)
        )
    await db.commit()
    return claimed


async def _set(db: AsyncSession, row_id: int, **values: Any) -> None:
    await db.execute(sa.update(push_outbox).where(push_outbox.c.id == row_id).values(**values))


async def finish(db: AsyncSession, row_id: int, outcome: str, error: str | None = None) -> None:
    await _set(
        db, row_id, done_at=clock.now(), outcome=outcome, last_error=error, claimed_until=None
    )


async def postpone(db: AsyncSession, row_id: int, until: datetime, error: str | None) -> None:
    """To be retried at `until`; the claim is given up."""
    await _set(db, row_id, due_at=until, claimed_until=None, last_error=error)


async def hold(db: AsyncSession, row_id: int, until: datetime) -> None:
    """Held over quiet hours (not counted as an attempt)."""
    await _set(db, row_id, due_at=until, claimed_until=None, attempts=push_outbox.c.attempts - 1)
