"""KPI exports: exactly the table on the screen, as CSV (UTF-8 with BOM or CP932, for Excel) or XLSX
(number cells, frozen header), with headers in the user's language."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from babel.dates import format_skeleton
from fastapi.responses import Response

from app import i18n
from app.downloads import export_headers
from app.i18n import _
from app.services.kpi.matrix import MatrixRow, PraiseMatrix
from app.services.kpi.report import Report
from app.services.kpi.voices import VoicesTable
from app.services.spreadsheet import CSV_MEDIA_TYPES, CsvEncoding, csv_bytes, safe_cell

Format = Literal["csv", "xlsx"]
Cell = str | int | float | None
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    frozen_columns: int = 1  # columns kept in view when scrolling sideways
    decimal_columns: set[int] = field(default_factory=set)  # shown with one decimal


def month_heading(month: date, closed: bool) -> str:
    text = str(format_skeleton("yMMM", month, locale=i18n.current_locale.get()))
    return _("%(month)s (closed)") % {"month": text} if closed else text


def fiscal_year_label(fy: int) -> str:
    return _("FY%(year)s") % {"year": fy}


def row_label(row: MatrixRow) -> str:
    name = " › ".join([*row.path, row.name])
    return _("%(unit)s (direct)") % {"unit": name} if row.direct else name


def matrix_sheet(matrix: PraiseMatrix) -> Sheet:
    header = [
        _("Code"),
        _("Unit"),
        *(month_heading(m, c) for m, c in zip(matrix.months, matrix.closed, strict=True)),
        _("Total"),
        _("Last year"),
        _("Year on year (%)"),
    ]
    title = f"{fiscal_year_label(matrix.fiscal_year)} {_('Praise')}"
    sheet = Sheet(title, header, frozen_columns=2, decimal_columns={len(header) - 1})

    def add(row: MatrixRow, code: str, label: str) -> None:
        ratio = row.yoy
        sheet.rows.append(
            [
                code,
                label,
                *row.counts,
                row.total,
                row.previous,
                float(ratio) if ratio is not None else None,
            ]
        )
        if row.has_corrections:
            sheet.rows.append(
                [code, f"  {_('Corrections')}", *row.corrections, row.corrections_total, None, None]
            )

    for row in matrix.rows:
        add(row, row.code, row_label(row))
    add(matrix.total, matrix.base.code, _("Total (%(unit)s)") % {"unit": matrix.base.name})
    return sheet


def voices_sheet(table: VoicesTable) -> Sheet:
    title = f"{fiscal_year_label(table.fiscal_year)} {_('Customer voices')}"
    sheet = Sheet(
        title,
        [_("Section"), _("Item"), _("Count"), _("Share (%)")],
        frozen_columns=2,
        decimal_columns={3},
    )
    received = _("Voices received")
    breakdown = _("Complaints by category")
    sheet.rows += [
        [received, _("Praise"), table.praise, None],
        [received, _("Complaints"), table.complaints, None],
        [received, _("Total"), table.total, None],
    ]
    for c in table.categories:
        sheet.rows.append([breakdown, c.label, c.count, float(c.share)])
    sheet.rows.append([breakdown, _("Total"), table.complaints, float(table.total_share)])
    return sheet


def to_csv(sheet: Sheet, encoding: CsvEncoding = "utf-8") -> bytes:
    return csv_bytes(
        sheet.header,
        (
            [
                # one decimal, as a number: a number is never taken for a formula
                Decimal(f"{v:.1f}") if isinstance(v, float) and i in sheet.decimal_columns else v
                for i, v in enumerate(row)
            ]
            for row in sheet.rows
        ),
        encoding,
    )


def to_xlsx(sheet: Sheet, *more: Sheet) -> bytes:
    """One workbook: a worksheet per sheet, in order."""
    # Imported here, not at start-up: openpyxl is a tenth of a worker's import time and only
    # this export needs it. It ships no type hints (pyproject.toml is not ours to change).
    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    _fill(ws, sheet)
    for other in more:
        _fill(wb.create_sheet(), other)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _fill(ws: Any, sheet: Sheet) -> None:
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    ws.title = sheet.title.translate(_SHEET_FORBIDDEN)[:31]
    ws.append(sheet.header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in sheet.rows:
        ws.append([safe_cell(v) for v in row])
    for col in sheet.decimal_columns:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
            cell.number_format = "0.0"
    ws.freeze_panes = ws.cell(row=2, column=sheet.frozen_columns + 1).coordinate
    for i, heading in enumerate(sheet.header, start=1):
        width = max([len(str(heading))] + [len(str(r[i - 1] or "")) for r in sheet.rows])
        ws.column_dimensions[get_column_letter(i)].width = min(max(8, width * 1.6), 48)


def render(sheet: Sheet, fmt: Format, encoding: CsvEncoding = "utf-8") -> bytes:
    return to_csv(sheet, encoding) if fmt == "csv" else to_xlsx(sheet)


def download_headers(stem: str, ascii_stem: str, fmt: Format) -> dict[str, str]:
    return export_headers(f"{stem}.{fmt}", f"{ascii_stem}.{fmt}")


def matrix_names(matrix: PraiseMatrix) -> tuple[str, str]:
    """(file name, ASCII fallback) without the extension."""
    fy = matrix.fiscal_year
    # The whole company is the default: only a unit below it goes into the name.
    code = matrix.base.code if matrix.base.parent is not None else ""
    stem = f"{_('Praise')}_{fiscal_year_label(fy)}" + (f"_{matrix.base.name}" if code else "")
    ascii_code = "".join(c for c in code if c.isascii() and (c.isalnum() or c in "-_"))
    return stem, f"praise-FY{fy}" + (f"-{ascii_code}" if ascii_code else "")


def voices_names(fy: int) -> tuple[str, str]:
    return f"{_('Customer voices')}_{fiscal_year_label(fy)}", f"voices-FY{fy}"


def download(
    sheet: Sheet, fmt: Format, names: tuple[str, str], encoding: CsvEncoding = "utf-8"
) -> Response:
    """`encoding` is the CSV's (UTF-8 with BOM, or CP932); an XLSX has none."""
    return Response(
        render(sheet, fmt, encoding),
        media_type=CSV_MEDIA_TYPES[encoding] if fmt == "csv" else CONTENT_TYPES[fmt],
        headers=download_headers(names[0], names[1], fmt),
    )


