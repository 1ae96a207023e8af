"""Push subscriptions, one per user and browser: saved from the browser's
`PushSubscription.toJSON()`, listed, and removed (by the user, or when the push service
answers 404/410: the browser unsubscribed or the subscription expired)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.i18n import _
from app.models import PushSubscription, User
from app.models.tables import push_subscriptions
from app.services.errors import Forbidden, InvalidInput, NotFound
from app.services.push.keys import b64url_decode

MAX_PER_USER = 10  # beyond this, the oldest subscription of the user is dropped
ENDPOINT_MAX = 1000
DEVICE_MAX = 120


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(max_length=200, description="The browser's P-256 public key (base64url).")
    auth: str = Field(max_length=60, description="The 16-byte authentication secret (base64url).")

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        raw = _decoded(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError(_("This is not a browser's push key."))
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(_decoded(value)) != 16:
            raise ValueError(_("This is not a browser's push secret."))
        return value


def _decoded(value: str) -> bytes:
    try:
        return b64url_decode(value)
    except ValueError:
        raise ValueError(_("This is not a browser's push key.")) from None


class PushSubscriptionIn(BaseModel):
    """What `PushSubscription.toJSON()` gives in the browser, plus an optional device name."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(max_length=ENDPOINT_MAX, description="The push service's URL.")
    keys: PushKeys
    device: str = Field(
        default="", description="A name for the device, shown in the settings (120 at most)."
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not endpoint_allowed(value):
            raise ValueError(_("This is not a push service's address."))
        return value


def endpoint_allowed(url: str) -> bool:
    """https to a named host. Outside production also http (a push service in tests); never
    an address of this network in production, so that the board cannot be made to post
    to machines behind its firewall."""
    parts = urlsplit(url)
    production = get_settings().env == "production"
    if parts.scheme != "https" and (production or parts.scheme != "http"):
        return False
    host = parts.hostname or ""
    if not host or parts.username or parts.password:
        return False
    if production:
        try:
            ipaddress.ip_address(host)
            return False
        except ValueError:
            return host != "localhost" and "." in host
    return True


@dataclass(slots=True)
class SubscriptionView:
    id: int
    endpoint: str
    device: str
    created_at: datetime
    last_sent_at: datetime | None


def _view(row: PushSubscription) -> SubscriptionView:
    assert row.id is not None
    return SubscriptionView(row.id, row.endpoint, row.device, row.created_at, row.last_sent_at)


def read_input(data: object) -> PushSubscriptionIn:
    try:
        return PushSubscriptionIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None


async def subscribe(
    db: AsyncSession, user: User, data: PushSubscriptionIn, *, on_terminal: bool = False
) -> SubscriptionView:
    """Save the browser's subscription for `user` (again: its keys and owner are updated).
    Never on a shop's shared terminal: the next person at the counter would see the pushes."""
    assert user.id is not None
    if on_terminal:
        raise Forbidden(_("Push notifications cannot be turned on at a shop's shared terminal."))
    row = (
        await db.exec(  # type: ignore[call-overload]
            sa.select(PushSubscription).where(PushSubscription.endpoint == data.endpoint)  # type: ignore[arg-type]
        )
    ).scalar_one_or_none()
    if row is not None and row.user_id != user.id:
        # The browser now belongs to someone else (a shared PC): the previous owner's
        # waiting pushes must not reach it, so their row goes (and its outbox rows with it).
        await db.delete(row)
        await db.flush()
        row = None
    if row is None:
        row = PushSubscription(user_id=user.id, endpoint=data.endpoint, p256dh="", auth="")
    row.p256dh, row.auth = data.keys.p256dh, data.keys.auth
    row.device = data.device.strip()[:DEVICE_MAX]
    db.add(row)
    await db.flush()
    stale = (
        sa.select(push_subscriptions.c.id)
        .where(push_subscriptions.c.user_id == user.id)
        .order_by(push_subscriptions.c.created_at.desc(), push_subscriptions.c.id.desc())
        .offset(MAX_PER_USER)
    )
    await db.execute(sa.delete(push_subscriptions).where(push_subscriptions.c.id.in_(stale)))
    await db.commit()
    return _view(row)


async def list_for(db: AsyncSession, user: User) -> list[SubscriptionView]:
    rows = (
        await db.exec(  # type: ignore[call-overload]
            sa.select(PushSubscription)
            .where(PushSubscription.user_id == user.id)  # type: ignore[arg-type]
            .order_by(PushSubscription.created_at.desc())  # type: ignore[attr-defined]
        )
    ).scalars()
    return [_view(r) for r in rows]


async def unsubscribe(
    db: AsyncSession, user: User, *, subscription_id: int | None = None, endpoint: str | None = None
) -> None:
    """Remove one of the user's subscriptions (by id or endpoint); anybody else's is a 404."""
    where = push_subscriptions.c.user_id == user.id
    if subscription_id is not None:
        where &= push_subscriptions.c.id == subscription_id
    else:
        where &= push_subscriptions.c.endpoint == (endpoint or "")
    result = await db.execute(sa.delete(push_subscriptions).where(where))
    await db.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(_("This push subscription does not exist."))
