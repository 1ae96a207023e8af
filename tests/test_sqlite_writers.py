"""SQLite's one writer: a request that writes waits its turn for the lock, never fails.

A GET's transaction begins as a read. Turning a read transaction into a write while another
connection holds the lock is refused at once ("database is locked"), so a GET that always
writes is declared (`db.writes`: its transaction takes the lock when it begins, as a POST's
does) and one that writes only sometimes ends its read first (`db.end_read`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import ModuleType

import pytest
import sqlalchemy as sa
from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db as app_db
from app.config import get_settings
from app.routes import auth, bulletins, sso
from tests.conftest import IS_PG

pytestmark = pytest.mark.skipif(IS_PG, reason="PostgreSQL locks rows, not the database")

READ = sa.text("SELECT count(*) FROM users")
WRITE = sa.text("UPDATE users SET name = name WHERE id = -1")


def _request_to(module: ModuleType, route_name: str, method: str = "GET") -> Request:
    route = next(r for r in module.router.routes if getattr(r, "name", None) == route_name)
    return Request({"type": "http", "method": method, "route": route, "headers": []})


async def _write_while_another_holds_the_lock(
    request: Request, between: Callable[[AsyncSession], Awaitable[None]] | None = None
) -> None:
    """A request's work (read, then write) through its session, begun while another
    connection holds the write lock, which it lets go half a second later."""
    other = app_db.make_async_engine(get_settings(), writer=True)
    sessions = app_db.get_session(request)  # an async generator, as FastAPI runs it
    db = await anext(sessions)

    async def work() -> None:
        await db.execute(READ)
        if between is not None:
            await between(db)
        await db.execute(WRITE)
        await db.commit()

    try:
        async with other.connect() as holder:
            await holder.execute(WRITE)  # BEGIN IMMEDIATE: the lock is held
            done = asyncio.ensure_future(work())
            await asyncio.sleep(0.5)
            await holder.commit()
        await done
    finally:
        await sessions.aclose()
        await other.dispose()


async def test_a_get_declared_writing_waits_for_the_lock() -> None:
    await _write_while_another_holds_the_lock(_request_to(sso, "sso_callback"))


async def test_a_post_waits_for_the_lock() -> None:
    await _write_while_another_holds_the_lock(_request_to(auth, "login", method="POST"))


async def test_a_get_that_ends_its_read_first_waits_for_the_lock() -> None:
    await _write_while_another_holds_the_lock(
        _request_to(bulletins, "show_bulletin"), app_db.end_read
    )


async def test_a_get_that_writes_after_reading_without_either_fails() -> None:
    """What the two ways prevent (the test above would pass for any route without them)."""
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        await _write_while_another_holds_the_lock(_request_to(bulletins, "show_bulletin"))
