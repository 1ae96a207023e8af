"""system flags: a flag without a reporter (the system's own), at most one open per target

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SYSTEM = "reporter_id IS NULL AND resolved_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.alter_column("reporter_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            "uq_flags_open_system",
            ["target"],
            unique=True,
            sqlite_where=sa.text(OPEN_SYSTEM),
            postgresql_where=sa.text(OPEN_SYSTEM),
        )


def downgrade() -> None:
    op.execute("DELETE FROM flags WHERE reporter_id IS NULL")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_flags_open_system",
            sqlite_where=sa.text(OPEN_SYSTEM),
            postgresql_where=sa.text(OPEN_SYSTEM),
        )
        batch_op.alter_column("reporter_id", existing_type=sa.Integer(), nullable=False)
