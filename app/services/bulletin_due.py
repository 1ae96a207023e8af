"""When the next scheduled bulletin is due, or the next automatic reminder before a
confirmation deadline (`reminder_time`), as this process last read it: the cheap test that
lets the request-start step (`bulletins.publish_due_if_time`) skip the database.

"Nothing is due before T" is trusted for REFRESH_S at most and then read again, so a
bulletin scheduled on another instance is seen within that time; a bulletin changed in this
process forgets it at once (after the change's commit). A reading that started before a
`forget()` is not remembered: it may predate the change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.models import BulletinStatus
from app.models.tables import bulletins

REFRESH_S = 10.0
# The automatic reminder goes out from this hour (Asia/Tokyo) on the day before the deadline.
REMINDER_HOUR = 9

_NEXT_DUE = sa.select(sa.func.min(bulletins.c.publish_at)).where(
    bulletins.c.status == BulletinStatus.scheduled
)
_NEXT_DEADLINE = sa.select(sa.func.min(bulletins.c.confirm_by)).where(
    bulletins.c.status == BulletinStatus.published,
    bulletins.c.confirm_by.is_not(None),
    bulletins.c.deadline_reminded_at.is_(None),
)


def reminder_time(confirm_by: date) -> datetime:
    """When the automatic reminder for this deadline is due: REMINDER_HOUR the day before."""
    day = confirm_by - timedelta(days=1)
    return datetime(day.year, day.month, day.day, REMINDER_HOUR, tzinfo=i18n.zone())


@dataclass(frozen=True, slots=True)
class _Known:
    next_due: datetime | None  # None: nothing is scheduled
    until: float  # time.monotonic() after which it is read again


_known: _Known | None = None
_generation = 0


def generation() -> int:
    """Taken before reading the database; `remember` refuses a reading from before a forget."""
    return _generation


def forget() -> None:
    global _known, _generation
    _known = None
    _generation += 1


def remember(next_due: datetime | None, since: int) -> None:
    global _known
    if since == _generation:
        _known = _Known(next_due, time.monotonic() + REFRESH_S)


def nothing_due(now: datetime) -> bool:
    """True when this process knows that no scheduled bulletin is due at `now`."""
    known = _known
    if known is None or time.monotonic() >= known.until:
        return False
    return known.next_due is None or now < known.next_due


async def next_due(db: AsyncSession) -> datetime | None:
    """The earliest publish time of a scheduled bulletin (one indexed read), or the earliest
    automatic reminder still to claim, whichever comes first."""
    value: datetime | None = (await db.execute(_NEXT_DUE)).scalar()
    deadline: date | None = (await db.execute(_NEXT_DEADLINE)).scalar()
    if deadline is not None:
        remind = reminder_time(deadline)
        value = remind if value is None else min(value, remind)
    return value
