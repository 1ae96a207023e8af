"""Who may see and edit a bulletin, its audience, and the checks on what is typed
(the limits, the errors, one change as one savepoint)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.i18n import _
from app.models import (
    Bulletin,
    BulletinItem,
    BulletinStatus,
    OrgUnit,
    RolloutAnswer,
    UnitKind,
    User,
)
from app.models.tables import (
    bulletin_audience,
    bulletin_items,
    bulletins,
    units,
)
from app.permissions import is_curator
from app.services import bulletin_due, inputs, org, scope
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.services.inputs import cleaned

# The limits of the input model (services/inputs.py), checked here after NFC and strip.
TITLE_MAX = inputs.BULLETIN_TITLE_MAX
LEAD_MAX = inputs.LEAD_MAX
COMMENT_MAX = inputs.ITEM_COMMENT_MAX
ITEMS_MAX = 50
BANNER_MAX = 5
PUBLISH_RETRIES = 5

PUBLISHED = BulletinStatus.published
SCHEDULED = BulletinStatus.scheduled
DRAFT = BulletinStatus.draft
ANSWERS = tuple(a.value for a in RolloutAnswer)

Audience = Literal["all"] | list[str]


# Errors and the checks on typed text ------------------------------------------------------


def not_found() -> NotFound:
    return NotFound(_("This bulletin does not exist or is not visible to you."))


def frozen() -> Conflict:
    return Conflict(_("A published bulletin can no longer be changed."))


def checked_title(value: Any) -> str:
    title = cleaned(value)
    if not isinstance(title, str) or not title:
        raise InvalidInput.field("title", _("Enter a title."))
    if len(title) > TITLE_MAX:
        raise InvalidInput.field(
            "title", _("The title can be at most %(n)s characters.") % {"n": TITLE_MAX}
        )
    return title


def _checked_text(value: Any, field: str, limit: int, too_long: str) -> str:
    """An optional text (None is ""), cleaned and at most `limit` characters."""
    text = cleaned(value) if value is not None else ""
    if not isinstance(text, str):
        raise InvalidInput.field(field, _("This value has the wrong type."))
    if len(text) > limit:
        raise InvalidInput.field(field, too_long % {"n": limit})
    return text


def checked_lead(value: Any) -> str:
    return _checked_text(
        value, "lead", LEAD_MAX, _("The lead text can be at most %(n)s characters.")
    )


def checked_comment(value: Any) -> str:
    return _checked_text(
        value, "comment", COMMENT_MAX, _("The comment can be at most %(n)s characters.")
    )


def checked_confirm_by(value: Any, current: date | None = None) -> date | None:
    """The confirmation deadline (確認期限): none, or a day from today on (Asia/Tokyo); the
    bulletin's `current` one is kept as it is, even once past."""
    if value is None or value == current:
        return current if value is not None else None
    if not isinstance(value, date):
        raise InvalidInput.field("confirm_by", _("Enter a valid date."))
    if value < i18n.today():
        raise InvalidInput.field("confirm_by", _("Choose today or a later day."))
    return value


@asynccontextmanager
async def one_change(db: AsyncSession) -> AsyncIterator[None]:
    """One change: made in a SAVEPOINT and committed, or undone as a whole on an error.

    A savepoint rather than a rollback of the session: only what the change touched is
    expired, so the caller's objects (the logged-in user) stay loaded for the error page.
    """
    async with db.begin_nested():
        yield
    await db.commit()
    bulletin_due.forget()  # the change may have moved the next scheduled time


# Who sees what ----------------------------------------------------------------------------


def visible_to(user: User) -> ColumnElement[bool]:
    """A WHERE clause on `bulletins`: the ones this user may open. A curator with a scope
    sees those whose audience lies inside it (drafts too), and the published ones that reach
    their own unit or a unit of their scope (services/scope.py)."""
    if is_curator(user) and not scope.is_scoped(user):
        return sa.true()
    published = sa.and_(bulletins.c.status == PUBLISHED, org.in_audience(user.unit_id))
    if not is_curator(user):
        return published
    within = scope.overseer(user)  # one subtree for both clauses
    reaching = sa.and_(bulletins.c.status == PUBLISHED, scope.bulletin_touches(user, within))
    return sa.or_(scope.bulletin_within(user, within), published, reaching)


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


