"""Notifications over JSON: the caller's list (unread first), marking read, the digest."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.schemas import Page, PersonRef
from app.deps import CurrentUser, SessionDep
from app.inputs import Id
from app.models.tables import users
from app.services import notifications
from app.services.notifications import NotificationView

router = APIRouter(tags=["notifications"])


class PostRef(BaseModel):
    id: int
    title: str | None  # null when the post is no longer visible to you


class BulletinRef(BaseModel):
    id: int
    title: str | None
    volume: int | None


class NotificationPublic(BaseModel):
    id: int
    kind: str
    message: str
    actor: PersonRef | None
    actor_count: int
    post: PostRef | None
    bulletin: BulletinRef | None
    read: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, n: NotificationView) -> NotificationPublic:
        return cls(
            id=n.id,
            kind=n.kind,
            message=n.message,
            actor=PersonRef(code=n.actor_code, name=n.actor_name or "") if n.actor_code else None,
            actor_count=n.actor_count,
            post=PostRef(id=n.post_id, title=n.post_title) if n.post_id else None,
            bulletin=(
                BulletinRef(id=n.bulletin_id, title=n.bulletin_title, volume=n.bulletin_volume)
                if n.bulletin_id
                else None
            ),
            read=not n.unread,
            created_at=n.created_at,
            updated_at=n.updated_at,
        )


class NotificationPage(Page[NotificationPublic]):
    unread_count: int


class ReadIn(BaseModel):
    """Either `{"ids": [...]}` or `{"all": true}`."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Id] | None = Field(default=None, max_length=1000)
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ReadIn:
        if (self.ids is None) == (not self.all):
            raise ValueError('give either "ids" or "all": true')
        return self


class ReadOut(BaseModel):
    marked: int
    unread_count: int


class DigestIn(BaseModel):
    digest: Literal["off", "daily", "weekly"]


@router.get("/notifications", name="api_list_notifications")
async def list_notifications(
    db: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> NotificationPage:
    """Unread first, then read; newest first within each."""
    items, next_cursor = await notifications.list_for(db, user, cursor=cursor, limit=limit)
    assert user.id is not None
    return NotificationPage(
        items=[NotificationPublic.of(n) for n in items],
        next_cursor=next_cursor,
        unread_count=await notifications.unread_count(db, user.id),
    )


@router.post("/notifications/read", name="api_read_notifications")
async def read_notifications(db: SessionDep, user: CurrentUser, body: ReadIn) -> ReadOut:
    """Mark the given notifications (yours only; others are ignored) or all of them read."""
    marked = await notifications.mark_read(db, user, None if body.all else body.ids)
    assert user.id is not None
    return ReadOut(marked=marked, unread_count=await notifications.unread_count(db, user.id))


@router.put("/notifications/digest", name="api_set_digest")
async def set_digest(db: SessionDep, user: CurrentUser, body: DigestIn) -> DigestIn:
    """The e-mail digest: off, daily or weekly (the default)."""
    await db.execute(sa.update(users).where(users.c.id == user.id).values(digest=body.digest))
    await db.commit()
    return body
