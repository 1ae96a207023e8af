"""Incremental export (/api/v1/changes/...): a copy made by paging the changes, while the board
keeps changing, equals the board; deletions and hides come as tombstones; the cursor never
skips a change committed late (PostgreSQL); bad input is a 422."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Like, OrgUnit, Post, User
from app.models.tables import audit_log, comments, likes, posts, reactions, users
from app.services import changes as change_service
from tests.conftest import IS_PG
from tests.factories import login_as, make_post, make_unit, make_user
from tests.test_concurrency import committed  # noqa: F401  (a fixture: really committed sessions)

ENDPOINTS = ("posts", "comments", "likes", "reactions", "audit")
PRAISE = {"kind": "praise", "title": "ありがとう", "body": "丁寧な説明", "channel": "counter"}


class Copy:
    """What a data warehouse keeps: one table per endpoint, filled only from the changes."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {e: {} for e in ENDPOINTS}
        self.cursors: dict[str, str | None] = dict.fromkeys(ENDPOINTS)

    @staticmethod
    def key(endpoint: str, item: dict[str, Any]) -> Any:
        if endpoint == "likes":
            return (item["post_id"], item["user"])
        if endpoint == "reactions":
            return (item["post_id"], item["user"], item["kind"])
        return item["id"]

    async def read_page(self, client: httpx.AsyncClient, endpoint: str, limit: int) -> bool:
        """One page; True when there is more to read now."""
        params: dict[str, Any] = {"limit": limit}
        if self.cursors[endpoint]:
            params["cursor"] = self.cursors[endpoint]
        r = await client.get(f"/api/v1/changes/{endpoint}", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        for item in page["items"]:
            k = self.key(endpoint, item)
            if item["deleted"]:
                self.tables[endpoint].pop(k, None)
            else:
                self.tables[endpoint][k] = item
        self.cursors[endpoint] = page["cursor"]
        return page["next_cursor"] is not None

    async def catch_up(self, client: httpx.AsyncClient, limit: int = 3) -> None:
        for endpoint in ENDPOINTS:
            while await self.read_page(client, endpoint, limit):
                pass


async def board(db: AsyncSession) -> dict[str, Any]:
    """The board's state, read straight from the tables."""
    code = {i: c for i, c in await db.execute(sa.select(users.c.id, users.c.code))}
    return {
        "posts": {
            r.id: (r.title, r.body, r.tag_names)
            for r in await db.execute(sa.select(posts).where(posts.c.status == "published"))
        },
        "comments": {
            r.id: r.body
            for r in await db.execute(sa.select(comments).where(comments.c.status == "published"))
        },
        "likes": {
            (p, code[u]) for p, u in await db.execute(sa.select(likes.c.post_id, likes.c.user_id))
        },
        "reactions": {
            (p, code[u], k)
            for p, u, k in await db.execute(
                sa.select(reactions.c.post_id, reactions.c.user_id, reactions.c.kind)
            )
        },
        "audit": {i for (i,) in await db.execute(sa.select(audit_log.c.id))},
    }


def copied(copy: Copy) -> dict[str, Any]:
    t = copy.tables
    return {
        "posts": {i: (p["title"], p["body"], "\t".join(p["tags"])) for i, p in t["posts"].items()},
        "comments": {i: c["body"] for i, c in t["comments"].items()},
        "likes": set(t["likes"]),
        "reactions": set(t["reactions"]),
        "audit": set(t["audit"]),
    }


class Actors:
    def __init__(
        self, curator: httpx.AsyncClient, staff: list[httpx.AsyncClient], csrf: dict
    ) -> None:
        self.curator = curator
        self.staff = staff
        self.csrf = csrf

    async def call(
        self, who: httpx.AsyncClient, method: str, url: str, **kw: Any
    ) -> httpx.Response:
        r = await who.request(method, url, headers={"X-CSRF-Token": self.csrf[id(who)]}, **kw)
        assert r.status_code < 500, r.text
        return r


@pytest.fixture
async def actors(db, client, make_client) -> Actors:
    unit = await make_unit(db)
    curator = await make_user(db, unit, role="curator")
    csrf = {id(client): await login_as(client, curator)}
    staff = []
    for _ in range(3):
        c = make_client()
        csrf[id(c)] = await login_as(c, await make_user(db, unit))
        staff.append(c)
    return Actors(client, staff, csrf)


OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "post",
                "post",
                "edit",
                "hide",
                "restore",
                "delete",
                "like",
                "like",
                "unlike",
                "react",
                "unreact",
                "comment",
                "comment",
                "edit_comment",
                "delete_comment",
                "hide_comment",
                "read",
            ]
        ),
        st.integers(0, 2),  # who (a staff member)
        st.integers(0, 10),  # which post or comment (of those made so far)
        st.sampled_from(["thanks", "great", "helpful"]),
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=12 if IS_PG else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS, limit=st.integers(1, 4))
async def test_a_copy_made_from_the_changes_equals_the_board(db, actors, ops, limit):
    a = actors
    copy = Copy()
    post_ids: list[tuple[int, int]] = []  # (post id, author index)
    comment_ids: list[tuple[int, int]] = []
    for op, who, pick, kind in ops:
        me = a.staff[who]
        post = post_ids[pick % len(post_ids)] if post_ids else None
        comment = comment_ids[pick % len(comment_ids)] if comment_ids else None
        if op == "post":
            r = await a.call(me, "POST", "/api/v1/posts", json={**PRAISE, "tags": [f"t{pick}"]})
            post_ids.append((r.json()["id"], who))
        elif op == "read":
            # a page in the middle of the changes: paging goes on while the board changes
            for endpoint in ENDPOINTS:
                await copy.read_page(a.curator, endpoint, limit)
        elif post is None:
            continue
        elif op == "edit":
            await a.call(
                a.staff[post[1]], "PATCH", f"/api/v1/posts/{post[0]}", json={"title": f"直し{pick}"}
            )
        elif op == "hide":
            await a.call(
                a.curator, "POST", f"/api/v1/posts/{post[0]}/hide", json={"reason": "確認中"}
            )
        elif op == "restore":
            await a.call(a.curator, "POST", f"/api/v1/posts/{post[0]}/restore")
        elif op == "delete":
            await a.call(a.staff[post[1]], "DELETE", f"/api/v1/posts/{post[0]}")
        elif op in ("like", "unlike"):
            await a.call(me, "PUT" if op == "like" else "DELETE", f"/api/v1/posts/{post[0]}/like")
        elif op in ("react", "unreact"):
            method = "PUT" if op == "react" else "DELETE"
            await a.call(me, method, f"/api/v1/posts/{post[0]}/reactions/{kind}")
        elif op == "comment":
            r = await a.call(
                me, "POST", f"/api/v1/posts/{post[0]}/comments", json={"body": f"コメント{pick}"}
            )
            if r.status_code == 201:
                comment_ids.append((r.json()["id"], who))
        elif comment is None:
            continue
        elif op == "edit_comment":
            await a.call(
                a.staff[comment[1]],
                "PATCH",
                f"/api/v1/comments/{comment[0]}",
                json={"body": f"直し{pick}"},
            )
        elif op == "delete_comment":
            await a.call(a.staff[comment[1]], "DELETE", f"/api/v1/comments/{comment[0]}")
        elif op == "hide_comment":
            await a.call(
                a.curator, "POST", f"/api/v1/comments/{comment[0]}/hide", json={"reason": "確認中"}
            )
    await copy.catch_up(a.curator, limit)
    assert copied(copy) == await board(db)
    # a copy read again from its cursors finds nothing new
    for endpoint in ENDPOINTS:
        assert not await copy.read_page(a.curator, endpoint, limit)
    assert copied(copy) == await board(db)


