"""Integrations as an admin sets them up: one input model for the form and the JSON body,
secrets write-only (stored, never returned: only whether each is set), every change
audited (without the secrets' values)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.config import get_settings
from app.i18n import _
from app.models import Integration, User
from app.models.tables import integration_deliveries, units
from app.services import audit
from app.services.errors import InvalidInput, NotFound
from app.services.integrations import guard
from app.services.integrations.events import CHOOSABLE
from app.services.integrations.registry import KINDS

NAME_MAX = 100
KindName = Literal["webhook", "slack", "teams", "lineworks"]
EventName = Literal["post.published", "post.featured", "bulletin.published"]
PostKindName = Literal["praise", "knowhow"]


class IntegrationIn(BaseModel):
    """The common fields; the kind's own settings and secrets are extra keys at the top
    level (`url`, `secret`, `channel`, `token`, …), checked by the kind."""

    model_config = ConfigDict(extra="allow")

    kind: KindName
    name: str = Field(min_length=1, max_length=NAME_MAX)
    enabled: bool = True
    units: list[str] = Field(default_factory=list, max_length=100)
    events: list[EventName] = Field(default=["post.published"], max_length=3)
    post_kinds: list[PostKindName] = Field(default=["praise", "knowhow"], max_length=2)


@dataclass(slots=True)
class IntegrationView:
    id: int
    kind: str
    name: str
    enabled: bool
    units: list[str]
    events: list[str]
    post_kinds: list[str]
    settings: dict[str, Any]
    secrets_set: dict[str, bool]
    failed_at: datetime | None
    failure: str | None
    pending: int

    def public(self) -> dict[str, Any]:
        """The API's shape: settings at the top level, each secret as set / not set."""
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "enabled": self.enabled,
            "units": self.units,
            "events": self.events,
            "post_kinds": self.post_kinds,
            **self.settings,
            "secrets": self.secrets_set,
            "failure": (
                {"at": self.failed_at.isoformat(), "error": self.failure}
                if self.failed_at
                else None
            ),
            "pending": self.pending,
        }


def _split(text: str) -> list[str]:
    return [part for part in text.split("\t") if part]


async def _view(db: AsyncSession, row: Integration) -> IntegrationView:
    assert row.id is not None
    kind = KINDS[row.kind]
    secrets = json.loads(row.secrets)
    d = integration_deliveries
    pending = (
        await db.execute(
            sa.select(sa.func.count()).where(d.c.integration_id == row.id, d.c.done_at.is_(None))
        )
    ).scalar_one()
    return IntegrationView(
        row.id,
        row.kind,
        row.name,
        row.enabled,
        _split(row.units),
        _split(row.events),
        _split(row.post_kinds),
        json.loads(row.settings),
        {name: bool(secrets.get(name)) for name in kind.secret_fields},
        row.failed_at,
        row.failure,
        int(pending),
    )


async def list_integrations(db: AsyncSession) -> list[IntegrationView]:
    rows = (await db.exec(sa.select(Integration).order_by(Integration.id))).scalars().all()  # type: ignore[call-overload,arg-type]
    return [await _view(db, row) for row in rows]


async def _get(db: AsyncSession, integration_id: int) -> Integration:
    row = await db.get(Integration, integration_id)
    if row is None:
        raise NotFound(_("No such integration."))
    return row


async def get_integration(db: AsyncSession, integration_id: int) -> IntegrationView:
    return await _view(db, await _get(db, integration_id))


def allowed_networks() -> list[guard.IPNetwork]:
    return guard.parse_networks(get_settings().outbound_allow_networks)


async def _validated(
    db: AsyncSession, data: dict[str, Any], old: Integration | None
) -> tuple[IntegrationIn, dict[str, Any], dict[str, Any]]:
    """The input, the kind's settings and its secrets (a secret left out or empty keeps the
    stored one). Raises InvalidInput with every problem at once."""
    merged = dict(data)
    if old is not None:
        if merged.get("kind", old.kind) != old.kind:
            raise InvalidInput.field("kind", _("The kind of an integration cannot be changed."))
        base = {
            "kind": old.kind,
            "name": old.name,
            "enabled": old.enabled,
            "units": _split(old.units),
            "events": _split(old.events),
            "post_kinds": _split(old.post_kinds),
            **json.loads(old.settings),
        }
        merged = base | merged
    try:
        fields = IntegrationIn.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None
    kind = KINDS[fields.kind]
    extra = fields.model_extra or {}
    unknown = set(extra) - set(kind.settings_fields) - set(kind.secret_fields)
    errors: list[dict[str, Any]] = [
        {
            "loc": ["body", name],
            "msg": _("Not a setting of this kind of integration."),
            "type": "extra_forbidden",
        }
        for name in sorted(unknown)
    ]
    settings = {name: str(extra.get(name) or "").strip() for name in kind.settings_fields}
    secrets = json.loads(old.secrets) if old is not None else {}
    for name in kind.secret_fields:
        if extra.get(name):
            secrets[name] = str(extra[name])
    for name, msg in kind.check(settings, secrets, allowed_networks()).items():
        errors.append({"loc": ["body", name], "msg": msg, "type": "value_error"})
    codes = sorted(set(fields.units))
    if codes:
        found = set(
            (await db.execute(sa.select(units.c.code).where(units.c.code.in_(codes)))).scalars()
        )
        if missing := [c for c in codes if c not in found]:
            errors.append(
                {
                    "loc": ["body", "units"],
                    "msg": _("No such unit: %(codes)s") % {"codes": ", ".join(missing)},
                    "type": "value_error",
                }
            )
    if not fields.name.strip():
        errors.append({"loc": ["body", "name"], "msg": _("Enter a name."), "type": "value_error"})
    if not fields.events:
        errors.append(
            {
                "loc": ["body", "events"],
                "msg": _("Choose at least one event."),
                "type": "value_error",
            }
        )
    if errors:
        raise InvalidInput(errors)
    fields.units = codes
    return fields, settings, secrets


