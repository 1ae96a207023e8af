"""The post page: the post, who liked and reacted, and its comments — the first
COMMENTS_PAGE of them, and "more" for the next ones in place (all of them through
`?comments=all`, which links to one comment use)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.deps import CurrentUser, SessionDep
from app.inputs import PathId
from app.models import PostStatus, User
from app.permissions import (
    ensure_visible_in_scope,
    get_post_for_view,
    is_curator,
    sees_hidden_comments,
)
from app.routes.posts import LIKERS_SHOWN
from app.services import approvals, complaints, feed, reactions
from app.services import comments as comment_service
from app.templating import render

router = APIRouter(include_in_schema=False)


async def post_page_context(
    db: SessionDep, user: User, post_id: int, *, all_comments: bool = False
) -> dict[str, Any]:
    """What posts/detail.html needs (also rendered by the curator actions on that page): the
    first comments and "more", or (`all_comments`: a link to one comment) all of them."""
    card = await feed.get_card(db, user, post_id)
    # The card has what visibility needs; a second read only for a scoped curator.
    await ensure_visible_in_scope(db, user, post_id, card)
    page = await comment_service.page_of_comments(
        db,
        user,
        post_id,
        include_hidden=await sees_hidden_comments(db, user, post_id),
        limit=None if all_comments else comment_service.COMMENTS_PAGE,
    )
    return {
        "post": card,
        "full": True,
        "comments": page.comments,
        "comment_page": page,
        "likers": await feed.likers(db, post_id, limit=LIKERS_SHOWN),
        "reactors": await reactions.reactors(db, post_id),
        "is_author": card is not None and card.author_id == user.id,
        # A complaint its author found in the voice: head office's, never staff's.
        "complaint": (
            await complaints.linked_to_post(db, user, post_id) if is_curator(user) else None
        ),
        # A post hidden for personal data is shown again only with a second person's approval.
        "restore_approval": await approvals.post_restore(db, post_id)
        if card is not None and card.status == PostStatus.hidden and is_curator(user)
        else None,
    }


@router.get("/posts/{post_id}", name="show_post")
async def show_post(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    post_id: PathId,
    comments: Literal["all"] | None = None,
) -> Response:
    ctx = await post_page_context(db, user, post_id, all_comments=comments == "all")
    return render(request, "posts/detail.html", ctx)


@router.get("/posts/{post_id}/comments", name="more_comments")
async def more_comments(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    post_id: PathId,
    after: Annotated[int, Query(ge=1, le=2**31 - 1)],
    upto: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Response:
    """The next comments after `after` (up to `upto`), swapped in place of "more"."""
    await get_post_for_view(db, user, post_id)
    page = await comment_service.page_of_comments(
        db,
        user,
        post_id,
        include_hidden=await sees_hidden_comments(db, user, post_id),
        after=after,
        upto=upto,
    )
    return render(
        request, "comments/_page.html", {"post_id": post_id, "comment_page": page, "loaded": True}
    )
