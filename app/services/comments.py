"""Comments: add, edit, delete own; @mentions by employee code; the counter kept exact."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import events
from app.i18n import _
from app.models import Comment, CommentStatus, Post, User
from app.models.base import utcnow
from app.models.tables import comments, posts, users
from app.services import notifications
from app.services.errors import InvalidInput
from app.services.inputs import COMMENT_MAX as COMMENT_MAX
from app.services.inputs import clean_text
from app.services.markdown import render_comment
from app.services.mentions import MENTION_RE, mentioned_users, with_names


@dataclass(slots=True)
class CommentView:
    id: int
    post_id: int
    body: str
    body_html: str
    status: str
    created_at: datetime
    edited_at: datetime | None
    author_id: int
    author_code: str
    author_name: str


def clean_body(body: str | None) -> str:
    text = clean_text(body)
    if not text:
        raise InvalidInput.field("body", _("Enter a comment."))
    if len(text) > COMMENT_MAX:
        raise InvalidInput.field(
            "body", _("A comment can be at most %(n)s characters.") % {"n": COMMENT_MAX}
        )
    return text


async def render_with_mentions(db: AsyncSession, text: str) -> str:
    """Markdown for comments, with @CODE of a real colleague linked to their page."""
    known = {code for _id, code in await mentioned_users(db, text)}

    def link(m: re.Match[str]) -> str:
        code = m.group(1)
        return f"[@{code}](/users/{code})" if code in known else m.group(0)

    return render_comment(MENTION_RE.sub(link, text))


async def add_comment(db: AsyncSession, author: User, post: Post, body: str | None) -> Comment:
    text = clean_body(body)
    assert author.id is not None and post.id is not None
    comment = Comment(
        post_id=post.id,
        author_id=author.id,
        body=text,
        body_html=await render_with_mentions(db, text),
    )
    db.add(comment)
    await db.flush()
    await db.execute(
        sa.update(posts)
        .where(posts.c.id == post.id)
        .values(comment_count=posts.c.comment_count + 1)
    )
    recipients = await notifications.on_comment(db, post, comment, author)
    await db.commit()
    await db.refresh(comment)
    await events.notifications_changed(recipients)
    return comment


async def edit_comment(db: AsyncSession, comment: Comment, body: str | None) -> Comment:
    text = clean_body(body)
    if text != comment.body:
        comment.body = text
        comment.body_html = await render_with_mentions(db, text)
        comment.edited_at = utcnow()
        db.add(comment)
        await db.commit()
        await db.refresh(comment)
    return comment


async def delete_comment(db: AsyncSession, comment: Comment) -> None:
    """Soft delete; the post's counter follows only if the comment was visible."""
    was_visible = comment.status == CommentStatus.published
    result = await db.execute(
        sa.update(comments)
        .where(comments.c.id == comment.id, comments.c.status != CommentStatus.deleted)
        .values(status=CommentStatus.deleted)
    )
    if result.rowcount == 1 and was_visible:  # type: ignore[attr-defined]
        await db.execute(
            sa.update(posts)
            .where(posts.c.id == comment.post_id)
            .values(comment_count=posts.c.comment_count - 1)
        )
    await db.commit()
    await db.refresh(comment)


# The post page shows a post's first comments, this many at a time; "more" reads on.
COMMENTS_PAGE = 50


