"""`/admin/integrations` (admins): outgoing integrations — add one, change it, switch it
off, remove it, and see the last delivery given up on. Secrets are never shown (only
"set" / "not set"); leaving a secret's field empty keeps it. Plain forms: success
redirects with `?done=...`, an error renders the form again (422) with what was typed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import AdminUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.routes.admin import render
from app.services.errors import InvalidInput
from app.services.integrations import config
from app.services.integrations.registry import KINDS

router = APIRouter(include_in_schema=False)


def _done_messages() -> dict[str, str]:
    return {
        "created": _("The integration was added."),
        "updated": _("The integration was saved."),
        "deleted": _("The integration was removed."),
    }


def _kinds() -> list[dict[str, Any]]:
    return [
        {"name": k.name, "label": k.label, "fields": k.settings_fields, "secrets": k.secret_fields}
        for k in KINDS.values()
    ]


def _common(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "admin_section": "integrations",
        "kinds": _kinds(),
        "field_labels": config.field_labels(),
        "event_labels": config.event_labels(),
        "values": values,
        "errors": errors,
    }


def _blank() -> dict[str, Any]:
    return {
        "kind": "webhook",
        "name": "",
        "enabled": True,
        "units": [],
        "events": ["post.published"],
        "post_kinds": ["praise", "knowhow"],
    }


async def _list_page(
    request: Request,
    db: SessionDep,
    values: dict[str, Any],
    errors: dict[str, str],
    done: str = "",
    status: int = 200,
) -> Response:
    ctx = _common(values, errors) | {
        "integrations": await config.list_integrations(db),
        "done_message": _done_messages().get(done, ""),
    }
    return render(request, "admin/integrations/index.html", ctx, status_code=status)


@router.get("/admin/integrations", name="admin_integrations")
async def admin_integrations(
    request: Request, db: SessionDep, user: AdminUser, done: str = ""
) -> Response:
    return await _list_page(request, db, _blank(), {}, done)


@router.post("/admin/integrations", name="create_integration")
async def create_integration(request: Request, db: SessionDep, user: AdminUser) -> Response:
    data = config.from_form(await request.form())
    try:
        await config.create_integration(db, user, data)
    except InvalidInput as exc:
        return await _list_page(request, db, _blank() | data, exc.by_field(), status=422)
    url = request.app.url_path_for("admin_integrations") + "?done=created"
    return RedirectResponse(url, status_code=303)


async def _edit_page(
    request: Request,
    db: SessionDep,
    integration_id: int,
    values: dict[str, Any] | None,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    view = await config.get_integration(db, integration_id)
    shown = values or {
        "kind": view.kind,
        "name": view.name,
        "enabled": view.enabled,
        "units": view.units,
        "events": view.events,
        "post_kinds": view.post_kinds,
        **view.settings,
    }
    ctx = _common(shown, errors) | {"integration": view}
    return render(request, "admin/integrations/edit.html", ctx, status_code=status)


@router.get("/admin/integrations/{integration_id}", name="show_admin_integration")
async def show_admin_integration(
    request: Request, db: SessionDep, user: AdminUser, integration_id: PathId
) -> Response:
    return await _edit_page(request, db, integration_id, None, {})


@router.post("/admin/integrations/{integration_id}", name="update_integration")
async def update_integration(
    request: Request, db: SessionDep, user: AdminUser, integration_id: PathId
) -> Response:
    data = config.from_form(await request.form())
    try:
        await config.update_integration(db, user, integration_id, data)
    except InvalidInput as exc:
        return await _edit_page(request, db, integration_id, data, exc.by_field(), status=422)
    url = request.app.url_path_for("admin_integrations") + "?done=updated"
    return RedirectResponse(url, status_code=303)


@router.post("/admin/integrations/{integration_id}/delete", name="delete_integration")
async def delete_integration(
    request: Request, db: SessionDep, user: AdminUser, integration_id: PathId
) -> Response:
    await config.delete_integration(db, user, integration_id)
    url = request.app.url_path_for("admin_integrations") + "?done=deleted"
    return RedirectResponse(url, status_code=303)
