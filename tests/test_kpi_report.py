"""The published report `/kpi/report` (issue 17 §5): the agency's FY2019 table (1) loaded as
raw entries — 210 praise posts, 349 complaints in six categories — and every number and
share checked in the page, the XLSX cells and the PDF's text; the year's 好取組 by region;
who may see it; years that have no report."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from app.labels import complaint_category_labels
from app.models import Bulletin, BulletinAudience, BulletinItem, BulletinRead, RolloutResponse
from app.services import complaints as complaint_service
from app.services.bulletins.stats import BulletinYear, RegionYear, year_by_region
from app.services.kpi import percent
from app.services.kpi.export import report_sheets
from app.services.kpi.report import Report, report_notes
from app.services.kpi.voices import CategoryShare, VoicesTable
from tests import test_kpi
from tests.factories import login_as, make_post, make_user, soup

FY = 2019
org = test_kpi.org  # the same company: two regions, a branch with two shops, a department
CATEGORIES = ["renewal_contract", "change_cancel", "premium", "claim", "personal_info", "other"]
LABELS = [
    "満期案内・契約手続関連",
    "変更・解約・保全関連",
    "保険料収納関連",
    "保険金関連",
    "個人情報関連",
    "その他",
]
# The published FY2019 figures: complaints per category in SPEC order, and their 構成比
# (count ÷ 349, rounded half up to one decimal: they add up to 99.9, the total says 100.0).
COUNTS_2019 = [115, 103, 12, 34, 4, 81]
SHARES_2019 = ["33.0", "29.5", "3.4", "9.7", "1.1", "23.2"]
PRAISE_2019 = 210
# The year before, as loaded here: 5 praise (from 2018-10, when the board started), 3 complaints.
COUNTS_2018 = [0, 0, 0, 2, 0, 1]
SHARES_2018 = ["0.0", "0.0", "0.0", "66.7", "0.0", "33.3"]
PRAISE_2018 = 5


@pytest.fixture
async def people(db, org):
    return {
        "staff": await make_user(db, org["S-SJK"], role="staff"),
        "staff_uen": await make_user(db, org["S-UEN"], role="staff"),
        "staff_osk": await make_user(db, org["S-OSK"], role="staff"),
        "curator": await make_user(db, org["D-QA"], role="curator"),
        "admin": await make_user(db, org["D-QA"], role="admin"),
    }


def _days(first: date, last: date, n: int) -> list[date]:
    """n dates spread from first to last, both included."""
    span = (last - first).days
    return [first + timedelta(days=span * i // (n - 1)) for i in range(n)]


@pytest.fixture
async def fy2019(db, org, people):
    """The report's figures as raw entries: praise posts through the factory, complaints
    through the CSV import of services/complaints (the curators' way in)."""
    staff, osk = people["staff"], people["staff_osk"]
    # FY2018: the board started in October 2018.
    for i, day in enumerate(_days(date(2018, 10, 1), date(2019, 3, 31), PRAISE_2018)):
        await make_post(db, staff if i % 2 else osk, received_on=day, unit_id=org["S-SJK"].id)
    # FY2019: the first and the last day of the year included.
    for i, day in enumerate(_days(date(2019, 4, 1), date(2020, 3, 31), PRAISE_2019)):
        author = (staff, osk)[i % 2]
        await make_post(db, author, received_on=day, unit_id=author.unit_id)
    # What does not count: FY2020, a hidden one, a draft, know-how.
    await make_post(db, staff, received_on=date(2020, 4, 1))
    await make_post(db, staff, received_on=date(2019, 6, 1), status="hidden")
    await make_post(db, staff, received_on=date(2019, 6, 1), status="draft")
    await make_post(db, staff, kind="knowhow", category="tool", received_on=None)
    lines = ["received_on,unit,category,status,summary"]
    for year, counts, first, last in (
        (2018, COUNTS_2018, date(2018, 4, 1), date(2019, 3, 31)),
        (2019, COUNTS_2019, date(2019, 4, 1), date(2020, 3, 31)),
    ):
        for category, n in zip(CATEGORIES, counts, strict=True):
            for i, day in enumerate(_days(first, last, n) if n > 1 else [first] * n):
                unit = ("S-SJK", "S-OSK", "B-TKY")[i % 3]
                lines.append(f"{day.isoformat()},{unit},{category},resolved,{year}年の記録")
    n = await complaint_service.import_complaints(db, people["curator"], "\n".join(lines))
    assert n == sum(COUNTS_2018) + sum(COUNTS_2019)


def _cells(row) -> list[str]:
    return [c.get_text(" ", strip=True) for c in row.select("th, td")]


async def test_the_fy2019_table_in_the_page(client, db, fy2019, people):
    await login_as(client, people["curator"])
    page = await client.get(f"/kpi/report?fy={FY}")
    assert page.status_code == 200
    html = soup(page)
    voices = html.select_one("table.report-voices")
    assert _cells(voices.select_one("thead tr")) == ["項目", "2018年度", "2019年度"]
    assert _cells(voices.select_one("[data-row=praise]")) == ["お褒めの声", "5", "210"]
    assert _cells(voices.select_one("[data-row=complaints]")) == ["ご不満の声", "3", "349"]
    assert _cells(voices.select_one("[data-row=total]")) == ["合計", "8", "559"]
    breakdown = html.select_one("table.report-breakdown")
    lines = [_cells(r) for r in breakdown.select("tbody tr")]
    assert lines == [
        [label, str(p), f"{ps}%", str(c), f"{cs}%"]
        for label, p, ps, c, cs in zip(
            LABELS, COUNTS_2018, SHARES_2018, COUNTS_2019, SHARES_2019, strict=True
        )
    ]
    assert _cells(breakdown.select_one("tfoot tr")) == ["合計", "3", "100.0%", "349", "100.0%"]
    notes = [li.get_text(strip=True) for li in html.select(".report-notes li")]
    assert any("2018年10月" in n for n in notes)
    assert any("保険会社" in n for n in notes)
    assert any("100.0%" in n for n in notes)
    assert html.select_one("a[href='/kpi/report.pdf?fy=2019']")
    assert html.select_one("a[href='/kpi/report.xlsx?fy=2019']")
    voices = soup(await client.get(f"/kpi/voices?fy={FY}"))
    assert voices.select_one("a[href='/kpi/report?fy=2019']")  # the way there


async def test_the_fy2019_table_in_the_xlsx(client, db, fy2019, people):
    await login_as(client, people["curator"])
    r = await client.get(f"/kpi/report.xlsx?fy={FY}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="report-FY2019.xlsx"' in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    ws = book.worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == [
        "区分",
        "項目",
        "2018年度 件数",
        "2018年度 構成比（%）",
        "2019年度 件数",
        "2019年度 構成比（%）",
    ]
    assert rows[1][1:] == ["お褒めの声", 5, None, 210, None]
    assert rows[2][1:] == ["ご不満の声", 3, None, 349, None]
    assert rows[3][1:] == ["合計", 8, None, 559, None]
    for i, label in enumerate(LABELS):
        line = rows[4 + i]
        assert line[1:] == [
            label,
            COUNTS_2018[i],
            float(SHARES_2018[i]),
            COUNTS_2019[i],
            float(SHARES_2019[i]),
        ]
        assert ws.cell(row=5 + i, column=6).number_format == "0.0"
        assert ws.cell(row=5 + i, column=5).data_type == "n"
    assert rows[10][1:] == ["合計", 3, 100.0, 349, 100.0]
    notes = [r[1] for r in rows[11:] if r[0] == "注記"]
    assert len(notes) == 3 and "2018年10月" in notes[0]


async def test_the_fy2019_table_in_the_pdf(client, db, fy2019, people):
    await login_as(client, people["curator"])
    r = await client.get(f"/kpi/report.pdf?fy={FY}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert 'filename="report-FY2019.pdf"' in r.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(r.content))
    page = reader.pages[0]
    width_mm, height_mm = (
        float(v) * 25.4 / 72 for v in (page.mediabox.width, page.mediabox.height)
    )
    assert (round(width_mm), round(height_mm)) == (210, 297)  # A4
    text = "\n".join(p.extract_text() for p in reader.pages)
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    assert "お褒めの声 5 210" in lines
    assert "ご不満の声 3 349" in lines
    assert "合計 8 559" in lines
    for label, p, ps, c, cs in zip(
        LABELS, COUNTS_2018, SHARES_2018, COUNTS_2019, SHARES_2019, strict=True
    ):
        assert f"{label} {p} {ps}% {c} {cs}%" in lines, (label, lines)
    assert "合計 3 100.0% 349 100.0%" in lines
    assert "2018年10月" in text and "保険会社" in text
    # The Japanese font is embedded (a subset), not left to the reader's machine.
    fonts = {
        str(f.get_object()["/BaseFont"])
        for p in reader.pages
        for f in p["/Resources"]["/Font"].values()
    }
    assert any("CJK" in name and "+" in name for name in fonts), fonts
    for p in reader.pages:
        for f in p["/Resources"]["/Font"].values():
            descendant = f.get_object()["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor)


async def test_english_report(client, db, fy2019, org):
    await login_as(client, await make_user(db, org["D-QA"], role="curator", locale="en"))
    html = soup(await client.get(f"/kpi/report?fy={FY}"))
    voices = html.select_one("table.report-voices")
    assert _cells(voices.select_one("thead tr")) == ["Item", "FY2018", "FY2019"]
    assert _cells(voices.select_one("[data-row=total]")) == ["Total", "8", "559"]
    assert "October 2018" in html.select_one(".report-notes").text
    ws = load_workbook(
        io.BytesIO((await client.get(f"/kpi/report.xlsx?fy={FY}")).content)
    ).worksheets[0]
    assert ws.cell(row=1, column=3).value == "FY2018 Count"


# The year's good practice (好取組) ---------------------------------------------------------------


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


async def _bulletin(db, by, fy, *, posts, audience=(), status="published", volume=None):
    b = Bulletin(
        title=f"好取組情報 {fy}",
        status=status,
        audience_all=not audience,
        fiscal_year=fy if status == "published" else None,
        volume=volume,
        published_at=_at(date(fy, 6, 1)) if status == "published" else None,
        created_by_id=by.id,
    )
    db.add(b)
    await db.commit()
    await db.refresh(b)
    for unit in audience:
        db.add(BulletinAudience(bulletin_id=b.id, unit_id=unit.id))
    items = []
    for i, post in enumerate(posts):
        item = BulletinItem(bulletin_id=b.id, post_id=post.id, position=i)
        db.add(item)
        items.append(item)
    await db.commit()
    for item in items:
        await db.refresh(item)
    return b, items


async def test_the_years_good_practice_by_region(client, db, org, people):
    cur, staff, uen, osk = (people[k] for k in ("curator", "staff", "staff_uen", "staff_osk"))
    post = [await make_post(db, staff, received_on=date(2019, 5, 1)) for _ in range(3)]
    # For everyone, two items; for 西日本 only, one item; a draft and last year's do not count.
    b1, (i1, i2) = await _bulletin(db, cur, FY, posts=post[:2], volume=1)
    b2, (i3,) = await _bulletin(db, cur, FY, posts=post[2:], audience=[org["R-W"]], volume=2)
    await _bulletin(db, cur, FY, posts=post[:1], status="draft")
    await _bulletin(db, cur, FY - 1, posts=post[:1], volume=1)
    now = _at(date(2019, 6, 2))
    for bulletin, reader in ((b1, staff), (b1, osk), (b1, cur), (b2, osk)):
        db.add(BulletinRead(bulletin_id=bulletin.id, user_id=reader.id, read_at=now))
    for item, shop, answer, by in (
        (i1, "S-SJK", "adopted", staff),
        (i1, "S-OSK", "adopted", osk),
        (i2, "S-UEN", "trialling", uen),
        (i2, "S-OSK", "not_applicable", osk),
        (i3, "S-OSK", "adopted", osk),
    ):
        db.add(
            RolloutResponse(
                item_id=item.id,
                unit_id=org[shop].id,
                answer=answer,
                answered_by_id=by.id,
                answered_at=now,
            )
        )
    await db.commit()
    await login_as(client, cur)
    html = soup(await client.get(f"/kpi/report?fy={FY}"))
    assert html.select_one("[data-figure=bulletins]").text == "2"
    assert html.select_one("[data-figure=items]").text == "3"
    table = html.select_one("table.report-regions")
    rows = {r["data-region"]: _cells(r)[1:] for r in table.select("tr[data-region]")}
    # audience people, readers, read rate, shops × items, adopted, adoption rate
    assert rows["R-E"] == ["2", "1", "50.0%", "4", "1", "25.0%"]
    assert rows["R-W"] == ["2", "2", "100.0%", "3", "2", "66.7%"]
    assert rows[""] == ["2", "1", "50.0%", "0", "0", "—"]  # 品質管理部: outside any region
    assert rows["total"] == ["6", "4", "66.7%", "7", "3", "42.9%"]
    ws = load_workbook(
        io.BytesIO((await client.get(f"/kpi/report.xlsx?fy={FY}")).content)
    ).worksheets[1]
    cells = {r[0]: r[1:] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert cells["西日本地域"] == (2, 2, 100.0, 3, 2, 66.7)
    assert cells["全社"] == (6, 4, 66.7, 7, 3, 42.9)
    assert cells["配信した好取組情報"][0] == 2 and cells["掲載記事"][0] == 3
    text = " ".join(
        p.extract_text()
        for p in PdfReader(io.BytesIO((await client.get(f"/kpi/report.pdf?fy={FY}")).content)).pages
    )
    assert re.search(r"西日本地域\s+2\s+2\s+100\.0%\s+3\s+2\s+66\.7%", text), text


async def test_the_years_figures_take_as_many_statements_for_one_bulletin_as_for_six(
    db, engine, org, people
):
    """The report reads every bulletin of the year at once: adding bulletins (each with its
    own audience, items, reads and answers) adds no statement."""
    cur, staff = people["curator"], people["staff"]
    post = await make_post(db, staff, received_on=date(2019, 5, 1))

    async def statements() -> int:
        seen: list[str] = []

        def spy(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        sa.event.listen(engine.sync_engine, "before_cursor_execute", spy)
        try:
            year = await year_by_region(db, FY)
        finally:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", spy)
        assert year.bulletins == volume
        return len(seen)

    counts = []
    for volume in range(1, 7):
        audience = [org["R-W"]] if volume % 2 else ()
        b, _items = await _bulletin(db, cur, FY, posts=[post], audience=audience, volume=volume)
        db.add(BulletinRead(bulletin_id=b.id, user_id=staff.id, read_at=_at(date(2019, 6, 2))))
        await db.commit()
        counts.append(await statements())
    assert counts[0] == counts[-1], counts


async def test_a_year_without_anything(client, db, people):
    await login_as(client, people["curator"])
    html = soup(await client.get("/kpi/report?fy=2005"))
    assert _cells(html.select_one("[data-row=total]")) == ["合計", "0", "0"]
    assert _cells(html.select_one("table.report-breakdown tfoot tr"))[2::2] == ["0.0%", "0.0%"]
    assert html.select_one(".report-empty") is not None
    assert (await client.get("/kpi/report.pdf?fy=2005")).status_code == 200


# Who may see it, and which years there are -------------------------------------------------------


@pytest.mark.parametrize("path", ["/kpi/report", "/kpi/report.pdf", "/kpi/report.xlsx"])
@pytest.mark.parametrize(
    ("role", "expected"), [("anonymous", 303), ("staff", 403), ("curator", 200), ("admin", 200)]
)
async def test_curators_only(client, db, org, path, role, expected):
    """As the お客さまの声 table: staff get 403, a signed-out browser goes to the login."""
    if role != "anonymous":
        await login_as(client, await make_user(db, org["S-SJK"], role=role))
    assert (await client.get(path)).status_code == expected


@pytest.mark.parametrize("fy", ["1999", "2100", "-1", "0"])
@pytest.mark.parametrize("path", ["/kpi/report", "/kpi/report.pdf", "/kpi/report.xlsx"])
async def test_a_year_without_a_report_is_a_clear_422(client, people, path, fy):
    await login_as(client, people["curator"])
    r = await client.get(f"{path}?fy={fy}")
    assert r.status_code == 422
    assert "2000" in r.text  # the message names the years there are


async def test_a_year_that_is_not_a_number_is_a_422(client, people):
    await login_as(client, people["curator"])
    assert (await client.get("/kpi/report?fy=abc")).status_code == 422


# Whatever the figures: the XLSX holds exactly the report's numbers ------------------------------


def _table(fy: int, praise: int, counts: list[int]) -> VoicesTable:
    whole = sum(counts)
    return VoicesTable(
        fy,
        praise,
        whole,
        [
            CategoryShare(code, label, n, percent(n, whole))
            for (code, label), n in zip(complaint_category_labels().items(), counts, strict=True)
        ],
    )


@pytest.mark.nodb
@settings(max_examples=60, deadline=None)
@given(
    counts=st.tuples(*(st.lists(st.integers(0, 2000), min_size=6, max_size=6),) * 2),
    praise=st.tuples(st.integers(0, 10**5), st.integers(0, 10**5)),
)
def test_the_xlsx_sheet_is_the_report_whatever_the_figures(counts, praise):
    since = date(2018, 10, 1)
    report = Report(
        FY,
        _table(FY, praise[1], counts[1]),
        _table(FY - 1, praise[0], counts[0]),
        since,
        BulletinYear(FY, 0, 0, [], RegionYear(None, None)),
        report_notes(since),
    )
    table, _practice = report_sheets(report)
    (p_praise, c_praise), (p_counts, c_counts) = praise, counts
    assert table.rows[0][2:] == [p_praise, None, c_praise, None]
    assert table.rows[1][2:] == [sum(p_counts), None, sum(c_counts), None]
    assert table.rows[2][2:] == [p_praise + sum(p_counts), None, c_praise + sum(c_counts), None]
    for i, line in enumerate(report.categories):
        row = table.rows[3 + i]
        assert row[1:] == [
            line.label,
            p_counts[i],
            float(percent(p_counts[i], sum(p_counts))),
            c_counts[i],
            float(percent(c_counts[i], sum(c_counts))),
        ]
    total = table.rows[9]
    for whole, share in ((sum(p_counts), total[3]), (sum(c_counts), total[5])):
        assert share == (100.0 if whole else 0.0)
    for year in (p_counts, c_counts):
        shares = sum(percent(n, sum(year)) for n in year)
        # six shares, each off by at most 0.05: the total row says 100.0 all the same
        assert not sum(year) or abs(shares - 100) <= Decimal("0.3")
