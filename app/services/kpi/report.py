"""The published customer-first report (`/kpi/report`, curators): its table (1) as the agency
publishes it — お褒めの声 / ご不満の声 / 合計 for a fiscal year and the previous one, the
complaints by category with 構成比, the notes — and the year's 好取組 (bulletins sent, their
items, read and adoption rates by region).

One `Report` is computed here; the page, its PDF and its XLSX are all drawn from it. The
figures are those of the お客さまの声 table (`voices.voices_table`: closed months frozen, the
shares by `rollup.percent`) and of the bulletin statistics (`bulletins.stats`); nothing is
counted twice in another way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from babel.dates import format_skeleton
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.fiscal import fiscal_year_of
from app.i18n import _
from app.models import PostKind, PostStatus, User
from app.models.tables import posts
from app.services.bulletins.stats import BulletinYear, year_by_region
from app.services.errors import InvalidInput
from app.services.kpi.voices import VoicesTable, voices_table

FIRST_YEAR = 2000  # the first fiscal year a report may be asked for


@dataclass(slots=True)
class CategoryLine:
    """A line of the breakdown: one complaint category in both years."""

    category: str
    label: str
    previous: int
    previous_share: Decimal
    current: int
    current_share: Decimal


@dataclass(slots=True)
class Report:
    fiscal_year: int
    current: VoicesTable
    previous: VoicesTable
    praise_since: date | None  # the first month with praise on record: counting began then
    good_practice: BulletinYear
    notes: list[str]

    @property
    def previous_year(self) -> int:
        return self.fiscal_year - 1

    @property
    def categories(self) -> list[CategoryLine]:
        return [
            CategoryLine(c.category, c.label, p.count, p.share, c.count, c.share)
            for p, c in zip(self.previous.categories, self.current.categories, strict=True)
        ]


def report_year(fy: int | None) -> int:
    """The fiscal year asked for (this one when none is); a year before FIRST_YEAR or one
    that has not begun is refused: there is nothing to report."""
    current = fiscal_year_of(i18n.today())
    if fy is None:
        return current
    if not FIRST_YEAR <= fy <= current:
        raise InvalidInput.field(
            "fy",
            _("Choose a fiscal year from %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": current},
        )
    return fy


async def praise_since(db: AsyncSession) -> date | None:
    """The month the board began counting praise: that of the earliest published praise
    (its `received_on`, back-filled entries included)."""
    first = (
        await db.execute(
            sa.select(sa.func.min(posts.c.received_on)).where(
                posts.c.kind == PostKind.praise, posts.c.status == PostStatus.published
            )
        )
    ).scalar_one_or_none()
    if first is None:
        return None
    if isinstance(first, str):  # SQLite hands back an aggregate's date as text
        first = date.fromisoformat(first)
    return date(first.year, first.month, 1)


def month_text(month: date) -> str:
    return str(format_skeleton("yMMMM", month, locale=i18n.current_locale.get()))


def report_notes(since: date | None) -> list[str]:
    """The report's notes, in the reader's language."""
    notes = []
    if since is not None:
        notes.append(
            _("Praise is counted from %(month)s, the month the board started.")
            % {"month": month_text(since)}
        )
    notes.append(
        _(
            "Complaints are those made to the agency; complaints about insurance companies "
            "are not included."
        )
    )
    notes.append(
        _(
            "Shares are rounded half up to one decimal, so the categories may add up to "
            "99.9%% or 100.1%%; the total is shown as 100.0%%."
        )
        % {}
    )
    return notes


async def published_report(db: AsyncSession, viewer: User, fy: int) -> Report:
    """The report of fiscal year `fy` (already checked by `report_year`), for head office
    (`viewer` has no scope: the routes ask for HeadOfficeUser)."""
    since = await praise_since(db)
    return Report(
        fiscal_year=fy,
        current=await voices_table(db, fy, viewer),
        previous=await voices_table(db, fy - 1, viewer),
        praise_since=since,
        good_practice=await year_by_region(db, fy),
        notes=report_notes(since),
    )
