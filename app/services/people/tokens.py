"""Personal API tokens: the one `issue_token` (a user's own, from settings or the API; many
at once, from the CLI), finding whose a request's bearer token is, and the one
`revoke_token` (by its owner, or by an admin, which the audit log records)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import PERSONAL_SCOPES, ApiToken, OrgUnit, Role, TokenScope, User
from app.models.base import utcnow
from app.security import new_token, token_digest
from app.services import audit
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.people.rules import Actions, field_error
from app.services.people.sessions import Auth, record_use

TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
TOKEN_PREFIX = "arigato_"
MAX_ACTIVE_TOKENS = 20
TOKEN_NAME_MAX = 80
TOKEN_DAYS_MAX = 3650
TOKEN_DAY_CHOICES = (30, 90, 365)
TOKEN_LIST_LIMIT = 100  # the newest; older revoked or expired tokens drop off the list


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
        errors.append(field_error("name", _("Give the token a name."), "missing"))
    elif len(name) > TOKEN_NAME_MAX:
        errors.append(
            field_error(
                "name",
                _("The name can be at most %(n)s characters.") % {"n": TOKEN_NAME_MAX},
                "string_too_long",
                max_length=TOKEN_NAME_MAX,
            )
        )
    elif any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        errors.append(field_error("name", _("The name contains characters that cannot be stored.")))
    if scope not in PERSONAL_SCOPES:
        errors.append(field_error("scope", _("Choose read or write."), "literal_error"))
    if days is not None and not 1 <= days <= TOKEN_DAYS_MAX:
        errors.append(
            field_error(
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
    row, token = await issue_token(db, user, name=name, scope=scope, days=days)
    return TokenView.of(row, now), token


async def issue_token(
    db: AsyncSession,
    user: User,
    *,
    name: str,
    scope: str,
    days: int | None,
    record: Callable[[ApiToken], None] | None = None,
) -> tuple[ApiToken, str]:
    """Create an access token; the plain token is returned once and never stored. `record`
    writes an audit row in the same transaction."""
    if scope not in {s.value for s in TokenScope}:
        raise ValueError(f"unknown scope {scope!r}")
    token = new_token(TOKEN_PREFIX)
    assert user.id is not None
    row = ApiToken(
        user_id=user.id,
        name=name[:80],
        token_hash=token_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 4],
        scope=scope,
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    db.add(row)
    if record is not None:
        await db.flush()
        record(row)
    await db.commit()
    return row, token


SCIM_TOKEN_NAME = "SCIM"
SCIM_TOKEN_DAYS = 365


async def issue_scim_token(
    db: AsyncSession, admin: User, *, days: int | None = SCIM_TOKEN_DAYS, via: str = "admin"
) -> tuple[ApiToken, str]:
    """A bearer token for the identity provider (Entra ID, Okta): it reaches /scim/v2 and
    nothing else, and what it changes is recorded as done by `admin` (its owner).
    Audited; the plain token is returned once."""
    if days is not None and not 1 <= days <= TOKEN_DAYS_MAX:
        raise InvalidInput.field(
            "days", _("Enter a number of days from 1 to %(n)s.") % {"n": TOKEN_DAYS_MAX}
        )

    def record(row: ApiToken) -> None:
        after = {"prefix": row.prefix, "expires_at": row.expires_at, "via": via}
        audit.record(db, admin, Actions.scim_token_issue, "api_token", row.id, after=after)

    return await issue_token(
        db, admin, name=SCIM_TOKEN_NAME, scope=TokenScope.scim, days=days, record=record
    )


class NoScimOwner(NotFound):
    """No active admin to own a SCIM token issued from the command line."""


async def issue_scim_token_for(db: AsyncSession, admin_code: str | None, *, days: int) -> str:
    """The CLI's SCIM token, owned by the admin named, or else the first active admin."""
    query = select(User).where(col(User.role) == Role.admin, col(User.active).is_(True))
    if admin_code is not None:
        query = query.where(col(User.code) == admin_code)
    admin = (await db.exec(query.order_by(col(User.id)).limit(1))).first()
    if admin is None:
        raise NoScimOwner(
            f"no active admin {admin_code}" if admin_code else "there is no active admin"
        )
    return (await issue_scim_token(db, admin, days=days, via="cli"))[1]


