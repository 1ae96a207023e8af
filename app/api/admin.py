"""Administration over JSON (admins only): units, users, their sessions and API tokens.

Shapes extend SPEC §4's unit and user with `active` and a few admin fields. Errors: 403 for
staff and curators, 404 for an unknown code or id, 409 for a clash with the current state
(duplicate code, deactivating yourself or a unit still in use), 422 with FastAPI's `detail`
list for bad input. A PATCH changes only the fields it carries, all of them or none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict

from app.api import account as account_api
from app.api.docs import conflict
from app.api.schemas import CODE_MAX, Code, Page, UnitRef, text
from app.deps import AdminUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.models import OrgUnit, Role, UnitKind, User
from app.services.people import directory, rules
from app.services.people import tokens as token_service
from app.services.people import units as unit_service
from app.services.people import users as user_service
from app.services.people.directory import UserFilters
from app.services.people.scopes import scope_codes
from app.services.people.tokens import TokenView
from app.services.people.units import UnitNode

router = APIRouter(tags=["admin"])

RoleName = Literal["staff", "curator", "admin"]
KindName = Literal["company", "region", "branch", "shop", "department"]
assert set(RoleName.__args__) == {r.value for r in Role}  # type: ignore[attr-defined]
assert set(KindName.__args__) == {k.value for k in UnitKind}  # type: ignore[attr-defined]


class AdminUnit(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent: str | None
    active: bool
    depth: int
    users: int  # active users of the unit itself
    posts: int  # posts of the unit itself (deleted ones not counted)
    total_users: int  # with the units below
    total_posts: int


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[Code, text(CODE_MAX, 1)]
    name: Annotated[str, text(rules.NAME_MAX, 1)]
    kind: KindName
    parent: Code | None = None


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(rules.NAME_MAX, 1)] | None = None
    kind: KindName | None = None
    parent: Code | None = None
    active: bool | None = None


class AdminUserPublic(BaseModel):
    id: int
    code: str
    name: str
    email: str | None
    role: str
    locale: str
    unit: UnitRef
    scope: str | None  # a curator's scope: the code of the unit whose subtree they oversee
    active: bool
    must_change_password: bool
    has_password: bool
    sso: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[Code, text(CODE_MAX, 1)]
    name: Annotated[str, text(rules.NAME_MAX, 1)]
    email: Annotated[str, text(rules.EMAIL_MAX)] | None = None
    unit: Code
    role: RoleName = "staff"
    scope: Code | None = None  # curators only: the unit (code) whose subtree they oversee
    one_time_password: bool = False  # answer a generated password, to be changed at login


class UserCreated(AdminUserPublic):
    one_time_password: str | None = None  # shown this once


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(rules.NAME_MAX, 1)] | None = None
    email: Annotated[str, text(rules.EMAIL_MAX)] | None = None
    role: RoleName | None = None
    unit: Code | None = None
    scope: Code | None = None  # null: no scope (a curator who oversees everything)
    active: bool | None = None


class OneTimePassword(BaseModel):
    user: AdminUserPublic
    one_time_password: str


class AccessRevoked(BaseModel):
    sessions_ended: int
    tokens_revoked: int


class AdminTokenPublic(account_api.TokenPublic):
    """A token as an administrator sees it (one class per schema name in OpenAPI)."""

    revoked: bool

    @classmethod
    def of(cls, t: TokenView) -> AdminTokenPublic:
        return cls.model_validate(
            {**account_api.TokenPublic.of(t).model_dump(), "revoked": t.revoked_at is not None}
        )


def _unit(node: UnitNode) -> AdminUnit:
    u = node.unit
    assert u.id is not None
    return AdminUnit(
        id=u.id,
        code=u.code,
        name=u.name,
        kind=u.kind,
        parent=node.parent_code,
        active=u.active,
        depth=node.depth,
        users=node.users,
        posts=node.posts,
        total_users=node.total_users,
        total_posts=node.total_posts,
    )


def _user(user: User, unit: OrgUnit, scopes: dict[int, str]) -> AdminUserPublic:
    assert user.id is not None
    return AdminUserPublic(
        id=user.id,
        code=user.code,
        name=user.name,
        email=user.email,
        role=user.role,
        locale=user.locale,
        unit=UnitRef(code=unit.code, name=unit.name),
        scope=scopes.get(user.scope_unit_id) if user.scope_unit_id else None,
        active=user.active,
        must_change_password=user.must_change_password,
        has_password=user.password_hash is not None,
        sso=user.sso_subject is not None,
        created_at=user.created_at,
    )


def _set(body: BaseModel, *names: str) -> dict[str, Any]:
    """Only the fields the client sent (absent means "leave as it is")."""
    return {n: getattr(body, n) for n in names if n in body.model_fields_set}


def _not_null(body: BaseModel, *names: str) -> None:
    for n in names:
        if n in body.model_fields_set and getattr(body, n) is None:
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["body", n],
                        "msg": _("This field cannot be empty."),
                        "type": "value_error",
                    }
                ],
            )


async def _unit_answer(db: SessionDep, code: str) -> AdminUnit:
    tree = await unit_service.unit_tree(db)
    return _unit(tree.by_code[code])


# -- units -----------------------------------------------------------------------------------


@router.get("/admin/units", name="api_admin_units")
async def list_units(db: SessionDep, user: AdminUser) -> Page[AdminUnit]:
    """Every unit, active or not, in tree order (parents first), with counts. One page."""
    tree = await unit_service.unit_tree(db)
    return Page(items=[_unit(n) for n in tree.nodes])


@router.post(
    "/admin/units",
    name="api_create_unit",
    status_code=201,
    responses=conflict("The code is taken."),
)
async def create_unit(db: SessionDep, user: AdminUser, body: UnitCreate) -> AdminUnit:
    """Add a unit under an active parent (`parent` may be empty only for the first unit)."""
    unit = await unit_service.create_unit(
        db, user, code=body.code, name=body.name, kind=body.kind, parent=body.parent or ""
    )
    return await _unit_answer(db, unit.code)


@router.get("/admin/units/{code}", name="api_admin_unit")
async def get_unit(db: SessionDep, user: AdminUser, code: str) -> AdminUnit:
    unit = await unit_service.unit_by_code(db, code)
    return await _unit_answer(db, unit.code)


@router.patch(
    "/admin/units/{code}",
    name="api_update_unit",
    responses=conflict("The unit is still in use, or the unit above it is inactive."),
)
async def update_unit(db: SessionDep, user: AdminUser, code: str, body: UnitUpdate) -> AdminUnit:
    """Rename (`name`, `kind`), move (`parent`: a code), deactivate or reactivate (`active`)."""
    unit = await unit_service.unit_by_code(db, code)
    _not_null(body, "name", "kind", "active")
    await unit_service.update_unit(db, user, unit, **_set(body, "name", "kind", "parent", "active"))
    return await _unit_answer(db, unit.code)


# -- users -----------------------------------------------------------------------------------


@router.get("/admin/users", name="api_admin_users")
async def list_users(
    db: SessionDep,
    user: AdminUser,
    q: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str, Query(max_length=32)] = "",
    role: RoleName | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AdminUserPublic]:
    """Users by employee number: `q` (number prefix or name substring), `unit` (code, with
    the units below), `role`, `active`."""
    filters = UserFilters(
        q=q,
        unit=unit.strip(),
        role=role or "",
        active="" if active is None else ("active" if active else "inactive"),
    )
    rows, next_cursor = await directory.list_users(db, filters, cursor=cursor, limit=limit)
    scopes = await scope_codes(db, (u.scope_unit_id for u, _un in rows))
    return Page(items=[_user(u, un, scopes) for u, un in rows], next_cursor=next_cursor)


async def _user_answer(db: SessionDep, code: str) -> AdminUserPublic:
    user, unit = await directory.get_user(db, code)
    return _user(user, unit, await scope_codes(db, (user.scope_unit_id,)))


@router.post(
    "/admin/users",
    name="api_create_user",
    status_code=201,
    responses=conflict("The code is taken, or passwords are off (single sign-on only)."),
)
async def create_user(db: SessionDep, user: AdminUser, body: UserCreate) -> UserCreated:
    created, password = await user_service.add_by_admin(
        db,
        user,
        code=body.code,
        name=body.name,
        email=body.email or "",
        unit=body.unit,
        role=body.role,
        one_time_password=body.one_time_password,
        scope=body.scope,
    )
    found = await _user_answer(db, created.code)
    return UserCreated(**found.model_dump(), one_time_password=password)


@router.get("/admin/users/{code}", name="api_admin_user")
async def get_user(db: SessionDep, user: AdminUser, code: str) -> AdminUserPublic:
    return await _user_answer(db, code)


@router.patch(
    "/admin/users/{code}",
    name="api_update_user",
    responses=conflict("Not on yourself (role, deactivation), or the unit is inactive."),
)
async def update_user(
    db: SessionDep, user: AdminUser, code: str, body: UserUpdate
) -> AdminUserPublic:
    """Change `name`, `email` (null clears it), `role`, `unit` (code), `scope` (a curator's
    unit code; null clears it), `active`.

    Deactivating ends the user's sessions and API tokens at once. You cannot deactivate
    yourself or take the admin role from yourself (409). A scope on anyone but a curator is
    422; a curator made staff or admin loses their scope.
    """
    target, _unit_row = await directory.get_user(db, code)
    _not_null(body, "name", "role", "unit", "active")
    await user_service.update_user(
        db, user, target, **_set(body, "name", "email", "role", "unit", "scope", "active")
    )
    return await _user_answer(db, code)


@router.post(
    "/admin/users/{code}/password",
    name="api_reset_user_password",
    responses=conflict("Not your own, or passwords are off (single sign-on only)."),
)
async def reset_user_password(db: SessionDep, user: AdminUser, code: str) -> OneTimePassword:
    """Set a random one-time password, answered only here; the user must change it first.

    The user's browser sessions end; API tokens stay (see revoke-access).
    """
    target, _unit_row = await directory.get_user(db, code)
    password = await user_service.set_one_time_password(db, user, target)
    return OneTimePassword(user=await _user_answer(db, code), one_time_password=password)


@router.post(
    "/admin/users/{code}/revoke-access",
    name="api_revoke_user_access",
    responses=conflict("Not your own: log out instead."),
)
async def revoke_user_access(db: SessionDep, user: AdminUser, code: str) -> AccessRevoked:
    """End every session and revoke every API token of the user."""
    target, _unit_row = await directory.get_user(db, code)
    sessions, tokens = await user_service.revoke_access(db, user, target)
    return AccessRevoked(sessions_ended=sessions, tokens_revoked=tokens)


@router.get("/admin/users/{code}/tokens", name="api_user_tokens")
async def list_user_tokens(db: SessionDep, user: AdminUser, code: str) -> Page[AdminTokenPublic]:
    """The user's API tokens, newest first, revoked and expired ones included."""
    target, _unit_row = await directory.get_user(db, code)
    return Page(items=[AdminTokenPublic.of(t) for t in await token_service.list_tokens(db, target)])


@router.delete("/admin/tokens/{token_id}", name="api_admin_revoke_token", status_code=204)
async def revoke_token(db: SessionDep, user: AdminUser, token_id: PathId) -> Response:
    """Revoke anyone's API token (204; again is a no-op)."""
    found = await token_service.get_token(db, token_id)
    await token_service.revoke_token(db, *found, actor=user)
    return Response(status_code=204)
