"""A complaint voice may come from a praise post (the post it was found in)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint_voices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_complaint_voices_post_id", ["post_id"])
        batch_op.create_foreign_key("fk_complaint_voices_post_id", "posts", ["post_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("complaint_voices", schema=None) as batch_op:
        batch_op.drop_constraint("fk_complaint_voices_post_id", type_="foreignkey")
        batch_op.drop_constraint("uq_complaint_voices_post_id", type_="unique")
        batch_op.drop_column("post_id")
