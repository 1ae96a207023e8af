"""Publication: now or when scheduled, numbered Vol. N of the fiscal year."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.db import database_unavailable, end_read, transactional
from app.fiscal import fiscal_year_of
from app.i18n import _
from app.models import (
    Bulletin,
    User,
)
from app.models.base import UTCDateTime
from app.models.tables import (
    bulletins,
)
from app.services import audit, bulletin_due, notifications
from app.services.bulletins.followup import remind_due
from app.services.bulletins.rules import (
    PUBLISH_RETRIES,
    PUBLISHED,
    SCHEDULED,
    ensure_editable,
    require_items,
)
from app.services.errors import Conflict
from app.services.integrations import events as integration_events

log = logging.getLogger(__name__)


async def _publish_one(db: AsyncSession, bulletin_id: int, expected: str, when: datetime) -> bool:
    """Number and publish one bulletin if it still has status `expected`.

    One UPDATE computes Vol. N and guards on the status, so the row is published at most
    once however many instances try; on SQLite its first statement takes the write lock.
    A concurrent publication that took the same Vol. N makes the unique index fail: the
    savepoint rolls back and the number is computed again.
    """
    fiscal_year = fiscal_year_of(when.astimezone(i18n.zone()).date())
    other = bulletins.alias("numbered")
    next_volume = (
        sa.select(sa.func.coalesce(sa.func.max(other.c.volume), 0) + 1)
        .where(other.c.fiscal_year == fiscal_year)
        .scalar_subquery()
    )
    stmt = (
        sa.update(bulletins)
        .where(bulletins.c.id == bulletin_id, bulletins.c.status == expected)
        .values(
            status=PUBLISHED,
            published_at=when,
            fiscal_year=fiscal_year,
            volume=next_volume,
            updated_at=clock.now(),
        )
    )
    for attempt in range(PUBLISH_RETRIES):
        try:
            async with db.begin_nested():
                result = await db.execute(stmt)
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]
        except IntegrityError:
            log.info("bulletin %s: volume taken, retrying (%s)", bulletin_id, attempt + 1)
    raise Conflict(_("The bulletin could not be numbered. Please try again."))


async def _fresh(db: AsyncSession, bulletin_ids: Iterable[int]) -> list[Bulletin]:
    ids = list(bulletin_ids)
    if not ids:
        return []
    found = (
        await db.exec(
            select(Bulletin)
            .where(col(Bulletin.id).in_(ids))
            .execution_options(populate_existing=True)
        )
    ).all()
    order = {bid: n for n, bid in enumerate(ids)}
    return sorted(found, key=lambda b: order[b.id or 0])


async def publish_now(db: AsyncSession, actor: User, bulletin: Bulletin) -> Bulletin:
    """Publish a draft or scheduled bulletin now, numbered Vol. N of this fiscal year."""
    ensure_editable(bulletin)
    assert bulletin.id is not None
    await require_items(db, bulletin)
    await end_read(db)
    if not await _publish_one(db, bulletin.id, bulletin.status, clock.now()):
        raise Conflict(_("This bulletin was changed meanwhile. Reload the page."))
    (fresh,) = await _fresh(db, [bulletin.id])
    audit.record(
        db,
        actor,
        "bulletin.publish",
        "bulletin",
        bulletin.id,
        after={"volume": fresh.volume, "fiscal_year": fresh.fiscal_year},
    )
    await integration_events.bulletin_published(db, bulletin.id)
    await db.commit()
    assert fresh.id is not None
    await notifications.notify_bulletin_published(db, fresh.id, actor)
    return fresh


# Asked when the request-start step finds something due, and by the CLI; built once.
_DUE = (
    sa.select(bulletins.c.id, bulletins.c.publish_at)
    .where(
        bulletins.c.status == SCHEDULED,
        bulletins.c.publish_at <= sa.bindparam("now", type_=UTCDateTime),
    )
    .order_by(bulletins.c.publish_at, bulletins.c.id)
)


async def publish_due(db: AsyncSession) -> list[Bulletin]:
    """Publish every scheduled bulletin whose time has come (oldest first); return them."""
    now = clock.now()
    due = (await db.execute(_DUE, {"now": now})).all()
    if not due:
        return []
    await db.commit()  # end the read transaction: each UPDATE below starts a fresh one
    done: list[int] = []
    for bulletin_id, publish_at in due:
        if await _publish_one(db, bulletin_id, SCHEDULED, publish_at or now):
            done.append(bulletin_id)
    published = await _fresh(db, done)
    for b in published:
        audit.record(
            db,
            None,
            "bulletin.publish",
            "bulletin",
            b.id,
            reason="scheduled",
            after={"volume": b.volume, "fiscal_year": b.fiscal_year},
        )
        assert b.id is not None
        await integration_events.bulletin_published(db, b.id)
    await db.commit()
    await notifications.notify_bulletins_published(db, [b.id for b in published if b.id])
    return published


async def publish_due_if_time(db: AsyncSession) -> bool:
    """The request-start step: publish what is due, then send the automatic reminders whose
    time has come (followup.remind_due), in a session of its own (`db` is the request's, not
    begun yet; only its connection source is used), before the request reads anything. True
    if it published something.

    Cheap when the cached next due time says nothing is due (no query at all). Never fails
    the request: a failure (a locked database, say) is logged and the next request retries.
    """
    now = clock.now()
    if bulletin_due.nothing_due(now):
        return False
    since = bulletin_due.generation()
    published: list[Bulletin] = []
    async with AsyncSession(
        bind=transactional(db.bind),
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    ) as own:
        try:
            upcoming = await bulletin_due.next_due(own)
            if upcoming is not None and upcoming <= now:
                published = await publish_due(own)
                await remind_due(own)
                upcoming = await bulletin_due.next_due(own)
            await own.commit()
        except Exception as exc:
            # The database away is told in one line (every request while it is away comes
            # here); anything else with its traceback.
            log.warning(
                "publishing due bulletins failed (%s); the next request retries",
                type(exc).__name__,
                exc_info=not database_unavailable(exc),
            )
            return bool(published)
    bulletin_due.remember(upcoming, since)
    return bool(published)
