"""Likes and comments: idempotent, counters equal to the rows, in place with HTMX, flags."""

from __future__ import annotations

import json

import sqlalchemy as sa
from bs4 import BeautifulSoup

from app.events import Counts, HxEvents
from tests.factories import bearer_for, login_as, make_post, make_user


async def rows(db, sql, **params):
    return (await db.execute(sa.text(sql), params)).scalar_one()


async def test_like_is_idempotent_and_counted(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    fan = await make_user(db)
    hdr = await bearer_for(db, fan)
    for _ in range(3):
        r = await client.put(f"/api/v1/posts/{post.id}/like", headers=hdr)
        assert r.json() == {"liked": True, "like_count": 1}
    for _ in range(2):
        r = await client.delete(f"/api/v1/posts/{post.id}/like", headers=hdr)
        assert r.json() == {"liked": False, "like_count": 0}
    assert await rows(db, "SELECT count(*) FROM likes WHERE post_id = :p", p=post.id) == 0


async def test_likers_and_liked_flag(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    fan = await make_user(db, name="ファン 一号")
    hdr = await bearer_for(db, fan)
    await client.put(f"/api/v1/posts/{post.id}/like", headers=hdr)
    likers = (await client.get(f"/api/v1/posts/{post.id}/likes", headers=hdr)).json()["items"]
    assert [x["name"] for x in likers] == ["ファン 一号"]
    assert (await client.get(f"/api/v1/posts/{post.id}", headers=hdr)).json()["liked"] is True
    assert (
        await client.get(f"/api/v1/posts/{post.id}", headers=await bearer_for(db, author))
    ).json()["liked"] is False


async def test_cannot_like_a_draft_or_unknown_post(client, db):
    author = await make_user(db)
    draft = await make_post(db, author, status="draft")
    hdr = await bearer_for(db, await make_user(db))
    assert (await client.put(f"/api/v1/posts/{draft.id}/like", headers=hdr)).status_code == 404
    assert (await client.put("/api/v1/posts/999999/like", headers=hdr)).status_code == 404
    own = await bearer_for(db, author)
    assert (await client.put(f"/api/v1/posts/{draft.id}/like", headers=own)).status_code == 409


async def test_like_button_swaps_in_place(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/like",
        data={"liked": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200
    form = BeautifulSoup(r.text, "html.parser").select_one("form.like-form")
    assert form["id"] == f"like-{post.id}"
    assert form.select_one("[data-testid=like-count]").text == "1"
    assert form.select_one("button")["aria-pressed"] == "true"
    # The same click again (double submit) keeps one like.
    r = await client.post(
        f"/posts/{post.id}/like",
        data={"liked": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert BeautifulSoup(r.text, "html.parser").select_one("[data-testid=like-count]").text == "1"
    # Without JavaScript: a redirect back, the like kept.
    r = await client.post(f"/posts/{post.id}/like", data={"liked": "0", "csrf_token": csrf})
    assert r.status_code == 303
    assert await rows(db, "SELECT like_count FROM posts WHERE id = :p", p=post.id) == 0


async def test_comments_counts_follow_the_visible_comments(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    commenter = await make_user(db)
    hdr = await bearer_for(db, commenter)
    c1 = (
        await client.post(
            f"/api/v1/posts/{post.id}/comments", json={"body": "素敵です！"}, headers=hdr
        )
    ).json()
    c2 = (
        await client.post(
            f"/api/v1/posts/{post.id}/comments", json={"body": "参考になります"}, headers=hdr
        )
    ).json()
    assert c1["author"]["code"] == commenter.code and c1["status"] == "published"
    assert await rows(db, "SELECT comment_count FROM posts WHERE id = :p", p=post.id) == 2
    r = await client.patch(
        f"/api/v1/comments/{c1['id']}", json={"body": "とても素敵です！"}, headers=hdr
    )
    assert r.json()["body"] == "とても素敵です！" and r.json()["edited_at"]
    assert (await client.delete(f"/api/v1/comments/{c2['id']}", headers=hdr)).status_code == 204
    assert (await client.delete(f"/api/v1/comments/{c2['id']}", headers=hdr)).status_code == 404
    listing = (await client.get(f"/api/v1/posts/{post.id}/comments", headers=hdr)).json()["items"]
    assert [c["id"] for c in listing] == [c1["id"]]
    assert await rows(db, "SELECT comment_count FROM posts WHERE id = :p", p=post.id) == 1


async def test_comment_rules(client, db):
    post = await make_post(db, await make_user(db))
    owner = await make_user(db)
    hdr = await bearer_for(db, owner)
    for body in ("", "   ", "あ" * 2001):
        r = await client.post(f"/api/v1/posts/{post.id}/comments", json={"body": body}, headers=hdr)
        assert r.status_code == 422
    assert await rows(db, "SELECT count(*) FROM comments") == 0
    c = (
        await client.post(f"/api/v1/posts/{post.id}/comments", json={"body": "ok"}, headers=hdr)
    ).json()
    stranger = await bearer_for(db, await make_user(db))
    assert (
        await client.patch(f"/api/v1/comments/{c['id']}", json={"body": "x"}, headers=stranger)
    ).status_code == 403
    assert (await client.delete(f"/api/v1/comments/{c['id']}", headers=stranger)).status_code == 403


async def test_mentions_link_real_colleagues_only(client, db):
    post = await make_post(db, await make_user(db))
    mentioned = await make_user(db, code="E7777")
    hdr = await bearer_for(db, await make_user(db))
    c = (
        await client.post(
            f"/api/v1/posts/{post.id}/comments",
            json={"body": "@E7777 さん、@NOBODY さん ありがとう"},
            headers=hdr,
        )
    ).json()
    soup = BeautifulSoup(c["body_html"], "html.parser")
    assert [a["href"] for a in soup.select("a")] == [f"/users/{mentioned.code}"]


async def test_comment_in_place_with_htmx(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    r = await client.post(f"/posts/{post.id}/comments", data={"body": "いいお話です"}, headers=hx)
    soup = BeautifulSoup(r.text, "html.parser")
    counts = json.loads(r.headers["HX-Trigger"])[HxEvents.counts]
    assert counts == {Counts.comments(post.id): 1}
    assert soup.select_one("#no-comments[hx-swap-oob]").has_attr("hidden")
    assert "いいお話です" in soup.select_one("[hx-swap-oob='beforeend:#comment-list']").text
    assert soup.select_one("#comment-form textarea").text == ""
    r = await client.post(f"/posts/{post.id}/comments", data={"body": " "}, headers=hx)
    assert r.status_code == 422
    assert BeautifulSoup(r.text, "html.parser").select_one("#comment-error")


async def test_one_open_flag_per_user_and_target(client, db):
    post = await make_post(db, await make_user(db))
    hdr = await bearer_for(db, await make_user(db))
    r = await client.post(
        f"/api/v1/posts/{post.id}/flags",
        json={"reason": "personal_info", "note": "名前"},
        headers=hdr,
    )
    assert r.status_code == 201 and r.json()["target"] == f"post:{post.id}"
    r = await client.post(f"/api/v1/posts/{post.id}/flags", json={"reason": "other"}, headers=hdr)
    assert r.status_code == 409
    r = await client.post(f"/api/v1/posts/{post.id}/flags", json={"reason": "because"}, headers=hdr)
    assert r.status_code == 422
    other = await bearer_for(db, await make_user(db))
    assert (
        await client.post(
            f"/api/v1/posts/{post.id}/flags", json={"reason": "duplicate"}, headers=other
        )
    ).status_code == 201
    c = (
        await client.post(f"/api/v1/posts/{post.id}/comments", json={"body": "x"}, headers=other)
    ).json()
    assert (
        await client.post(
            f"/api/v1/comments/{c['id']}/flags", json={"reason": "inappropriate"}, headers=hdr
        )
    ).status_code == 201
    assert await rows(db, "SELECT count(*) FROM flags") == 3
