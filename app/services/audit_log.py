"""Reading the audit log: filtered, keyset-paginated lists and the CSV export.

Read-only on purpose: the log is append-only (app.services.audit writes it); nothing here or
anywhere else updates or deletes a row.

A curator with a scope (services/scope.py) reads the entries about what lies in it — a post,
a comment (by its post), a complaint or a user of a unit in the scope, a unit in it, a
bulletin whose audience lies inside it — and the entries they wrote themselves; nothing else
(a month close, a device, an integration, a CSV import are head office's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n, labels
from app.models import User
from app.models.tables import audit_log, bulletins, comments, complaint_voices, posts, users
from app.services import audit_chain, scope
from app.services.cursor import decode_cursor, encode_cursor
from app.services.spreadsheet import CsvEncoding, csv_bytes

CSV_HEADER = (
    "created_at",
    "actor_code",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "reason",
    "changes",
    # The chain (docs/compliance.md "The audit chain"): `canonical` is the exact text whose
    # SHA-256 is `hash`, so an auditor can check the file without the database.
    "id",
    "prev_hash",
    "hash",
    "canonical",
)
CSV_BATCH = 1000


def action_labels() -> dict[str, str]:
    """Human names of the actions the app records (unknown ones are shown as recorded)."""
    return labels.audit_action_labels()


@dataclass(slots=True)
class AuditRow:
    id: int
    created_at: datetime
    actor_code: str | None
    actor_name: str | None
    action: str
    target_type: str
    target_id: int | None
    reason: str | None
    changes: str | None
    actor_id: int | None = None
    prev_hash: str = ""
    hash: str = ""

    def changes_dict(self) -> dict[str, Any] | None:
        if not self.changes:
            return None
        try:
            value = json.loads(self.changes)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass
class AuditFilters:
    actor: str | None = None  # employee code
    action: str | None = None
    date_from: date | None = None  # Asia/Tokyo days, inclusive
    date_to: date | None = None

    def active(self) -> bool:
        return any(v not in (None, "") for v in vars(self).values())

    def query_params(self) -> dict[str, str]:
        out = {}
        for key, value in (
            ("actor", self.actor),
            ("action", self.action),
            ("from", self.date_from),
            ("to", self.date_to),
        ):
            if value not in (None, ""):
                out[key] = str(value)
        return out


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=i18n.zone())


def _overseen(viewer: User) -> sa.ColumnElement[bool]:
    """A clause on audit_log: the entry is about something in the viewer's scope."""
    if not scope.is_scoped(viewer):
        return sa.true()
    within = scope.overseer(viewer)  # one subtree for every kind of target
    kind, target = audit_log.c.target_type, audit_log.c.target_id
    target_user = sa.alias(users, "target_user")
    about = {
        "post": sa.exists().where(posts.c.id == target, within(posts.c.unit_id)),
        "comment": sa.exists().where(
            comments.c.id == target, posts.c.id == comments.c.post_id, within(posts.c.unit_id)
        ),
        "complaint": sa.exists().where(
            complaint_voices.c.id == target, within(complaint_voices.c.unit_id)
        ),
        "user": sa.exists().where(target_user.c.id == target, within(target_user.c.unit_id)),
        "unit": within(target),
        "bulletin": sa.exists().where(
            bulletins.c.id == target, scope.bulletin_within(viewer, within)
        ),
    }
    return sa.or_(
        audit_log.c.actor_id == viewer.id,
        *(sa.and_(kind == name, clause) for name, clause in about.items()),
    )


def _select(filters: AuditFilters, viewer: User) -> sa.Select[Any]:
    stmt = sa.select(
        audit_log.c.id,
        audit_log.c.created_at,
        users.c.code,
        users.c.name,
        audit_log.c.action,
        audit_log.c.target_type,
        audit_log.c.target_id,
        audit_log.c.reason,
        audit_log.c.changes,
        audit_log.c.actor_id,
        audit_log.c.prev_hash,
        audit_log.c.hash,
    ).select_from(audit_log.outerjoin(users, users.c.id == audit_log.c.actor_id))
    stmt = stmt.where(_overseen(viewer))
    if filters.actor:
        stmt = stmt.where(users.c.code == filters.actor)
    if filters.action:
        stmt = stmt.where(audit_log.c.action == filters.action)
    if filters.date_from:
        stmt = stmt.where(audit_log.c.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(audit_log.c.created_at < _day_start(filters.date_to + timedelta(days=1)))
    return stmt


def _after(stmt: sa.Select[Any], cursor: str) -> sa.Select[Any]:
    at, last_id = decode_cursor(cursor)
    return stmt.where(
        audit_log.c.created_at <= at,
        (audit_log.c.created_at < at) | (audit_log.c.id < last_id),
    )


def _newest_first(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc())


async def list_entries(
    db: AsyncSession,
    filters: AuditFilters,
    viewer: User,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AuditRow], str | None]:
    """Newest first, those the viewer may read; `cursor` is the last row of the previous
    page."""
    stmt = _select(filters, viewer)
    if cursor:
        stmt = _after(stmt, cursor)
    rows = [AuditRow(*r) for r in await db.execute(_newest_first(stmt).limit(limit + 1))]
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return rows[:limit], next_cursor


async def all_entries(db: AsyncSession, filters: AuditFilters, viewer: User) -> list[AuditRow]:
    """Every row the filters select (and the viewer may read), newest first (read in keyset
    batches)."""
    out: list[AuditRow] = []
    cursor: str | None = None
    while True:
        rows, cursor = await list_entries(db, filters, viewer, cursor=cursor, limit=CSV_BATCH)
        out.extend(rows)
        if cursor is None:
            return out


async def known_actions(db: AsyncSession) -> list[str]:
    """Actions to offer in the filter: those the app records plus any found in the log."""
    found = await db.execute(sa.select(audit_log.c.action).distinct())
    return sorted({*action_labels(), *(r[0] for r in found)})


def to_csv(rows: Iterable[AuditRow], encoding: CsvEncoding = "utf-8") -> bytes:
    """Times in the configured zone (ISO 8601); the one CSV writer does the rest. The last
    columns carry the chain; `canonical` is pure ASCII, the same in UTF-8 and CP932."""
    return csv_bytes(
        CSV_HEADER,
        (
            (
                i18n.local_datetime(r.created_at).isoformat(timespec="seconds"),
                r.actor_code or "",
                r.actor_name or "",
                r.action,
                r.target_type or "",
                "" if r.target_id is None else str(r.target_id),
                r.reason or "",
                r.changes or "",
                str(r.id),
                r.prev_hash,
                r.hash,
                audit_chain.row_canonical(r),
            )
            for r in rows
        ),
        encoding,
    )
