"""PostgreSQL restarts under load, against a PostgreSQL of this test's own (a second cluster
on port 5440, never the shared one): no 500 (503 with Retry-After while the database is
away), every acknowledged post exists afterwards and reached the other instance's live
stream, and like counters equal their rows.

Runs in the PostgreSQL pass only (once per CI run); it needs root to make the cluster with
pg_createcluster, and fails rather than skips under CI=true when it cannot.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from app import live
from tests.conftest import IS_PG
from tests.livetools import PRAISE, SseReader, app_server, browser_login

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.serial,  # restarts a PostgreSQL cluster on a fixed port
    pytest.mark.skipif(not IS_PG, reason="PostgreSQL pass only"),
]
VERSION, CLUSTER, PORT = "15", "faults", 5440
SSE_TIMEOUT = httpx.Timeout(10, read=live.HEARTBEAT_SECONDS + 10)
DB_NAME = f"arigato_faults_{os.getpid()}"  # two runs at once never drop each other's
ADMIN_URL = f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"
APP_URL = f"postgresql://postgres@127.0.0.1:{PORT}/{DB_NAME}"


def _cluster_running() -> bool:
    found = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True)
    for line in found.stdout.splitlines():
        fields = line.split()
        if fields[:2] == [VERSION, CLUSTER]:
            return fields[3] == "online"
    subprocess.run(
        ["pg_createcluster", VERSION, CLUSTER, "--port", str(PORT), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    return False


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[str]:
    try:
        if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
            raise RuntimeError("needs root and postgresql-common (pg_createcluster)")
        if not _cluster_running():
            subprocess.run(["pg_ctlcluster", VERSION, CLUSTER, "start"], check=True)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot run a PostgreSQL of the test's own: {exc}")
        pytest.skip(f"cannot run a PostgreSQL of the test's own: {exc}")
    # No pool: the restarts below end every pooled connection.
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    env = {**os.environ, "DATABASE_URL": APP_URL, "ARIGATO_ENV": "test"}
    subprocess.run([sys.executable, "-m", "app.cli", "demo"], env=env, check=True)
    yield APP_URL
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def two_instances(own_postgres):
    with app_server(own_postgres) as a, app_server(own_postgres) as b:
        yield a, b


def _restart(mode: str) -> None:
    extra = ["-m", "immediate"] if mode == "immediate" else []
    subprocess.run(["pg_ctlcluster", VERSION, CLUSTER, "restart", *extra], check=True)


class Load:
    """Writers that post (each post retried with its Idempotency-Key until answered), like,
    and read, recording every status they get."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.without_retry_after = 0
        self.posted: set[int] = set()
        self.stop = asyncio.Event()

    def note(self, r: httpx.Response) -> None:
        self.statuses[r.status_code] += 1
        if r.status_code == 503 and "retry-after" not in r.headers:
            self.without_retry_after += 1

    async def _send(self, call) -> httpx.Response:  # type: ignore[no-untyped-def]
        while True:
            r = await call()
            self.note(r)
            if r.status_code != 503:
                return r
            await asyncio.sleep(0.2)

    async def writer(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            key = {"Idempotency-Key": str(uuid.uuid4())}
            r = await self._send(lambda: client.post("/api/v1/posts", json=PRAISE, headers=key))
            assert r.status_code == 201, r.text
            post_id = r.json()["id"]
            self.posted.add(post_id)
            liked = await self._send(lambda: client.put(f"/api/v1/posts/{post_id}/like"))
            assert liked.status_code == 200, liked.text

    async def reader(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            self.note(await client.get("/api/v1/posts?limit=10"))
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_database_restart_under_load_loses_nothing(two_instances, own_postgres, mode):
    a, b = two_instances
    writer = await browser_login(a, "E1002")
    liker = await browser_login(b, "E1003")
    reader = await browser_login(b, "E1001")
    load = Load()
    try:
        # As a browser: no read timeout shorter than the heartbeat (a quiet stretch is not an end)
        async with reader.stream("GET", "/events?feed=1", timeout=SSE_TIMEOUT) as response:
            events = SseReader(response)
            await events.wait_for("bell")
            tasks = [
                asyncio.ensure_future(load.writer(writer)),
                asyncio.ensure_future(load.writer(liker)),
                asyncio.ensure_future(load.reader(reader)),
            ]
            await asyncio.sleep(0.5)
            await asyncio.to_thread(_restart, mode)
            await asyncio.sleep(1.0)
            load.stop.set()
            await asyncio.gather(*tasks)
            assert (await reader.get("/readyz")).json()["database"] == "ok"

            # The other instance's stream heard of every post E1001 did not write itself
            # (all of them here): its banner counts them all, once each.
            want = len(load.posted)
            counted = 0
            while counted < want:
                banner = await events.wait_for("new-posts", 15)
                counted = int(re.search(r"\d+", banner.data).group())  # type: ignore[union-attr]
            assert counted == want
            assert await events.nothing_named("new-posts", 1.5)
    finally:
        for client in (writer, liker, reader):
            await client.aclose()

    assert not {s for s in load.statuses if s >= 500} - {503}, load.statuses
    assert load.without_retry_after == 0
    engine = sa.create_engine(own_postgres.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT id FROM posts WHERE id = ANY(:ids)"), {"ids": list(load.posted)}
        ).all()
        drift = conn.execute(
            sa.text(
                "SELECT count(*) FROM posts p WHERE like_count <> "
                "(SELECT count(*) FROM likes l WHERE l.post_id = p.id)"
            )
        ).scalar_one()
        doubles = conn.execute(
            sa.text("SELECT count(*) FROM posts WHERE title = :t"), {"t": PRAISE["title"]}
        ).scalar_one()
    engine.dispose()
    assert len(found) == len(load.posted) > 0
    assert doubles >= len(load.posted)  # every earlier mode's posts are there too
    assert drift == 0