def praise_download(matrix: PraiseMatrix, fmt: Format, encoding: CsvEncoding = "utf-8") -> Response:
    """The praise matrix on the screen as a CSV or XLSX download."""
    return download(matrix_sheet(matrix), fmt, matrix_names(matrix), encoding)


def voices_download(table: VoicesTable, fmt: Format, encoding: CsvEncoding = "utf-8") -> Response:
    """The お客さまの声 table as a CSV or XLSX download."""
    return download(voices_sheet(table), fmt, voices_names(table.fiscal_year), encoding)


# The published report (services/kpi/report) ------------------------------------------------


def report_sheets(report: Report) -> tuple[Sheet, Sheet]:
    """Table (1) with the previous year beside it, the notes under it; the year's 好取組."""
    years = (fiscal_year_label(report.previous_year), fiscal_year_label(report.fiscal_year))
    header = [_("Section"), _("Item")]
    for year in years:
        header += [f"{year} {_('Count')}", f"{year} {_('Share (%)')}"]
    table = Sheet(
        f"{fiscal_year_label(report.fiscal_year)} {_('Customer-first report')}",
        header,
        frozen_columns=2,
        decimal_columns={3, 5},
    )
    prev, cur = report.previous, report.current
    received = _("Voices received")
    breakdown = _("Complaints by category")
    table.rows += [
        [received, _("Praise"), prev.praise, None, cur.praise, None],
        [received, _("Complaints"), prev.complaints, None, cur.complaints, None],
        [received, _("Total"), prev.total, None, cur.total, None],
    ]
    for c in report.categories:
        table.rows.append(
            [
                breakdown,
                c.label,
                c.previous,
                float(c.previous_share),
                c.current,
                float(c.current_share),
            ]
        )
    table.rows.append(
        [
            breakdown,
            _("Total"),
            prev.complaints,
            float(prev.total_share),
            cur.complaints,
            float(cur.total_share),
        ]
    )
    table.rows += [[_("Notes"), note, None, None, None, None] for note in report.notes]

    gp = report.good_practice
    practice = Sheet(
        f"{years[1]} {_('Good practice')}",
        [
            _("Region"),
            _("Audience (people)"),
            _("Readers"),
            _("Read rate (%)"),
            _("Shops in the audience × items"),
            _("Adopted"),
            _("Adoption rate (%)"),
        ],
        decimal_columns={3, 6},
    )
    for line in [*gp.regions, gp.total]:
        name = line.name or (_("Whole company") if line is gp.total else _("Outside any region"))
        practice.rows.append(
            [
                name,
                line.users,
                line.readers,
                line.read_rate,
                line.shops,
                line.adopted,
                line.adoption_rate,
            ]
        )
    practice.rows += [
        [_("Bulletins sent"), gp.bulletins, None, None, None, None, None],
        [_("Items"), gp.items, None, None, None, None, None],
    ]
    return table, practice


def report_names(fy: int) -> tuple[str, str]:
    return f"{_('Customer-first report')}_{fiscal_year_label(fy)}", f"report-FY{fy}"


def report_download(report: Report) -> Response:
    """The report as an XLSX workbook: table (1) and the year's good practice."""
    return Response(
        to_xlsx(*report_sheets(report)),
        media_type=CONTENT_TYPES["xlsx"],
        headers=download_headers(*report_names(report.fiscal_year), "xlsx"),
    )
