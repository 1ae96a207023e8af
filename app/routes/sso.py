"""Single sign-on (OpenID Connect): the redirect to the provider and the way back."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import i18n
from app.config import Settings
from app.db import writes
from app.deps import DeviceDep, OptionalUser, SessionDep, SettingsDep
from app.i18n import _
from app.logging import get_logger
from app.routes.auth import safe_next
from app.services.people import sessions
from app.services.people import sso as sso_service
from app.services.people.sso import FLOW_COOKIE, FLOW_MAX_AGE, SsoFailed, SsoRefused
from app.services.terminal import signin
from app.services.terminal.signin import OtherShop
from app.templating import render
from app.web import SESSION_COOKIE, client_address, set_cookie

router = APIRouter(include_in_schema=False)
log = get_logger("arigato.sso")


def _callback_url(request: Request, settings: Settings) -> str:
    """BASE_URL when it is configured (behind a proxy), else the address the browser used."""
    if "base_url" in settings.model_fields_set:
        return settings.base_url.rstrip("/") + str(request.app.url_path_for("sso_callback"))
    return str(request.url_for("sso_callback"))


def _require_sso(settings: Settings) -> None:
    if not settings.sso_enabled:
        raise HTTPException(404, _("Single sign-on is not configured."))


def _failure_page(request: Request, status: int, message: str, next_path: str = "/") -> Response:
    response = render(
        request,
        "auth/sso_error.html",
        {"status": status, "message": message, "next": next_path},
        status_code=status,
    )
    response.delete_cookie(FLOW_COOKIE, path="/")
    return response


def _failed_message(exc: SsoFailed) -> str:
    if exc.status >= 500:
        return _(
            "The company sign-in service could not be reached or gave an answer that could "
            "not be checked. Try again in a moment."
        )
    if exc.reason.startswith("provider answered error=access_denied"):
        return _("Signing in with the company account was cancelled.")
    return _(
        "Signing in with the company account did not complete: it may have taken too long "
        "or been started in another window. Try again."
    )


@router.get("/login/sso", name="sso_login")
async def sso_login(
    request: Request, auth: OptionalUser, settings: SettingsDep, next: str = "/"
) -> Response:
    _require_sso(settings)
    target = safe_next(next)
    if auth is not None:
        return RedirectResponse(target, status_code=303)
    try:
        url, flow = await sso_service.begin(
            settings, _callback_url(request, settings), target, i18n.current_locale.get()
        )
    except SsoFailed as exc:
        log.warning("sso_failed", reason=exc.reason, step="start")
        return _failure_page(request, exc.status, _failed_message(exc), target)
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, FLOW_COOKIE, flow, max_age=FLOW_MAX_AGE)
    return response


@router.get("/login/sso/callback", name="sso_callback")
@writes
async def sso_callback(
    request: Request, db: SessionDep, settings: SettingsDep, device: DeviceDep
) -> Response:
    _require_sso(settings)
    flow = sso_service.load_flow(settings.secret_key, request.cookies.get(FLOW_COOKIE))
    next_path = flow.next if flow else "/"
    params = {
        k: v for k, v in request.query_params.items() if k in ("code", "state", "error", "iss")
    }
    try:
        if flow is None:
            raise SsoFailed("flow cookie missing, tampered with or expired")
        identity = await sso_service.finish(settings, flow, params)
        user, created = await sso_service.resolve_user(db, settings, identity)
    except SsoFailed as exc:
        log.warning("sso_failed", reason=exc.reason, step="callback")
        return _failure_page(request, exc.status, _failed_message(exc), next_path)
    except SsoRefused as exc:
        log.warning("sso_refused", reason=exc.reason, code=identity.code)
        return _failure_page(request, 403, exc.message, next_path)
    # On a shop's terminal the company account counts as a password: the shop's staff and
    # head office only, and the session is a terminal one (docs/terminal.md).
    if device is not None and not signin.may_use(user, device, with_password=True):
        return _failure_page(request, 403, OtherShop(device).message, next_path)
    token = await sessions.start_session(
        db,
        settings,
        user,
        request.headers.get("user-agent"),
        client_address(request),
        device_id=device.id if device else None,
    )
    log.info("sso_login", user=user.code, created=created, device=device.id if device else None)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    lasts = None if device else settings.session_days * 86400
    set_cookie(response, SESSION_COOKIE, token, max_age=lasts)
    response.delete_cookie(FLOW_COOKIE, path="/")
    return response
