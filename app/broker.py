"""Live events between app instances, behind one small interface.

`publish(event, data)` sends an event to every subscriber in every instance; `subscribe()`
yields them. In-process for SQLite (one instance); PostgreSQL LISTEN/NOTIFY when the
database is PostgreSQL, so a post made on instance A reaches browsers connected to B.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from app.config import Settings, get_settings
from app.logging import get_logger

CHANNEL = "arigato_events"
QUEUE_SIZE = 1000
# Delivered to this process's subscribers when the listener is back after losing its
# connection: {"since": epoch seconds}, from a while before the connection was lost (a row
# committed then may have been announced while nobody listened). Subscribers catch up.
RECONNECTED = "broker.reconnected"
CATCH_UP_MARGIN_S = 30.0
# Events that could not be sent while the database was away, sent once it is back.
PENDING_MAX = 1000
# How often the listening connection is checked: asyncpg does not always report a
# connection that died under a query (its termination listener never runs), and a dead
# listener hears nothing, so it is looked at and pinged rather than trusted.
CHECK_EVERY_S = 2.0
PING_TIMEOUT_S = 5.0
log = get_logger("arigato.broker")


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]


class Subscription:
    """Registered as soon as it is made, so no event published afterwards is missed."""

    def __init__(self, broker: LocalBroker) -> None:
        self._broker = broker
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        broker._queues.add(self.queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()

    async def aclose(self) -> None:
        self._broker._queues.discard(self.queue)


class Broker(Protocol):
    async def publish(self, name: str, data: dict[str, Any]) -> None: ...
    def subscribe(self) -> AsyncIterator[Event]: ...
    async def close(self) -> None: ...


class LocalBroker:
    """Fan-out to this process's subscribers (one bounded queue each; a slow one drops)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()

    def deliver(self, event: Event) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("subscriber queue full; event dropped", event=event.name)

    async def publish(self, name: str, data: dict[str, Any]) -> None:
        self.deliver(Event(name, data))

    def subscribe(self) -> Subscription:
        return Subscription(self)

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    async def close(self) -> None:
        self._queues.clear()


class PostgresBroker(LocalBroker):
    """LISTEN on one connection per process, NOTIFY to publish; local fan-out as above.

    The listening connection reconnects by itself when the database restarts; then what
    could not be published meanwhile is sent, and subscribers are told to catch up on what
    others published while nobody listened (RECONNECTED).
    """

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._listener: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # asyncpg runs one query at a time per connection: publishers take turns on it.
        self._publish_lock = asyncio.Lock()
        self._pending: deque[str] = deque(maxlen=PENDING_MAX)
        self._lost = asyncio.Event()  # set when anyone finds the listening connection dead
        self._on_terminated: Any = None

    @property
    def listening(self) -> bool:
        return self._ready.is_set()

    async def _listen(self) -> None:
        import asyncpg

        lost_at: float | None = None  # when the last connection was lost (None: never)
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                self._lost = lost = asyncio.Event()
                self._on_terminated = lambda _conn, lost=lost: lost.set()
                conn.add_termination_listener(self._on_terminated)
                self._listener = conn
                await conn.add_listener(CHANNEL, self._on_notify)
                self._ready.set()
                if lost_at is not None:
                    await self._send_pending()
                    self.deliver(Event(RECONNECTED, {"since": lost_at - CATCH_UP_MARGIN_S}))
                    log.info("broker listener back", pending=len(self._pending))
                lost_at = None
                await self._watch(conn, lost)
                conn.terminate()  # may be half open: a ping went unanswered
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # log and retry, never die
                log.warning("broker listener lost; reconnecting", error=type(exc).__name__)
            self._ready.clear()
            if lost_at is None:
                lost_at = time.time()
            await asyncio.sleep(1)

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        """Returns when the listening connection is gone: reported by asyncpg, found dead by
        a publisher, or not answering a ping."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), CHECK_EVERY_S)
                return
            if conn.is_closed():
                log.warning("broker listener found closed; reconnecting")
                return
            try:
                async with self._publish_lock:
                    await conn.fetchval("SELECT 1", timeout=PING_TIMEOUT_S)
            except Exception as exc:
                log.warning("broker listener not answering; reconnecting", error=type(exc).__name__)
                return

    async def _send_pending(self) -> None:
        while self._pending:
            payload = self._pending[0]
            try:
                async with self._publish_lock:
                    await self._listener.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except Exception:
                if self._listener.is_closed():
                    raise  # lost again: kept for the next connection
                log.warning("broker pending event refused; dropped")
            self._pending.popleft()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            self.deliver(Event(message["name"], message["data"]))
        except (ValueError, KeyError):
            log.warning("bad broker payload")

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5)

    async def publish(self, name: str, data: dict[str, Any]) -> None:
        import asyncpg

        payload = json.dumps({"name": name, "data": data}, ensure_ascii=False, default=str)
        conn = None
        try:
            if self._listener is None:
                conn = await asyncpg.connect(self._dsn)
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            elif not self.listening:
                self._pending.append(payload)  # reconnecting: sent when the listener is back
            else:
                async with self._publish_lock:
                    await self._listener.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except Exception as exc:  # never a 500; kept if the listener's connection died
            if self._listener is not None and (not self.listening or self._listener.is_closed()):
                self._lost.set()  # the listener reconnects even if asyncpg did not say
                self._pending.append(payload)  # sent by the listener once it is back
                log.warning("broker publish deferred", error=type(exc).__name__)
            else:
                log.warning("broker publish failed", error=type(exc).__name__)
        finally:
            if conn is not None:
                await conn.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        await super().close()


_broker: LocalBroker | None = None
_broker_loop: asyncio.AbstractEventLoop | None = None


def make_broker(settings: Settings) -> LocalBroker:
    if settings.is_sqlite:
        return LocalBroker()
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    dsn = dsn.replace("postgres://", "postgresql://", 1)
    return PostgresBroker(dsn)


async def get_broker() -> LocalBroker:
    """The process's broker, started on first use."""
    global _broker, _broker_loop
    loop = asyncio.get_running_loop()
    if _broker is not None and _broker_loop is not loop:
        # Made on another event loop (a test's, a finished `asyncio.run`): its connection and
        # queues belong to that loop and cannot be used from this one.
        _broker = None
    if _broker is None:
        _broker, _broker_loop = make_broker(get_settings()), loop
        if isinstance(_broker, PostgresBroker):
            await _broker.start()
    return _broker


async def close_broker() -> None:
    global _broker
    if _broker is not None:
        await _broker.close()
        _broker = None
