"""Database engines and sessions: async for the app, sync for migrations and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings

_engines: dict[str, AsyncEngine] = {}


def _sqlite_no_implicit_tx(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # SAVEPOINTs (nested transactions) behave as on PostgreSQL.
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL and a busy timeout let many writers share one file; foreign keys are off by default.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_async_engine(settings: Settings) -> AsyncEngine:
    url = settings.async_database_url
    if settings.is_sqlite:
        engine = create_async_engine(url, connect_args={"timeout": 10})
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_no_implicit_tx)
        sa.event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        # pool_pre_ping survives a restarted database without restarting the app.
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return engine


def make_sync_engine(settings: Settings) -> sa.Engine:
    engine = sa.create_engine(settings.sync_database_url)
    if settings.is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(settings: Settings | None = None) -> AsyncEngine:
    settings = settings or get_settings()
    url = settings.async_database_url
    if url not in _engines:
        _engines[url] = make_async_engine(settings)
    return _engines[url]


async def dispose_engines() -> None:
    for engine in list(_engines.values()):
        await engine.dispose()
    _engines.clear()


async def get_session() -> AsyncIterator[AsyncSession]:
    maker = async_sessionmaker(get_engine(), class_=AsyncSession, expire_on_commit=False)
    async with maker() as session:
        yield session
