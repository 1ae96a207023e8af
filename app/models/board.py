"""The board: posts of both kinds, tags, likes, reactions, comments and attachment metadata."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field


class PostKind(StrEnum):
    praise = "praise"
    knowhow = "knowhow"


class PostStatus(StrEnum):
    draft = "draft"
    published = "published"
    hidden = "hidden"
    deleted = "deleted"


class Channel(StrEnum):
    counter = "counter"
    phone = "phone"
    survey = "survey"
    letter = "letter"
    email = "email"
    visit = "visit"
    other = "other"


class Product(StrEnum):
    auto = "auto"
    fire = "fire"
    earthquake = "earthquake"
    life = "life"
    casualty = "casualty"
    other = "other"


class KnowhowCategory(StrEnum):
    knowledge = "knowledge"
    skill = "skill"
    tool = "tool"


class ReactionKind(StrEnum):
    """The fixed set of reactions (スタンプ) beside the like, in the order the card shows them."""

    thanks = "thanks"
    great = "great"
    helpful = "helpful"
    want_to_try = "want_to_try"  # やってみたい: a 横展開 signal on a post in a bulletin


def reaction_count_column(kind: str) -> str:
    """The counter column on `posts` that holds the number of reactions of `kind`."""
    return f"{ReactionKind(kind).value}_count"


class CommentStatus(StrEnum):
    published = "published"
    hidden = "hidden"
    deleted = "deleted"


class Post(SQLModel, table=True):
    __tablename__ = "posts"
    # Feed (newest first, keyset on (created_at, id)), author and unit pages, praise KPI.
    __table_args__ = (
        sa.Index("ix_posts_feed", "status", "created_at", "id"),
        sa.Index("ix_posts_author", "author_id", "created_at"),
        sa.Index("ix_posts_unit", "unit_id", "created_at"),
        # The KPI matrix reads (unit, month) counts from this index alone (index-only scan).
        sa.Index("ix_posts_kpi_unit", "kind", "status", "received_on", "unit_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=120)
    body: str = Field(sa_type=sa.Text)
    # Rendered once when written (Markdown subset, sanitised): lists never render Markdown.
    body_html: str = Field(default="", sa_type=sa.Text)
    # Tag names, tab-separated, kept with the post_tags rows so lists need no extra query.
    tag_names: str = Field(default="", max_length=500)
    # What search reads and both databases index: the folded title and body, written with
    # them (services/search.indexed_text; docs/search.md).
    search_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    author_id: int = Field(foreign_key="users.id")
    unit_id: int = Field(foreign_key="org_units.id")
    status: str = Field(default=PostStatus.published.value, max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    edited_at: datetime | None = optional_time_field()
    published_at: datetime | None = optional_time_field()
    # praise only
    received_on: date | None = Field(default=None)
    channel: str | None = Field(default=None, max_length=16)
    product: str | None = Field(default=None, max_length=16)
    # know-how only
    category: str | None = Field(default=None, max_length=16)
    # good practice (好取組)
    featured: bool = Field(default=False)
    feature_note: str | None = Field(default=None, max_length=1000)
    featured_by_id: int | None = Field(default=None, foreign_key="users.id")
    featured_at: datetime | None = optional_time_field()
    # moderation
    hidden_reason: str | None = Field(default=None, max_length=1000)
    hidden_by_id: int | None = Field(default=None, foreign_key="users.id")
    hidden_at: datetime | None = optional_time_field()
    # denormalised counters, kept equal to the rows by the services that change them
    like_count: int = Field(default=0)
    comment_count: int = Field(default=0)
    # one counter per ReactionKind (reaction_count_column), kept like like_count
    thanks_count: int = Field(default=0)
    great_count: int = Field(default=0)
    helpful_count: int = Field(default=0)
    want_to_try_count: int = Field(default=0)


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, unique=True)


class PostTag(SQLModel, table=True):
    __tablename__ = "post_tags"

    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, index=True)


class PostPraised(SQLModel, table=True):
    """Colleagues the customer thanked in a praise post."""

    __tablename__ = "post_praised"

    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)


class Like(SQLModel, table=True):
    """One per (post, user): the primary key makes a double like impossible."""

    __tablename__ = "likes"
    __table_args__ = (
        # KPI engagement: likes given per month, by the liker's unit (index-only).
        sa.Index("ix_likes_created", "created_at", "user_id"),
        # A post's likers, newest first (the post page).
        sa.Index("ix_likes_post_created", "post_id", "created_at"),
    )

    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    created_at: datetime = created_at_field()


class Reaction(SQLModel, table=True):
    """One per (post, kind, user): the primary key makes a double reaction impossible."""

    __tablename__ = "reactions"
    __table_args__ = (
        # KPI engagement: reactions given per month, by the reactor's unit (index-only).
        sa.Index("ix_reactions_created", "created_at", "user_id"),
    )

    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    created_at: datetime = created_at_field()


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (
        sa.Index("ix_comments_post", "post_id", "created_at"),
        # A post's newest comment, the bound of "more comments" (max(id) by post).
        sa.Index("ix_comments_post_id", "post_id", "id"),
        # KPI engagement: comments written per month, by the author's unit (index-only).
        sa.Index("ix_comments_created", "created_at", "author_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id")
    author_id: int = Field(foreign_key="users.id", index=True)
    body: str = Field(sa_type=sa.Text)
    body_html: str = Field(default="", sa_type=sa.Text)
    status: str = Field(default=CommentStatus.published.value, max_length=16)
    created_at: datetime = created_at_field()
    edited_at: datetime | None = optional_time_field()
    hidden_reason: str | None = Field(default=None, max_length=1000)


class ImageCheck(StrEnum):
    """Where an image attachment stands with the personal-data check of its photo (OCR,
    app/services/ocr/). Documents have none (NULL). Held (shown only to the post's author
    and curators): pending, found, unchecked. Shown to all who may see the post: the rest."""

    pending = "pending"  # waiting for the background check
    clean = "clean"  # OCR found nothing
    found = "found"  # OCR found personal data at `check_regions`
    unchecked = "unchecked"  # OCR unavailable: waits for a curator's look
    masked = "masked"  # the author blacked out the regions (the original is gone)
    released = "released"  # a curator let it be shown as it is


HELD_CHECKS = frozenset({ImageCheck.pending, ImageCheck.found, ImageCheck.unchecked})


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int | None = Field(default=None, foreign_key="posts.id", index=True)
    uploader_id: int = Field(foreign_key="users.id")
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=120)
    size: int
    storage_key: str = Field(max_length=255, unique=True)
    thumbnail_key: str | None = Field(default=None, max_length=255)
    width: int | None = None
    height: int | None = None
    created_at: datetime = created_at_field()
    # The photo's personal-data check (ImageCheck; NULL for documents) and, once found, the
    # regions to black out: JSON [[left, top, width, height, kind], ...] in the stored
    # image's pixels. Never the text OCR read.
    image_check: str | None = Field(default=None, max_length=16)
    check_regions: str | None = Field(default=None, sa_type=sa.Text)


class FlagReason(StrEnum):
    personal_info = "personal_info"
    inappropriate = "inappropriate"
    wrong_info = "wrong_info"
    duplicate = "duplicate"
    other = "other"


class Flag(SQLModel, table=True):
    """A report on a post or a comment. One open flag per user and target, and at most one
    open flag of the system's own per target."""

    __tablename__ = "flags"
    __table_args__ = (
        # At most one open flag per (reporter, target): NULL resolved_at marks it open.
        sa.Index(
            "uq_flags_open",
            "reporter_id",
            "target",
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        ),
        # The system's own flag (no reporter: a post its author confirmed "not personal
        # data"): at most one open per target.
        sa.Index(
            "uq_flags_open_system",
            "target",
            unique=True,
            sqlite_where=sa.text("reporter_id IS NULL AND resolved_at IS NULL"),
            postgresql_where=sa.text("reporter_id IS NULL AND resolved_at IS NULL"),
        ),
        sa.Index("ix_flags_open_created", "resolved_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # None: opened by the system, not by a person (services/flags.open_system_flag).
    reporter_id: int | None = Field(default=None, foreign_key="users.id")
    post_id: int = Field(foreign_key="posts.id", index=True)
    comment_id: int | None = Field(default=None, foreign_key="comments.id", index=True)
    # "post:ID" or "comment:ID": one non-null key, so the partial unique index can hold.
    target: str = Field(max_length=32)
    reason: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    resolved_at: datetime | None = optional_time_field()
    resolved_by_id: int | None = Field(default=None, foreign_key="users.id")
    resolution: str | None = Field(default=None, max_length=20)
