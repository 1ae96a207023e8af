"""KPI: closed fiscal months with their frozen praise counts, and complaint voices (ご不満の声)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field


class KpiMonthClose(SQLModel, table=True):
    """A month a curator closed. One row per month: closing again after a reopen updates it
    (the audit log keeps every close and reopen). Closed while `reopened_at` is null."""

    __tablename__ = "kpi_month_closes"

    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(unique=True)  # the first day of the month
    closed_by_id: int = Field(foreign_key="users.id")
    closed_at: datetime = created_at_field()
    reopened_by_id: int | None = Field(default=None, foreign_key="users.id")
    reopened_at: datetime | None = optional_time_field()


class KpiSnapshotCount(SQLModel, table=True):
    """The praise counts of one closed month, frozen for every unit at close.

    `praise` counts the unit's own posts; `praise_subtree` the unit and everything below it as
    the tree stood at close, so that a later reorganisation shows as a correction instead of
    silently moving a closed figure.
    """

    __tablename__ = "kpi_snapshot_counts"

    month: date = Field(primary_key=True)
    unit_id: int = Field(foreign_key="org_units.id", primary_key=True)
    praise: int = Field(default=0)
    praise_subtree: int = Field(default=0)


class ComplaintCategory(StrEnum):
    """In the order of SPEC §2 (and of the published report)."""

    renewal_contract = "renewal_contract"
    change_cancel = "change_cancel"
    premium = "premium"
    claim = "claim"
    personal_info = "personal_info"
    other = "other"


class ComplaintStatus(StrEnum):
    received = "received"
    in_progress = "in_progress"
    resolved = "resolved"


class ComplaintVoice(SQLModel, table=True):
    """A customer complaint (ご不満の声): curators only, never on the board."""

    __tablename__ = "complaint_voices"
    __table_args__ = (sa.Index("ix_complaint_voices_received", "received_on", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    received_on: date
    unit_id: int = Field(foreign_key="org_units.id", index=True)
    category: str = Field(max_length=20)
    status: str = Field(default=ComplaintStatus.received.value, max_length=16)
    summary: str = Field(default="", sa_type=sa.Text)  # private: curators only
    # The praise post whose author said the customer's voice also held this complaint
    # (docs/compliance.md, "Complaints inside praise"); at most one per post.
    post_id: int | None = Field(default=None, foreign_key="posts.id", unique=True)
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class KpiPraiseMonthly(SQLModel, table=True):
    """Published praise per unit (own posts) and month of received_on: the maintained roll-up
    the KPI matrix reads. Database triggers on `posts` (migration 0008) move it in the same
    transaction as every insert, delete or change of kind, status, received_on or unit, so it
    can never disagree with the posts (a test recomputes it from scratch and compares)."""

    __tablename__ = "kpi_praise_monthly"

    unit_id: int = Field(foreign_key="org_units.id", primary_key=True)
    month: date = Field(primary_key=True)  # the first day of the month
    count: int = Field(default=0)


class KpiVersion(SQLModel, table=True):
    """One row whose `version` changes (to a fresh random number, never reused) in the same
    transaction as anything the praise matrix is computed from: posts (insert, delete, kind,
    status, received_on, unit), org units, month closes and snapshots. Database triggers set
    it (migration 0010), whatever the code path. The KPI keeps computed matrices per version,
    so a cached matrix is used only while nothing it was computed from has changed."""

    __tablename__ = "kpi_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_type=sa.BigInteger)
