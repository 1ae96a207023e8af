"""A user's own account: language and password change (the rules; their API tokens: tokens.py).

Pages (/settings) and the JSON API (/api/v1/me...) both call these functions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.i18n import LOCALES, _
from app.models import User
from app.security import MIN_PASSWORD_LENGTH, hash_password
from app.services import auth
from app.services.errors import Conflict, InvalidInput
from app.services.people import sessions
from app.services.people import users as user_service
from app.services.people.rules import field_error

MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only bounds the work per request


class PasswordMode(StrEnum):
    """What the password form asks for."""

    change = "change"  # has a password: current one required
    set = "set"  # no password yet but must choose one (an administrator asked for it)
    sso = "sso"  # signs in through single sign-on only: nothing to change here


class PasswordNotSettable(Conflict):
    """The account has no password and signs in through single sign-on (409)."""

    def __init__(self) -> None:
        super().__init__(sso_only_message())


def sso_only_message() -> str:
    return _("Your account signs in through single sign-on; it has no password to change here.")


def password_mode(user: User) -> PasswordMode:
    if not get_settings().password_login:
        return PasswordMode.sso  # nobody signs in with a password: nothing to set or change
    if user.password_hash:
        return PasswordMode.change
    if user.must_change_password:
        return PasswordMode.set
    return PasswordMode.sso


async def set_locale(db: AsyncSession, user: User, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidInput.field("locale", _("Choose one of the options."), "literal_error")
    await user_service.set_locale(db, user, locale)


async def change_password(
    db: AsyncSession,
    settings: Settings,
    user: User,
    *,
    current: str,
    new: str,
    confirm: str | None,
    address: str,
    keep_session: str | None,
) -> None:
    """Check the current password (throttled like logins), store the new one, clear the
    one-time-password flag and end every other session of the user in the same commit.

    API tokens stay valid: they are revoked one by one in the token list.
    `confirm` is the form's second copy (None from the API, which has no such field).
    Raises PasswordNotSettable, auth.LoginThrottled or InvalidInput; then nothing changed.
    """
    mode = password_mode(user)
    if mode is PasswordMode.sso:
        raise PasswordNotSettable()
    errors: list[dict[str, Any]] = []
    current_ok = False
    if mode is PasswordMode.change:
        # With a one-time password, that is the "current" one: say so, as the form does.
        one_time = user.must_change_password
        if not current:
            missing = (
                _("Enter the one-time password.") if one_time else _("Enter your current password.")
            )
            errors.append(field_error("current_password", missing, "missing"))
        elif len(current) > MAX_PASSWORD_LENGTH or not await auth.verify_current_password(
            db, settings, user, current, address
        ):
            wrong = (
                _("The one-time password is not correct.")
                if one_time
                else _("The current password is not correct.")
            )
            errors.append(field_error("current_password", wrong))
        else:
            current_ok = True
    if len(new) < MIN_PASSWORD_LENGTH:
        errors.append(
            field_error(
                "new_password",
                _("The new password must be at least %(n)s characters.")
                % {"n": MIN_PASSWORD_LENGTH},
                "string_too_short",
                min_length=MIN_PASSWORD_LENGTH,
            )
        )
    elif len(new) > MAX_PASSWORD_LENGTH:
        errors.append(
            field_error(
                "new_password",
                _("The new password can be at most %(n)s characters.") % {"n": MAX_PASSWORD_LENGTH},
                "string_too_long",
                max_length=MAX_PASSWORD_LENGTH,
            )
        )
    elif current_ok and new == current:
        errors.append(
            field_error("new_password", _("The new password must differ from the current one."))
        )
    if confirm is not None and confirm != new:
        errors.append(field_error("confirm_password", _("The two new passwords do not match.")))
    if errors:
        raise InvalidInput(errors)
    assert user.id is not None
    user.password_hash = hash_password(new)
    user.must_change_password = False
    db.add(user)
    # One commit: the new hash and the ended sessions land together.
    await sessions.end_all_sessions(db, user.id, keep_token=keep_session)
