"""JSON shapes of the API (SPEC §4): the public views of users and units. The input models
(and their `text`, `one_of`, `Code` helpers, re-exported here) are in services/inputs.py,
shared with the forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

from app.models import OrgUnit, User
from app.services.inputs import CODE_MAX as CODE_MAX
from app.services.inputs import Code as Code
from app.services.inputs import one_of as one_of
from app.services.inputs import text as text


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
    """An attachment as a post lists it."""

    id: int
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None = None


class AttachmentUploaded(AttachmentPublic):
    """The answer to an upload: the attachment, with a stored image's size in pixels."""

    width: int | None = None
    height: int | None = None


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


class FlagPublic(BaseModel):
    id: int
    target: str
    reason: str
    note: str | None
    created_at: datetime
