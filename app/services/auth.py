"""Logins, server-side sessions, API tokens and login throttling: the rules, not the HTTP."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.i18n import _
from app.logging import get_logger
from app.models import ApiToken, LoginThrottle, OrgUnit, TokenScope, User, UserSession
from app.models.base import UTCDateTime, utcnow
from app.security import new_token, token_digest, verify_password
from app.services.errors import TooManyRequests
from app.services.notifications import unread_count_of

SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
TOKEN_PREFIX = "arigato_"

log = get_logger("arigato.auth")


class LoginThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        message = _("Too many failed logins. Try again in %(seconds)s seconds.")
        super().__init__(message % {"seconds": retry_after}, retry_after)


@dataclass(frozen=True)
class Auth:
    """Who is calling and how: by browser session or by API token."""

    user: User
    unit: OrgUnit
    via: str  # "session" | "token"
    scope: str = TokenScope.write.value
    session_token: str | None = None
    unread_notifications: int = 0  # for the bell of browser pages (sessions only)


def _account_key(code: str) -> str:
    return "acct:" + code.strip().lower()[:200]


def _address_key(address: str) -> str:
    return "addr:" + address[:200]


def _upsert(db: AsyncSession) -> Any:
    """The dialect's INSERT … ON CONFLICT (PostgreSQL and SQLite both have it)."""
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


_THROTTLE = LoginThrottle.__table__  # type: ignore[attr-defined]


def _at(moment: datetime) -> Any:
    return sa.literal(moment, UTCDateTime())


async def _reserve_attempt(
    db: AsyncSession, key: str, limit: int, window: timedelta, now: datetime
) -> int:
    """Count one more attempt for key in one statement; the seconds to wait, or 0 to go on.

    The count goes up before any password is looked at, so that however many attempts run
    at once, at most `limit` of them get a password checked: the database hands out the
    numbers (read, add one in Python, write back lost counts and hit the primary key when
    two first attempts met). A window whose time is up starts again at 1.
    """
    t = _THROTTLE
    not_blocked = sa.or_(t.c.blocked_until.is_(None), t.c.blocked_until <= _at(now))
    over = sa.and_(t.c.window_started_at <= _at(now - window), not_blocked)
    stmt = (
        _upsert(db)(t)
        .values(key=key, failures=1, window_started_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[t.c.key],
            set_={
                "failures": sa.case((over, 1), else_=t.c.failures + 1),
                "window_started_at": sa.case((over, _at(now)), else_=t.c.window_started_at),
                "blocked_until": sa.case(
                    (over, sa.null()),
                    (sa.and_(t.c.failures + 1 > limit, not_blocked), _at(now + window)),
                    else_=t.c.blocked_until,
                ),
            },
        )
        .returning(t.c.failures, t.c.blocked_until)
    )
    row = (await db.exec(stmt)).one()
    count: int = row.failures
    blocked_until: datetime | None = row.blocked_until
    if blocked_until is not None and blocked_until > now:
        return max(1, math.ceil((blocked_until - now).total_seconds()))
    return 0 if count <= limit else math.ceil(window.total_seconds())


async def _begin_attempt(db: AsyncSession, settings: Settings, code: str, address: str) -> None:
    """Count the attempt against the account and the address (committed at once, before the
    slow password check); raise LoginThrottled when either is over its limit."""
    now = utcnow()
    window = timedelta(seconds=settings.login_lockout_seconds)
    # Always the account first, then the address: concurrent attempts lock rows in one order.
    retry = max(
        await _reserve_attempt(
            db, _account_key(code), settings.login_max_failures_per_account, window, now
        ),
        await _reserve_attempt(
            db, _address_key(address), settings.login_max_failures_per_address, window, now
        ),
    )
    await db.commit()
    if retry:
        raise LoginThrottled(retry)


async def _finish_attempt(
    db: AsyncSession, settings: Settings, code: str, address: str, ok: bool
) -> None:
    """A right password clears the account's count and takes back its count against the
    address; a wrong one that used up a limit starts the block."""
    t = _THROTTLE
    account, addr = _account_key(code), _address_key(address)
    if ok:
        await db.exec(sa.delete(t).where(t.c.key == account))
        await db.exec(
            sa.update(t).where(t.c.key == addr, t.c.failures > 0).values(failures=t.c.failures - 1)
        )
    else:
        now = utcnow()
        until = now + timedelta(seconds=settings.login_lockout_seconds)
        for key, limit in (
            (account, settings.login_max_failures_per_account),
            (addr, settings.login_max_failures_per_address),
        ):
            await db.exec(
                sa.update(t)
                .where(
                    t.c.key == key,
                    t.c.failures >= limit,
                    sa.or_(t.c.blocked_until.is_(None), t.c.blocked_until <= _at(now)),
                )
                .values(blocked_until=until)
            )
    await db.commit()


