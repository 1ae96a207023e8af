"""The audit log: one call records who did what to which target, why, and what changed.

Append-only: this module only inserts, and the database refuses UPDATE and DELETE on the
table (migration 0023). `record` adds the row to the caller's transaction, so the action and
its audit entry are written together or not at all; the row is chained to the one before it
when the session flushes it (services/audit_chain.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.models import AuditEntry, User
from app.services import audit_chain


def record(
    db: AsyncSession,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row (committed with the caller's transaction).

    Never pass removed personal data in `before`: for a redaction, record that text was
    removed (e.g. {"body": "redacted"}), not the text.
    """
    changes = None
    if before is not None or after is not None:
        changes = json.dumps(
            {"before": before or {}, "after": after or {}}, ensure_ascii=False, default=str
        )
    entry = AuditEntry(
        created_at=clock.now(),
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        changes=changes,
    )
    db.add(entry)
    audit_chain.remember(db, entry)
    return entry
