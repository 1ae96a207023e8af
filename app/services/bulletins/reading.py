"""Reading: lists, the unread banner, read receipts, what a bulletin shows its viewer, and
the shops' 横展開 answers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.db import end_read, upsert
from app.i18n import _
from app.models import (
    Bulletin,
    OrgUnit,
    PostStatus,
    UnitKind,
    User,
)
from app.models.base import UTCDateTime
from app.models.tables import (
    bulletin_audience,
    bulletin_items,
    bulletin_reads,
    bulletins,
    posts,
    rollout_responses,
    units,
)
from app.permissions import is_curator
from app.services import feed as feed_service
from app.services import org, scope
from app.services.bulletins.rules import (
    ANSWERS,
    BANNER_MAX,
    PUBLISHED,
    SCHEDULED,
    Audience,
    audience_of,
    item_of,
    visible_to,
)
from app.services.cursor import decode_cursor, encode_cursor
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.services.feed import PostCard

# Lists and views ------------------------------------------------------------------------------


def _sort_key() -> ColumnElement[datetime]:
    return sa.func.coalesce(bulletins.c.published_at, bulletins.c.created_at, type_=UTCDateTime)


async def list_bulletins(
    db: AsyncSession,
    user: User,
    *,
    cursor: str | None = None,
    limit: int = 20,
    published_only: bool = False,
) -> tuple[list[Bulletin], str | None]:
    """Visible bulletins, newest first (published ones by publication time, others by
    creation), keyset paginated."""
    key = _sort_key()
    stmt = select(Bulletin).where(visible_to(user))
    if published_only:
        stmt = stmt.where(col(Bulletin.status) == PUBLISHED)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(key <= at, sa.or_(key < at, col(Bulletin.id) < last_id))
    stmt = stmt.order_by(key.desc(), col(Bulletin.id).desc()).limit(limit + 1)
    rows = list((await db.exec(stmt.execution_options(populate_existing=True))).all())
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        last = page[-1]
        assert last.id is not None
        next_cursor = encode_cursor(last.published_at or last.created_at, last.id)
    return page, next_cursor


async def list_unpublished(db: AsyncSession, viewer: User) -> list[Bulletin]:
    """Drafts and scheduled bulletins (curators; with a scope, those inside it): scheduled
    first, by time, then drafts."""
    stmt = (
        select(Bulletin)
        .where(col(Bulletin.status) != PUBLISHED, scope.bulletin_within(viewer))
        .order_by(
            sa.case((col(Bulletin.status) == SCHEDULED, 0), else_=1),
            col(Bulletin.publish_at),
            col(Bulletin.updated_at).desc(),
        )
        .limit(200)
        .execution_options(populate_existing=True)
    )
    return list((await db.exec(stmt)).all())


@dataclass(slots=True)
class BannerEntry:
    id: int
    title: str
    volume: int | None
    fiscal_year: int | None
    published_at: datetime | None


# Built once with bind parameters: building this statement (recursive CTE, two EXISTS) and
# its cache key took ~1.3 ms of CPU per feed page, six times the round trip itself.
_UNREAD_FOR = (
    sa.select(
        bulletins.c.id,
        bulletins.c.title,
        bulletins.c.volume,
        bulletins.c.fiscal_year,
        bulletins.c.published_at,
    )
    .where(
        bulletins.c.status == PUBLISHED,
        org.in_audience(sa.bindparam("unit_id", type_=sa.Integer)),
        ~sa.exists().where(
            bulletin_reads.c.bulletin_id == bulletins.c.id,
            bulletin_reads.c.user_id == sa.bindparam("user_id", type_=sa.Integer),
        ),
    )
    .order_by(bulletins.c.published_at.desc(), bulletins.c.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


async def unread_for(db: AsyncSession, user: User, limit: int = BANNER_MAX) -> list[BannerEntry]:
    """Published bulletins for the user's unit they have not opened yet, newest first."""
    rows = await db.execute(
        _UNREAD_FOR, {"unit_id": user.unit_id, "user_id": user.id, "limit": limit}
    )
    return [BannerEntry(*r) for r in rows]


async def mark_read(db: AsyncSession, user: User, bulletin: Bulletin) -> bool:
    """Record the first time a user opens a published bulletin; True if this was it."""
    if bulletin.status != PUBLISHED:
        return False
    await end_read(db)  # the insert opens a transaction of its own
    stmt = (
        upsert(db, bulletin_reads)
        .values(bulletin_id=bulletin.id, user_id=user.id, read_at=clock.now())
        .on_conflict_do_nothing()
    )
    inserted = (await db.execute(stmt)).rowcount == 1  # type: ignore[attr-defined]
    await db.commit()
    return bool(inserted)


@dataclass(slots=True)
class ItemView:
    id: int
    position: int
    comment: str
    post_id: int
    card: PostCard | None  # None: the viewer may not see the post (hidden, deleted)
    answer: str | None = None  # the viewer's shop's 横展開 answer


@dataclass(slots=True)
class BulletinView:
    bulletin: Bulletin
    audience: list[tuple[str, str]]  # (code, name); empty when for everyone
    items: list[ItemView]
    read: bool
    read_at: datetime | None = None
    read_via: str | None = None  # "self" or "meeting" (read together at the morning meeting)
    answer_unit: OrgUnit | None = None  # set when the viewer answers 横展開 for their shop
    shown_items: list[ItemView] = field(default_factory=list)
    # A curator may edit it: always, unless their scope does not hold its audience.
    manageable: bool = True

    @property
    def audience_value(self) -> Audience:
        return audience_of(self.audience, self.bulletin.audience_all)


