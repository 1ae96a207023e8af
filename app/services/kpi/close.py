"""Month close (SPEC §6): a curator freezes a month's counts for every unit once it is over;
reopening takes two people (one asks, an admin approves: services/approvals.py). A closed
month shows its frozen figure; the live figure minus the frozen one is a separate
correction, so a closed figure never moves silently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.i18n import _
from app.models import User
from app.models.tables import kpi_month_closes, kpi_snapshot_counts, users
from app.services import audit, scope
from app.services.errors import Conflict, Forbidden
from app.services.kpi.rollup import live_counts, load_tree, month_key, next_month


class Actions:
    """The audit log's action names for the KPI."""

    close = "kpi.close"
    reopen = "kpi.reopen"


@dataclass(slots=True)
class MonthClose:
    month: date
    closed: bool
    closed_at: datetime | None
    closed_by: str | None
    reopened_at: datetime | None
    reopened_by: str | None
    company_total: int | None = None

    @property
    def key(self) -> str:
        return month_key(self.month)


async def month_status(db: AsyncSession, months: Sequence[date]) -> dict[date, MonthClose]:
    closer = users.alias("closer")
    reopener = users.alias("reopener")
    rows = await db.execute(
        sa.select(
            kpi_month_closes.c.month,
            kpi_month_closes.c.closed_at,
            kpi_month_closes.c.reopened_at,
            closer.c.name,
            reopener.c.name,
        )
        .join(closer, closer.c.id == kpi_month_closes.c.closed_by_id)
        .outerjoin(reopener, reopener.c.id == kpi_month_closes.c.reopened_by_id)
        .where(kpi_month_closes.c.month.in_(list(months)))
    )
    found = {r[0]: MonthClose(r[0], r[2] is None, r[1], r[3], r[2], r[4]) for r in rows}
    return {m: found.get(m) or MonthClose(m, False, None, None, None, None) for m in months}


def _month_end(month: date) -> date:
    return next_month(month)


async def _lock_close_row(db: AsyncSession, month: date) -> Any:
    stmt = sa.select(kpi_month_closes).where(kpi_month_closes.c.month == month)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).first()


async def close_month(db: AsyncSession, user: User, month: date) -> MonthClose:
    """Freeze the month's counts for every unit; 409 if it is closed or not over yet.
    It freezes the whole company's figures: head office's (a curator with a scope: 403)."""
    if scope.is_scoped(user):
        raise Forbidden(_("Only head office closes a month: it freezes every unit's figures."))
    if _month_end(month) > i18n.today():
        raise Conflict(_("A month can be closed only after it has ended."))
    row = await _lock_close_row(db, month)
    if row is not None and row.reopened_at is None:
        raise Conflict(_("This month is already closed."))
    # Claim the month first: a second curator closing it at the same moment stops here.
    now = clock.now()
    if row is None:
        try:
            close_id = (
                await db.execute(
                    sa.insert(kpi_month_closes)
                    .values(month=month, closed_by_id=user.id, closed_at=now)
                    .returning(kpi_month_closes.c.id)
                )
            ).scalar_one()
        except IntegrityError:
            await db.rollback()
            raise Conflict(_("This month is already closed.")) from None
    else:
        close_id = row.id
        await db.execute(
            sa.update(kpi_month_closes)
            .where(kpi_month_closes.c.id == row.id)
            .values(closed_by_id=user.id, closed_at=now, reopened_at=None, reopened_by_id=None)
        )
    tree = await load_tree(db)
    own = {uid: counts[0] for uid, counts in (await live_counts(db, [month])).items()}
    subtree = tree.rollup({uid: [n] for uid, n in own.items()}, 1)
    await db.execute(sa.delete(kpi_snapshot_counts).where(kpi_snapshot_counts.c.month == month))
    snapshot = [
        {"month": month, "unit_id": uid, "praise": own.get(uid, 0), "praise_subtree": sub[0]}
        for uid, sub in subtree.items()
        if uid in tree.by_id  # not the virtual root
    ]
    if snapshot:
        await db.execute(sa.insert(kpi_snapshot_counts), snapshot)
    total = sum(own.values())
    audit.record(
        db,
        user,
        Actions.close,
        "kpi_month",
        close_id,
        after={"month": month_key(month), "praise": total},
    )
    await db.commit()
    return MonthClose(month, True, now, user.name, None, None, total)


async def reopen_month(
    db: AsyncSession, user: User, month: date, *, approved: bool = False
) -> MonthClose:
    """The month shows live figures again. Only through the two-person rule: one curator or
    admin asks, an administrator approves (services/approvals.py calls this, `approved`)."""
    if not approved:
        raise Conflict(
            _(
                "Reopening a month needs a second person: request it, and another "
                "administrator approves it on the approvals page."
            )
        )
    row = await _lock_close_row(db, month)
    if row is None or row.reopened_at is not None:
        raise Conflict(_("This month is not closed."))
    frozen_total = (
        await db.execute(
            sa.select(sa.func.coalesce(sa.func.sum(kpi_snapshot_counts.c.praise), 0)).where(
                kpi_snapshot_counts.c.month == month
            )
        )
    ).scalar_one()
    now = clock.now()
    await db.execute(sa.delete(kpi_snapshot_counts).where(kpi_snapshot_counts.c.month == month))
    await db.execute(
        sa.update(kpi_month_closes)
        .where(kpi_month_closes.c.id == row.id)
        .values(reopened_at=now, reopened_by_id=user.id)
    )
    audit.record(
        db,
        user,
        Actions.reopen,
        "kpi_month",
        row.id,
        before={"month": month_key(month), "closed_at": row.closed_at, "praise": int(frozen_total)},
    )
    await db.commit()
    return MonthClose(month, False, row.closed_at, None, now, user.name)
