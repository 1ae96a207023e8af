"""A user's own account: language, password change and personal API tokens (the rules).

Pages (/settings) and the JSON API (/api/v1/me...) both call these functions.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.i18n import LOCALES, _
from app.models import ApiToken, TokenScope, User
from app.models.base import utcnow
from app.security import MIN_PASSWORD_LENGTH, hash_password
from app.services import auth
from app.services import users as user_service
from app.services.errors import Conflict, InvalidInput, NotFound

MAX_ACTIVE_TOKENS = 20
TOKEN_NAME_MAX = 80
TOKEN_DAYS_MAX = 3650
TOKEN_DAY_CHOICES = (30, 90, 365)
TOKEN_LIST_LIMIT = 100  # the newest; older revoked or expired tokens drop off the list
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


class TooManyTokens(Conflict):
    """The user already has MAX_ACTIVE_TOKENS active tokens (409)."""

    def __init__(self) -> None:
        message = _("You already have %(n)s active tokens. Revoke one before creating another.")
        super().__init__(message % {"n": MAX_ACTIVE_TOKENS})


class TokenNotFound(NotFound, LookupError):
    """No such token among the caller's own (404)."""

    def __init__(self, token_id: int) -> None:
        super().__init__(_("No such token among yours."))
        self.token_id = token_id


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


def _error(field: str, msg: str, type_: str = "value_error", **ctx: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"loc": ["body", field], "msg": msg, "type": type_}
    if ctx:
        error["ctx"] = ctx
    return error


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
        if not current:
            errors.append(_error("current_password", _("Enter your current password."), "missing"))
        elif len(current) > MAX_PASSWORD_LENGTH or not await auth.verify_current_password(
            db, settings, user, current, address
        ):
            errors.append(_error("current_password", _("The current password is not correct.")))
        else:
            current_ok = True
    if len(new) < MIN_PASSWORD_LENGTH:
        errors.append(
            _error(
                "new_password",
                _("The new password must be at least %(n)s characters.")
                % {"n": MIN_PASSWORD_LENGTH},
                "string_too_short",
                min_length=MIN_PASSWORD_LENGTH,
            )
        )
    elif len(new) > MAX_PASSWORD_LENGTH:
        errors.append(
            _error(
                "new_password",
                _("The new password can be at most %(n)s characters.") % {"n": MAX_PASSWORD_LENGTH},
                "string_too_long",
                max_length=MAX_PASSWORD_LENGTH,
            )
        )
    elif current_ok and new == current:
        errors.append(
            _error("new_password", _("The new password must differ from the current one."))
        )
    if confirm is not None and confirm != new:
        errors.append(_error("confirm_password", _("The two new passwords do not match.")))
    if errors:
        raise InvalidInput(errors)
    assert user.id is not None
    user.password_hash = hash_password(new)
    user.must_change_password = False
    db.add(user)
    # end_all_sessions commits: the new hash and the ended sessions land together.
    await auth.end_all_sessions(db, user.id, keep_token=keep_session)


# --- personal API tokens --------------------------------------------------------------


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    status: str  # active | expired | revoked

    @classmethod
    def of(cls, tok: ApiToken, now: datetime) -> TokenView:
        assert tok.id is not None
        return cls(
            id=tok.id,
            name=tok.name,
            prefix=tok.prefix,
            scope=tok.scope,
            created_at=tok.created_at,
            last_used_at=tok.last_used_at,
            expires_at=tok.expires_at,
            revoked_at=tok.revoked_at,
            status=token_status(tok, now),
        )


def token_status(tok: ApiToken, now: datetime) -> str:
    if tok.revoked_at is not None:
        return "revoked"
    if tok.expires_at is not None and tok.expires_at <= now:
        return "expired"
    return "active"


def _active(user_id: int, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(ApiToken.user_id) == user_id,
        col(ApiToken.revoked_at).is_(None),
        sa.or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
    )


async def list_tokens(db: AsyncSession, user: User) -> list[TokenView]:
    """The user's tokens, newest first (revoked and expired ones too, marked as such)."""
    rows = (
        await db.exec(
            select(ApiToken)
            .where(col(ApiToken.user_id) == user.id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
            .limit(TOKEN_LIST_LIMIT)
            .execution_options(populate_existing=True)  # a revoke in this request shows
        )
    ).all()
    now = utcnow()
    return [TokenView.of(t, now) for t in rows]


def clean_token_name(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def token_input_errors(name: str, scope: str, days: int | None) -> list[dict[str, Any]]:
    """What is wrong with a (cleaned) token request, in the user's language."""
    errors: list[dict[str, Any]] = []
    if not name:
        errors.append(_error("name", _("Give the token a name."), "missing"))
    elif len(name) > TOKEN_NAME_MAX:
        errors.append(
            _error(
                "name",
                _("The name can be at most %(n)s characters.") % {"n": TOKEN_NAME_MAX},
                "string_too_long",
                max_length=TOKEN_NAME_MAX,
            )
        )
    elif any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        errors.append(_error("name", _("The name contains characters that cannot be stored.")))
    if scope not in {s.value for s in TokenScope}:
        errors.append(_error("scope", _("Choose read or write."), "literal_error"))
    if days is not None and not 1 <= days <= TOKEN_DAYS_MAX:
        errors.append(
            _error(
                "days",
                _("Enter a number of days from 1 to %(n)s.") % {"n": TOKEN_DAYS_MAX},
                "value_error",
            )
        )
    return errors


async def create_token(
    db: AsyncSession, user: User, *, name: str, scope: str, days: int | None
) -> tuple[TokenView, str]:
    """Issue a personal token; the plain token is returned this once and never again.

    `days` None means no expiry. Raises InvalidInput or TooManyTokens; then nothing is written.
    """
    name = clean_token_name(name)
    errors = token_input_errors(name, scope, days)
    if errors:
        raise InvalidInput(errors)
    assert user.id is not None
    now = utcnow()
    # Lock the user's row (PostgreSQL) so that two requests at once cannot pass the cap.
    await db.exec(select(User.id).where(col(User.id) == user.id).with_for_update())
    active = (
        await db.execute(
            sa.select(sa.func.count()).select_from(ApiToken).where(_active(user.id, now))
        )
    ).scalar_one()
    if active >= MAX_ACTIVE_TOKENS:
        await db.commit()  # nothing written; ends the transaction and its lock
        raise TooManyTokens()
    row, token = await auth.issue_token(db, user, name=name, scope=scope, days=days)
    return TokenView.of(row, now), token


async def get_own_token(db: AsyncSession, user: User, token_id: int) -> TokenView:
    tok = await db.get(ApiToken, token_id, populate_existing=True)
    if tok is None or tok.user_id != user.id:
        raise TokenNotFound(token_id)
    return TokenView.of(tok, utcnow())


async def revoke_own_token(db: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of the user's tokens at once; revoking a revoked token again is a no-op."""
    await get_own_token(db, user, token_id)
    assert user.id is not None
    await auth.revoke_token(db, token_id, user_id=user.id)
