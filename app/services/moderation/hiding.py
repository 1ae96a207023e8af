"""Hiding and restoring posts and comments; hiding resolves the target's open flags."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.i18n import _
from app.models import Comment, CommentStatus, FlagReason, Post, User
from app.models.tables import comments, posts
from app.models.tables import flags as flags_t
from app.services import audit, notifications
from app.services.errors import Conflict
from app.services.integrations import events as integration_events
from app.services.moderation.rules import (
    HIDDEN,
    PUBLISHED,
    Actions,
    clean_reason,
    finish,
    resolve_flags,
    update_post,
)

# -- posts -----------------------------------------------------------------------------------


async def hide_post(db: AsyncSession, curator: User, post: Post, reason: str | None) -> Post:
    """Hide a published post (reason required); its open flags are resolved as "hidden"."""
    why = clean_reason(reason)
    now = clock.now()
    changed = await update_post(
        db,
        post,
        posts.c.status == PUBLISHED,
        {
            "status": HIDDEN,
            "hidden_reason": why,
            "hidden_by_id": curator.id,
            "hidden_at": now,
            "updated_at": now,
        },
    )
    if not changed:
        raise Conflict(
            _("This post is already hidden.")
            if post.status == HIDDEN
            else _("Only a published post can be hidden.")
        )
    resolved = await resolve_flags(db, curator, f"post:{post.id}", "hidden")
    audit.record(
        db,
        curator,
        Actions.hide_post,
        "post",
        post.id,
        reason=why,
        before={"status": PUBLISHED},
        after={"status": HIDDEN, "flags_resolved": resolved},
    )
    assert post.id is not None
    await integration_events.post_withdrawn(db, post.id)  # the chat tools' copies go too
    await finish(db, post)
    assert post.id is not None
    await notifications.notify_post_hidden(db, post.id, curator)
    return post


async def hidden_for_personal_data(db: AsyncSession, post_id: int) -> bool:
    """Whether the post is hidden and its hiding closed a personal-data report (a colleague's
    or the system's own): showing it again then takes two people (services/approvals.py)."""
    target = f"post:{post_id}"
    stmt = (
        sa.select(flags_t.c.id)
        .join(posts, posts.c.id == flags_t.c.post_id)
        .where(
            posts.c.id == post_id,
            posts.c.status == HIDDEN,
            flags_t.c.target == target,
            flags_t.c.reason == FlagReason.personal_info,
            flags_t.c.resolution == "hidden",
            flags_t.c.resolved_at >= posts.c.hidden_at,
        )
        .limit(1)
    )
    return (await db.execute(stmt)).first() is not None


async def restore_post(
    db: AsyncSession,
    curator: User,
    post: Post,
    reason: str | None = None,
    *,
    approved: bool = False,
) -> Post:
    """Publish a hidden post again; the hidden_* fields are cleared (the audit log keeps them).
    A post hidden for personal data only once a second person approved (`approved`)."""
    why = clean_reason(reason, required=False)
    assert post.id is not None
    if not approved and await hidden_for_personal_data(db, post.id):
        raise Conflict(
            _(
                "This post was hidden for personal data: showing it again needs a second "
                "person. Request it, and another curator or administrator approves it."
            )
        )
    old_reason = post.hidden_reason
    changed = await update_post(
        db,
        post,
        posts.c.status == HIDDEN,
        {
            "status": PUBLISHED,
            "hidden_reason": None,
            "hidden_by_id": None,
            "hidden_at": None,
            "updated_at": clock.now(),
        },
    )
    if not changed:
        raise Conflict(_("Only a hidden post can be restored."))
    audit.record(
        db,
        curator,
        Actions.restore_post,
        "post",
        post.id,
        reason=why,
        before={"status": HIDDEN, "hidden_reason": old_reason},
        after={"status": PUBLISHED},
    )
    await finish(db, post)
    return post


# -- comments --------------------------------------------------------------------------------


async def _set_comment_status(
    db: AsyncSession, comment: Comment, old: str, new: str, reason: str | None
) -> bool:
    result = await db.execute(
        sa.update(comments)
        .where(comments.c.id == comment.id, comments.c.status == old)
        .values(status=new, hidden_reason=reason)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    delta = -1 if old == CommentStatus.published else 1
    await db.execute(
        sa.update(posts)
        .where(posts.c.id == comment.post_id)
        .values(comment_count=posts.c.comment_count + delta)
    )
    return True


async def hide_comment(
    db: AsyncSession, curator: User, comment: Comment, reason: str | None
) -> Comment:
    """Hide a published comment; the post's comment_count drops by one in the same step."""
    why = clean_reason(reason)
    if not await _set_comment_status(
        db, comment, CommentStatus.published, CommentStatus.hidden, why
    ):
        raise Conflict(
            _("This comment is already hidden.")
            if comment.status == CommentStatus.hidden
            else _("Only a published comment can be hidden.")
        )
    resolved = await resolve_flags(db, curator, f"comment:{comment.id}", "hidden")
    audit.record(
        db,
        curator,
        Actions.hide_comment,
        "comment",
        comment.id,
        reason=why,
        before={"status": CommentStatus.published},
        after={"status": CommentStatus.hidden, "flags_resolved": resolved},
    )
    await finish(db, comment)
    return comment


async def restore_comment(
    db: AsyncSession, curator: User, comment: Comment, reason: str | None = None
) -> Comment:
    why = clean_reason(reason, required=False)
    old_reason = comment.hidden_reason
    if not await _set_comment_status(
        db, comment, CommentStatus.hidden, CommentStatus.published, None
    ):
        raise Conflict(_("Only a hidden comment can be restored."))
    audit.record(
        db,
        curator,
        Actions.restore_comment,
        "comment",
        comment.id,
        reason=why,
        before={"status": CommentStatus.hidden, "hidden_reason": old_reason},
        after={"status": CommentStatus.published},
    )
    await finish(db, comment)
    return comment
