"""CSV import page `/admin/import` (admins): check a units or users file (a dry run that lists
every bad row and writes nothing), then import it, all rows or none.

The import does not trust the browser: the report carries the checked file back (base64 in a
hidden field), and the server checks it again before writing anything.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import AdminUser, SessionDep
from app.i18n import _
from app.models import User
from app.services.admin_import import COLUMNS, IMPORT_MAX, ImportKind, check_or_import
from app.services.csvimport import ENCODINGS, ImportReport
from app.services.errors import TooLarge
from app.services.uploads import MiB, read_multipart
from app.templating import is_htmx, render
from app.web import CSRF_FIELD, csrf_token

router = APIRouter(include_in_schema=False)

PREVIEW_MAX = 100  # rows of the "what will be created" table; the count covers them all
CONTENT_MAX = (IMPORT_MAX + 2) // 3 * 4  # the base64 of the largest file


@dataclass
class ImportSection:
    """One of the two forms of the page (units, users) and what its last submission found."""

    kind: str
    check_action: str
    run_action: str
    report: ImportReport | None = None
    content: str = ""  # the checked file, base64: the import form sends it back
    encoding: str = "auto"  # the encoding chosen for it (csvimport.ENCODINGS), sent back too
    filename: str = ""
    error: str = ""  # a problem with the upload itself (none chosen, too large)
    imported: bool = False  # the report is of a real import (written, or refused)

    @property
    def columns(self) -> str:
        return ",".join(COLUMNS[self.kind])

    @property
    def preview(self) -> list[dict[str, Any]]:
        return self.report.rows[:PREVIEW_MAX] if self.report else []


def _action(request: Request, name: str, kind: str) -> str:
    # Multipart forms carry the CSRF token in their action URL (see deps.guard_unsafe).
    path = request.app.url_path_for(name, kind=kind)
    return f"{path}?{urlencode({CSRF_FIELD: csrf_token(request)})}"


def _section(request: Request, kind: str, **kw: Any) -> ImportSection:
    return ImportSection(
        kind=kind,
        check_action=_action(request, "check_import", kind),
        run_action=_action(request, "run_import", kind),
        **kw,
    )


def _respond(request: Request, section: ImportSection, status_code: int) -> Response:
    """HTMX gets the report partial for the form's live region; a plain form the whole page."""
    if is_htmx(request):
        return render(request, "admin/_import_report.html", {"s": section}, status_code=status_code)
    sections = [
        section if kind == section.kind else _section(request, kind) for kind in ("units", "users")
    ]
    return render(
        request,
        "admin/import.html",
        {"sections": sections, "max_mb": IMPORT_MAX // MiB},
        status_code=status_code,
    )


@dataclass
class _Upload:
    data: bytes = b""
    filename: str = ""
    error: str = ""
    status: int = 200
    encoding: str = "auto"


async def _read_upload(request: Request) -> _Upload:
    """The chosen file (field `file`), else the file a report sent back (field `content`)."""
    try:
        form = await read_multipart(
            request,
            max_file_bytes=IMPORT_MAX,
            max_files=1,
            max_field_bytes=CONTENT_MAX + 1024,
            max_fields=6,
        )
    except TooLarge:
        return _Upload(
            error=_("The file is too large (at most %(size)s MB).") % {"size": IMPORT_MAX // MiB},
            status=413,
        )
    encoding = form.value("encoding") or "auto"
    if encoding not in ENCODINGS:
        return _Upload(error=_("Choose one of the options."), status=422)
    try:
        upload = form.file("file")
        if upload is not None:
            return _Upload(upload.path.read_bytes(), upload.filename, encoding=encoding)
    finally:
        await form.aclose()
    content = form.value("content")
    if content is None:
        return _Upload(error=_("Choose a CSV file."), status=422)
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return _Upload(
            error=_("The checked file did not come back intact; check it again."), status=422
        )
    return _Upload(data, (form.value("filename") or "")[:200], encoding=encoding)


async def _submit(
    request: Request, db: AsyncSession, user: User, kind: str, *, dry_run: bool
) -> Response:
    upload = await _read_upload(request)
    if upload.error:
        section = _section(request, kind, error=upload.error)
        return _respond(request, section, upload.status)
    report = await check_or_import(
        db, kind, upload.data, user, dry_run=dry_run, encoding=upload.encoding
    )
    section = _section(
        request,
        kind,
        report=report,
        encoding=upload.encoding,
        content=base64.b64encode(upload.data).decode("ascii") if report.ok and dry_run else "",
        filename=upload.filename,
        imported=not dry_run,
    )
    return _respond(request, section, 200 if report.ok else 422)


@router.get("/admin/import", name="admin_import")
async def admin_import(request: Request, user: AdminUser) -> Response:
    sections = [_section(request, kind) for kind in ("units", "users")]
    return render(request, "admin/import.html", {"sections": sections, "max_mb": IMPORT_MAX // MiB})


@router.post("/admin/import/{kind}/check", name="check_import")
async def check_import(
    request: Request, db: SessionDep, user: AdminUser, kind: ImportKind
) -> Response:
    """Dry run: the report of every bad row and a preview; nothing is written."""
    return await _submit(request, db, user, kind, dry_run=True)


@router.post("/admin/import/{kind}", name="run_import")
async def run_import(
    request: Request, db: SessionDep, user: AdminUser, kind: ImportKind
) -> Response:
    """The import: the file is checked again here, then every row is written, or none."""
    return await _submit(request, db, user, kind, dry_run=False)
