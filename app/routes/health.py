"""Liveness (/healthz: the process answers) and readiness (/readyz: the database answers)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/healthz", name="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", name="readyz")
async def readyz(db: SessionDep) -> JSONResponse:
    try:
        await db.exec(sa.select(1))  # type: ignore[call-overload]
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})
