"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.config import Settings
from app.deps import DeviceDep, OptionalUser, PendingOptionalUser, SessionDep, SettingsDep
from app.i18n import LOCALES, _
from app.services import auth as auth_service
from app.services.auth import LoginThrottled
from app.services.errors import InvalidInput
from app.services.people import sessions
from app.services.people import users as user_service
from app.services.terminal import devices as device_service
from app.services.terminal import signin
from app.services.terminal.devices import DeviceUnit
from app.services.terminal.signin import OtherShop
from app.templating import render
from app.web import DEVICE_COOKIE, SESSION_COOKIE, client_address, set_cookie, set_locale_cookie

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _signed_out_message(reason: str) -> str:
    return {
        "idle": _("You were signed out after a while without input."),
        "draft": _(
            "You were signed out after a while without input. "
            "What you were writing was saved in your drafts."
        ),
        "posted": _("Posted. Thank you! You have been signed out."),
    }.get(reason, "")


async def _terminal_page(
    request: Request,
    db: SessionDep,
    device: DeviceUnit,
    *,
    next: str = "/",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in of a shop device: the shop, its staff to pick from, PIN or password."""
    await device_service.mark_seen(db, device)
    ctx = {
        "device": device,
        "staff": await signin.staff_of(db, device),
        "next": safe_next(next),
        "values": values or {"code": "", "pick": ""},
        "errors": errors or {},
        "notice": notice,
        "is_terminal": True,
    }
    return render(
        request, "auth/terminal_login.html", ctx, status_code=status_code, headers=headers
    )


@router.get("/login", name="login_form")
async def login_form(
    request: Request,
    db: SessionDep,
    auth: OptionalUser,
    device: DeviceDep,
    next: str = "/",
    signed_out: str = "",
) -> Response:
    if auth is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    if device is not None:
        notice = _signed_out_message(signed_out)
        return await _terminal_page(request, db, device, next=next, notice=notice)
    return render(request, "auth/login.html", {"next": safe_next(next), "code": "", "error": None})


async def _terminal_login(
    request: Request, db: SessionDep, settings: Settings, device: DeviceUnit, next: str
) -> Response:
    """Sign in on a shop device (PIN, or password): a terminal session, no lasting cookie."""
    form = await request.form()
    values = {k: v if isinstance(v := form.get(k), str) else "" for k in ("code", "pick")}
    pin, password = (v if isinstance(v := form.get(k), str) else "" for k in ("pin", "password"))
    code = values["code"].strip() or values["pick"]
    try:
        user = await signin.sign_in(
            db,
            settings,
            device,
            code=code[:64],
            pin=pin[:64],
            password=password[:1024],
            address=client_address(request),
        )
    except InvalidInput as exc:
        return await _terminal_page(
            request, db, device, next=next, values=values, errors=exc.by_field(), status_code=400
        )
    except (OtherShop, LoginThrottled) as exc:
        return await _terminal_page(
            request,
            db,
            device,
            next=next,
            values=values,
            errors={"": exc.message},
            status_code=exc.status_code,
            headers=exc.headers or None,
        )
    token = await sessions.start_session(
        db,
        settings,
        user,
        request.headers.get("user-agent"),
        client_address(request),
        device_id=device.id,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, SESSION_COOKIE, token)  # no max_age: gone when the browser closes
    credential = request.cookies.get(DEVICE_COOKIE, "")
    set_cookie(response, DEVICE_COOKIE, credential, max_age=device_service.CREDENTIAL_DAYS * 86400)
    return response


@router.post("/login", name="login")
async def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    device: DeviceDep,
    code: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if device is not None:
        return await _terminal_login(request, db, settings, device, next)
    if not settings.password_login:
        return render(
            request, "auth/login.html", {"next": "/", "code": "", "error": None}, status_code=403
        )
    error, user = None, None
    if not code.strip() or not password:
        error = _("Enter your employee number and password.")
    else:
        user = await auth_service.authenticate(
            db, settings, code, password, client_address(request)
        )
        if user is None:
            error = _("The employee number or password is not correct.")
    if error:
        ctx = {"next": safe_next(next), "code": code, "error": error}
        return render(request, "auth/login.html", ctx, status_code=400)
    assert user is not None  # no error means authenticate() returned the user
    token = await sessions.start_session(
        db, settings, user, request.headers.get("user-agent"), client_address(request)
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, SESSION_COOKIE, token, max_age=settings.session_days * 86400)
    return response


@router.post("/logout", name="logout")
async def logout(request: Request, db: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.end_session(db, token)
    response = RedirectResponse(request.app.url_path_for("login_form"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/locale", name="switch_locale")
async def switch_locale(
    request: Request,
    db: SessionDep,
    auth: PendingOptionalUser,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if locale not in LOCALES:
        locale = "ja"
    if auth is not None:
        await user_service.set_locale(db, auth.user, locale)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_locale_cookie(response, locale)
    return response
