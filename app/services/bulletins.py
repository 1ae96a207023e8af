"""Bulletins (好取組情報): drafting, audience, scheduling and numbered publication, who may
see them, read receipts, 横展開 answers and the head office statistics.

Rules written down here (README "Decisions"):

- A bulletin is edited while it is a draft or scheduled; once published it is frozen (409).
- It is published with at least one item. Vol. N is numbered at publication: 1 + the
  highest volume of the fiscal year of the publication date (Asia/Tokyo). The unique index
  uq_bulletins_volume makes a concurrent second "Vol. N" fail; that publication retries.
- Scheduled bulletins are published by `publish_due`, called at the start of a request
  (`publish_due_if_time`, an app-wide dependency: every page and API answer after the time
  shows them; the reads themselves only read) and by `arigato bulletins publish-due` (cron).
  Each publication is one guarded `UPDATE ... WHERE status = 'scheduled'`, so two app instances
  can never publish one bulletin twice. A scheduled bulletin's `published_at` is the time it
  was scheduled for, however late the first request after it came.
- Staff see published bulletins for everyone or for a subtree that holds their unit; any
  other bulletin is a 404 to them. Curators and admins see every bulletin, drafts too.
- Items whose post is no longer published (hidden, deleted) are not shown to staff.
- 横展開: one answer per (item, shop), given by a user whose own unit is a shop in the
  audience; the latest answer wins. Adoption rate = adopted ÷ shops in the audience.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.fiscal import fiscal_year_of
from app.i18n import _
from app.models import (
    Bulletin,
    BulletinItem,
    BulletinStatus,
    OrgUnit,
    Post,
    PostStatus,
    RolloutAnswer,
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
    users,
)
from app.permissions import is_curator
from app.services import audit, bulletin_due, notifications, org
from app.services import feed as feed_service
from app.services.cursor import decode_cursor, encode_cursor
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.services.feed import FeedFilters, PostCard

log = logging.getLogger(__name__)

TITLE_MAX = 120
LEAD_MAX = 5_000
COMMENT_MAX = 2_000
ITEMS_MAX = 50
BANNER_MAX = 5
PUBLISH_RETRIES = 5

PUBLISHED = BulletinStatus.published.value
SCHEDULED = BulletinStatus.scheduled.value
DRAFT = BulletinStatus.draft.value
ANSWERS = tuple(a.value for a in RolloutAnswer)

Audience = Literal["all"] | list[str]


# Errors ----------------------------------------------------------------------------------


def not_found() -> NotFound:
    return NotFound(_("This bulletin does not exist or is not visible to you."))


def frozen() -> Conflict:
    return Conflict(_("A published bulletin can no longer be changed."))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    return value


def _title(value: Any) -> str:
    title = _clean(value)
    if not isinstance(title, str) or not title:
        raise InvalidInput.field("title", _("Enter a title."))
    if len(title) > TITLE_MAX:
        raise InvalidInput.field(
            "title", _("The title can be at most %(n)s characters.") % {"n": TITLE_MAX}
        )
    return title


def _lead(value: Any) -> str:
    lead = _clean(value) if value is not None else ""
    if not isinstance(lead, str):
        raise InvalidInput.field("lead", _("This value has the wrong type."))
    if len(lead) > LEAD_MAX:
        raise InvalidInput.field(
            "lead", _("The lead text can be at most %(n)s characters.") % {"n": LEAD_MAX}
        )
    return lead


def _comment(value: Any) -> str:
    comment = _clean(value) if value is not None else ""
    if not isinstance(comment, str):
        raise InvalidInput.field("comment", _("This value has the wrong type."))
    if len(comment) > COMMENT_MAX:
        raise InvalidInput.field(
            "comment", _("The comment can be at most %(n)s characters.") % {"n": COMMENT_MAX}
        )
    return comment


def _pct(part: int, whole: int) -> float | None:
    """A percentage with one decimal, rounded half up (as the KPI report does)."""
    if whole <= 0:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(value)


@asynccontextmanager
async def _change(db: AsyncSession) -> AsyncIterator[None]:
    """One change: made in a SAVEPOINT and committed, or undone as a whole on an error.

    A savepoint rather than a rollback of the session: only what the change touched is
    expired, so the caller's objects (the logged-in user) stay loaded for the error page.
    """
    async with db.begin_nested():
        yield
    await db.commit()
    bulletin_due.forget()  # the change may have moved the next scheduled time


def _insert(db: AsyncSession) -> Any:
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


# Who sees what ----------------------------------------------------------------------------


def visible_to(user: User) -> ColumnElement[bool]:
    """A WHERE clause on `bulletins`: the ones this user may open."""
    if is_curator(user):
        return sa.true()
    return sa.and_(bulletins.c.status == PUBLISHED, org.in_audience(user.unit_id))


async def get_bulletin_for_view(db: AsyncSession, user: User, bulletin_id: int) -> Bulletin:
    found = (
        await db.exec(
            select(Bulletin)
            .where(col(Bulletin.id) == bulletin_id, visible_to(user))
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise not_found()
    return found


async def get_bulletin_for_edit(db: AsyncSession, user: User, bulletin_id: int) -> Bulletin:
    """Curators only (the route's dependency says so); any status, 404 when missing."""
    if not is_curator(user):
        raise Forbidden(_("You do not have permission to do this."))
    found = (
        await db.exec(
            select(Bulletin)
            .where(col(Bulletin.id) == bulletin_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise not_found()
    return found


def _editable(bulletin: Bulletin) -> None:
    if bulletin.status == PUBLISHED:
        raise frozen()


# Audience ----------------------------------------------------------------------------------


async def _resolve_audience(db: AsyncSession, audience: Any) -> list[OrgUnit] | None:
    """None for everyone, else the units of the codes; unknown codes are a 422."""
    if audience in (None, "all"):
        return None
    if isinstance(audience, str):
        audience = audience.replace(",", " ").replace("、", " ").split()
    if not isinstance(audience, list) or not all(isinstance(c, str) for c in audience):
        raise InvalidInput.field("audience", _("This value has the wrong type."))
    codes = list(dict.fromkeys(c.strip() for c in audience if c.strip()))
    if not codes:
        raise InvalidInput.field("audience", _("Choose at least one unit, or everyone."))
    found = (await db.exec(select(OrgUnit).where(col(OrgUnit.code).in_(codes)))).all()
    by_code = {u.code: u for u in found}
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise InvalidInput.field(
            "audience", _("Unknown unit code: %(codes)s") % {"codes": ", ".join(unknown)}
        )
    return [by_code[c] for c in codes]


async def audience_codes(db: AsyncSession, bulletin_id: int) -> list[tuple[str, str]]:
    rows = await db.execute(
        sa.select(units.c.code, units.c.name)
        .select_from(bulletin_audience.join(units, units.c.id == bulletin_audience.c.unit_id))
        .where(bulletin_audience.c.bulletin_id == bulletin_id)
        .order_by(units.c.code)
    )
    return [(r[0], r[1]) for r in rows]


async def _set_audience(db: AsyncSession, bulletin: Bulletin, chosen: list[OrgUnit] | None) -> None:
    assert bulletin.id is not None
    await db.execute(
        sa.delete(bulletin_audience).where(bulletin_audience.c.bulletin_id == bulletin.id)
    )
    bulletin.audience_all = chosen is None
    if chosen:
        await db.execute(
            sa.insert(bulletin_audience),
            [{"bulletin_id": bulletin.id, "unit_id": u.id} for u in chosen],
        )


def _audience_value(codes: list[tuple[str, str]], audience_all: bool) -> Audience:
    return "all" if audience_all else [c for c, _n in codes]


# Drafting ---------------------------------------------------------------------------------


async def create_bulletin(db: AsyncSession, actor: User, data: dict[str, Any]) -> Bulletin:
    """A new draft: title (1–120), lead (≤ 5,000), audience ("all" or unit codes), and
    optionally items and publish_at (as `update_bulletin`)."""
    title = _title(data.get("title"))
    lead = _lead(data.get("lead"))
    chosen = await _resolve_audience(db, data.get("audience", "all"))
    now = clock.now()
    assert actor.id is not None
    bulletin = Bulletin(
        title=title,
        lead=lead,
        status=DRAFT,
        audience_all=chosen is None,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    async with _change(db):
        db.add(bulletin)
        await db.flush()
        assert bulletin.id is not None
        await _set_audience(db, bulletin, chosen)
        audit.record(
            db,
            actor,
            "bulletin.create",
            "bulletin",
            bulletin.id,
            after={
                "title": title,
                "audience": "all" if chosen is None else [u.code for u in chosen],
            },
        )
        rest = {k: v for k, v in data.items() if k in ("items", "publish_at")}
        if rest:
            await _apply_changes(db, actor, bulletin, rest)
    await db.refresh(bulletin)
    return bulletin


async def update_bulletin(
    db: AsyncSession, actor: User, bulletin: Bulletin, data: dict[str, Any]
) -> Bulletin:
    """Change any of title, lead, audience, items ([{post_id, comment}] in order) and
    publish_at (a time schedules it, None unschedules it), all in one transaction."""
    _editable(bulletin)
    async with _change(db):
        await _apply_changes(db, actor, bulletin, data)
    await db.refresh(bulletin)
    return bulletin


async def _apply_changes(
    db: AsyncSession, actor: User, bulletin: Bulletin, data: dict[str, Any]
) -> None:
    assert bulletin.id is not None
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if "title" in data:
        title = _title(data["title"])
        if title != bulletin.title:
            before["title"], after["title"] = bulletin.title, title
            bulletin.title = title
    if "lead" in data:
        lead = _lead(data["lead"])
        if lead != bulletin.lead:
            before["lead"], after["lead"] = bulletin.lead, lead
            bulletin.lead = lead
    if "audience" in data:
        chosen = await _resolve_audience(db, data["audience"])
        old = _audience_value(await audience_codes(db, bulletin.id), bulletin.audience_all)
        old = old if old == "all" else sorted(old)
        new: Audience = "all" if chosen is None else sorted(u.code for u in chosen)
        if old != new:  # both sorted here: a new order alone is no change
            await _set_audience(db, bulletin, chosen)
            before["audience"], after["audience"] = old, new
    if before or after:
        bulletin.updated_at = clock.now()
        db.add(bulletin)
        audit.record(
            db, actor, "bulletin.update", "bulletin", bulletin.id, before=before, after=after
        )
    if "items" in data:
        await _replace_items(db, actor, bulletin, data["items"])
    if "publish_at" in data:
        when = data["publish_at"]
        if when is None:
            await _unschedule(db, actor, bulletin)
        else:
            await _schedule(db, actor, bulletin, when)
    await db.flush()


# Items --------------------------------------------------------------------------------------


async def items_of(db: AsyncSession, bulletin_id: int) -> list[BulletinItem]:
    return list(
        (
            await db.exec(
                select(BulletinItem)
                .where(col(BulletinItem.bulletin_id) == bulletin_id)
                .order_by(col(BulletinItem.position), col(BulletinItem.id))
                .execution_options(populate_existing=True)
            )
        ).all()
    )


def _renumber(items: list[BulletinItem]) -> None:
    for position, item in enumerate(items):
        item.position = position


async def _item_of(db: AsyncSession, bulletin: Bulletin, item_id: int) -> BulletinItem:
    item = await db.get(BulletinItem, item_id)
    if item is None or item.bulletin_id != bulletin.id:
        raise NotFound(_("This item is not in the bulletin."))
    return item


async def _addable_post(db: AsyncSession, post_id: Any) -> Post:
    if not isinstance(post_id, int) or isinstance(post_id, bool):
        raise InvalidInput.field("post_id", _("Enter a valid value."))
    post = (
        await db.exec(
            select(Post).where(col(Post.id) == post_id).execution_options(populate_existing=True)
        )
    ).first()
    if post is None or post.status != PostStatus.published.value:
        raise InvalidInput.field("post_id", _("Only published posts can be added."))
    return post


def _duplicate() -> Conflict:
    return Conflict(_("This post is already in the bulletin."))


async def add_item(
    db: AsyncSession, actor: User, bulletin: Bulletin, post_id: Any, comment: Any = ""
) -> BulletinItem:
    """Append a published post (at the end); the same post twice is a 409."""
    _editable(bulletin)
    assert bulletin.id is not None
    post = await _addable_post(db, post_id)
    text = _comment(comment)
    items = await items_of(db, bulletin.id)
    if any(i.post_id == post.id for i in items):
        raise _duplicate()
    if len(items) >= ITEMS_MAX:
        raise InvalidInput.field(
            "post_id", _("A bulletin can hold at most %(n)s posts.") % {"n": ITEMS_MAX}
        )
    assert post.id is not None
    item = BulletinItem(bulletin_id=bulletin.id, post_id=post.id, position=len(items), comment=text)
    try:
        async with _change(db):
            db.add(item)
            await db.flush()
            _touch(db, bulletin)
            audit.record(
                db,
                actor,
                "bulletin.item_add",
                "bulletin",
                bulletin.id,
                after={"item_id": item.id, "post_id": post.id},
            )
    except IntegrityError as exc:  # added by someone else in the meantime
        raise _duplicate() from exc
    return item


async def remove_item(db: AsyncSession, actor: User, bulletin: Bulletin, item_id: int) -> None:
    _editable(bulletin)
    assert bulletin.id is not None
    item = await _item_of(db, bulletin, item_id)
    post_id = item.post_id
    async with _change(db):
        await _delete_items(db, [item_id])
        _renumber([i for i in await items_of(db, bulletin.id) if i.id != item_id])
        _touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.item_remove",
            "bulletin",
            bulletin.id,
            before={"item_id": item_id, "post_id": post_id},
        )


async def _delete_items(db: AsyncSession, item_ids: list[int]) -> None:
    if not item_ids:
        return
    await db.execute(sa.delete(rollout_responses).where(rollout_responses.c.item_id.in_(item_ids)))
    await db.execute(sa.delete(bulletin_items).where(bulletin_items.c.id.in_(item_ids)))
    for item_id in item_ids:  # forget the deleted rows the session may still hold
        stale = await db.get(BulletinItem, item_id)
        if stale is not None:
            db.expunge(stale)


async def move_item(
    db: AsyncSession, actor: User, bulletin: Bulletin, item_id: int, direction: str
) -> None:
    """Swap an item with its neighbour ("up" or "down"); at either end nothing changes."""
    _editable(bulletin)
    assert bulletin.id is not None
    if direction not in ("up", "down"):
        raise InvalidInput.field("direction", _("Choose one of the options."))
    await _item_of(db, bulletin, item_id)
    items = await items_of(db, bulletin.id)
    index = next(i for i, it in enumerate(items) if it.id == item_id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    async with _change(db):
        _renumber(items)
        _touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.item_move",
            "bulletin",
            bulletin.id,
            after={"item_id": item_id, "direction": direction},
        )


async def set_order(db: AsyncSession, actor: User, bulletin: Bulletin, item_ids: list[int]) -> None:
    """Put the items in this order; the list must name every item exactly once."""
    _editable(bulletin)
    assert bulletin.id is not None
    items = await items_of(db, bulletin.id)
    if sorted(item_ids) != sorted(i.id for i in items if i.id is not None):
        raise InvalidInput.field("order", _("Name every item of the bulletin exactly once."))
    by_id = {i.id: i for i in items}
    before = [i.id for i in items]
    async with _change(db):
        _renumber([by_id[i] for i in item_ids])
        _touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.item_order",
            "bulletin",
            bulletin.id,
            before={"order": before},
            after={"order": item_ids},
        )


async def set_item_comment(
    db: AsyncSession, actor: User, bulletin: Bulletin, item_id: int, comment: Any
) -> BulletinItem:
    _editable(bulletin)
    assert bulletin.id is not None
    item = await _item_of(db, bulletin, item_id)
    text = _comment(comment)
    if text != item.comment:
        async with _change(db):
            audit.record(
                db,
                actor,
                "bulletin.item_comment",
                "bulletin",
                bulletin.id,
                before={"item_id": item_id, "comment": item.comment},
                after={"item_id": item_id, "comment": text},
            )
            item.comment = text
            db.add(item)
            _touch(db, bulletin)
    return item


async def _replace_items(db: AsyncSession, actor: User, bulletin: Bulletin, wanted: Any) -> None:
    """The whole item list, in order: kept posts keep their item (and 横展開 answers)."""
    assert bulletin.id is not None
    if not isinstance(wanted, list):
        raise InvalidInput.field("items", _("This value has the wrong type."))
    if len(wanted) > ITEMS_MAX:
        raise InvalidInput.field(
            "items", _("A bulletin can hold at most %(n)s posts.") % {"n": ITEMS_MAX}
        )
    entries: list[tuple[int, str]] = []
    for entry in wanted:
        data = entry if isinstance(entry, dict) else {}
        post_id = data.get("post_id")
        if not isinstance(post_id, int) or isinstance(post_id, bool):
            raise InvalidInput.field("items", _("Enter a valid value."))
        entries.append((post_id, _comment(data.get("comment"))))
    ids = [p for p, _c in entries]
    if len(set(ids)) != len(ids):
        raise _duplicate()
    current = await items_of(db, bulletin.id)
    before = [(i.post_id, i.comment) for i in current]
    by_post = {i.post_id: i for i in current}
    for post_id in ids:
        if post_id not in by_post:
            await _addable_post(db, post_id)
    await _delete_items(db, [i.id for i in current if i.post_id not in ids and i.id is not None])
    for position, (post_id, comment) in enumerate(entries):
        item = by_post.get(post_id)
        if item is None:
            item = BulletinItem(bulletin_id=bulletin.id, post_id=post_id)
        item.position, item.comment = position, comment
        db.add(item)
    await db.flush()
    if before != entries:
        _touch(db, bulletin)
        audit.record(
            db,
            actor,
            "bulletin.items",
            "bulletin",
            bulletin.id,
            before={"items": [p for p, _c in before]},
            after={"items": ids},
        )


def _touch(db: AsyncSession, bulletin: Bulletin) -> None:
    bulletin.updated_at = clock.now()
    db.add(bulletin)


# Scheduling and publication ------------------------------------------------------------------


async def _item_count(db: AsyncSession, bulletin_id: int) -> int:
    return int(
        (
            await db.execute(
                sa.select(sa.func.count())
                .select_from(bulletin_items)
                .where(bulletin_items.c.bulletin_id == bulletin_id)
            )
        ).scalar_one()
    )


async def _require_items(db: AsyncSession, bulletin: Bulletin) -> None:
    assert bulletin.id is not None
    await db.flush()
    if await _item_count(db, bulletin.id) == 0:
        raise InvalidInput.field("items", _("Add at least one post before publishing."))


async def _schedule(db: AsyncSession, actor: User, bulletin: Bulletin, when: Any) -> None:
    _editable(bulletin)
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise InvalidInput.field("publish_at", _("Enter a valid date and time."))
    if when <= clock.now():
        raise InvalidInput.field("publish_at", _("Choose a time in the future."))
    await _require_items(db, bulletin)
    before = {"status": bulletin.status, "publish_at": bulletin.publish_at}
    bulletin.status = SCHEDULED
    bulletin.publish_at = when
    _touch(db, bulletin)
    audit.record(
        db,
        actor,
        "bulletin.schedule",
        "bulletin",
        bulletin.id,
        before=before,
        after={"status": SCHEDULED, "publish_at": when},
    )


async def _unschedule(db: AsyncSession, actor: User, bulletin: Bulletin) -> None:
    _editable(bulletin)
    if bulletin.status != SCHEDULED:
        return
    audit.record(
        db,
        actor,
        "bulletin.unschedule",
        "bulletin",
        bulletin.id,
        before={"status": SCHEDULED, "publish_at": bulletin.publish_at},
        after={"status": DRAFT},
    )
    bulletin.status = DRAFT
    bulletin.publish_at = None
    _touch(db, bulletin)


async def schedule(db: AsyncSession, actor: User, bulletin: Bulletin, when: Any) -> Bulletin:
    """Publish automatically at `when` (aware, in the future)."""
    async with _change(db):
        await _schedule(db, actor, bulletin, when)
    await db.refresh(bulletin)
    return bulletin


async def unschedule(db: AsyncSession, actor: User, bulletin: Bulletin) -> Bulletin:
    """Back to a draft (nothing happens to a draft)."""
    async with _change(db):
        await _unschedule(db, actor, bulletin)
    await db.refresh(bulletin)
    return bulletin


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
    _editable(bulletin)
    assert bulletin.id is not None
    await _require_items(db, bulletin)
    await db.commit()  # SQLite: let the numbering UPDATE open the transaction (write lock)
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
    await db.commit()
    await notifications.notify_bulletins_published(db, [b.id for b in published if b.id])
    return published


async def publish_due_if_time(db: AsyncSession) -> bool:
    """The request-start step: publish what is due, in a session of its own (`db` is the
    request's, not begun yet; only its connection source is used), before the request
    reads anything. True if it published something.

    Cheap when the cached next due time says nothing is due (no query at all). Never fails
    the request: a failure (a locked database, say) is logged and the next request retries.
    """
    now = clock.now()
    if bulletin_due.nothing_due(now):
        return False
    since = bulletin_due.generation()
    published: list[Bulletin] = []
    async with AsyncSession(
        bind=db.bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
    ) as own:
        try:
            upcoming = await bulletin_due.next_due(own)
            if upcoming is not None and upcoming <= now:
                published = await publish_due(own)
                upcoming = await bulletin_due.next_due(own)
            await own.commit()
        except Exception:
            log.warning("publishing due bulletins failed; the next request retries", exc_info=True)
            return bool(published)
    bulletin_due.remember(upcoming, since)
    return bool(published)


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


async def list_unpublished(db: AsyncSession) -> list[Bulletin]:
    """Drafts and scheduled bulletins (curators): scheduled first, by time, then drafts."""
    stmt = (
        select(Bulletin)
        .where(col(Bulletin.status) != PUBLISHED)
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
    await db.commit()  # SQLite: the insert opens the transaction and takes the write lock
    stmt = (
        _insert(db)(bulletin_reads)
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
    answer_unit: OrgUnit | None = None  # set when the viewer answers 横展開 for their shop
    shown_items: list[ItemView] = field(default_factory=list)

    @property
    def audience_value(self) -> Audience:
        return _audience_value(self.audience, self.bulletin.audience_all)


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
        bid: at
        for bid, at in await db.execute(
            sa.select(bulletin_reads.c.bulletin_id, bulletin_reads.c.read_at).where(
                bulletin_reads.c.bulletin_id.in_(ids), bulletin_reads.c.user_id == viewer.id
            )
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
    per_bulletin: dict[int, list[ItemView]] = defaultdict(list)
    for r in item_rows:
        card = cards.get(r.post_id)
        if card is not None and not curator and card.status != PostStatus.published.value:
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
    if unit is not None and unit.kind == UnitKind.shop.value:
        targeted = set(
            (
                await db.execute(
                    sa.select(bulletins.c.id).where(
                        bulletins.c.id.in_(ids), org.in_audience(viewer.unit_id)
                    )
                )
            ).scalars()
        )
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
                read_at=reads.get(b.id),
                answer_unit=unit if answers_here and b.status == PUBLISHED else None,
                shown_items=[i for i in items if i.card is not None],
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
    item = await _item_of(db, bulletin, item_id)
    status = (
        await db.execute(sa.select(posts.c.status).where(posts.c.id == item.post_id))
    ).scalar_one_or_none()
    if status != PostStatus.published.value:
        raise NotFound(_("This item is not in the bulletin."))
    (current,) = await views(db, user, [bulletin])
    unit = current.answer_unit
    if unit is None:
        raise Forbidden(_("Only staff of a shop this bulletin is for can answer for their shop."))
    if answer not in ANSWERS:
        raise InvalidInput.field("answer", _("Choose one of the options."))
    now = clock.now()
    stmt = _insert(db)(rollout_responses).values(
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
    await db.commit()  # SQLite: the upsert opens the transaction and takes the write lock
    await db.execute(stmt)
    await db.commit()
    return RolloutView(item_id, unit.code, unit.name, answer, user.code, user.name, now)


# Statistics (curators) ------------------------------------------------------------------------


@dataclass(slots=True)
class ReadRateRow:
    code: str
    name: str
    kind: str
    depth: int
    users: int
    readers: int
    rate: float | None


@dataclass(slots=True)
class AdoptionRow:
    region_code: str | None  # None: shops outside any region
    region_name: str | None
    shops: int
    answered: int
    adopted: int
    trialling: int
    not_applicable: int
    rate: float | None


@dataclass(slots=True)
class ItemAdoption:
    item_id: int
    position: int
    post_id: int
    title: str
    post_status: str
    regions: list[AdoptionRow]
    total: AdoptionRow


async def read_rates(db: AsyncSession, bulletin: Bulletin) -> list[ReadRateRow]:
    """Per unit of the audience (pre-order, rolled up the tree): active users, how many of
    them opened the bulletin, and the rate in percent (one decimal)."""
    assert bulletin.id is not None
    tree = await org.load_tree(db)
    tops = await org.audience_tops(db, tree, bulletin.id, bulletin.audience_all)
    active = {
        unit_id: n
        for unit_id, n in await db.execute(
            sa.select(users.c.unit_id, sa.func.count())
            .where(users.c.active.is_(True))
            .group_by(users.c.unit_id)
        )
    }
    readers = {
        unit_id: n
        for unit_id, n in await db.execute(
            sa.select(users.c.unit_id, sa.func.count())
            .select_from(bulletin_reads.join(users, users.c.id == bulletin_reads.c.user_id))
            .where(bulletin_reads.c.bulletin_id == bulletin.id, users.c.active.is_(True))
            .group_by(users.c.unit_id)
        )
    }
    totals = tree.rollup({u: [active.get(u, 0), readers.get(u, 0)] for u in tree.by_id}, 2)
    rows = []
    for top in tops:
        for node in top.walk():
            n_users, n_readers = totals[node.id]
            if not node.active and n_users == 0:
                continue
            rate = _pct(n_readers, n_users)
            depth = node.depth - top.depth
            row = ReadRateRow(node.code, node.name, node.kind, depth, n_users, n_readers, rate)
            rows.append(row)
    return rows


async def adoption_by_region(db: AsyncSession, bulletin: Bulletin) -> list[ItemAdoption]:
    """Per item and region: shops in the audience, how many answered, adopted, trialling,
    not applicable, and the adoption rate = adopted ÷ shops in the audience (one decimal)."""
    assert bulletin.id is not None
    tree = await org.load_tree(db)
    tops = await org.audience_tops(db, tree, bulletin.id, bulletin.audience_all)
    audience_units = [u for top in tops for u in top.walk()]
    region_of = {
        u.id: u.region() for u in audience_units if u.kind == UnitKind.shop.value and u.active
    }
    shops = list(region_of)
    regions = sorted(set(region_of.values()), key=lambda r: (r is None, r.code if r else ""))
    item_rows = (
        await db.execute(
            sa.select(
                bulletin_items.c.id,
                bulletin_items.c.position,
                bulletin_items.c.post_id,
                posts.c.title,
                posts.c.status,
            )
            .select_from(bulletin_items.join(posts, posts.c.id == bulletin_items.c.post_id))
            .where(bulletin_items.c.bulletin_id == bulletin.id)
            .order_by(bulletin_items.c.position, bulletin_items.c.id)
        )
    ).all()
    answers: dict[int, dict[int, str]] = defaultdict(dict)
    for item_id, unit_id, answer in await db.execute(
        sa.select(
            rollout_responses.c.item_id, rollout_responses.c.unit_id, rollout_responses.c.answer
        ).where(rollout_responses.c.item_id.in_([r.id for r in item_rows]))
    ):
        answers[item_id][unit_id] = answer

    def row(region: org.Unit | None, members: list[int], given: dict[int, str]) -> AdoptionRow:
        got = [given[s] for s in members if s in given]
        adopted = got.count(RolloutAnswer.adopted.value)
        return AdoptionRow(
            region_code=region.code if region else None,
            region_name=region.name if region else None,
            shops=len(members),
            answered=len(got),
            adopted=adopted,
            trialling=got.count(RolloutAnswer.trialling.value),
            not_applicable=got.count(RolloutAnswer.not_applicable.value),
            rate=_pct(adopted, len(members)),
        )

    out = []
    for r in item_rows:
        given = answers.get(r.id, {})
        per_region = [row(reg, [s for s in shops if region_of[s] == reg], given) for reg in regions]
        total = row(None, shops, given)
        out.append(ItemAdoption(r.id, r.position, r.post_id, r.title, r.status, per_region, total))
    return out


# The editor's post search ----------------------------------------------------------------------


@dataclass(slots=True)
class SearchHit:
    card: PostCard
    added: bool


async def search_posts(
    db: AsyncSession, viewer: User, bulletin: Bulletin, q: str | None, limit: int = 10
) -> list[SearchHit]:
    """Published posts matching `q` (recent good practice when `q` is blank): never a hidden
    or deleted post; the ones already in the bulletin are marked."""
    text = (q or "").strip()
    filters = FeedFilters(q=text) if text else FeedFilters(featured=True)
    cards, _next = await feed_service.list_posts(db, viewer, filters, limit=limit)
    assert bulletin.id is not None
    added = {i.post_id for i in await items_of(db, bulletin.id)}
    return [SearchHit(c, c.id in added) for c in cards]
