"""The caller and the directory: `/me`, `/units`, `/users`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from app.api.schemas import Page, UnitPublic, UserPublic
from app.deps import CurrentUser, SessionDep
from app.models import OrgUnit
from app.services.people import directory

router = APIRouter(tags=["directory"])


@router.get("/me", name="api_me")
async def me(db: SessionDep, user: CurrentUser) -> UserPublic:
    unit = await db.get(OrgUnit, user.unit_id)
    assert unit is not None
    return UserPublic.of(user, unit)


@router.get("/units", name="api_units")
async def list_units(db: SessionDep, user: CurrentUser) -> Page[UnitPublic]:
    parent = aliased(OrgUnit)
    rows = (
        await db.exec(
            select(OrgUnit, parent.code)
            .outerjoin(parent, col(parent.id) == OrgUnit.parent_id)
            .where(col(OrgUnit.active).is_(True))
            .order_by(col(OrgUnit.code))
        )
    ).all()
    return Page(
        items=[UnitPublic(code=u.code, name=u.name, kind=u.kind, parent=p) for u, p in rows]
    )


@router.get("/users", name="api_users")
async def list_users(
    db: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[UserPublic]:
    rows = await directory.directory(db, q, limit)
    return Page(items=[UserPublic.of(u, unit) for u, unit in rows])