async def authenticate(
    db: AsyncSession, settings: Settings, code: str, password: str, address: str
) -> User | None:
    """Check a password login; raise LoginThrottled when the account or address is blocked.

    Attempts per account and per address within the window are counted in the database,
    so that every app instance enforces the same limits.
    """
    await _begin_attempt(db, settings, code, address)
    user = (await db.exec(select(User).where(User.code == code.strip()))).first()
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    await _finish_attempt(db, settings, code, address, ok)
    return user if ok else None


async def verify_current_password(
    db: AsyncSession, settings: Settings, user: User, password: str, address: str
) -> bool:
    """Re-check a signed-in user's password under the same throttle as logins.

    Guessing the current password on a stolen session counts against the account exactly
    as failed logins do, and is blocked (LoginThrottled) by the same lockout.
    """
    await _begin_attempt(db, settings, user.code, address)
    ok = verify_password(user.password_hash, password)
    await _finish_attempt(db, settings, user.code, address, ok)
    return ok


async def start_session(
    db: AsyncSession, settings: Settings, user: User, user_agent: str | None, address: str | None
) -> str:
    token = new_token()
    now = utcnow()
    assert user.id is not None
    db.add(
        UserSession(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.session_days),
            user_agent=(user_agent or "")[:255] or None,
            address=address,
        )
    )
    await db.commit()
    return token


# Every request runs one of these two; they are built once with a bound token hash
# (building a statement and its cache key cost more CPU than the round trip).
_SESSION_LOOKUP = (
    # The bell's unread count rides along in the same round trip (an index-only count).
    select(UserSession, User, OrgUnit, unread_count_of(col(User.id)))
    .join(User, col(User.id) == UserSession.user_id)
    .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
    .where(UserSession.token_hash == sa.bindparam("token_hash", type_=sa.String))
)
_TOKEN_LOOKUP = (
    select(ApiToken, User, OrgUnit)
    .join(User, col(User.id) == ApiToken.user_id)
    .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash", type_=sa.String))
)


async def _record_use(db: AsyncSession, stmt: sa.Update) -> None:
    """Note when a session or token was last used, in a short transaction of its own.

    The lookup's read transaction ends first: on SQLite a read that then writes is refused
    at once when another connection has written meanwhile, whereas a transaction that starts
    with the write waits its turn for the lock. Last use is bookkeeping: if it still cannot
    be written the request goes on without it (the savepoint keeps the loaded user usable).
    """
    await db.commit()
    try:
        async with db.begin_nested():
            await db.exec(stmt)
        await db.commit()
    except sa.exc.OperationalError as exc:
        if exc.connection_invalidated:
            raise
        log.warning("last_use_not_recorded", error=str(exc.orig))


async def auth_for_session(db: AsyncSession, token: str) -> Auth | None:
    now = utcnow()
    row = (await db.exec(_SESSION_LOOKUP, params={"token_hash": token_digest(token)})).first()
    if row is None:
        return None
    sess, user, unit, unread = row
    if sess.revoked_at is not None or sess.expires_at <= now or not user.active:
        return None
    if now - sess.last_seen_at > SESSION_TOUCH_INTERVAL:
        await _record_use(
            db,
            sa.update(UserSession)
            .where(col(UserSession.id) == sess.id, col(UserSession.last_seen_at) < now)
            .values(last_seen_at=now),
        )
    return Auth(
        user=user, unit=unit, via="session", session_token=token, unread_notifications=unread
    )


async def end_session(db: AsyncSession, token: str) -> None:
    await db.exec(
        sa.update(UserSession)
        .where(col(UserSession.token_hash) == token_digest(token))
        .values(revoked_at=utcnow())
    )
    await db.commit()


async def end_all_sessions(db: AsyncSession, user_id: int, keep_token: str | None = None) -> None:
    stmt = sa.update(UserSession).where(
        col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None)
    )
    if keep_token:
        stmt = stmt.where(col(UserSession.token_hash) != token_digest(keep_token))
    await db.exec(stmt.values(revoked_at=utcnow()))
    await db.commit()


async def issue_token(
    db: AsyncSession, user: User, *, name: str, scope: str, days: int | None
) -> tuple[ApiToken, str]:
    """Create a personal access token; the plain token is returned once and never stored."""
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
    await db.commit()
    return row, token


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
        await _record_use(
            db,
            sa.update(ApiToken)
            .where(col(ApiToken.id) == tok.id, used_before)
            .values(last_used_at=now),
        )
    return Auth(user=user, unit=unit, via="token", scope=tok.scope)


async def revoke_token(db: AsyncSession, token_id: int, user_id: int | None = None) -> bool:
    stmt = sa.update(ApiToken).where(
        col(ApiToken.id) == token_id, col(ApiToken.revoked_at).is_(None)
    )
    if user_id is not None:
        stmt = stmt.where(col(ApiToken.user_id) == user_id)
    result = await db.exec(stmt.values(revoked_at=utcnow()))
    await db.commit()
    return bool(result.rowcount)