async def views(db: AsyncSession, viewer: User, found: list[Bulletin]) -> list[BulletinView]:
    """Everything a page or the API shows of these bulletins, in a few queries."""
    ids = [b.id for b in found if b.id is not None]
    if not ids:
        return []
    audience: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for bid, code, name in await db.execute(
        sa.select(bulletin_audience.c.bulletin_id, units.c.code, units.c.name)
        .select_from(bulletin_audience.join(units, units.c.id == bulletin_audience.c.unit_id))
        .where(bulletin_audience.c.bulletin_id.in_(ids))
        .order_by(units.c.code)
    ):
        audience[bid].append((code, name))
    reads = {
        bid: (at, via)
        for bid, at, via in await db.execute(
            sa.select(
                bulletin_reads.c.bulletin_id, bulletin_reads.c.read_at, bulletin_reads.c.via
            ).where(bulletin_reads.c.bulletin_id.in_(ids), bulletin_reads.c.user_id == viewer.id)
        )
    }
    item_rows = (
        await db.execute(
            sa.select(
                bulletin_items.c.id,
                bulletin_items.c.bulletin_id,
                bulletin_items.c.position,
                bulletin_items.c.comment,
                bulletin_items.c.post_id,
            )
            .where(bulletin_items.c.bulletin_id.in_(ids))
            .order_by(bulletin_items.c.position, bulletin_items.c.id)
        )
    ).all()
    cards = await feed_service.get_cards(db, viewer, list({r.post_id for r in item_rows}))
    curator = is_curator(viewer)
    answers = {
        item_id: answer
        for item_id, answer in await db.execute(
            sa.select(rollout_responses.c.item_id, rollout_responses.c.answer).where(
                rollout_responses.c.unit_id == viewer.unit_id,
                rollout_responses.c.item_id.in_([r.id for r in item_rows]),
            )
        )
    }
    # A post not shown to all: a curator sees it within their scope (the post page's rule,
    # permissions.ensure_visible_in_scope), anyone else not here.
    unshown = {i for i, c in cards.items() if c.status != PostStatus.published}
    overseen = await scope.overseen_posts(db, viewer, unshown) if curator else set()
    per_bulletin: dict[int, list[ItemView]] = defaultdict(list)
    for r in item_rows:
        card = cards.get(r.post_id)
        if card is not None and card.status != PostStatus.published and card.id not in overseen:
            card = None
        per_bulletin[r.bulletin_id].append(
            ItemView(
                id=r.id,
                position=r.position,
                comment=r.comment if card is not None or curator else "",
                post_id=r.post_id,
                card=card,
                answer=answers.get(r.id),
            )
        )
    # 横展開: the viewer answers for their own unit when it is a shop in the audience.
    unit = await db.get(OrgUnit, viewer.unit_id)
    targeted: set[int] = set()
    if unit is not None and unit.kind == UnitKind.shop:
        targeted = set(
            (
                await db.execute(
                    sa.select(bulletins.c.id).where(
                        bulletins.c.id.in_(ids), org.in_audience(viewer.unit_id)
                    )
                )
            ).scalars()
        )
    manageable = set(ids)
    if scope.is_scoped(viewer):
        within = sa.select(bulletins.c.id).where(
            bulletins.c.id.in_(ids), scope.bulletin_within(viewer)
        )
        manageable = set((await db.execute(within)).scalars())
    out = []
    for b in found:
        assert b.id is not None
        items = per_bulletin.get(b.id, [])
        answers_here = b.id in targeted
        out.append(
            BulletinView(
                bulletin=b,
                audience=audience.get(b.id, []),
                items=items,
                read=b.id in reads,
                read_at=reads[b.id][0] if b.id in reads else None,
                read_via=reads[b.id][1] if b.id in reads else None,
                answer_unit=unit if answers_here and b.status == PUBLISHED else None,
                shown_items=[i for i in items if i.card is not None],
                manageable=curator and b.id in manageable,
            )
        )
    return out


async def view(db: AsyncSession, viewer: User, bulletin: Bulletin) -> BulletinView:
    (one,) = await views(db, viewer, [bulletin])
    return one


# 横展開 ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class RolloutView:
    item_id: int
    unit_code: str
    unit_name: str
    answer: str
    answered_by_code: str
    answered_by_name: str
    answered_at: datetime


async def answer_rollout(
    db: AsyncSession, user: User, bulletin: Bulletin, item_id: int, answer: Any
) -> RolloutView:
    """The user's shop answers for one item; answering again replaces the answer."""
    if bulletin.status != PUBLISHED:
        raise Conflict(_("Only a published bulletin can be answered."))
    item = await item_of(db, bulletin, item_id)
    status = (
        await db.execute(sa.select(posts.c.status).where(posts.c.id == item.post_id))
    ).scalar_one_or_none()
    if status != PostStatus.published:
        raise NotFound(_("This item is not in the bulletin."))
    (current,) = await views(db, user, [bulletin])
    unit = current.answer_unit
    if unit is None:
        raise Forbidden(_("Only staff of a shop this bulletin is for can answer for their shop."))
    if answer not in ANSWERS:
        raise InvalidInput.field("answer", _("Choose one of the options."))
    now = clock.now()
    stmt = upsert(db, rollout_responses).values(
        item_id=item_id,
        unit_id=unit.id,
        answer=answer,
        answered_by_id=user.id,
        answered_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[rollout_responses.c.item_id, rollout_responses.c.unit_id],
        set_={"answer": answer, "answered_by_id": user.id, "answered_at": now},
    )
    await end_read(db)  # the upsert opens a transaction of its own
    await db.execute(stmt)
    await db.commit()
    return RolloutView(item_id, unit.code, unit.name, answer, user.code, user.name, now)
