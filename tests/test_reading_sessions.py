"""PostgreSQL: a request that only reads runs each statement as its own transaction (no
BEGIN/ROLLBACK round trips); one that writes keeps its transaction; a reading request that
writes says so first (db.end_read), or the write is refused outside production."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from fastapi import Request
from sqlmodel import col

from app import db as app_db
from app.models import User
from app.routes import auth, feed, sso
from tests.conftest import IS_PG
from tests.factories import request_to

pytestmark = pytest.mark.skipif(not IS_PG, reason="SQLite keeps its read transactions")

NOW = sa.text("SELECT now()")
TOUCH = sa.update(User).where(col(User.id) == -1).values(name=User.name)


async def _two_clock_readings(request: Request) -> bool:
    """True if two statements of the request's session saw one transaction's clock."""
    sessions = app_db.get_session(request)  # an async generator, as FastAPI runs it
    db = await anext(sessions)
    try:
        first = (await db.execute(NOW)).scalar_one()
        await asyncio.sleep(0.01)
        return bool(first == (await db.execute(NOW)).scalar_one())
    finally:
        await sessions.aclose()
        await app_db.dispose_engines()


async def test_a_page_that_only_reads_runs_each_statement_on_its_own() -> None:
    assert not await _two_clock_readings(request_to(feed, "feed"))


async def test_a_post_and_a_get_declared_writing_keep_their_transaction() -> None:
    assert await _two_clock_readings(request_to(auth, "login", method="POST"))
    assert await _two_clock_readings(request_to(sso, "sso_callback"))


async def test_a_reading_request_writes_only_after_saying_so() -> None:
    sessions = app_db.get_session(request_to(feed, "feed"))
    db = await anext(sessions)
    try:
        await db.execute(NOW)
        with pytest.raises(app_db.UndeclaredWrite):
            await db.execute(TOUCH)
        await app_db.end_read(db)
        await db.execute(TOUCH)  # its own transaction: committed as it runs
    finally:
        await sessions.aclose()
        await app_db.dispose_engines()