async def test_tombstones_and_the_shape_of_an_item(db, actors):
    a = actors
    made = (await a.call(a.staff[0], "POST", "/api/v1/posts", json=PRAISE)).json()
    r = await a.curator.get("/api/v1/changes/posts", params={"limit": 1000})
    item = next(i for i in r.json()["items"] if i["id"] == made["id"])
    assert item["deleted"] is False and item["status"] == "published"
    assert item["title"] == "ありがとう" and item["unit"]["code"] and item["author"]["code"]
    assert "like_count" not in item and "hidden_reason" not in item
    cursor = r.json()["cursor"]

    await a.call(a.staff[1], "PUT", f"/api/v1/posts/{made['id']}/like")
    await a.call(a.staff[1], "DELETE", f"/api/v1/posts/{made['id']}/like")
    await a.call(a.curator, "POST", f"/api/v1/posts/{made['id']}/hide", json={"reason": "電話番号"})
    page = (await a.curator.get("/api/v1/changes/posts", params={"cursor": cursor})).json()
    assert page["items"] == [
        {
            "id": made["id"],
            "deleted": True,
            "status": "hidden",
            "changed_at": page["items"][0]["changed_at"],
        }
    ]
    assert page["next_cursor"] is None and page["cursor"] != cursor
    likes_page = (await a.curator.get("/api/v1/changes/likes")).json()
    mine = [i for i in likes_page["items"] if i["post_id"] == made["id"]]
    assert len(mine) == 1 and mine[0]["deleted"] is True  # once per page, as it is now
    audit = (await a.curator.get("/api/v1/changes/audit", params={"cursor": cursor})).json()
    hidden = [i for i in audit["items"] if i["action"] == "post.hide" and i["reason"] == "電話番号"]
    assert hidden and len(hidden[0]["hash"]) == 64 and len(hidden[0]["prev_hash"]) == 64


