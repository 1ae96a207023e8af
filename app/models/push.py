"""Web Push: each user's subscriptions (one per browser/device), their push settings, and
the outbox of pushes waiting to be sent (drained by every app instance)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field
from app.models.outbox import OutboxRow, due_index

QUIET_START_DEFAULT = 21 * 60  # minutes after midnight, Asia/Tokyo
QUIET_END_DEFAULT = 8 * 60


class PushSubscription(SQLModel, table=True):
    """A browser's push subscription (PushSubscription.toJSON() of the Push API)."""

    __tablename__ = "push_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    # The push service's address for this browser: unique (a browser re-subscribing under
    # another user takes its subscription over).
    endpoint: str = Field(max_length=1000, unique=True)
    p256dh: str = Field(max_length=200)  # the browser's ECDH public key (base64url)
    auth: str = Field(max_length=60)  # the shared authentication secret (base64url)
    device: str = Field(default="", max_length=120)  # a label: "Chrome on Android"
    created_at: datetime = created_at_field()
    last_sent_at: datetime | None = optional_time_field()


class PushSettings(SQLModel, table=True):
    """A user's choices (no row: the defaults: every kind on, quiet 21:00–8:00)."""

    __tablename__ = "push_settings"

    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    like: bool = True
    comment: bool = True
    mention: bool = True
    featured: bool = True
    hidden: bool = True
    bulletin: bool = True  # a new bulletin for your unit, and your post put in one
    quiet: bool = True
    quiet_start: int = Field(default=QUIET_START_DEFAULT, ge=0, lt=1440)
    quiet_end: int = Field(default=QUIET_END_DEFAULT, ge=0, lt=1440)


class PushOutbox(OutboxRow, table=True):
    """One push of one notification to one subscription. Written in the transaction that
    writes the notification; sent later by a drainer (app/services/push/outbox.py)."""

    __tablename__ = "push_outbox"
    # outcome: sent | skipped (read before it went out, or nothing left to tell: the post
    # gone, the recipient deactivated) | off (the kind switched off) | failed | gone (device
    # taken over)
    __table_args__ = (
        # A grouped like notification is pushed once per subscription while it stays unread.
        sa.UniqueConstraint("notification_id", "subscription_id", name="uq_push_outbox_once"),
        # The drainers' query: pending rows, the earliest due first.
        due_index("push_outbox"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False
        )
    )
    subscription_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("push_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
