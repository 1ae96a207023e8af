"""The queue of image checks: one durable row per image attachment, written in the
transaction that stores the image and drained by every app instance's OCR loop
(app/services/ocr/drainer.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field

from app.models.outbox import OutboxRow, due_index


class ImageCheckJob(OutboxRow, table=True):
    __tablename__ = "image_check_jobs"
    # outcome: clean | found | unavailable (no Tesseract) | failed (unreadable, given up) | gone
    __table_args__ = (
        # The drainers' query: pending rows, the earliest due first.
        due_index("image_check_jobs"),
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
