"""`/settings`: the signed-in user's language, password, terminal PIN, personal API tokens,
digest and push notifications (app/routes/push.py).

Each section is a partial that the page includes and that HTMX swaps in place; every form
also works as a plain POST. Minting tokens and changing the password need the browser
session (deps.BrowserSession), not a Bearer token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.config import get_settings
from app.deps import (
    BrowserSession,
    CurrentUser,
    PendingSession,
    PendingUser,
    SessionDep,
    SettingsDep,
)
from app.i18n import LOCALE_NAMES, _
from app.inputs import PathId
from app.models import DigestFrequency, User
from app.routes.push import push_context
from app.security import MIN_PASSWORD_LENGTH
from app.services.auth import LoginThrottled
from app.services.errors import InvalidInput
from app.services.people import account
from app.services.people import tokens as token_service
from app.services.terminal import pins
from app.templating import is_htmx, render
from app.web import client_address, set_locale_cookie

router = APIRouter(include_in_schema=False)

EXPIRY_CHOICES = (*(str(d) for d in token_service.TOKEN_DAY_CHOICES), "never", "custom")
DEFAULT_EXPIRY = "90"
# The answer that shows a new token (once) must not be kept by any cache.
NO_STORE = {"Cache-Control": "no-store"}


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _empty_token_values() -> dict[str, str]:
    return {"name": "", "scope": "read", "expires": DEFAULT_EXPIRY, "custom_days": ""}


def _password_context(
    user: User, errors: dict[str, str] | None = None, changed: bool = False, forced: bool = False
) -> dict[str, Any]:
    return {
        "password_forced": forced,
        "password_mode": account.password_mode(user).value,
        "must_change": user.must_change_password,
        "password_errors": errors or {},
        "password_changed": changed,
        "min_password_length": MIN_PASSWORD_LENGTH,
        "sso_message": account.sso_only_message(),
    }


async def _tokens_context(
    db: SessionDep,
    user: User,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    new_token: str | None = None,
    new_token_name: str = "",
    notice: str = "",
    confirm: token_service.TokenView | None = None,
) -> dict[str, Any]:
    tokens = await token_service.list_tokens(db, user)
    return {
        "tokens": tokens,
        "active_count": sum(t.status == "active" for t in tokens),
        "max_active": token_service.MAX_ACTIVE_TOKENS,
        "token_values": values or _empty_token_values(),
        "token_errors": errors or {},
        "expiry_choices": EXPIRY_CHOICES,
        "max_days": token_service.TOKEN_DAYS_MAX,
        "name_max": token_service.TOKEN_NAME_MAX,
        "new_token": new_token,
        "new_token_name": new_token_name,
        "token_notice": notice,
        "confirm_token": confirm,
    }


async def _page_context(db: SessionDep, user: User, **tokens: Any) -> dict[str, Any]:
    return {
        **await push_context(db, user, get_settings()),
        "user_locale": user.locale,
        "locale_names": LOCALE_NAMES,
        "language_errors": {},
        "language_saved": False,
        **_password_context(user),
        **_pin_context(user),
        **await _tokens_context(db, user, **tokens),
        "digest": user.digest,
        "digest_choices": [d.value for d in DigestFrequency],
    }


@router.get("/settings", name="settings")
async def settings_page(
    request: Request, db: SessionDep, user: CurrentUser, saved: str = ""
) -> Response:
    ctx = await _page_context(
        db, user, notice=_("The token was revoked.") if saved == "revoked" else ""
    )
    ctx["language_saved"] = saved == "language"
    return render(request, "settings/index.html", ctx)


# --- language ---------------------------------------------------------------------------


@router.post("/settings/language", name="set_language")
async def set_language(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    """Saved on the user (every device) and in the cookie (the login page); the page is
    reloaded so that everything on it speaks the new language."""
    locale = _field(await request.form(), "locale")
    try:
        await account.set_locale(db, user, locale)
    except InvalidInput as exc:
        ctx = await _page_context(db, user)
        ctx["language_errors"] = exc.by_field()
        return render(request, "settings/index.html", ctx, status_code=422)
    url = request.app.url_path_for("settings") + "?saved=language"
    response: Response
    if is_htmx(request):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    set_locale_cookie(response, locale)
    return response


# --- password ---------------------------------------------------------------------------


def _render_password(
    request: Request,
    ctx: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    template = "settings/_password.html" if is_htmx(request) else "settings/password.html"
    return render(request, template, ctx, status_code=status_code, headers=headers)


@router.get("/settings/password", name="password_form")
async def password_form(request: Request, user: PendingUser) -> Response:
    """The password form alone: where a user with a one-time password is sent first."""
    return render(request, "settings/password.html", _password_context(user))


@router.post("/settings/password", name="change_password")
async def change_password(
    request: Request, db: SessionDep, settings: SettingsDep, auth: PendingSession
) -> Response:
    user = auth.user
    forced = user.must_change_password
    form = await request.form()
    try:
        await account.change_password(
            db,
            settings,
            user,
            current=_field(form, "current_password"),
            new=_field(form, "new_password"),
            confirm=_field(form, "confirm_password"),
            address=client_address(request),
            keep_session=auth.session_token,
        )
    except (account.PasswordNotSettable, LoginThrottled) as exc:
        context = _password_context(user, {"": exc.message})
        return _render_password(request, context, exc.status_code, exc.headers or None)
    except InvalidInput as exc:
        return _render_password(request, _password_context(user, exc.by_field()), 422)
    return _render_password(request, _password_context(user, changed=True, forced=forced))


# --- PIN for the shop terminal ---------------------------------------------------------


def _pin_context(
    user: User, errors: dict[str, str] | None = None, notice: str = ""
) -> dict[str, Any]:
    return {
        "has_pin": user.pin_hash is not None,
        "pin_errors": errors or {},
        "pin_notice": notice,
        "pin_min": pins.PIN_MIN,
        "pin_max": pins.PIN_MAX,
    }


async def _render_pin(
    request: Request, db: SessionDep, user: User, ctx: dict[str, Any], status_code: int = 200
) -> Response:
    if is_htmx(request):
        return render(request, "settings/_pin.html", ctx, status_code=status_code)
    page = {**await _page_context(db, user), **ctx}
    return render(request, "settings/index.html", page, status_code=status_code)


@router.post("/settings/pin", name="set_pin")
async def set_pin(request: Request, db: SessionDep, auth: BrowserSession) -> Response:
    """Set or replace the PIN (the browser session only: a token cannot set a PIN)."""
    user = auth.user
    form = await request.form()
    try:
        await pins.set_pin(db, user, _field(form, "pin"), _field(form, "confirm_pin"))
    except InvalidInput as exc:
        return await _render_pin(request, db, user, _pin_context(user, exc.by_field()), 422)
    return await _render_pin(request, db, user, _pin_context(user, notice=_("Your PIN was saved.")))


@router.post("/settings/pin/clear", name="clear_pin")
async def clear_pin(request: Request, db: SessionDep, auth: BrowserSession) -> Response:
    user = auth.user
    await pins.clear_pin(db, user)
    notice = _("Your PIN was removed.")
    return await _render_pin(request, db, user, _pin_context(user, notice=notice))


# --- personal API tokens ----------------------------------------------------------------


def _days_from(values: dict[str, str]) -> int | None:
    """The form's expiry: a preset, never, or a custom number of days."""
    expires = values["expires"]
    if expires == "never":
        return None
    text = values["custom_days"].strip() if expires == "custom" else expires
    if expires in EXPIRY_CHOICES and text.isascii() and text.isdigit() and len(text) <= 5:
        return int(text)
    raise ValueError(expires)