async def get_bulletin_for_stats(db: AsyncSession, user: User, bulletin_id: int) -> Bulletin:
    """Curators only: a bulletin they may open (the figures are of their scope's units)."""
    if not is_curator(user):
        raise Forbidden(_("You do not have permission to do this."))
    return await get_bulletin_for_view(db, user, bulletin_id)


async def get_bulletin_for_edit(db: AsyncSession, user: User, bulletin_id: int) -> Bulletin:
    """Curators only (the route's dependency says so); any status, 404 when missing or, for
    a curator with a scope, when its audience is not inside the scope (`may_manage`)."""
    if not is_curator(user):
        raise Forbidden(_("You do not have permission to do this."))
    found = (
        await db.exec(
            select(Bulletin)
            .where(col(Bulletin.id) == bulletin_id, scope.bulletin_within(user))
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise not_found()
    return found


async def may_manage(db: AsyncSession, user: User, bulletin: Bulletin) -> bool:
    """Whether the caller may edit, publish or remind about this bulletin: the rule of
    `get_bulletin_for_edit`, for a page that shows the actions only to those who may."""
    if not is_curator(user):
        return False
    found = await db.execute(
        sa.select(bulletins.c.id).where(bulletins.c.id == bulletin.id, scope.bulletin_within(user))
    )
    return found.first() is not None


def ensure_editable(bulletin: Bulletin) -> None:
    if bulletin.status == PUBLISHED:
        raise frozen()


# Audience ----------------------------------------------------------------------------------


# Units offered as checkboxes in the audience form; any other unit is typed by code.
AUDIENCE_KINDS = (UnitKind.region, UnitKind.branch)


def split_codes(text: str) -> list[str]:
    """Unit codes typed in one field, separated by spaces or commas (, 、)."""
    return text.replace(",", " ").replace("、", " ").split()


async def audience_choices(db: AsyncSession) -> list[tuple[str, str, str]]:
    """The units offered in the audience form: regions, each followed by its branches,
    as (code, name, kind)."""
    rows = (
        await db.execute(
            sa.select(units.c.id, units.c.code, units.c.name, units.c.kind, units.c.parent_id)
            .where(units.c.kind.in_(AUDIENCE_KINDS), units.c.active.is_(True))
            .order_by(units.c.code)
        )
    ).all()
    by_id = {r.id: r for r in rows}

    def key(r: Any) -> tuple[str, int, str]:
        parent = by_id.get(r.parent_id)
        region = parent if r.kind != UnitKind.region and parent is not None else r
        return (region.code, 0 if r is region else 1, r.code)

    return [(r.code, r.name, r.kind) for r in sorted(rows, key=key)]


async def resolve_audience(db: AsyncSession, user: User, audience: Any) -> list[OrgUnit] | None:
    """None for everyone, else the units of the codes; unknown codes are a 422, and so is an
    audience outside the scope of a curator with one (services/scope.py)."""
    chosen = await _resolve_audience(db, audience)
    ids = None if chosen is None else [u.id for u in chosen if u.id is not None]
    if not await scope.audience_within(db, user, ids):
        raise InvalidInput.field(
            "audience",
            _("Your scope allows bulletins only to units inside it: choose units of your scope."),
        )
    return chosen


async def _resolve_audience(db: AsyncSession, audience: Any) -> list[OrgUnit] | None:
    if audience in (None, "all"):
        return None
    if isinstance(audience, str):
        audience = split_codes(audience)
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


async def set_audience(db: AsyncSession, bulletin: Bulletin, chosen: list[OrgUnit] | None) -> None:
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


def audience_of(codes: list[tuple[str, str]], audience_all: bool) -> Audience:
    return "all" if audience_all else [c for c, _n in codes]


# Items and publication -------------------------------------------------------------------


async def item_of(db: AsyncSession, bulletin: Bulletin, item_id: int) -> BulletinItem:
    item = await db.get(BulletinItem, item_id)
    if item is None or item.bulletin_id != bulletin.id:
        raise NotFound(_("This item is not in the bulletin."))
    return item


def touch(db: AsyncSession, bulletin: Bulletin) -> None:
    bulletin.updated_at = clock.now()
    db.add(bulletin)


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


async def require_items(db: AsyncSession, bulletin: Bulletin) -> None:
    assert bulletin.id is not None
    await db.flush()
    if await _item_count(db, bulletin.id) == 0:
        raise InvalidInput.field("items", _("Add at least one post before publishing."))
