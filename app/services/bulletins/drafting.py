"""Drafting: create a bulletin, change its title, lead, audience and items, schedule it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.i18n import _
from app.models import (
    Bulletin,
    User,
)
from app.services import audit
from app.services.bulletins.items import replace_items
from app.services.bulletins.rules import (
    DRAFT,
    SCHEDULED,
    Audience,
    audience_codes,
    audience_of,
    checked_confirm_by,
    checked_lead,
    checked_title,
    ensure_editable,
    one_change,
    require_items,
    resolve_audience,
    set_audience,
    touch,
)
from app.services.errors import InvalidInput

# Drafting ---------------------------------------------------------------------------------


async def create_bulletin(db: AsyncSession, actor: User, data: dict[str, Any]) -> Bulletin:
    """A new draft: title (1–120), lead (≤ 5,000), audience ("all" or unit codes), an
    optional confirmation deadline, and optionally items and publish_at (as
    `update_bulletin`)."""
    title = checked_title(data.get("title"))
    lead = checked_lead(data.get("lead"))
    confirm_by = checked_confirm_by(data.get("confirm_by"))
    chosen = await resolve_audience(db, actor, data.get("audience", "all"))
    now = clock.now()
    assert actor.id is not None
    bulletin = Bulletin(
        title=title,
        lead=lead,
        status=DRAFT,
        audience_all=chosen is None,
        confirm_by=confirm_by,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    async with one_change(db):
        db.add(bulletin)
        await db.flush()
        assert bulletin.id is not None
        await set_audience(db, bulletin, chosen)
        audit.record(
            db,
            actor,
            "bulletin.create",
            "bulletin",
            bulletin.id,
            after={
                "title": title,
                "audience": "all" if chosen is None else [u.code for u in chosen],
                "confirm_by": confirm_by,
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
    """Change any of title, lead, audience, confirm_by (the confirmation deadline, None: no
    deadline), items ([{post_id, comment}] in order) and publish_at (a time schedules it,
    None unschedules it), all in one transaction."""
    ensure_editable(bulletin)
    async with one_change(db):
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
        title = checked_title(data["title"])
        if title != bulletin.title:
            before["title"], after["title"] = bulletin.title, title
            bulletin.title = title
    if "lead" in data:
        lead = checked_lead(data["lead"])
        if lead != bulletin.lead:
            before["lead"], after["lead"] = bulletin.lead, lead
            bulletin.lead = lead
    if "confirm_by" in data:
        confirm_by = checked_confirm_by(data["confirm_by"], bulletin.confirm_by)
        if confirm_by != bulletin.confirm_by:
            before["confirm_by"], after["confirm_by"] = bulletin.confirm_by, confirm_by
            bulletin.confirm_by = confirm_by
    if "audience" in data:
        chosen = await resolve_audience(db, actor, data["audience"])
        old = audience_of(await audience_codes(db, bulletin.id), bulletin.audience_all)
        old = old if old == "all" else sorted(old)
        new: Audience = "all" if chosen is None else sorted(u.code for u in chosen)
        if old != new:  # both sorted here: a new order alone is no change
            await set_audience(db, bulletin, chosen)
            before["audience"], after["audience"] = old, new
    if before or after:
        bulletin.updated_at = clock.now()
        db.add(bulletin)
        audit.record(
            db, actor, "bulletin.update", "bulletin", bulletin.id, before=before, after=after
        )
    if "items" in data:
        await replace_items(db, actor, bulletin, data["items"])
    if "publish_at" in data:
        when = data["publish_at"]
        if when is None:
            await _unschedule(db, actor, bulletin)
        else:
            await _schedule(db, actor, bulletin, when)
    await db.flush()


# Scheduling ---------------------------------------------------------------------------------


def local_time(text: str) -> datetime:
    """A time typed into <input type="datetime-local">: Asia/Tokyo unless it names its zone."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput.field("publish_at", _("Enter a valid date and time.")) from exc
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=i18n.zone())


async def _schedule(db: AsyncSession, actor: User, bulletin: Bulletin, when: Any) -> None:
    ensure_editable(bulletin)
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise InvalidInput.field("publish_at", _("Enter a valid date and time."))
    if when <= clock.now():
        raise InvalidInput.field("publish_at", _("Choose a time in the future."))
    await require_items(db, bulletin)
    before = {"status": bulletin.status, "publish_at": bulletin.publish_at}
    bulletin.status = SCHEDULED
    bulletin.publish_at = when
    touch(db, bulletin)
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
    ensure_editable(bulletin)
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
    touch(db, bulletin)


async def schedule(db: AsyncSession, actor: User, bulletin: Bulletin, when: Any) -> Bulletin:
    """Publish automatically at `when` (aware, in the future)."""
    async with one_change(db):
        await _schedule(db, actor, bulletin, when)
    await db.refresh(bulletin)
    return bulletin


async def unschedule(db: AsyncSession, actor: User, bulletin: Bulletin) -> Bulletin:
    """Back to a draft (nothing happens to a draft)."""
    async with one_change(db):
        await _unschedule(db, actor, bulletin)
    await db.refresh(bulletin)
    return bulletin
