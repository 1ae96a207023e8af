"""Reactions (スタンプ): idempotent per (post, kind, user), counters equal to the rows, the same
access rules as a like, the API's shapes (422 for an unknown kind), and the grouped
notification."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import ReactionKind
from tests.factories import bearer_for, make_post, make_user

KINDS = [k.value for k in ReactionKind]


async def scalar(db, sql, **params):
    return (await db.execute(sa.text(sql), params)).scalar_one()


async def counters_equal_rows(db, post_id: int) -> dict[str, int]:
    """Every kind's counter on the post row, checked against its reaction rows."""
    out = {}
    for kind in KINDS:
        counter = await scalar(db, f"SELECT {kind}_count FROM posts WHERE id = :p", p=post_id)
        rows = await scalar(
            db, "SELECT count(*) FROM reactions WHERE post_id = :p AND kind = :k", p=post_id, k=kind
        )
        assert counter == rows, kind
        out[kind] = counter
    return out


async def test_put_and_delete_are_idempotent_and_counted(client, db):
    post = await make_post(db, await make_user(db))
    hdr = await bearer_for(db, await make_user(db))
    url = f"/api/v1/posts/{post.id}/reactions/thanks"
    for _ in range(3):
        r = await client.put(url, headers=hdr)
        assert r.status_code == 200
        assert r.json() == {"kind": "thanks", "reacted": True, "count": 1}
    # Another kind is a reaction of its own; the first is untouched.
    r = await client.put(f"/api/v1/posts/{post.id}/reactions/want_to_try", headers=hdr)
    assert r.json() == {"kind": "want_to_try", "reacted": True, "count": 1}
    for _ in range(2):
        r = await client.delete(url, headers=hdr)
        assert r.json() == {"kind": "thanks", "reacted": False, "count": 0}
    assert await counters_equal_rows(db, post.id) == {
        "thanks": 0,
        "great": 0,
        "helpful": 0,
        "want_to_try": 1,
    }