def _apply(
    row: Integration, fields: IntegrationIn, settings: dict[str, Any], secrets: dict[str, Any]
) -> None:
    row.name = fields.name.strip()
    row.enabled = fields.enabled
    row.units = "\t".join(fields.units)
    row.events = "\t".join(e for e in CHOOSABLE if e in fields.events)
    row.post_kinds = "\t".join(k for k in ("praise", "knowhow") if k in fields.post_kinds)
    row.settings = json.dumps(settings, ensure_ascii=False)
    row.secrets = json.dumps(secrets, ensure_ascii=False)
    row.updated_at = clock.now()


def _audited(view: IntegrationView, replaced: list[str] | None = None) -> dict[str, Any]:
    """What the audit keeps of an integration: its shape without secrets (only set / not
    set, and which were replaced by this change) and without its delivery state."""
    return {
        "kind": view.kind,
        "name": view.name,
        "enabled": view.enabled,
        "units": view.units,
        "events": view.events,
        "post_kinds": view.post_kinds,
        "settings": view.settings,
        "secrets": view.secrets_set,
        "secrets_replaced": replaced or [],
    }


async def create_integration(
    db: AsyncSession, actor: User, data: dict[str, Any]
) -> IntegrationView:
    fields, settings, secrets = await _validated(db, data, None)
    row = Integration(kind=fields.kind, name=fields.name, created_at=clock.now())
    _apply(row, fields, settings, secrets)
    db.add(row)
    await db.flush()
    view = await _view(db, row)
    audit.record(db, actor, "integration.create", "integration", row.id, after=_audited(view))
    await db.commit()
    return view


async def update_integration(
    db: AsyncSession, actor: User, integration_id: int, data: dict[str, Any]
) -> IntegrationView:
    row = await _get(db, integration_id)
    before = _audited(await _view(db, row))
    fields, settings, secrets = await _validated(db, data, row)
    _apply(row, fields, settings, secrets)
    if fields.enabled:
        row.failed_at, row.failure = None, None
    db.add(row)
    await db.flush()
    view = await _view(db, row)
    changed = sorted(n for n in KINDS[row.kind].secret_fields if data.get(n))
    after = _audited(view, replaced=changed)
    audit.record(db, actor, "integration.update", "integration", row.id, before=before, after=after)
    await db.commit()
    return view


async def delete_integration(db: AsyncSession, actor: User, integration_id: int) -> None:
    row = await _get(db, integration_id)
    before = _audited(await _view(db, row))
    await db.execute(
        sa.delete(integration_deliveries).where(integration_deliveries.c.integration_id == row.id)
    )
    await db.delete(row)
    audit.record(db, actor, "integration.delete", "integration", integration_id, before=before)
    await db.commit()


def field_labels() -> dict[str, str]:
    """The kinds' settings as the admin page names them."""
    return {
        "url": _("Receiver URL"),
        "secret": _("Signing secret"),
        "channel": _("Channel ID"),
        "token": _("Bot token"),
        "webhook_url": _("Workflow webhook URL"),
        "bot_id": _("Bot ID"),
        "channel_id": _("Channel ID"),
        "client_id": _("Client ID"),
        "client_secret": _("Client secret"),
        "service_account": _("Service account"),
        "private_key": _("Private key (PEM)"),
    }


def event_labels() -> dict[str, str]:
    return {
        "post.published": _("A post is published"),
        "post.featured": _("A post is chosen as good practice (好取組)"),
        "bulletin.published": _("A bulletin is published"),
    }


def from_form(form: Any) -> dict[str, Any]:
    """The admin page's form as the API's input: checkboxes, unit codes separated by
    commas or spaces, each kind's fields by name (an empty secret keeps the stored one)."""
    data: dict[str, Any] = {
        "kind": form.get("kind") or "",
        "name": form.get("name") or "",
        "enabled": form.get("enabled") == "on",
        "units": [c for c in str(form.get("units") or "").replace(",", " ").split() if c],
        "events": [e for e in CHOOSABLE if form.get(f"event_{e}") == "on"],
        "post_kinds": [k for k in ("praise", "knowhow") if form.get(f"kind_{k}") == "on"],
    }
    kind = KINDS.get(data["kind"])
    if kind is not None:
        for name in (*kind.settings_fields, *kind.secret_fields):
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                data[name] = value.strip() if name != "private_key" else value
    return data
