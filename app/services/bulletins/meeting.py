"""The morning meeting (朝礼) on a shop's terminal: a bulletin read together. The staff who
were there get read receipts recorded as "meeting", and the shop's 横展開 answers decided in
the meeting are saved, all in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.db import end_read, upsert
from app.i18n import _
from app.models import Bulletin, OrgUnit, PostStatus, UnitKind, User
from app.models.tables import bulletin_items, bulletin_reads, bulletins, posts, rollout_responses
from app.models.tables import users as users_t
from app.services import org
from app.services.bulletins.reading import BulletinView, view
from app.services.bulletins.rules import ANSWERS, PUBLISHED
from app.services.errors import Conflict, Forbidden, InvalidInput

VIA_SELF, VIA_MEETING = "self", "meeting"


@dataclass(slots=True)
class Attendee:
    code: str
    name: str
    read_via: str | None  # None: not read yet


@dataclass(slots=True)
class MeetingView:
    view: BulletinView  # the items, as the leader sees them
    unit: OrgUnit
    staff: list[Attendee]
    answers: dict[int, str]  # item id -> the shop's current 横展開 answer


async def _check(db: AsyncSession, bulletin: Bulletin, unit: OrgUnit) -> None:
    assert unit.id is not None
    if bulletin.status != PUBLISHED:
        raise Conflict(_("Only a published bulletin can be read at a meeting."))
    in_audience = (
        await db.execute(
            sa.select(sa.literal(1)).where(bulletins.c.id == bulletin.id, org.in_audience(unit.id))
        )
    ).first()
    if unit.kind != UnitKind.shop or in_audience is None:
        raise Forbidden(_("This bulletin is not for this shop."))


async def meeting_view(
    db: AsyncSession, leader: User, bulletin: Bulletin, unit: OrgUnit
) -> MeetingView:
    """What the meeting page shows: the items, the shop's staff and how each has read it."""
    await _check(db, bulletin, unit)
    rows = await db.execute(
        sa.select(users_t.c.code, users_t.c.name, bulletin_reads.c.via)
        .select_from(
            users_t.outerjoin(
                bulletin_reads,
                sa.and_(
                    bulletin_reads.c.user_id == users_t.c.id,
                    bulletin_reads.c.bulletin_id == bulletin.id,
                ),
            )
        )
        .where(users_t.c.unit_id == unit.id, users_t.c.active.is_(True))
        .order_by(users_t.c.code)
    )
    answer_rows = (
        await db.execute(
            sa.select(rollout_responses.c.item_id, rollout_responses.c.answer)
            .select_from(
                rollout_responses.join(
                    bulletin_items, bulletin_items.c.id == rollout_responses.c.item_id
                )
            )
            .where(
                bulletin_items.c.bulletin_id == bulletin.id,
                rollout_responses.c.unit_id == unit.id,
            )
        )
    ).all()
    return MeetingView(
        view=await view(db, leader, bulletin),
        unit=unit,
        staff=[Attendee(code, name, via) for code, name, via in rows],
        answers={int(k): str(v) for k, v in answer_rows},
    )


@dataclass(slots=True)
class MeetingRecord:
    newly_read: int  # receipts recorded as "meeting" (those who had read it already keep theirs)
    answered: int


async def record_meeting(
    db: AsyncSession,
    leader: User,
    bulletin: Bulletin,
    unit: OrgUnit,
    present: list[str],
    answers: Mapping[int, str],
) -> MeetingRecord:
    """Record who was present (their read receipts, via "meeting") and the shop's answers.

    Present codes must be active staff of the shop; answers must name items of the bulletin
    whose post is still published, with one of the 横展開 options. All or nothing.
    """
    await _check(db, bulletin, unit)
    codes = sorted(set(present))
    found: dict[str, int] = {
        code: user_id
        for code, user_id in (
            await db.execute(
                sa.select(users_t.c.code, users_t.c.id).where(
                    users_t.c.code.in_(codes),
                    users_t.c.unit_id == unit.id,
                    users_t.c.active.is_(True),
                )
            )
        ).all()
    }
    errors = []
    if set(codes) - set(found):
        errors.append(
            {
                "loc": ["body", "present"],
                "msg": _("Tick only staff of this shop."),
                "type": "value_error",
            }
        )
    live_items = set(
        (
            await db.execute(
                sa.select(bulletin_items.c.id)
                .join(posts, posts.c.id == bulletin_items.c.post_id)
                .where(
                    bulletin_items.c.bulletin_id == bulletin.id,
                    posts.c.status == PostStatus.published,
                )
            )
        ).scalars()
    )
    if any(i not in live_items or a not in ANSWERS for i, a in answers.items()):
        errors.append(
            {
                "loc": ["body", "answers"],
                "msg": _("Choose one of the options."),
                "type": "value_error",
            }
        )
    if not errors and not codes and not answers:
        errors.append(
            {
                "loc": ["body", "present"],
                "msg": _("Tick who was at the meeting, or choose an answer for an item."),
                "type": "value_error",
            }
        )
    if errors:
        raise InvalidInput(errors)
    now = clock.now()
    await end_read(db)
    newly = 0
    for user_id in found.values():
        stmt = (
            upsert(db, bulletin_reads)
            .values(
                bulletin_id=bulletin.id,
                user_id=user_id,
                read_at=now,
                via=VIA_MEETING,
                recorded_by_id=leader.id,
            )
            .on_conflict_do_nothing()
        )
        newly += (await db.execute(stmt)).rowcount or 0  # type: ignore[attr-defined]
    for item_id, answer in answers.items():
        values = {"answer": answer, "answered_by_id": leader.id, "answered_at": now}
        await db.execute(
            upsert(db, rollout_responses)
            .values(item_id=item_id, unit_id=unit.id, **values)
            .on_conflict_do_update(
                index_elements=[rollout_responses.c.item_id, rollout_responses.c.unit_id],
                set_=values,
            )
        )
    await db.commit()
    return MeetingRecord(newly_read=int(newly), answered=len(answers))
