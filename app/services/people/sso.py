"""Single sign-on with OpenID Connect (authorization code flow with PKCE) through Authlib.

The flow's secrets (state, nonce, PKCE verifier, where to go afterwards) travel in a
short-lived cookie signed with SECRET_KEY, never in process memory, so that any instance
can finish a login another one began. The provider's discovery document and signing keys
are configuration: each process caches them for a few minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx2
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.i18n import _
from app.logging import get_logger
from app.models import OrgUnit, Role, User
from app.services import audit
from app.services.errors import Conflict, Forbidden
from app.services.people.users import create_user, get_by_code, validate_fields

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

FLOW_COOKIE = "arigato_sso"
FLOW_MAX_AGE = 600  # seconds a person has to sign in at the provider
METADATA_TTL = 300.0  # seconds the discovery document and keys are reused
HTTP_TIMEOUT = 10.0
CLOCK_LEEWAY = 60  # seconds of clock difference allowed on the ID token's times
# Asymmetric algorithms only: the provider's public keys (JWKS) verify the ID token.
ID_TOKEN_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
)
SUBJECT_MAX = 255

log = get_logger("arigato.sso")


class SsoFailed(Exception):
    """The sign-in did not complete (cancelled, expired, bad state, provider trouble).

    `reason` goes to the log, never to the page; `status` is 400 for the browser's side of
    the flow and 502 when the provider could not be reached or answered nonsense.
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class SsoRefused(Forbidden):
    """The provider vouched for someone who may not enter the board (403); `reason` goes to
    the log, `message` to the page."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Flow:
    """What the callback needs from the start of the flow (kept in the signed cookie)."""

    state: str
    nonce: str
    verifier: str
    next: str
    redirect_uri: str


@dataclass(frozen=True)
class Identity:
    """The checked claims of one sign-in."""

    subject: str
    code: str | None
    name: str | None


# --- the signed flow cookie ---------------------------------------------------------------


def _sign(secret_key: str, payload: str) -> str:
    return hmac.new(
        secret_key.encode(), b"sso-flow:" + payload.encode(), hashlib.sha256
    ).hexdigest()


def dump_flow(secret_key: str, flow: Flow, now: float | None = None) -> str:
    data = {
        "s": flow.state,
        "n": flow.nonce,
        "v": flow.verifier,
        "x": flow.next,
        "r": flow.redirect_uri,
        "t": int(time.time() if now is None else now),
    }
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{payload}.{_sign(secret_key, payload)}"


def load_flow(secret_key: str, value: str | None, now: float | None = None) -> Flow | None:
    """The flow from the cookie, or None when it is missing, tampered with or too old."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    if not hmac.compare_digest(_sign(secret_key, payload).encode(), signature.encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        age = (time.time() if now is None else now) - int(data["t"])
        flow = Flow(data["s"], data["n"], data["v"], data["x"], data["r"])
    except (ValueError, KeyError, TypeError):
        return None
    if not 0 <= age <= FLOW_MAX_AGE:
        return None
    return flow


# --- the provider's configuration -----------------------------------------------------------

_metadata: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks: dict[str, tuple[float, KeySet]] = {}


async def _get_json(url: str) -> Any:
    async with httpx2.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        response = await http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()


