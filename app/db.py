"""Database engines and sessions: async for the app, sync for migrations and the CLI."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncGenerator
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.logging import get_logger

_engines: dict[str, AsyncEngine] = {}
_F = TypeVar("_F")

log = get_logger("arigato.db")


def upsert(db: AsyncSession, table: Any) -> Any:
    """INSERT into `table` that takes ON CONFLICT DO NOTHING / DO UPDATE: PostgreSQL and
    SQLite share the syntax but not SQLAlchemy's class, so the session's dialect picks."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table)


def _sqlite_no_implicit_tx(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # SAVEPOINTs (nested transactions) behave as on PostgreSQL.
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    # A write request takes the write lock up front: a deferred transaction that read first
    # would fail with SQLITE_BUSY when it tries to write after another writer committed.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL and a busy timeout let many writers share one file; foreign keys are off by default.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# A pooled connection idle for longer than this is pinged before use; one in steady use is not.
PING_AFTER_IDLE_S = 10.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle.

    SQLAlchemy's pool_pre_ping costs three round trips (BEGIN, ping, ROLLBACK with asyncpg) on
    every checkout, more than a typical read. A connection that was returned a moment ago is
    alive in all but a database restart under load; for that case SQLAlchemy's own disconnect
    handling invalidates the whole pool on the first failed statement, so one request fails
    and the next ones reconnect. Raising DisconnectionError here makes the pool discard the
    connection and hand out a fresh one.
    """
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise sa.exc.DisconnectionError(str(exc)) from exc


def make_async_engine(settings: Settings, *, writer: bool = False) -> AsyncEngine:
    url = settings.async_database_url
    if settings.is_sqlite:
        engine = create_async_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_no_implicit_tx)
        begin = _sqlite_begin_immediate if writer else _sqlite_begin
        sa.event.listen(engine.sync_engine, "begin", begin)
    else:
        # Idle connections are pinged before use, so that a restarted database needs no
        # restart of the app (see _ping_if_idle).
        engine = create_async_engine(url, pool_size=10, max_overflow=10)
        sa.event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
        sa.event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


def make_sync_engine(settings: Settings) -> sa.Engine:
    engine = sa.create_engine(settings.sync_database_url)
    if settings.is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(
    settings: Settings | None = None, *, writer: bool = False, reading: bool = False
) -> AsyncEngine:
    """One engine per database; on SQLite a second one whose transactions write-lock.

    `reading` (PostgreSQL): the same engine and pool, but each statement its own transaction
    (AUTOCOMMIT) — for requests that only read. PostgreSQL gives every statement of a READ
    COMMITTED transaction a snapshot of its own anyway, so such a request sees the same; it
    saves the BEGIN and ROLLBACK round trips (and their toolkit cost) of every page.
    """
    settings = settings or get_settings()
    writer = writer and settings.is_sqlite
    reading = reading and not settings.is_sqlite
    key = settings.async_database_url + ("#writer" if writer else "")
    if key not in _engines:
        _engines[key] = make_async_engine(settings, writer=writer)
    if not reading:
        return _engines[key]
    reader = _engines.get(key + "#reading")
    if reader is None:
        reader = _engines[key + "#reading"] = _engines[key].execution_options(
            isolation_level="AUTOCOMMIT"
        )
        _autocommit[id(reader)] = _engines[key]
    return reader


# Autocommit engines (get_engine(reading=True)) by id, each with the engine it shares a pool with.
_autocommit: dict[int, AsyncEngine] = {}


def autocommits(db: AsyncSession) -> bool:
    """True if each statement of `db` is its own transaction (a reading request's, on
    PostgreSQL): there is no transaction to roll back, and no savepoint to take."""
    return id(db.bind) in _autocommit


def transactional(bind: Any) -> Any:
    """The engine behind a reading session's, with transactions: for work that must write
    all or nothing even when a reading request starts it (publishing the due bulletins)."""
    return _autocommit.get(id(bind), bind)


async def dispose_engines() -> None:
    for engine in list(_engines.values()):
        await engine.dispose()
    _engines.clear()
    _autocommit.clear()
    _makers.clear()


_makers: dict[int, async_sessionmaker[AsyncSession]] = {}


WRITES = "_arigato_writes"
READING = "reading"  # Session.info: a reading request's session, on an autocommit engine
WRITING = "writing"  # Session.info: end_read was called: writes from here on are meant


class UndeclaredWrite(RuntimeError):
    """A reading request wrote without end_read (or its route without `writes`)."""


def _undeclared_write(session: sa.orm.Session, what: str) -> None:
    if not session.info.get(READING) or session.info.get(WRITING):
        return
    message = f"a reading request wrote ({what}) without db.end_read or @db.writes"
    if get_settings().env != "production":
        raise UndeclaredWrite(message)
    log.error("undeclared_write", what=what)


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _check_execute(state: sa.orm.ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _undeclared_write(state.session, type(state.statement).__name__)


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _check_flush(session: sa.orm.Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        _undeclared_write(session, "flush")


def writes(endpoint: _F) -> _F:
    """Declare that a GET route always writes (it signs someone in, so it must be a GET: the
    identity provider redirects back). On SQLite its transaction then takes the write lock
    when it begins, as a POST's does, instead of turning a read into a write halfway, which
    fails at once ("database is locked") when another connection has written since. Put it
    under the route decorator. A GET that writes only sometimes uses `end_read` instead."""
    setattr(endpoint, WRITES, True)
    return endpoint


def request_writes(request: Request) -> bool:
    """True for a request that writes: not a GET (HEAD, OPTIONS), or a GET declared `writes`."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    return getattr(getattr(request.scope.get("route"), "endpoint", None), WRITES, False)


async def end_read(db: AsyncSession) -> None:
    """Before the first write of a request that reads: end what it has read so far. On
    SQLite the write then opens a transaction of its own, which waits its turn for the lock;
    a read transaction that turns into a write is refused at once when another connection
    wrote since it began. On PostgreSQL a reading request's statements commit one by one
    (get_engine(reading=True)): what it writes after this must be one statement, or go
    through a transactional session of its own (`transactional`)."""
    db.info[WRITING] = True
    await db.commit()


async def get_session(request: Request) -> AsyncGenerator[AsyncSession, None]:
    writing = request_writes(request)
    engine = get_engine(writer=writing, reading=not writing)
    maker = _makers.get(id(engine))
    if maker is None:
        maker = _makers[id(engine)] = async_sessionmaker(
            engine, class_=AsyncSession, expire_on_commit=False
        )
    session = maker()
    if id(engine) in _autocommit:
        session.info[READING] = True
    try:
        yield session
    finally:
        await close_quietly(session)


async def close_quietly(session: AsyncSession) -> None:
    """Close a request's session. When that runs the answer is decided, often already
    being sent: a rollback that fails because the database went away meanwhile must not
    turn it into an error (the pool drops that connection by itself)."""
    try:
        await session.close()
    except sa.exc.DBAPIError as exc:
        log.warning("session closed on a lost connection", error=type(exc.orig).__name__)


# Retry-After for a database that is away (a fast restart takes a second or two).
UNAVAILABLE_RETRY_AFTER_S = 2


def _driver_unavailable_errors() -> tuple[type[Exception], ...]:
    """asyncpg's errors for a server that is gone, shutting down or not accepting yet."""
    import asyncpg

    return (
        asyncpg.PostgresConnectionError,  # class 08: the connection is lost or refused
        asyncpg.OperatorInterventionError,  # class 57: shutting down, cannot connect now
        asyncpg.InterfaceError,  # "connection is closed" and the like
    )


def unavailable_errors() -> tuple[type[Exception], ...]:
    """What a request can raise while the database is away: connecting raises the driver's
    or the socket's error as is, a statement on a connection that died raises a DBAPIError
    whose connection_invalidated is set, and the pool raises its own two."""
    return (
        sa.exc.DBAPIError,
        sa.exc.DisconnectionError,
        sa.exc.TimeoutError,
        ConnectionError,
        TimeoutError,
        *_driver_unavailable_errors(),
    )


def _sqlite_busy(error: BaseException | None) -> bool:
    """SQLite's write lock stayed taken past the busy timeout (or a read transaction could
    not become a write): the database is busy for a moment, as a restarting PostgreSQL is."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def database_unavailable(exc: BaseException) -> bool:
    """True if `exc` says the database cannot be reached now (not that a statement is wrong:
    an IntegrityError is a DBAPIError too, and stays a bug)."""
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or _sqlite_busy(exc.orig)
    if isinstance(exc, sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError, *_driver_unavailable_errors()))
