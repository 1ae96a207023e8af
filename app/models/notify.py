"""Notifications (likes grouped per post, comments, mentions, curation, bulletins) and the
e-mail digest preference."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, optional_time_field


class NotificationKind(StrEnum):
    like = "like"  # grouped: one unread row per post, with the latest liker and a count
    reaction = "reaction"  # grouped like likes: the latest reactor and the reactions' count
    comment = "comment"
    mention = "mention"
    featured = "featured"
    hidden = "hidden"
    bulletin_item = "bulletin_item"  # your post was put in a published bulletin
    bulletin = "bulletin"  # a new bulletin for your unit
    bulletin_reminder = "bulletin_reminder"  # a bulletin you have not opened yet: please read


class DigestFrequency(StrEnum):
    off = "off"
    daily = "daily"
    weekly = "weekly"


UNREAD_LIKE_GROUP = "read_at IS NULL AND kind = 'like'"
UNREAD_REACTION_GROUP = "read_at IS NULL AND kind = 'reaction'"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        # The bell (unread count) and the unread list, newest first.
        sa.Index("ix_notifications_unread", "user_id", "read_at", "updated_at"),
        # The whole list (read ones after the unread), newest first.
        sa.Index("ix_notifications_user_time", "user_id", "updated_at"),
        # Likes are grouped: at most one unread like notification per (recipient, post), so
        # concurrent likes meet in one upsert instead of racing to insert two rows.
        sa.Index(
            "uq_notifications_like_group",
            "user_id",
            "post_id",
            "kind",
            unique=True,
            sqlite_where=sa.text(UNREAD_LIKE_GROUP),
            postgresql_where=sa.text(UNREAD_LIKE_GROUP),
        ),
        # Reactions (any kind) are grouped the same way: one unread row per (recipient, post).
        sa.Index(
            "uq_notifications_reaction_group",
            "user_id",
            "post_id",
            "kind",
            unique=True,
            sqlite_where=sa.text(UNREAD_REACTION_GROUP),
            postgresql_where=sa.text(UNREAD_REACTION_GROUP),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")  # the recipient
    kind: str = Field(max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="users.id")  # the latest actor
    actor_count: int = Field(default=1)  # likes/reactions in the group (1 for other kinds)
    post_id: int | None = Field(default=None, foreign_key="posts.id", index=True)
    comment_id: int | None = Field(default=None, foreign_key="comments.id")
    bulletin_id: int | None = Field(default=None, foreign_key="bulletins.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    read_at: datetime | None = optional_time_field()
