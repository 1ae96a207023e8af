"""SCIM provisioning: the identity provider's externalId on users

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("scim_external_id", sa.String(length=255), nullable=True))
        batch.create_index("ix_users_scim_external_id", ["scim_external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_scim_external_id")
        batch.drop_column("scim_external_id")
