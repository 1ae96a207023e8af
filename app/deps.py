"""FastAPI dependencies as type aliases: database session, caller, roles, CSRF guard.

Every access check on who the caller is lives here; routes only name the alias they need.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.config import Settings, get_settings
from app.db import get_session
from app.i18n import _
from app.models import ROLE_RANK, Role, TokenScope, User
from app.routing import is_scim_path
from app.services import bulletins as bulletin_service
from app.services import scope
from app.services.people.sessions import Auth, auth_for_session
from app.services.people.tokens import auth_for_token
from app.services.scim import throttle as scim_throttle
from app.services.terminal import devices as device_service
from app.web import CSRF_FIELD, CSRF_HEADER, DEVICE_COOKIE, LANG_COOKIE, SESSION_COOKIE, csrf_valid

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


PASSIVE_PATHS = frozenset({"/events"})


class NotAuthenticated(Exception):
    """Raised for an anonymous caller: pages redirect to /login, the API answers 401."""


async def get_auth(request: Request, db: SessionDep) -> Auth | None:
    if "auth" in request.state._state:
        return request.state.auth  # type: ignore[no-any-return]
    auth: Auth | None = None
    header = request.headers.get("Authorization", "")
    scim = is_scim_path(request.url.path)
    if header[:7].lower() == "bearer ":
        auth = await auth_for_token(db, header[7:].strip())
        if auth is None:
            raise HTTPException(
                401,
                _("The API token is invalid, expired or revoked."),
                headers={"WWW-Authenticate": "Bearer"},
            )
        # A SCIM token reaches /scim/v2 and nothing else; no other token reaches /scim/v2.
        if scim and auth.scope != TokenScope.scim:
            raise HTTPException(403, _("SCIM needs a SCIM token issued by an administrator."))
        if not scim and auth.scope == TokenScope.scim:
            raise HTTPException(403, _("A SCIM token is for SCIM provisioning only."))
    elif scim:
        pass  # SCIM takes no browser session (and so needs no CSRF token): require_scim
    elif token := request.cookies.get(SESSION_COOKIE):
        # The live stream is no one's input: it must not keep an idle terminal signed in.
        touch = request.url.path not in PASSIVE_PATHS
        auth = await auth_for_session(db, token, get_settings(), touch=touch)
    request.state.auth = auth
    request.state.terminal = auth is not None and auth.terminal
    request.state.user = auth.user if auth else None
    request.state.unit = auth.unit if auth else None
    request.state.unread_notifications = auth.unread_notifications if auth else 0
    i18n.current_locale.set(
        i18n.negotiate(
            auth.user.locale if auth else None,
            request.cookies.get(LANG_COOKIE),
            request.headers.get("Accept-Language"),
        )
    )
    return auth


AuthDep = Annotated[Auth | None, Depends(get_auth)]


async def guard_unsafe(request: Request, auth: AuthDep) -> None:
    """Unsafe methods need a write-scoped token, or the CSRF token of the browser session."""
    if request.method in SAFE_METHODS or is_scim_path(request.url.path):
        return  # SCIM: bearer tokens only (get_auth, require_scim)
    if auth is not None and auth.via == "token":
        if auth.scope != TokenScope.write:
            raise HTTPException(403, _("This API token is read-only."))
        return
    given = request.headers.get(CSRF_HEADER)
    ctype = request.headers.get("content-type", "")
    if not given and ctype.startswith("application/x-www-form-urlencoded"):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    elif not given and ctype.startswith("multipart/form-data"):
        # Uploads are streamed by the route, so a form without JavaScript carries the
        # token in its action URL instead of a field we would have to parse first.
        given = request.query_params.get(CSRF_FIELD)
    if not csrf_valid(request, given):
        raise HTTPException(
            403,
            _("The form has expired or the CSRF token is missing. Reload the page and try again."),
        )


async def publish_due_bulletins(db: SessionDep) -> None:
    """App-wide, at the start of every request, before anything else uses the request's
    session: publish the scheduled bulletins whose time has come (cheap when none is), so
    the page or answer that follows shows them."""
    await bulletin_service.publish_due_if_time(db)


PASSWORD_CHANGE_URL = "/settings/password"


def _signed_in(auth: Auth | None) -> Auth:
    if auth is None:
        raise NotAuthenticated()
    return auth


def _session_only(auth: Auth) -> Auth:
    if auth.via != "session":
        raise HTTPException(
            403, _("This needs the browser session (log in); an API token cannot do it.")
        )
    return auth


def hold_for_password_change(request: Request, auth: Auth) -> None:
    """A user whose password an administrator set reaches nothing until they change it.

    The rule is on the user, not on the way they came in: a session and the user's API
    tokens alike (docs/admin.md). Pages redirect to the password form (303; HTMX gets
    HX-Redirect), the API answers 403. Only the routes that take the *Pending* aliases below
    (the password change, the language, logging out) let such a user through.
    """
    if not auth.user.must_change_password:
        return
    message = _("Choose a new password first: yours was set by an administrator.")
    if auth.via == "token" or request.url.path.startswith("/api/"):
        raise HTTPException(403, message)
    if request.headers.get("HX-Request") == "true":
        raise HTTPException(403, message, headers={"HX-Redirect": PASSWORD_CHANGE_URL})
    raise HTTPException(303, message, headers={"Location": PASSWORD_CHANGE_URL})


async def require_user(request: Request, auth: AuthDep) -> User:
    auth = _signed_in(auth)
    hold_for_password_change(request, auth)
    return auth.user


CurrentUser = Annotated[User, Depends(require_user)]


async def require_browser_session(request: Request, auth: AuthDep) -> Auth:
    """Minting API tokens and changing the password need the browser session: a leaked
    token must not be able to make more tokens or take the account over."""
    auth = _signed_in(auth)
    hold_for_password_change(request, auth)
    return _session_only(auth)


BrowserSession = Annotated[Auth, Depends(require_browser_session)]


async def optional_user(request: Request, auth: AuthDep) -> Auth | None:
    """The caller if there is one (pages that anonymous visitors see too)."""
    if auth is not None:
        hold_for_password_change(request, auth)
    return auth


OptionalUser = Annotated[Auth | None, Depends(optional_user)]

# Only for what a user who must still replace an administrator's password may do: change
# it, and choose the language of the pages that ask them to.


async def _pending_user(auth: AuthDep) -> User:
    return _signed_in(auth).user


async def _pending_session(auth: AuthDep) -> Auth:
    return _session_only(_signed_in(auth))


PendingUser = Annotated[User, Depends(_pending_user)]
PendingSession = Annotated[Auth, Depends(_pending_session)]
PendingOptionalUser = AuthDep


def _require_rank(role: Role):  # type: ignore[no-untyped-def]
    async def check(user: CurrentUser) -> User:
        if ROLE_RANK[Role(user.role)] < ROLE_RANK[role]:
            raise HTTPException(403, _("You do not have permission to do this."))
        return user

    check.__name__ = f"require_{role.value}"
    return check


require_curator = _require_rank(Role.curator)
require_admin = _require_rank(Role.admin)

CuratorUser = Annotated[User, Depends(require_curator)]
AdminUser = Annotated[User, Depends(require_admin)]


async def require_head_office(user: CuratorUser) -> User:
    """A curator without a scope, or an admin: what covers the whole company at once (the
    warehouse export) is not for a curator with a scope (services/scope.py)."""
    if scope.is_scoped(user):
        raise HTTPException(403, _("Only head office can do this: your scope covers some units."))
    return user


HeadOfficeUser = Annotated[User, Depends(require_head_office)]


async def get_device(request: Request, db: SessionDep) -> device_service.DeviceUnit | None:
    """The shop device this browser is registered as (its credential cookie), if any."""
    credential = request.cookies.get(DEVICE_COOKIE)
    if not credential or len(credential) > 200:
        return None
    return await device_service.device_for_credential(db, credential)


DeviceDep = Annotated[device_service.DeviceUnit | None, Depends(get_device)]


async def require_terminal(request: Request, auth: AuthDep, device: DeviceDep) -> Auth:
    """A session on this shop device (the morning meeting, the idle sign-out)."""
    auth = _signed_in(auth)
    hold_for_password_change(request, auth)
    if not auth.terminal or device is None or device.id != auth.device_id:
        raise HTTPException(403, _("This works only on the shop's registered terminal."))
    return auth


TerminalSession = Annotated[Auth, Depends(require_terminal)]


async def session_cookie(request: Request) -> str | None:
    """The browser's session cookie as sent, valid or not (a lapsed terminal session)."""
    return request.cookies.get(SESSION_COOKIE)


SessionCookie = Annotated[str | None, Depends(session_cookie)]


async def require_scim(request: Request, auth: AuthDep) -> User:
    """The identity provider with its SCIM token (get_auth refused any other token); the
    answer is the token's owner, the admin its changes are recorded as. Throttled per token."""
    if auth is None or auth.scope != TokenScope.scim:
        raise HTTPException(
            401,
            _("SCIM needs a SCIM token issued by an administrator."),
            headers={"WWW-Authenticate": "Bearer"},
        )
    scim_throttle.check(f"owner:{auth.user.id}")
    return auth.user


ScimActor = Annotated[User, Depends(require_scim)]
