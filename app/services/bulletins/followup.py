"""Read follow-up (curators): who in a bulletin's audience has not opened it, which shops
have not read it or not answered 横展開, as lists and CSV; the "remind" action (at most once
a day per bulletin) and the automatic reminder the day before the confirmation deadline.

`follow_up` is the one place the lists are computed: the page, the CSV files, the API and
both reminders read them from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, events, i18n
from app.db import end_read
from app.i18n import _
from app.models import Bulletin, PostStatus, UnitKind, User
from app.models.tables import (
    bulletin_items,
    bulletin_reads,
    bulletins,
    posts,
    rollout_responses,
    users,
)
from app.services import audit, bulletin_due, notifications, org, scope
from app.services.bulletins.rules import PUBLISHED, one_change
from app.services.bulletins.stats import audience_seen
from app.services.errors import Conflict
from app.services.spreadsheet import CsvEncoding, csv_bytes

REMIND_ACTION = "bulletin.remind"
DEADLINE_REASON = "deadline"


@dataclass(slots=True)
class UnreadPerson:
    """Someone in the audience (an active user) who has not opened the bulletin."""

    user_id: int
    code: str
    name: str
    unit_code: str
    unit_name: str
    region_code: str | None
    region_name: str | None


@dataclass(slots=True)
class ShopFollowUp:
    """A shop of the audience: its active staff and readers, and its 横展開 answers to the
    items that can be answered (those whose post is still published)."""

    code: str
    name: str
    region_code: str | None
    region_name: str | None
    users: int
    readers: int
    items: int
    answered: int
    unanswered: list[str] = field(default_factory=list)  # titles of the items not answered

    @property
    def not_read(self) -> int:
        return self.users - self.readers

    @property
    def behind_on_reading(self) -> bool:
        return self.not_read > 0

    @property
    def behind_on_rollout(self) -> bool:
        return self.answered < self.items


@dataclass(slots=True)
class FollowUp:
    bulletin: Bulletin
    people: list[UnreadPerson]  # by unit (the tree's order), then employee number
    shops: list[ShopFollowUp]  # every active shop of the audience, in the tree's order
    items: int  # items a shop can answer

    @property
    def shops_not_read(self) -> list[ShopFollowUp]:
        """Shops where at least one active member has not opened the bulletin."""
        return [s for s in self.shops if s.behind_on_reading]

    @property
    def shops_not_answered(self) -> list[ShopFollowUp]:
        """Shops that have not answered 横展開 for every answerable item."""
        return [s for s in self.shops if s.behind_on_rollout]

    @property
    def people_by_unit(self) -> list[tuple[str, str, list[UnreadPerson]]]:
        """The people grouped per unit: (unit code, unit name, people)."""
        groups: dict[str, list[UnreadPerson]] = {}
        for p in self.people:
            groups.setdefault(p.unit_code, []).append(p)
        return [(code, ps[0].unit_name, ps) for code, ps in groups.items()]


async def follow_up(db: AsyncSession, bulletin: Bulletin, viewer: User | None) -> FollowUp:
    """The follow-up lists of one bulletin (any status; a draft has no reader yet): of the
    part of its audience inside the viewer's scope (services/scope); None: all of it."""
    assert bulletin.id is not None
    tree = await org.load_tree(db)
    order = {u.id: n for n, u in enumerate(u for top in tree.roots for u in top.walk())}
    unread_rows = (
        await db.execute(
            sa.select(users.c.id, users.c.code, users.c.name, users.c.unit_id).where(
                users.c.id.in_(org.audience_users(bulletin.id, bulletin.audience_all)),
                scope.overseen(viewer, users.c.unit_id) if viewer is not None else sa.true(),
                ~sa.exists().where(
                    bulletin_reads.c.bulletin_id == bulletin.id,
                    bulletin_reads.c.user_id == users.c.id,
                ),
            )
        )
    ).all()
    people = []
    for user_id, code, name, unit_id in sorted(
        unread_rows, key=lambda r: (order.get(r.unit_id, len(order)), r.code)
    ):
        unit = tree.by_id[unit_id]
        region = unit.region()
        people.append(
            UnreadPerson(
                user_id,
                code,
                name,
                unit.code,
                unit.name,
                region.code if region else None,
                region.name if region else None,
            )
        )
    tree, tops = await audience_seen(db, bulletin, viewer, tree)
    shops = [u for top in tops for u in top.walk() if u.kind == UnitKind.shop and u.active]
    shop_ids = [s.id for s in shops]
    active: dict[int, int] = {
        unit_id: n
        for unit_id, n in await db.execute(
            sa.select(users.c.unit_id, sa.func.count())
            .where(users.c.active.is_(True), users.c.unit_id.in_(shop_ids))
            .group_by(users.c.unit_id)
        )
    }
    readers: dict[int, int] = {
        unit_id: n
        for unit_id, n in (
            await db.execute(
                sa.select(users.c.unit_id, sa.func.count())
                .select_from(bulletin_reads.join(users, users.c.id == bulletin_reads.c.user_id))
                .where(
                    bulletin_reads.c.bulletin_id == bulletin.id,
                    users.c.active.is_(True),
                    users.c.unit_id.in_(shop_ids),
                )
                .group_by(users.c.unit_id)
            )
        )
    }
    items = (
        await db.execute(
            sa.select(bulletin_items.c.id, posts.c.title)
            .select_from(bulletin_items.join(posts, posts.c.id == bulletin_items.c.post_id))
            .where(
                bulletin_items.c.bulletin_id == bulletin.id,
                posts.c.status == PostStatus.published,
            )
            .order_by(bulletin_items.c.position, bulletin_items.c.id)
        )
    ).all()
    answered: dict[int, set[int]] = defaultdict(set)
    for item_id, unit_id in await db.execute(
        sa.select(rollout_responses.c.item_id, rollout_responses.c.unit_id).where(
            rollout_responses.c.item_id.in_([i.id for i in items])
        )
    ):
        answered[unit_id].add(item_id)
    rows = []
    for shop in shops:
        region = shop.region()
        given = answered.get(shop.id, set())
        rows.append(
            ShopFollowUp(
                code=shop.code,
                name=shop.name,
                region_code=region.code if region else None,
                region_name=region.name if region else None,
                users=active.get(shop.id, 0),
                readers=readers.get(shop.id, 0),
                items=len(items),
                answered=sum(1 for i in items if i.id in given),
                unanswered=[i.title for i in items if i.id not in given],
            )
        )
    return FollowUp(bulletin, people, rows, len(items))


