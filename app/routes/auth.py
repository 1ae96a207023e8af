"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import OptionalUser, PendingOptionalUser, SessionDep, SettingsDep
from app.i18n import LOCALES, _
from app.services import auth as auth_service
from app.services.people import sessions
from app.services.people import users as user_service
from app.templating import render
from app.web import SESSION_COOKIE, client_address, set_cookie, set_locale_cookie

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", name="login_form")
async def login_form(request: Request, auth: OptionalUser, next: str = "/") -> Response:
    if auth is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next), "code": "", "error": None})


@router.post("/login", name="login")
async def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
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
    response = RedirectResponse("/login", status_code=303)
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
