"""The queue of image checks: one durable row per image attachment, written in the
transaction that stores the image and drained by every app instance's OCR loop
(app/services/ocr/drainer.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field

PENDING = "done_at IS NULL"


class ImageCheckJob(SQLModel, table=True):
    __tablename__ = "image_check_jobs"
    __table_args__ = (
        # The drainers' query: pending rows, the earliest due first.
        sa.Index(
            "ix_image_check_jobs_due",
            "due_at",
            sqlite_where=sa.text(PENDING),
            postgresql_where=sa.text(PENDING),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    attachment_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("attachments.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    created_at: datetime = created_at_field()
    due_at: datetime = created_at_field()
    # A drainer's claim: nobody else takes the row until then.
    claimed_until: datetime | None = optional_time_field()
    attempts: int = 0
    done_at: datetime | None = optional_time_field()
    # clean | found | unavailable (no Tesseract) | failed (unreadable, given up) | gone
    outcome: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, max_length=200)
