"""お客さまの声 受付状況 (SPEC §2, curators): praise and complaints received in a fiscal
year, and the complaints by category with their share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.fiscal import fiscal_year_bounds, fiscal_year_months, month_index
from app.labels import complaint_category_labels
from app.models import User
from app.models.tables import complaint_voices, posts
from app.services import scope
from app.services.kpi.rollup import load_frozen, percent, praise_filter

HUNDRED = Decimal("100.0")


@dataclass(slots=True)
class CategoryShare:
    category: str
    label: str
    count: int
    share: Decimal


@dataclass(slots=True)
class VoicesTable:
    fiscal_year: int
    praise: int
    complaints: int
    categories: list[CategoryShare]

    @property
    def total(self) -> int:
        return self.praise + self.complaints

    @property
    def total_share(self) -> Decimal:
        """The 合計 row is 100.0 by definition, whatever the rounded shares add up to."""
        return HUNDRED if self.complaints else Decimal("0.0")


async def praise_total(db: AsyncSession, fy: int, viewer: User) -> int:
    """The official praise count for the year (closed months from the snapshot): the
    company's, or for a curator with a scope the units of that scope."""
    overseen = await scope.overseen_unit_ids(db, viewer)
    months = fiscal_year_months(fy)
    frozen = await load_frozen(db, months)
    dialect = db.get_bind().dialect.name
    bucket = month_index(posts.c.received_on, dialect, months)
    start, end = fiscal_year_bounds(fy)
    inner = (
        sa.select(bucket.label("m"))
        .where(*praise_filter(start, end), scope.overseen(viewer, posts.c.unit_id))
        .subquery()
    )
    rows = await db.execute(sa.select(inner.c.m, sa.func.count()).group_by(inner.c.m))
    live = dict.fromkeys(range(12), 0)
    for m, n in rows:
        live[int(m)] = int(n)

    def closed(m: date) -> int:
        if overseen is None:
            return frozen.company.get(m, 0)
        return sum(
            n for (unit_id, month), n in frozen.own.items() if month == m and unit_id in overseen
        )

    return sum(closed(m) if m in frozen.months else live[i] for i, m in enumerate(months))


async def voices_table(db: AsyncSession, fy: int, viewer: User) -> VoicesTable:
    """The table for the company, or for a curator with a scope, the units of that scope."""
    start, end = fiscal_year_bounds(fy)
    rows = await db.execute(
        sa.select(complaint_voices.c.category, sa.func.count())
        .where(
            complaint_voices.c.received_on >= start,
            complaint_voices.c.received_on < end,
            scope.overseen(viewer, complaint_voices.c.unit_id),
        )
        .group_by(complaint_voices.c.category)
    )
    counts = {c: int(n) for c, n in rows}
    complaints = sum(counts.values())
    categories = [
        CategoryShare(code, name, counts.get(code, 0), percent(counts.get(code, 0), complaints))
        for code, name in complaint_category_labels().items()
    ]
    return VoicesTable(fy, await praise_total(db, fy, viewer), complaints, categories)


def voices_json(table: VoicesTable) -> dict[str, Any]:
    return {
        "fiscal_year": table.fiscal_year,
        "praise": table.praise,
        "complaints": table.complaints,
        "total": table.total,
        "categories": [
            {"category": c.category, "label": c.label, "count": c.count, "share": float(c.share)}
            for c in table.categories
        ],
        "total_share": float(table.total_share),
    }
