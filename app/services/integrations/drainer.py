"""The integrations' drainer: every app instance runs one (started with the app). It sends
the outbox's due deliveries — woken by the live events (a post published, a notification
written: a hide, a feature) and every INTEGRATIONS_POLL_SECONDS for retries. Nothing here
runs in a request.

Per row: integration disabled → skipped; 2xx → sent (the chat tool's message id kept for a
retraction); timeout/429/5xx → retried with exponential backoff and jitter (or the
service's Retry-After); given up a day after the event, shown on the admin page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.config import Settings
from app.events import Topics
from app.logging import get_logger
from app.models.tables import integration_deliveries, integrations
from app.services import background
from app.services.integrations import guard, messages, outbox
from app.services.integrations.events import Event
from app.services.integrations.kinds import Context, Result
from app.services.integrations.registry import KINDS
from app.services.outbox import backoff

log = get_logger("arigato.integrations")
BACKOFF_BASE_S = 10.0
IN_FLIGHT_WAIT = timedelta(seconds=5)
PathFor = Callable[..., str]


class Drainer(background.Loop):
    def __init__(
        self,
        sessions: Callable[[], AsyncSession],
        settings: Settings,
        path_for: PathFor,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.maker = sessions
        self.settings = settings
        self.path_for = path_for
        self.allow = guard.parse_networks(settings.outbound_allow_networks)
        self.http = http
        self.wake = asyncio.Event()
        self.poll_seconds = settings.integrations_poll_seconds
        self.table = integration_deliveries
        self.keep_done = outbox.KEEP_DONE

    def new_http(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(resolver=guard.GuardedResolver(self.allow))
        return aiohttp.ClientSession(connector=connector)

    async def claim(self, db: AsyncSession, now: datetime) -> list[outbox.Claimed]:
        return await outbox.claim(db, now)

    async def send_one(self, http: aiohttp.ClientSession, row: outbox.Claimed) -> int:
        ctx = Context(http, self.settings, self.allow)
        kind = KINDS.get(row.kind)
        async with self.maker() as db:
            if kind is None or not row.enabled:
                await outbox.finish(db, row.id, "skipped", "integration disabled")
                await db.commit()
                return 0
            message = messages.build(row, self.settings, self.path_for)
            copies: list[tuple[int, str | None]] = []
            if row.event == Event.post_withdrawn:
                copies, in_flight = await outbox.sent_copies(db, row)
                if in_flight:  # its remote id is not known yet: after it
                    await outbox.wait(db, row.id, clock.now() + IN_FLIGHT_WAIT)
                    await db.commit()
                    return 0
            await db.commit()  # no transaction held while the service answers
        try:
            if row.event == Event.post_withdrawn:
                result = await kind.retract(ctx, message, [r for _id, r in copies if r])
            else:
                result = await kind.send(ctx, message)
        except Exception as exc:  # a transport's bug must not stop the drainer
            log.exception("integration transport failed", kind=row.kind)
            result = Result(None, error=type(exc).__name__)
        async with self.maker() as db:
            await self._record(db, row, result, [i for i, _r in copies])
            await db.commit()
        return int(result.sent)

    async def _record(
        self, db: AsyncSession, row: outbox.Claimed, result: Result, retracted: list[int]
    ) -> None:
        now = clock.now()
        if result.sent:
            await outbox.finish(db, row.id, "sent", remote_id=result.remote_id)
            await outbox.mark_retracted(db, retracted)
            return
        if result.retry and now - row.created_at < outbox.GIVE_UP_AFTER:
            wait = backoff(row.attempts, result.retry_after, BACKOFF_BASE_S, jitter=True)
            await outbox.postpone(db, row.id, now + wait, result.error)
            return
        await outbox.finish(db, row.id, "failed", result.error)
        await db.execute(
            sa.update(integrations)
            .where(integrations.c.id == row.integration_id)
            .values(failed_at=now, failure=(result.error or "failed")[:200])
        )
        log.warning("integration delivery given up", kind=row.kind, error=result.error)

    def wakes_on(self, event_name: str) -> bool:
        """A post published, or a notification written (a feature, a hide, a bulletin);
        anything else (a deletion) waits for the next poll."""
        return event_name in (Topics.post_created, Topics.notifications_changed)


_runner = background.Runner()


def start(settings: Settings, engine: AsyncEngine, path_for: PathFor) -> None:
    """Start this instance's drainer (the app's lifespan)."""
    if settings.integrations_drainer:
        _runner.start(engine, lambda sessions: Drainer(sessions, settings, path_for))


async def stop() -> None:
    await _runner.stop()
