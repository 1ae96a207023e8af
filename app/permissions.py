"""Who may see and change which post or comment: the one tested place for these checks.

Visibility (SPEC §1): a published post is visible to every logged-in user; a draft only to
its author; a hidden post to its author (marked hidden) and to curators — a curator with a
scope only when the post's unit lies in it (services/scope.py); a deleted post to nobody.
Anything not visible is a 404, so that its existence is not revealed. Moderating a post
outside one's scope is a 404 too.
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import (
    HELD_CHECKS,
    ROLE_RANK,
    Comment,
    CommentStatus,
    Post,
    PostStatus,
    Role,
    User,
)
from app.services import scope
from app.services.errors import Conflict, Forbidden, NotFound


def is_curator(user: User) -> bool:
    return ROLE_RANK[Role(user.role)] >= ROLE_RANK[Role.curator]


class PostLike(Protocol):
    """What visibility depends on: a Post row, or a feed card of it."""

    @property
    def status(self) -> str: ...

    @property
    def author_id(self) -> int: ...


def can_view_post(user: User, post: PostLike) -> bool:
    if post.status == PostStatus.published:
        return True
    if post.status == PostStatus.draft:
        return post.author_id == user.id
    if post.status == PostStatus.hidden:
        return post.author_id == user.id or is_curator(user)
    return False


def can_view_attachment(
    user: User, post_author_id: int, image_check: str | None, *, overseen: bool = True
) -> bool:
    """An attachment of a post this user may see: an image held by its personal-data check
    (not yet checked, personal data found, or the check unavailable) only to the post's
    author and the curators who oversee the post (`overseen`: for a curator with a scope,
    whether the post's unit lies in it; services/scope.overseen_posts) (docs/compliance.md);
    everything else to all who see the post."""
    if image_check in HELD_CHECKS:
        return user.id == post_author_id or (is_curator(user) and overseen)
    return True


def not_found() -> NotFound:
    return NotFound(_("This post does not exist or is not visible to you."))


def ensure_visible(user: User, post: PostLike | None) -> None:
    """404 unless the post (a row or its card) exists and this user may see it."""
    if post is None or not can_view_post(user, post):
        raise not_found()


async def ensure_visible_in_scope(
    db: AsyncSession, user: User, post_id: int, post: PostLike | None
) -> None:
    """`ensure_visible`, and a hidden post not one's own only within a curator's scope."""
    ensure_visible(user, post)
    assert post is not None
    if post.status == PostStatus.hidden and post.author_id != user.id:
        if not await scope.oversees_post(db, user, post_id):
            raise not_found()


async def get_post_for_view(db: AsyncSession, user: User, post_id: int) -> Post:
    post = await db.get(Post, post_id)
    await ensure_visible_in_scope(db, user, post_id, post)
    assert post is not None
    return post


async def get_post_for_edit(db: AsyncSession, user: User, post_id: int) -> Post:
    """The author may edit or delete their own post (even while hidden); nobody else."""
    post = await get_post_for_view(db, user, post_id)
    if post.author_id != user.id:
        raise Forbidden(_("Only the author can change this post."))
    return post


async def get_post_for_interaction(db: AsyncSession, user: User, post_id: int) -> Post:
    """Liking, commenting and flagging need a published post."""
    post = await get_post_for_view(db, user, post_id)
    if post.status != PostStatus.published:
        raise Conflict(_("Only published posts can be liked or commented on."))
    return post


def can_view_comment(user: User, comment: Comment) -> bool:
    if comment.status == CommentStatus.published:
        return True
    if comment.status == CommentStatus.hidden:
        return comment.author_id == user.id or is_curator(user)
    return False


async def sees_hidden_comments(db: AsyncSession, user: User, post_id: int) -> bool:
    """Whether the post's hidden comments are shown to this user: curators, within scope."""
    return is_curator(user) and await scope.oversees_post(db, user, post_id)


async def get_comment_for_view(db: AsyncSession, user: User, comment_id: int) -> Comment:
    comment = await db.get(Comment, comment_id)
    if comment is None or not can_view_comment(user, comment):
        raise NotFound(_("This comment does not exist or is not visible to you."))
    if comment.status == CommentStatus.hidden and comment.author_id != user.id:
        if not await scope.oversees_post(db, user, comment.post_id):
            raise NotFound(_("This comment does not exist or is not visible to you."))
    await get_post_for_view(db, user, comment.post_id)
    return comment


async def get_comment_for_edit(db: AsyncSession, user: User, comment_id: int) -> Comment:
    comment = await get_comment_for_view(db, user, comment_id)
    if comment.author_id != user.id:
        raise Forbidden(_("Only the author can change this comment."))
    return comment


MODERATED_STATUSES = (PostStatus.published, PostStatus.hidden)


def _require_curator(user: User) -> None:
    if not is_curator(user):
        raise Forbidden(_("You do not have permission to do this."))


async def get_post_for_moderation(db: AsyncSession, user: User, post_id: int) -> Post:
    """Curators act on published and hidden posts of their scope; drafts, deleted posts and
    posts outside the scope are a 404."""
    _require_curator(user)
    post = await db.get(Post, post_id)
    if post is None or post.status not in MODERATED_STATUSES:
        raise not_found()
    await scope.ensure_oversees(db, user, post.unit_id, not_found())
    return post


async def get_comment_for_moderation(db: AsyncSession, user: User, comment_id: int) -> Comment:
    """A published or hidden comment on a post curators can act on; anything else is a 404."""
    _require_curator(user)
    comment = await db.get(Comment, comment_id)
    if comment is None or comment.status == CommentStatus.deleted:
        raise NotFound(_("This comment does not exist or is not visible to you."))
    await get_post_for_moderation(db, user, comment.post_id)
    return comment
