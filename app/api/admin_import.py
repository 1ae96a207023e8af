"""CSV import of units and users over JSON (admins): a dry run by default, then the import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import AdminUser, SessionDep
from app.inputs import CsvImportEncodingQuery
from app.models import User
from app.services.admin_import import IMPORT_MAX, check_or_import
from app.services.csvimport import ImportReport
from app.services.uploads import CSV_BODY_OPENAPI, MiB, read_csv_body

router = APIRouter(tags=["admin"])


class ImportRowError(BaseModel):
    line: int
    code: str
    message: str


class ImportOutcome(BaseModel):
    dry_run: bool
    ok: bool
    created: int
    rows_read: int
    errors: list[ImportRowError]
    rows: list[dict[str, Any]]

    @classmethod
    def of(cls, report: ImportReport, *, dry_run: bool) -> ImportOutcome:
        return cls(
            dry_run=dry_run,
            ok=report.ok,
            created=report.created,
            rows_read=report.rows_read,
            errors=[
                ImportRowError(line=e.line, code=e.code, message=e.message) for e in report.errors
            ],
            rows=report.rows,
        )


DryRun = Annotated[
    bool,
    Query(
        description="true (the default): check only and write nothing; "
        "false: check again and import all rows, or none"
    ),
]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Imported: every row was written (dry_run=false)", "model": ImportOutcome},
    413: {"description": f"The file is larger than {IMPORT_MAX // MiB} MB"},
    415: {"description": "Neither multipart/form-data nor text/csv"},
    422: {
        "description": "A bad file: nothing was written. The body has the fields of a "
        "success answer with `ok: false` and every bad row in `errors`, and the same rows in "
        'FastAPI\'s `detail` list (`{"loc", "msg", "type": "csv_row", "line", "code"}`)'
    },
}
_ABOUT = """

Send the file as `multipart/form-data` (field `file`) or as a `text/csv` body, UTF-8 with or
without BOM or CP932 (Shift_JIS, see `encoding`), at most 2 MB, header row first (column
names in any order and case; other columns, a password say, are ignored). `dry_run` is
**true by default**: the file is only checked, and the answer lists every bad row (`line` in
the file, the header being line 1, its `code` and the reason) and previews in `rows` what
would be created. With `dry_run=false` the same check runs again on the server and then
every row is written in one transaction with one audit log entry, or nothing is (422).
`created` counts the rows written (0 on a dry run)."""


async def _answer(
    request: Request, db: AsyncSession, kind: str, user: User, dry_run: bool, encoding: str
) -> Any:
    data = await read_csv_body(request, IMPORT_MAX)
    report = await check_or_import(db, kind, data, user, dry_run=dry_run, encoding=encoding)
    outcome = ImportOutcome.of(report, dry_run=dry_run).model_dump(mode="json")
    if not report.ok:
        detail = [
            {
                "loc": ["body", "file"],
                "msg": e.message,
                "type": "csv_row",
                "line": e.line,
                "code": e.code,
            }
            for e in report.errors
        ]
        return JSONResponse({"detail": detail, **outcome}, status_code=422)
    return JSONResponse(outcome, status_code=200 if dry_run else 201)


@router.post(
    "/admin/import/units",
    name="api_import_units",
    response_model=ImportOutcome,
    openapi_extra=CSV_BODY_OPENAPI,
    responses=_RESPONSES,
    description="Check or import org units from CSV `code,name,kind,parent` (parent by code: "
    "an active unit that exists or one in the same file, in any order; empty for a root)." + _ABOUT,
)
async def import_units(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    dry_run: DryRun = True,
    encoding: CsvImportEncodingQuery = "auto",
) -> Any:
    return await _answer(request, db, "units", user, dry_run, encoding)


@router.post(
    "/admin/import/users",
    name="api_import_users",
    response_model=ImportOutcome,
    openapi_extra=CSV_BODY_OPENAPI,
    responses=_RESPONSES,
    description="Check or import users from CSV `code,name,email,unit,role` (unit by code: an "
    "active unit that already exists, so import a units file first; role staff, curator or "
    "admin; email may be empty). Imported users have no password: they sign in by SSO or get "
    "a one-time password from an admin." + _ABOUT,
)
async def import_users(
    request: Request,
    db: SessionDep,
    user: AdminUser,
    dry_run: DryRun = True,
    encoding: CsvImportEncodingQuery = "auto",
) -> Any:
    return await _answer(request, db, "users", user, dry_run, encoding)