async def test_updated_since_selects_by_change_time(db, actors):
    a = actors
    made = (await a.call(a.staff[0], "POST", "/api/v1/posts", json=PRAISE)).json()
    everything = (
        await a.curator.get(
            "/api/v1/changes/posts", params={"updated_since": "2000-01-01T00:00:00+09:00"}
        )
    ).json()
    assert made["id"] in [i["id"] for i in everything["items"]]
    future = (
        await a.curator.get(
            "/api/v1/changes/posts", params={"updated_since": "2999-01-01T00:00:00Z"}
        )
    ).json()
    assert future["items"] == [] and future["next_cursor"] is None


async def test_the_post_list_with_updated_since_is_the_export(db, actors, client):
    """`GET /api/v1/posts?updated_since=` (the issue's spelling) answers 307 to the export
    with the same parameters; followed, the same page as /changes/posts; staff end at its 403;
    a bad time is the export's 422 before any redirect."""
    a = actors
    made = [
        (await a.call(a.staff[0], "POST", "/api/v1/posts", json=PRAISE)).json()["id"]
        for _ in range(3)
    ]
    since = "2000-01-01T00:00:00+09:00"
    r = await a.curator.get("/api/v1/posts", params={"updated_since": since, "limit": 2})
    assert r.status_code == 307
    assert r.headers["location"].startswith("/api/v1/changes/posts?")
    first = (await a.curator.get(r.headers["location"])).json()
    direct = await a.curator.get(
        "/api/v1/changes/posts", params={"updated_since": since, "limit": 2}
    )
    assert first == direct.json() and len(first["items"]) == 2 and first["next_cursor"]
    rest = await a.curator.get(
        "/api/v1/posts",
        params={"updated_since": since, "cursor": first["next_cursor"], "limit": 2},
        follow_redirects=True,
    )
    assert [i["id"] for i in first["items"] + rest.json()["items"]] == made
    await login_as(client, await make_user(db))
    staff = await client.get(
        "/api/v1/posts", params={"updated_since": since}, follow_redirects=True
    )
    assert staff.status_code == 403
    bad = await a.curator.get("/api/v1/posts", params={"updated_since": "2026-12-01T00:00:00"})
    assert bad.status_code == 422 and "location" not in bad.headers
    plain = await a.curator.get("/api/v1/posts")  # without it: the feed as before
    assert plain.status_code == 200 and "items" in plain.json()


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/api/v1/comments", "comments"),
        ("/api/v1/likes", "likes"),
        ("/api/v1/reactions", "reactions"),
        ("/api/v1/audit", "audit"),
    ],
)
async def test_the_issues_spelling_of_every_export(db, actors, client, path, endpoint):
    """`GET /api/v1/{comments,likes,reactions,audit}?updated_since=` answer with the export of
    the same things (307, followed here); staff are refused, anonymous too."""
    a = actors
    made = (await a.call(a.staff[0], "POST", "/api/v1/posts", json=PRAISE)).json()
    await a.call(a.staff[1], "POST", f"/api/v1/posts/{made['id']}/comments", json={"body": "参考"})
    await a.call(a.staff[1], "PUT", f"/api/v1/posts/{made['id']}/like")
    await a.call(a.staff[1], "PUT", f"/api/v1/posts/{made['id']}/reactions/great")
    await a.call(a.curator, "PUT", f"/api/v1/posts/{made['id']}/feature")  # audited
    since = {"updated_since": "2000-01-01T00:00:00+09:00", "limit": 100}
    r = await a.curator.get(path, params=since)
    assert r.status_code == 307 and r.headers["location"].startswith(f"/api/v1/changes/{endpoint}?")
    followed = (await a.curator.get(path, params=since, follow_redirects=True)).json()
    direct = (await a.curator.get(f"/api/v1/changes/{endpoint}", params=since)).json()
    assert followed == direct and direct["items"]
    await login_as(client, await make_user(db))
    assert (await client.get(path, params=since, follow_redirects=True)).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"updated_since": "yesterday"},
        {"updated_since": "2026-13-01T00:00:00Z"},
        {"updated_since": "2026-12-01T00:00:00"},  # no offset: whose midnight?
        {"cursor": "not-a-cursor"},
        {"cursor": "YWJj"},
        {"limit": "0"},
        {"limit": "1001"},
    ],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_bad_parameters_are_a_422(db, actors, endpoint, params):
    r = await actors.curator.get(f"/api/v1/changes/{endpoint}", params=params)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("curator", 200), ("admin", 200)])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_who_may_read_the_changes(db, client, role, status, endpoint):
    await login_as(client, await make_user(db, role=role))
    assert (await client.get(f"/api/v1/changes/{endpoint}")).status_code == status


