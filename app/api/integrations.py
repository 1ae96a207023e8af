"""Outgoing integrations over JSON (admins only). The kind's own settings sit at the top
level (`url`, `channel`, …); secrets (`secret`, `token`, `private_key`, …) are write-only:
an answer says only whether each is set (`"secrets": {"secret": true}`). A PATCH changes the
fields it carries; a secret left out keeps the stored one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from app.deps import AdminUser, SessionDep
from app.inputs import PathId
from app.services.integrations import config
from app.services.integrations.config import EventName, IntegrationIn, KindName, PostKindName

router = APIRouter(tags=["admin"])


class IntegrationFailure(BaseModel):
    at: str
    error: str | None


class IntegrationPublic(BaseModel):
    """An integration; the kind's plain settings are further keys at the top level."""

    model_config = ConfigDict(extra="allow")

    id: int
    kind: str
    name: str
    enabled: bool
    units: list[str]
    events: list[str]
    post_kinds: list[str]
    secrets: dict[str, bool]
    failure: IntegrationFailure | None
    pending: int  # deliveries waiting to be sent


class IntegrationUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: KindName | None = None
    name: str | None = None
    enabled: bool | None = None
    units: list[str] | None = None
    events: list[EventName] | None = None
    post_kinds: list[PostKindName] | None = None


class IntegrationList(BaseModel):
    items: list[IntegrationPublic]


def _public(view: config.IntegrationView) -> IntegrationPublic:
    return IntegrationPublic.model_validate(view.public())


def _sent(body: BaseModel) -> dict[str, Any]:
    return {**body.model_dump(exclude_unset=True), **(body.model_extra or {})}


@router.get("/admin/integrations", name="api_admin_integrations")
async def list_integrations(db: SessionDep, user: AdminUser) -> IntegrationList:
    """Every integration, with the last delivery given up on (if any)."""
    return IntegrationList(items=[_public(v) for v in await config.list_integrations(db)])


@router.post("/admin/integrations", name="api_create_integration", status_code=201)
async def create_integration(
    db: SessionDep, user: AdminUser, body: IntegrationIn
) -> IntegrationPublic:
    """Add an integration. A URL whose host is a refused address (loopback, link-local,
    cloud metadata, a private network not in OUTBOUND_ALLOW_NETWORKS) is a 422."""
    return _public(await config.create_integration(db, user, _sent(body)))


@router.get("/admin/integrations/{integration_id}", name="api_admin_integration")
async def get_integration(
    db: SessionDep, user: AdminUser, integration_id: PathId
) -> IntegrationPublic:
    return _public(await config.get_integration(db, integration_id))


@router.patch("/admin/integrations/{integration_id}", name="api_update_integration")
async def update_integration(
    db: SessionDep, user: AdminUser, integration_id: PathId, body: IntegrationUpdate
) -> IntegrationPublic:
    return _public(await config.update_integration(db, user, integration_id, _sent(body)))


@router.delete(
    "/admin/integrations/{integration_id}", name="api_delete_integration", status_code=204
)
async def delete_integration(db: SessionDep, user: AdminUser, integration_id: PathId) -> Response:
    """Remove the integration and its waiting deliveries (copies already sent stay)."""
    await config.delete_integration(db, user, integration_id)
    return Response(status_code=204)
