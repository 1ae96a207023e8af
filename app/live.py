"""Live updates for browsers over Server-Sent Events: one broker subscription per process,
fanned out to the open `/events` streams.

The hub keeps no database connection: it opens a short session only when an event needs a
check, and then one query serves every stream that needs it — the filtered feeds are grouped
by their filter signature and checked together, unfiltered feeds need no query at all, and
one query recounts the bells of every connected recipient.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n, templating
from app.broker import RECONNECTED, Event, LocalBroker, get_broker
from app.db import get_engine
from app.events import Topics
from app.logging import get_logger
from app.models import PostStatus, ReactionKind, User, reaction_count_column
from app.models.tables import likes, posts, reactions
from app.permissions import PostLike, can_view_post
from app.services import notifications
from app.services.feed import CARD_FROM, FeedFilters, apply_filters

HEARTBEAT_SECONDS = 20.0
QUEUE_SIZE = 200  # events waiting for one slow browser; beyond that it is dropped
RETRY_MS = 3000  # how soon a browser reconnects after the stream ends
CHECK_CHUNK = 50  # filter signatures per query
ANNOUNCED_KEPT = 5000  # post ids remembered, so that a catch-up announces none twice
CATCH_UP_CAP = 500  # posts (and liked posts) a catch-up after a reconnect looks at
DISPATCH_TRIES = 10  # the database may answer the listener before it answers queries
DISPATCH_RETRY_S = 1.0
log = get_logger("arigato.live")


class SseEvents:
    """The SSE event names the templates listen to (`sse-swap=...`)."""

    bell = "bell"
    new_posts = "new-posts"

    @staticmethod
    def likes(post_id: int) -> str:
        return f"likes-{post_id}"

    @staticmethod
    def reactions(post_id: int, kind: str) -> str:
        return f"reactions-{post_id}-{kind}"


FilterKey = tuple[tuple[str, str], ...]


def filter_key(filters: FeedFilters) -> FilterKey:
    return tuple(sorted(filters.query_params().items()))


@dataclass(eq=False)
class Listener:
    """One open stream: who is listening and, on the feed, with which filters."""

    user_id: int
    locale: str
    viewer: User | None = None  # decides whose unpublished posts' like counts it hears
    feed: FeedFilters | None = None  # None: a page without the feed (no new-post banner)
    feed_url: str = "/"
    new_posts: int = 0
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    # Coalesced: new posts heard of and the latest like count per post, not yet sent. One
    # queue slot stands for all of them, so a burst (a catch-up after the database was
    # away announces hundreds at once) neither floods the queue nor ends the stream.
    unsent_posts: int = 0
    unsent_likes: dict[int, int] = field(default_factory=dict)
    unsent_reactions: dict[tuple[int, str], int] = field(default_factory=dict)

    def push_post(self) -> None:
        self.unsent_posts += 1
        if self.unsent_posts == 1:
            self.push("post", None)

    def push_likes(self, post_id: int, count: int) -> None:
        waiting = bool(self.unsent_likes)
        self.unsent_likes[post_id] = count
        if not waiting:
            self.push("likes", None)

    def push_reactions(self, post_id: int, kind: str, count: int) -> None:
        waiting = bool(self.unsent_reactions)
        self.unsent_reactions[(post_id, kind)] = count
        if not waiting:
            self.push("reactions", None)

    def push(self, kind: str, value: Any) -> None:
        try:
            self.queue.put_nowait((kind, value))
        except asyncio.QueueFull:
            # Too slow to keep up: end its stream; the browser reconnects and catches up.
            if not self.overflowed:
                log.warning("live listener too slow; its stream ends", user_id=self.user_id)
            self.overflowed = True


class Hub:
    def __init__(self, broker: LocalBroker) -> None:
        self._broker = broker
        self._task: asyncio.Task[None] | None = None
        self.by_user: dict[int, set[Listener]] = {}
        self.feeds: dict[FilterKey, tuple[FeedFilters, set[Listener]]] = {}
        self._maker: async_sessionmaker[AsyncSession] | None = None
        # New posts announced live, and those a catch-up announced: neither path repeats
        # what the other already said (a post published while the listener was away may
        # also arrive late, when its publisher's broker sends what it had to hold back).
        self._announced: OrderedDict[int, None] = OrderedDict()
        self._caught_up: OrderedDict[int, None] = OrderedDict()

    @property
    def listeners(self) -> int:
        return sum(len(s) for s in self.by_user.values())

    def start(self) -> None:
        if self._task is None:
            subscription = self._broker.subscribe()  # registered now: nothing is missed
            self._task = asyncio.create_task(self._run(subscription))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def add(self, listener: Listener) -> None:
        self.by_user.setdefault(listener.user_id, set()).add(listener)
        if listener.feed is not None:
            key = filter_key(listener.feed)
            self.feeds.setdefault(key, (listener.feed, set()))[1].add(listener)

    def remove(self, listener: Listener) -> None:
        mine = self.by_user.get(listener.user_id)
        if mine is not None:
            mine.discard(listener)
            if not mine:
                del self.by_user[listener.user_id]
        if listener.feed is not None:
            key = filter_key(listener.feed)
            group = self.feeds.get(key)
            if group is not None:
                group[1].discard(listener)
                if not group[1]:
                    del self.feeds[key]

    async def _run(self, subscription: AsyncIterator[Event]) -> None:
        try:
            async for event in subscription:
                await self._dispatch_retrying(event)
        finally:
            aclose = getattr(subscription, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _dispatch_retrying(self, event: Event) -> None:
        """One event, retried while the database is away (a restart also ends the pooled
        connections, which the pool replaces on the next try); one bad event never stops
        the live updates. Safe to retry: dispatching reads first and pushes after."""
        for attempt in range(DISPATCH_TRIES):
            try:
                await self.dispatch(event)
                return
            except sa.exc.DBAPIError as exc:
                if attempt == DISPATCH_TRIES - 1:
                    log.exception("live event failed", event_name=event.name)
                    return
                log.warning("live event waits for the database", error=type(exc).__name__)
                await asyncio.sleep(DISPATCH_RETRY_S)
            except Exception:
                log.exception("live event failed", event_name=event.name)
                return

    def _session(self) -> AsyncSession:
        if self._maker is None:
            self._maker = async_sessionmaker(
                get_engine(), class_=AsyncSession, expire_on_commit=False
            )
        return self._maker()

    async def dispatch(self, event: Event) -> None:
        if event.name == Topics.post_created:
            await self._post_created(event.data)
        elif event.name == Topics.post_liked:
            post_id, count = int(event.data["post_id"]), int(event.data["like_count"])
            await self._counted(post_id, lambda listener: listener.push_likes(post_id, count))
        elif event.name == Topics.post_reacted:
            post_id, kind = int(event.data["post_id"]), str(event.data["kind"])
            count = int(event.data["count"])
            await self._counted(
                post_id, lambda listener: listener.push_reactions(post_id, kind, count)
            )
        elif event.name == Topics.notifications_changed:
            await self._bells(event.data)
        elif event.name == RECONNECTED:
            await self._catch_up(float(event.data["since"]))

    @staticmethod
    def _remember(seen: OrderedDict[int, None], post_id: int) -> None:
        seen[post_id] = None
        if len(seen) > ANNOUNCED_KEPT:
            seen.popitem(last=False)

    async def _catch_up(self, since: float) -> None:
        """After the broker's listener was away: what every open stream missed, as the
        events it would have had (the same rows a reconnecting browser's `since` counts)."""
        new, liked, reacted = await self._missed(datetime.fromtimestamp(since, tz=UTC))
        for post_id, author_id in new:
            if post_id in self._announced or post_id in self._caught_up:
                continue  # said live, or by an earlier catch-up (the listener may flap)
            await self._announce(post_id, author_id)
            self._remember(self._caught_up, post_id)
        for post_id, like_count in liked:
            await self.dispatch(
                Event(Topics.post_liked, {"post_id": post_id, "like_count": like_count})
            )
        for post_id, *counts in reacted:
            for kind, count in zip(ReactionKind, counts, strict=True):
                await self.dispatch(
                    Event(Topics.post_reacted, {"post_id": post_id, "kind": kind, "count": count})
                )
        await self.dispatch(Event(Topics.notifications_changed, {"all": True}))

    async def _missed(self, after: datetime) -> tuple[list[Any], list[Any], list[Any]]:
        """Posts published since `after`, the like counts of posts liked since then, and the
        reaction counts (in ReactionKind order) of posts reacted to since then."""
        async with self._session() as db:
            new = (
                await db.execute(
                    sa.select(posts.c.id, posts.c.author_id)
                    .where(posts.c.status == PostStatus.published, posts.c.created_at > after)
                    .order_by(posts.c.id.desc())  # the newest: the oldest were likely said live
                    .limit(CATCH_UP_CAP)
                )
            ).all()
            liked = (
                await db.execute(
                    sa.select(posts.c.id, posts.c.like_count)
                    .where(
                        posts.c.id.in_(sa.select(likes.c.post_id).where(likes.c.created_at > after))
                    )
                    .limit(CATCH_UP_CAP)
                )
            ).all()
            reacted = (
                await db.execute(
                    sa.select(
                        posts.c.id, *(posts.c[reaction_count_column(k)] for k in ReactionKind)
                    )
                    .where(
                        posts.c.id.in_(
                            sa.select(reactions.c.post_id).where(reactions.c.created_at > after)
                        )
                    )
                    .limit(CATCH_UP_CAP)
                )
            ).all()
        return list(reversed(new)), list(liked), list(reacted)

    async def _counted(self, post_id: int, push: Callable[[Listener], None]) -> None:
        """A like or reaction count goes only to the streams that may see the post
        (app.permissions): a hidden post's counts are its author's and the curators'
        business, nobody else's."""
        if not self.by_user:
            return
        post = await self._post_state(post_id)
        if post is None:
            return
        published = post.status == PostStatus.published
        for listeners in self.by_user.values():
            for listener in listeners:
                viewer = listener.viewer
                if published or (viewer is not None and can_view_post(viewer, post)):
                    push(listener)

    async def _post_state(self, post_id: int) -> PostLike | None:
        """What visibility depends on, read now: the post may have been hidden meanwhile."""
        async with self._session() as db:
            query = sa.select(posts.c.status, posts.c.author_id).where(posts.c.id == post_id)
            row: PostLike | None = (await db.execute(query)).one_or_none()
            return row

    async def _post_created(self, data: dict[str, Any]) -> None:
        post_id, author_id = int(data["post_id"]), int(data["author_id"])
        if post_id in self._caught_up or post_id in self._announced:
            return  # announced already: by a catch-up, or this event came twice
        self._remember(self._announced, post_id)
        await self._announce(post_id, author_id)

    async def _announce(self, post_id: int, author_id: int) -> None:
        matched: list[set[Listener]] = []
        filtered: list[tuple[FeedFilters, set[Listener]]] = []
        for key, (filters, listeners) in self.feeds.items():
            if key:
                filtered.append((filters, listeners))
            else:
                matched.append(listeners)  # no filters: every new post matches, no query
        if filtered:
            matched.extend(await self._matching(post_id, filtered))
        for listeners in matched:
            for listener in listeners:
                if listener.user_id != author_id:
                    listener.push_post()

    async def _matching(
        self, post_id: int, groups: list[tuple[FeedFilters, set[Listener]]]
    ) -> list[set[Listener]]:
        """Which filter signatures the new post matches: one query per CHECK_CHUNK of them."""
        found: list[set[Listener]] = []
        async with self._session() as db:
            dialect = db.get_bind().dialect.name
            for start in range(0, len(groups), CHECK_CHUNK):
                chunk = groups[start : start + CHECK_CHUNK]
                checks = [
                    apply_filters(
                        sa.select(sa.literal(n).label("n"))
                        .select_from(CARD_FROM)
                        .where(posts.c.id == post_id, posts.c.status == PostStatus.published),
                        filters,
                        dialect,
                    )
                    for n, (filters, _listeners) in enumerate(chunk)
                ]
                query = checks[0] if len(checks) == 1 else sa.union_all(*checks)
                for (n,) in (await db.execute(query)).all():
                    found.append(chunk[int(n)][1])
        return found

    async def _bells(self, data: dict[str, Any]) -> None:
        wanted = list(self.by_user) if data.get("all") else data.get("user_ids", [])
        connected = [int(u) for u in wanted if int(u) in self.by_user]
        if not connected:
            return
        counts: dict[int, int] = {}
        async with self._session() as db:
            for start in range(0, len(connected), 500):
                counts.update(await notifications.unread_counts(db, connected[start : start + 500]))
        for user_id in connected:
            for listener in self.by_user.get(user_id, ()):
                listener.push("bell", counts.get(user_id, 0))


_hub: Hub | None = None


async def get_hub() -> Hub:
    """The process's hub, on the process's broker (both made on first use)."""
    global _hub
    broker = await get_broker()
    if _hub is None or _hub._broker is not broker:
        _hub = Hub(broker)
        _hub.start()
    return _hub


async def close_hub() -> None:
    global _hub
    if _hub is not None:
        await _hub.close()
        _hub = None


# The stream ----------------------------------------------------------------------------------


def sse(event: str, data: str) -> str:
    """One Server-Sent Event; every line of the data gets its own `data:` field."""
    lines = "".join(f"data: {line}\n" for line in (data.splitlines() or [""]))
    return f"event: {event}\n{lines}\n"


def bell_html(count: int) -> str:
    return str(escape(notifications.bell_text(count)))


def banner_html(listener: Listener) -> str:
    if listener.new_posts <= 0:
        return ""
    template = templating.env.get_template("feed/_new_posts.html")
    return template.render(n=listener.new_posts, feed_url=listener.feed_url)


def since_time(value: str | None) -> datetime | None:
    """The `since` parameter: milliseconds since the epoch (when the page was made)."""
    if not value or not value.isdigit() or len(value) > 15:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


async def stream(hub: Hub, listener: Listener, first: list[str]) -> AsyncIterator[str]:
    """The event stream of one browser: what it missed, then events and heartbeats."""
    hub.add(listener)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        for message in first:
            yield message
        while not listener.overflowed:
            try:
                kind, value = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            token = i18n.current_locale.set(listener.locale)
            try:
                if kind == "post":
                    listener.new_posts += listener.unsent_posts
                    listener.unsent_posts = 0
                    yield sse(SseEvents.new_posts, banner_html(listener))
                elif kind == "likes":
                    unsent, listener.unsent_likes = listener.unsent_likes, {}
                    for post_id, count in unsent.items():
                        yield sse(SseEvents.likes(post_id), str(int(count)))
                elif kind == "reactions":
                    reacted, listener.unsent_reactions = listener.unsent_reactions, {}
                    for (post_id, reaction), count in reacted.items():
                        yield sse(SseEvents.reactions(post_id, reaction), str(int(count)))
                elif kind == "bell":
                    yield sse(SseEvents.bell, bell_html(int(value)))
            finally:
                i18n.current_locale.reset(token)
    finally:
        hub.remove(listener)
