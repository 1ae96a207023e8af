"""Password logins and their throttle: the rules, not the HTTP.

Sessions and API tokens: services/people/sessions.py and tokens.py.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db import upsert
from app.i18n import _
from app.models import LoginThrottle, User
from app.models.base import UTCDateTime, utcnow
from app.security import verify_password
from app.services.errors import TooManyRequests


class LoginThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        message = _("Too many failed logins. Try again in %(seconds)s seconds.")
        super().__init__(message % {"seconds": retry_after}, retry_after)


def _account_key(code: str) -> str:
    return "acct:" + code.strip().lower()[:200]


def _address_key(address: str) -> str:
    return "addr:" + address[:200]


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
        upsert(db, t)
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


Keys = list[tuple[str, int]]  # (throttle key, failures allowed in the window)


def _password_keys(settings: Settings, code: str, address: str) -> Keys:
    # Always the account first, then the address: concurrent attempts lock rows in one order.
    return [
        (_account_key(code), settings.login_max_failures_per_account),
        (_address_key(address), settings.login_max_failures_per_address),
    ]


def _pin_keys(settings: Settings, code: str, device_id: int) -> Keys:
    """A PIN is counted per user and per device, apart from passwords: a PIN guessed at the
    shop counter must not lock the user's password login, nor the reverse."""
    return [
        ("pin:" + code.strip().lower()[:200], settings.login_max_failures_per_account),
        (f"device:{device_id}", settings.login_max_failures_per_address),
    ]


async def _begin_attempt(db: AsyncSession, settings: Settings, keys: Keys) -> None:
    """Count the attempt against every key (committed at once, before the slow hash check);
    raise LoginThrottled when any is over its limit."""
    now = utcnow()
    window = timedelta(seconds=settings.login_lockout_seconds)
    retry = 0
    for key, limit in keys:
        retry = max(retry, await _reserve_attempt(db, key, limit, window, now))
    await db.commit()
    if retry:
        raise LoginThrottled(retry)


async def _finish_attempt(db: AsyncSession, settings: Settings, keys: Keys, ok: bool) -> None:
    """A right secret clears the first (the person's) count and takes back its count against
    the others (address, device); a wrong one that used up a limit starts the block."""
    t = _THROTTLE
    if ok:
        (person, _limit), *others = keys
        await db.exec(sa.delete(t).where(t.c.key == person))
        for key, _limit in others:
            await db.exec(
                sa.update(t)
                .where(t.c.key == key, t.c.failures > 0)
                .values(failures=t.c.failures - 1)
            )
    else:
        now = utcnow()
        until = now + timedelta(seconds=settings.login_lockout_seconds)
        for key, limit in keys:
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


async def _check_secret(
    db: AsyncSession, settings: Settings, keys: Keys, code: str, secret: str, *, pin: bool
) -> User | None:
    """Count the attempt, check the user's password (or PIN) hash, settle the counts."""
    await _begin_attempt(db, settings, keys)
    user = (await db.exec(select(User).where(User.code == code.strip()))).first()
    stored = (user.pin_hash if pin else user.password_hash) if user else None
    ok = verify_password(stored, secret) and user is not None and user.active
    await _finish_attempt(db, settings, keys, ok)
    return user if ok else None


async def authenticate(
    db: AsyncSession, settings: Settings, code: str, password: str, address: str
) -> User | None:
    """Check a password login; raise LoginThrottled when the account or address is blocked.

    Attempts per account and per address within the window are counted in the database,
    so that every app instance enforces the same limits.
    """
    keys = _password_keys(settings, code, address)
    return await _check_secret(db, settings, keys, code, password, pin=False)


async def authenticate_pin(
    db: AsyncSession, settings: Settings, code: str, pin: str, device_id: int
) -> User | None:
    """Check a PIN sign-in on a shop device, throttled like passwords (per user and per
    device). Which users may sign in on which device is the caller's rule."""
    keys = _pin_keys(settings, code, device_id)
    return await _check_secret(db, settings, keys, code, pin, pin=True)


async def verify_current_password(
    db: AsyncSession, settings: Settings, user: User, password: str, address: str
) -> bool:
    """Re-check a signed-in user's password under the same throttle as logins.

    Guessing the current password on a stolen session counts against the account exactly
    as failed logins do, and is blocked (LoginThrottled) by the same lockout.
    """
    keys = _password_keys(settings, user.code, address)
    await _begin_attempt(db, settings, keys)
    ok = verify_password(user.password_hash, password)
    await _finish_attempt(db, settings, keys, ok)
    return ok
