"""Idempotency keys: the first answer to a create a client may retry (Idempotency-Key)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field


class IdempotencyKey(SQLModel, table=True):
    """One per (user, key): the unique constraint makes a concurrent duplicate impossible.

    The row is written in the create's own transaction (so it exists exactly when the
    created row does, and names it); the answer is added right after.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=255)
    # SHA-256 of the method, the path and the request's content.
    fingerprint: str = Field(max_length=64)
    # The created row's id, written with it: the answer can be made again if it was lost.
    resource_id: int | None = Field(default=None)
    status_code: int | None = Field(default=None)
    body: str | None = Field(default=None, sa_type=sa.Text)
    media_type: str | None = Field(default=None, max_length=100)
    location: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
