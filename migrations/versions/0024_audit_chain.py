"""the audit chain (prev_hash, hash; UPDATE/DELETE refused) and the two-person rule's table

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 17:50:00

Rows already in audit_log are hashed here in id order, before the triggers that refuse
UPDATE and DELETE exist. The canonical form is app.services.audit_chain's (a permanent
contract: docs/compliance.md).
"""

from collections.abc import Sequence
from types import SimpleNamespace

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base
from app.services import audit_chain

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "audit_log is append-only: UPDATE, DELETE and TRUNCATE are refused"
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION arigato_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{REFUSED} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION arigato_audit_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION arigato_audit_append_only()",
)
SQLITE_TRIGGERS = {
    f"audit_log_no_{event.lower()}": (
        f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )
    for event in ("UPDATE", "DELETE")
}

_rows = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("created_at", app.models.base.UTCDateTime()),
    sa.column("actor_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.Integer()),
    sa.column("reason", sa.Text()),
    sa.column("changes", sa.Text()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _backfill() -> None:
    """Chain the rows there are, in id order."""
    conn = op.get_bind()
    prev = audit_chain.GENESIS
    after = 0
    while True:
        batch = conn.execute(
            sa.select(_rows).where(_rows.c.id > after).order_by(_rows.c.id).limit(1000)
        ).all()
        if not batch:
            return
        sealed = []
        for row in batch:
            content = SimpleNamespace(**{**row._mapping, "prev_hash": prev})
            sealed.append({"row_id": row.id, "p": prev})
            prev = audit_chain.digest(audit_chain.row_canonical(content))
            sealed[-1]["h"] = prev
        conn.execute(
            _rows.update()
            .where(_rows.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h")),
            sealed,
        )
        after = batch[-1].id


def _sqlite_triggers_on_audit_log() -> list[str]:
    """The triggers batch mode would lose when it rebuilds the table (the change log's)."""
    found = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    )
    return [r[0] for r in found]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(length=64), nullable=True))
    _backfill()
    kept = [] if postgres else _sqlite_triggers_on_audit_log()
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("uq_audit_prev_hash", ["prev_hash"], unique=True)
    for statement in kept:
        op.execute(statement)
    if postgres:
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)

    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approval_requests") as batch:
        batch.create_index("ix_approval_requests_status", ["status", "requested_at"], unique=False)
        batch.create_index(
            "uq_approval_requests_pending",
            ["action", "target_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    op.drop_table("approval_requests")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS arigato_audit_append_only()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    kept = [] if postgres else _sqlite_triggers_on_audit_log()
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("uq_audit_prev_hash")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    for statement in kept:
        op.execute(statement)
