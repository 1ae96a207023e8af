"""kpi month close and complaint voices

Month closes with their frozen praise counts, complaint voices (ご不満の声), and the indexes
the KPI reads: the praise matrix becomes an index-only scan of (kind, status, received_on,
unit_id), which replaces the narrower ix_posts_kpi; engagement reads likes and comments by
month. The three indexes are created IF NOT EXISTS because they were first built by hand on
the benchmark database to measure them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 04:03:02.050286
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_snapshot_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("praise", sa.Integer(), nullable=False),
        sa.Column("praise_subtree", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"]),
        sa.PrimaryKeyConstraint("month", "unit_id"),
    )
    op.create_table(
        "complaint_voices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_voices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_voices_received", ["received_on", "category"], unique=False
        )
        batch_op.create_index("ix_complaint_voices_unit_id", ["unit_id"], unique=False)

    op.create_table(
        "kpi_month_closes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=False),
        sa.Column("closed_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reopened_by_id", sa.Integer(), nullable=True),
        sa.Column("reopened_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["reopened_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month"),
    )
    op.create_index(
        "ix_comments_created",
        "comments",
        ["created_at", "author_id", "status"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        "ix_likes_created", "likes", ["created_at", "user_id"], unique=False, if_not_exists=True
    )
    op.create_index(
        "ix_posts_kpi_unit",
        "posts",
        ["kind", "status", "received_on", "unit_id"],
        unique=False,
        if_not_exists=True,
    )
    op.drop_index("ix_posts_kpi", table_name="posts", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_posts_kpi", "posts", ["kind", "status", "received_on"], unique=False)
    op.drop_index("ix_posts_kpi_unit", table_name="posts")
    op.drop_index("ix_likes_created", table_name="likes")
    op.drop_index("ix_comments_created", table_name="comments")
    op.drop_table("kpi_month_closes")
    with op.batch_alter_table("complaint_voices", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_voices_unit_id")
        batch_op.drop_index("ix_complaint_voices_received")
    op.drop_table("complaint_voices")
    op.drop_table("kpi_snapshot_counts")
