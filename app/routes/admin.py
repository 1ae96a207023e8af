"""Administration `/admin` (admins): the overview, the unit tree and the users.

Every change works two ways. With HTMX the form swaps its panel (`_units.html`,
`_unit_panel.html`, `_user_panel.html`) with a status message or the field errors. Without
JavaScript it is a plain form: success redirects to the page with `?done=...` (a message),
an error renders the page again (422 / 409) with the message next to the field and what
was typed kept. A one-time password is never put in a URL: that answer is rendered directly.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound

from app.config import get_settings
from app.deps import AdminUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.labels import role_labels, unit_kind_labels
from app.models import OrgUnit, Role, User
from app.services.errors import Conflict, InvalidInput
from app.services.ocr import status as image_check
from app.services.people import directory
from app.services.people import tokens as token_service
from app.services.people import units as unit_service
from app.services.people import users as user_service
from app.services.people.directory import UserFilters
from app.storage import upload_disk_space
from app.templating import is_htmx
from app.templating import render as render_page

router = APIRouter(include_in_schema=False)

UNIT_FIELDS = ("code", "name", "kind", "parent")
USER_FIELDS = ("code", "name", "email", "unit", "role")


def unit_done_messages() -> dict[str, str]:
    return {
        "created": _("The unit was added."),
        "renamed": _("The unit was saved."),
        "moved": _("The unit was moved."),
        "deactivated": _("The unit was deactivated."),
        "reactivated": _("The unit was reactivated."),
    }


def user_done_messages() -> dict[str, str]:
    return {
        "created": _("The user was added."),
        "details": _("The details were saved."),
        "role": _("The role was changed."),
        "unit": _("The unit was changed."),
        "scope": _("The scope was changed."),
        "deactivated": _("The user was deactivated; their sessions and API tokens have ended."),
        "reactivated": _("The user was reactivated. Old sessions stay ended: they log in again."),
        "access": _("All sessions and API tokens of this user have ended."),
        "token": _("The API token was revoked."),
    }


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _failure(exc: InvalidInput | Conflict) -> tuple[dict[str, str], int]:
    if isinstance(exc, Conflict):
        return {exc.field: exc.message}, 409
    return exc.by_field(), 422


def import_url(request: Request) -> str:
    """The CSV import page (another module's); its plain path until that route exists."""
    try:
        return str(request.app.url_path_for("admin_import"))
    except NoMatchFound:
        return "/admin/import"


def render(
    request: Request, template: str, ctx: dict[str, Any], *, status_code: int = 200, **kw: Any
) -> Response:
    """Render with what every admin page needs (the sub-navigation's import link)."""
    return render_page(
        request, template, {"import_url": import_url(request), **ctx}, status_code=status_code, **kw
    )


def _redirect(url: str, done: str, anchor: str = "") -> Response:
    return RedirectResponse(f"{url}?{urlencode({'done': done})}{anchor}", status_code=303)


# -- overview --------------------------------------------------------------------------------


@router.get("/admin", name="admin")
async def admin_home(request: Request, db: SessionDep, user: AdminUser) -> Response:
    return render(
        request,
        "admin/index.html",
        {
            "stats": await directory.overview(db),
            "role_labels": role_labels(),
            "upload_space": await anyio.to_thread.run_sync(upload_disk_space),
            "image_check": await image_check.overview(db, get_settings().tesseract_cmd),
        },
    )


# -- units -----------------------------------------------------------------------------------


async def _units_context(
    db: SessionDep,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str | None = None,
    added: str | None = None,
) -> dict[str, Any]:
    tree = await unit_service.unit_tree(db)
    return {
        "tree": tree,
        "values": values or dict.fromkeys(UNIT_FIELDS, ""),
        "errors": errors or {},
        "done": done,
        "added": added,
        "kind_labels": unit_kind_labels(),
    }


@router.get("/admin/units", name="admin_units")
async def admin_units(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    done: Annotated[str | None, Query(max_length=20)] = None,
    unit: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The unit tree with counts, and the form to add a unit."""
    message = unit_done_messages().get(done or "")
    ctx = await _units_context(db, done=message, added=unit if message else None)
    return render(request, "admin/units.html", ctx)


@router.post("/admin/units", name="create_unit")
async def create_unit(request: Request, db: SessionDep, user: AdminUser) -> Response:
    form = await _form(request)
    values = {k: form.get(k, "") for k in UNIT_FIELDS}
    try:
        unit = await unit_service.create_unit(db, user, **values)
    except (InvalidInput, Conflict) as exc:
        errors, status = _failure(exc)
        ctx = await _units_context(db, values=values, errors=errors)
        template = "admin/_units.html" if is_htmx(request) else "admin/units.html"
        return render(request, template, ctx, status_code=status)
    if is_htmx(request):
        ctx = await _units_context(db, done=unit_done_messages()["created"], added=unit.code)
        return render(request, "admin/_units.html", ctx, status_code=201)
    url = str(request.app.url_path_for("admin_units"))
    return RedirectResponse(
        f"{url}?{urlencode({'done': 'created', 'unit': unit.code})}#unit-{unit.code}", 303
    )


async def _unit_response(
    request: Request,
    db: SessionDep,
    unit: OrgUnit,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str | None = None,
    status: int = 200,
) -> Response:
    tree = await unit_service.unit_tree(db)
    node = tree.by_code[unit.code]
    ctx = {
        "node": node,
        "unit": unit,
        "parent_options": tree.options(exclude=tree.subtree_codes(unit.code)),
        "values": values or {},
        "errors": errors or {},
        "done": done,
        "kind_labels": unit_kind_labels(),
    }
    template = "admin/_unit_panel.html" if is_htmx(request) else "admin/unit.html"
    return render(request, template, ctx, status_code=status)


@router.get("/admin/units/{code}", name="show_admin_unit")
async def show_admin_unit(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    code: str,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One unit: rename, change kind, move, deactivate or reactivate."""
    unit = await unit_service.unit_by_code(db, code)
    return await _unit_response(request, db, unit, done=unit_done_messages().get(done or ""))


async def _unit_change(
    request: Request,
    db: SessionDep,
    user: User,
    code: str,
    done: str,
    *,
    from_form: tuple[str, ...] = (),
    **change: Any,
) -> Response:
    unit = await unit_service.unit_by_code(db, code)
    form = await _form(request)
    values = {k: form.get(k, "") for k in ("name", "kind", "parent")}
    kw: dict[str, Any] = {k: values[k] for k in from_form}
    try:
        await unit_service.update_unit(db, user, unit, **kw, **change)
    except (InvalidInput, Conflict) as exc:
        await db.refresh(unit)
        errors, status = _failure(exc)
        return await _unit_response(request, db, unit, values=values, errors=errors, status=status)
    if is_htmx(request):
        return await _unit_response(request, db, unit, done=unit_done_messages()[done])
    return _redirect(str(request.app.url_path_for("show_admin_unit", code=unit.code)), done)


@router.post("/admin/units/{code}/rename", name="rename_unit")
async def rename_unit(request: Request, db: SessionDep, user: AdminUser, code: str) -> Response:
    """Change the unit's name and kind (the code stays: it is in CSV files and URLs)."""
    return await _unit_change(request, db, user, code, "renamed", from_form=("name", "kind"))


@router.post("/admin/units/{code}/move", name="move_unit")
async def move_unit(request: Request, db: SessionDep, user: AdminUser, code: str) -> Response:
    return await _unit_change(request, db, user, code, "moved", from_form=("parent",))


@router.post("/admin/units/{code}/deactivate", name="deactivate_unit")
async def deactivate_unit(request: Request, db: SessionDep, user: AdminUser, code: str) -> Response:
    return await _unit_change(request, db, user, code, "deactivated", active=False)


@router.post("/admin/units/{code}/reactivate", name="reactivate_unit")
async def reactivate_unit(request: Request, db: SessionDep, user: AdminUser, code: str) -> Response:
    return await _unit_change(request, db, user, code, "reactivated", active=True)


# -- users -----------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    db: SessionDep,
    filters: UserFilters,
    *,
    cursor: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    filter_error = None
    try:
        rows, next_cursor = await directory.list_users(db, filters, cursor=cursor)
        total = await directory.count_users(db, filters)
    except InvalidInput as exc:
        filter_error = next(iter(exc.by_field().values()), "")
        rows, next_cursor, total = [], None, 0
        status = 422 if status == 200 else status
    base = str(request.app.url_path_for("admin_users"))
    params = filters.query_params()
    tree = await unit_service.unit_tree(db, counts=False)
    return render(
        request,
        "admin/users.html",
        {
            "rows": rows,
            "total": total,
            "filters": filters,
            "filter_error": filter_error,
            "next_url": f"{base}?{urlencode({**params, 'cursor': next_cursor})}"
            if next_cursor
            else None,
            "first_url": f"{base}?{urlencode(params)}" if cursor else None,
            "tree": tree,
            "values": values or {"role": Role.staff},
            "errors": errors or {},
            "role_labels": role_labels(),
        },
        status_code=status,
    )


@router.get("/admin/users", name="admin_users")
async def admin_users(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    q: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str, Query(max_length=32)] = "",
    role: Annotated[str, Query(max_length=16)] = "",
    active: Annotated[str, Query(max_length=16)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Search (number prefix or name), filter by unit subtree, role and state; 50 a page."""
    return await _users_page(request, db, UserFilters.of(q, unit, role, active), cursor=cursor)


@router.post("/admin/users", name="create_user")
async def create_user(request: Request, db: SessionDep, user: AdminUser) -> Response:
    form = await _form(request)
    values = {k: form.get(k, "") for k in USER_FIELDS}
    otp = form.get("one_time_password") == "on"
    values["one_time_password"] = "on" if otp else ""
    try:
        created, password = await user_service.add_by_admin(
            db,
            user,
            code=values["code"],
            name=values["name"],
            email=values["email"],
            unit=values["unit"],
            role=values["role"],
            one_time_password=otp,
        )
    except (InvalidInput, Conflict) as exc:
        errors, status = _failure(exc)
        return await _users_page(
            request, db, UserFilters(), values=values, errors=errors, status=status
        )
    if password is None:
        return _redirect(
            str(request.app.url_path_for("show_admin_user", code=created.code)), "created"
        )
    return await _user_response(
        request, db, created, done=user_done_messages()["created"], password=password, full=True
    )


async def _user_response(
    request: Request,
    db: SessionDep,
    target: User,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str | None = None,
    password: str | None = None,
    status: int = 200,
    full: bool = False,
) -> Response:
    user, unit = await directory.get_user(db, target.code)
    tree = await unit_service.unit_tree(db, counts=False)
    tokens = await token_service.list_tokens(db, user)
    ctx = {
        "user": user,
        "unit": unit,
        "scope": next((n.unit for n in tree.nodes if n.unit.id == user.scope_unit_id), None),
        "tree": tree,
        "tokens": tokens,
        "values": values or {},
        "errors": errors or {},
        "done": done,
        "password": password,
        "is_self": user.id == getattr(request.state.user, "id", None),
        "role_labels": role_labels(),
    }
    template = "admin/_user_panel.html" if is_htmx(request) and not full else "admin/user.html"
    headers = {"Cache-Control": "no-store"} if password else None
    return render(request, template, ctx, status_code=status, headers=headers)


@router.get("/admin/users/{code}", name="show_admin_user")
async def show_admin_user(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    code: str,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One user: details, role, unit, active state, one-time password, sessions and tokens."""
    target = (await directory.get_user(db, code))[0]
    return await _user_response(request, db, target, done=user_done_messages().get(done or ""))


async def _user_change(
    request: Request,
    db: SessionDep,
    actor: User,
    code: str,
    done: str,
    *,
    from_form: tuple[str, ...] = (),
    **change: Any,
) -> Response:
    target = (await directory.get_user(db, code))[0]
    form = await _form(request)
    values = {k: form.get(k, "") for k in ("name", "email", "role", "unit", "scope")}
    kw: dict[str, Any] = {k: values[k] for k in from_form}
    try:
        await user_service.update_user(db, actor, target, **kw, **change)
    except (InvalidInput, Conflict) as exc:
        await db.refresh(target)
        errors, status = _failure(exc)
        return await _user_response(
            request, db, target, values=values, errors=errors, status=status
        )
    if is_htmx(request):
        return await _user_response(request, db, target, done=user_done_messages()[done])
    return _redirect(str(request.app.url_path_for("show_admin_user", code=target.code)), done)


@router.post("/admin/users/{code}/details", name="update_user_details")
async def update_user_details(
    request: Request, db: SessionDep, user: AdminUser, code: str
) -> Response:
    return await _user_change(request, db, user, code, "details", from_form=("name", "email"))


@router.post("/admin/users/{code}/role", name="change_user_role")
async def change_user_role(
    request: Request, db: SessionDep, user: AdminUser, code: str
) -> Response:
    return await _user_change(request, db, user, code, "role", from_form=("role",))


@router.post("/admin/users/{code}/unit", name="change_user_unit")
async def change_user_unit(
    request: Request, db: SessionDep, user: AdminUser, code: str
) -> Response:
    return await _user_change(request, db, user, code, "unit", from_form=("unit",))


@router.post("/admin/users/{code}/scope", name="change_user_scope")
async def change_user_scope(
    request: Request, db: SessionDep, user: AdminUser, code: str
) -> Response:
    """A curator's scope: a unit whose subtree they oversee ("" for the whole company)."""
    return await _user_change(request, db, user, code, "scope", from_form=("scope",))


@router.post("/admin/users/{code}/deactivate", name="deactivate_user")
async def deactivate_user(request: Request, db: SessionDep, user: AdminUser, code: str) -> Response:
    return await _user_change(request, db, user, code, "deactivated", active=False)


@router.post("/admin/users/{code}/reactivate", name="reactivate_user")
async def reactivate_user(request: Request, db: SessionDep, user: AdminUser, code: str) -> Response:
    return await _user_change(request, db, user, code, "reactivated", active=True)


@router.post("/admin/users/{code}/password", name="reset_user_password")
async def reset_user_password(
    request: Request, db: SessionDep, user: AdminUser, code: str
) -> Response:
    """Set a random one-time password and show it once (never in a URL, never stored plain)."""
    target = (await directory.get_user(db, code))[0]
    try:
        password = await user_service.set_one_time_password(db, user, target)
    except Conflict as exc:
        errors, status = _failure(exc)
        return await _user_response(request, db, target, errors=errors, status=status)
    return await _user_response(request, db, target, password=password)


@router.post("/admin/users/{code}/revoke-access", name="revoke_user_access")
async def revoke_user_access(
    request: Request, db: SessionDep, user: AdminUser, code: str
) -> Response:
    target = (await directory.get_user(db, code))[0]
    try:
        await user_service.revoke_access(db, user, target)
    except Conflict as exc:
        errors, status = _failure(exc)
        return await _user_response(request, db, target, errors=errors, status=status)
    if is_htmx(request):
        return await _user_response(request, db, target, done=user_done_messages()["access"])
    return _redirect(str(request.app.url_path_for("show_admin_user", code=target.code)), "access")


@router.post("/admin/tokens/{token_id}/revoke", name="revoke_user_token")
async def revoke_user_token(
    request: Request, db: SessionDep, user: AdminUser, token_id: PathId
) -> Response:
    token, owner = await token_service.get_token(db, token_id)
    await token_service.revoke_token(db, token, owner, actor=user)
    if is_htmx(request):
        return await _user_response(request, db, owner, done=user_done_messages()["token"])
    url = str(request.app.url_path_for("show_admin_user", code=owner.code))
    return _redirect(url, "token", "#tokens")
