"""Notifications: who gets what (never of their own doing), likes grouped per post, unread
counts, marking read (API and pages, with and without HTMX), and the curation hooks."""

from __future__ import annotations

import sqlalchemy as sa
from bs4 import BeautifulSoup

from app import clock
from app.models import Bulletin, BulletinAudience, BulletinItem, User
from app.services import notifications
from app.services.people.tokens import issue_token
from tests.factories import login_as, make_post, make_unit, make_user


async def bearer(db, user, scope="write"):
    _row, token = await issue_token(db, user, name="t", scope=scope, days=None)
    return {"Authorization": f"Bearer {token}"}


async def rows_of(db, user: User) -> list[dict]:
    result = await db.execute(
        sa.text(
            "SELECT kind, actor_id, actor_count, post_id, comment_id, bulletin_id, read_at "
            "FROM notifications WHERE user_id = :u ORDER BY id"
        ),
        {"u": user.id},
    )
    return [dict(r._mapping) for r in result]


async def unread(db, user: User) -> int:
    return await notifications.unread_count(db, user.id)


async def test_likes_are_grouped_per_post_with_the_latest_liker(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    fans = [await make_user(db, name=f"山田 {i}") for i in range(4)]
    for fan in fans:
        r = await client.put(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, fan))
        assert r.status_code == 200
    (row,) = await rows_of(db, author)
    assert row["kind"] == "like" and row["actor_count"] == 4 and row["actor_id"] == fans[-1].id
    assert await unread(db, author) == 1

    page = (await client.get("/api/v1/notifications", headers=await bearer(db, author))).json()
    assert page["unread_count"] == 1
    (item,) = page["items"]
    assert item["actor"]["name"] == "山田 3" and item["actor_count"] == 4
    assert item["post"] == {"id": post.id, "title": post.title}
    # Japanese by default: "山田さん他3名がいいね！しました".
    assert item["message"].startswith("山田 3さん他3名が") and "いいね！しました" in item["message"]


async def test_like_your_own_post_notifies_nobody(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    await client.put(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, author))
    assert await rows_of(db, author) == []


async def test_unlike_takes_the_liker_out_of_the_group(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    a, b = await make_user(db), await make_user(db)
    ha, hb = await bearer(db, a), await bearer(db, b)
    await client.put(f"/api/v1/posts/{post.id}/like", headers=ha)
    await client.put(f"/api/v1/posts/{post.id}/like", headers=hb)
    # b changes their mind and back again: still two people, not three.
    await client.delete(f"/api/v1/posts/{post.id}/like", headers=hb)
    (row,) = await rows_of(db, author)
    assert row["actor_count"] == 1 and row["actor_id"] == a.id
    await client.put(f"/api/v1/posts/{post.id}/like", headers=hb)
    (row,) = await rows_of(db, author)
    assert row["actor_count"] == 2 and row["actor_id"] == b.id
    # Everyone unlikes: the emptied group goes away.
    await client.delete(f"/api/v1/posts/{post.id}/like", headers=ha)
    await client.delete(f"/api/v1/posts/{post.id}/like", headers=hb)
    assert await rows_of(db, author) == []


async def test_a_read_group_is_closed_and_new_likes_start_another(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    a, b = await make_user(db), await make_user(db)
    author_h = await bearer(db, author)
    await client.put(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, a))
    r = await client.post("/api/v1/notifications/read", json={"all": True}, headers=author_h)
    assert r.json() == {"marked": 1, "unread_count": 0}
    await client.put(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, b))
    read, fresh = await rows_of(db, author)
    assert read["read_at"] is not None and fresh["read_at"] is None
    assert fresh["actor_count"] == 1 and fresh["actor_id"] == b.id
    # a's like was counted in the read group: unliking it leaves the new group alone.
    await client.delete(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, a))
    assert (await rows_of(db, author))[1]["actor_count"] == 1


