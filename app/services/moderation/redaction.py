"""Redacting a post or a comment: its text replaced to remove personal data, kept nowhere."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.i18n import _
from app.models import Comment, CommentStatus, Post, User
from app.models.tables import comments, posts
from app.services import audit
from app.services.comments import clean_body as clean_comment_body
from app.services.comments import render_with_mentions
from app.services.errors import Conflict, InvalidInput
from app.services.inputs import clean_text
from app.services.integrations import events as integration_events
from app.services.markdown import render_markdown
from app.services.moderation.rules import (
    HIDDEN,
    PUBLISHED,
    Actions,
    clean_reason,
    finish,
    update_post,
)
from app.services.posts import body_problem, title_problem
from app.services.search import indexed_text


def _redacted(field_name: str, value: str | None) -> str | None:
    """A redacted title or body must still pass the post's own rule (app/services/posts)."""
    if value is None:
        return None
    text = clean_text(value)
    check = title_problem if field_name == "title" else body_problem
    if problem := check(text):
        raise InvalidInput.field(field_name, problem)
    return text


def _nothing_changed(field_name: str) -> InvalidInput:
    return InvalidInput.field(
        field_name, _("Nothing was changed. Edit the text to remove the personal data.")
    )


async def redact_post(
    db: AsyncSession,
    curator: User,
    post: Post,
    title: str | None = None,
    body: str | None = None,
    reason: str | None = None,
) -> Post:
    """Replace the title and/or body to remove personal data.

    The removed text is kept nowhere: the audit row says which fields were redacted, never
    what they held. The search index follows the row (search_text, indexed by both databases).
    """
    new_title, new_body = _redacted("title", title), _redacted("body", body)
    why = clean_reason(reason, required=False)
    values: dict[str, Any] = {}
    if new_title is not None and new_title != post.title:
        values["title"] = new_title
    if new_body is not None and new_body != post.body:
        values["body"] = new_body
        values["body_html"] = render_markdown(new_body)
    if not values:
        raise _nothing_changed("body" if body is not None else "title")
    redacted = [name for name in ("title", "body") if name in values]
    values["search_text"] = indexed_text(
        values.get("title", post.title), values.get("body", post.body)
    )
    now = clock.now()
    values.update(edited_at=now, updated_at=now)
    if not await update_post(db, post, posts.c.status.in_((PUBLISHED, HIDDEN)), values):
        raise Conflict(_("This post can no longer be changed."))
    audit.record(
        db,
        curator,
        Actions.redact_post,
        "post",
        post.id,
        reason=why,
        before={name: "redacted" for name in redacted},
        after={name: "edited" for name in redacted},
    )
    # The chat tools' copies carry the old title: replaced by the redacted one.
    assert post.id is not None
    await integration_events.post_withdrawn(db, post.id, resend=True)
    await finish(db, post)
    return post


async def redact_comment(
    db: AsyncSession, curator: User, comment: Comment, body: str | None, reason: str | None = None
) -> Comment:
    """Replace a comment's text to remove personal data; the removed text is kept nowhere."""
    text = clean_comment_body(body)
    why = clean_reason(reason, required=False)
    if text == comment.body:
        raise _nothing_changed("body")
    result = await db.execute(
        sa.update(comments)
        .where(comments.c.id == comment.id, comments.c.status != CommentStatus.deleted)
        .values(body=text, body_html=await render_with_mentions(db, text), edited_at=clock.now())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("This comment can no longer be changed."))
    audit.record(
        db,
        curator,
        Actions.redact_comment,
        "comment",
        comment.id,
        reason=why,
        before={"body": "redacted"},
        after={"body": "edited"},
    )
    await finish(db, comment)
    return comment
