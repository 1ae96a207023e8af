"""reactions (スタンプ): a row per (post, kind, user), counters on posts, grouped notices

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("thanks_count", "great_count", "helpful_count", "want_to_try_count")
UNREAD_REACTION_GROUP = "read_at IS NULL AND kind = 'reaction'"


def upgrade() -> None:
    op.create_table(
        "reactions",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("post_id", "kind", "user_id"),
    )
    with op.batch_alter_table("reactions", schema=None) as batch_op:
        batch_op.create_index("ix_reactions_created", ["created_at", "user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reactions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("posts", schema=None) as batch_op:
        for name in COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "uq_notifications_reaction_group",
            ["user_id", "post_id", "kind"],
            unique=True,
            sqlite_where=sa.text(UNREAD_REACTION_GROUP),
            postgresql_where=sa.text(UNREAD_REACTION_GROUP),
        )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'reaction'")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_notifications_reaction_group",
            sqlite_where=sa.text(UNREAD_REACTION_GROUP),
            postgresql_where=sa.text(UNREAD_REACTION_GROUP),
        )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        for name in reversed(COUNTERS):
            batch_op.drop_column(name)
    with op.batch_alter_table("reactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reactions_user_id"))
        batch_op.drop_index("ix_reactions_created")
    op.drop_table("reactions")
