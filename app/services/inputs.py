"""The input model of each resource, written once: the JSON body reads it (FastAPI) and so
does the page's form (app.web.forms); the services' rules build on the same models.

The field types and documented limits here are the shapes; the rules with messages in the
user's language (after NFC and strip) are the services' (services/posts.PostFields and the
comment and flag services), the same for both ways in. InputGuard checks the text rule.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from app.inputs import TEXT_PATTERN, Id
from app.models import (
    Channel,
    ComplaintCategory,
    FlagReason,
    KnowhowCategory,
    PostKind,
    PostStatus,
    Product,
)

CODE_MAX = 32  # unit and user codes (the columns' length)
TITLE_MAX = 120
BODY_MAX = 10_000
TAG_MAX = 40
TAGS_MAX = 10
PRAISED_MAX = 20
COMMENT_MAX = 2000
NOTE_MAX = 1000
REASON_MAX = 1000  # a curator's reason for hiding, restoring, redacting or dismissing
FEATURE_NOTE_MAX = 1000  # a curator's note on a good practice (好取組)
COMPLAINT_SUMMARY_MAX = 2000  # a complaint voice's private summary

# Bulletins (好取組情報)
BULLETIN_TITLE_MAX = 120
LEAD_MAX = 5_000
ITEM_COMMENT_MAX = 2_000


def clean_text(value: str | None) -> str:
    """The one text cleaner, before any rule: NFC keeps Japanese as typed but joins
    decomposed kana; the browsers' CR LF becomes LF; blanks around are dropped."""
    return unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").strip()


def cleaned(value: Any) -> Any:
    """`clean_text` for a value that may not be text (a wrong type is the caller's error)."""
    return clean_text(value) if isinstance(value, str) else value


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
Tag = Annotated[str, text(TAG_MAX)]
Title = Annotated[str, text(TITLE_MAX, 1)]
Body = Annotated[str, text(BODY_MAX, 1)]
# The service refuses a status other than these two with a message in the user's language.
Status = Annotated[str, one_of((PostStatus.draft, PostStatus.published))]
Tags = Annotated[list[Tag], Field(max_length=TAGS_MAX)]  # refused before any per-tag work
Praised = Annotated[list[Code], Field(max_length=PRAISED_MAX)]
ChannelChoice = Annotated[str, one_of(Channel, blank=True)]
ProductChoice = Annotated[str, one_of(Product, blank=True)]
CategoryChoice = Annotated[str, one_of(KnowhowCategory, blank=True)]
Reason = Annotated[str, text(REASON_MAX)]


class PostUpdate(BaseModel):
    """Body of PATCH /api/v1/posts/{id}: the fields a post has, each optional (the ones not
    sent stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    status: Status | None = None
    unit: Code | None = None
    tags: Tags | None = None
    received_on: date | None = None
    channel: ChannelChoice | None = None
    product: ProductChoice | None = None
    praised: Praised | None = None
    category: CategoryChoice | None = None
    confirm_personal_data: bool = False


class PostComplaintIn(BaseModel):
    """A complaint the customer's thanks also held (thanks posts only): recorded for head
    office as a complaint voice linked to the post, never shown on the board."""

    model_config = ConfigDict(extra="forbid")

    category: Annotated[str, one_of(ComplaintCategory)] = ComplaintCategory.other.value
    summary: Annotated[str, text(COMPLAINT_SUMMARY_MAX)] = ""


class PostCreate(PostUpdate):
    """Body of POST /api/v1/posts. Units and users by code; fields of the other kind stay null."""

    # Also what the composer reads (app.web.forms.form_input); kind last, as the one field
    # an edit may not change.
    complaint: PostComplaintIn | None = None
    kind: Annotated[str, one_of(PostKind)]
    title: Title
    body: Body
    status: Status = PostStatus.published
    tags: Tags = []
    praised: Praised = []


class CommentIn(BaseModel):
    # A comment's text: the API body, and the comment forms.
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, text(COMMENT_MAX, 1)]


class FlagIn(BaseModel):
    # A report of a post or a comment: the API body, and the report form.
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, one_of(FlagReason)]
    note: Annotated[str, text(NOTE_MAX)] | None = None


# Moderation and curation (services/moderation): the API bodies, and the forms on /moderation,
# the post page's curator panel and the redaction pages. The service checks every rule (a
# hide's reason is required, a redaction changes something) with its messages.


class ReasonIn(BaseModel):
    # Hiding a post or a comment: the reason is required.
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, text(REASON_MAX, 1)]


class OptionalReasonIn(BaseModel):
    # Restoring a post or a comment.
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class ApprovalIn(BaseModel):
    # The two-person rule (services/approvals.py): ask for a closed month to be reopened
    # (`month`, YYYY-MM) or for a post hidden for personal data to be shown again (`post_id`).
    model_config = ConfigDict(extra="forbid")

    action: Literal["kpi.reopen", "post.restore"]
    month: Annotated[str, Field(max_length=7, pattern=r"^\d{4}-\d{2}$")] | None = None
    post_id: Id | None = None
    reason: Reason | None = None


class RedactPostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    reason: Reason | None = None


class RedactCommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, text(COMMENT_MAX, 1)]
    reason: Reason | None = None


class FeatureIn(BaseModel):
    # Marking a post as good practice; again replaces the note.
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, text(FEATURE_NOTE_MAX)] | None = None


class DismissIn(BaseModel):
    # Dismissing the open flags on a target ("post:12", "comment:3").
    model_config = ConfigDict(extra="forbid")

    target: Annotated[str, Field(json_schema_extra={"pattern": "^(post|comment):[0-9]+$"})]
    reason: Reason | None = None


class BulletinItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post_id: Id
    comment: Annotated[str, text(ITEM_COMMENT_MAX)] = ""


class BulletinCreate(BaseModel):
    # Body of POST /api/v1/bulletins; the new-bulletin form reads its title, lead and
    # audience (routes/bulletins.py: the audience as ticked and typed).
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, text(BULLETIN_TITLE_MAX, 1)]
    lead: Annotated[str, text(LEAD_MAX)] = ""
    audience: Literal["all"] | list[Code] = "all"
    items: list[BulletinItemIn] | None = None
    publish_at: AwareDatetime | None = None
    confirm_by: date | None = None  # 確認期限: a day (Asia/Tokyo), today or later


class BulletinUpdate(BaseModel):
    """Only the fields sent change; `items` replaces the whole list (in order);
    `publish_at` schedules, `null` unschedules; `confirm_by` sets the confirmation
    deadline, `null` removes it."""

    # Body of PATCH /api/v1/bulletins/{id}; the editor's title / lead / audience form too.
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, text(BULLETIN_TITLE_MAX, 1)] | None = None
    lead: Annotated[str, text(LEAD_MAX)] | None = None
    audience: Literal["all"] | list[Code] | None = None
    items: list[BulletinItemIn] | None = None
    publish_at: AwareDatetime | None = None
    confirm_by: date | None = None