@router.get("/settings/tokens", name="list_tokens")
async def list_tokens(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    if not is_htmx(request):
        return RedirectResponse(request.app.url_path_for("settings") + "#api-tokens", 303)
    return render(request, "settings/_tokens.html", await _tokens_context(db, user))


@router.post("/settings/tokens", name="create_token")
async def create_token(request: Request, db: SessionDep, auth: BrowserSession) -> Response:
    user = auth.user
    form = await request.form()
    values = {key: _field(form, key) for key in _empty_token_values()}
    name = token_service.clean_token_name(values["name"])
    status, headers = 201, dict(NO_STORE)
    try:
        try:
            days = _days_from(values)
        except ValueError:
            days_error = {
                "loc": ["body", "days"],
                "msg": _("Enter a number of days from 1 to %(n)s.")
                % {"n": token_service.TOKEN_DAYS_MAX},
                "type": "value_error",
            }
            raise InvalidInput(
                [*token_service.token_input_errors(name, values["scope"], None), days_error]
            ) from None
        view, token = await token_service.create_token(
            db, user, name=name, scope=values["scope"], days=days
        )
    except InvalidInput as exc:
        ctx = await _tokens_context(db, user, values=values, errors=exc.by_field())
        status = 422
    except token_service.TooManyTokens as exc:
        ctx = await _tokens_context(db, user, values=values, errors={"": exc.message})
        status = 409
    else:
        ctx = await _tokens_context(db, user, new_token=token, new_token_name=view.name)
    template = "settings/_tokens.html" if is_htmx(request) else "settings/index.html"
    if not is_htmx(request):
        ctx = {**await _page_context(db, user), **ctx}
    return render(request, template, ctx, status_code=status, headers=headers)


async def _own_token(db: SessionDep, user: User, token_id: int) -> token_service.TokenView:
    return await token_service.get_own_token(db, user, token_id)  # TokenNotFound: 404


@router.get("/settings/tokens/{token_id}/revoke", name="confirm_revoke_token")
async def confirm_revoke_token(
    request: Request, db: SessionDep, user: CurrentUser, token_id: PathId
) -> Response:
    """Ask before revoking (a form, so that it works without JavaScript)."""
    view = await _own_token(db, user, token_id)
    if is_htmx(request):
        ctx = await _tokens_context(db, user, confirm=view)
        return render(request, "settings/_tokens.html", ctx)
    return render(request, "settings/revoke_token.html", {"confirm_token": view})


@router.post("/settings/tokens/{token_id}/revoke", name="revoke_token")
async def revoke_token(
    request: Request, db: SessionDep, user: CurrentUser, token_id: PathId
) -> Response:
    await _own_token(db, user, token_id)
    await token_service.revoke_own_token(db, user, token_id)
    if not is_htmx(request):
        url = request.app.url_path_for("settings") + "?saved=revoked#api-tokens"
        return RedirectResponse(url, status_code=303)
    ctx = await _tokens_context(db, user, notice=_("The token was revoked."))
    return render(request, "settings/_tokens.html", ctx)