async def test_anonymous_is_refused(client):
    assert (await client.get("/api/v1/changes/posts")).status_code == 401


@pytest.mark.skipif(not IS_PG, reason="SQLite has one writer: commits follow seq order")
async def test_a_change_committed_late_is_not_skipped(committed):  # noqa: F811
    """Transaction A writes first (lower seq) but commits after B: a reader paging by seq alone
    would pass B and never see A. Reading below the oldest running transaction, it waits."""
    maker = committed
    async with maker() as s:
        unit = OrgUnit(code="LATE", name="遅延店", kind="shop")
        s.add(unit)
        await s.flush()
        people = [User(code=f"L{i}", name=f"遅延{i}", unit_id=unit.id) for i in range(2)]
        s.add_all(people)
        await s.flush()
        post = Post(kind="praise", title="t", body="b", author_id=people[0].id, unit_id=unit.id)
        s.add(post)
        await s.commit()
        ids = [p.id for p in people]
        post_id = post.id

    async def read(cursor: str | None) -> change_service.ChangePage:
        async with maker() as r:
            return await change_service.read_changes(r, "like", cursor=cursor)

    start = (await read(None)).cursor
    async with maker() as a_session, maker() as b_session:
        a_session.add(Like(post_id=post_id, user_id=ids[0]))
        await a_session.flush()  # A has its seq and txid, and is still open
        b_session.add(Like(post_id=post_id, user_id=ids[1]))
        await b_session.commit()
        during = await read(start)
        assert during.items == [] and during.cursor == start  # B waits for A
        await a_session.commit()
    after = await read(start)
    assert sorted(i["user"] for i in after.items) == ["L0", "L1"]
    assert (await read(after.cursor)).items == []


async def test_the_migration_backfills_and_the_log_needs_no_app_code(db):
    """A row written by any path (here plain SQL) is logged: the triggers do it."""
    unit = await make_unit(db)
    author = await make_user(db, unit)
    post = await make_post(db, author)
    before = await change_service.read_changes(db, "post", limit=1000)
    assert post.id in [i["id"] for i in before.items]
    await db.execute(sa.text("UPDATE posts SET status = 'deleted' WHERE id = :i"), {"i": post.id})
    await db.execute(
        sa.text("UPDATE posts SET like_count = like_count + 1 WHERE id = :i"), {"i": post.id}
    )
    after = await change_service.read_changes(db, "post", cursor=before.cursor)
    assert [(i["id"], i["deleted"], i["status"]) for i in after.items] == [
        (post.id, True, "deleted")
    ]
    await asyncio.sleep(0)