# CSV ----------------------------------------------------------------------------------------


def people_csv(follow: FollowUp, encoding: CsvEncoding = "utf-8") -> bytes:
    """The people who have not opened it, one row each, by unit."""
    header = [
        _("Region code"),
        _("Region"),
        _("Unit code"),
        _("Unit"),
        _("Employee number"),
        _("Name"),
    ]
    rows = [
        [p.region_code, p.region_name, p.unit_code, p.unit_name, p.code, p.name]
        for p in follow.people
    ]
    return csv_bytes(header, rows, encoding)


def shops_csv(follow: FollowUp, encoding: CsvEncoding = "utf-8") -> bytes:
    """The shops behind on reading or on 横展開, one row each, with both counts."""
    header = [
        _("Region code"),
        _("Region"),
        _("Shop code"),
        _("Shop"),
        _("Active users"),
        _("Readers"),
        _("Not read"),
        _("Items to answer"),
        _("Answered"),
        _("Not answered"),
    ]
    rows = [
        [
            s.region_code,
            s.region_name,
            s.code,
            s.name,
            s.users,
            s.readers,
            s.not_read,
            s.items,
            s.answered,
            " / ".join(s.unanswered),
        ]
        for s in follow.shops
        if s.behind_on_reading or s.behind_on_rollout
    ]
    return csv_bytes(header, rows, encoding)


def csv_name(bulletin: Bulletin, which: str) -> str:
    """The download's file name: bulletin-12-unread-people-20250602.csv."""
    return f"bulletin-{bulletin.id}-{which}-{i18n.today():%Y%m%d}.csv"


# Reminders ------------------------------------------------------------------------------------


