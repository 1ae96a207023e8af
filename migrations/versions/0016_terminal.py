"""the shop's shared terminal: devices, PINs, terminal sessions, meeting read receipts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_devices_unit_id", "devices", ["unit_id"], unique=False)

    with op.batch_alter_table("bulletin_reads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("via", sa.String(length=16), server_default="self", nullable=False)
        )
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_bulletin_reads_recorded_by_id", "users", ["recorded_by_id"], ["id"]
        )

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_user_sessions_device_id", ["device_id"], unique=False)
        batch_op.create_foreign_key("fk_user_sessions_device_id", "devices", ["device_id"], ["id"])

    op.add_column("users", sa.Column("pin_hash", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("pin_hash")

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_sessions_device_id", type_="foreignkey")
        batch_op.drop_index("ix_user_sessions_device_id")
        batch_op.drop_column("device_id")

    with op.batch_alter_table("bulletin_reads", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bulletin_reads_recorded_by_id", type_="foreignkey")
        batch_op.drop_column("recorded_by_id")
        batch_op.drop_column("via")

    op.drop_index("ix_devices_unit_id", table_name="devices")
    op.drop_table("devices")
