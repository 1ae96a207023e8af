"""Two app instances' drainers on one PostgreSQL database deliver each event exactly once
(FOR UPDATE SKIP LOCKED and the lease), against a real receiver that answers slowly enough
for the two to overlap."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import make_async_engine
from app.models.tables import integration_deliveries, integrations
from app.routes import router as pages
from app.services.integrations import outbox
from app.services.integrations.drainer import Drainer
from tests.conftest import IS_PG, _admin_pg, _pg_url, db_name
from tests.integrations.receivers import Receiver

pytestmark = [
    pytest.mark.serial,
    pytest.mark.skipif(not IS_PG, reason="SKIP LOCKED across connections: PostgreSQL"),
]
EVENTS = 60


async def _slow(_request):  # type: ignore[no-untyped-def]
    await asyncio.sleep(0.01)


async def test_two_drainers_deliver_each_event_once(settings):
    name = db_name("integrations_twice")
    _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_pg(f'CREATE DATABASE "{name}"')
    configured = settings.model_copy(
        update={"database_url": _pg_url(name), "outbound_allow_networks": "127.0.0.0/8"}
    )
    engines = [make_async_engine(configured) for _ in range(2)]
    try:
        async with engines[0].begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        async with Receiver(handler=_slow) as receiver:
            makers = [
                async_sessionmaker(e, class_=AsyncSession, expire_on_commit=False) for e in engines
            ]
            async with makers[0]() as db:
                await db.execute(
                    sa.insert(integrations).values(
                        id=1,
                        kind="webhook",
                        name="x",
                        enabled=True,
                        units="",
                        events="post.published",
                        post_kinds="praise",
                        settings=json.dumps({"url": receiver.url + "/hook"}),
                        secrets=json.dumps({"secret": "s" * 20}),
                        created_at=sa.func.now(),
                        updated_at=sa.func.now(),
                    )
                )
                for n in range(EVENTS):
                    await outbox.add(
                        db,
                        1,
                        "post.published",
                        f"post:{n}",
                        {
                            "occurred_at": "2026-12-07T12:00:00+09:00",
                            "post": {
                                "id": n,
                                "kind": "praise",
                                "title": f"t{n}",
                                "unit": {"code": "S1", "name": "新宿店"},
                                "author": {"code": "E1", "name": "伊藤"},
                                "featured": False,
                            },
                        },
                    )
                await db.commit()
            drainers = [Drainer(m, configured, pages.url_path_for) for m in makers]
            sent = await asyncio.gather(*(d.drain_once() for d in drainers))
            assert sum(sent) == EVENTS
            assert all(n > 0 for n in sent), sent  # both took part
            per_id = Counter(r.headers["X-Arigato-Delivery"] for r in receiver.requests)
            assert len(per_id) == EVENTS and set(per_id.values()) == {1}
            async with makers[0]() as db:
                outcomes = (
                    (await db.execute(sa.select(integration_deliveries.c.outcome))).scalars().all()
                )
            assert Counter(outcomes) == {"sent": EVENTS}
    finally:
        for e in engines:
            await e.dispose()
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
