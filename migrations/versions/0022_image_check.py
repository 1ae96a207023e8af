"""image check: the personal-data check of photos (OCR), its state on each attachment and
the durable queue of checks

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_check", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("check_regions", sa.Text(), nullable=True))
    op.create_table(
        "image_check_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attachment_id"),
    )
    with op.batch_alter_table("image_check_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_check_jobs_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )
    # Images stored before the check are checked too (held meanwhile, like new ones).
    op.execute("UPDATE attachments SET image_check = 'pending' WHERE content_type LIKE 'image/%'")
    op.execute(
        "INSERT INTO image_check_jobs (attachment_id, created_at, due_at, attempts) "
        "SELECT id, created_at, created_at, 0 FROM attachments WHERE content_type LIKE 'image/%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("image_check_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_image_check_jobs_due")
    op.drop_table("image_check_jobs")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("check_regions")
        batch_op.drop_column("image_check")
