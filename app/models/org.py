"""Org units (a tree of any depth) and users."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field


class UnitKind(StrEnum):
    company = "company"
    region = "region"
    branch = "branch"
    shop = "shop"
    department = "department"


class Role(StrEnum):
    staff = "staff"
    curator = "curator"
    admin = "admin"


ROLE_RANK = {Role.staff: 0, Role.curator: 1, Role.admin: 2}


class Locale(StrEnum):
    ja = "ja"
    en = "en"


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="org_units.id", index=True)
    active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.Index("ix_users_name", "name"),)  # directory type-ahead

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=254)
    unit_id: int = Field(foreign_key="org_units.id", index=True)
    role: str = Field(default=Role.staff.value, max_length=16)
    locale: str = Field(default=Locale.ja.value, max_length=8)
    active: bool = Field(default=True)
    password_hash: str | None = Field(default=None, max_length=255)
    # The personal PIN (4-8 digits, argon2id like passwords) for the shop's shared terminal.
    pin_hash: str | None = Field(default=None, max_length=255)
    sso_subject: str | None = Field(default=None, max_length=255, unique=True)
    # SCIM's externalId: the identity provider's own id for the person (Entra ID, Okta).
    scim_external_id: str | None = Field(default=None, max_length=255, index=True)
    # Set when an admin gives a one-time password: the user must choose a new one first.
    must_change_password: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    created_at: datetime = created_at_field()
    # E-mail digest of unread notifications: off | daily | weekly (app.models.DigestFrequency).
    digest: str = Field(
        default="weekly", max_length=8, sa_column_kwargs={"server_default": "weekly"}
    )
    digest_sent_at: datetime | None = optional_time_field()  # the last digest run for the user
    # A curator's scope: the unit whose subtree they oversee (None: the whole company).
    # Only curators have one (services/scope.py holds the rule; docs/compliance.md).
    scope_unit_id: int | None = Field(default=None, foreign_key="org_units.id")

    @property
    def rank(self) -> int:
        return ROLE_RANK[Role(self.role)]
