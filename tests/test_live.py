"""Live updates over Server-Sent Events: the stream of a real server (the bell, the feed's
"N new posts" banner honouring its filters, like counts), the hub's grouping of filtered
feeds, heartbeats, and — on PostgreSQL — two app instances sharing events through
LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import time
from collections import namedtuple

import httpx
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from app import live
from app.broker import Event, LocalBroker
from app.services.feed import FeedFilters
from tests.conftest import IS_PG
from tests.livetools import PRAISE, SseReader, app_server, browser_login, demo_database

PostState = namedtuple("PostState", "status author_id")
KNOWHOW = {
    "kind": "knowhow",
    "category": "skill",
    "title": "満期案内のひと工夫",
    "body": "課題: 案内が伝わらない\n工夫: 一言メモを添えた\n成果: 更新率が上がった",
}


@pytest.fixture(scope="module")
def live_db(tmp_path_factory):
    with demo_database("live", str(tmp_path_factory.mktemp("live"))) as url:
        yield url


@pytest.fixture(scope="module")
def server(live_db):
    with app_server(live_db) as base:
        yield base


async def test_events_need_a_login(server):
    async with httpx.AsyncClient(base_url=server) as anonymous:
        assert (await anonymous.get("/events")).status_code == 401


async def test_stream_carries_bell_new_posts_and_likes(server):
    started_ms = int(time.time() * 1000)
    reader = await browser_login(server, "E1001")
    writer = await browser_login(server, "E1002")
    try:
        async with (
            reader.stream("GET", "/events?feed=1") as everything,
            reader.stream("GET", "/events?feed=1&kind=knowhow") as knowhow_only,
        ):
            assert everything.headers["content-type"].startswith("text/event-stream")
            assert everything.headers["cache-control"] == "no-cache"
            feed, knowhow = SseReader(everything), SseReader(knowhow_only)
            bell_before = int((await feed.wait_for("bell")).data or 0)
            await knowhow.wait_for("bell")

            # A colleague's thanks post: a banner on the plain feed, not on the know-how one.
            r = await writer.post("/api/v1/posts", json=PRAISE)
            assert r.status_code == 201, r.text
            banner = BeautifulSoup((await feed.wait_for("new-posts")).data, "html.parser")
            link = banner.select_one("a.new-posts-link")
            assert link["href"] == "/" and "1" in link.get_text()
            assert await knowhow.nothing_named("new-posts", 1.0)

            # My own post makes no banner for me; a like on it moves its count and my bell.
            r = await reader.post("/api/v1/posts", json=PRAISE)
            mine = r.json()["id"]
            assert (await writer.put(f"/api/v1/posts/{mine}/like")).status_code == 200
            assert (await feed.wait_for(f"likes-{mine}")).data == "1"
            assert int((await feed.wait_for("bell")).data) == bell_before + 1
            assert [e.event for e in feed.seen].count("new-posts") == 1

            # A know-how post reaches the know-how feed, whose count starts at one.
            r = await writer.post("/api/v1/posts", json=KNOWHOW)
            assert r.status_code == 201, r.text
            banner = BeautifulSoup((await knowhow.wait_for("new-posts")).data, "html.parser")
            assert banner.select_one("a")["href"] == "/?kind=knowhow"
            second = BeautifulSoup((await feed.wait_for("new-posts")).data, "html.parser")
            assert "2" in second.get_text()

        # A browser reconnecting with `since` is told at once what it missed (others' posts).
        async with reader.stream("GET", f"/events?feed=1&since={started_ms}") as again:
            missed = SseReader(again)
            banner = BeautifulSoup((await missed.wait_for("new-posts")).data, "html.parser")
            assert "2" in banner.get_text()
    finally:
        await reader.aclose()
        await writer.aclose()


async def test_likes_of_hidden_posts_reach_only_those_who_may_see_them(server):
    """A hidden post's like count goes to its author and to curators, not to other staff."""
    author = await browser_login(server, "E1005")
    colleague = await browser_login(server, "E1006")
    curator = await browser_login(server, "curator")
    try:
        hidden = (await author.post("/api/v1/posts", json=PRAISE)).json()["id"]
        shown = (await author.post("/api/v1/posts", json=PRAISE)).json()["id"]
        assert (await curator.put(f"/api/v1/posts/{hidden}/like")).status_code == 200
        r = await curator.post(f"/api/v1/posts/{hidden}/hide", json={"reason": "個人情報"})
        assert r.status_code == 200, r.text
        async with (
            author.stream("GET", "/events") as a,
            colleague.stream("GET", "/events") as b,
            curator.stream("GET", "/events") as c,
        ):
            streams = {"author": SseReader(a), "colleague": SseReader(b), "curator": SseReader(c)}
            for reader in streams.values():
                await reader.wait_for("bell")
            # The curator takes back the like on the hidden post (the one change it allows),
            # then likes a published one: every stream hears events in that order.
            assert (await curator.delete(f"/api/v1/posts/{hidden}/like")).status_code == 200
            assert (await colleague.put(f"/api/v1/posts/{shown}/like")).status_code == 200
            heard = {}
            for who, reader in streams.items():
                assert (await reader.wait_for(f"likes-{shown}")).data == "1"
                heard[who] = [e.data for e in reader.seen if e.event == f"likes-{hidden}"]
            assert heard == {"author": ["0"], "colleague": [], "curator": ["0"]}
    finally:
        for client in (author, colleague, curator):
            await client.aclose()


