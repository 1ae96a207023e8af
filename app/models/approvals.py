"""The two-person rule's pending approvals: an action that undoes a protection (reopening a
closed KPI month, restoring a post hidden for personal data) is requested by one curator or
admin and carried out only when another approves (services/approvals.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ApprovalRequest(SQLModel, table=True):
    __tablename__ = "approval_requests"
    __table_args__ = (
        # One pending request per action and target: a second request is a 409.
        sa.Index(
            "uq_approval_requests_pending",
            "action",
            "target_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_approval_requests_status", "status", "requested_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=40)  # kpi.reopen | post.restore
    target_type: str = Field(max_length=20)  # kpi_month | post
    target_id: int  # kpi_month_closes.id | posts.id
    reason: str | None = Field(default=None, max_length=1000)
    status: str = Field(default=ApprovalStatus.pending.value, max_length=16)
    requested_by_id: int = Field(foreign_key="users.id")
    requested_at: datetime = created_at_field()
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = optional_time_field()
