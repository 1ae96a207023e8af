"""The change log a data warehouse copies the board from (services/changes.py): one row per
insert, update or delete of a post, comment, like, reaction or audit entry, written by database
triggers (migration 0019) in the same transaction as the change, whatever the code path."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime

# An integer primary key is SQLite's rowid (AUTOINCREMENT: never reused); bigint on PostgreSQL.
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Change(SQLModel, table=True):
    """`seq` orders the changes of one database; `txid` is PostgreSQL's transaction id (0 on
    SQLite, whose single writer commits in `seq` order). Readers page on (txid, seq) below the
    oldest transaction still running, so a page never skips a change committed late. The row
    names what changed; the reader sends that thing's state at read time (or a tombstone)."""

    __tablename__ = "changes"
    __table_args__ = (
        sa.Index("ix_changes_entity_order", "entity", "txid", "seq"),
        sa.Index("ix_changes_entity_time", "entity", "changed_at"),
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(default=None, sa_type=_SEQ, primary_key=True)
    txid: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    entity: str = Field(max_length=16)  # post | comment | like | reaction | audit
    # post, comment or audit entry id; the post of a like or reaction
    entity_id: int
    user_id: int | None = None  # the user of a like or reaction
    kind: str | None = Field(default=None, max_length=16)  # the kind of a reaction
    changed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # the database's clock
