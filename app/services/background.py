"""The loop every outbox drainer runs in each app instance (Web Push, integrations): drain,
then sleep until the next row is due, the poll interval passes, or a live event wakes it
(from any instance, through the broker). A failed step is logged and tried again; nothing
here runs in a request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.broker import get_broker
from app.logging import get_logger
from app.services import outbox

log = get_logger("arigato.background")


class Loop:
    """A drainer's loop over its outbox `table`: the drainer provides `claim` (a batch of
    due rows, services/outbox.claim_due), `send_one` (one row sent and its outcome
    recorded; 1 if it went out), `new_http`, and says which live events wake it."""

    poll_seconds: float
    http: aiohttp.ClientSession | None
    wake: asyncio.Event
    maker: Callable[[], AsyncSession]
    table: sa.Table
    keep_done: timedelta  # finished rows are kept this long

    async def claim(self, db: AsyncSession, now: datetime) -> Sequence[Any]:
        raise NotImplementedError

    async def send_one(self, http: aiohttp.ClientSession, row: Any) -> int:
        raise NotImplementedError

    async def drain_once(self) -> int:
        """Send every due row; how many went out."""
        sent = 0
        own_http = self.http is None
        http = self.http or self.new_http()
        try:
            while True:
                async with self.maker() as db:
                    batch = await self.claim(db, clock.now())
                if not batch:
                    break
                for row in batch:
                    sent += await self.send_one(http, row)
            async with self.maker() as db:
                await outbox.prune_done(db, self.table, clock.now() - self.keep_done)
                await db.commit()
        finally:
            if own_http:
                await http.close()
        return sent

    async def next_due(self) -> datetime | None:
        async with self.maker() as db:
            return await outbox.next_due(db, self.table)

    def new_http(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def wakes_on(self, event_name: str) -> bool:
        return True

    async def _sleep_until_woken(self, due: datetime | None) -> None:
        timeout = self.poll_seconds
        if due is not None:
            timeout = min(timeout, max((due - clock.now()).total_seconds(), 0.05))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout)
        self.wake.clear()

    async def _listen(self) -> None:
        while True:
            try:
                broker = await get_broker()
                subscription = broker.subscribe()
                try:
                    async for event in subscription:
                        if self.wakes_on(event.name):
                            self.wake.set()
                finally:
                    await subscription.aclose()
            except Exception:
                log.exception("drainer not woken by live events; polling meanwhile")
                await asyncio.sleep(self.poll_seconds)

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            async with self.new_http() as http:
                self.http = http  # one connection pool for the drainer's life
                while True:
                    due = None
                    try:
                        await self.drain_once()
                        due = await self.next_due()
                    except Exception:
                        log.exception("drainer step failed")  # e.g. the database was away
                    await self._sleep_until_woken(due)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


class Runner:
    """This instance's one task of a drainer, started and stopped with the app."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None

    def start(self, engine: AsyncEngine, make: Callable[[Callable[[], AsyncSession]], Any]) -> None:
        if self.task is not None:
            return
        sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self.task = asyncio.create_task(make(sessions).run())

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
