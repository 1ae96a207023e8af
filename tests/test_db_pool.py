"""The connection pool on PostgreSQL: a connection that sat idle is pinged before use, so
that a database restart needs no restart of the app; one in steady use is not pinged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import db as app_db
from app.config import get_settings
from tests.conftest import IS_PG

pytestmark = pytest.mark.skipif(not IS_PG, reason="the pool settings are PostgreSQL's")


async def _backend_pid(engine: sa.ext.asyncio.AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(engine: sa.ext.asyncio.AsyncEngine, pid: int) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_an_idle_connection_killed_by_the_server_is_replaced_unnoticed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = app_db.make_async_engine(get_settings())
    killer = app_db.make_async_engine(get_settings())
    try:
        pid = await _backend_pid(engine)
        await _terminate(killer, pid)
        monkeypatch.setattr(app_db, "PING_AFTER_IDLE_S", 0.0)  # every pooled one counts as idle
        # The same pooled connection would be handed out; the ping finds it dead.
        assert await _backend_pid(engine) != pid
    finally:
        await engine.dispose()
        await killer.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ping, a statement on a connection killed a moment ago fails once, and the
    pool then reconnects (SQLAlchemy invalidates the pool on a disconnect error)."""
    engine = app_db.make_async_engine(get_settings())
    killer = app_db.make_async_engine(get_settings())
    try:
        monkeypatch.setattr(app_db, "PING_AFTER_IDLE_S", 3600.0)
        pid = await _backend_pid(engine)
        await _terminate(killer, pid)
        with pytest.raises(sa.exc.DBAPIError) as failed:
            await _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await _backend_pid(engine) != pid
    finally:
        await engine.dispose()
        await killer.dispose()


async def test_a_session_whose_connection_died_after_the_answer_closes_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen under a restart: a read had answered, and closing its session (a ROLLBACK on a
    connection the server had just ended) raised after the response had started, so the
    server dropped the client's connection mid-answer. Closing never fails the request."""
    from starlette.requests import Request

    engine = app_db.make_async_engine(get_settings())
    killer = app_db.make_async_engine(get_settings())
    monkeypatch.setattr(app_db, "get_engine", lambda **_: engine)  # with transactions
    request = Request({"type": "http", "method": "GET", "headers": []})
    sessions = app_db.get_session(request)
    try:
        session = await sessions.__anext__()
        pid = (await session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        await _terminate(killer, pid)
        with pytest.raises(StopAsyncIteration):
            await sessions.__anext__()  # the request is over: the session closes
        assert await _backend_pid(engine) != pid  # and the pool moved on
    finally:
        await engine.dispose()
        await killer.dispose()
