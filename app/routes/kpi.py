"""KPI pages `/kpi` and their HTMX fragments: the praise matrix with drill-down, chart, year
on year, exports and month close (every logged-in user sees the praise KPI; curators close,
and ask for a month to be reopened, which an administrator approves on /approvals); and,
for curators, engagement and the お客さまの声 受付状況 with complaint entry, status changes and
the CSV import."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from app import i18n
from app.deps import CuratorUser, CurrentUser, SessionDep
from app.fiscal import fiscal_year_months, fiscal_year_of
from app.i18n import _
from app.inputs import CsvEncodingQuery, PathId
from app.models import ComplaintStatus, User
from app.permissions import is_curator
from app.services import approvals, kpi, scope
from app.services import complaints as complaint_service
from app.services.csvimport import ImportRejected, RowError, decode_csv
from app.services.errors import Conflict, InvalidInput
from app.services.kpi import export as kpi_export
from app.services.org import Tree, Unit
from app.services.uploads import read_multipart
from app.templating import is_htmx, render
from app.web import CSRF_FIELD, csrf_token
from app.web.forms import read_form

router = APIRouter(include_in_schema=False)

FY_MIN, FY_MAX = 2000, 2100  # the fiscal years a page may ask for
FiscalYear = Annotated[int | None, Query(ge=FY_MIN, le=FY_MAX)]
UnitCode = Annotated[str | None, Query(max_length=32)]
Depth = Annotated[int, Query(ge=1, le=kpi.MAX_DEPTH)]
MonthKey = Annotated[str | None, Query(max_length=7)]
DEPTHS = tuple(range(1, 4))


def _url(request: Request, name: str, /, **query: Any) -> str:
    path = str(request.app.url_path_for(name))
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path


def _chart(matrix: kpi.PraiseMatrix) -> dict[str, Any]:
    """What static/js/kpi.js draws, handed over in data-* attributes (no inline script)."""
    return {
        "labels": [i18n.format_month(k) for k in matrix.month_keys],
        "current": matrix.total.counts,
        "previous": matrix.previous_counts,
        "current_label": kpi_export.fiscal_year_label(matrix.fiscal_year),
        "previous_label": kpi_export.fiscal_year_label(matrix.fiscal_year - 1),
    }


def _within_scope(tree: Tree, user: User, base: Unit) -> dict[str, Any]:
    """The engagement of the matrix's unit, or of the top of a scoped curator's scope when
    that unit is outside it."""
    if scope.in_tree(tree, user, base):
        return {}
    top = scope.tree_top(tree, user)
    return {"unit": top.code if top else None}


async def _panel_context(
    request: Request,
    db: SessionDep,
    user: User,
    fy: int | None,
    unit: str | None,
    depth: int,
    month: str | None,
    *,
    error: str | None = None,
) -> dict[str, Any]:
    today = i18n.today()
    fy = kpi.fiscal_year_or_current(fy)
    tree = await kpi.load_tree(db)
    matrix = await kpi.praise_matrix(
        db, fy, unit=unit, depth=depth, month=kpi.month_or_none(month), tree=tree
    )
    code = matrix.base.code or None
    query = {"fy": fy, "unit": code, "depth": depth if depth != 1 else None}
    month_key = kpi.month_key(matrix.month)
    engagement_query = query | _within_scope(tree, user, matrix.base)
    return {
        "matrix": matrix,
        "fy": fy,
        "fiscal_years": kpi.fiscal_years_offered(today, fy),
        "depths": DEPTHS,
        "unit_code": code,
        "query": query,
        "self_url": _url(request, "kpi", **query),
        "drill_url": lambda c: _url(request, "kpi", fy=fy, unit=c),
        "month_url": lambda k: _url(request, "kpi", **query, month=k),
        "csv_url": _url(request, "export_praise_kpi", **query, format="csv"),
        "xlsx_url": _url(request, "export_praise_kpi", **query, format="xlsx"),
        # Per-unit activity ranks shops against each other: head office's figure (SPEC §1).
        "engagement_url": _url(request, "kpi_engagement", **engagement_query, month=month_key)
        if is_curator(user)
        else None,
        "month_key": month_key,
        "voices_url": _url(request, "kpi_voices", fy=fy),
        "chart": _chart(matrix),
        "closes": await kpi.month_status(db, matrix.months),
        "can_close": is_curator(user) and not scope.is_scoped(user),
        # Reopening takes two people: head office asks, an administrator approves.
        "can_reopen": is_curator(user) and not scope.is_scoped(user),
        "reopen_pending": await approvals.pending_reopens(db, user) if is_curator(user) else {},
        "closable_before": date(today.year, today.month, 1),
        "error": error,
    }


@router.get("/kpi", name="kpi")
async def kpi_page(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    fy: FiscalYear = None,
    unit: UnitCode = None,
    depth: Depth = 1,
    month: MonthKey = None,
) -> Response:
    ctx = await _panel_context(request, db, user, fy, unit, depth, month)
    template = "kpi/_panel.html" if is_htmx(request) else "kpi/index.html"
    return render(request, template, ctx)


@router.get("/kpi/export", name="export_praise_kpi")
async def export_praise_kpi(
    db: SessionDep,
    user: CurrentUser,
    format: Literal["csv", "xlsx"],
    fy: FiscalYear = None,
    unit: UnitCode = None,
    depth: Depth = 1,
    encoding: CsvEncodingQuery = "utf-8",
) -> Response:
    matrix = await kpi.praise_matrix(db, kpi.fiscal_year_or_current(fy), unit=unit, depth=depth)
    return kpi_export.praise_download(matrix, format, encoding)


@router.get("/kpi/engagement", name="kpi_engagement")
async def kpi_engagement(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    fy: FiscalYear = None,
    unit: UnitCode = None,
    depth: Depth = 1,
    month: MonthKey = None,
) -> Response:
    """Loaded into /kpi after the matrix (HTMX); a page of its own without JavaScript."""
    fy = kpi.fiscal_year_or_current(fy)
    chosen = kpi.chosen_month(fy, kpi.month_or_none(month), i18n.today())
    data = await kpi.engagement(db, chosen, user, unit=unit, depth=depth)
    ctx = {
        "engagement": data,
        "fy": fy,
        "months": fiscal_year_months(fy),
        "month_key": kpi.month_key(chosen),
        "depth": depth,
        "back_url": _url(request, "kpi", fy=fy, unit=data.base.code or None, depth=depth),
        "self_url": _url(
            request, "kpi_engagement", fy=fy, unit=data.base.code or None, depth=depth
        ),
    }
    template = "kpi/_engagement.html" if is_htmx(request) else "kpi/engagement.html"
    return render(request, template, ctx)


async def _after_close(
    request: Request, db: SessionDep, user: User, action: Any, month: str
) -> Response:
    form = await read_form(request)
    fy = form.get("fy")
    unit = form.get("unit") or None
    depth = form.get("depth") or "1"
    fy_int = int(fy) if fy.isascii() and fy.isdigit() and FY_MIN <= int(fy) <= FY_MAX else None
    depth_int = int(depth) if depth.isdigit() and 1 <= int(depth) <= kpi.MAX_DEPTH else 1
    error = None
    try:
        await action(db, user, kpi.parse_month(month))
    except Conflict as exc:
        error = exc.message
    if error is None and not is_htmx(request):
        depth_q = depth_int if depth_int != 1 else None
        return RedirectResponse(_url(request, "kpi", fy=fy_int, unit=unit, depth=depth_q), 303)
    ctx = await _panel_context(request, db, user, fy_int, unit, depth_int, None, error=error)
    template = "kpi/_panel.html" if is_htmx(request) else "kpi/index.html"
    return render(request, template, ctx, status_code=409 if error else 200)


@router.post("/kpi/months/{month}/close", name="close_kpi_month")
async def close_kpi_month(
    request: Request, db: SessionDep, user: CuratorUser, month: str
) -> Response:
    return await _after_close(request, db, user, kpi.close_month, month)


@router.post("/kpi/months/{month}/reopen", name="reopen_kpi_month")
async def reopen_kpi_month(
    request: Request, db: SessionDep, user: CuratorUser, month: str
) -> Response:
    """Ask for the month to be reopened: an administrator approves it on /approvals."""
    return await _after_close(request, db, user, approvals.request_reopen, month)


# お客さまの声 受付状況 (curators) ----------------------------------------------------------------


def _empty_complaint() -> dict[str, str]:
    return {
        "received_on": i18n.today().isoformat(),
        "unit": "",
        "category": "",
        "status": ComplaintStatus.received,
        "summary": "",
    }


async def _voices_context(
    request: Request,
    db: SessionDep,
    user: User,
    fy: int | None,
    *,
    status: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    import_errors: list[RowError] | None = None,
    flash: str | None = None,
) -> dict[str, Any]:
    fy = kpi.fiscal_year_or_current(fy)
    if status not in {s.value for s in ComplaintStatus}:
        status = None
    return {
        "fy": fy,
        "fiscal_years": kpi.fiscal_years_offered(i18n.today(), fy),
        "table": await kpi.voices_table(db, fy, user),
        "complaints": await complaint_service.list_complaints(db, user, fy, status=status),
        "list_limit": complaint_service.LIST_LIMIT,
        "status_filter": status,
        "values": values or _empty_complaint(),
        "errors": errors or {},
        "import_errors": import_errors or [],
        "flash": flash,
        "csv_url": _url(request, "export_voices_kpi", fy=fy, format="csv"),
        "xlsx_url": _url(request, "export_voices_kpi", fy=fy, format="xlsx"),
        "kpi_url": _url(request, "kpi", fy=fy),
        "import_action": _url(request, "import_complaints", **{CSRF_FIELD: csrf_token(request)}),
        "max_summary": complaint_service.SUMMARY_MAX,
    }


@router.get("/kpi/voices", name="kpi_voices")
async def kpi_voices(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    fy: FiscalYear = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    created: Annotated[int | None, Query()] = None,
    imported: Annotated[int | None, Query()] = None,
) -> Response:
    flash = None
    if created:
        flash = _("The complaint was recorded.")
    elif imported is not None:
        flash = _("%(n)s complaints were imported.") % {"n": imported}
    ctx = await _voices_context(request, db, user, fy, status=status, flash=flash)
    return render(request, "kpi/voices.html", ctx)


@router.get("/kpi/voices/export", name="export_voices_kpi")
async def export_voices_kpi(
    db: SessionDep,
    user: CuratorUser,
    format: Literal["csv", "xlsx"],
    fy: FiscalYear = None,
    encoding: CsvEncodingQuery = "utf-8",
) -> Response:
    table = await kpi.voices_table(db, kpi.fiscal_year_or_current(fy), user)
    return kpi_export.voices_download(table, format, encoding)


@router.post("/kpi/complaints", name="create_complaint")
async def create_complaint(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    form = await read_form(request)
    values = {k: form.get(k) for k in complaint_service.COLUMNS}
    try:
        complaint = await complaint_service.create_complaint(db, user, dict(values))
    except InvalidInput as exc:
        fy = _fy_of_text(values["received_on"])
        ctx = await _voices_context(request, db, user, fy, values=values, errors=exc.by_field())
        return render(request, "kpi/voices.html", ctx, status_code=422)
    fy = fiscal_year_of(complaint.received_on)
    return RedirectResponse(_url(request, "kpi_voices", fy=fy, created=1) + "#complaints", 303)


def _fy_of_text(text: str) -> int | None:
    try:
        return fiscal_year_of(date.fromisoformat(text))
    except ValueError:
        return None


@router.post("/kpi/complaints/{complaint_id}/status", name="update_complaint_status")
async def update_complaint_status(
    request: Request, db: SessionDep, user: CuratorUser, complaint_id: PathId
) -> Response:
    form = await read_form(request)
    complaint = await complaint_service.get_complaint(db, user, complaint_id)
    try:
        await complaint_service.update_complaint(
            db, user, complaint, {"status": form.get("status")}
        )
    except InvalidInput as exc:
        raise HTTPException(422, next(iter(exc.by_field().values()))) from exc
    fy = fiscal_year_of(complaint.received_on)
    if not is_htmx(request):
        return RedirectResponse(
            _url(request, "kpi_voices", fy=fy) + f"#complaint-{complaint_id}", 303
        )
    ctx = {
        "c": await complaint_service.complaint_row(db, complaint_id),
        "saved": True,
    }
    return render(request, "kpi/_complaint_row.html", ctx)


@router.post("/kpi/complaints/import", name="import_complaints")
async def import_complaints(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    """A CSV file from the import form (multipart; the CSRF token rides in the action URL)."""
    form = await read_multipart(request, max_file_bytes=complaint_service.IMPORT_MAX, max_files=1)
    try:
        upload = form.file("file")
        data = upload.path.read_bytes() if upload is not None else b""
    finally:
        await form.aclose()
    fy_text = form.value("fy") or ""
    fy = int(fy_text) if fy_text.isdigit() else None
    try:
        if not data:
            raise ImportRejected([RowError(1, _("Choose a CSV file."))])
        text = decode_csv(data, form.value("encoding") or "auto")
        n = await complaint_service.import_complaints(db, user, text)
    except ImportRejected as exc:
        ctx = await _voices_context(request, db, user, fy, import_errors=exc.errors)
        return render(request, "kpi/voices.html", ctx, status_code=422)
    return RedirectResponse(_url(request, "kpi_voices", fy=fy, imported=n) + "#complaints", 303)
