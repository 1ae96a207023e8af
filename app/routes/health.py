"""Liveness (/healthz: the process answers) and readiness (/readyz: the database answers)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import db as database
from app.broker import LocalBroker, PostgresBroker, get_broker
from app.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/healthz", name="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", name="readyz")
async def readyz(db: SessionDep) -> JSONResponse:
    """503 with Retry-After while the database is away (a load balancer sends traffic
    elsewhere); `live` says whether live events reach this instance yet."""
    try:
        await db.exec(sa.select(1))  # type: ignore[call-overload]
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": "unavailable", "error": type(exc).__name__},
            503,
            headers={"Retry-After": str(database.UNAVAILABLE_RETRY_AFTER_S)},
        )
    broker = await get_broker()
    return JSONResponse({"status": "ok", "database": "ok", "live": _live_state(broker)})


def _live_state(broker: LocalBroker) -> str:
    if isinstance(broker, PostgresBroker) and not broker.listening:
        return "reconnecting"
    return "ok"
