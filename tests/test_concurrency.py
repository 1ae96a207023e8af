"""Concurrency with real, committed transactions (not the rolled-back test session):
parallel likes and reactions keep the counters exact; a cursor walk survives posts added meanwhile."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.main import create_app
from app.models import OrgUnit, Post, User
from app.models.base import utcnow
from app.security import token_digest
from tests.conftest import IS_PG
from tests.factories import bypass_audit_guard

# Every table of the models, children before parents, so that emptying them never trips a
# foreign key (new tables are included without anyone having to remember this list).
# The KPI data version row is kept (the app expects it) and given a fresh value instead:
# TRUNCATE fires no row or statement triggers.
TABLES = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name != "kpi_version"]


@pytest.fixture
async def committed(engine):
    """Sessions that really commit; every table emptied afterwards."""
    maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    yield maker
    async with engine.begin() as conn:
        # audit_log refuses DELETE and TRUNCATE: emptied as a superuser would.
        if IS_PG:
            await bypass_audit_guard(
                conn, [f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"]
            )
        else:
            await bypass_audit_guard(conn, [f"DELETE FROM {table}" for table in TABLES])
        await conn.execute(
            sa.text("UPDATE kpi_version SET version = :v"), {"v": secrets.randbits(62)}
        )


async def _seed_users(maker, n: int) -> tuple[int, list[str]]:
    async with maker() as db:
        unit = OrgUnit(code="C-UNIT", name="並行店", kind="shop")
        db.add(unit)
        await db.flush()
        users = [User(code=f"C{i:04d}", name=f"並行 {i}", unit_id=unit.id) for i in range(n)]
        db.add_all(users)
        await db.flush()
        tokens = [f"arigato_concurrency_token_{i:04d}_xxxxxxxxxxxxxxxxxxxx" for i in range(n)]
        await db.execute(
            sa.text(
                "INSERT INTO api_tokens (user_id, name, token_hash, prefix, scope, created_at) "
                "VALUES (:u, 't', :h, 'arigato_', 'write', :c)"
            ),
            [
                {
                    "u": u.id,
                    "h": token_digest(t),
                    "c": utcnow().replace(tzinfo=None) if not IS_PG else utcnow(),
                }
                for u, t in zip(users, tokens, strict=True)
            ],
        )
        now = utcnow()
        post = Post(
            kind="praise",
            title="みんなでいいね",
            body="本文",
            body_html="<p>本文</p>",
            author_id=users[0].id,
            unit_id=unit.id,
            created_at=now,
            updated_at=now,
            channel="counter",
            received_on=now.date(),
        )
        db.add(post)
        await db.commit()
        return post.id, tokens


async def test_parallel_likes_count_exactly(committed):
    n = 200 if IS_PG else 60  # SQLite serialises writers; a smaller crowd keeps it quick
    post_id, tokens = await _seed_users(committed, n)
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def like(token: str) -> httpx.Response:
            return await client.put(
                f"/api/v1/posts/{post_id}/like", headers={"Authorization": f"Bearer {token}"}
            )

        # Every user likes twice, all at once: still one like each.
        results = await asyncio.gather(*(like(t) for t in tokens + tokens))
    assert [r.status_code for r in results] == [200] * (2 * n)
    async with committed() as db:
        rows = (
            await db.execute(
                sa.text("SELECT count(*) FROM likes WHERE post_id = :p"), {"p": post_id}
            )
        ).scalar_one()
        counter = (
            await db.execute(sa.text("SELECT like_count FROM posts WHERE id = :p"), {"p": post_id})
        ).scalar_one()
    assert rows == counter == n


async def test_parallel_reactions_count_exactly(committed):
    """Many users put two kinds of reaction twice each, all at once, then half of them take
    one back twice, all at once: every counter ends equal to its rows, and the author's one
    grouped notification counts exactly the reactions left from others."""
    n = 120 if IS_PG else 40
    post_id, tokens = await _seed_users(committed, n)
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def react(method: str, token: str, kind: str) -> httpx.Response:
            return await client.request(
                method,
                f"/api/v1/posts/{post_id}/reactions/{kind}",
                headers={"Authorization": f"Bearer {token}"},
            )

        puts = [react("PUT", t, k) for t in tokens for k in ("thanks", "want_to_try")]
        results = await asyncio.gather(*puts, *puts[::-1])
        assert [r.status_code for r in results] == [200] * (4 * n)
        leaving = tokens[::2]
        deletes = [react("DELETE", t, "thanks") for t in leaving]
        results = await asyncio.gather(*deletes, *deletes)
        assert [r.status_code for r in results] == [200] * (2 * len(leaving))
    async with committed() as db:
        counts = {}
        for kind in ("thanks", "want_to_try", "great"):
            rows = (
                await db.execute(
                    sa.text("SELECT count(*) FROM reactions WHERE post_id = :p AND kind = :k"),
                    {"p": post_id, "k": kind},
                )
            ).scalar_one()
            counter = (
                await db.execute(
                    sa.text(f"SELECT {kind}_count FROM posts WHERE id = :p"),
                    {"p": post_id},
                )
            ).scalar_one()
            assert rows == counter, kind
            counts[kind] = counter
        grouped = (
            await db.execute(
                sa.text(
                    "SELECT actor_count FROM notifications WHERE kind = 'reaction' "
                    "AND post_id = :p AND read_at IS NULL"
                ),
                {"p": post_id},
            )
        ).scalar_one()
    assert counts == {"thanks": n - len(tokens[::2]), "want_to_try": n, "great": 0}
    # tokens[0] is the author: their own reactions are not in their notification.
    assert grouped == counts["thanks"] + counts["want_to_try"] - 1


async def test_cursor_walk_sees_each_old_post_once_while_new_ones_arrive(committed):
    async with committed() as db:
        unit = OrgUnit(code="W-UNIT", name="歩く店", kind="shop")
        db.add(unit)
        await db.flush()
        author = User(code="W0001", name="歩く 人", unit_id=unit.id)
        db.add(author)
        await db.flush()
        base = utcnow() - timedelta(days=10)
        # Many posts share a timestamp, so the id must break ties correctly.
        await db.execute(
            sa.insert(Post.__table__),  # type: ignore[attr-defined]
            [
                dict(
                    kind="praise",
                    title=f"古い投稿 {i}",
                    body="b",
                    body_html="b",
                    tag_names="",
                    author_id=author.id,
                    unit_id=unit.id,
                    status="published",
                    created_at=base + timedelta(seconds=i // 7),
                    updated_at=base,
                    channel="counter",
                    received_on=base.date(),
                    featured=False,
                    like_count=0,
                    comment_count=0,
                )
                for i in range(1000)
            ],
        )
        await db.execute(
            sa.text(
                "INSERT INTO api_tokens (user_id, name, token_hash, prefix, scope, created_at) "
                "VALUES (:u, 't', :h, 'arigato_', 'write', :c)"
            ),
            {
                "u": author.id,
                "h": token_digest("arigato_walker_token_xxxxxxxxxxxxxxxxxxxxxxxx"),
                "c": utcnow() if IS_PG else utcnow().replace(tzinfo=None),
            },
        )
        await db.commit()
    headers = {"Authorization": "Bearer arigato_walker_token_xxxxxxxxxxxxxxxxxxxxxxxx"}
    transport = httpx.ASGITransport(app=create_app())
    seen: list[str] = []
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=headers
    ) as client:
        cursor = None
        page = 0
        while True:
            params = {"limit": 37, **({"cursor": cursor} if cursor else {})}
            body = (await client.get("/api/v1/posts", params=params)).json()
            seen += [p["title"] for p in body["items"]]
            page += 1
            # Someone posts while we scroll.
            r = await client.post(
                "/api/v1/posts",
                json={
                    "kind": "praise",
                    "title": f"新しい投稿 {page}",
                    "body": "今",
                    "channel": "phone",
                },
            )
            assert r.status_code == 201
            cursor = body["next_cursor"]
            if not cursor:
                break
    old = [t for t in seen if t.startswith("古い投稿")]
    assert len(old) == 1000 and len(set(old)) == 1000
    assert not [t for t in seen if t.startswith("新しい投稿")]
