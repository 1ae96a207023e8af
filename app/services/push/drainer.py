"""The drainer: every app instance runs one (started with the app when VAPID keys are set).
It sends the outbox's due pushes — woken at once by the live event a new notification
publishes, and every PUSH_POLL_SECONDS for pushes held over quiet hours or waiting to be
retried. Nothing here runs in a request.

What a push carries: the notification's one line (names and titles, as in the e-mail
digest: never a customer's words, a comment's text or a hiding reason) in the recipient's
language, and the link it leads to. Per row: already read → not sent; kind switched off →
not sent; quiet hours → held until they end; 404/410 → the subscription is deleted;
429/5xx/no answer → retried with exponential backoff (or the push service's
Retry-After), given up after MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.config import Settings
from app.events import Topics
from app.logging import get_logger
from app.models import User
from app.models.tables import notifications, push_outbox, push_subscriptions
from app.services import background
from app.services import notifications as notification_service
from app.services.errors import NotFound
from app.services.outbox import backoff
from app.services.push import outbox, preferences, transport

log = get_logger("arigato.push")
BACKOFF_BASE_S = 30.0
PathFor = Callable[..., str]


async def payload_for(
    db: AsyncSession, row: outbox.Claimed, path_for: PathFor
) -> dict[str, Any] | None:
    """Title and link, in the recipient's language (None: nothing left to tell)."""
    user = await db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    token = i18n.current_locale.set(row.locale if row.locale in i18n.LOCALES else "ja")
    try:
        view = await notification_service.get_for(db, user, row.notification_id)
        if not view.unread:
            return None
        target = view.target
        url = path_for(target[0], **target[1]) if target else path_for("list_notifications")
        return {"title": view.message, "url": url, "tag": f"n{row.notification_id}"}
    except NotFound:
        return None
    finally:
        i18n.current_locale.reset(token)


class Drainer(background.Loop):
    def __init__(
        self,
        sessions: Callable[[], AsyncSession],
        settings: Settings,
        path_for: PathFor,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        assert settings.vapid_private_key and settings.vapid_subject
        self.maker = sessions
        self.settings = settings
        self.path_for = path_for
        self.http = http
        self.wake = asyncio.Event()
        self.poll_seconds = settings.push_poll_seconds
        self.table = push_outbox
        self.keep_done = outbox.KEEP_DONE

    async def claim(self, db: AsyncSession, now: datetime) -> list[outbox.Claimed]:
        return await outbox.claim(db, now)

    async def send_one(self, http: aiohttp.ClientSession, row: outbox.Claimed) -> int:
        now = clock.now()
        async with self.maker() as db:
            prefs = await preferences.get_settings_of(db, row.user_id)
            kind = (
                await db.execute(
                    sa.select(notifications.c.kind).where(notifications.c.id == row.notification_id)
                )
            ).scalar_one_or_none()
            payload = await payload_for(db, row, self.path_for)
            if kind is None or payload is None:
                await outbox.finish(db, row.id, "skipped")
            elif not preferences.wants(prefs, kind):
                await outbox.finish(db, row.id, "off")
            elif (until := preferences.quiet_until(prefs, now)) is not None:
                await outbox.hold(db, row.id, until)
            else:
                await db.commit()  # no transaction held while the push service answers
                return await self._send(db, http, row, payload)
            await db.commit()
        return 0

    async def _send(
        self, db: AsyncSession, http: aiohttp.ClientSession, row: outbox.Claimed, payload: Any
    ) -> int:
        assert self.settings.vapid_private_key and self.settings.vapid_subject
        result = await transport.send(
            http,
            endpoint=row.endpoint,
            p256dh=row.p256dh,
            auth=row.auth,
            payload=payload,
            private_key=self.settings.vapid_private_key,
            subject=self.settings.vapid_subject,
        )
        if result.sent:
            await outbox.finish(db, row.id, "sent")
            await db.execute(
                sa.update(push_subscriptions)
                .where(push_subscriptions.c.endpoint == row.endpoint)
                .values(last_sent_at=clock.now())
            )
        elif result.gone:
            # The subscription's other pushes go with it (ON DELETE CASCADE).
            await db.execute(
                sa.delete(push_subscriptions).where(push_subscriptions.c.endpoint == row.endpoint)
            )
            log.info("push subscription gone", status=result.status)
        elif result.retry and row.attempts < outbox.MAX_ATTEMPTS:
            wait = backoff(row.attempts, result.retry_after, BACKOFF_BASE_S)
            await outbox.postpone(db, row.id, clock.now() + wait, result.error)
        else:
            await outbox.finish(db, row.id, "failed", result.error)
            log.warning("push not sent", status=result.status, error=result.error)
        await db.commit()
        return int(result.sent)

    def wakes_on(self, event_name: str) -> bool:
        """Notifications changed (in any instance: the broker)."""
        return event_name == Topics.notifications_changed


_runner = background.Runner()


def start(settings: Settings, engine: AsyncEngine, path_for: PathFor) -> None:
    """Start this instance's drainer (the app's lifespan); nothing without VAPID keys."""
    if settings.push_enabled:
        _runner.start(engine, lambda sessions: Drainer(sessions, settings, path_for))


async def stop() -> None:
    await _runner.stop()
