"""The KPI over JSON (SPEC §4, §6): the praise matrix (also as CSV/XLSX), month close and
reopen requests, the お客さまの声 table and complaint voices (curators)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.approvals import ApprovalPublic, approval_public
from app.api.docs import conflict
from app.api.schemas import Code, text
from app.deps import CuratorUser, CurrentUser, SessionDep
from app.inputs import CsvEncodingQuery, CsvImportEncodingQuery, PathId
from app.models import ComplaintCategory, ComplaintStatus, ComplaintVoice
from app.services import approvals, kpi
from app.services import complaints as complaint_service
from app.services.csvimport import ImportRejected
from app.services.kpi import export as kpi_export
from app.services.uploads import CSV_BODY_OPENAPI, read_csv_body

router = APIRouter(tags=["kpi"])

FiscalYear = Annotated[int | None, Query(ge=2000, le=2100, description="default: this year")]
Depth = Annotated[int, Query(ge=1, le=kpi.MAX_DEPTH)]
ExportFormat = Annotated[Literal["json", "csv", "xlsx"], Query()]
EXPORTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The table as JSON, or with `format=csv` or `xlsx` as a download of "
        "the same table (CSV in UTF-8 with BOM, or CP932 with `encoding=cp932`)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            kpi_export.CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class MonthClosePublic(BaseModel):
    month: str
    closed: bool
    closed_at: datetime | None
    reopened_at: datetime | None


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    received_on: date
    unit: Code
    category: ComplaintCategory
    status: ComplaintStatus = ComplaintStatus.received
    summary: Annotated[str, text(complaint_service.SUMMARY_MAX)] = ""


class ComplaintUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ComplaintStatus | None = None
    category: ComplaintCategory | None = None
    received_on: date | None = None
    unit: Code | None = None
    summary: Annotated[str, text(complaint_service.SUMMARY_MAX)] | None = None


class ComplaintPublic(BaseModel):
    id: int
    received_on: date
    unit: str
    category: str
    status: str
    summary: str
    created_at: datetime
    updated_at: datetime
    post_id: int | None = Field(
        default=None, description="The thanks post this complaint was found in, if any."
    )


class ImportResult(BaseModel):
    imported: int


@router.get(
    "/kpi/praise",
    name="api_praise_kpi",
    responses={**EXPORTS, 404: {"description": "No unit with this code."}},
)
async def praise_kpi(
    db: SessionDep,
    user: CurrentUser,
    fy: FiscalYear = None,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    depth: Depth = 1,
    format: ExportFormat = "json",
    encoding: CsvEncodingQuery = "utf-8",
) -> Any:
    """Published praise per unit and month, rolled up (one row per unit `depth` levels below
    `unit`, default the company's children), with corrections and year on year."""
    matrix = await kpi.praise_matrix(db, kpi.fiscal_year_or_current(fy), unit=unit, depth=depth)
    if format != "json":
        return kpi_export.praise_download(matrix, format, encoding)
    return JSONResponse(kpi.matrix_json(matrix))


@router.get("/kpi/voices", name="api_voices_kpi", responses=EXPORTS)
async def voices_kpi(
    db: SessionDep,
    user: CuratorUser,
    fy: FiscalYear = None,
    format: ExportFormat = "json",
    encoding: CsvEncodingQuery = "utf-8",
) -> Any:
    """お客さまの声 受付状況: praise, complaints, total, and the complaints by category with
    their share (rounded half up to one decimal)."""
    table = await kpi.voices_table(db, kpi.fiscal_year_or_current(fy), user)
    if format != "json":
        return kpi_export.voices_download(table, format, encoding)
    return JSONResponse(kpi.voices_json(table))


def _close_public(close: kpi.MonthClose) -> MonthClosePublic:
    return MonthClosePublic(
        month=close.key,
        closed=close.closed,
        closed_at=close.closed_at,
        reopened_at=close.reopened_at,
    )


@router.post(
    "/kpi/months/{month}/close",
    name="api_close_kpi_month",
    responses=conflict("Already closed, or not over yet."),
)
async def close_kpi_month(db: SessionDep, user: CuratorUser, month: str) -> MonthClosePublic:
    """Freeze the month's counts (409 when already closed or not over yet)."""
    return _close_public(await kpi.close_month(db, user, kpi.parse_month(month)))


@router.post(
    "/kpi/months/{month}/reopen",
    name="api_reopen_kpi_month",
    status_code=202,
    responses=conflict("Not closed, or already requested."),
)
async def reopen_kpi_month(db: SessionDep, user: CuratorUser, month: str) -> ApprovalPublic:
    """Ask for the month to be reopened (two-person rule): it shows live figures again once
    an administrator other than you approves (`POST /approvals/{id}/approve`)."""
    return approval_public(await approvals.request_reopen(db, user, kpi.parse_month(month)))


async def _complaint_public(db: SessionDep, c: ComplaintVoice) -> ComplaintPublic:
    assert c.id is not None
    return ComplaintPublic(
        id=c.id,
        received_on=c.received_on,
        unit=await complaint_service.unit_code(db, c.unit_id),
        category=c.category,
        status=c.status,
        summary=c.summary,
        created_at=c.created_at,
        updated_at=c.updated_at,
        post_id=c.post_id,
    )


@router.post("/complaints", name="api_create_complaint", status_code=201)
async def create_complaint(
    db: SessionDep, user: CuratorUser, body: ComplaintCreate
) -> ComplaintPublic:
    c = await complaint_service.create_complaint(db, user, body.model_dump(mode="json"))
    return await _complaint_public(db, c)


@router.get("/complaints/{complaint_id}", name="api_get_complaint")
async def get_complaint(db: SessionDep, user: CuratorUser, complaint_id: PathId) -> ComplaintPublic:
    return await _complaint_public(
        db, await complaint_service.get_complaint(db, user, complaint_id)
    )


@router.patch("/complaints/{complaint_id}", name="api_update_complaint")
async def update_complaint(
    db: SessionDep, user: CuratorUser, complaint_id: PathId, body: ComplaintUpdate
) -> ComplaintPublic:
    complaint = await complaint_service.get_complaint(db, user, complaint_id)
    changes = body.model_dump(mode="json", exclude_none=True)
    c = await complaint_service.update_complaint(db, user, complaint, changes)
    return await _complaint_public(db, c)


@router.post(
    "/complaints/import",
    name="api_import_complaints",
    openapi_extra=CSV_BODY_OPENAPI,
    responses={422: {"description": "Nothing imported: every bad row with its line"}},
)
async def import_complaints(
    request: Request, db: SessionDep, user: CuratorUser, encoding: CsvImportEncodingQuery = "auto"
) -> Any:
    """CSV `received_on,unit,category,status,summary` (UTF-8 with or without BOM, or CP932:
    see `encoding`); all rows or none. A bad file answers 422 with FastAPI's `detail` list, a
    `line` in each error."""
    data = await read_csv_body(request, complaint_service.IMPORT_MAX)
    try:
        n = await complaint_service.import_complaints(db, user, data, encoding)
    except ImportRejected as exc:
        return JSONResponse(
            {
                "detail": [
                    {"loc": ["body", "file"], "msg": e.message, "type": "csv_row", "line": e.line}
                    for e in exc.errors
                ]
            },
            status_code=422,
        )
    return ImportResult(imported=n)