@pytest.mark.skipif(
    not IS_PG,
    reason="instances share events through PostgreSQL LISTEN/NOTIFY; the SQLite run is one "
    "instance with the in-process broker",
)
async def test_a_post_on_instance_a_reaches_a_browser_on_instance_b(live_db):
    with app_server(live_db) as instance_a, app_server(live_db) as instance_b:
        viewer = await browser_login(instance_b, "E1003")
        writer = await browser_login(instance_a, "E1004")
        try:
            async with viewer.stream("GET", "/events?feed=1") as response:
                events = SseReader(response)
                bell_before = int((await events.wait_for("bell")).data or 0)
                r = await writer.post("/api/v1/posts", json=PRAISE)
                assert r.status_code == 201, r.text
                banner = BeautifulSoup((await events.wait_for("new-posts")).data, "html.parser")
                assert "1" in banner.get_text()
                # And back: a like given on A moves the count and the bell seen on B.
                mine = (await viewer.post("/api/v1/posts", json=PRAISE)).json()["id"]
                assert (await writer.put(f"/api/v1/posts/{mine}/like")).status_code == 200
                assert (await events.wait_for(f"likes-{mine}")).data == "1"
                assert int((await events.wait_for("bell")).data) == bell_before + 1
        finally:
            await viewer.aclose()
            await writer.aclose()


async def test_hub_checks_each_filter_signature_once(monkeypatch):
    hub = live.Hub(LocalBroker())
    plain = [live.Listener(user_id=i, locale="ja", feed=FeedFilters()) for i in (1, 2)]
    author = live.Listener(user_id=9, locale="ja", feed=FeedFilters())
    knowhow = [
        live.Listener(user_id=i, locale="ja", feed=FeedFilters(kind="knowhow")) for i in (3, 4)
    ]
    tagged = live.Listener(user_id=5, locale="ja", feed=FeedFilters(tag="接客"))
    elsewhere = live.Listener(user_id=6, locale="ja")  # a page without the feed
    everyone = [*plain, author, *knowhow, tagged, elsewhere]
    for listener in everyone:
        hub.add(listener)
    calls = []

    async def matching(post_id, groups):
        calls.append(sorted(f.query_params().get("kind", "") for f, _ in groups))
        return [group for f, group in groups if f.kind == "knowhow"]

    monkeypatch.setattr(hub, "_matching", matching)

    async def post_state(post_id):  # a published post (visibility: test_likes_of_hidden_posts…)
        return PostState("published", 9)

    monkeypatch.setattr(hub, "_post_state", post_state)
    event = {"post_id": 7, "kind": "knowhow", "unit_id": 1, "author_id": 9}
    await hub.dispatch(Event("post.created", event))
    assert calls == [["", "knowhow"]]  # one check for the two signatures, none for no filter
    got = {listener.user_id: listener.queue.qsize() for listener in everyone}
    assert got == {1: 1, 2: 1, 9: 0, 3: 1, 4: 1, 5: 0, 6: 0}
    # A published post's likes go to every stream; with only unfiltered feeds left, no check.
    await hub.dispatch(Event("post.liked", {"post_id": 7, "like_count": 3}))
    assert elsewhere.queue.get_nowait() == ("likes", None)
    assert elsewhere.unsent_likes == {7: 3}
    for listener in [*knowhow, tagged]:
        hub.remove(listener)
    await hub.dispatch(Event("post.created", {**event, "post_id": 8}))
    # One slot stands for every post not yet sent (and one for every like count).
    assert len(calls) == 1 and plain[0].queue.qsize() == 2 and plain[0].unsent_posts == 2
    # The same post announced twice (its publisher's broker resent it after a reconnect)
    # reaches each stream once.
    await hub.dispatch(Event("post.created", {**event, "post_id": 8}))
    assert plain[0].unsent_posts == 2
    assert set(hub.feeds) == {()}


