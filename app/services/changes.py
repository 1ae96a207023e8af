"""Incremental export: the changes of posts, comments, likes, reactions and the audit log in
the order they were committed, paged with a cursor, deletions and hides as tombstones, so a
data warehouse can copy the board daily without reading it all again (docs/export.md).

The log itself (table `changes`) is written by database triggers (migration 0019). A change
row only names what changed; each item sent is that thing's state when the page is read (or a
tombstone), so a copy that applies the items in order ends equal to the board.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import CommentStatus, PostStatus
from app.models.tables import (
    audit_log,
    changes,
    comments,
    likes,
    post_praised,
    posts,
    reactions,
    units,
    users,
)
from app.services.errors import InvalidInput

Entity = Literal["post", "comment", "like", "reaction", "audit"]
ENTITIES: tuple[Entity, ...] = ("post", "comment", "like", "reaction", "audit")
MAX_LIMIT = 1000
# PostgreSQL: a change is read only once every transaction of this database that started
# before it has ended (the bound below), in (txid, seq) order. So a later page never finds a
# change that sorts before the cursor: a transaction that started earlier but commits later
# is simply not read until it has ended. The bound is the oldest transaction still running in
# this database (pg_stat_activity; the snapshot's list alone spans every database of the
# server, where a long transaction elsewhere would stall the export), else the next id. It is
# read in a statement of its own before the changes: whatever ended before it is then visible.
# SQLite has one writer at a time and commits in seq order: txid is always 0, no bound.
_PG_BOUND = sa.text(
    """
    SELECT least(
      pg_snapshot_xmax(s)::text::bigint,
      (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x
        WHERE (x::text::bigint % 4294967296) IN (
          SELECT backend_xid::text::bigint FROM pg_stat_activity
           WHERE datname = current_database() AND backend_xid IS NOT NULL
             AND pid <> pg_backend_pid())))
    FROM pg_current_snapshot() AS s
    """
)
# A request that has written (a test's one transaction) also reads its own changes.
_PG_OWN = sa.text("changes.txid = pg_current_xact_id_if_assigned()::text::bigint")


async def _pg_bound(db: AsyncSession) -> int:
    await db.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # fresh, not this txn's copy
    return int((await db.execute(_PG_BOUND)).scalar_one())


Key = tuple[int, int | None, str | None]  # (entity_id, user_id, kind)


@dataclass
class ChangePage:
    items: list[dict[str, Any]]
    next_cursor: str | None  # None: nothing more for now; keep the last cursor for next time
    cursor: str  # where the next read starts: the last change sent, or the one given


def encode_cursor(txid: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"c{txid}.{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """A 422 for anything that is not a cursor this module made."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        txid_s, dot, seq_s = raw.removeprefix("c").partition(".")
        if not raw.startswith("c") or not dot:
            raise ValueError
        txid, seq = int(txid_s), int(seq_s)
        if txid < 0 or seq < 0 or max(txid, seq) >= 2**63:
            raise ValueError
        return txid, seq
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [
                {
                    "loc": ["query", "cursor"],
                    "msg": _("This cursor is not valid."),
                    "type": "value_error",
                }
            ]
        ) from exc


