"""Factories with overrides (`await make_user(db, role="curator")`) and the helpers the tests
share: logging in, parsing pages, HTMX and bearer-token headers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any

import httpx
import sqlalchemy as sa
from bs4 import BeautifulSoup
from fastapi import Request
from sqlalchemy.ext.asyncio import async_object_session
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.config import get_settings
from app.models import OrgUnit, Post, User
from app.models.base import utcnow
from app.security import csrf_token_for, hash_password
from app.services.ocr.drainer import Drainer as ImageCheckDrainer
from app.services.people import sessions as session_service
from app.services.people.tokens import issue_token
from app.services.search import indexed_text
from app.web import SESSION_COOKIE

PASSWORD = "correct-horse-battery"
HX = {"HX-Request": "true"}  # what HTMX sends: the app answers with a fragment
_seq = itertools.count(1)


@cache
def password_hash() -> str:
    """argon2 is slow on purpose: hash the shared test password once."""
    return hash_password(PASSWORD)


async def make_unit(db: AsyncSession, **kw: Any) -> OrgUnit:
    n = next(_seq)
    values: dict[str, Any] = {"code": f"U{n:04d}", "name": f"テスト店舗{n}", "kind": "shop"}
    values.update(kw)
    unit = OrgUnit(**values)
    db.add(unit)
    await db.commit()
    await db.refresh(unit)
    return unit


async def make_units(
    db: AsyncSession, *rows: tuple[str, str, str, str | None]
) -> dict[str, OrgUnit]:
    """A unit tree from (code, name, kind, parent code) rows, parents first; by code."""
    units: dict[str, OrgUnit] = {}
    for code, name, kind, parent in rows:
        parent_id = units[parent].id if parent else None
        units[code] = await make_unit(db, code=code, name=name, kind=kind, parent_id=parent_id)
    return units


async def make_user(db: AsyncSession, unit: OrgUnit | None = None, **kw: Any) -> User:
    n = next(_seq)
    unit = unit or await make_unit(db)
    values: dict[str, Any] = {
        "code": f"E{n:05d}",
        "name": f"社員 {n}号",
        "unit_id": unit.id,
        "role": "staff",
        "password_hash": password_hash(),
    }
    values.update(kw)
    user = User(**values)
    db.add(user)
    await db.commit()
    await db.refresh(user)
    return user


async def make_post(db: AsyncSession, author: User, **kw: Any) -> Post:
    now = utcnow()
    values: dict[str, Any] = {
        "kind": "praise",
        "title": "お客さまからありがとう",
        "body": "丁寧な説明に感謝されました。",
        "author_id": author.id,
        "unit_id": author.unit_id,
        "status": "published",
        "created_at": now,
        "updated_at": now,
        "published_at": now,
        "channel": "counter",
    }
    values.update(kw)
    values.setdefault("search_text", indexed_text(values["title"], values["body"]))
    post = Post(**values)
    db.add(post)
    await db.commit()
    await db.refresh(post)
    return post


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def login(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> str:
    """Log in through the real form; return the session's CSRF token.

    For the tests about logging in; the others use `login_as`."""
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"code": user.code, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    feed = await client.get("/")
    return csrf_from(feed.text)


async def login_as(client: httpx.AsyncClient, user: User) -> str:
    """Start a session for `user` as the login form would (the app's own `start_session`, in
    the test's database session) and give `client` its cookie; return its CSRF token."""
    db = async_object_session(user)
    assert db is not None, "login_as needs a user from the test's database session"
    settings = get_settings()
    token = await session_service.start_session(db, settings, user, "python-httpx", "10.0.0.1")
    client.cookies.set(SESSION_COOKIE, token)
    return csrf_token_for(settings.secret_key, token)


def soup(page: httpx.Response | str) -> BeautifulSoup:
    """A page (a response or its HTML) parsed for `select` and friends."""
    return BeautifulSoup(page if isinstance(page, str) else page.text, "html.parser")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def bearer_for(db: AsyncSession, user: User, scope: str = "write") -> dict[str, str]:
    """The header of a new API token of `user`'s."""
    _row, token = await issue_token(db, user, name="t", scope=scope, days=None)
    return bearer(token)


@contextmanager
def stopped_clock(start: datetime) -> Iterator[Callable[[datetime], None]]:
    """The app's clock stopped at `start` (app/clock.py); the test moves it with the setter
    this yields, and the real clock is back afterwards."""
    now = [start]
    clock.set_clock(lambda: now[0])

    def set_to(when: datetime) -> None:
        now[0] = when

    try:
        yield set_to
    finally:
        clock.set_clock(None)


def image_checker(db: AsyncSession, settings: Any = None) -> ImageCheckDrainer:
    """The personal-data check of images (OCR), run step by step in the test's transaction:
    `await image_checker(db).drain_once()` checks every image waiting (held until then)."""

    def session() -> AsyncSession:
        return AsyncSession(
            bind=db.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return ImageCheckDrainer(session, settings or get_settings())


async def bypass_audit_guard(conn: Any, statements: list[str]) -> None:
    """Run `statements` on audit_log as a database superuser could: with the triggers that
    refuse UPDATE, DELETE and TRUNCATE out of the way (dropped and put back on SQLite,
    disabled for this transaction on PostgreSQL). For tampering tests and for emptying the
    tables after tests that really commit."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            await conn.execute(sa.text(statement))
        await conn.execute(sa.text("SET LOCAL session_replication_role = origin"))
        return
    guards = (
        await conn.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_log' AND name LIKE 'audit_log_no_%'"
            )
        )
    ).all()
    for name, _sql in guards:
        await conn.execute(sa.text(f"DROP TRIGGER {name}"))
    for statement in statements:
        await conn.execute(sa.text(statement))
    for _name, sql in guards:
        await conn.execute(sa.text(sql))


def request_to(module: ModuleType, route_name: str, method: str = "GET") -> Request:
    """A bare request matched to a route of `module`'s router, for what `get_session` reads
    of it (the method and the route's endpoint)."""
    route = next(r for r in module.router.routes if getattr(r, "name", None) == route_name)
    return Request({"type": "http", "method": method, "route": route, "headers": []})
