"""The claim every durable outbox uses (Web Push, integrations): due rows that no live lease
holds, locked so that two instances never take the same row (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite has one writer), then leased and counted as an attempt."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession


async def claim_due(
    db: AsyncSession, table: sa.Table, now: datetime, limit: int, lease: timedelta
) -> list[int]:
    """The ids of up to `limit` due rows of `table`, now leased to this drainer until
    `now + lease` (a drainer that dies lets the lease run out, and another takes them).
    With nothing due the transaction is committed and the list is empty."""
    c = table.c
    due = (
        sa.select(c.id)
        .where(
            c.done_at.is_(None),
            c.due_at <= now,
            sa.or_(c.claimed_until.is_(None), c.claimed_until < now),
        )
        .order_by(c.due_at, c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await db.execute(due)).scalars())
    if not ids:
        await db.commit()
        return []
    await db.execute(
        sa.update(table)
        .where(c.id.in_(ids))
        .values(claimed_until=now + lease, attempts=c.attempts + 1)
    )
    return ids


async def prune_done(db: AsyncSession, table: sa.Table, before: datetime) -> None:
    """Forget the rows of `table` finished before `before`."""
    c = table.c
    await db.execute(sa.delete(table).where(c.done_at.is_not(None), c.done_at < before))


async def next_due(db: AsyncSession, table: sa.Table) -> datetime | None:
    """When the earliest waiting row of `table` is due (for a drainer's sleep)."""
    c = table.c
    return (
        await db.execute(sa.select(sa.func.min(c.due_at)).where(c.done_at.is_(None)))
    ).scalar_one_or_none()


def backoff(
    attempts: int,
    retry_after: float | None,
    base_s: float,
    *,
    max_s: float = 3600.0,
    jitter: bool = False,
) -> timedelta:
    """How long a failed row waits: the service's Retry-After (at least 1 s), else
    `base_s` doubled per attempt, at most `max_s`; with `jitter`, 80–100 % of that so that
    many rows that failed together do not come back together."""
    if retry_after is not None:
        return timedelta(seconds=min(max(retry_after, 1.0), max_s))
    wait = min(base_s * 2 ** max(attempts - 1, 0), max_s)
    if jitter:
        wait *= random.uniform(0.8, 1.0)  # noqa: S311 (spreading retries, not a secret)
    return timedelta(seconds=wait)
