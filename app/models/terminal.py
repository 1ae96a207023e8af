"""Shop devices (shared terminals): a registered browser of one shop, known by a long-lived
credential cookie whose SHA-256 alone is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field


class Device(SQLModel, table=True):
    __tablename__ = "devices"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    unit_id: int = Field(foreign_key="org_units.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = created_at_field()
    last_seen_at: datetime | None = optional_time_field()
    revoked_at: datetime | None = optional_time_field()
