"""The live-event broker: in-process fan-out, and PostgreSQL LISTEN/NOTIFY across instances."""

from __future__ import annotations

import asyncio

import pytest

from app.broker import RECONNECTED, LocalBroker, PostgresBroker
from tests.conftest import IS_PG, _pg_url


async def _next(iterator, seconds=5.0):
    return await asyncio.wait_for(iterator.__anext__(), seconds)


async def test_local_broker_fans_out_to_every_subscriber():
    broker = LocalBroker()
    a, b = broker.subscribe(), broker.subscribe()
    first_a, first_b = asyncio.ensure_future(_next(a)), asyncio.ensure_future(_next(b))
    await asyncio.sleep(0)
    assert broker.subscribers == 2
    await broker.publish("post.created", {"post_id": 1})
    assert (await first_a).data == {"post_id": 1}
    assert (await first_b).name == "post.created"
    await a.aclose()
    await b.aclose()
    assert broker.subscribers == 0


@pytest.mark.skipif(
    not IS_PG, reason="LISTEN/NOTIFY is PostgreSQL's; the SQLite run uses LocalBroker"
)
async def test_postgres_broker_crosses_instances():
    dsn = _pg_url("postgres")
    instance_a, instance_b = PostgresBroker(dsn), PostgresBroker(dsn)
    await instance_a.start()
    await instance_b.start()
    try:
        events = instance_b.subscribe()
        waiting = asyncio.ensure_future(_next(events))
        await asyncio.sleep(0.05)
        await instance_a.publish("post.created", {"post_id": 42, "title": "ありがとう"})
        event = await waiting
        assert event.name == "post.created" and event.data["title"] == "ありがとう"
        await events.aclose()
    finally:
        await instance_a.close()
        await instance_b.close()


async def _server_terminates(pid: int) -> None:
    import asyncpg

    admin = await asyncpg.connect(_pg_url("postgres"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


@pytest.mark.skipif(not IS_PG, reason="LISTEN/NOTIFY is PostgreSQL's")
@pytest.mark.parametrize("found_by", ["ping", "publisher"])
async def test_a_listener_that_died_unreported_reconnects_and_catches_up(found_by):
    """Under a restart asyncpg can lose the listening connection without calling its
    termination listener (seen: InternalClientError under a NOTIFY, then silence): the
    broker finds it by pinging it, or when a publish fails on it, reconnects, sends what
    it held back, and tells its subscribers to catch up."""
    dsn = _pg_url("postgres")
    instance_a, instance_b = PostgresBroker(dsn), PostgresBroker(dsn)
    await instance_a.start()
    await instance_b.start()
    try:
        events_a, events_b = instance_a.subscribe(), instance_b.subscribe()
        listener = instance_b._listener
        listener.remove_termination_listener(instance_b._on_terminated)  # asyncpg "forgets"
        await _server_terminates(listener.get_server_pid())
        if found_by == "publisher":
            await asyncio.sleep(0.2)
            await instance_b.publish("post.created", {"post_id": 7})  # held back, not lost
        heard_b = [await _next(events_b, 15)]
        while heard_b[-1].name != RECONNECTED:
            heard_b.append(await _next(events_b, 5))
        assert instance_b.listening and instance_b._listener is not listener
        if found_by == "publisher":
            # what it held back went out once it was back: to A, and to itself
            assert [e.data for e in heard_b[:-1]] == [{"post_id": 7}]
            heard = await _next(events_a, 5)
            assert (heard.name, heard.data) == ("post.created", {"post_id": 7})
        await instance_a.publish("post.created", {"post_id": 8})
        assert (await _next(events_b, 5)).data == {"post_id": 8}
        await events_a.aclose()
        await events_b.aclose()
    finally:
        await instance_a.close()
        await instance_b.close()
