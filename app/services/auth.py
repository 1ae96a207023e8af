"""Logins, server-side sessions, API tokens and login throttling: the rules, not the HTTP."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.models import ApiToken, LoginThrottle, OrgUnit, TokenScope, User, UserSession
from app.models.base import utcnow
from app.security import new_token, token_digest, verify_password
from app.services.notifications import unread_count_of

SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
TOKEN_PREFIX = "arigato_"


class LoginThrottled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after}s")
        self.retry_after = retry_after


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


async def _blocked_for(db: AsyncSession, key: str, now: datetime) -> int:
    row = await db.get(LoginThrottle, key)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return 0
    return max(1, math.ceil((row.blocked_until - now).total_seconds()))


async def _record_failure(
    db: AsyncSession, key: str, limit: int, window: timedelta, now: datetime
) -> None:
    row = await db.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
    elif row.window_started_at + window <= now and (
        row.blocked_until is None or row.blocked_until <= now
    ):
        row.failures, row.window_started_at, row.blocked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.blocked_until = now + window
    db.add(row)


async def ensure_not_throttled(db: AsyncSession, code: str, address: str) -> None:
    """Raise LoginThrottled while the account or the address is blocked."""
    now = utcnow()
    retry = max(
        [await _blocked_for(db, k, now) for k in (_account_key(code), _address_key(address))]
    )
    if retry:
        raise LoginThrottled(retry)


async def record_password_attempt(
    db: AsyncSession, settings: Settings, code: str, address: str, ok: bool
) -> None:
    """Count a failed password (committed at once); a right one clears the account's count."""
    if ok:
        await db.exec(sa.delete(LoginThrottle).where(col(LoginThrottle.key) == _account_key(code)))
        return
    now = utcnow()
    window = timedelta(seconds=settings.login_lockout_seconds)
    await _record_failure(
        db, _account_key(code), settings.login_max_failures_per_account, window, now
    )
    await _record_failure(
        db, _address_key(address), settings.login_max_failures_per_address, window, now
    )
    await db.commit()


async def authenticate(
    db: AsyncSession, settings: Settings, code: str, password: str, address: str
) -> User | None:
    """Check a password login; raise LoginThrottled when the account or address is blocked.

    Consecutive failures per account and failures per address within the window are
    counted in the database, so that every app instance enforces the same limits.
    """
    await ensure_not_throttled(db, code, address)
    user = (await db.exec(select(User).where(User.code == code.strip()))).first()
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    await record_password_attempt(db, settings, code, address, ok)
    return user if ok else None


async def verify_current_password(
    db: AsyncSession, settings: Settings, user: User, password: str, address: str
) -> bool:
    """Re-check a signed-in user's password under the same throttle as logins.

    Guessing the current password on a stolen session counts against the account exactly
    as failed logins do, and is blocked (LoginThrottled) by the same lockout.
    """
    await ensure_not_throttled(db, user.code, address)
    ok = verify_password(user.password_hash, password)
    await record_password_attempt(db, settings, user.code, address, ok)
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


async def auth_for_session(db: AsyncSession, token: str) -> Auth | None:
    now = utcnow()
    row = (await db.exec(_SESSION_LOOKUP, params={"token_hash": token_digest(token)})).first()
    if row is None:
        return None
    sess, user, unit, unread = row
    if sess.revoked_at is not None or sess.expires_at <= now or not user.active:
        return None
    if now - sess.last_seen_at > SESSION_TOUCH_INTERVAL:
        sess.last_seen_at = now
        db.add(sess)
        await db.commit()
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
    if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=1):
        tok.last_used_at = now
        db.add(tok)
        await db.commit()
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