async def read_changes(
    db: AsyncSession,
    entity: Entity,
    *,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> ChangePage:
    """The next `limit` changes of `entity` after `cursor` (or, without one, from the start of
    the log), made at or after `since` if given; each thing once per page, as it is now."""
    stmt = sa.select(
        changes.c.txid,
        changes.c.seq,
        changes.c.entity_id,
        changes.c.user_id,
        changes.c.kind,
        changes.c.changed_at,
    ).where(changes.c.entity == entity)
    if cursor:
        txid, seq = decode_cursor(cursor)
        stmt = stmt.where(
            sa.or_(changes.c.txid > txid, sa.and_(changes.c.txid == txid, changes.c.seq > seq))
        )
    if since is not None:
        stmt = stmt.where(changes.c.changed_at >= since)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.where(sa.or_(changes.c.txid < await _pg_bound(db), _PG_OWN))
    rows = (await db.execute(stmt.order_by(changes.c.txid, changes.c.seq).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # each thing once, at its last change in this page
    last: dict[Key, datetime] = {}
    for r in rows:
        key = (r.entity_id, r.user_id, r.kind)
        last.pop(key, None)
        last[key] = r.changed_at
    items = await STATES[entity](db, list(last))
    for item, changed_at in zip(items, last.values(), strict=True):
        item["changed_at"] = changed_at
    end = encode_cursor(rows[-1].txid, rows[-1].seq) if rows else (cursor or encode_cursor(0, 0))
    return ChangePage(items, end if more else None, end)


def _person(code: str | None, name: str | None) -> dict[str, str] | None:
    return None if code is None else {"code": code, "name": name or ""}


async def _posts(db: AsyncSession, keys: Sequence[Key]) -> list[dict[str, Any]]:
    ids = [k[0] for k in keys]
    author = users.alias("author")
    found = {
        r.id: r
        for r in await db.execute(
            sa.select(
                posts,
                author.c.code.label("author_code"),
                author.c.name.label("author_name"),
                units.c.code.label("unit_code"),
                units.c.name.label("unit_name"),
            )
            .join(author, author.c.id == posts.c.author_id)
            .join(units, units.c.id == posts.c.unit_id)
            .where(posts.c.id.in_(ids))
        )
    }
    praised: dict[int, list[str]] = {}
    for post_id, code in await db.execute(
        sa.select(post_praised.c.post_id, users.c.code)
        .join(users, users.c.id == post_praised.c.user_id)
        .where(post_praised.c.post_id.in_(ids))
        .order_by(post_praised.c.post_id, users.c.code)
    ):
        praised.setdefault(post_id, []).append(code)
    return [_post_item(i, found.get(i), praised.get(i, [])) for i in ids]


def _post_item(post_id: int, r: Row[Any] | None, praised: list[str]) -> dict[str, Any]:
    if r is None or r.status != PostStatus.published:
        # gone, deleted, hidden or back to draft: not on the board, so not in a copy
        return {
            "id": post_id,
            "deleted": True,
            "status": PostStatus.deleted if r is None else r.status,
        }
    return {
        "id": post_id,
        "deleted": False,
        "status": r.status,
        "kind": r.kind,
        "title": r.title,
        "body": r.body,
        "author": _person(r.author_code, r.author_name),
        "unit": {"code": r.unit_code, "name": r.unit_name},
        "tags": [t for t in r.tag_names.split("\t") if t],
        "praised": praised,
        "featured": r.featured,
        "feature_note": r.feature_note,
        "received_on": r.received_on,
        "channel": r.channel,
        "product": r.product,
        "category": r.category,
        "created_at": r.created_at,
        "published_at": r.published_at,
        "edited_at": r.edited_at,
    }


async def _comments(db: AsyncSession, keys: Sequence[Key]) -> list[dict[str, Any]]:
    ids = [k[0] for k in keys]
    found = {
        r.id: r
        for r in await db.execute(
            sa.select(
                comments, users.c.code.label("author_code"), users.c.name.label("author_name")
            )
            .join(users, users.c.id == comments.c.author_id)
            .where(comments.c.id.in_(ids))
        )
    }
    out = []
    for i in ids:
        r = found.get(i)
        if r is None or r.status != CommentStatus.published:
            status = CommentStatus.deleted if r is None else r.status
            out.append({"id": i, "deleted": True, "status": status})
            continue
        out.append(
            {
                "id": i,
                "deleted": False,
                "status": r.status,
                "post_id": r.post_id,
                "author": _person(r.author_code, r.author_name),
                "body": r.body,
                "created_at": r.created_at,
                "edited_at": r.edited_at,
            }
        )
    return out


async def _user_codes(db: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    rows = await db.execute(sa.select(users.c.id, users.c.code).where(users.c.id.in_(ids)))
    return {i: code for i, code in rows}


async def _likes(db: AsyncSession, keys: Sequence[Key]) -> list[dict[str, Any]]:
    pairs = [(k[0], k[1]) for k in keys]
    found = (
        {
            (r.post_id, r.user_id): r.created_at
            for r in await db.execute(
                sa.select(likes).where(sa.tuple_(likes.c.post_id, likes.c.user_id).in_(pairs))
            )
        }
        if pairs
        else {}
    )
    codes = await _user_codes(db, {u for _p, u in pairs})
    out = []
    for post_id, user_id in pairs:
        item: dict[str, Any] = {"post_id": post_id, "user": codes.get(user_id or 0)}
        made = found.get((post_id, user_id))
        item |= {"deleted": True} if made is None else {"deleted": False, "created_at": made}
        out.append(item)
    return out


async def _reactions(db: AsyncSession, keys: Sequence[Key]) -> list[dict[str, Any]]:
    found = (
        {
            (r.post_id, r.user_id, r.kind): r.created_at
            for r in await db.execute(
                sa.select(reactions).where(
                    sa.tuple_(reactions.c.post_id, reactions.c.user_id, reactions.c.kind).in_(
                        list(keys)
                    )
                )
            )
        }
        if keys
        else {}
    )
    codes = await _user_codes(db, {k[1] for k in keys})
    out = []
    for key in keys:
        item: dict[str, Any] = {"post_id": key[0], "user": codes.get(key[1] or 0), "kind": key[2]}
        made = found.get(key)
        item |= {"deleted": True} if made is None else {"deleted": False, "created_at": made}
        out.append(item)
    return out


async def _audit(db: AsyncSession, keys: Sequence[Key]) -> list[dict[str, Any]]:
    ids = [k[0] for k in keys]
    found = {
        r.id: r
        for r in await db.execute(
            sa.select(audit_log, users.c.code.label("actor_code"), users.c.name.label("actor_name"))
            .outerjoin(users, users.c.id == audit_log.c.actor_id)
            .where(audit_log.c.id.in_(ids))
        )
    }
    out: list[dict[str, Any]] = []
    for i in ids:
        r = found.get(i)
        if r is None:  # the log is append-only; a row removed outside the app
            out.append({"id": i, "deleted": True})
            continue
        out.append(
            {
                "id": i,
                "deleted": False,
                "created_at": r.created_at,
                "actor": _person(r.actor_code, r.actor_name),
                "action": r.action,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "reason": r.reason,
                "changes": r.changes,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
        )
    return out


STATES: dict[str, Callable[[AsyncSession, Sequence[Key]], Awaitable[list[dict[str, Any]]]]] = {
    "post": _posts,
    "comment": _comments,
    "like": _likes,
    "reaction": _reactions,
    "audit": _audit,
}
