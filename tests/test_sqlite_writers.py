"""SQLite's one writer: a request that writes waits its turn for the lock, never fails.

A GET's transaction begins as a read. Turning a read transaction into a write while another
connection holds the lock is refused at once ("database is locked"), so a GET that always
writes is declared (`db.writes`: its transaction takes the lock when it begins, as a POST's
does) and one that writes only sometimes ends its read first (`db.end_read`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db as app_db
from app.config import get_settings
from app.routes import auth, bulletins, sso
from tests.conftest import IS_PG
from tests.factories import csrf_from, request_to

pytestmark = pytest.mark.skipif(IS_PG, reason="PostgreSQL locks rows, not the database")

READ = sa.text("SELECT count(*) FROM users")
WRITE = sa.text("UPDATE users SET name = name WHERE id = -1")


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
    await _write_while_another_holds_the_lock(request_to(sso, "sso_callback"))


async def test_a_post_waits_for_the_lock() -> None:
    await _write_while_another_holds_the_lock(request_to(auth, "login", method="POST"))


async def test_a_get_that_ends_its_read_first_waits_for_the_lock() -> None:
    await _write_while_another_holds_the_lock(
        request_to(bulletins, "show_bulletin"), app_db.end_read
    )


async def test_a_get_that_writes_after_reading_without_either_fails() -> None:
    """What the two ways prevent (the test above would pass for any route without them)."""
    with pytest.raises(sa.exc.OperationalError, match="database is locked"):
        await _write_while_another_holds_the_lock(request_to(bulletins, "show_bulletin"))


# ---------------------------------------------------------------------------------------
# A lock that stays taken is the database being busy for a moment: 503, never a 500


def _locked_error(path: str) -> sqlite3.OperationalError:
    """The error SQLite raises for a write while another connection holds the lock."""
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as locked:
            writer.execute("BEGIN IMMEDIATE")
        return locked.value
    finally:
        holder.close()
        writer.close()


def test_a_lock_that_stays_taken_counts_as_the_database_away(tmp_path) -> None:
    path = str(tmp_path / "locked.db")
    sqlite3.connect(path).close()
    busy = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, _locked_error(path))
    assert app_db.database_unavailable(busy)
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.OperationalError) as wrong:
        conn.execute("SELECT * FROM no_such_table")
    assert not app_db.database_unavailable(sa.exc.OperationalError("SELECT", {}, wrong.value))


async def test_a_write_refused_by_the_lock_answers_503_with_retry_after(client, db) -> None:
    """A failed password is counted (a write) while another connection holds the lock past
    the busy timeout: the answer is "try again in a moment", not an internal error."""
    await db.execute(sa.text("PRAGMA busy_timeout = 0"))
    page = await client.get("/login")
    other = app_db.make_async_engine(get_settings(), writer=True)
    try:
        async with other.connect() as holder:
            await holder.execute(WRITE)  # BEGIN IMMEDIATE: the lock is held
            r = await client.post(
                "/login",
                data={"code": "E9999", "password": "wrong", "csrf_token": csrf_from(page.text)},
            )
            await holder.rollback()
    finally:
        await other.dispose()
        await db.execute(sa.text("PRAGMA busy_timeout = 30000"))
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == str(app_db.UNAVAILABLE_RETRY_AFTER_S)
    assert "数秒後にもう一度お試しください" in r.text  # the page of the database away, in Japanese
