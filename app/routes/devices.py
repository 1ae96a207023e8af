"""`/admin/devices` (admins): the shops' shared terminals — register this browser as one,
see when each was last used, revoke one.

Registering answers with the device's credential as a cookie on the browser that asked:
the admin opens this page on the shop's PC and registers it there. Plain forms (they work
without JavaScript): success redirects with `?done=...`, an error renders the page again
(422) with the message by the field and what was typed kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import AdminUser, AuthDep, DeviceDep, SessionDep, SettingsDep
from app.i18n import _
from app.inputs import PathId
from app.models.base import utcnow
from app.routes.admin import render
from app.services.errors import InvalidInput
from app.services.people.sessions import terminal_expiry
from app.services.terminal import devices as device_service
from app.services.terminal.devices import DeviceUnit
from app.web import DEVICE_COOKIE, set_cookie

router = APIRouter(include_in_schema=False)


def _done_messages() -> dict[str, str]:
    return {
        "registered": _(
            "This browser is now the shop's terminal. Sign-ins here end after the idle time."
        ),
        "revoked": _("The device was revoked; its sessions have ended."),
    }


async def _context(
    db: SessionDep,
    device: DeviceUnit | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> dict[str, Any]:
    return {
        "admin_section": "devices",
        "devices": await device_service.list_devices(db),
        "this_device": device,
        "shops": await device_service.shop_choices(db),
        "values": values or {"name": "", "unit": ""},
        "errors": errors or {},
        "done_message": _done_messages().get(done, ""),
    }


@router.get("/admin/devices", name="admin_devices")
async def admin_devices(
    request: Request, db: SessionDep, user: AdminUser, device: DeviceDep, done: str = ""
) -> Response:
    return render(request, "admin/devices.html", await _context(db, device, done=done))


@router.post("/admin/devices", name="register_device")
async def register_device(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    auth: AuthDep,
    device: DeviceDep,
) -> Response:
    form = await request.form()
    values = {k: v if isinstance(v := form.get(k), str) else "" for k in ("name", "unit")}
    try:
        view, credential = await device_service.register_device(
            db, user, values["name"], values["unit"]
        )
    except InvalidInput as exc:
        ctx = await _context(db, device, values=values, errors=exc.by_field())
        return render(request, "admin/devices.html", ctx, status_code=422)
    if auth is not None and auth.session_token:
        expires = utcnow() + terminal_expiry(settings)
        await device_service.attach_session(db, auth.session_token, view.id, expires)
    url = request.app.url_path_for("admin_devices") + "?done=registered"
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, DEVICE_COOKIE, credential, max_age=device_service.CREDENTIAL_DAYS * 86400)
    return response


@router.post("/admin/devices/{device_id}/revoke", name="revoke_device")
async def revoke_device(
    request: Request, db: SessionDep, user: AdminUser, device_id: PathId
) -> Response:
    await device_service.revoke_device(db, user, device_id)
    url = request.app.url_path_for("admin_devices") + "?done=revoked"
    return RedirectResponse(url, status_code=303)
