"""JSON shapes of the API (SPEC §4): the public views of users and units."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from app.models import OrgUnit, User


class UnitRef(BaseModel):
    code: str
    name: str


class UserPublic(BaseModel):
    code: str
    name: str
    role: str
    locale: str
    unit: UnitRef

    @classmethod
    def of(cls, user: User, unit: OrgUnit) -> UserPublic:
        return cls(
            code=user.code,
            name=user.name,
            role=user.role,
            locale=user.locale,
            unit=UnitRef(code=unit.code, name=unit.name),
        )


class UnitPublic(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
