"""The one outbox of every integration's deliveries: rows written in the transaction of the
change they tell (app/services/integrations/events.py), claimed by exactly one drainer at a
time — SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL (on SQLite the single writer lock
serialises claims) and a lease, so a drainer that dies mid-send leaves rows that are taken
again when the lease runs out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.models.tables import integration_deliveries as deliveries
from app.models.tables import integrations
from app.services.outbox import claim_due

LEASE = timedelta(seconds=60)
CLAIM_BATCH = 20
GIVE_UP_AFTER = timedelta(days=1)
KEEP_DONE = timedelta(days=90)  # sent rows keep the remote ids retraction needs


def add(db: AsyncSession, integration_id: int, event: str, subject: str, payload: Any) -> Any:
    """An INSERT for the caller's transaction (awaited by the caller)."""
    now = clock.now()
    return db.execute(
        sa.insert(deliveries).values(
            integration_id=integration_id,
            event=event,
            subject=subject,
            payload=json.dumps(payload, ensure_ascii=False),
            created_at=now,
            due_at=now,
            attempts=0,
        )
    )


@dataclass(slots=True)
class Claimed:
    id: int
    integration_id: int
    event: str
    subject: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    kind: str
    enabled: bool
    settings: dict[str, Any]
    secrets: dict[str, Any]


async def claim(db: AsyncSession, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take due rows for this drainer (its own short transaction, committed here)."""
    ids = await claim_due(db, deliveries, now, limit, LEASE)
    if not ids:
        return []
    rows = await db.execute(
        sa.select(
            deliveries.c.id,
            deliveries.c.integration_id,
            deliveries.c.event,
            deliveries.c.subject,
            deliveries.c.payload,
            deliveries.c.attempts,
            deliveries.c.created_at,
            integrations.c.kind,
            integrations.c.enabled,
            integrations.c.settings,
            integrations.c.secrets,
        )
        .join(integrations, integrations.c.id == deliveries.c.integration_id)
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.due_at, deliveries.c.id)
    )
    claimed = [
        Claimed(
            r[0],
            r[1],
            r[2],
            r[3],
            json.loads(r[4]),
            r[5],
            r[6],
            r[7],
            r[8],
            json.loads(r[9]),
            json.loads(r[10]),
        )
        for r in rows
    ]
    await db.commit()
    return claimed


async def _set(db: AsyncSession, row_id: int, **values: Any) -> None:
    await db.execute(sa.update(deliveries).where(deliveries.c.id == row_id).values(**values))


async def finish(
    db: AsyncSession,
    row_id: int,
    outcome: str,
    error: str | None = None,
    remote_id: str | None = None,
) -> None:
    await _set(
        db,
        row_id,
        done_at=clock.now(),
        outcome=outcome,
        last_error=error[:200] if error else None,
        claimed_until=None,
        remote_id=remote_id,
    )


async def postpone(db: AsyncSession, row_id: int, until: datetime, error: str | None) -> None:
    await _set(
        db, row_id, due_at=until, claimed_until=None, last_error=error[:200] if error else None
    )


async def wait(db: AsyncSession, row_id: int, until: datetime) -> None:
    """Not sent yet, for a reason that is not a failure (not counted as an attempt)."""
    await _set(db, row_id, due_at=until, claimed_until=None, attempts=deliveries.c.attempts - 1)


async def sent_copies(db: AsyncSession, row: Claimed) -> tuple[list[tuple[int, str | None]], bool]:
    """The messages about the withdrawn row's subject sent before it and not retracted yet
    — (row id, remote id) — and whether one is still on its way (its remote id unknown).
    Copies sent after it (a redacted title sent again) are not its to remove."""
    rows = (
        await db.execute(
            sa.select(
                deliveries.c.id,
                deliveries.c.remote_id,
                deliveries.c.outcome,
                deliveries.c.claimed_until,
            ).where(
                deliveries.c.integration_id == row.integration_id,
                deliveries.c.subject == row.subject,
                deliveries.c.event != "post.withdrawn",
                deliveries.c.id < row.id,
            )
        )
    ).all()
    now = clock.now()
    sent = [(r[0], r[1]) for r in rows if r[2] == "sent"]
    in_flight = any(r[2] is None and r[3] is not None and r[3] >= now for r in rows)
    return sent, in_flight


async def mark_retracted(db: AsyncSession, row_ids: list[int]) -> None:
    if row_ids:
        await db.execute(
            sa.update(deliveries).where(deliveries.c.id.in_(row_ids)).values(outcome="retracted")
        )
