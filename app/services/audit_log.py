"""Reading the audit log: filtered, keyset-paginated lists and the CSV export.

Read-only on purpose: the log is append-only (app.services.audit writes it); nothing here or
anywhere else updates or deletes a row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.i18n import _
from app.models.tables import audit_log, users
from app.services.cursor import decode_cursor, encode_cursor
from app.services.people.rules import action_labels as admin_action_labels
from app.services.spreadsheet import csv_bytes

CSV_HEADER = (
    "created_at",
    "actor_code",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "reason",
    "changes",
)
CSV_BATCH = 1000


def action_labels() -> dict[str, str]:
    """Human names of the actions the app records (unknown ones are shown as recorded)."""
    return {
        "post.hide": _("Hide post"),
        "post.restore": _("Restore post"),
        "post.redact": _("Redact post"),
        "post.feature": _("Mark as good practice"),
        "post.unfeature": _("Remove good practice mark"),
        "comment.hide": _("Hide comment"),
        "comment.restore": _("Restore comment"),
        "comment.redact": _("Redact comment"),
        "flags.dismiss": _("Dismiss reports"),
        "kpi.close": _("Close KPI month"),
        "kpi.reopen": _("Reopen KPI month"),
        "complaint.create": _("Record complaint"),
        "complaint.update": _("Change complaint"),
        "complaint.import": _("Import complaints"),
        "units.import": _("Import units"),
        "users.import": _("Import users"),
        "user.sso_link": _("Link company account"),
        "user.sso_create": _("Add user at first single sign-on"),
        "user.one_time_password_void": _("One-time password voided by single sign-on"),
        **admin_action_labels(),
    }


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

    def changes_dict(self) -> dict[str, Any] | None:
        if not self.changes:
            return None
        try:
            value = json.loads(self.changes)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def change_lines(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for display."""
        data = self.changes_dict() or {}
        before = data.get("before") or {}
        after = data.get("after") or {}
        keys = list(dict.fromkeys([*before, *after]))
        return [(k, _show(before.get(k)), _show(after.get(k))) for k in keys]


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


def _select(filters: AuditFilters) -> sa.Select[Any]:
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
    ).select_from(audit_log.outerjoin(users, users.c.id == audit_log.c.actor_id))
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
    db: AsyncSession, filters: AuditFilters, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[AuditRow], str | None]:
    """Newest first; `cursor` is the last row of the previous page."""
    stmt = _select(filters)
    if cursor:
        stmt = _after(stmt, cursor)
    rows = [AuditRow(*r) for r in await db.execute(_newest_first(stmt).limit(limit + 1))]
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return rows[:limit], next_cursor


async def all_entries(db: AsyncSession, filters: AuditFilters) -> list[AuditRow]:
    """Every row the filters select, newest first (read in keyset batches)."""
    out: list[AuditRow] = []
    cursor: str | None = None
    while True:
        rows, cursor = await list_entries(db, filters, cursor=cursor, limit=CSV_BATCH)
        out.extend(rows)
        if cursor is None:
            return out


async def known_actions(db: AsyncSession) -> list[str]:
    """Actions to offer in the filter: those the app records plus any found in the log."""
    found = await db.execute(sa.select(audit_log.c.action).distinct())
    return sorted({*action_labels(), *(r[0] for r in found)})


def to_csv(rows: Iterable[AuditRow]) -> bytes:
    """Times in the configured zone (ISO 8601); the one CSV writer does the rest."""
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
            )
            for r in rows
        ),
    )
