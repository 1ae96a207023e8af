"""JSON shapes of the API (SPEC §4): the public views of users and units."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

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


class PersonRef(BaseModel):
    code: str
    name: str


class AttachmentPublic(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None = None


class PostPublic(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    body_html: str
    status: str
    author: PersonRef
    unit: UnitRef
    tags: list[str]
    featured: bool
    feature_note: str | None
    like_count: int
    comment_count: int
    liked: bool
    created_at: datetime
    edited_at: datetime | None
    received_on: date | None
    channel: str | None
    product: str | None
    praised: list[PersonRef]
    category: str | None
    attachments: list[AttachmentPublic]
    hidden_reason: str | None = None


class PostCreate(BaseModel):
    """Body of POST /api/v1/posts. Units and users by code; fields of the other kind stay null."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["praise", "knowhow"]
    title: str
    body: str
    status: Literal["draft", "published"] = "published"
    unit: str | None = None
    tags: list[str] = []
    received_on: date | None = None
    channel: str | None = None
    product: str | None = None
    praised: list[str] = []
    category: str | None = None
    confirm_personal_data: bool = False


class PostUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    body: str | None = None
    status: Literal["draft", "published"] | None = None
    unit: str | None = None
    tags: list[str] | None = None
    received_on: date | None = None
    channel: str | None = None
    product: str | None = None
    praised: list[str] | None = None
    category: str | None = None
    confirm_personal_data: bool = False


class LikeState(BaseModel):
    liked: bool
    like_count: int


class Liker(BaseModel):
    code: str
    name: str
    unit: str


class CommentPublic(BaseModel):
    id: int
    post_id: int
    author: PersonRef
    body: str
    body_html: str
    status: str
    created_at: datetime
    edited_at: datetime | None


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str
    note: str | None = None


class FlagPublic(BaseModel):
    id: int
    target: str
    reason: str
    note: str | None
    created_at: datetime
