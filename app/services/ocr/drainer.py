"""The image-check drainer: every app instance runs one (started with the app). It reads
each queued image with Tesseract in a worker thread — woken at once by the live event a
stored image publishes, and every OCR_POLL_SECONDS for retries — and records what it found.
Nothing here runs in a request.

Per row: no Tesseract (or no Japanese data) → the image waits for a curator (`unchecked`),
never passed; personal data found → `found` with the boxes to black out; nothing → `clean`;
an unreadable file → retried with backoff, then held for a curator like the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import aiohttp
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.config import Settings
from app.events import Topics
from app.logging import get_logger
from app.models import ImageCheck
from app.models.tables import image_check_jobs
from app.services import background
from app.services.ocr import queue, reader, regions
from app.services.outbox import backoff
from app.storage import Storage, get_storage

log = get_logger("arigato.ocr")
BACKOFF_BASE_S = 30.0


class Drainer(background.Loop):
    def __init__(
        self,
        sessions: Callable[[], AsyncSession],
        settings: Settings,
        storage: Storage | None = None,
    ) -> None:
        self.maker = sessions
        self.settings = settings
        self.storage = storage or get_storage()
        self.http = None
        self.wake = asyncio.Event()
        self.poll_seconds = settings.ocr_poll_seconds
        self.table = image_check_jobs
        self.keep_done = queue.KEEP_DONE

    async def claim(self, db: AsyncSession, now: datetime) -> list[queue.Claimed]:
        return await queue.claim(db, now)

    async def send_one(self, http: aiohttp.ClientSession, row: queue.Claimed) -> int:
        """Check one image (the loop's HTTP session is not used); 1 if it was decided."""
        if row.image_check != ImageCheck.pending:
            async with self.maker() as db:
                await queue.finish(db, row.id, "skipped")  # released before its check
                await db.commit()
            return 0
        outcome, check, found = await self._read(row)
        async with self.maker() as db:
            if outcome == "retry":
                wait = backoff(row.attempts, None, BACKOFF_BASE_S)
                await queue.postpone(db, row.id, clock.now() + wait, check)
                await db.commit()
                return 0
            decided = await queue.decide(db, row.attachment_id, check, found)
            await queue.finish(db, row.id, outcome if decided else "skipped")
            await db.commit()
        log.info("image checked", attachment_id=row.attachment_id, outcome=outcome)
        return int(decided)

    async def _read(self, row: queue.Claimed) -> tuple[str, str, str | None]:
        """(job outcome, the attachment's new check, its regions as JSON); ("retry", error,
        None) for a failure worth another try."""
        path = self.storage.path(row.storage_key)
        try:
            words = await anyio.to_thread.run_sync(
                reader.read_words, self.settings.tesseract_cmd, path
            )
        except reader.Unavailable as exc:
            log.warning("image check unavailable: held for a curator", error=str(exc))
            return "unavailable", ImageCheck.unchecked, None
        except Exception as exc:  # a missing or unreadable file, Tesseract failing
            error = f"{type(exc).__name__}: {exc}"[:200]
            if row.attempts < queue.MAX_ATTEMPTS:
                return "retry", error, None
            log.warning("image check failed: held for a curator", error=error)
            return "failed", ImageCheck.unchecked, None
        found = regions.find_regions(words)
        if found:
            return "found", ImageCheck.found, regions.dump(found)
        return "clean", ImageCheck.clean, None

    def wakes_on(self, event_name: str) -> bool:
        return event_name == Topics.image_stored


_runner = background.Runner()


def start(settings: Settings, engine: AsyncEngine) -> None:
    """Start this instance's drainer (the app's lifespan)."""
    if settings.ocr_drainer:
        _runner.start(engine, lambda sessions: Drainer(sessions, settings))


async def stop() -> None:
    await _runner.stop()