async def test_stream_heartbeats_and_drops_a_slow_browser(monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.05)
    hub = live.Hub(LocalBroker())
    listener = live.Listener(user_id=1, locale="ja")
    stream = live.stream(hub, listener, [live.sse("bell", "2")])
    assert (await anext(stream)).startswith("retry: ")
    assert await anext(stream) == "event: bell\ndata: 2\n\n"
    assert hub.listeners == 1
    assert await anext(stream) == ": heartbeat\n\n"
    listener.push_likes(3, 5)
    assert await anext(stream) == "event: likes-3\ndata: 5\n\n"
    for n in range(live.QUEUE_SIZE + 1):
        listener.push("bell", n)
    assert listener.overflowed
    rest = [chunk async for chunk in stream]
    assert len(rest) <= 1 and hub.listeners == 0  # ended: the browser reconnects


def test_sse_format_and_banner():
    assert live.sse("new-posts", "a\nb") == "event: new-posts\ndata: a\ndata: b\n\n"
    listener = live.Listener(user_id=1, locale="en", feed=FeedFilters(), feed_url="/?q=<x>")
    listener.new_posts = 3
    html = live.banner_html(listener)
    assert 'href="/?q=&lt;x&gt;"' in html and "<x>" not in html
    assert live.since_time("abc") is None and live.since_time("1700000000000").year == 2023


async def test_hub_retries_an_event_while_the_database_is_away_and_survives_a_bad_one(
    monkeypatch,
):
    monkeypatch.setattr(live, "DISPATCH_RETRY_S", 0)
    broker = LocalBroker()
    hub = live.Hub(broker)
    listener = live.Listener(user_id=1, locale="ja", feed=FeedFilters())
    hub.add(listener)
    real_dispatch = hub.dispatch
    failures = {"post.created": 2, "bad": 1}

    async def dispatch(event):
        if failures.get(event.name):
            failures[event.name] -= 1
            if event.name == "bad":
                raise ValueError("a bad event")
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection was closed"))
        await real_dispatch(event)

    monkeypatch.setattr(hub, "dispatch", dispatch)
    hub.start()
    try:
        await broker.publish("bad", {})
        await broker.publish("post.created", {"post_id": 7, "author_id": 9})
        got = await asyncio.wait_for(listener.queue.get(), 5)
    finally:
        await hub.close()
    assert got == ("post", None) and listener.unsent_posts == 1
    assert failures == {"post.created": 0, "bad": 0}


async def test_a_burst_of_posts_and_likes_is_one_banner_and_the_latest_counts():
    """A catch-up after the database was away announces hundreds of posts and like counts at
    once: they wait coalesced (one queue slot each kind), the stream stays open, and the
    browser gets one banner with the total and the latest count of each post."""
    hub = live.Hub(LocalBroker())
    listener = live.Listener(user_id=1, locale="en", feed=FeedFilters())
    stream = live.stream(hub, listener, [])
    assert (await anext(stream)).startswith("retry: ")
    for post_id in range(1, 3 * live.QUEUE_SIZE):
        listener.push_post()
        listener.push_likes(post_id % 50, post_id)
    assert not listener.overflowed and listener.queue.qsize() == 2
    banner = await anext(stream)
    assert banner.startswith("event: new-posts") and f"{3 * live.QUEUE_SIZE - 1} new" in banner
    likes = [await anext(stream) for _ in range(50)]
    assert "event: likes-1\ndata: 551\n\n" in likes  # the last count pushed for post 1
    assert listener.unsent_likes == {} and listener.unsent_posts == 0
    await stream.aclose()