async def test_post_shape_has_counts_and_my_reactions(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    fan, other = await make_user(db, name="ファン"), await make_user(db)
    hdr = await bearer_for(db, fan)
    for kind in ("want_to_try", "thanks", "helpful"):  # given out of order
        await client.put(f"/api/v1/posts/{post.id}/reactions/{kind}", headers=hdr)
    await client.put(
        f"/api/v1/posts/{post.id}/reactions/thanks", headers=await bearer_for(db, other)
    )
    body = (await client.get(f"/api/v1/posts/{post.id}", headers=hdr)).json()
    assert body["reactions"] == {"thanks": 2, "great": 0, "helpful": 1, "want_to_try": 1}
    assert body["my_reactions"] == ["thanks", "helpful", "want_to_try"]  # the fixed order
    theirs = (
        await client.get(f"/api/v1/posts/{post.id}", headers=await bearer_for(db, author))
    ).json()
    assert theirs["reactions"] == body["reactions"] and theirs["my_reactions"] == []
    listed = (await client.get("/api/v1/posts", headers=hdr)).json()["items"]
    mine = next(p for p in listed if p["id"] == post.id)
    assert mine["reactions"] == body["reactions"] and mine["my_reactions"] == body["my_reactions"]
    people = (await client.get(f"/api/v1/posts/{post.id}/reactions", headers=hdr)).json()
    assert [(p["kind"], p["name"]) for p in people["items"] if p["kind"] == "helpful"] == [
        ("helpful", "ファン")
    ]
    assert sorted(p["kind"] for p in people["items"]) == sorted(
        ["thanks", "thanks", "helpful", "want_to_try"]
    )


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize("kind", ["like", "THANKS", "thanks ", "ありがとう", "0"])
async def test_an_unknown_kind_is_422_and_writes_nothing(client, db, method, kind):
    post = await make_post(db, await make_user(db))
    hdr = await bearer_for(db, await make_user(db))
    r = await client.request(method, f"/api/v1/posts/{post.id}/reactions/{kind}", headers=hdr)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "kind"
    assert await scalar(db, "SELECT count(*) FROM reactions") == 0


# Who may react: the like's rules (app.permissions.get_post_for_interaction). Put: a
# published post, whoever's (an author may react to their own post as they may like it);
# 404 for what the user cannot see, 409 for what they see but is not published.
# (post status, who reacts) -> status of PUT, status of DELETE
ACCESS = [
    ("published", "other", 200, 200),
    ("published", "author", 200, 200),
    ("published", "curator", 200, 200),
    ("draft", "other", 404, 404),
    ("draft", "author", 409, 200),
    ("draft", "curator", 404, 404),
    ("hidden", "other", 404, 404),
    ("hidden", "author", 409, 200),
    ("hidden", "curator", 409, 200),
    ("deleted", "author", 404, 404),
    ("deleted", "curator", 404, 404),
]


@pytest.mark.parametrize(("status", "who", "put", "delete"), ACCESS)
async def test_who_may_react(client, db, status, who, put, delete):
    author = await make_user(db)
    post = await make_post(db, author, status=status)
    user = {
        "author": author,
        "other": await make_user(db),
        "curator": await make_user(db, role="curator"),
    }[who]
    hdr = await bearer_for(db, user)
    url = f"/api/v1/posts/{post.id}/reactions/great"
    assert (await client.put(url, headers=hdr)).status_code == put
    assert (await client.delete(url, headers=hdr)).status_code == delete
    assert await scalar(db, "SELECT count(*) FROM reactions") == 0
    assert (await client.put("/api/v1/posts/999999/reactions/great", headers=hdr)).status_code == (
        404
    )


async def test_a_reaction_needs_a_write_token_and_a_login(client, db):
    post = await make_post(db, await make_user(db))
    url = f"/api/v1/posts/{post.id}/reactions/thanks"
    assert (await client.put(url, headers={"Authorization": "Bearer x"})).status_code == 401
    assert (await client.put(url)).status_code == 403  # no credentials: the CSRF guard
    reader = await bearer_for(db, await make_user(db), scope="read")
    assert (await client.put(url, headers=reader)).status_code == 403
    assert (await client.delete(url, headers=reader)).status_code == 403


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(KINDS), st.booleans()), max_size=25)
)
async def test_any_sequence_of_puts_and_deletes_keeps_counters_equal_to_rows(client, db, steps):
    # Each example starts from its own post, so the examples do not see each other's rows.
    author = await make_user(db)
    post = await make_post(db, author)
    people = [await bearer_for(db, await make_user(db)) for _ in range(3)]
    expected: set[tuple[int, str]] = set()
    for who, kind, on in steps:
        r = await client.request(
            "PUT" if on else "DELETE",
            f"/api/v1/posts/{post.id}/reactions/{kind}",
            headers=people[who],
        )
        (expected.add if on else expected.discard)((who, kind))
        assert r.json() == {
            "kind": kind,
            "reacted": on,
            "count": sum(1 for _w, k in expected if k == kind),
        }
    counts = await counters_equal_rows(db, post.id)
    assert counts == {k: sum(1 for _w, e in expected if e == k) for k in KINDS}


async def reaction_groups(db, user) -> list[dict]:
    result = await db.execute(
        sa.text(
            "SELECT actor_id, actor_count, post_id, read_at FROM notifications "
            "WHERE user_id = :u AND kind = 'reaction' ORDER BY id"
        ),
        {"u": user.id},
    )
    return [dict(r._mapping) for r in result]


