"""Real app servers (`python -m app.cli serve` in subprocesses) and an SSE reader, for the
live-update tests: the in-process test client cannot hold a stream open."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.demo import DEMO_PASSWORD
from tests.conftest import DEMO_TEMPLATE_DB, IS_PG, RUN_TMP, _admin_pg, _pg_url, db_name
from tests.factories import csrf_from

ARIGATO = [sys.executable, "-m", "app.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_template() -> str:
    """The run's demo template (a PostgreSQL database name, or a SQLite file): the demo
    company is loaded once per run, by whichever worker needs it first, under a lock the
    others wait on (`arigato demo` costs 5-15 s of a busy machine, and a pass starts about a
    dozen demo servers); every demo database is a copy of it."""
    done = RUN_TMP / "demo-template.done"
    sqlite_file = RUN_TMP / "demo-template.db"
    with open(RUN_TMP / "demo-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            if IS_PG:
                _admin_pg(f'DROP DATABASE IF EXISTS "{DEMO_TEMPLATE_DB}" WITH (FORCE)')
                _admin_pg(f'CREATE DATABASE "{DEMO_TEMPLATE_DB}"')
                url = _pg_url(DEMO_TEMPLATE_DB)
            else:
                sqlite_file.unlink(missing_ok=True)
                url = f"sqlite:///{sqlite_file}"
            env = {**os.environ, "DATABASE_URL": url, "ARIGATO_ENV": "test"}
            subprocess.run([*ARIGATO, "demo"], env=env, check=True, capture_output=True)
            done.touch()
    return DEMO_TEMPLATE_DB if IS_PG else str(sqlite_file)


@contextmanager
def demo_database(name: str, tmp_dir: str) -> Iterator[str]:
    """A fresh database (PostgreSQL under a PostgreSQL run, else SQLite) with the demo data:
    a copy of the run's demo template."""
    template = _demo_template()
    name = db_name(name)  # per run and xdist worker
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = _pg_url(name)
    else:
        path = Path(tmp_dir) / f"{name}.db"
        source, copy = sqlite3.connect(template), sqlite3.connect(path)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        url = f"sqlite:///{path}"
    try:
        yield url
    finally:
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def app_server(
    database_url: str, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """One `arigato serve` process (on `port`, or a free one); its base URL."""
    with app_process(database_url, extra_env=extra_env, port=port) as (base, _pid):
        yield base


@contextmanager
def app_process(
    database_url: str,
    start_tries: int = 300,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[tuple[str, int]]:
    """`arigato serve` with one worker (the process itself) on `port` or a free one, its
    environment with `extra_env` on top; its URL and pid."""
    env = {**os.environ, "DATABASE_URL": database_url, "ARIGATO_ENV": "test", **(extra_env or {})}
    port = port or free_port()
    # ARIGATO_TEST_SERVER_LOGS=<folder>: each server's output goes to <folder>/<port>.log
    logs = os.environ.get("ARIGATO_TEST_SERVER_LOGS")
    out = open(f"{logs}/{port}.log", "wb") if logs else subprocess.DEVNULL
    proc = subprocess.Popen(
        [*ARIGATO, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(start_tries):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if logs:
            out.close()  # type: ignore[union-attr]


async def browser_login(base: str, code: str, password: str = DEMO_PASSWORD) -> httpx.AsyncClient:
    """An HTTP client logged in through the real form; its CSRF token in the headers."""
    client = httpx.AsyncClient(base_url=base, timeout=10)
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": code, "password": password, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303, r.text
    client.headers["X-CSRF-Token"] = csrf_from((await client.get("/")).text)
    return client


@dataclass
class SseEvent:
    event: str
    data: str


class SseReader:
    """Reads `event:`/`data:` blocks from an open stream (comments are skipped).

    A task reads the stream into a queue: a timeout while waiting must not cancel the
    response's line iterator, which would end it for good.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.seen: list[SseEvent] = []
        self._queue: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        event, data = "message", []
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if data:
                        await self._queue.put(SseEvent(event, "\n".join(data)))
                    event, data = "message", []
                    continue
                field, _sep, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
        except (httpx.HTTPError, asyncio.CancelledError):
            pass
        finally:
            await self._queue.put(None)

    async def next(self, seconds: float = 10.0) -> SseEvent:
        got = await asyncio.wait_for(self._queue.get(), seconds)
        if got is None:
            await self._queue.put(None)
            raise EOFError("the stream ended")
        self.seen.append(got)
        return got

    async def wait_for(self, name: str, seconds: float = 10.0) -> SseEvent:
        """The next event with this name (others are passed over)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(name)
            event = await self.next(left)
            if event.event == name:
                return event

    async def nothing_named(self, name: str, seconds: float) -> bool:
        """True if no event with this name arrives within `seconds`."""
        try:
            await self.wait_for(name, seconds)
        except TimeoutError:
            return True
        return False


PRAISE = {
    "kind": "praise",
    "title": "ご来店のお客さまから感謝のお言葉",
    "body": "丁寧な説明がわかりやすかったと喜んでいただけました。",
    "channel": "counter",
}
