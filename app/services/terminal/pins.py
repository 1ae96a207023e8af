"""The personal PIN of the shop terminal: 4-8 digits, hashed with argon2id like passwords."""

from __future__ import annotations

import itertools

from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import User
from app.security import hash_password
from app.services.errors import InvalidInput

PIN_MIN, PIN_MAX = 4, 8


def pin_problem(pin: str) -> str | None:
    """Why a PIN cannot be used, or None. Refused too: one digit repeated and a straight run
    (1234, 9876), the first PINs anyone tries at someone else's name."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        return _("The PIN is %(min)s to %(max)s digits.") % {"min": PIN_MIN, "max": PIN_MAX}
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(steps) == 1 and steps <= {0, 1, -1}:
        return _("This PIN is too easy to guess: avoid repeated digits and runs like 1234.")
    return None


async def set_pin(db: AsyncSession, user: User, pin: str, confirm: str) -> None:
    """Set or replace the user's PIN; both fields must agree."""
    errors = []
    if problem := pin_problem(pin):
        errors.append({"loc": ["body", "pin"], "msg": problem, "type": "value_error"})
    elif pin != confirm:
        errors.append(
            {
                "loc": ["body", "confirm_pin"],
                "msg": _("The two PINs are not the same."),
                "type": "value_error",
            }
        )
    if errors:
        raise InvalidInput(errors)
    user.pin_hash = hash_password(pin)
    db.add(user)
    await db.commit()


async def clear_pin(db: AsyncSession, user: User) -> None:
    user.pin_hash = None
    db.add(user)
    await db.commit()
