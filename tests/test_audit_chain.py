"""The tamper-evident audit log: every row chained by SHA-256 in the documented canonical form;
the database refuses UPDATE and DELETE; `arigato audit verify` finds a row changed or removed
behind the app's back (after dropping the trigger, as a superuser could); concurrent writers
never fork the chain; the CSV export can be checked offline with the documented snippet."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import json
import re
from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cli.main import run_db
from app.config import get_settings
from app.db import make_async_engine
from app.migrate import alembic_config
from app.models import OrgUnit, User
from app.models.tables import audit_log
from app.services import audit, audit_chain
from tests.conftest import IS_PG
from tests.factories import bypass_audit_guard, login_as, make_user
from tests.test_cli import cli_db, run  # noqa: F401 - the fixture

DOCS = Path(__file__).resolve().parent.parent / "docs" / "compliance.md"


def documented_hash(row) -> str:
    """The canonical form as docs/compliance.md states it, written out independently."""
    at = row.created_at.astimezone(UTC) if row.created_at.tzinfo else row.created_at
    content = {
        "action": row.action,
        "actor_id": row.actor_id,
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "changes": row.changes,
        "id": row.id,
        "prev_hash": row.prev_hash,
        "reason": row.reason,
        "target_id": row.target_id,
        "target_type": row.target_type,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


async def _record_some(db, actor, note: str = "丁寧な説明 😊") -> None:
    audit.record(db, actor, "post.hide", "post", 1, reason="個人情報（電話番号）")
    audit.record(db, None, "post.feature", "post", 2, after={"note": note})
    await db.commit()
    audit.record(db, actor, "post.restore", "post", 1, before={"status": "hidden"})
    await db.commit()


async def test_each_row_carries_the_previous_hash_and_its_own(db):
    curator = await make_user(db, role="curator")
    await _record_some(db, curator)
    rows = (await db.execute(sa.select(audit_log).order_by(audit_log.c.id))).all()
    assert len(rows) == 3
    assert rows[0].prev_hash == "0" * 64
    for before, row in itertools.pairwise(rows):
        assert row.prev_hash == before.hash
    assert all(row.hash == documented_hash(row) for row in rows)
    verdict = await audit_chain.verify(db)
    assert verdict.broken is None and verdict.checked == 3
    assert verdict.head == audit_chain.Head(rows[-1].id, rows[-1].hash, 3)
    assert await audit_chain.head(db) == verdict.head


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"]
    + (["TRUNCATE audit_log CASCADE"] if IS_PG else []),
)
async def test_the_database_refuses_to_change_or_remove_a_row(db, statement):
    await _record_some(db, await make_user(db, role="curator"))
    savepoint = await db.begin_nested()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        await db.execute(sa.text(statement))
    await savepoint.rollback()
    assert (await audit_chain.verify(db)).checked == 3


async def test_a_row_changed_behind_the_apps_back_breaks_the_chain_there(db):
    await _record_some(db, await make_user(db, role="curator"))
    ids = [r[0] for r in await db.execute(sa.select(audit_log.c.id).order_by(audit_log.c.id))]
    conn = await db.connection()
    await bypass_audit_guard(
        conn, [f"UPDATE audit_log SET reason = '確認済み' WHERE id = {ids[1]}"]
    )
    broken = (await audit_chain.verify(db)).broken
    assert broken is not None and (broken.id, broken.problem) == (ids[1], "content")


# -- the command line, on a database of its own ------------------------------------------------


def _seed_cli_db(n: int = 4) -> list[int]:
    async def go(db: AsyncSession) -> list[int]:
        unit = OrgUnit(code="AU-1", name="監査店", kind="shop")
        db.add(unit)
        await db.flush()
        actor = User(code="AU001", name="監査 花子", unit_id=unit.id, role="curator")
        db.add(actor)
        await db.flush()
        for i in range(n):
            audit.record(db, actor, "post.hide", "post", i, reason=f"理由 {i}")
            await db.commit()
        return [r[0] for r in await db.execute(sa.select(audit_log.c.id).order_by("id"))]

    return run_db(go)


def _tamper(statement: str) -> None:
    """As a superuser would: drop the trigger that refuses it, then change the row."""
    engine = sa.create_engine(get_settings().sync_database_url)
    with engine.begin() as conn:
        if IS_PG:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.exec_driver_sql(statement)
    engine.dispose()


def test_verify_passes_on_an_untouched_log_and_head_prints_the_anchor(cli_db):  # noqa: F811
    assert run("db", "upgrade").exit_code == 0
    empty = run("audit", "verify")
    assert (empty.exit_code, empty.output.strip()) == (0, "ok: the audit log is empty")
    ids = _seed_cli_db()
    ok = run("audit", "verify")
    assert ok.exit_code == 0, ok.output
    match = re.fullmatch(r"ok: 4 rows, head (\d+) ([0-9a-f]{64})\n", ok.output)
    assert match and int(match[1]) == ids[-1]
    head = run("audit", "head")
    assert head.exit_code == 0
    assert head.output.split("\t")[:3] == [str(ids[-1]), match[2], "4 rows"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("UPDATE audit_log SET reason = '確認済み' WHERE id = {id}", "was changed"),
        ("UPDATE audit_log SET target_id = 99 WHERE id = {id}", "was changed"),
        ("DELETE FROM audit_log WHERE id = {id}", "removed or changed"),
    ],
)
def test_verify_names_the_first_row_changed_with_raw_sql(cli_db, change, problem):  # noqa: F811
    run("db", "upgrade")
    ids = _seed_cli_db()
    _tamper(change.format(id=ids[1]))
    r = run("audit", "verify")
    assert r.exit_code == 1
    # A removed row shows at the row after it: its prev_hash no longer matches.
    bad = ids[2] if change.startswith("DELETE") else ids[1]
    assert f"the audit chain is broken at row {bad}:" in r.output
    assert problem in r.output and "1 rows before it match" in r.output


def test_the_migration_chains_the_rows_already_there(cli_db):  # noqa: F811
    command.upgrade(alembic_config(), "0023")
    engine = sa.create_engine(get_settings().sync_database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit_log (created_at, actor_id, action, target_type, target_id, "
            "reason, changes) VALUES "
            "('2024-04-01 09:00:00.123456', NULL, 'post.hide', 'post', 7, '電話番号', NULL), "
            "('2024-04-02 10:00:00', NULL, 'post.restore', 'post', 7, NULL, "
            """'{"before": {"status": "hidden"}, "after": {}}')"""
        )
    command.upgrade(alembic_config(), "head")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    engine.dispose()
    assert [r.prev_hash for r in rows] == ["0" * 64, rows[0].hash]
    assert [r.hash for r in rows] == [documented_hash(r) for r in rows]
    assert run("audit", "verify").output.startswith("ok: 2 rows")


# -- concurrent writers ----------------------------------------------------------------------


@pytest.fixture
async def committed():
    """Sessions that really commit, from an engine whose SQLite transactions take the write
    lock first (as the app's write requests do); the rows are removed afterwards."""
    engine = make_async_engine(get_settings(), writer=True)
    yield async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with engine.begin() as conn:
        await bypass_audit_guard(
            conn,
            [
                "DELETE FROM changes WHERE entity = 'audit'",
                "DELETE FROM audit_log",
                "DELETE FROM users WHERE code LIKE 'CW%'",
                "DELETE FROM org_units WHERE code = 'CW-UNIT'",
            ],
        )
    await engine.dispose()


async def test_concurrent_writers_never_fork_the_chain(committed):
    async with committed() as db:
        unit = OrgUnit(code="CW-UNIT", name="並行店", kind="shop")
        db.add(unit)
        await db.flush()
        actors = [
            User(code=f"CW{i}", name="本社", unit_id=unit.id, role="curator") for i in range(6)
        ]
        db.add_all(actors)
        await db.commit()

    async def writer(actor: User) -> None:
        for i in range(5):
            async with committed() as db:
                audit.record(db, actor, "post.hide", "post", i, reason="並行")
                await db.flush()
                await asyncio.sleep(0)  # let the others reach the head meanwhile
                audit.record(db, actor, "post.restore", "post", i)
                await db.commit()

    await asyncio.gather(*(writer(a) for a in actors))
    async with committed() as db:
        verdict = await audit_chain.verify(db)
        hashes = (await db.execute(sa.select(audit_log.c.prev_hash))).scalars().all()
    assert verdict.broken is None and verdict.checked == 60
    assert len(set(hashes)) == 60


# -- the CSV, checked offline with the snippet in docs/compliance.md ----------------------------


def documented_checker():
    """The Python block under "## The audit chain" in docs/compliance.md, run as written."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## The audit chain") :]
    start = section.index("```python") + len("```python")
    code = section[start : section.index("```", start)]
    scope: dict = {}
    exec(compile(code, str(DOCS), "exec"), scope)
    return scope["check"]


async def test_the_csv_export_can_be_checked_offline(client, db, tmp_path):
    curator = await make_user(db, role="curator")
    await _record_some(db, curator, note="髙橋さんの説明〜")  # CP932 holds these (no emoji)
    audit.record(db, curator, "post.hide", "post", 9, reason="=HYPERLINK(1)")  # guarded cell
    await db.commit()
    await login_as(client, curator)
    check = documented_checker()
    head = await audit_chain.head(db)
    assert head is not None
    for encoding, python_name in (("utf-8", "utf-8-sig"), ("cp932", "cp932")):
        r = await client.get("/audit.csv", params={"encoding": encoding})
        assert r.status_code == 200
        path = tmp_path / f"audit-{encoding}.csv"
        path.write_bytes(r.content)
        assert check(path, python_name) == f"ok: 4 rows, head {head.id} {head.hash}"

    # The same file with one cell of the canonical content changed no longer checks.
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp932"))))
    rows[2][-1] = rows[2][-1].replace('"target_id":', '"target_id":1')
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue(), encoding="cp932")
    assert "does not match" in check(path, "cp932")
