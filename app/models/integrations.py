"""Outgoing integrations (webhook, Slack, Teams, LINE WORKS) and the one outbox of their
deliveries, drained by every app instance (app/services/integrations/drainer.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field
from app.models.outbox import OutboxRow, due_index


class Integration(SQLModel, table=True):
    """One configured integration. `settings` holds the kind's plain settings (JSON text);
    `secrets` its write-only ones (never returned by the API or shown on a page)."""

    __tablename__ = "integrations"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    name: str = Field(max_length=100)
    enabled: bool = True
    units: str = Field(default="", max_length=2000)  # unit codes, tab-separated; "" = all
    events: str = Field(default="", max_length=200)  # event names, tab-separated
    post_kinds: str = Field(default="praise\tknowhow", max_length=40)
    settings: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    secrets: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    # The last delivery given up on (shown on the admin page until a later one succeeds).
    failed_at: datetime | None = optional_time_field()
    failure: str | None = Field(default=None, max_length=200)


class IntegrationDelivery(OutboxRow, table=True):
    """One event for one integration. Written in the transaction of the change it tells;
    claimed by one drainer at a time (FOR UPDATE SKIP LOCKED on PostgreSQL, a lease)."""

    __tablename__ = "integration_deliveries"
    # outcome: sent | failed | skipped (disabled, withdrawn before it went out) | retracted
    __table_args__ = (
        due_index("integration_deliveries"),
        sa.Index("ix_integration_deliveries_subject", "integration_id", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False
        )
    )
    event: str = Field(max_length=40)
    subject: str = Field(max_length=40)  # "post:12" | "bulletin:3": what retraction follows
    # The event as the webhook kind sends it (minus id): titles, names, links; no body.
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # The chat tool's id of the message sent (Slack "channel ts", LINE WORKS message id).
    remote_id: str | None = Field(default=None, max_length=200)
