"""The published report `/kpi/report` (head office: curators without a scope, admins; it is
the whole company's): the page (printable on A4), its PDF and its
XLSX, all drawn from the one `Report` of services/kpi/report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app import i18n
from app.deps import HeadOfficeUser, SessionDep
from app.downloads import export_headers
from app.pdf import MEDIA_TYPE, html_to_pdf
from app.services import kpi
from app.services.kpi import export as kpi_export
from app.services.kpi import report as kpi_report
from app.templating import render

router = APIRouter(include_in_schema=False)

# Any integer: services/kpi/report says which years have a report (a clear 422 otherwise).
ReportYear = Annotated[int | None, Query()]


async def _report(db: SessionDep, user: HeadOfficeUser, fy: int | None) -> kpi_report.Report:
    return await kpi_report.published_report(db, user, kpi_report.report_year(fy))


@router.get("/kpi/report", name="kpi_report")
async def report_page(
    request: Request, db: SessionDep, user: HeadOfficeUser, fy: ReportYear = None
) -> Response:
    report = await _report(db, user, fy)
    year = report.fiscal_year
    path = request.app.url_path_for
    return render(
        request,
        "kpi/report.html",
        {
            "report": report,
            "fy": year,
            "fiscal_years": [
                y
                for y in kpi.fiscal_years_offered(i18n.today(), year)
                if y >= kpi_report.FIRST_YEAR
            ],
            "pdf_url": f"{path('kpi_report_pdf')}?fy={year}",
            "xlsx_url": f"{path('kpi_report_xlsx')}?fy={year}",
            "voices_url": f"{path('kpi_voices')}?fy={year}",
        },
    )


@router.get("/kpi/report.pdf", name="kpi_report_pdf")
async def report_pdf(
    request: Request, db: SessionDep, user: HeadOfficeUser, fy: ReportYear = None
) -> Response:
    report = await _report(db, user, fy)
    html = bytes(render(request, "kpi/report_pdf.html", {"report": report}).body).decode()
    stem, ascii_stem = kpi_export.report_names(report.fiscal_year)
    return Response(
        await html_to_pdf(html, "report.css"),
        media_type=MEDIA_TYPE,
        headers=export_headers(f"{stem}.pdf", f"{ascii_stem}.pdf"),
    )


@router.get("/kpi/report.xlsx", name="kpi_report_xlsx")
async def report_xlsx(db: SessionDep, user: HeadOfficeUser, fy: ReportYear = None) -> Response:
    return kpi_export.report_download(await _report(db, user, fy))
