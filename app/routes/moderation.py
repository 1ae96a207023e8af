"""Head office moderation `/moderation` (curators): recent posts; the queue grows with flags."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.deps import CuratorUser, SessionDep
from app.models import OrgUnit, Post, User
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/moderation", name="moderation")
async def moderation(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    rows = (
        await db.exec(
            select(Post, User, OrgUnit)
            .join(User, col(User.id) == Post.author_id)
            .join(OrgUnit, col(OrgUnit.id) == Post.unit_id)
            .order_by(col(Post.created_at).desc(), col(Post.id).desc())
            .limit(50)
        )
    ).all()
    return render(request, "moderation/index.html", {"rows": rows})
