"""Administration `/admin` (admins): the unit tree and the users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.deps import AdminUser, SessionDep
from app.models import OrgUnit, User
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/admin", name="admin")
async def admin(request: Request, db: SessionDep, user: AdminUser) -> Response:
    units = (await db.exec(select(OrgUnit).order_by(col(OrgUnit.code)))).all()
    users = (
        await db.exec(
            select(User, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
            .order_by(col(User.code))
            .limit(200)
        )
    ).all()
    return render(request, "admin/index.html", {"units": units, "users": users})
