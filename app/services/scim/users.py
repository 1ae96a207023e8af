"""The SCIM user operations, in the board's terms: every change goes through people/users.py
(`check_new_user` + `create_user`, `update_user`), so the rules and the audit log are the
same as for the admin pages; the audit rows carry the reason "SCIM"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from scim2_models import Context, Email, PatchOp, SCIMException
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import OrgUnit, Role, User
from app.services import audit
from app.services.errors import DomainError, InvalidInput, NotFound
from app.services.people import users as user_service
from app.services.people.rules import Actions
from app.services.people.users import user_snapshot
from app.services.scim import filters
from app.services.scim.errors import PreconditionFailed, ScimBadRequest
from app.services.scim.resources import (
    DEFAULT_COUNT,
    MAX_RESULTS,
    ScimUser,
    department_of,
    email_of,
    name_of,
    to_resource,
)

REASON = "SCIM"
EXTERNAL_ID_MAX = 255

Locate = Callable[[int], str]  # user id -> the resource's URL


@dataclass(frozen=True)
class Page:
    total: int
    start_index: int
    resources: list[ScimUser]


def _resource(user: User, unit: OrgUnit, locate: Locate) -> ScimUser:
    assert user.id is not None
    return to_resource(
        user_id=user.id,
        external_id=user.scim_external_id,
        code=user.code,
        name=user.name,
        email=user.email,
        active=user.active,
        unit_code=unit.code,
        created=user.created_at,
        location=locate(user.id),
    )


_USERS = select(User, OrgUnit).join(OrgUnit, col(OrgUnit.id) == User.unit_id)


async def list_users(
    db: AsyncSession,
    locate: Locate,
    *,
    filter_text: str | None,
    start_index: int,
    count: int | None,
) -> Page:
    """One page of users (1-based startIndex, RFC 7644 §3.4.2.4), in id order."""
    start_index = max(start_index, 1)
    count = DEFAULT_COUNT if count is None else min(max(count, 0), MAX_RESULTS)
    condition = filters.where(filter_text) if filter_text else sa.true()
    total = (
        await db.execute(
            sa.select(sa.func.count())
            .select_from(User)
            .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
            .where(condition)
        )
    ).scalar_one()
    rows = (
        await db.exec(
            _USERS.where(condition).order_by(col(User.id)).offset(start_index - 1).limit(count)
        )
    ).all()
    return Page(total, start_index, [_resource(u, unit, locate) for u, unit in rows])


async def _get(db: AsyncSession, resource_id: str) -> tuple[User, OrgUnit]:
    row = None
    if resource_id.isascii() and resource_id.isdigit() and len(resource_id) < 19:
        row = (
            await db.exec(
                _USERS.where(col(User.id) == int(resource_id)).execution_options(
                    populate_existing=True
                )
            )
        ).first()
    if row is None:
        raise NotFound(_("There is no such user."))
    return row[0], row[1]


async def get_user(db: AsyncSession, locate: Locate, resource_id: str) -> ScimUser:
    user, unit = await _get(db, resource_id)
    return _resource(user, unit, locate)


def _check_version(current: ScimUser, if_match: str | None) -> None:
    if not if_match or if_match.strip() == "*":
        return
    assert current.meta is not None
    wanted = {v.strip() for v in if_match.split(",")}
    have = current.meta.version or ""
    if have not in wanted and have.removeprefix("W/") not in wanted:
        raise PreconditionFailed(_("The user has changed since you read it (ETag)."))


def _needed(value: str | None, field: str, message: str) -> str:
    if not value:
        raise ScimBadRequest(message, "invalidValue")
    return value


def _scim_value(exc: InvalidInput) -> ScimBadRequest:
    """A field the board's rules refuse, said as SCIM's invalidValue (400)."""
    names = {"code": "userName", "name": "displayName", "email": "emails", "unit": "department"}
    parts = []
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        attr = names.get(loc[0], loc[0]) if loc else ""
        parts.append(f"{attr}: {error.get('msg')}" if attr else str(error.get("msg")))
    return ScimBadRequest("; ".join(parts), "invalidValue")


async def create_user(db: AsyncSession, actor: User, locate: Locate, res: ScimUser) -> ScimUser:
    """A new staff member from the identity provider; an inactive one is created deactivated."""
    code = _needed((res.user_name or "").strip(), "userName", _("userName is required."))
    name = name_of(res) or code
    email = email_of(res) or ""
    unit_code = _needed(
        department_of(res),
        "department",
        _("The unit (enterprise extension's department, the unit code) is required."),
    )
    try:
        unit, _scope = await user_service.check_new_user(
            db, code=code, name=name, email=email, unit=unit_code, role=Role.staff
        )
    except InvalidInput as exc:
        raise _scim_value(exc) from exc

    def record(user: User) -> None:
        user.scim_external_id = _external_id(res)
        after = user_snapshot(user, unit.code)
        audit.record(db, actor, Actions.user_create, "user", user.id, reason=REASON, after=after)

    user = await user_service.create_user(
        db, code=code, name=name, email=email, unit=unit, role=Role.staff, record=record
    )
    if res.active is False:
        user = await _update(db, actor, user, active=False)
    return _resource(user, unit, locate)


def _external_id(res: ScimUser) -> str | None:
    value = (res.external_id or "").strip()
    if len(value) > EXTERNAL_ID_MAX:
        raise ScimBadRequest(
            _("externalId can be at most %(n)s characters.") % {"n": EXTERNAL_ID_MAX},
            "invalidValue",
        )
    return value or None


async def _update(db: AsyncSession, actor: User, user: User, **changes: Any) -> User:
    try:
        return await user_service.update_user(db, actor, user, reason=REASON, **changes)
    except InvalidInput as exc:
        await db.rollback()  # nothing written, the externalId set before included
        raise _scim_value(exc) from exc
    except DomainError:
        await db.rollback()
        raise


async def _apply(
    db: AsyncSession, actor: User, user: User, unit: OrgUnit, res: ScimUser, locate: Locate
) -> ScimUser:
    """Write what a (replaced or patched) resource says; a userName that is not the
    employee number cannot change it (400 mutability)."""
    if res.user_name is not None and res.user_name.strip() != user.code:
        raise ScimBadRequest(_("The employee number (userName) cannot be changed."), "mutability")
    user.scim_external_id = _external_id(res)
    changes: dict[str, Any] = {"email": email_of(res) or ""}
    if (name := name_of(res)) is not None:
        changes["name"] = name
    if (unit_code := department_of(res)) is not None:
        changes["unit"] = unit_code
    if res.active is not None:
        changes["active"] = res.active
    user = await _update(db, actor, user, **changes)
    fresh = await db.get(OrgUnit, user.unit_id, populate_existing=True)
    assert fresh is not None
    return _resource(user, fresh, locate)


async def replace_user(
    db: AsyncSession,
    actor: User,
    locate: Locate,
    resource_id: str,
    res: ScimUser,
    if_match: str | None = None,
) -> ScimUser:
    """PUT: the resource as sent (attributes left out are cleared where the board allows)."""
    user, unit = await _get(db, resource_id)
    _check_version(_resource(user, unit, locate), if_match)
    return await _apply(db, actor, user, unit, res, locate)


async def patch_user(
    db: AsyncSession,
    actor: User,
    locate: Locate,
    resource_id: str,
    body: dict[str, Any],
    if_match: str | None = None,
) -> ScimUser:
    """PATCH as Entra ID and Okta send it: operations applied by scim2-models to the
    current resource, then the result written like a PUT."""
    user, unit = await _get(db, resource_id)
    current = _resource(user, unit, locate)
    _check_version(current, if_match)
    # The one e-mail is the primary, work one: `emails[type eq "work"].value` finds it.
    current.emails = [Email(value=email_of(current), type="work", primary=True)]
    try:
        patch = PatchOp[ScimUser].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        patch.patch(current)
    except SCIMException as exc:
        raise ScimBadRequest(str(exc), getattr(exc, "scim_type", None) or "invalidValue") from exc
    except ValidationError as exc:
        raise ScimBadRequest(_scim_validation_message(exc), "invalidValue") from exc
    return await _apply(db, actor, user, unit, current, locate)


def _scim_validation_message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
    )


async def deactivate_user(
    db: AsyncSession, actor: User, locate: Locate, resource_id: str, if_match: str | None = None
) -> None:
    """DELETE: the board never deletes a person (what they wrote stays); they are
    deactivated, which ends their sessions and tokens."""
    user, unit = await _get(db, resource_id)
    _check_version(_resource(user, unit, locate), if_match)
    await _update(db, actor, user, active=False)
