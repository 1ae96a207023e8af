"""The live-event broker: in-process fan-out, and PostgreSQL LISTEN/NOTIFY across instances."""

from __future__ import annotations

import asyncio

import pytest

from app.broker import LocalBroker, PostgresBroker
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
