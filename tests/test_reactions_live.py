"""Reaction counts live over Server-Sent Events, as like counts are: a real server's streams
hear reactions-{post}-{kind} after a reaction, only where the post may be seen; bursts are
coalesced to the latest count per (post, kind)."""

from __future__ import annotations

import pytest

from app import live
from app.broker import LocalBroker
from tests.livetools import PRAISE, SseReader, app_server, browser_login, demo_database


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with (
        demo_database("reactions_live", str(tmp_path_factory.mktemp("rlive"))) as url,
        app_server(url) as base,
    ):
        yield base


async def test_reaction_counts_reach_only_those_who_may_see_the_post(server):
    author = await browser_login(server, "E1005")
    colleague = await browser_login(server, "E1006")
    curator = await browser_login(server, "curator")
    try:
        hidden = (await author.post("/api/v1/posts", json=PRAISE)).json()["id"]
        shown = (await author.post("/api/v1/posts", json=PRAISE)).json()["id"]
        r = await curator.put(f"/api/v1/posts/{hidden}/reactions/helpful")
        assert r.status_code == 200
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
            # Taking a reaction back from the hidden post, then two reactions on a published
            # one: every stream hears them in that order.
            r = await curator.delete(f"/api/v1/posts/{hidden}/reactions/helpful")
            assert r.json() == {"kind": "helpful", "reacted": False, "count": 0}
            assert (await colleague.put(f"/api/v1/posts/{shown}/reactions/thanks")).json()[
                "count"
            ] == 1
            assert (await curator.put(f"/api/v1/posts/{shown}/reactions/want_to_try")).json()[
                "count"
            ] == 1
            heard = {}
            for who, reader in streams.items():
                assert (await reader.wait_for(f"reactions-{shown}-thanks")).data == "1"
                assert (await reader.wait_for(f"reactions-{shown}-want_to_try")).data == "1"
                heard[who] = [
                    e.data for e in reader.seen if e.event.startswith(f"reactions-{hidden}-")
                ]
            assert heard == {"author": ["0"], "colleague": [], "curator": ["0"]}
            # The author's bell rose: the reactions' grouped notification.
            assert any(e.event == "bell" for e in streams["author"].seen[1:])
    finally:
        for client in (author, colleague, curator):
            await client.aclose()


async def test_a_burst_of_reactions_is_the_latest_count_per_post_and_kind():
    hub = live.Hub(LocalBroker())
    listener = live.Listener(user_id=1, locale="ja")
    stream = live.stream(hub, listener, [])
    assert (await anext(stream)).startswith("retry: ")
    for n in range(3 * live.QUEUE_SIZE):
        listener.push_reactions(n % 10, "great" if n % 2 else "thanks", n)
    assert not listener.overflowed and listener.queue.qsize() == 1
    events = [await anext(stream) for _ in range(10)]
    assert "event: reactions-9-great\ndata: 599\n\n" in events
    assert "event: reactions-0-thanks\ndata: 590\n\n" in events
    assert listener.unsent_reactions == {}
    await stream.aclose()
