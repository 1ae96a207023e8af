"""Shop terminals over JSON (admins only): list, register and revoke shop devices.

A device registered here answers its credential once (`credential`); a kiosk set-up puts it
in the browser as the `arigato_device` cookie (HttpOnly, Secure). Registering from the
browser itself is simpler: /admin/devices sets the cookie on the browser that registers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from app.api.docs import not_found
from app.api.schemas import Code, Page, text
from app.deps import AdminUser, SessionDep
from app.inputs import PathId
from app.services.terminal import devices as device_service
from app.services.terminal.devices import DeviceView

router = APIRouter(tags=["admin"])


class DevicePublic(BaseModel):
    id: int
    name: str
    unit: dict[str, str]  # {"code", "name"}: the shop
    created_at: datetime
    created_by: str | None  # the admin's employee number
    last_seen_at: datetime | None
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, d: DeviceView) -> DevicePublic:
        return cls(
            id=d.id,
            name=d.name,
            unit={"code": d.unit_code, "name": d.unit_name},
            created_at=d.created_at,
            created_by=d.created_by_code,
            last_seen_at=d.last_seen_at,
            revoked_at=d.revoked_at,
            active=d.active,
        )


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(device_service.NAME_MAX, 1)]
    unit: Code  # a shop's code


class DeviceCreated(DevicePublic):
    credential: str  # shown this once; only its hash is stored


@router.get("/admin/devices", name="api_list_devices")
async def list_devices(db: SessionDep, user: AdminUser) -> Page[DevicePublic]:
    """Every device, active ones first, newest first (revoked ones included)."""
    return Page(items=[DevicePublic.of(d) for d in await device_service.list_devices(db)])


@router.post("/admin/devices", name="api_register_device", status_code=201)
async def register_device(db: SessionDep, user: AdminUser, body: DeviceCreate) -> DeviceCreated:
    """Register a device for a shop (`unit`: a unit of kind shop; else 422)."""
    view, credential = await device_service.register_device(db, user, body.name, body.unit)
    return DeviceCreated(**DevicePublic.of(view).model_dump(), credential=credential)


@router.delete(
    "/admin/devices/{device_id}",
    name="api_revoke_device",
    status_code=204,
    responses=not_found("No device with this id."),
)
async def revoke_device(db: SessionDep, user: AdminUser, device_id: PathId) -> Response:
    """Revoke a device: its sessions end at once (204; again is a no-op)."""
    await device_service.revoke_device(db, user, device_id)
    return Response(status_code=204)
