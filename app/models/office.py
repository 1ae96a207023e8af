"""Head office: the audit log, bulletins (好取組情報) with items, audience, read receipts and
横展開 answers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, optional_time_field


class AuditEntry(SQLModel, table=True):
    """Append-only: the database refuses UPDATE and DELETE (triggers, migration 0023). A
    redaction records that text was removed, never the removed text. Each row is chained to
    the one before it by SHA-256 (services/audit_chain.py, which fills both hashes)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_created", "created_at", "id"),
        sa.Index("ix_audit_actor", "actor_id", "created_at"),
        sa.Index("ix_audit_action", "action", "created_at"),
        # One row follows each row: two appenders that read the same head cannot both commit.
        sa.Index("uq_audit_prev_hash", "prev_hash", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    action: str = Field(max_length=40)  # e.g. post.hide, post.feature, bulletin.publish
    target_type: str = Field(max_length=20)  # post | comment | flag | bulletin | user | unit
    target_id: int | None = None
    reason: str | None = Field(default=None, max_length=1000)
    # JSON text {"before": {...}, "after": {...}}: what changed, never removed personal data.
    changes: str | None = Field(default=None, sa_type=sa.Text)
    prev_hash: str = Field(default="", max_length=64)  # the previous row's hash (64 zeros first)
    hash: str = Field(default="", max_length=64)  # SHA-256 of this row's canonical content


class BulletinStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    published = "published"


class Bulletin(SQLModel, table=True):
    __tablename__ = "bulletins"
    __table_args__ = (
        # Vol. N is unique within a fiscal year once numbered (at publication).
        sa.Index("uq_bulletins_volume", "fiscal_year", "volume", unique=True),
        sa.Index("ix_bulletins_status", "status", "publish_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=120)
    lead: str = Field(default="", sa_type=sa.Text)
    status: str = Field(default=BulletinStatus.draft.value, max_length=16)
    audience_all: bool = Field(default=True)
    fiscal_year: int | None = None
    volume: int | None = None
    publish_at: datetime | None = optional_time_field()  # when scheduled
    published_at: datetime | None = optional_time_field()
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    # Read follow-up (services/bulletins/followup.py): the confirmation deadline (確認期限, a
    # day in Asia/Tokyo), the Tokyo day of the last reminder (at most one a day, by a guarded
    # UPDATE), and when the automatic reminder before the deadline was claimed (sent or
    # skipped), set once by a guarded UPDATE so that one instance only sends it.
    confirm_by: date | None = Field(default=None)
    reminded_on: date | None = Field(default=None)
    deadline_reminded_at: datetime | None = optional_time_field()


class BulletinItem(SQLModel, table=True):
    __tablename__ = "bulletin_items"
    __table_args__ = (sa.UniqueConstraint("bulletin_id", "post_id", name="uq_bulletin_items_post"),)

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: int = Field(foreign_key="bulletins.id", index=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    position: int = Field(default=0)
    comment: str = Field(default="", sa_type=sa.Text)


class BulletinAudience(SQLModel, table=True):
    """The unit subtrees a bulletin is for (none when it is for everyone)."""

    __tablename__ = "bulletin_audience"

    bulletin_id: int = Field(foreign_key="bulletins.id", primary_key=True)
    unit_id: int = Field(foreign_key="org_units.id", primary_key=True)


class BulletinRead(SQLModel, table=True):
    """A read receipt: the first time a user opened a published bulletin."""

    __tablename__ = "bulletin_reads"

    bulletin_id: int = Field(foreign_key="bulletins.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    read_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # How it was recorded: "self" (the user opened it) or "meeting" (ticked as present when
    # it was read together at the shop's morning meeting, by recorded_by on the shop device).
    via: str = Field(default="self", max_length=16, sa_column_kwargs={"server_default": "self"})
    recorded_by_id: int | None = Field(default=None, foreign_key="users.id")


class RolloutAnswer(StrEnum):
    adopted = "adopted"
    trialling = "trialling"
    not_applicable = "not_applicable"


class RolloutResponse(SQLModel, table=True):
    """横展開: a shop's answer for one bulletin item (the latest answer counts)."""

    __tablename__ = "rollout_responses"

    item_id: int = Field(foreign_key="bulletin_items.id", primary_key=True)
    unit_id: int = Field(foreign_key="org_units.id", primary_key=True, index=True)
    answer: str = Field(max_length=20)
    answered_by_id: int = Field(foreign_key="users.id")
    answered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