async def list_scim_tokens(db: AsyncSession) -> list[tuple[TokenView, str]]:
    """Every SCIM token (whoever issued it), newest first, with its owner's employee number."""
    rows = (
        await db.exec(
            select(ApiToken, User.code)
            .join(User, col(User.id) == ApiToken.user_id)
            .where(col(ApiToken.scope) == TokenScope.scim)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
            .limit(TOKEN_LIST_LIMIT)
            .execution_options(populate_existing=True)
        )
    ).all()
    now = utcnow()
    return [(TokenView.of(t, now), code) for t, code in rows]


async def issue_for_codes(
    db: AsyncSession, codes: tuple[str, ...], *, scope: str, days: int | None, name: str
) -> list[tuple[str, str]]:
    """One token for each user (the CLI), all or nothing."""
    found = {
        u.code: u for u in (await db.exec(select(User).where(col(User.code).in_(codes)))).all()
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValueError(f"unknown user(s): {', '.join(missing)}; no token issued")
    inactive = [c for c in codes if not found[c].active]
    if inactive:
        raise ValueError(f"inactive user(s): {', '.join(inactive)}; no token issued")
    return [
        (code, (await issue_token(db, found[code], name=name, scope=scope, days=days))[1])
        for code in codes
    ]


# Every request with a bearer token runs this one (see sessions._SESSION_LOOKUP).
_TOKEN_LOOKUP = (
    select(ApiToken, User, OrgUnit)
    .join(User, col(User.id) == ApiToken.user_id)
    .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash", type_=sa.String))
)


async def auth_for_token(db: AsyncSession, token: str) -> Auth | None:
    now = utcnow()
    row = (await db.exec(_TOKEN_LOOKUP, params={"token_hash": token_digest(token)})).first()
    if row is None:
        return None
    tok, user, unit = row
    if tok.revoked_at is not None or (tok.expires_at and tok.expires_at <= now) or not user.active:
        return None
    if tok.last_used_at is None or now - tok.last_used_at > TOKEN_TOUCH_INTERVAL:
        used_before = sa.or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) < now)
        await record_use(
            db,
            sa.update(ApiToken)
            .where(col(ApiToken.id) == tok.id, used_before)
            .values(last_used_at=now),
        )
    return Auth(user=user, unit=unit, via="token", scope=tok.scope)


async def _own(db: AsyncSession, user: User, token_id: int) -> ApiToken:
    tok = await db.get(ApiToken, token_id, populate_existing=True)
    if tok is None or tok.user_id != user.id:
        raise TokenNotFound(token_id)
    return tok


async def get_own_token(db: AsyncSession, user: User, token_id: int) -> TokenView:
    return TokenView.of(await _own(db, user, token_id), utcnow())


async def revoke_own_token(db: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of the user's tokens at once; revoking a revoked token again is a no-op."""
    await revoke_token(db, await _own(db, user, token_id), user)


async def get_token(db: AsyncSession, token_id: int) -> tuple[ApiToken, User]:
    """Anyone's token with its owner (for an admin), or NotFound."""
    row = (
        await db.exec(
            select(ApiToken, User)
            .join(User, col(User.id) == ApiToken.user_id)
            .where(ApiToken.id == token_id)
        )
    ).first()
    if row is None:
        raise NotFound(_("There is no such API token."))
    return row[0], row[1]


async def revoke_token(
    db: AsyncSession, token: ApiToken, owner: User, *, actor: User | None = None
) -> bool:
    """Revoke one API token; False if it already was. An admin revoking it (`actor`) is
    recorded in the audit log; an owner revoking their own token is not."""
    result = await db.exec(
        sa.update(ApiToken)
        .where(col(ApiToken.id) == token.id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    revoked = bool(result.rowcount)
    if revoked and actor is not None:
        audit.record(
            db,
            actor,
            Actions.token_revoke,
            "api_token",
            token.id,
            before={
                "user": owner.code,
                "name": token.name,
                "prefix": token.prefix,
                "revoked": False,
            },
            after={"revoked": True},
        )
    await db.commit()
    return revoked


async def revoke_all(db: AsyncSession, user_id: int) -> int:
    """Revoke every live token of the user, in the caller's transaction; answers how many."""
    result = await db.exec(
        sa.update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)
