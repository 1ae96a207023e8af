"""Login throttling and token reads against a real server (`arigato serve` in a subprocess,
with its own engine and connections): concurrency the in-process test client cannot make."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli.main import cli
from app.config import get_settings
from app.models import ApiToken, LoginThrottle, OrgUnit, User
from app.models.base import utcnow
from app.security import token_digest
from tests.conftest import IS_PG, _admin_pg, _pg_url, db_name
from tests.factories import PASSWORD, bearer, csrf_from, password_hash
from tests.livetools import ARIGATO, PRAISE, app_server


@contextmanager
def fresh_database(name: str, tmp_path: Path, *, sqlite: bool) -> Iterator[str]:
    """A new, migrated database of its own: a temp SQLite file, or a PostgreSQL database."""
    name = db_name(name)  # per run and xdist worker
    if sqlite:
        url = f"sqlite:///{tmp_path}/{name}.db"
    else:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    env = {**os.environ, "DATABASE_URL": url, "ARIGATO_ENV": "test"}
    subprocess.run([*ARIGATO, "db", "upgrade"], env=env, check=True, capture_output=True)
    try:
        yield url
    finally:
        if not sqlite:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sync_engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def seed(
    url: str, users: int, tokens_each: int = 1, prefix: str = "L"
) -> list[tuple[str, list[str]]]:
    """Users (codes `prefix`0000…) of a unit of their own, with the test password, each with
    write tokens never used yet."""
    engine = sync_engine(url)
    out: list[tuple[str, list[str]]] = []
    with engine.begin() as conn:
        unit_id = conn.execute(
            sa.insert(OrgUnit.__table__).values(code=f"LIVE-{prefix}", name="実店", kind="shop")  # type: ignore[attr-defined]
        ).inserted_primary_key[0]
        for i in range(users):
            code = f"{prefix}{i:04d}"
            user_id = conn.execute(
                sa.insert(User.__table__).values(  # type: ignore[attr-defined]
                    code=code,
                    name=f"実 {i}",
                    unit_id=unit_id,
                    role="staff",
                    password_hash=password_hash(),
                    locale="en",
                )
            ).inserted_primary_key[0]
            tokens = [f"arigato_live_{code}_{j:03d}_" + "x" * 24 for j in range(tokens_each)]
            conn.execute(
                sa.insert(ApiToken.__table__),  # type: ignore[attr-defined]
                [
                    dict(
                        user_id=user_id,
                        name=f"t{j}",
                        token_hash=token_digest(t),
                        prefix=t[:12],
                        scope="write",
                        created_at=utcnow(),
                    )
                    for j, t in enumerate(tokens)
                ],
            )
            out.append((code, tokens))
    engine.dispose()
    return out


TOKENS_PER_READER = 6


@pytest.mark.parametrize("database", ["sqlite", *(["postgresql"] if IS_PG else [])])
async def test_parallel_wrong_passwords_check_at_most_five_and_never_fail(
    tmp_path, settings, database
):
    sqlite = database == "sqlite"
    limit = settings.login_max_failures_per_account
    with fresh_database("live_throttle", tmp_path, sqlite=sqlite) as url:
        [(code, _tokens)] = seed(url, 1)
        with app_server(url) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                csrf = csrf_from((await client.get("/login")).text)
                form = {"code": code, "password": "wrong-guess", "csrf_token": csrf}
                answers = await asyncio.gather(
                    *(client.post("/login", data=form) for _ in range(25))
                )
                statuses = Counter(r.status_code for r in answers)
                right = await client.post("/login", data={**form, "password": PASSWORD})
        engine = sync_engine(url)
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(LoginThrottle.__table__).where(  # type: ignore[attr-defined]
                    sa.column("key") == f"acct:{code.lower()}"
                )
            ).one()
        engine.dispose()
    # Exactly `limit` passwords were checked (400: wrong); the others were refused unchecked.
    assert statuses == {400: limit, 429: 25 - limit}
    assert all(int(r.headers["Retry-After"]) > 0 for r in answers if r.status_code == 429)
    # Every attempt of the window is counted, the refused ones too (the right password
    # last), and the block is set.
    assert row.failures == 25 + 1 and row.blocked_until is not None
    assert right.status_code == 429  # blocked means blocked, even for the right password


async def test_token_reads_never_fail_while_writes_run_on_sqlite(tmp_path):
    """8 clients read with API tokens while 8 write, one worker on a SQLite file: no 500s,
    and last use is still recorded (every reader token is new, so each read records it)."""
    with fresh_database("reads_and_writes", tmp_path, sqlite=True) as url:
        readers = seed(url, 8, tokens_each=TOKENS_PER_READER)
        writers = [tokens[0] for _code, tokens in seed(url, 8, prefix="W")]
        # Idle connections are let go after 1 s, before the server's keep-alive (uvicorn's 5 s)
        # ends them: else a request sent on a connection the server is closing at that
        # instant is a ReadError (seen once on a write, under a load of 12 on two cores).
        limits = httpx.Limits(keepalive_expiry=1.0)
        with app_server(url) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
                first = await client.post("/api/v1/posts", json=PRAISE, headers=bearer(writers[0]))
                assert first.status_code == 201, first.text
                post_id = first.json()["id"]
                statuses: Counter[tuple[str, int]] = Counter()
                reading = asyncio.Event()

                async def read(tokens: list[str]) -> None:
                    # Twice through the tokens: the first use of each records its last use.
                    for i in range(2 * len(tokens)):
                        path = "/api/v1/posts" if i % 2 else "/api/v1/me"
                        try:
                            r = await client.get(path, headers=bearer(tokens[i % len(tokens)]))
                        except httpx.TransportError:  # the server dropped the connection
                            statuses["read", 0] += 1
                        else:
                            statuses["read", r.status_code] += 1

                async def write(token: str) -> None:
                    i = 0
                    while not reading.is_set():
                        if i % 2:
                            r = await client.put(
                                f"/api/v1/posts/{post_id}/like", headers=bearer(token)
                            )
                        else:
                            r = await client.post(
                                "/api/v1/posts", json=PRAISE, headers=bearer(token)
                            )
                        statuses["write", r.status_code] += 1
                        i += 1

                async def readers_then_stop() -> None:
                    await asyncio.gather(*(read(tokens) for _code, tokens in readers))
                    reading.set()

                await asyncio.gather(readers_then_stop(), *(write(t) for t in writers))
        engine = sync_engine(url)
        with engine.connect() as conn:
            unused = conn.execute(
                sa.text(
                    "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id "
                    "WHERE u.code LIKE 'L%' AND t.last_used_at IS NULL"
                )
            ).scalar_one()
    reads = {s: n for (kind, s), n in statuses.items() if kind == "read"}
    writes = {s: n for (kind, s), n in statuses.items() if kind == "write"}
    assert set(reads) == {200}, reads
    assert set(writes) <= {200, 201}, writes
    assert sum(reads.values()) == 8 * 2 * TOKENS_PER_READER and sum(writes.values()) >= 8
    assert unused == 0  # each reader token was used and its last use written


def test_serve_refuses_several_workers_on_sqlite(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/w.db")
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "PostgreSQL" in lines[0]
