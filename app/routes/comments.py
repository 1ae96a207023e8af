"""Comments in place on the post page: add, edit, delete own, flag."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import links
from app.deps import CurrentUser, SessionDep
from app.events import Counts, hx_trigger
from app.inputs import PathId
from app.models import Comment, IdempotencyKey, User
from app.models.tables import posts
from app.permissions import (
    get_comment_for_edit,
    get_comment_for_view,
    get_post_for_interaction,
)
from app.routes.posts import submit_flag
from app.services import comments as comment_service
from app.services import idempotency
from app.services.errors import InvalidInput
from app.services.inputs import CommentIn
from app.templating import is_htmx, render
from app.web.forms import read_model

router = APIRouter(include_in_schema=False)


def _back(request: Request, post_id: int, anchor: str = "comments") -> RedirectResponse:
    return RedirectResponse(
        f"{request.app.url_path_for('show_post', post_id=post_id)}#{anchor}", 303
    )


async def _count(db: SessionDep, post_id: int) -> int:
    """The post's comment counter as committed (one query, not a load and a refresh)."""
    found = await db.execute(sa.select(posts.c.comment_count).where(posts.c.id == post_id))
    return int(found.scalar_one_or_none() or 0)


def comment_count_changed(post_id: int, count: int) -> dict[str, str]:
    """The HX-Trigger that sets the post's comment count wherever the page shows it (the
    card and the comments heading on the post page, the moderation list)."""
    return hx_trigger(counts={Counts.comments(post_id): count})


@router.post("/posts/{post_id}/comments", name="add_comment")
async def add_comment(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    typed, extra = await read_model(request, CommentIn, idempotency.FORM_FIELD)
    text = body = typed.body
    post = await get_post_for_interaction(db, user, post_id)
    key = idempotency.parse_key(extra[idempotency.FORM_FIELD] or None)
    claimed = await _claim(request, db, user, key, text)
    if isinstance(claimed, int):  # the same form sent again: its first comment, not a second
        return await _added(request, db, post_id, claimed)
    try:
        comment = await comment_service.add_comment(db, user, post, text)
    except InvalidInput as exc:
        error = exc.by_field().get("body", "")
        if not is_htmx(request):
            raise HTTPException(422, error) from exc
        return render(
            request,
            "comments/_form.html",
            {"post_id": post_id, "body": body or "", "error": error, "idempotency_key": key},
            status_code=422,
        )
    assert comment.id is not None
    if claimed is not None:
        assert claimed.id is not None
        await idempotency.remember(
            db, claimed.id, idempotency.Answer(303, str(comment.id), "text/plain")
        )
    return await _added(request, db, post_id, comment.id)


async def _claim(
    request: Request, db: SessionDep, user: User, key: str | None, body: str | None
) -> int | IdempotencyKey | None:
    """The id of the comment a second submit of the same form made already, or the key."""
    if key is None:
        return None
    assert user.id is not None
    fp = idempotency.fingerprint(request.method, request.url.path, {"body": body})
    claimed = await idempotency.begin(db, user.id, key, fp, Comment)
    if isinstance(claimed, IdempotencyKey):
        return claimed
    return claimed.resource_id if isinstance(claimed, idempotency.Made) else int(claimed.body)


async def _added(request: Request, db: SessionDep, post_id: int, comment_id: int) -> Response:
    if not is_htmx(request):
        return _back(request, post_id, f"comment-{comment_id}")
    return render(
        request,
        "comments/_added.html",
        {"post_id": post_id, "comment": await comment_service.comment_view(db, comment_id)},
        headers=comment_count_changed(post_id, await _count(db, post_id)),
    )


@router.get("/comments/{comment_id}/edit", name="edit_comment")
async def edit_comment(
    request: Request, db: SessionDep, user: CurrentUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_edit(db, user, comment_id)
    return render(
        request,
        "comments/_edit_form.html",
        {"comment": comment, "body": comment.body, "error": None},
    )


@router.post("/comments/{comment_id}/edit", name="update_comment")
async def update_comment(
    request: Request, db: SessionDep, user: CurrentUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_edit(db, user, comment_id)
    body = (await read_model(request, CommentIn))[0].body
    try:
        await comment_service.edit_comment(db, comment, body)
    except InvalidInput as exc:
        error = exc.by_field().get("body", "")
        if not is_htmx(request):
            raise HTTPException(422, error) from exc
        return render(
            request,
            "comments/_edit_form.html",
            {"comment": comment, "body": body or "", "error": error},
            status_code=422,
        )
    if not is_htmx(request):
        return _back(request, comment.post_id, f"comment-{comment_id}")
    return render(
        request,
        "comments/_comment.html",
        {"comment": await comment_service.comment_view(db, comment_id)},
    )


@router.get("/comments/{comment_id}", name="show_comment")
async def show_comment(
    request: Request, db: SessionDep, user: CurrentUser, comment_id: PathId
) -> Response:
    """One comment (the edit form's cancel swaps it back in)."""
    await get_comment_for_view(db, user, comment_id)
    view = await comment_service.comment_view(db, comment_id)
    if not is_htmx(request):
        return _back(request, view.post_id, f"comment-{comment_id}")
    return render(request, "comments/_comment.html", {"comment": view})


@router.post("/comments/{comment_id}/delete", name="delete_comment")
async def delete_comment(
    request: Request, db: SessionDep, user: CurrentUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_edit(db, user, comment_id)
    await comment_service.delete_comment(db, comment)
    if not is_htmx(request):
        return _back(request, comment.post_id)
    count = await _count(db, comment.post_id)
    return render(
        request,
        "comments/_deleted.html",
        {"comment_count": count},
        headers=comment_count_changed(comment.post_id, count),
    )


@router.get("/comments/{comment_id}/report", name="report_comment")
async def report_comment(
    request: Request, db: SessionDep, user: CurrentUser, comment_id: PathId
) -> Response:
    """The report form for one comment, fetched on demand (a page without JavaScript)."""
    comment = await get_comment_for_view(db, user, comment_id)
    ctx = {
        "action": request.app.url_path_for("flag_comment", comment_id=comment_id),
        "id_prefix": f"flag-c{comment_id}",
        "open": True,
        "post_id": comment.post_id,
    }
    if is_htmx(request):
        return render(request, "posts/_flag_form.html", ctx)
    return render(request, "comments/report.html", ctx)


@router.post("/comments/{comment_id}/flags", name="flag_comment")
async def flag_comment(
    request: Request, db: SessionDep, user: CurrentUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_view(db, user, comment_id)
    post = await get_post_for_interaction(db, user, comment.post_id)
    back = request.app.url_path_for("show_post", post_id=comment.post_id) + links.one_comment(
        comment_id
    )
    return await submit_flag(request, db, user, post, comment, back)
