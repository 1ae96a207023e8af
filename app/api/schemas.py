"""JSON shapes of the API (SPEC §4): the public views of users and units. The input models
(and their `text`, `one_of`, `Code` helpers, re-exported here) are in services/inputs.py,
shared with the forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from app.models import ImageCheck, OrgUnit, ReactionKind, User
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
    image_check: ImageCheck | None = Field(
        default=None,
        description=(
            "An image's personal-data check (OCR, docs/compliance.md); null for documents. "
            "While pending, found or unchecked the image is listed and served only to the "
            "post's author and curators."
        ),
    )


class AttachmentUploaded(AttachmentPublic):
    """The answer to an upload: the attachment, with a stored image's size in pixels."""

    width: int | None = None
    height: int | None = None


class ReactionCounts(BaseModel):
    """How many people gave each reaction (スタンプ)."""

    thanks: int
    great: int
    helpful: int
    want_to_try: int


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
    reactions: ReactionCounts
    my_reactions: list[ReactionKind]


class LikeState(BaseModel):
    liked: bool
    like_count: int


class ReactionState(BaseModel):
    kind: ReactionKind
    reacted: bool
    count: int


class Reactor(BaseModel):
    kind: ReactionKind
    code: str
    name: str
    unit: str


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
