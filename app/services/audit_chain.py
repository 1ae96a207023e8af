"""The audit log's hash chain: each row carries the SHA-256 of the row before it (`prev_hash`)
and of its own canonical content (`hash`), so that a row changed or removed behind the app's
back shows up when the chain is walked (`arigato audit verify`).

The canonical form is a contract with auditors (docs/compliance.md "The audit chain") and
with every row already written: it must never change. A row's canonical content is the JSON
object of these keys, sorted, without spaces (separators "," and ":"), non-ASCII characters
as \\uXXXX escapes (so the text is pure ASCII and survives any CSV encoding):

    action, actor_id, at, changes, id, prev_hash, reason, target_id, target_type

`at` is `created_at` in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; `changes` is the stored JSON
text as a string (not re-encoded); ids are integers or null. `hash` is the lower-case hex
SHA-256 of that text's bytes; the first row's `prev_hash` is 64 zeros.

Rows are sealed when the session flushes them (a `before_flush` hook, so every
`audit.record(...)` caller is covered without knowing): in one transaction the head is read
and each new row gets the next id, the head's hash as `prev_hash`, and its own hash. On
PostgreSQL a transaction-level advisory lock is taken first, so two instances appending at
once queue instead of forking the chain; SQLite has a single writer. A unique index on
`prev_hash` refuses a fork even if the lock were bypassed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import AuditEntry
from app.models.tables import audit_log

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the audit chain: any constant nobody else uses ("AUDITLOG").
LOCK_KEY = 0x4155444954_4C4F47
_PENDING = "audit_chain_pending"
VERIFY_BATCH = 1000


def utc_text(at: datetime) -> str:
    """`at` as the canonical form writes it: UTC, microseconds, a Z."""
    if at.tzinfo is None:  # a raw SQLite value: stored as naive UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    *,
    id: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    reason: str | None,
    changes: str | None,
    prev_hash: str,
) -> str:
    """The row's canonical content (the module's docstring defines it)."""
    content = {
        "id": id,
        "at": utc_text(at),
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "reason": reason,
        "changes": changes,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def row_canonical(row: Any) -> str:
    """The canonical content of an audit row (a model or a Core row with its columns)."""
    return canonical(
        id=row.id,
        at=row.created_at,
        actor_id=row.actor_id,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        reason=row.reason,
        changes=row.changes,
        prev_hash=row.prev_hash,
    )


# -- sealing new rows --------------------------------------------------------------------------


def remember(db: AsyncSession, entry: AuditEntry) -> None:
    """Note the order entries were recorded in; they are chained in that order."""
    db.sync_session.info.setdefault(_PENDING, []).append(entry)


def _head_sync(conn: sa.Connection) -> tuple[int, str] | None:
    row = conn.execute(
        sa.select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else None


@sa.event.listens_for(orm.Session, "before_flush")
def _seal(session: orm.Session, _context: Any, _instances: Any) -> None:
    new = [o for o in session.new if isinstance(o, AuditEntry)]
    pending: list[AuditEntry] = session.info.pop(_PENDING, [])
    if not new:
        return
    order = {id(e): i for i, e in enumerate(pending)}
    new.sort(key=lambda e: order.get(id(e), len(order)))
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # Held until the transaction ends: the next appender reads the head only after
        # this transaction's rows are committed (or rolled back).
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
    head = _head_sync(conn)
    last_id, prev = head if head else (0, GENESIS)
    for entry in new:
        if postgres:
            seq = sa.func.nextval(sa.func.pg_get_serial_sequence("audit_log", "id"))
            entry.id = int(conn.execute(sa.select(seq)).scalar_one())
        else:
            entry.id = last_id + 1
        last_id = entry.id
        entry.prev_hash = prev
        entry.hash = prev = digest(row_canonical(entry))


# -- reading the chain -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Head:
    id: int
    hash: str
    count: int


@dataclass(frozen=True, slots=True)
class Broken:
    """The first row that does not match, and how."""

    id: int
    problem: str  # "content" (hash differs) | "link" (prev_hash is not the previous row's)
    expected: str
    found: str

    def describe(self) -> str:
        if self.problem == "link":
            return (
                f"row {self.id}: prev_hash {self.found} is not the hash of the row before it "
                f"({self.expected}): a row before it was removed or changed"
            )
        return (
            f"row {self.id}: its content hashes to {self.expected}, not to the stored "
            f"{self.found}: the row was changed"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    checked: int
    head: Head | None
    broken: Broken | None


async def _rows(db: AsyncSession) -> AsyncIterator[Any]:
    """Every row in id order, read in keyset batches."""
    after = 0
    while True:
        batch = (
            await db.execute(
                sa.select(audit_log)
                .where(audit_log.c.id > after)
                .order_by(audit_log.c.id)
                .limit(VERIFY_BATCH)
            )
        ).all()
        for row in batch:
            yield row
        if len(batch) < VERIFY_BATCH:
            return
        after = batch[-1].id


async def verify(db: AsyncSession) -> Verdict:
    """Walk the chain from the first row; stop at the first row that does not match."""
    prev = GENESIS
    checked = 0
    last: Any = None
    async for row in _rows(db):
        if row.prev_hash != prev:
            return Verdict(checked, None, Broken(row.id, "link", prev, row.prev_hash))
        content = digest(row_canonical(row))
        if content != row.hash:
            return Verdict(checked, None, Broken(row.id, "content", content, row.hash))
        prev = row.hash
        checked += 1
        last = row
    return Verdict(checked, Head(last.id, last.hash, checked) if last else None, None)


async def head(db: AsyncSession) -> Head | None:
    """The newest row's id and hash (the anchor to write down), and how many rows there are."""
    found = (
        await db.execute(
            sa.select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        )
    ).first()
    if found is None:
        return None
    count = (await db.execute(sa.select(sa.func.count()).select_from(audit_log))).scalar_one()
    return Head(int(found[0]), str(found[1]), int(count))
