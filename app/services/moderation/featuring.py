"""Curation: marking a published post as good practice (好取組), with a curator's note."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.i18n import _
from app.models import Post, User
from app.models.tables import posts
from app.services import audit, notifications
from app.services.errors import Conflict
from app.services.integrations import events as integration_events
from app.services.moderation.rules import PUBLISHED, Actions, clean_note, finish, update_post


async def feature_post(db: AsyncSession, curator: User, post: Post, note: str | None) -> Post:
    """Mark a published post as good practice (好取組), with an optional curator note.

    Featuring a featured post again replaces its note.
    """
    text = clean_note(note)
    before = {"featured": post.featured, "feature_note": post.feature_note}
    changed = await update_post(
        db,
        post,
        posts.c.status == PUBLISHED,
        {
            "featured": True,
            "feature_note": text,
            "featured_by_id": curator.id,
            "featured_at": clock.now(),
        },
    )
    if not changed:
        raise Conflict(_("Only a published post can be marked as good practice."))
    audit.record(
        db,
        curator,
        Actions.feature_post,
        "post",
        post.id,
        before=before,
        after={"featured": True, "feature_note": text},
    )
    if not before["featured"]:
        await integration_events.post_event(db, post, integration_events.Event.post_featured)
    await finish(db, post)
    assert post.id is not None
    await notifications.notify_post_featured(db, post.id, curator)
    return post


async def unfeature_post(db: AsyncSession, curator: User, post: Post) -> Post:
    old_note = post.feature_note
    changed = await update_post(
        db,
        post,
        posts.c.featured.is_(True),
        {"featured": False, "feature_note": None, "featured_by_id": None, "featured_at": None},
    )
    if not changed:
        raise Conflict(_("This post is not marked as good practice."))
    audit.record(
        db,
        curator,
        Actions.unfeature_post,
        "post",
        post.id,
        before={"featured": True, "feature_note": old_note},
        after={"featured": False},
    )
    await finish(db, post)
    return post