async def test_comment_and_mentions(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    writer, friend, other = await make_user(db), await make_user(db), await make_user(db)
    body = f"@{friend.code} @{author.code} @{writer.code} @NOBODY 見てください"
    r = await client.post(
        f"/api/v1/posts/{post.id}/comments", json={"body": body}, headers=await bearer(db, writer)
    )
    assert r.status_code == 201
    comment_id = r.json()["id"]
    # The author hears of the comment once (not a second time as a mention).
    assert [(n["kind"], n["comment_id"]) for n in await rows_of(db, author)] == [
        ("comment", comment_id)
    ]
    assert [(n["kind"], n["post_id"]) for n in await rows_of(db, friend)] == [("mention", post.id)]
    assert await rows_of(db, writer) == []  # never of your own doing
    assert await rows_of(db, other) == []
    # The author commenting on their own post: nobody but the mentioned friend.
    await client.post(
        f"/api/v1/posts/{post.id}/comments",
        json={"body": f"ありがとう @{friend.code}"},
        headers=await bearer(db, author),
    )
    assert len(await rows_of(db, author)) == 1
    assert len(await rows_of(db, friend)) == 2


async def test_list_unread_first_and_mark_read(client, db):
    me = await make_user(db)
    fan = await make_user(db)
    posts = [await make_post(db, me, title=f"投稿{i}") for i in range(3)]
    for p in posts:
        await client.put(f"/api/v1/posts/{p.id}/like", headers=await bearer(db, fan))
    hdr = await bearer(db, me)
    items = (await client.get("/api/v1/notifications", headers=hdr)).json()["items"]
    assert [i["post"]["title"] for i in items] == ["投稿2", "投稿1", "投稿0"]  # newest first
    # Mark the newest read: it moves behind the unread ones.
    r = await client.post("/api/v1/notifications/read", json={"ids": [items[0]["id"]]}, headers=hdr)
    assert r.json() == {"marked": 1, "unread_count": 2}
    page = (await client.get("/api/v1/notifications?limit=2", headers=hdr)).json()
    assert [(i["post"]["title"], i["read"]) for i in page["items"]] == [
        ("投稿1", False),
        ("投稿0", False),
    ]
    rest = (
        await client.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=hdr)
    ).json()
    assert [(i["post"]["title"], i["read"]) for i in rest["items"]] == [("投稿2", True)]
    assert rest["next_cursor"] is None
    # Somebody else's ids are ignored; a bad body is a 422.
    other = await bearer(db, fan)
    r = await client.post(
        "/api/v1/notifications/read", json={"ids": [items[1]["id"]]}, headers=other
    )
    assert r.json()["marked"] == 0 and await unread(db, me) == 2
    for bad in ({}, {"ids": [1], "all": True}, {"all": False}, {"ids": "x"}):
        r = await client.post("/api/v1/notifications/read", json=bad, headers=hdr)
        assert r.status_code == 422, bad
    assert (await client.get("/api/v1/notifications?cursor=zzz", headers=hdr)).status_code == 422
    assert (await client.get("/api/v1/notifications")).status_code == 401


