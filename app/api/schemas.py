"""JSON shapes of the API (SPEC §4): the public views of users and units."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from app.inputs import TEXT_PATTERN
from app.models import Channel, FlagReason, KnowhowCategory, OrgUnit, Product, User
from app.services import comments, flags
from app.services import posts as post_rules

CODE_MAX = 32  # unit and user codes (the columns' length)


def text(max_length: int, min_length: int = 0) -> Any:
    """Documents a string field's limits (the services' constants) and the text rule.

    Documented, not checked again here: the services check the limits after normalising
    (NFC, strip) with messages in the user's language, the same for forms and the API;
    InputGuard checks the text rule."""
    schema: dict[str, Any] = {"maxLength": max_length, "pattern": TEXT_PATTERN}
    if min_length:
        schema["minLength"] = min_length
    return Field(json_schema_extra=schema)


def one_of(choices: type[StrEnum] | tuple[str, ...], *, blank: bool = False) -> Any:
    """Documents a choice the service checks (with a message in the user's language);
    `blank`: "" is taken as no choice, as in the forms."""
    values = [c if isinstance(c, str) else c.value for c in choices] + ([""] if blank else [])
    return WithJsonSchema({"type": "string", "enum": values})


Code = Annotated[str, text(CODE_MAX)]
Tag = Annotated[str, text(post_rules.TAG_MAX)]


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
    title: Annotated[str, text(post_rules.TITLE_MAX, 1)]
    body: Annotated[str, text(post_rules.BODY_MAX, 1)]
    status: Literal["draft", "published"] = "published"
    unit: Code | None = None
    # Refused above TAGS_MAX before any per-tag work (services/posts.py).
    tags: list[Tag] = Field(default=[], max_length=post_rules.TAGS_MAX)
    received_on: date | None = None
    channel: Annotated[str, one_of(Channel, blank=True)] | None = None
    product: Annotated[str, one_of(Product, blank=True)] | None = None
    praised: list[Code] = Field(default=[], max_length=post_rules.PRAISED_MAX)
    category: Annotated[str, one_of(KnowhowCategory, blank=True)] | None = None
    confirm_personal_data: bool = False


class PostUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, text(post_rules.TITLE_MAX, 1)] | None = None
    body: Annotated[str, text(post_rules.BODY_MAX, 1)] | None = None
    status: Literal["draft", "published"] | None = None
    unit: Code | None = None
    tags: Annotated[list[Tag], Field(max_length=post_rules.TAGS_MAX)] | None = None
    received_on: date | None = None
    channel: Annotated[str, one_of(Channel, blank=True)] | None = None
    product: Annotated[str, one_of(Product, blank=True)] | None = None
    praised: Annotated[list[Code], Field(max_length=post_rules.PRAISED_MAX)] | None = None
    category: Annotated[str, one_of(KnowhowCategory, blank=True)] | None = None
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

    body: Annotated[str, text(comments.COMMENT_MAX, 1)]


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, one_of(FlagReason)]
    note: Annotated[str, text(flags.NOTE_MAX)] | None = None


class FlagPublic(BaseModel):
    id: int
    target: str
    reason: str
    note: str | None
    created_at: datetime
