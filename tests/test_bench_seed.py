"""`python bench/seed.py` at a small size: exact counters, unique likes, a rooted unit tree."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.config import get_settings
from app.migrate import upgrade_to_head
from app.security import token_digest, verify_password
from bench.seed import BENCH_PASSWORD, bench_seed
from tests.conftest import IS_PG, _admin_pg, _pg_url, db_name

SIZES = ["--units", "20", "--users", "100", "--posts", "2000", "--likes", "8000"]
SIZES += ["--comments", "3000", "--seed", "7"]


@pytest.fixture
def seed_db(tmp_path, monkeypatch):
    name = db_name("bench_seed")
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{tmp_path}/bench.db"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_to_head()
    yield url
    monkeypatch.undo()
    get_settings.cache_clear()
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scalar(conn: sa.Connection, sql: str):
    return conn.execute(sa.text(sql)).scalar_one()


def test_bench_seed_small(seed_db, tmp_path):
    tokens = tmp_path / "tokens.tsv"
    result = CliRunner().invoke(
        bench_seed, [*SIZES, "--tokens-file", str(tokens)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert BENCH_PASSWORD in result.output
    big_line = next(x for x in result.output.splitlines() if "exactly 200 comments" in x)
    big_ids = [int(x) for x in big_line.rsplit(":", 1)[1].split(",")]
    assert len(big_ids) == 5

    engine = sa.create_engine(get_settings().sync_database_url)
    try:
        with engine.connect() as conn:
            for table, n in [("org_units", 20), ("users", 100), ("posts", 2000)]:
                assert scalar(conn, f"SELECT count(*) FROM {table}") == n, table
            assert scalar(conn, "SELECT count(*) FROM likes") == 8000
            assert scalar(conn, "SELECT count(*) FROM comments") == 3000

            # Counters equal the rows, post by post.
            for table, counter in [("likes", "like_count"), ("comments", "comment_count")]:
                bad = scalar(
                    conn,
                    f"SELECT count(*) FROM posts p LEFT JOIN (SELECT post_id, count(*) AS n "
                    f"FROM {table} GROUP BY post_id) r ON r.post_id = p.id "
                    f"WHERE p.{counter} <> COALESCE(r.n, 0)",
                )
                assert bad == 0, table
            assert scalar(conn, "SELECT sum(like_count) FROM posts") == 8000
            assert (
                scalar(conn, "SELECT count(*) FROM (SELECT DISTINCT post_id, user_id FROM likes) x")
                == 8000
            )
            assert scalar(conn, "SELECT max(like_count) FROM posts") > 20  # skewed
            assert (
                scalar(
                    conn,
                    "SELECT count(*) FROM posts WHERE status = 'draft' AND (like_count > 0 OR comment_count > 0)",
                )
                == 0
            )
            rows = conn.execute(sa.text("SELECT id FROM posts WHERE comment_count = 200")).all()
            assert sorted(r[0] for r in rows) == sorted(big_ids)

            # One root, every other unit under a parent, shops under branches.
            assert scalar(conn, "SELECT count(*) FROM org_units WHERE parent_id IS NULL") == 1
            assert scalar(conn, "SELECT kind FROM org_units WHERE parent_id IS NULL") == "company"
            orphans = scalar(
                conn,
                "SELECT count(*) FROM org_units u LEFT JOIN org_units p ON p.id = u.parent_id "
                "WHERE u.parent_id IS NOT NULL AND p.id IS NULL",
            )
            assert orphans == 0
            bad_shops = scalar(
                conn,
                "SELECT count(*) FROM org_units u JOIN org_units p ON p.id = u.parent_id "
                "WHERE u.kind = 'shop' AND p.kind <> 'branch'",
            )
            assert bad_shops == 0
            assert scalar(conn, "SELECT count(*) FROM users WHERE role <> 'staff'") >= 3

            # About 70% praise; praise has its fields, received on or before the posting day.
            praise = scalar(conn, "SELECT count(*) FROM posts WHERE kind = 'praise'")
            assert 0.65 < praise / 2000 < 0.75
            assert (
                scalar(
                    conn,
                    "SELECT count(*) FROM posts WHERE kind = 'praise' AND (channel IS NULL OR received_on IS NULL)",
                )
                == 0
            )
            assert (
                scalar(
                    conn, "SELECT count(*) FROM posts WHERE kind = 'knowhow' AND category IS NULL"
                )
                == 0
            )
            late = conn.execute(
                sa.text("SELECT received_on, created_at FROM posts WHERE kind = 'praise'")
            ).all()
            assert all(str(received) <= _tokyo_date(created) for received, created in late)
            # Common two-character words are common, the rare term is rare.
            thanks = scalar(
                conn, "SELECT count(*) FROM posts WHERE body LIKE '%感謝%' OR title LIKE '%感謝%'"
            )
            assert 0.1 < thanks / 2000 < 0.5
            rare = scalar(conn, "SELECT count(*) FROM posts WHERE body LIKE '%ハザードマップ%'")
            assert rare < 40
            assert scalar(conn, "SELECT count(*) FROM posts WHERE body_html = ''") == 0
            tagged = scalar(conn, "SELECT count(DISTINCT post_id) FROM post_tags")
            assert 0.2 < tagged / 2000 < 0.4
            assert scalar(conn, "SELECT count(*) FROM posts WHERE tag_names <> ''") == tagged

            # One password for everyone; tokens stored as SHA-256, write scope, staff only.
            assert verify_password(
                scalar(conn, "SELECT password_hash FROM users LIMIT 1"), BENCH_PASSWORD
            )
            lines = tokens.read_text(encoding="utf-8").splitlines()
            staff = scalar(conn, "SELECT count(*) FROM users WHERE role = 'staff' AND active")
            assert len(lines) == staff
            code, token = lines[0].split("\t")
            row = conn.execute(
                sa.text(
                    "SELECT u.code, t.scope, u.role FROM api_tokens t "
                    "JOIN users u ON u.id = t.user_id WHERE t.token_hash = :h"
                ),
                {"h": token_digest(token)},
            ).one()
            assert tuple(row) == (code, "write", "staff")
            if IS_PG:  # sequences continue after the seeded ids
                assert scalar(conn, "SELECT nextval('posts_id_seq')") == 2001
    finally:
        engine.dispose()

    again = CliRunner().invoke(bench_seed, SIZES)
    assert again.exit_code == 2
    lines = again.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bench-seed needs an empty database")


def _tokyo_date(created: datetime | str) -> str:
    """The posting day in Tokyo of a UTC timestamp (SQLite hands back naive UTC text)."""
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return str(created.astimezone(ZoneInfo("Asia/Tokyo")).date())