async def provider_metadata(settings: Settings) -> dict[str, Any]:
    """The provider's discovery document (`{issuer}/.well-known/openid-configuration`)."""
    issuer = settings.oidc_issuer or ""
    cached = _metadata.get(issuer)
    if cached and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    try:
        data = await _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    except (httpx2.HTTPError, ValueError) as exc:
        raise SsoFailed(f"discovery failed: {type(exc).__name__}", 502) from exc
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in needed):
        raise SsoFailed("discovery document lacks required endpoints", 502)
    if data["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise SsoFailed("discovery document names another issuer", 502)
    _metadata[issuer] = (time.monotonic(), data)
    return data


async def _key_set(metadata: dict[str, Any], *, refresh: bool = False) -> KeySet:
    uri = metadata["jwks_uri"]
    cached = _jwks.get(uri)
    if cached and not refresh and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    try:
        keys = KeySet.import_key_set(await _get_json(uri))
    except (httpx2.HTTPError, ValueError, TypeError, KeyError, AttributeError, JoseError) as exc:
        raise SsoFailed(f"provider keys unavailable: {type(exc).__name__}", 502) from exc
    _jwks[uri] = (time.monotonic(), keys)
    return keys


def forget_provider_cache() -> None:
    _metadata.clear()
    _jwks.clear()


# --- the flow ----------------------------------------------------------------------------


def _client(settings: Settings, metadata: dict[str, Any], redirect_uri: str) -> AsyncOAuth2Client:
    # Authlib is imported where a login uses it: it is a twentieth of a worker's start-up.
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if not settings.oidc_client_secret:
        method = "none"  # a public client: PKCE alone proves it
    elif "client_secret_basic" in supported or "client_secret_post" not in supported:
        method = "client_secret_basic"
    else:
        method = "client_secret_post"
    return AsyncOAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        token_endpoint_auth_method=method,
        scope=settings.oidc_scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


async def begin(
    settings: Settings, redirect_uri: str, next_path: str, locale: str
) -> tuple[str, str]:
    """The provider's authorization URL and the signed flow cookie to set with it."""
    metadata = await provider_metadata(settings)
    flow = Flow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        next=next_path,
        redirect_uri=redirect_uri,
    )
    async with _client(settings, metadata, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=flow.state,
            nonce=flow.nonce,
            code_verifier=flow.verifier,
            ui_locales=locale,
        )
    return url, dump_flow(settings.secret_key, flow)


async def finish(settings: Settings, flow: Flow, params: dict[str, str]) -> Identity:
    """Check the provider's answer, exchange the code (with the PKCE verifier), check the
    ID token (signature by the provider's keys, iss, aud, exp, nonce) and read the claims."""
    if params.get("error"):
        raise SsoFailed(f"provider answered error={params['error'][:64]}")
    if not hmac.compare_digest(params.get("state", "").encode(), flow.state.encode()):
        raise SsoFailed("state does not match")
    code = params.get("code", "")
    if not code:
        raise SsoFailed("no authorization code")
    metadata = await provider_metadata(settings)
    # RFC 9207: the answer names its issuer (a defence against mix-up attacks).
    iss_required = metadata.get("authorization_response_iss_parameter_supported") is True
    if ("iss" in params or iss_required) and params.get("iss") != metadata["issuer"]:
        raise SsoFailed("the answer names another issuer or none")
    from authlib.integrations.base_client import OAuthError

    async with _client(settings, metadata, flow.redirect_uri) as client:
        try:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=flow.verifier,
            )
        except OAuthError as exc:
            raise SsoFailed(f"token endpoint refused the code: {exc.error}") from exc
        except (httpx2.HTTPError, ValueError) as exc:
            raise SsoFailed(f"token endpoint failed: {type(exc).__name__}", 502) from exc
        if not isinstance(token.get("id_token"), str):
            raise SsoFailed("token response has no ID token", 502)
        claims = await _checked_id_token(settings, metadata, token, flow.nonce)
        subject = claims["sub"]
        # Many providers put profile claims only in userinfo (OIDC Core 5.4).
        lacking = settings.oidc_code_claim not in claims or (
            settings.oidc_create_users and "name" not in claims
        )
        if lacking and metadata.get("userinfo_endpoint"):
            claims = {**(await _userinfo(client, metadata, subject)), **claims}
    return Identity(
        subject=subject,
        code=_claim_text(claims, settings.oidc_code_claim),
        name=_claim_text(claims, "name"),
    )


async def _checked_id_token(
    settings: Settings, metadata: dict[str, Any], token: dict[str, Any], nonce: str
) -> dict[str, Any]:
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in offered if a in ID_TOKEN_ALGORITHMS] or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    from authlib.oidc.core import CodeIDToken

    try:
        try:
            decoded = jwt.decode(token["id_token"], await _key_set(metadata), registry=registry)
        except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
            keys = await _key_set(metadata, refresh=True)
            decoded = jwt.decode(token["id_token"], keys, registry=registry)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": metadata["issuer"]},
                "aud": {"essential": True, "value": settings.oidc_client_id or ""},
                "sub": {"essential": True},
                "exp": {"essential": True},
            },
            {
                "nonce": nonce,
                "client_id": settings.oidc_client_id,
                "access_token": token.get("access_token"),
            },
        )
        claims.validate(leeway=CLOCK_LEEWAY)
    except JoseError as exc:
        raise SsoFailed(f"ID token rejected: {exc.error}", 502) from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= SUBJECT_MAX:
        raise SsoFailed("ID token subject unusable", 502)
    return dict(claims)


