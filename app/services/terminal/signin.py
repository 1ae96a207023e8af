"""Signing in on a shop device: the shop's staff list, PIN and password sign-in, and who may
sign in on which device."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.i18n import _
from app.models import User
from app.permissions import is_curator
from app.services import auth as auth_service
from app.services.errors import Forbidden, InvalidInput
from app.services.terminal.devices import DeviceUnit

STAFF_MAX = 300


@dataclass(frozen=True, slots=True)
class StaffEntry:
    code: str
    name: str
    has_pin: bool


async def staff_of(db: AsyncSession, device: DeviceUnit) -> list[StaffEntry]:
    """The active users of the device's shop, by employee number (the login page's list)."""
    rows = (
        await db.exec(
            select(User.code, User.name, col(User.pin_hash).is_not(None))
            .where(col(User.unit_id) == device.unit.id, col(User.active).is_(True))
            .order_by(col(User.code))
            .limit(STAFF_MAX)
        )
    ).all()
    return [StaffEntry(code, name, bool(has)) for code, name, has in rows]


class OtherShop(Forbidden):
    def __init__(self, device: DeviceUnit) -> None:
        super().__init__(
            _(
                "This terminal is for %(shop)s: only its staff can sign in here "
                "(head office with their password)."
            )
            % {"shop": device.unit.name}
        )


def may_use(user: User, device: DeviceUnit, *, with_password: bool) -> bool:
    """The shop's own staff, with PIN or password; others only curators/admins by password."""
    return user.unit_id == device.unit.id or (with_password and is_curator(user))


async def sign_in(
    db: AsyncSession,
    settings: Settings,
    device: DeviceUnit,
    *,
    code: str,
    pin: str = "",
    password: str = "",
    address: str,
) -> User:
    """The user signing in on the device, or InvalidInput / OtherShop / LoginThrottled."""
    code = code.strip()
    with_password = bool(password)
    if not code or not (pin or password):
        raise InvalidInput.field(
            "pin", _("Choose your name or enter your employee number, then your PIN.")
        )
    if with_password and not settings.password_login:
        raise InvalidInput.field(
            "password", _("Password login is switched off: sign in with your PIN.")
        )
    if with_password:
        user = await auth_service.authenticate(db, settings, code, password, address)
        wrong = _("The employee number or password is not correct.")
    else:
        # Refused before the PIN is checked: a PIN is never tried on another shop's device.
        other = (await db.exec(select(User.unit_id).where(col(User.code) == code))).first()
        if other is not None and other != device.unit.id:
            raise OtherShop(device)
        user = await auth_service.authenticate_pin(db, settings, code, pin, device.id)
        wrong = _("The employee number or PIN is not correct.")
    if user is None:
        raise InvalidInput.field("password" if with_password else "pin", wrong)
    if not may_use(user, device, with_password=with_password):
        raise OtherShop(device)
    return user
