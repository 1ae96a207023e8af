"""What every durable outbox row has (Web Push, integrations, image checks): the columns
services/outbox.claim_due leases and counts, and the partial index of pending rows that its
query walks. Each outbox's table adds what it delivers and says what its outcomes mean."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field

PENDING = "done_at IS NULL"


def due_index(table: str) -> sa.Index:
    """The drainers' query: pending rows of `table`, the earliest due first."""
    return sa.Index(
        f"ix_{table}_due",
        "due_at",
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


class OutboxRow(SQLModel):
    created_at: datetime = created_at_field()
    due_at: datetime = created_at_field()
    # A drainer's claim: nobody else takes the row until then (a crashed drainer's rows are
    # taken again after it).
    claimed_until: datetime | None = optional_time_field()
    attempts: int = 0
    done_at: datetime | None = optional_time_field()
    outcome: str | None = Field(default=None, max_length=20)  # each table lists its own
    last_error: str | None = Field(default=None, max_length=200)
