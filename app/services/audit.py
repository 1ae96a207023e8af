"""The audit log: one call records who did what to which target, why, and what changed.

Append-only by construction: this module only inserts; nothing in the app updates or
deletes audit rows. `record` adds the row to the caller's transaction, so the action and its
audit entry are written together or not at all.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.models import AuditEntry, User


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
    return entry
