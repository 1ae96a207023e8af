"""kpi version: a row that changes with everything the praise matrix reads

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A fresh random 63-bit number, never a counter: a version seen inside a transaction that
# rolled back must not come back later with other data behind it.
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION arigato_kpi_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE kpi_version SET version = (random() * 9.2e18)::bigint WHERE id = 1;
  RETURN NULL;
END $$;
"""
# BEFORE ... FOR EACH STATEMENT: the version row is locked before the statement touches any
# roll-up row, so every writer takes the locks in the same order (no deadlock between two
# transactions that each change several posts).
WATCHED = {
    "posts": "INSERT OR DELETE OR UPDATE OF kind, status, received_on, unit_id",
    "org_units": "INSERT OR DELETE OR UPDATE",
    "kpi_month_closes": "INSERT OR DELETE OR UPDATE",
    "kpi_snapshot_counts": "INSERT OR DELETE OR UPDATE",
}
SQLITE_EVENTS = {
    "posts": ["INSERT", "DELETE", "UPDATE OF kind, status, received_on, unit_id"],
    "org_units": ["INSERT", "DELETE", "UPDATE"],
    "kpi_month_closes": ["INSERT", "DELETE", "UPDATE"],
    "kpi_snapshot_counts": ["INSERT", "DELETE", "UPDATE"],
}
SQLITE_BUMP = "UPDATE kpi_version SET version = random() WHERE id = 1;"


def _sqlite_name(table: str, event: str) -> str:
    return f"{table}_kpi_version_{event.split()[0].lower()}"


def upgrade() -> None:
    op.create_table(
        "kpi_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO kpi_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table, events in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER {table}_kpi_version BEFORE {events} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION arigato_kpi_bump()"
            )
    else:
        for table, events in SQLITE_EVENTS.items():
            for event in events:
                op.execute(
                    f"CREATE TRIGGER {_sqlite_name(table, event)} AFTER {event} ON {table} "
                    f"BEGIN {SQLITE_BUMP} END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_kpi_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS arigato_kpi_bump()")
    else:
        for table, events in SQLITE_EVENTS.items():
            for event in events:
                op.execute(f"DROP TRIGGER IF EXISTS {_sqlite_name(table, event)}")
    op.drop_table("kpi_version")
