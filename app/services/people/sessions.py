"""Browser sessions: starting one at login, finding who a request's cookie belongs to, and
ending one, or all of a user's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db import autocommits, end_read
from app.logging import get_logger
from app.models import OrgUnit, TokenScope, User, UserSession
from app.models.base import utcnow
from app.security import new_token, token_digest
from app.services.notifications import unread_count_of

SESSION_TOUCH_INTERVAL = timedelta(minutes=5)

log = get_logger("arigato.auth")


@dataclass(frozen=True)
class Auth:
    """Who is calling and how: by browser session or by API token."""

    user: User
    unit: OrgUnit
    via: str  # "session" | "token"
    scope: str = TokenScope.write
    session_token: str | None = None
    unread_notifications: int = 0  # for the bell of browser pages (sessions only)
    device_id: int | None = None  # a session on a shop's shared terminal

    @property
    def terminal(self) -> bool:
        return self.device_id is not None


# The browser signs a terminal out itself when its countdown ends (saving an unsent post as
# a draft first); the server's own expiry comes this much later so that request still counts.
TERMINAL_GRACE = timedelta(seconds=3)


def terminal_expiry(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.terminal_idle_seconds) + TERMINAL_GRACE


async def start_session(
    db: AsyncSession,
    settings: Settings,
    user: User,
    user_agent: str | None,
    address: str | None,
    device_id: int | None = None,
) -> str:
    """A new session; on a shop device (`device_id`) one that ends when left idle."""
    token = new_token()
    now = utcnow()
    assert user.id is not None
    lasts = terminal_expiry(settings) if device_id else timedelta(days=settings.session_days)
    db.add(
        UserSession(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lasts,
            user_agent=(user_agent or "")[:255] or None,
            address=address,
            device_id=device_id,
        )
    )
    await db.commit()
    return token


# Every request runs this or tokens._TOKEN_LOOKUP; they are built once with a bound token hash
# (building a statement and its cache key cost more CPU than the round trip).
_SESSION_LOOKUP = (
    # The bell's unread count rides along in the same round trip (an index-only count).
    select(UserSession, User, OrgUnit, unread_count_of(col(User.id)))
    .join(User, col(User.id) == UserSession.user_id)
    .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
    .where(UserSession.token_hash == sa.bindparam("token_hash", type_=sa.String))
)


async def record_use(db: AsyncSession, stmt: sa.Update) -> None:
    """Note when a session or token was last used, in a short transaction of its own.

    The lookup's read transaction ends first: on SQLite a read that then writes is refused
    at once when another connection has written meanwhile, whereas a transaction that starts
    with the write waits its turn for the lock. Last use is bookkeeping: if it still cannot
    be written the request goes on without it (the savepoint keeps the loaded user usable).
    """
    await end_read(db)
    try:
        if autocommits(db):  # the update is its own transaction: nothing to keep apart
            await db.exec(stmt)
            return
        async with db.begin_nested():
            await db.exec(stmt)
        await db.commit()
    except sa.exc.OperationalError as exc:
        if exc.connection_invalidated:
            raise
        log.warning("last_use_not_recorded", error=str(exc.orig))


async def auth_for_session(
    db: AsyncSession, token: str, settings: Settings | None = None, *, touch: bool = True
) -> Auth | None:
    """Who the session cookie belongs to. A terminal session's expiry moves forward on every
    request the user makes (`touch`); the live stream and other requests no one typed for
    pass touch=False, so they never keep an idle terminal signed in."""
    now = utcnow()
    row = (await db.exec(_SESSION_LOOKUP, params={"token_hash": token_digest(token)})).first()
    if row is None:
        return None
    sess, user, unit, unread = row
    if sess.revoked_at is not None or sess.expires_at <= now or not user.active:
        return None
    if sess.device_id is not None and touch and settings is not None:
        expires = now + terminal_expiry(settings)
        if expires - sess.expires_at >= timedelta(seconds=1):
            await record_use(
                db,
                sa.update(UserSession)
                .where(col(UserSession.id) == sess.id, col(UserSession.revoked_at).is_(None))
                .values(expires_at=expires, last_seen_at=now),
            )
    elif now - sess.last_seen_at > SESSION_TOUCH_INTERVAL:
        await record_use(
            db,
            sa.update(UserSession)
            .where(col(UserSession.id) == sess.id, col(UserSession.last_seen_at) < now)
            .values(last_seen_at=now),
        )
    return Auth(
        user=user,
        unit=unit,
        via="session",
        session_token=token,
        unread_notifications=unread,
        device_id=sess.device_id,
    )


# An idle sign-out that arrives after the server's expiry (a terminal whose screen slept)
# may still keep its unsent post as a draft of the session's user, this long after.
LATE_DRAFT_WINDOW = timedelta(minutes=10)


async def lapsed_terminal_user(db: AsyncSession, token: str) -> User | None:
    """The user of a terminal session that ended by its idle expiry moments ago (not revoked,
    not signed out): whose unsent post a late idle sign-out may still save as a draft."""
    now = utcnow()
    row = (
        await db.exec(
            select(User)
            .join(UserSession, col(UserSession.user_id) == User.id)
            .where(
                col(UserSession.token_hash) == token_digest(token),
                col(UserSession.device_id).is_not(None),
                col(UserSession.revoked_at).is_(None),
                col(UserSession.expires_at) <= now,
                col(UserSession.expires_at) > now - LATE_DRAFT_WINDOW,
                col(User.active).is_(True),
            )
        )
    ).first()
    return row


async def end_session(db: AsyncSession, token: str) -> None:
    await db.exec(
        sa.update(UserSession)
        .where(col(UserSession.token_hash) == token_digest(token))
        .values(revoked_at=utcnow())
    )
    await db.commit()


async def end_all_sessions(db: AsyncSession, user_id: int, keep_token: str | None = None) -> None:
    await end_sessions(db, user_id, keep_token)
    await db.commit()


async def end_sessions(db: AsyncSession, user_id: int, keep_token: str | None = None) -> int:
    """End every live session of the user but `keep_token`'s, in the caller's transaction;
    answers how many ended."""
    stmt = sa.update(UserSession).where(
        col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None)
    )
    if keep_token:
        stmt = stmt.where(col(UserSession.token_hash) != token_digest(keep_token))
    result = await db.exec(stmt.values(revoked_at=utcnow()))
    return int(result.rowcount or 0)
