"""`/settings` → Push notifications: which kinds are pushed and the quiet hours, and the
devices that receive them (removable here). Turning push on for a browser is done by
static/js/push.js through `/api/v1/me/push-subscriptions` (it needs the browser's own
Push API). Each form also works as a plain POST."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.config import Settings
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.inputs import PathId
from app.models import User
from app.services.errors import InvalidInput
from app.services.push import preferences
from app.services.push import subscriptions as subscription_service
from app.services.push.keys import public_key
from app.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


async def push_context(
    db: SessionDep,
    user: User,
    settings: Settings,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    """What settings/_push.html needs."""
    assert user.id is not None
    if values is None:
        row = await preferences.get_settings_of(db, user.id)
        values = {name: getattr(row, name) for name in (*preferences.SETTING_NAMES, "quiet")}
        values["quiet_start"] = preferences.hhmm(row.quiet_start)
        values["quiet_end"] = preferences.hhmm(row.quiet_end)
    key = public_key(settings.vapid_private_key) if settings.vapid_private_key else None
    return {
        "push_key": key,
        "push_devices": await subscription_service.list_for(db, user),
        "push_values": values,
        "push_labels": preferences.setting_labels(),
        "push_errors": errors or {},
        "push_saved": saved,
        "push_timezone": settings.timezone,
    }


def _answer(request: Request, ctx: dict[str, Any], status_code: int = 200) -> Response:
    if is_htmx(request):
        return render(request, "settings/_push.html", ctx, status_code=status_code)
    if status_code >= 400:
        return render(request, "settings/push.html", ctx, status_code=status_code)
    return RedirectResponse(request.app.url_path_for("settings") + "#push-settings", 303)


@router.post("/settings/push", name="set_push_settings")
async def set_push_settings(
    request: Request, db: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    assert user.id is not None
    form = await request.form()
    try:
        await preferences.save_settings(db, user.id, form)
    except InvalidInput as exc:
        values = preferences.from_form(form)
        ctx = await push_context(db, user, settings, values=values, errors=exc.by_field())
        return _answer(request, ctx, 422)
    return _answer(request, await push_context(db, user, settings, saved=True))


@router.post("/settings/push/devices/{subscription_id}/remove", name="remove_push_device")
async def remove_push_device(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    subscription_id: PathId,
) -> Response:
    """This device gets no more pushes (its browser may subscribe again later)."""
    await subscription_service.unsubscribe(db, user, subscription_id=subscription_id)
    return _answer(request, await push_context(db, user, settings))
