"""Test set-up: one throwaway database per run (SQLite or PostgreSQL), migrated with alembic,
and a transaction rolled back after every test, so that each test starts clean.

Pick the database with TEST_DATABASE_URL (default: a SQLite file in a temp folder), e.g.
TEST_DATABASE_URL=postgresql://postgres@127.0.0.1/test. Under CI=true an unreachable
PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# Kept in the environment so that a second import of this module (tests import helpers
# from it) cannot point the run at another, empty database. Under pytest-xdist the workers
# inherit the controller's values, and each adds its worker id ("gw0", ...): every worker
# has its own database and folder, and so does everything named after RUN_DB (db_name()).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_TMP = Path(os.environ.setdefault("ARIGATO_TEST_TMP", tempfile.mkdtemp(prefix="arigato-tests-")))
if WORKER:
    _TMP = _TMP / WORKER
    _TMP.mkdir(exist_ok=True)
# Temp files (uploads in flight, tests that look for leftovers) in a folder of this process's
# own, never the machine's shared one; servers the tests start inherit it through TMPDIR.
tempfile.tempdir = str(_TMP / "tmp")
os.makedirs(tempfile.tempdir, exist_ok=True)
os.environ["TMPDIR"] = tempfile.tempdir
BASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db"
IS_PG = BASE_URL.startswith("postgres")
RUN = os.environ.setdefault(
    "ARIGATO_TEST_RUN_DB", f"arigato_test_{os.getpid()}_{secrets.token_hex(3)}"
)
RUN_DB = RUN + (f"_{WORKER}" if WORKER else "")
# The run's shared folder (each xdist worker has a folder of its own inside it).
RUN_TMP = Path(os.environ["ARIGATO_TEST_TMP"])


def db_name(suffix: str) -> str:
    """A database of a test's own, e.g. a live server's: named after this run and worker, so
    that parallel workers and runs never drop each other's."""
    return f"{RUN_DB}_{suffix}"[:63]


# The demo company loaded once per run, copied for every demo server (tests/livetools.py).
DEMO_TEMPLATE_DB = f"{RUN}_demo"[:63]


def _pg_url(dbname: str) -> str:
    return re.sub(r"/[^/?]*(\?.*)?$", f"/{dbname}", BASE_URL)


DATABASE_URL = _pg_url(RUN_DB) if IS_PG else BASE_URL

os.environ.update(
    ARIGATO_ENV="test",
    DATABASE_URL=DATABASE_URL,
    SECRET_KEY="test-secret-key-" + "x" * 32,
    UPLOAD_DIR=str(_TMP / "uploads"),
    LOG_LEVEL="WARNING",
)

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from fastapi import Request  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from app import db as app_db  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import get_session, make_async_engine  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import upgrade_to_head  # noqa: E402
from tests.factories import bearer_for, make_user  # noqa: E402


def _admin_pg(sql: str) -> None:
    engine = sa.create_engine(
        _pg_url("postgres").replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _is_xdist_controller(config: pytest.Config) -> bool:
    """The process that hands tests to xdist workers runs none itself: no database for it."""
    return not WORKER and bool(getattr(config.option, "numprocesses", None))


def pytest_sessionstart(session: pytest.Session) -> None:
    controller = _is_xdist_controller(session.config)
    if IS_PG:
        try:
            _admin_pg("SELECT 1" if controller else f'CREATE DATABASE "{RUN_DB}"')
        except Exception as exc:
            msg = f"PostgreSQL at {BASE_URL} is not reachable: {exc}"
            if os.environ.get("CI") == "true":
                pytest.exit(msg, returncode=3)
            pytest.exit(msg + " (set TEST_DATABASE_URL to a reachable server)", returncode=3)
    if not controller:
        upgrade_to_head()


# Under xdist (scripts/test: --dist loadgroup) a module runs whole on one worker, so that its
# module and session fixtures (servers, demo databases) start once; the modules named here
# have many slow tests with databases of their own and are spread over the workers instead.
SPREAD_MODULES = {"tests/test_migration_history.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::")[0]
        if module not in SPREAD_MODULES and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(module))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IS_PG:
        return
    # Each worker drops its own database; the process that started the run (no worker id),
    # the demo template its workers shared (tests/livetools.py).
    names = [RUN_DB] if WORKER or not _is_xdist_controller(session.config) else []
    if not WORKER:
        names.append(DEMO_TEMPLATE_DB)
    for name in names:
        try:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:
            pass


@pytest.fixture(scope="session")
def settings():  # type: ignore[no-untyped-def]
    return get_settings()


@pytest.fixture(scope="session")
async def engine():  # type: ignore[no-untyped-def]
    eng = make_async_engine(get_settings())
    yield eng
    await eng.dispose()


@pytest.fixture
async def db(engine, request) -> AsyncIterator[AsyncSession]:  # type: ignore[no-untyped-def]
    """A session inside an outer transaction that is rolled back after the test.

    The app's own commits become SAVEPOINT releases, so nothing a test writes survives it.
    """
    if request.node.get_closest_marker("nodb"):
        pytest.fail("a test marked nodb uses the database: the PostgreSQL pass would skip it")
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
def app(db):  # type: ignore[no-untyped-def]
    application = create_app()

    async def _session(request: Request) -> AsyncIterator[AsyncSession]:
        # The one session of the test, marked as get_session marks a reading request's:
        # a GET that writes without db.end_read fails here as it would in the app.
        db.info[app_db.READING] = not app_db.request_writes(request)
        try:
            yield db
        finally:
            db.info.pop(app_db.READING, None)
            db.info.pop(app_db.WRITING, None)

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def make_client(app):  # type: ignore[no-untyped-def]
    """More browsers against the same app (each with its own cookies)."""
    clients: list[httpx.AsyncClient] = []

    def factory(address: str = "10.0.0.2") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(c)
        return c

    yield factory
    for c in clients:
        await c.aclose()


@pytest.fixture
def tmp_sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/cli.db"


@pytest.fixture
async def author(db):  # type: ignore[no-untyped-def]
    """A staff member who writes posts (a module may name its own)."""
    return await make_user(db, name="山田 太郎")


@pytest.fixture
async def api(client, db, author):  # type: ignore[no-untyped-def]
    """The client, signed in through the API as `author` with a write token."""
    client.headers.update(await bearer_for(db, author))
    return client