async def _userinfo(
    client: AsyncOAuth2Client, metadata: dict[str, Any], subject: str
) -> dict[str, Any]:
    from authlib.integrations.base_client import OAuthError

    try:
        response = await client.get(metadata["userinfo_endpoint"])
        response.raise_for_status()
        info = response.json()
    except (httpx2.HTTPError, OAuthError, ValueError) as exc:
        raise SsoFailed(f"userinfo failed: {type(exc).__name__}", 502) from exc
    if not isinstance(info, dict) or info.get("sub") != subject:  # OIDC Core 5.3.2
        raise SsoFailed("userinfo is about another subject", 502)
    return info


def _claim_text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text or None
    return None


# --- who it is -----------------------------------------------------------------------------


async def _holder_of(db: AsyncSession, subject: str) -> User | None:
    return (await db.exec(select(User).where(User.sso_subject == subject))).first()


async def resolve_user(
    db: AsyncSession, settings: Settings, identity: Identity
) -> tuple[User, bool]:
    """The board's user for a checked sign-in: (user, created).

    Matched by employee number. The provider's subject is recorded on the first sign-in and
    must match afterwards, so that an employee number reassigned at the provider cannot
    take over someone else's account. Raises SsoRefused for anyone who may not enter.
    """
    if identity.code is None:
        raise SsoRefused(
            "no employee number claim",
            _(
                "Your company account does not carry an employee number, so Arigato Board "
                "cannot tell who you are. Ask an administrator."
            ),
        )
    code = identity.code
    user = await get_by_code(db, code)
    holder = await _holder_of(db, identity.subject)
    linked_elsewhere = SsoRefused(
        "subject linked to another user",
        _(
            "Your company account is already linked to another employee number on "
            "Arigato Board. Ask an administrator."
        ),
    )
    if user is None:
        if holder is not None:
            raise linked_elsewhere
        if not settings.oidc_create_users:
            raise SsoRefused(
                "unknown employee number",
                _(
                    "Your employee number (%(code)s) is not registered on Arigato Board. "
                    "Ask an administrator to add you."
                )
                % {"code": code},
            )
        return await _create_user(db, settings, identity, code), True
    if not user.active:
        raise SsoRefused(
            "user deactivated",
            _("Your account on Arigato Board is deactivated. Ask an administrator."),
        )
    if user.sso_subject is None:
        if holder is not None:
            raise linked_elsewhere
        user.sso_subject = identity.subject
        db.add(user)
        audit.record(
            db, user, "user.sso_link", "user", user.id, after={"sso_subject": identity.subject}
        )
        await db.commit()
    elif user.sso_subject != identity.subject:
        raise SsoRefused(
            "subject mismatch",
            _(
                "This employee number is linked to a different company account. "
                "Ask an administrator."
            ),
        )
    if user.must_change_password:
        # An administrator's one-time password was only a way in; signing in through the
        # company account makes it void (no password the administrator knows stays valid),
        # and the user is not sent to the password change.
        user.password_hash = None
        user.must_change_password = False
        db.add(user)
        audit.record(db, user, "user.one_time_password_void", "user", user.id)
        await db.commit()
    return user, False


async def _create_user(db: AsyncSession, settings: Settings, identity: Identity, code: str) -> User:
    unit = (
        await db.exec(select(OrgUnit).where(OrgUnit.code == settings.oidc_default_unit))
    ).first()
    if unit is None or not unit.active or unit.id is None:
        log.error("sso_default_unit_missing", unit=settings.oidc_default_unit)
        raise SsoRefused(
            "OIDC_DEFAULT_UNIT is not an active unit",
            _("New accounts cannot be created at the moment. Ask an administrator."),
        )
    name = identity.name or code
    if validate_fields(code, name, "", Role.staff):
        raise SsoRefused(
            "claims do not make a valid user",
            _(
                "Your company account's employee number or name cannot be used on Arigato "
                "Board. Ask an administrator."
            ),
        )

    def record(user: User) -> None:
        after = {"code": code, "name": user.name, "unit": unit.code, "role": user.role}
        audit.record(db, user, "user.sso_create", "user", user.id, after=after)

    try:
        return await create_user(
            db,
            code=code,
            name=name.strip(),
            unit=unit,
            role=Role.staff,
            sso_subject=identity.subject,
            record=record,
        )
    except Conflict as exc:  # the same person signing in twice at once
        raise SsoFailed("user created concurrently", 409) from exc
