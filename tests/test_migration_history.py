"""Every database upgrades to the same search objects, whatever migration history it came
through, and then answers searches of every length.

One database per earlier state of migrations/ on this branch's git history (each commit
whose migrations/versions holds a text that was edited later, e.g. ff95dc1, which shipped
the first text of 0003, and the newest and oldest of the others; see _earlier_states): built
with that commit's own migrations (`git archive`), given a post through the old schema,
upgraded with today's migrations, loaded with the demo, then searched over HTTP. Needs the
full git history (a shallow clone fails the test, it does not skip it).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import get_session, make_async_engine
from app.demo import load_demo
from app.main import create_app
from app.migrate import ROOT, alembic_config
from app.models.base import utcnow
from app.services.people.tokens import issue_for_codes
from app.services.search import indexed_text, search_terms
from tests.conftest import IS_PG, RUN_DB, _admin_pg, _pg_url

FIRST_SEARCH_COMMIT = "ff95dc1"  # shipped 0003 with a one-argument arigato_search_grams
TERMS = ("感", "感謝", "ありがとう", "ハザードマップ")  # 1, 2, 3+ characters
OLD_POST = "旧版のころの投稿：お客さまに感謝されました。ありがとう。ハザードマップも確認。"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _earlier_states() -> tuple[list[str], str | None]:
    """Commits of this branch's own line (first parents) whose migrations/versions differ
    from the working tree's (every one with an edited migration; of those that only lack
    later migrations, the newest and the oldest), or why they cannot be listed."""
    try:
        shallow = _git("rev-parse", "--is-shallow-repository").strip()
        # First parents only: the states main has been in, not a merged branch's steps.
        commits = _git(
            "log", "--first-parent", "--format=%H", "HEAD", "--", "migrations/versions"
        ).split()
        files = sorted(
            p.relative_to(ROOT).as_posix() for p in ROOT.glob("migrations/versions/*.py")
        )
        blobs = _git("hash-object", *files).split()
    except (OSError, subprocess.CalledProcessError) as exc:
        return [], f"the git history of migrations/ is needed and git failed: {exc}"
    if shallow != "false":
        return [], (
            "this is a shallow clone: the migration history test needs the full git history "
            "(git fetch --unshallow, or actions/checkout with fetch-depth: 0)"
        )
    if not any(c.startswith(FIRST_SEARCH_COMMIT) for c in commits):
        return [], f"commit {FIRST_SEARCH_COMMIT} (first migration 0003) is not in the history"
    current = dict(zip(files, blobs, strict=True))
    edited, prefixes = [], []
    for commit in commits:
        tree = {}
        for line in _git("ls-tree", "-r", commit, "migrations/versions").splitlines():
            meta, path = line.split("\t")
            if path.endswith(".py"):
                tree[path] = meta.split()[2]
        if any(current.get(path) != blob for path, blob in tree.items()):
            edited.append(commit)  # a migration's text differs from today's: always tested
        elif tree != current:
            prefixes.append(commit)  # today's first migrations, the later ones still to come
    # A prefix state upgrades through today's own texts from an earlier revision: the oldest
    # runs every migration over the old row, the newest the last one alone; the ones between
    # run a part of the same texts over the same row and found nothing the two ends did not
    # (19 states took 4 minutes of each pass), so they are left out.
    return edited + prefixes[:1] + prefixes[-1:], None


STATES, HISTORY_PROBLEM = _earlier_states()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request) -> Iterator[str]:
    """A fresh, empty database that DATABASE_URL points at during the test."""
    name = f"{RUN_DB}_h{request.node.callspec.id if hasattr(request.node, 'callspec') else 'x'}"
    name = name[:63]
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{tmp_path}/history.db"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield url
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upgrade_with_migrations_of(commit: str, into: Path) -> None:
    data = subprocess.run(
        ["git", "archive", commit, "migrations"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    cfg = alembic_config()
    cfg.set_main_option("script_location", str(into / "migrations"))
    command.upgrade(cfg, "head")


def _sync_engine() -> sa.Engine:
    return sa.create_engine(get_settings().sync_database_url)


def _write_old_post(body: str = OLD_POST) -> None:
    """A post written through the schema of 0001 (every later state has those columns), so
    that the upgrade has to carry an existing row into the search indexes."""
    engine = _sync_engine()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO org_units (id, code, name, kind, parent_id, active, created_at)"
                " VALUES (9001, 'OLD', '旧店舗', 'shop', NULL, true, :now)"
            ),
            {"now": utcnow()},
        )
        conn.execute(
            sa.text(
                "INSERT INTO users (id, code, name, unit_id, role, locale, active, created_at)"
                " VALUES (9001, 'OLD1', '旧 社員', 9001, 'staff', 'ja', true, :now)"
            ),
            {"now": utcnow()},
        )
        conn.execute(
            sa.text(
                "INSERT INTO posts (id, kind, title, body, author_id, unit_id, status,"
                " created_at, updated_at, published_at, featured, like_count, comment_count)"
                " VALUES (9001, 'knowhow', '旧版', :body, 9001, 9001, 'published',"
                " :now, :now, :now, false, 0, 0)"
            ),
            {"body": body, "now": utcnow()},
        )
        # A state that has the folded search column (0023 on): the app of that state writes
        # it with every post, so the old row gets it too.
        if "search_text" in {c["name"] for c in sa.inspect(conn).get_columns("posts")}:
            conn.execute(
                sa.text("UPDATE posts SET search_text = :text WHERE id = 9001"),
                {"text": indexed_text("旧版", body)},
            )
    engine.dispose()


def _search_objects() -> dict[str, object]:
    """The search objects as the database describes them."""
    engine = _sync_engine()
    with engine.connect() as conn:
        if IS_PG:
            functions = conn.execute(
                sa.text(
                    "SELECT oid::regprocedure::text, pg_get_functiondef(oid) FROM pg_proc"
                    " WHERE proname LIKE 'arigato_search%' ORDER BY 1"
                )
            ).all()
            indexes = conn.execute(
                sa.text(
                    "SELECT c.relname, pg_get_indexdef(c.oid), a.attstattarget FROM pg_class c"
                    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1"
                    " WHERE c.relname LIKE 'ix_posts_search%' ORDER BY 1"
                )
            ).all()
            state: dict[str, object] = {"functions": functions, "indexes": indexes}
        else:
            state = {
                "fts": conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master"
                    " WHERE name LIKE 'posts_fts%' ORDER BY name"
                ).all()
            }
    engine.dispose()
    return state


def _index_ids() -> list[int]:
    engine = _sync_engine()
    with engine.connect() as conn:
        if IS_PG:
            ids = conn.execute(
                sa.text(
                    "SELECT oid FROM pg_class WHERE relname LIKE 'ix_posts_search%'"
                    " ORDER BY relname"
                )
            ).scalars()
        else:
            ids = conn.exec_driver_sql(
                "SELECT rootpage FROM sqlite_master WHERE name LIKE 'posts_fts%' ORDER BY name"
            ).scalars()
        found = list(ids)
    engine.dispose()
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The search objects of an empty database upgraded with today's migrations."""
    name = f"{RUN_DB}_href"[:63]
    mp = pytest.MonkeyPatch()
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('ref')}/ref.db"
    mp.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        command.upgrade(alembic_config(), "head")
        return _search_objects()
    finally:
        mp.undo()
        get_settings.cache_clear()
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def api(database: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test's database, with per-request sessions like production."""
    engine = make_async_engine(get_settings())
    maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    application = create_app()

    async def _session() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            yield session

    application.dependency_overrides[get_session] = _session
    transport = httpx.ASGITransport(app=application, client=("10.0.0.1", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.extensions = {"maker": maker}  # type: ignore[attr-defined]
            yield c
    finally:
        await engine.dispose()


def _expected(term: str) -> set[int]:
    engine = _sync_engine()
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, title, body FROM posts WHERE status = 'published'"
        ).all()
    engine.dispose()
    folded = search_terms(term)
    return {i for i, title, body in rows if all(t in indexed_text(title, body) for t in folded)}


async def _search(client: httpx.AsyncClient, token: str, term: str) -> set[int]:
    found: set[int] = set()
    cursor: str | None = None
    while True:
        params = {"q": term, "limit": "100", **({"cursor": cursor} if cursor else {})}
        r = await client.get(
            "/api/v1/posts", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200, (term, r.status_code, r.text[:300])
        page = r.json()
        found |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return found


@pytest.mark.parametrize("commit", [c[:7] for c in STATES] or ["missing"])
async def test_database_from_an_earlier_state_upgrades_and_searches(
    commit: str, api: httpx.AsyncClient, reference: dict[str, object], tmp_path: Path
) -> None:
    if HISTORY_PROBLEM:
        pytest.fail(HISTORY_PROBLEM)
    _upgrade_with_migrations_of(commit, tmp_path)
    _write_old_post()
    command.upgrade(alembic_config(), "head")

    assert _search_objects() == reference

    maker = api.extensions["maker"]  # type: ignore[attr-defined]
    async with maker() as session:
        await load_demo(session)
        [(_code, token)] = await issue_for_codes(
            session, ("curator",), scope="read", days=None, name="history"
        )
        await session.commit()
    for term in TERMS:
        expected = _expected(term)
        assert 9001 in expected and len(expected) > 1, term
        assert await _search(api, token, term) == expected, term
    # The HTML feed takes the same search path.
    r = await api.get("/", params={"q": "感謝"})
    assert r.status_code in (200, 303), r.status_code


@pytest.mark.skipif(not IS_PG, reason="index rebuilds are a PostgreSQL cost")
async def test_repair_leaves_a_current_database_alone(database: str) -> None:
    """On a database already at today's definitions the repair rebuilds nothing (a large
    posts table is locked while its indexes are rebuilt). At 0011: later revisions (0023,
    the folded index) make search objects of their own."""
    command.upgrade(alembic_config(), "0011")
    before = _index_ids()
    command.downgrade(alembic_config(), "0010")
    command.upgrade(alembic_config(), "0011")
    assert _index_ids() == before


async def test_repair_restores_search_objects_lost_since(
    database: str, api: httpx.AsyncClient, reference: dict[str, object]
) -> None:
    """Objects lost after 0003 ran (on SQLite a table copy of posts drops its triggers) come
    back, and rows written meanwhile are found."""
    command.upgrade(alembic_config(), "0010")
    engine = _sync_engine()
    with engine.begin() as conn:
        if IS_PG:
            conn.exec_driver_sql("DROP INDEX ix_posts_search_grams")
        else:
            for name in ("insert", "update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER posts_fts_{name}")
    engine.dispose()
    _write_old_post()
    command.upgrade(alembic_config(), "head")
    assert _search_objects() == reference
    maker = api.extensions["maker"]  # type: ignore[attr-defined]
    async with maker() as session:
        await load_demo(session)
        [(_code, token)] = await issue_for_codes(
            session, ("curator",), scope="read", days=None, name="history"
        )
        await session.commit()
    for term in TERMS:
        assert 9001 in await _search(api, token, term), term
