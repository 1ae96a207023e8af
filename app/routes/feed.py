"""The portal feed `/`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.deps import CurrentUser, SessionDep
from app.models import OrgUnit, Post, PostStatus, User
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="feed")
async def feed(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    rows = (
        await db.exec(
            select(Post, User, OrgUnit)
            .join(User, col(User.id) == Post.author_id)
            .join(OrgUnit, col(OrgUnit.id) == Post.unit_id)
            .where(Post.status == PostStatus.published.value)
            .order_by(col(Post.created_at).desc(), col(Post.id).desc())
            .limit(20)
        )
    ).all()
    return render(request, "feed/index.html", {"rows": rows})
