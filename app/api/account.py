"""The caller's own account over JSON: language, password and personal API tokens.

Creating tokens and changing the password need the browser session (cookie plus
`X-CSRF-Token`); an API token gets 403 there, so that a leaked token can neither mint
more tokens nor take the account over. Listing and revoking work with a token too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import Page, UserPublic, one_of, text
from app.deps import BrowserSession, CurrentUser, PendingSession, SessionDep, SettingsDep
from app.i18n import LOCALES
from app.inputs import PathId
from app.models import PERSONAL_SCOPES, OrgUnit
from app.security import MIN_PASSWORD_LENGTH
from app.services.people import account
from app.services.people import tokens as token_service
from app.services.people.tokens import TOKEN_DAYS_MAX, TokenView
from app.web import client_address

router = APIRouter(tags=["account"])

SESSION_ONLY = (
    "Needs the browser session (cookie and `X-CSRF-Token`): a Bearer token gets 403, "
    "so that a leaked token cannot mint more tokens or change the password."
)


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    scope: Literal["read", "write"]
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: TokenView) -> TokenPublic:
        return cls.model_validate(t, from_attributes=True)


class TokenCreated(TokenPublic):
    token: str = Field(description="The token itself: shown this once, never again.")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(token_service.TOKEN_NAME_MAX, 1)] = Field(
        description=f"1–{token_service.TOKEN_NAME_MAX} characters, e.g. the script."
    )
    scope: Annotated[str, one_of(PERSONAL_SCOPES)] = Field(
        default="read", description="`read` (GET only) or `write`.", examples=["read"]
    )
    days: int | None = Field(
        default=90,
        strict=True,
        description=f"Days until it expires, 1–{TOKEN_DAYS_MAX}; `null` never expires.",
    )


class MeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: Annotated[str, one_of(LOCALES)] = Field(description="`ja` or `en`.")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(
        default="",
        description="Required unless an administrator asked an account without a password "
        "to choose one.",
    )
    new_password: str = Field(
        description=f"At least {MIN_PASSWORD_LENGTH} characters, not the current one."
    )


@router.get("/me/tokens", name="api_list_tokens")
async def list_tokens(db: SessionDep, user: CurrentUser) -> Page[TokenPublic]:
    """Your personal API tokens, newest first, with their status and last use."""
    return Page(items=[TokenPublic.of(t) for t in await token_service.list_tokens(db, user)])


@router.post(
    "/me/tokens",
    name="api_create_token",
    status_code=201,
    description="Create a personal API token; the answer carries it this once. "
    f"At most {token_service.MAX_ACTIVE_TOKENS} active tokens (409 beyond). {SESSION_ONLY}",
    responses={403: {"description": SESSION_ONLY}, 409: {"description": "Too many tokens."}},
)
async def create_token(db: SessionDep, auth: BrowserSession, body: TokenCreate) -> TokenCreated:
    view, token = await token_service.create_token(
        db, auth.user, name=body.name, scope=body.scope, days=body.days
    )
    return TokenCreated(**TokenPublic.of(view).model_dump(), token=token)


@router.delete(
    "/me/tokens/{token_id}",
    name="api_revoke_token",
    status_code=204,
    responses={404: {"description": "Not one of your tokens."}},
)
async def revoke_token(db: SessionDep, user: CurrentUser, token_id: PathId) -> Response:
    """Revoke one of your tokens; it stops working at once. Revoking twice is fine."""
    await token_service.revoke_own_token(db, user, token_id)  # TokenNotFound: 404
    return Response(status_code=204)


@router.patch("/me", name="api_update_me")
async def update_me(db: SessionDep, user: CurrentUser, body: MeUpdate) -> UserPublic:
    """Change your language (`ja` or `en`)."""
    await account.set_locale(db, user, body.locale)
    unit = await db.get(OrgUnit, user.unit_id)
    assert unit is not None
    return UserPublic.of(user, unit)


@router.post(
    "/me/password",
    name="api_change_password",
    status_code=204,
    description="Change your password. Every other session of yours is signed out; API "
    "tokens stay valid. Wrong current passwords are throttled like logins (429 with "
    f"Retry-After). An account that signs in only through single sign-on gets 409. "
    f"{SESSION_ONLY}",
    responses={
        403: {"description": SESSION_ONLY},
        409: {"description": "Single sign-on account: no password."},
        429: {"description": "Too many wrong passwords."},
    },
)
async def change_password(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    auth: PendingSession,
    body: PasswordChange,
) -> Response:
    await account.change_password(
        db,
        settings,
        auth.user,
        current=body.current_password,
        new=body.new_password,
        confirm=None,
        address=client_address(request),
        keep_session=auth.session_token,
    )
    return Response(status_code=204)
