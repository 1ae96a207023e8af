"""`/notifications`: the list (unread first), mark one or all read, open one, and the
e-mail digest preference. HTMX swaps in place; every form also works without JavaScript."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.db import end_read
from app.deps import CurrentUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.models import DigestFrequency
from app.models.tables import users
from app.routes.auth import safe_next
from app.services import notifications
from app.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30


async def _list_context(
    db: SessionDep, user: CurrentUser, cursor: str | None = None
) -> dict[str, object]:
    items, next_cursor = await notifications.list_for(db, user, cursor=cursor, limit=PAGE_SIZE)
    assert user.id is not None
    unread = await notifications.unread_count(db, user.id)
    return {
        "items": items,
        "next_cursor": next_cursor,
        "unread": unread,
        "bell": notifications.bell_text(unread),
        "digest_choices": [d.value for d in DigestFrequency],
        "digest": user.digest,
    }


@router.get("/notifications", name="list_notifications")
async def list_notifications(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return render(request, "notifications/index.html", await _list_context(db, user, cursor))


@router.post("/notifications/read", name="read_all_notifications")
async def read_all_notifications(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    await notifications.mark_read(db, user, None)
    if not is_htmx(request):
        return RedirectResponse(request.app.url_path_for("list_notifications"), 303)
    return render(request, "notifications/_list.html", await _list_context(db, user))


@router.post("/notifications/digest", name="set_digest")
async def set_digest(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    """Save the digest choice; used from /notifications and /settings (`next` says which)."""
    form = await request.form()
    choice = form.get("digest")
    if choice not in {d.value for d in DigestFrequency}:
        ctx = await _list_context(db, user)
        ctx["digest_error"] = _("Choose how often to receive the digest.")
        return render(request, "notifications/_digest.html", ctx, status_code=422)
    await db.execute(sa.update(users).where(users.c.id == user.id).values(digest=choice))
    await db.commit()
    user.digest = str(choice)
    if not is_htmx(request):
        back = form.get("next")
        return RedirectResponse(
            safe_next(back if isinstance(back, str) else None)
            if back
            else request.app.url_path_for("list_notifications"),
            303,
        )
    ctx = await _list_context(db, user)
    ctx["saved"] = True
    return render(request, "notifications/_digest.html", ctx)


@router.post("/notifications/{notification_id}/read", name="read_notification")
async def read_notification(
    request: Request, db: SessionDep, user: CurrentUser, notification_id: PathId
) -> Response:
    await notifications.get_for(db, user, notification_id)  # 404 unless it is the user's
    await notifications.mark_read(db, user, [notification_id])
    if not is_htmx(request):
        return RedirectResponse(request.app.url_path_for("list_notifications"), 303)
    item = await notifications.get_for(db, user, notification_id)
    assert user.id is not None
    unread = await notifications.unread_count(db, user.id)
    return render(
        request,
        "notifications/_item.html",
        {"n": item, "bell": notifications.bell_text(unread), "oob_bell": True},
    )


@router.get("/notifications/{notification_id}", name="open_notification")
async def open_notification(
    request: Request, db: SessionDep, user: CurrentUser, notification_id: PathId
) -> Response:
    """Following a notification marks it read and leads to what it is about."""
    item = await notifications.get_for(db, user, notification_id)
    if item.unread:
        await end_read(db)
        await notifications.mark_read(db, user, [notification_id])
    target = item.target
    url = (
        request.app.url_path_for(target[0], **target[1])
        if target
        else request.app.url_path_for("list_notifications")
    )
    return RedirectResponse(str(url), 303)
