"""The audit log `/audit` (curators): filtered table, next page, CSV export of the same rows.

Read-only: there is no route that edits or deletes an audit row.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app import i18n
from app.deps import CuratorUser, SessionDep
from app.downloads import export_headers
from app.inputs import CsvEncodingQuery, FormDay
from app.services import audit_log, audit_view
from app.services.audit_log import AuditFilters
from app.services.spreadsheet import CSV_MEDIA_TYPES
from app.templating import render

router = APIRouter(include_in_schema=False)


def _filters(
    actor: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    date_from: Annotated[FormDay, Query(alias="from")] = None,
    date_to: Annotated[FormDay, Query(alias="to")] = None,
) -> AuditFilters:
    # Empty form fields arrive as "" and an unreadable date is ignored: they mean "no filter".
    return AuditFilters(
        actor=(actor or "").strip() or None,
        action=(action or "").strip() or None,
        date_from=date_from,
        date_to=date_to,
    )


FiltersDep = Annotated[AuditFilters, Depends(_filters)]


@router.get("/audit", name="audit")
async def audit(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    rows, next_cursor = await audit_log.list_entries(db, filters, user, cursor=cursor)
    base = str(request.app.url_path_for("audit"))
    params = filters.query_params()
    next_url = f"{base}?{urlencode({**params, 'cursor': next_cursor})}" if next_cursor else None
    csv_url = str(request.app.url_path_for("export_audit"))
    return render(
        request,
        "audit/index.html",
        {
            "rows": await audit_view.describe(db, rows),
            "filters": filters,
            "actions": await audit_log.known_actions(db),
            "action_labels": audit_log.action_labels(),
            "next_url": next_url,
            "csv_url": f"{csv_url}?{urlencode(params)}" if params else csv_url,
        },
    )


@router.get("/audit.csv", name="export_audit")
async def export_audit(
    db: SessionDep, user: CuratorUser, filters: FiltersDep, encoding: CsvEncodingQuery = "utf-8"
) -> Response:
    """Exactly the rows the same filters show on /audit, all pages, as CSV for Excel."""
    rows = await audit_log.all_entries(db, filters, user)
    name = f"audit-log-{i18n.today():%Y%m%d}.csv"
    return Response(
        audit_log.to_csv(rows, encoding),
        media_type=CSV_MEDIA_TYPES[encoding],
        headers=export_headers(name),
    )
