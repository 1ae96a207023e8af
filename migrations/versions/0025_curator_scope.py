"""Curators with a scope: the unit whose subtree a curator oversees

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 17:50:00

On SQLite the column is added in place (ALTER TABLE … ADD COLUMN … REFERENCES): a batch copy
of `users` would drop and recreate a table every other table refers to, which the foreign
keys refuse on a database with rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_users_scope_unit_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users ADD COLUMN scope_unit_id INTEGER REFERENCES org_units (id)")
        return
    op.add_column("users", sa.Column("scope_unit_id", sa.Integer(), nullable=True))
    op.create_foreign_key(FK, "users", "org_units", ["scope_unit_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column with a foreign key: the table is copied, with the
        # foreign keys off meanwhile (the other tables' references to users stay valid: every
        # row is copied with its id). pysqlite runs DDL outside a transaction, where the
        # pragma takes effect.
        op.execute("PRAGMA foreign_keys = OFF")
        with op.batch_alter_table("users", recreate="always") as batch:
            batch.drop_column("scope_unit_id")
        op.execute("PRAGMA foreign_keys = ON")
        return
    op.drop_constraint(FK, "users", type_="foreignkey")
    op.drop_column("users", "scope_unit_id")