def already_reminded() -> Conflict:
    return Conflict(
        _("A reminder for this bulletin was already sent today. The next one can go tomorrow.")
    )


async def _claim_day(db: AsyncSession, bulletin_id: int, today: date) -> bool:
    """The day's one reminder: one guarded UPDATE, so two presses (or two instances) at
    once send one reminder; False when today's was already sent."""
    result = await db.execute(
        sa.update(bulletins)
        .where(
            bulletins.c.id == bulletin_id,
            bulletins.c.status == PUBLISHED,
            sa.or_(bulletins.c.reminded_on.is_(None), bulletins.c.reminded_on != today),
        )
        .values(reminded_on=today)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def reminded_today(bulletin: Bulletin) -> bool:
    return bulletin.reminded_on == i18n.today()


async def remind(db: AsyncSession, actor: User, bulletin: Bulletin) -> list[int]:
    """Notify the people who have not opened the bulletin (except the curator sending it);
    at most once a Tokyo day per bulletin (409 on a second press, nothing sent). Audited.
    Who was reminded."""
    if bulletin.status != PUBLISHED:
        raise Conflict(_("Only a published bulletin can be followed up."))
    assert bulletin.id is not None
    async with one_change(db):
        if not await _claim_day(db, bulletin.id, i18n.today()):
            raise already_reminded()
        follow = await follow_up(db, bulletin, actor)
        recipients = await notifications.on_bulletin_reminder(
            db, bulletin.id, [p.user_id for p in follow.people], actor
        )
        if not recipients:
            raise Conflict(_("Everyone in the audience has opened this bulletin."))
        audit.record(
            db, actor, REMIND_ACTION, "bulletin", bulletin.id, after={"recipients": len(recipients)}
        )
    await db.refresh(bulletin)
    await events.notifications_changed(recipients)
    return recipients


def _reminder_limit(now: datetime) -> date:
    """The latest deadline whose automatic reminder time (bulletin_due.reminder_time) has
    come at `now`."""
    local = i18n.local_datetime(now)
    day = local.date() if local.hour >= bulletin_due.REMINDER_HOUR else local.date() - timedelta(1)
    return day + timedelta(days=1)


async def remind_due(db: AsyncSession) -> dict[int, int]:
    """The automatic reminders whose time has come: {bulletin id: people reminded}.

    Each published bulletin with a deadline is claimed once, by a guarded UPDATE of
    `deadline_reminded_at` in the transaction that writes its notifications, so however many
    instances run this, one sends it. It is sent when its time has come (REMINDER_HOUR the day
    before the deadline, up to the same hour on the deadline day), the bulletin was published
    before that time, and no reminder went out that day yet; otherwise it is claimed and
    nothing is sent.
    """
    now = clock.now()
    limit = _reminder_limit(now)
    await end_read(db)
    claimed = (
        await db.execute(
            sa.update(bulletins)
            .where(
                bulletins.c.status == PUBLISHED,
                bulletins.c.confirm_by.is_not(None),
                bulletins.c.confirm_by <= limit,
                bulletins.c.deadline_reminded_at.is_(None),
            )
            .values(deadline_reminded_at=now)
            .returning(bulletins.c.id, bulletins.c.confirm_by, bulletins.c.published_at)
        )
    ).all()
    sent: dict[int, int] = {}
    today = i18n.today()
    for bulletin_id, confirm_by, published_at in claimed:
        if confirm_by != limit or published_at >= bulletin_due.reminder_time(confirm_by):
            continue
        if not await _claim_day(db, bulletin_id, today):
            continue
        bulletin = await db.get(Bulletin, bulletin_id, populate_existing=True)
        assert bulletin is not None
        follow = await follow_up(db, bulletin, None)
        recipients = await notifications.on_bulletin_reminder(
            db, bulletin_id, [p.user_id for p in follow.people], None
        )
        audit.record(
            db,
            None,
            REMIND_ACTION,
            "bulletin",
            bulletin_id,
            reason=DEADLINE_REASON,
            after={"recipients": len(recipients), "confirm_by": confirm_by},
        )
        sent[bulletin_id] = len(recipients)
    await db.commit()
    if sent:
        await events.notifications_changed(None)
    return sent
