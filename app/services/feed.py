"""Reading posts: the filtered, keyset-paginated feed and single posts, as plain objects.

Hot path. Statements are SQLAlchemy Core, rows are copied into `__slots__` dataclasses
before rendering, and counters are read from the post row, never counted.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.models import HELD_CHECKS, PostStatus, ReactionKind, User, reaction_count_column
from app.models.tables import attachments as attachments_t
from app.models.tables import likes, post_tags, posts, reactions, units, users
from app.models.tables import post_praised as praised_t
from app.models.tables import tags as tags_t
from app.permissions import can_view_attachment
from app.services import org, scope
from app.services.cursor import decode_cursor, encode_cursor
from app.services.people import directory
from app.services.search import Found, found_in, post_text_filter

CARD_COLUMNS = (
    posts.c.id,
    posts.c.kind,
    posts.c.title,
    posts.c.body,
    posts.c.body_html,
    posts.c.status,
    posts.c.created_at,
    posts.c.edited_at,
    posts.c.received_on,
    posts.c.channel,
    posts.c.product,
    posts.c.category,
    posts.c.featured,
    posts.c.feature_note,
    posts.c.like_count,
    posts.c.comment_count,
    posts.c.thanks_count,
    posts.c.great_count,
    posts.c.helpful_count,
    posts.c.want_to_try_count,
    posts.c.tag_names,
    posts.c.author_id,
    posts.c.hidden_reason,
    users.c.code.label("author_code"),
    users.c.name.label("author_name"),
    units.c.code.label("unit_code"),
    units.c.name.label("unit_name"),
)
CARD_FROM = posts.join(users, users.c.id == posts.c.author_id).join(
    units, units.c.id == posts.c.unit_id
)
BASE_SELECT = sa.select(*CARD_COLUMNS).select_from(CARD_FROM)


@dataclass(slots=True)
class AttachmentRef:
    id: int
    filename: str
    content_type: str
    size: int
    has_thumbnail: bool
    image_check: str | None = None  # ImageCheck; the held ones reach only author and curators

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def held(self) -> bool:
        return self.image_check in HELD_CHECKS


@dataclass(slots=True)
class PostCard:
    id: int
    kind: str
    title: str
    body: str
    body_html: str
    status: str
    created_at: datetime
    edited_at: datetime | None
    received_on: date | None
    channel: str | None
    product: str | None
    category: str | None
    featured: bool
    feature_note: str | None
    like_count: int
    comment_count: int
    tags: list[str]
    author_id: int
    author_code: str
    author_name: str
    unit_code: str
    unit_name: str
    hidden_reason: str | None
    thanks_count: int = 0
    great_count: int = 0
    helpful_count: int = 0
    want_to_try_count: int = 0
    liked: bool = False
    attachments: list[AttachmentRef] = field(default_factory=list)
    praised: list[tuple[str, str]] = field(default_factory=list)
    my_reactions: list[str] = field(default_factory=list)  # the viewer's, in ReactionKind order
    found: Found | None = None  # a search's matches, highlighted (search.found_in)

    @property
    def reactions(self) -> dict[str, int]:
        """The count of each ReactionKind, in its order."""
        return {kind.value: getattr(self, reaction_count_column(kind)) for kind in ReactionKind}


@dataclass(frozen=True)
class FeedFilters:
    kind: str | None = None
    unit: str | None = None
    tag: str | None = None
    q: str | None = None
    featured: bool | None = None
    author: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def active(self) -> bool:
        return any(v not in (None, "") for v in vars(self).values())

    def query_params(self) -> dict[str, str]:
        out = {}
        for key, value in (
            ("kind", self.kind),
            ("unit", self.unit),
            ("tag", self.tag),
            ("q", self.q),
            ("author", self.author),
            ("from", self.date_from),
            ("to", self.date_to),
            ("featured", "1" if self.featured else None),
        ):
            if value not in (None, ""):
                out[key] = str(value)
        return out


async def with_unit_found(db: AsyncSession, filters: FeedFilters) -> tuple[FeedFilters, str]:
    """The filters with the unit as a person typed it (a code, "name (code)" from the picker,
    a name) replaced by its code, and the unit as the picker shows it ("" without a unit
    filter). InvalidInput naming what was typed when no unit, or more than one, fits."""
    if not filters.unit:
        return filters, ""
    unit = await directory.find_unit(db, filters.unit)
    return replace(filters, unit=unit.code), directory.unit_label(unit)


# The card's fields read from a row as they are (`tags` comes from `tag_names`).
_CARD_FIELDS = (
    "id",
    "kind",
    "title",
    "body",
    "body_html",
    "status",
    "created_at",
    "edited_at",
    "received_on",
    "channel",
    "product",
    "category",
    "featured",
    "feature_note",
    "like_count",
    "comment_count",
    "author_id",
    "author_code",
    "author_name",
    "unit_code",
    "unit_name",
    "hidden_reason",
    "thanks_count",
    "great_count",
    "helpful_count",
    "want_to_try_count",
)


@lru_cache(maxsize=16)
def _card_reader(keys: tuple[str, ...]) -> tuple[Callable[[Any], tuple[Any, ...]], int]:
    """For rows with these columns: a getter of the card's fields by position, and where
    `tag_names` is. (A row's attribute lookups by name cost ~0.6 µs each here: 28 of them
    a card, 20 cards a page, were 7% of a feed page's CPU under load.)"""
    at = {key: n for n, key in enumerate(keys)}
    return operator.itemgetter(*(at[name] for name in _CARD_FIELDS)), at["tag_names"]


def _card(row: Any) -> PostCard:
    get, tags_at = _card_reader(row._fields)
    tags = [t for t in row[tags_at].split("\t") if t]
    return PostCard(tags=tags, **dict(zip(_CARD_FIELDS, get(row), strict=True)))


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=i18n.zone())


