"""The durable queue of image checks: a row per image attachment, written in the
transaction that records the attachment (so no stored image escapes its check), claimed
with services/outbox.claim_due (FOR UPDATE SKIP LOCKED on PostgreSQL, SQLite's one writer
lock; a lease so that a drainer that dies lets another take the row) and finished with
its outcome. The attachment's own state moves by a guarded update (`WHERE image_check =
'pending'`), so a check that is run twice after a lease ran out still decides once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.models.tables import attachments, image_check_jobs
from app.services.outbox import claim_due

LEASE = timedelta(minutes=5)  # a photo takes seconds; a lease far above that
CLAIM_BATCH = 5
MAX_ATTEMPTS = 5
KEEP_DONE = timedelta(days=30)


async def enqueue(db: AsyncSession, attachment_id: int) -> None:
    """Inside the caller's transaction: check this image in the background."""
    now = clock.now()
    await db.execute(
        sa.insert(image_check_jobs).values(
            attachment_id=attachment_id, created_at=now, due_at=now, attempts=0
        )
    )


@dataclass(slots=True)
class Claimed:
    id: int
    attempts: int
    attachment_id: int
    post_id: int | None
    storage_key: str
    image_check: str | None


async def claim(db: AsyncSession, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take due rows for this drainer (its own short transaction, committed here)."""
    ids = await claim_due(db, image_check_jobs, now, limit, LEASE)
    if not ids:
        return []
    rows = await db.execute(
        sa.select(
            image_check_jobs.c.id,
            image_check_jobs.c.attempts,
            attachments.c.id,
            attachments.c.post_id,
            attachments.c.storage_key,
            attachments.c.image_check,
        )
        .join(attachments, attachments.c.id == image_check_jobs.c.attachment_id)
        .where(image_check_jobs.c.id.in_(ids))
        .order_by(image_check_jobs.c.due_at, image_check_jobs.c.id)
    )
    claimed = [Claimed(*r) for r in rows]
    await db.commit()
    return claimed


async def _set(db: AsyncSession, row_id: int, **values: Any) -> None:
    await db.execute(
        sa.update(image_check_jobs).where(image_check_jobs.c.id == row_id).values(**values)
    )


async def finish(db: AsyncSession, row_id: int, outcome: str, error: str | None = None) -> None:
    """Once: a drainer whose lease ran out while it worked does not overwrite the outcome
    that another recorded meanwhile."""
    await db.execute(
        sa.update(image_check_jobs)
        .where(image_check_jobs.c.id == row_id, image_check_jobs.c.done_at.is_(None))
        .values(done_at=clock.now(), outcome=outcome, last_error=error, claimed_until=None)
    )


async def postpone(db: AsyncSession, row_id: int, until: datetime, error: str) -> None:
    await _set(db, row_id, due_at=until, claimed_until=None, last_error=error)


async def decide(
    db: AsyncSession, attachment_id: int, check: str, regions: str | None = None
) -> bool:
    """Move a pending image to its checked state; False if it was no longer pending (a
    curator released it meanwhile, or another drainer decided first)."""
    result = await db.execute(
        sa.update(attachments)
        .where(attachments.c.id == attachment_id, attachments.c.image_check == "pending")
        .values(image_check=check, check_regions=regions)
    )
    return bool(getattr(result, "rowcount", 0))