async def test_reactions_are_grouped_per_post_like_likes(client, db):
    author = await make_user(db)
    post = await make_post(db, author, title="窓口での説明")
    fans = [await make_user(db, name=f"山田 {i}") for i in range(3)]
    for fan in fans:
        hdr = await bearer_for(db, fan)
        await client.put(f"/api/v1/posts/{post.id}/reactions/thanks", headers=hdr)
        await client.put(f"/api/v1/posts/{post.id}/reactions/thanks", headers=hdr)  # again
    await client.put(f"/api/v1/posts/{post.id}/reactions/great", headers=hdr)
    # Their own reaction tells the author nothing; a like is a group of its own.
    await client.put(
        f"/api/v1/posts/{post.id}/reactions/great", headers=await bearer_for(db, author)
    )
    await client.put(f"/api/v1/posts/{post.id}/like", headers=hdr)
    (group,) = await reaction_groups(db, author)
    assert group["actor_count"] == 4 and group["actor_id"] == fans[-1].id
    author_hdr = await bearer_for(db, author)
    page = (await client.get("/api/v1/notifications", headers=author_hdr)).json()
    assert page["unread_count"] == 2  # the reactions' group and the like's
    item = next(i for i in page["items"] if i["kind"] == "reaction")
    assert item["actor_count"] == 4 and item["actor"]["name"] == "山田 2"
    assert "「窓口での説明」に4件のスタンプ" in item["message"]
    assert "山田 2" in item["message"]


async def test_taking_reactions_back_shrinks_and_then_removes_the_group(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    a, b = await make_user(db), await make_user(db)
    ha, hb = await bearer_for(db, a), await bearer_for(db, b)
    await client.put(f"/api/v1/posts/{post.id}/reactions/helpful", headers=ha)
    await client.put(f"/api/v1/posts/{post.id}/reactions/helpful", headers=hb)
    await client.delete(f"/api/v1/posts/{post.id}/reactions/helpful", headers=hb)
    (group,) = await reaction_groups(db, author)
    assert group["actor_count"] == 1 and group["actor_id"] == a.id
    await client.delete(f"/api/v1/posts/{post.id}/reactions/helpful", headers=ha)
    assert await reaction_groups(db, author) == []


async def test_a_read_group_is_closed_and_new_reactions_start_another(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    a, b = await make_user(db), await make_user(db)
    await client.put(f"/api/v1/posts/{post.id}/reactions/thanks", headers=await bearer_for(db, a))
    author_hdr = await bearer_for(db, author)
    r = await client.post("/api/v1/notifications/read", json={"all": True}, headers=author_hdr)
    assert r.status_code == 200
    await client.put(f"/api/v1/posts/{post.id}/reactions/thanks", headers=await bearer_for(db, b))
    read, new = await reaction_groups(db, author)
    assert read["read_at"] is not None and new["read_at"] is None and new["actor_count"] == 1
    # a's reaction was counted in the read group: taking it back leaves the new one alone.
    await client.delete(
        f"/api/v1/posts/{post.id}/reactions/thanks", headers=await bearer_for(db, a)
    )
    assert [g["actor_count"] for g in await reaction_groups(db, author)] == [1, 1]


async def test_the_demo_company_shows_reactions(db):
    from app.demo import load_demo

    await load_demo(db)
    per_kind = dict(
        (await db.execute(sa.text("SELECT kind, count(*) FROM reactions GROUP BY kind"))).all()
    )
    assert set(per_kind) == set(KINDS) and min(per_kind.values()) >= 5
    # Every counter equals its rows, on every post.
    for kind in KINDS:
        wrong = await scalar(
            db,
            f"SELECT count(*) FROM posts p WHERE p.{kind}_count <> "
            f"(SELECT count(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = '{kind}')",
        )
        assert wrong == 0, kind
    # 横展開: the bulletin's posts have 「やってみたい」 from more than one region.
    regions = await scalar(
        db,
        "SELECT count(DISTINCT g.id) FROM reactions r "
        "JOIN bulletin_items i ON i.post_id = r.post_id "
        "JOIN users u ON u.id = r.user_id JOIN org_units s ON s.id = u.unit_id "
        "JOIN org_units b ON b.id = s.parent_id JOIN org_units g ON g.id = b.parent_id "
        "WHERE r.kind = 'want_to_try' AND g.kind = 'region'",
    )
    assert regions >= 2
    # Nobody reacts to their own post in the demo.
    own = await scalar(
        db,
        "SELECT count(*) FROM reactions r JOIN posts p ON p.id = r.post_id WHERE p.author_id = r.user_id",
    )
    assert own == 0