async def test_bell_page_and_forms_without_javascript(client, db):
    me = await make_user(db)
    post = await make_post(db, me, title="窓口でのご案内")
    for _ in range(2):
        fan = await make_user(db)
        await client.put(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, fan))
    await login_as(client, me)
    feed = BeautifulSoup((await client.get("/")).text, "html.parser")
    assert feed.select_one("[data-testid=bell-count]").get_text(strip=True) == "1"
    body = feed.select_one("body")
    assert body["hx-ext"] == "sse" and body["sse-connect"].startswith("/events?")
    assert "feed=1" in body["sse-connect"] and feed.select_one("#new-posts[sse-swap=new-posts]")
    page = await client.get("/notifications")
    soup = BeautifulSoup(page.text, "html.parser")
    (item,) = soup.select("[data-testid=notification]")
    assert "unread" in item["class"] and "窓口でのご案内" in item.get_text()
    csrf = soup.select_one("input[name=csrf_token]")["value"]
    r = await client.post("/notifications/read", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    soup = BeautifulSoup((await client.get("/notifications")).text, "html.parser")
    assert "unread" not in soup.select_one("[data-testid=notification]")["class"]
    assert soup.select_one("[data-testid=bell-count]").get_text(strip=True) == ""


async def test_mark_one_in_place_and_open(client, db):
    me = await make_user(db)
    post = await make_post(db, me)
    await client.put(f"/api/v1/posts/{post.id}/like", headers=await bearer(db, await make_user(db)))
    other_post = await make_post(db, me)
    await client.put(
        f"/api/v1/posts/{other_post.id}/like", headers=await bearer(db, await make_user(db))
    )
    csrf = await login_as(client, me)
    first, second = (await client.get("/api/v1/notifications")).json()["items"]
    r = await client.post(
        f"/notifications/{first['id']}/read", headers={"HX-Request": "true", "X-CSRF-Token": csrf}
    )
    soup = BeautifulSoup(r.text, "html.parser")
    assert "unread" not in soup.select_one("li.notification")["class"]
    assert soup.select_one("[hx-swap-oob]").get_text(strip=True) == "1"  # the bell
    # Opening one marks it read and leads to the post.
    r = await client.get(f"/notifications/{second['id']}")
    assert (
        r.status_code == 303 and r.headers["location"] == f"/posts/{post.id}"
    )  # newest first: second is older
    assert await unread(db, me) == 0
    # Nobody opens or marks another's notification.
    stranger = await make_user(db)
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await login_as(client, stranger)
    assert (await client.get(f"/notifications/{second['id']}")).status_code == 404
    r = await client.post(f"/notifications/{first['id']}/read", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404


async def test_digest_preference(client, db):
    me = await make_user(db)
    assert me.digest == "weekly"
    csrf = await login_as(client, me)
    r = await client.post("/notifications/digest", data={"digest": "daily", "csrf_token": csrf})
    assert r.status_code == 303
    await db.refresh(me)
    assert me.digest == "daily"
    r = await client.put(
        "/api/v1/notifications/digest", json={"digest": "off"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.json() == {"digest": "off"}
    await db.refresh(me)
    assert me.digest == "off"
    r = await client.put(
        "/api/v1/notifications/digest", json={"digest": "hourly"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 422


async def test_featured_and_hidden_hooks(db):
    author, curator = await make_user(db), await make_user(db, role="curator")
    post = await make_post(db, author, title="好取組の投稿")
    await notifications.notify_post_featured(db, post.id, curator)
    await notifications.notify_post_featured(db, post.id, curator)  # a new note: no repeat
    await notifications.notify_post_hidden(db, post.id, curator)
    assert [n["kind"] for n in await rows_of(db, author)] == ["featured", "hidden"]
    # A curator featuring their own post is not told of it.
    own = await make_post(db, curator)
    await notifications.notify_post_featured(db, own.id, curator)
    assert await rows_of(db, curator) == []
    # Once hidden, the title is still shown to its author, but not to anybody else.
    views, _cursor = await notifications.list_for(db, author)
    assert all(v.post_title == "好取組の投稿" for v in views)
    assert "非表示" in views[0].message


async def test_mention_of_a_hidden_post_shows_no_title(client, db):
    author, friend = await make_user(db), await make_user(db)
    post = await make_post(db, author, title="あとで非表示")
    await client.post(
        f"/api/v1/posts/{post.id}/comments",
        json={"body": f"@{friend.code} どうぞ"},
        headers=await bearer(db, await make_user(db)),
    )
    post.status = "hidden"
    db.add(post)
    await db.commit()
    (view,) = (await notifications.list_for(db, friend))[0]
    assert view.post_title is None and view.target is None
    assert "あとで非表示" not in view.message


async def test_bulletin_hook_tells_audience_and_authors_once(db):
    region = await make_unit(db, kind="region")
    shop = await make_unit(db, parent_id=region.id)
    elsewhere = await make_unit(db)
    curator = await make_user(db, role="curator", unit=elsewhere)
    author = await make_user(db, unit=shop)
    reader = await make_user(db, unit=shop)
    outsider = await make_user(db, unit=elsewhere)
    inactive = await make_user(db, unit=shop, active=False)
    post = await make_post(db, author)
    now = clock.now()
    bulletin = Bulletin(
        title="今月の好取組",
        status="published",
        audience_all=False,
        fiscal_year=2025,
        volume=3,
        published_at=now,
        created_by_id=curator.id,
    )
    db.add(bulletin)
    await db.flush()
    db.add(BulletinAudience(bulletin_id=bulletin.id, unit_id=region.id))
    db.add(BulletinItem(bulletin_id=bulletin.id, post_id=post.id, position=1))
    await db.commit()
    await notifications.notify_bulletin_published(db, bulletin.id, curator)
    await notifications.notify_bulletin_published(db, bulletin.id, curator)  # idempotent
    assert [(n["kind"], n["post_id"]) for n in await rows_of(db, author)] == [
        ("bulletin_item", post.id)
    ]
    assert [(n["kind"], n["bulletin_id"]) for n in await rows_of(db, reader)] == [
        ("bulletin", bulletin.id)
    ]
    for nobody in (outsider, inactive, curator):
        assert await rows_of(db, nobody) == []
    (view,) = (await notifications.list_for(db, reader))[0]
    assert "第3号" in view.message and "今月の好取組" in view.message
    assert view.target == ("show_bulletin", {"bulletin_id": bulletin.id})


async def test_bell_text():
    assert [notifications.bell_text(n) for n in (0, 1, 99, 100, 250)] == [
        "",
        "1",
        "99",
        "99+",
        "99+",
    ]


async def test_a_failing_hook_never_breaks_the_action(db, monkeypatch):
    author, curator = await make_user(db), await make_user(db, role="curator")
    post = await make_post(db, author)

    async def broken(*_args):
        await db.execute(sa.text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(notifications.writing, "_post_event", broken)
    await notifications.notify_post_hidden(db, post.id, curator)  # logged, not raised
    assert post.title and await rows_of(db, author) == []  # the caller's objects still load


async def test_digest_form_returns_where_it_was_sent_from_and_refuses_nonsense(client, db):
    me = await make_user(db)
    csrf = await login_as(client, me)
    page = await client.get("/settings")
    assert 'name="next" value="/settings"' in page.text
    r = await client.post(
        "/notifications/digest", data={"digest": "daily", "next": "/settings", "csrf_token": csrf}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/settings")
    r = await client.post(
        "/notifications/digest",
        data={"digest": "off", "next": "//evil.example/", "csrf_token": csrf},
    )
    assert r.headers["location"] == "/"  # never an open redirect
    r = await client.post("/notifications/digest", data={"digest": "hourly", "csrf_token": csrf})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    await db.refresh(me)
    assert me.digest == "off"  # unchanged by the refused choice
