"""notifications and digest

The notifications table (likes grouped per post by a partial unique index on the unread
like row, so that concurrent likes meet in one upsert) and the users' e-mail digest
preference (off | daily | weekly, default weekly) with the time of their last digest run.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 04:13:57.119500
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_count", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_post_id"), ["post_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_unread", ["user_id", "read_at", "updated_at"], unique=False
        )
        batch_op.create_index("ix_notifications_user_time", ["user_id", "updated_at"], unique=False)
        batch_op.create_index(
            "uq_notifications_like_group",
            ["user_id", "post_id", "kind"],
            unique=True,
            sqlite_where=sa.text("read_at IS NULL AND kind = 'like'"),
            postgresql_where=sa.text("read_at IS NULL AND kind = 'like'"),
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "digest",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                server_default="weekly",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("digest_sent_at", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("digest")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_notifications_like_group",
            sqlite_where=sa.text("read_at IS NULL AND kind = 'like'"),
            postgresql_where=sa.text("read_at IS NULL AND kind = 'like'"),
        )
        batch_op.drop_index("ix_notifications_user_time")
        batch_op.drop_index("ix_notifications_unread")
        batch_op.drop_index(batch_op.f("ix_notifications_post_id"))

    op.drop_table("notifications")