def apply_filters(stmt: sa.Select[Any], filters: FeedFilters, dialect: str) -> sa.Select[Any]:
    if filters.kind:
        stmt = stmt.where(posts.c.kind == filters.kind)
    if filters.featured:
        stmt = stmt.where(posts.c.featured.is_(True))
    if filters.author:
        stmt = stmt.where(users.c.code == filters.author)
    if filters.unit:
        stmt = stmt.where(posts.c.unit_id.in_(org.subtree(units.c.code == filters.unit)))
    if filters.tag:
        tagged = (
            sa.select(post_tags.c.post_id)
            .join(tags_t, tags_t.c.id == post_tags.c.tag_id)
            .where(tags_t.c.name == filters.tag)
        )
        stmt = stmt.where(posts.c.id.in_(tagged))
    if filters.date_from:
        stmt = stmt.where(posts.c.created_at >= _day_start_utc(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(posts.c.created_at < _day_start_utc(filters.date_to + timedelta(days=1)))
    if filters.q:
        clause = post_text_filter(dialect, filters.q)
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


# Building the feed statement and its cache key cost more CPU than running it (~1 ms a
# page). Statements are immutable, so the one built for the same inputs is used again; the
# newest and most read pages (the first page of the feed, a popular search) always hit.
FEED_STATEMENT_CACHE = 256


@lru_cache(maxsize=FEED_STATEMENT_CACHE)
def _feed_statement(
    dialect: str,
    statuses: tuple[str, ...],
    only_author_id: int | None,
    praised_user_id: int | None,
    filters: FeedFilters,
    cursor: str | None,
    limit: int,
) -> sa.Select[Any]:
    """The page's cards; for a search, the ids of its posts only (`_cards_of` reads their
    cards: see list_posts)."""
    if filters.q:
        # Without the card's joins, PostgreSQL plans a search in ~0.1 ms instead of 4-6 ms (a
        # search's terms are constants, so every search is planned afresh).
        found = CARD_FROM if filters.author else posts
        stmt = sa.select(posts.c.id).select_from(found)
    else:
        stmt = BASE_SELECT
    # A search's page is answered from a statement without parameters (the status and the
    # limit written into it) where nothing else is chosen: PostgreSQL then plans it with its
    # constants every time. After five runs of a prepared statement it may keep a generic
    # plan instead, blind to how rare the term is: 15-230 ms instead of 2-17 ms at 1M posts.
    inline = bool(filters.q)
    stmt = (
        stmt.where(posts.c.status.in_([sa.literal(s, literal_execute=inline) for s in statuses]))
        if len(statuses) > 1
        else stmt.where(posts.c.status == sa.literal(statuses[0], literal_execute=inline))
    )
    if only_author_id is not None:
        stmt = stmt.where(posts.c.author_id == only_author_id)
    if praised_user_id is not None:
        stmt = stmt.where(
            posts.c.id.in_(
                sa.select(praised_t.c.post_id).where(praised_t.c.user_id == praised_user_id)
            )
        )
    stmt = apply_filters(stmt, filters, dialect)
    if cursor:
        at, last_id = decode_cursor(cursor)
        # Written out (not a row comparison) so both planners use the (status, created_at)
        # index: everything at or before the cursor's time, minus what that page showed.
        stmt = stmt.where(
            posts.c.created_at <= at, (posts.c.created_at < at) | (posts.c.id < last_id)
        )
    newest = stmt.order_by(posts.c.created_at.desc(), posts.c.id.desc())
    return newest.limit(sa.literal(limit + 1, literal_execute=True) if inline else limit + 1)


async def list_posts(
    db: AsyncSession,
    viewer: User,
    filters: FeedFilters,
    *,
    cursor: str | None = None,
    limit: int = 20,
    statuses: tuple[str, ...] = (PostStatus.published,),
    only_author_id: int | None = None,
    praised_user_id: int | None = None,
) -> tuple[list[PostCard], str | None]:
    """Newest first, keyset paginated: `cursor` is the last item of the previous page."""
    stmt = _feed_statement(
        db.get_bind().dialect.name,
        statuses,
        only_author_id,
        praised_user_id,
        filters,
        cursor,
        limit,
    )
    rows = (await db.execute(stmt)).all()
    more, rows = len(rows) > limit, rows[:limit]
    if filters.q:  # the ids of the page, newest first: then their cards, in that order
        ids = [r.id for r in rows]
        found = {r.id: r for r in await db.execute(_CARDS_OF, {"ids": ids})} if ids else {}
        rows = [found[i] for i in ids if i in found]
    cards = [_card(r) for r in rows]
    next_cursor = encode_cursor(cards[-1].created_at, cards[-1].id) if more and cards else None
    await decorate(db, viewer, cards)
    if filters.q:
        for card in cards:
            card.found = found_in(card.title, card.body, filters.q)
    return cards, next_cursor


def _decorate_statement() -> sa.CompoundSelect[Any]:
    """Liked-by-viewer, the viewer's reactions, attachments and praised colleagues of the
    posts `ids`, as one UNION ALL
    told apart by the first column. Built once: with bind parameters, a page only runs it."""
    ids = sa.bindparam("ids", expanding=True, type_=sa.Integer)
    null_text = sa.null().cast(sa.String)
    null_int = sa.null().cast(sa.Integer)
    liked = sa.select(
        sa.literal("l").label("what"),
        likes.c.post_id,
        null_int.label("ref"),
        null_text.label("a"),
        null_text.label("b"),
        null_int.label("size"),
        null_int.label("thumb"),
        null_text.label("checked"),
    ).where(
        likes.c.user_id == sa.bindparam("viewer_id", type_=sa.Integer), likes.c.post_id.in_(ids)
    )
    reacted = sa.select(
        sa.literal("r"),
        reactions.c.post_id,
        null_int,
        reactions.c.kind,
        null_text,
        null_int,
        null_int,
        null_text,
    ).where(
        reactions.c.user_id == sa.bindparam("viewer_id", type_=sa.Integer),
        reactions.c.post_id.in_(ids),
    )
    files = sa.select(
        sa.literal("a"),
        attachments_t.c.post_id,
        attachments_t.c.id,
        attachments_t.c.filename,
        attachments_t.c.content_type,
        attachments_t.c.size,
        sa.case((attachments_t.c.thumbnail_key.is_(None), 0), else_=1),
        attachments_t.c.image_check,
    ).where(attachments_t.c.post_id.in_(ids))
    praised = (
        sa.select(
            sa.literal("p"),
            praised_t.c.post_id,
            null_int,
            users.c.code,
            users.c.name,
            null_int,
            null_int,
            null_text,
        )
        .join(users, users.c.id == praised_t.c.user_id)
        .where(praised_t.c.post_id.in_(ids))
    )
    return sa.union_all(liked, reacted, files, praised).order_by("what", "ref", "a")


_DECORATE = _decorate_statement()


async def decorate(db: AsyncSession, viewer: User, cards: list[PostCard]) -> None:
    """Liked-by-viewer, the viewer's reactions, attachments and praised colleagues for a page
    of cards (one round trip)."""
    if not cards:
        return
    by_id = {c.id: c for c in cards}
    rows = await db.execute(_DECORATE, {"ids": list(by_id), "viewer_id": viewer.id})
    for what, post_id, ref, a, b, size, thumb, checked in rows:
        card = by_id[post_id]
        if what == "l":
            card.liked = True
        elif what == "r":
            card.my_reactions.append(a)
        elif what == "a":
            if can_view_attachment(viewer, card.author_id, checked):
                card.attachments.append(AttachmentRef(ref, a, b, size, bool(thumb), checked))
        else:
            card.praised.append((a, b))
    for card in cards:
        if len(card.my_reactions) > 1:
            card.my_reactions.sort(key=_REACTION_ORDER.__getitem__)
    if scope.is_scoped(viewer):
        await _held_images_within_scope(db, viewer, cards)


async def _held_images_within_scope(db: AsyncSession, viewer: User, cards: list[PostCard]) -> None:
    """A curator with a scope keeps the held images of the posts inside it only (one query,
    and only when a card of someone else's shows a held image)."""
    held = {
        c.id
        for c in cards
        if c.author_id != viewer.id and any(a.image_check in HELD_CHECKS for a in c.attachments)
    }
    if not held:
        return
    inside = await scope.overseen_posts(db, viewer, held)
    for card in cards:
        if card.id in held:
            card.attachments = [
                a
                for a in card.attachments
                if can_view_attachment(
                    viewer, card.author_id, a.image_check, overseen=card.id in inside
                )
            ]


_REACTION_ORDER = {kind.value: n for n, kind in enumerate(ReactionKind)}
_ONE_CARD = BASE_SELECT.where(posts.c.id == sa.bindparam("post_id", type_=sa.Integer))
_CARDS_OF = BASE_SELECT.where(posts.c.id.in_(sa.bindparam("ids", expanding=True)))


async def get_card(db: AsyncSession, viewer: User, post_id: int) -> PostCard | None:
    """The card of any post, whatever its status: the caller decides who may see it."""
    row = (await db.execute(_ONE_CARD, {"post_id": post_id})).first()
    if row is None:
        return None
    card = _card(row)
    await decorate(db, viewer, [card])
    return card


async def get_cards(db: AsyncSession, viewer: User, post_ids: list[int]) -> dict[int, PostCard]:
    """The cards of these posts by id, whatever their status: the caller decides who sees."""
    if not post_ids:
        return {}
    rows = (await db.execute(BASE_SELECT.where(posts.c.id.in_(post_ids)))).all()
    cards = [_card(r) for r in rows]
    await decorate(db, viewer, cards)
    return {c.id: c for c in cards}


_LIKERS = (
    sa.select(users.c.code, users.c.name, units.c.name)
    .select_from(
        likes.join(users, users.c.id == likes.c.user_id).join(units, units.c.id == users.c.unit_id)
    )
    .where(likes.c.post_id == sa.bindparam("post_id", type_=sa.Integer))
    .order_by(likes.c.created_at.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


async def likers(db: AsyncSession, post_id: int, limit: int = 500) -> list[tuple[str, str, str]]:
    """Who liked a post: (code, name, unit name), most recent first."""
    rows = await db.execute(_LIKERS, {"post_id": post_id, "limit": limit})
    return [(r[0], r[1], r[2]) for r in rows]
