"""Registering, listing and revoking shop devices, and finding the device of a credential."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import Device, OrgUnit, UnitKind, User, UserSession
from app.models.base import utcnow
from app.security import new_token, token_digest
from app.services import audit
from app.services.errors import InvalidInput, NotFound
from app.services.inputs import cleaned
from app.services.people.sessions import record_use

NAME_MAX = 80
# Browsers keep a cookie at most 400 days; the credential is set again at each sign-in.
CREDENTIAL_DAYS = 400
LIST_MAX = 500
SEEN_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DeviceView:
    id: int
    name: str
    unit_code: str
    unit_name: str
    created_at: datetime
    created_by_code: str | None
    last_seen_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class DeviceUnit:
    """A registered, not revoked device and its shop: what a request from it knows."""

    id: int
    name: str
    unit: OrgUnit
    last_seen_at: datetime | None


def _problems(name: str, unit: OrgUnit | None, code: str) -> list[dict[str, object]]:
    errors: list[dict[str, object]] = []

    def add(field: str, msg: str) -> None:
        errors.append({"loc": ["body", field], "msg": msg, "type": "value_error"})

    if not name:
        add("name", _("Enter a name for the device, e.g. the counter PC."))
    elif len(name) > NAME_MAX:
        add("name", _("The name can be at most %(n)s characters.") % {"n": NAME_MAX})
    if not code:
        add("unit", _("Enter the code of the shop."))
    elif unit is None or not unit.active:
        add("unit", _("There is no unit with this code."))
    elif unit.kind != UnitKind.shop:
        add("unit", _("A device belongs to a shop: choose a unit of the kind shop."))
    return errors


async def register_device(
    db: AsyncSession, admin: User, name: str, unit_code: str
) -> tuple[DeviceView, str]:
    """A new device of a shop and its credential (returned once; only its hash is kept)."""
    name, code = cleaned(name) or "", (cleaned(unit_code) or "").upper()
    unit = (await db.exec(select(OrgUnit).where(OrgUnit.code == code))).first() if code else None
    if errors := _problems(name, unit, code):
        raise InvalidInput(errors)
    assert unit is not None and unit.id is not None and admin.id is not None
    token = new_token("dev_")
    device = Device(
        name=name, unit_id=unit.id, token_hash=token_digest(token), created_by_id=admin.id
    )
    db.add(device)
    await db.flush()
    audit.record(
        db, admin, "device.register", "device", device.id, after={"name": name, "unit": code}
    )
    await db.commit()
    return _view(device, unit, admin.code), token


def _view(device: Device, unit: OrgUnit, by: str | None) -> DeviceView:
    assert device.id is not None
    return DeviceView(
        device.id,
        device.name,
        unit.code,
        unit.name,
        device.created_at,
        by,
        device.last_seen_at,
        device.revoked_at,
    )


async def list_devices(
    db: AsyncSession, *, after_id: int | None = None, limit: int = LIST_MAX
) -> list[DeviceView]:
    """Devices, active ones first, newest first within each; keyset on id when paging."""
    stmt = (
        select(Device, OrgUnit, User.code)
        .join(OrgUnit, col(OrgUnit.id) == Device.unit_id)
        .outerjoin(User, col(User.id) == Device.created_by_id)
    )
    if after_id is not None:
        stmt = stmt.where(col(Device.id) < after_id).order_by(col(Device.id).desc())
    else:
        stmt = stmt.order_by(col(Device.revoked_at).is_not(None), col(Device.id).desc())
    rows = (await db.exec(stmt.limit(limit))).all()
    return [_view(d, u, by) for d, u, by in rows]


async def get_device(db: AsyncSession, device_id: int) -> DeviceView:
    for view in await _by_id(db, device_id):
        return view
    raise NotFound(_("There is no device with this id."))


async def _by_id(db: AsyncSession, device_id: int) -> list[DeviceView]:
    stmt = (
        select(Device, OrgUnit, User.code)
        .join(OrgUnit, col(OrgUnit.id) == Device.unit_id)
        .outerjoin(User, col(User.id) == Device.created_by_id)
        .where(col(Device.id) == device_id)
    )
    return [_view(d, u, by) for d, u, by in (await db.exec(stmt)).all()]


async def revoke_device(db: AsyncSession, admin: User, device_id: int) -> DeviceView:
    """Revoke a device and end every session on it (revoking twice changes nothing)."""
    view = await get_device(db, device_id)
    if view.revoked_at is None:
        now = utcnow()
        await db.exec(sa.update(Device).where(col(Device.id) == device_id).values(revoked_at=now))
        await db.exec(
            sa.update(UserSession)
            .where(col(UserSession.device_id) == device_id, col(UserSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        audit.record(db, admin, "device.revoke", "device", device_id, before={"name": view.name})
        await db.commit()
        view = await get_device(db, device_id)
    return view


async def device_for_credential(db: AsyncSession, credential: str) -> DeviceUnit | None:
    """The active device of a credential cookie, with its shop; None when unknown or revoked."""
    row = (
        await db.exec(
            select(Device, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == Device.unit_id)
            .where(col(Device.token_hash) == token_digest(credential))
        )
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    device, unit = row
    assert device.id is not None
    return DeviceUnit(device.id, device.name, unit, device.last_seen_at)


async def mark_seen(db: AsyncSession, device: DeviceUnit) -> None:
    """Note that the device was used (at most every few minutes: a read must not write)."""
    now = utcnow()
    if device.last_seen_at is not None and now - device.last_seen_at < SEEN_INTERVAL:
        return
    await record_use(
        db, sa.update(Device).where(col(Device.id) == device.id).values(last_seen_at=now)
    )


async def attach_session(
    db: AsyncSession, session_token: str, device_id: int, expires_at: datetime
) -> None:
    """The admin who registers a device from its browser keeps their session there, but from
    then on as a terminal session: it ends when left idle like any other on the device."""
    await db.exec(
        sa.update(UserSession)
        .where(col(UserSession.token_hash) == token_digest(session_token))
        .values(device_id=device_id, expires_at=expires_at)
    )
    await db.commit()


async def shop_choices(db: AsyncSession) -> list[tuple[str, str]]:
    """(code, name) of every active shop: what a device may be registered for."""
    rows = await db.exec(
        select(OrgUnit.code, OrgUnit.name)
        .where(col(OrgUnit.kind) == UnitKind.shop, col(OrgUnit.active).is_(True))
        .order_by(col(OrgUnit.code))
    )
    return [(code, name) for code, name in rows.all()]