def _comments_of_post(include_hidden: bool, page: str) -> sa.Select[Any]:
    """The comments of a post, oldest first. `page`: "all"; "first" (the first :limit); or
    "next" (the :limit after comment :after, of those up to comment :upto — the newest when
    the first page was read: later ones reach an open page live)."""
    stmt = (
        sa.select(
            comments.c.id,
            comments.c.post_id,
            comments.c.body,
            comments.c.body_html,
            comments.c.status,
            comments.c.created_at,
            comments.c.edited_at,
            comments.c.author_id,
            users.c.code,
            users.c.name,
        )
        .join(users, users.c.id == comments.c.author_id)
        .where(comments.c.post_id == sa.bindparam("post_id", type_=sa.Integer))
        .order_by(comments.c.created_at, comments.c.id)
    )
    visible = comments.c.status == CommentStatus.published
    hidden = comments.c.status == CommentStatus.hidden
    if include_hidden:
        stmt = stmt.where(visible | hidden)
    else:
        viewer = sa.bindparam("viewer_id", type_=sa.Integer)
        stmt = stmt.where(visible | (hidden & (comments.c.author_id == viewer)))
    if page == "next":
        after = sa.bindparam("after", type_=sa.Integer)
        at = sa.select(comments.c.created_at).where(comments.c.id == after).scalar_subquery()
        stmt = stmt.where(
            comments.c.id <= sa.bindparam("upto", type_=sa.Integer),
            (comments.c.created_at > at)
            | ((comments.c.created_at == at) & (comments.c.id > after)),
        )
    if page != "all":
        stmt = stmt.limit(sa.bindparam("limit", type_=sa.Integer))
    return stmt


# Built once each (with bind parameters): the post page runs one of them per view.
_COMMENTS_OF_POST = {
    (flag, page): _comments_of_post(flag, page)
    for flag in (False, True)
    for page in ("all", "first", "next")
}


async def list_comments(
    db: AsyncSession, viewer: User, post_id: int, *, include_hidden: bool = False
) -> list[CommentView]:
    """All of them, oldest first. Hidden comments only for curators and their own author."""
    return await _read(db, viewer, post_id, include_hidden, "all", {})


@dataclass(slots=True)
class CommentPage:
    comments: list[CommentView]
    more_after: int | None  # more follow: the id of the last comment shown
    upto: int  # the newest comment when the first page was read: "more" stops there


async def page_of_comments(
    db: AsyncSession,
    viewer: User,
    post_id: int,
    *,
    include_hidden: bool = False,
    after: int | None = None,
    upto: int | None = None,
    limit: int | None = COMMENTS_PAGE,
) -> CommentPage:
    """`list_comments` `limit` at a time (None: all of them): the first ones, or (`after`,
    `upto` from the page before) the next."""
    if limit is None:
        return CommentPage(await _read(db, viewer, post_id, include_hidden, "all", {}), None, 0)
    if after is None or upto is None:
        views = await _read(db, viewer, post_id, include_hidden, "first", {"limit": limit + 1})
        if len(views) > limit:
            newest = sa.select(sa.func.max(comments.c.id)).where(comments.c.post_id == post_id)
            upto = int((await db.execute(newest)).scalar_one())
    else:
        bounds = {"after": after, "upto": upto, "limit": limit + 1}
        views = await _read(db, viewer, post_id, include_hidden, "next", bounds)
    more = len(views) > limit
    views = views[:limit]
    return CommentPage(views, views[-1].id if more else None, upto or 0)


async def _read(
    db: AsyncSession,
    viewer: User,
    post_id: int,
    include_hidden: bool,
    page: str,
    bounds: dict[str, int],
) -> list[CommentView]:
    params = {"post_id": post_id, **bounds}
    if not include_hidden:
        params["viewer_id"] = viewer.id  # type: ignore[assignment]
    stmt = _COMMENTS_OF_POST[include_hidden, page]
    views = [CommentView(*r) for r in await db.execute(stmt, params)]
    return await _named(db, views)


async def _named(db: AsyncSession, views: list[CommentView]) -> list[CommentView]:
    """Mentions shown by name (mentions.with_names)."""
    for view, html in zip(views, await with_names(db, [v.body_html for v in views]), strict=True):
        view.body_html = html
    return views


async def comment_view(db: AsyncSession, comment_id: int) -> CommentView:
    row = (
        await db.execute(
            sa.select(
                comments.c.id,
                comments.c.post_id,
                comments.c.body,
                comments.c.body_html,
                comments.c.status,
                comments.c.created_at,
                comments.c.edited_at,
                comments.c.author_id,
                users.c.code,
                users.c.name,
            )
            .join(users, users.c.id == comments.c.author_id)
            .where(comments.c.id == comment_id)
        )
    ).one()
    return (await _named(db, [CommentView(*row)]))[0]
