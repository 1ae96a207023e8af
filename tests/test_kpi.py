"""The praise KPI and the お客さまの声 table (SPEC §6): fiscal months, roll-up, month close with
corrections, shares rounded half up, exports, engagement, complaints and who may see what."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.config import get_settings
from app.fiscal import fiscal_year_months, fiscal_year_of
from app.models import (
    AuditEntry,
    Comment,
    ComplaintVoice,
    KpiMonthClose,
    KpiSnapshotCount,
    Like,
    OrgUnit,
    Post,
    Reaction,
    User,
)
from app.models.base import utcnow
from app.services import kpi
from app.services.errors import Conflict
from tests.conftest import IS_PG
from tests.factories import HX, bypass_audit_guard, login_as, make_post, make_units, make_user

FY = 2024  # long over: every month of it may be closed
JUNE = date(2024, 6, 1)


def _dt(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


@pytest.fixture
async def org(db):
    """company → two regions → branches/shops, and a department straight under the company."""
    return await make_units(
        db,
        ("HQ", "ありがとう損保代理店", "company", None),
        ("R-E", "東日本地域", "region", "HQ"),
        ("R-W", "西日本地域", "region", "HQ"),
        ("B-TKY", "東京支店", "branch", "R-E"),
        ("S-SJK", "新宿店", "shop", "B-TKY"),
        ("S-UEN", "上野店", "shop", "B-TKY"),
        ("S-OSK", "大阪店", "shop", "R-W"),
        ("D-QA", "品質管理部", "department", "HQ"),
    )


@pytest.fixture
async def people(db, org):
    return {
        "staff": await make_user(db, org["S-SJK"], role="staff"),
        "staff2": await make_user(db, org["S-OSK"], role="staff"),
        "curator": await make_user(db, org["D-QA"], role="curator"),
        "admin": await make_user(db, org["D-QA"], role="admin"),
    }


async def praise(db, author: User, unit: OrgUnit, day: date, **kw) -> Post:
    return await make_post(db, author, unit_id=unit.id, received_on=day, **kw)


def _row(matrix: kpi.PraiseMatrix, code: str, direct: bool = False) -> kpi.MatrixRow:
    return next(r for r in matrix.rows if r.code == code and r.direct == direct)


def _month_idx(day: date) -> int:
    return fiscal_year_months(fiscal_year_of(day)).index(date(day.year, day.month, 1))


# Fiscal months ----------------------------------------------------------------------------------


async def test_fiscal_year_boundary(db, org, people):
    staff = people["staff"]
    await praise(db, staff, org["S-SJK"], date(2020, 3, 31))
    await praise(db, staff, org["S-SJK"], date(2020, 4, 1))
    fy2019 = await kpi.praise_matrix(db, 2019)
    fy2020 = await kpi.praise_matrix(db, 2020)
    assert fy2019.total.counts[11] == 1 and fy2019.total.total == 1  # March 2020
    assert fy2020.total.counts[0] == 1 and fy2020.total.total == 1  # April 2020
    assert fy2020.month_keys[0] == "2020-04" and fy2020.month_keys[-1] == "2021-03"
    assert fiscal_year_of(date(2020, 3, 31)) == 2019
    assert fiscal_year_of(date(2020, 4, 1)) == 2020


async def test_fiscal_year_start_is_configurable(db, org, people, monkeypatch):
    monkeypatch.setattr(get_settings(), "fiscal_year_start", 1)
    staff = people["staff"]
    await praise(db, staff, org["S-SJK"], date(2020, 1, 1))
    await praise(db, staff, org["S-SJK"], date(2019, 12, 31))
    matrix = await kpi.praise_matrix(db, 2020)
    assert matrix.month_keys[0] == "2020-01" and matrix.month_keys[-1] == "2020-12"
    assert matrix.total.counts[0] == 1 and matrix.total.total == 1
    assert (await kpi.praise_matrix(db, 2019)).total.counts[11] == 1


async def test_only_published_praise_counts(db, org, people):
    staff = people["staff"]
    day = date(2024, 5, 10)
    await praise(db, staff, org["S-SJK"], day)
    for status in ("hidden", "deleted", "draft"):
        await praise(db, staff, org["S-SJK"], day, status=status)
    await praise(db, staff, org["S-SJK"], day, kind="knowhow", category="tool", channel=None)
    matrix = await kpi.praise_matrix(db, FY, unit="HQ")
    assert matrix.total.total == 1
    assert _row(matrix, "R-E").counts[1] == 1


# Roll-up ----------------------------------------------------------------------------------------


async def test_rows_are_children_and_add_up(db, org, people):
    staff = people["staff"]
    await praise(db, staff, org["S-SJK"], date(2024, 4, 3))
    await praise(db, staff, org["S-UEN"], date(2024, 4, 20))
    await praise(db, staff, org["S-OSK"], date(2024, 7, 1))
    await praise(db, staff, org["HQ"], date(2024, 8, 1))  # posted for the company itself
    matrix = await kpi.praise_matrix(db, FY)  # default: the company's children
    assert [(r.code, r.direct) for r in matrix.rows] == [
        ("HQ", True),
        ("D-QA", False),
        ("R-E", False),
        ("R-W", False),
    ]
    assert _row(matrix, "R-E").counts[0] == 2
    assert _row(matrix, "R-W").counts[3] == 1
    assert _row(matrix, "HQ", direct=True).total == 1
    assert matrix.total.total == 4 == sum(r.total for r in matrix.rows)
    deeper = await kpi.praise_matrix(db, FY, unit="R-E", depth=2)
    assert [r.code for r in deeper.rows] == ["S-SJK", "S-UEN"]
    assert deeper.rows[0].path == ["東京支店"]
    assert deeper.total.total == 2


@st.composite
def _trees_and_posts(draw):
    n_units = draw(st.integers(1, 9))
    parents = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n_units)]
    posts = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_units - 1),
                st.dates(date(2024, 3, 1), date(2025, 4, 30)),
                st.sampled_from(["published", "published", "hidden", "draft", "deleted"]),
                st.sampled_from(["praise", "praise", "knowhow"]),
            ),
            max_size=25,
        )
    )
    depth = draw(st.integers(1, 3))
    return parents, posts, depth


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_trees_and_posts())
async def test_rollup_equals_the_sum_of_children(db, case):
    parents, post_specs, depth = case
    nested = await db.begin_nested()
    try:
        made: list[OrgUnit] = []
        for i, parent in enumerate(parents):
            unit = OrgUnit(
                code=f"P{i}",
                name=f"組織{i}",
                kind="shop",
                parent_id=made[parent].id if parent is not None else None,
            )
            db.add(unit)
            await db.flush()
            made.append(unit)
        author = User(code="PROP", name="作成者", unit_id=made[0].id)
        db.add(author)
        await db.flush()
        now = utcnow()
        db.add_all(
            Post(
                kind=kind,
                title="t",
                body="b",
                author_id=author.id,
                unit_id=made[u].id,
                status=status,
                received_on=day if kind == "praise" else None,
                created_at=now,
                updated_at=now,
            )
            for u, day, status, kind in post_specs
        )
        await db.flush()
        start, end = date(2024, 4, 1), date(2025, 4, 1)
        expected = sum(
            1
            for _u, day, status, kind in post_specs
            if kind == "praise" and status == "published" and start <= day < end
        )
        matrix = await kpi.praise_matrix(db, FY, unit="P0", depth=depth)
        assert matrix.total.total == expected
        assert sum(r.total for r in matrix.rows) == expected
        for i in range(12):
            assert sum(r.counts[i] for r in matrix.rows) == matrix.total.counts[i]
    finally:
        await nested.rollback()


async def test_matrix_equals_a_naive_count(db, org, people):
    """Recompute every cell from scratch in Python over the posts and the tree."""
    rng = random.Random(6)
    staff = people["staff"]
    units = list(org.values())
    statuses = ["published"] * 4 + ["hidden", "draft", "deleted"]
    made = []
    for _ in range(120):
        day = date(2024, 3, 1) + timedelta(days=rng.randrange(430))
        kind = rng.choice(["praise", "praise", "praise", "knowhow"])
        made.append(
            await make_post(
                db,
                staff,
                unit_id=rng.choice(units).id,
                kind=kind,
                status=rng.choice(statuses),
                received_on=day if kind == "praise" else None,
            )
        )
    parent = {u.id: u.parent_id for u in units}

    def under(unit_id: int, top: OrgUnit) -> bool:
        node: int | None = unit_id
        while node is not None:
            if node == top.id:
                return True
            node = parent[node]
        return False

    months = fiscal_year_months(FY)
    for base, depth in (("HQ", 1), ("HQ", 2), ("R-E", 1), ("B-TKY", 1)):
        matrix = await kpi.praise_matrix(db, FY, unit=base, depth=depth)
        for row in matrix.rows:
            top = org[row.code]
            for i, m in enumerate(months):
                naive = sum(
                    1
                    for p in made
                    if p.kind == "praise"
                    and p.status == "published"
                    and (p.received_on.year, p.received_on.month) == (m.year, m.month)
                    and ((p.unit_id == top.id) if row.direct else under(p.unit_id, top))
                )
                assert row.counts[i] == naive, (base, depth, row.code, row.direct, m)
        naive_total = sum(
            1
            for p in made
            if p.kind == "praise"
            and p.status == "published"
            and months[0] <= p.received_on < date(FY + 1, 4, 1)
            and under(p.unit_id, org[base])
        )
        assert matrix.total.total == naive_total


# Shares -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "share"),
    [
        (1, 8, "12.5"),
        (1, 3, "33.3"),
        (2, 3, "66.7"),
        (1, 6, "16.7"),
        (1, 16, "6.3"),  # 6.25 → up
        (3, 16, "18.8"),  # 18.75 → up
        (5, 16, "31.3"),  # 31.25 → up
        (1, 80, "1.3"),  # 1.25 → up
        (1, 400, "0.3"),  # 0.25 → up
        (1, 40, "2.5"),
        (7, 8, "87.5"),
        (0, 5, "0.0"),
        (5, 5, "100.0"),
        (0, 0, "0.0"),
    ],
)
def test_share_is_rounded_half_up_to_one_decimal(part, whole, share):
    assert kpi.percent(part, whole) == Decimal(share)
    assert str(kpi.percent(part, whole)) == share


async def _complaint(db, unit, category, by, day=date(2024, 5, 1), status="received"):
    c = ComplaintVoice(
        received_on=day,
        unit_id=unit.id,
        category=category,
        status=status,
        summary="",
        created_by_id=by.id,
    )
    db.add(c)
    await db.commit()
    return c


async def test_voices_total_row_is_100_even_when_the_shares_are_not(db, org, people):
    cur = people["curator"]
    for category in ("renewal_contract", "premium", "claim"):
        await _complaint(db, org["S-SJK"], category, cur)
    await praise(db, people["staff"], org["S-SJK"], date(2024, 9, 9))
    table = await kpi.voices_table(db, FY, cur)
    assert [c.category for c in table.categories] == [
        "renewal_contract",
        "change_cancel",
        "premium",
        "claim",
        "personal_info",
        "other",
    ]
    shares = [c.share for c in table.categories]
    assert sum(shares) == Decimal("99.9")
    assert table.total_share == Decimal("100.0")
    assert (table.praise, table.complaints, table.total) == (1, 3, 4)
    empty = await kpi.voices_table(db, FY + 1, cur)
    assert empty.total_share == Decimal("0.0") and all(c.share == 0 for c in empty.categories)


async def test_voices_api_shape(client, db, org, people):
    cur = people["curator"]
    for category in ["claim"] * 1 + ["other"] * 7:
        await _complaint(db, org["S-OSK"], category, cur)
    await login_as(client, cur)
    body = (await client.get(f"/api/v1/kpi/voices?fy={FY}")).json()
    assert {"fiscal_year", "praise", "complaints", "total", "categories"} <= set(body)
    assert body["complaints"] == 8 and body["total"] == 8
    claim = next(c for c in body["categories"] if c["category"] == "claim")
    assert claim == {"category": "claim", "label": "保険金関連", "count": 1, "share": 12.5}
    assert body["categories"][0]["category"] == "renewal_contract"


# Month close ------------------------------------------------------------------------------------


async def test_closed_month_does_not_move_and_shows_corrections(client, db, org, people):
    staff, cur = people["staff"], people["curator"]
    keep = await praise(db, staff, org["S-SJK"], date(2024, 6, 3))
    hide_me = await praise(db, staff, org["S-SJK"], date(2024, 6, 4))
    await praise(db, staff, org["S-OSK"], date(2024, 6, 30))
    token = await login_as(client, cur)
    r = await client.post("/api/v1/kpi/months/2024-06/close", headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    assert r.json()["closed"] is True
    snapshot = (await db.execute(sa.select(sa.func.count()).select_from(KpiSnapshotCount))).scalar()
    assert snapshot == len(org)  # every unit, zeros included
    hide_me.status = "hidden"
    db.add(hide_me)
    await db.commit()
    june = _month_idx(JUNE)
    matrix = await kpi.praise_matrix(db, FY)
    east = _row(matrix, "R-E")
    assert east.counts[june] == 2  # frozen
    assert east.corrections[june] == -1
    assert matrix.total.counts[june] == 3 and matrix.total.corrections[june] == -1
    assert matrix.closed[june] and matrix.closed_keys == ["2024-06"]
    # a late entry, back-dated into the closed month
    await praise(db, staff, org["S-OSK"], date(2024, 6, 15))
    await praise(db, staff, org["S-OSK"], date(2024, 6, 16))
    matrix = await kpi.praise_matrix(db, FY)
    west = _row(matrix, "R-W")
    assert west.counts[june] == 1 and west.corrections[june] == 2
    assert matrix.total.counts[june] == 3 and matrix.total.corrections[june] == 1
    # the API says the same
    body = (await client.get(f"/api/v1/kpi/praise?fy={FY}")).json()
    assert body["closed_months"] == ["2024-06"]
    assert body["total"]["counts"][june] == 3 and body["total"]["corrections"][june] == 1
    assert keep.id is not None
    # closing twice is a conflict
    again = await client.post("/api/v1/kpi/months/2024-06/close", headers={"X-CSRF-Token": token})
    assert again.status_code == 409


async def test_reopen_takes_two_people_and_every_step_is_audited(
    client, make_client, db, org, people
):
    staff, cur, adm = people["staff"], people["curator"], people["admin"]
    await praise(db, staff, org["S-SJK"], date(2024, 6, 3))
    token = await login_as(client, cur)
    assert (
        await client.post("/api/v1/kpi/months/2024-06/close", headers={"X-CSRF-Token": token})
    ).status_code == 200
    # A curator asks (tests/test_approvals.py has the rule's own tests and matrix).
    asked = await client.post("/api/v1/kpi/months/2024-06/reopen", headers={"X-CSRF-Token": token})
    assert asked.status_code == 202
    assert (await kpi.praise_matrix(db, FY)).closed_keys == ["2024-06"]
    staff_client = make_client("10.0.0.3")
    staff_token = await login_as(staff_client, staff)
    for action in ("close", "reopen"):
        r = await staff_client.post(
            f"/api/v1/kpi/months/2024-07/{action}", headers={"X-CSRF-Token": staff_token}
        )
        assert r.status_code == 403
    admin_client = make_client("10.0.0.4")
    admin_token = await login_as(admin_client, adm)
    r = await admin_client.post(
        f"/api/v1/approvals/{asked.json()['id']}/approve", headers={"X-CSRF-Token": admin_token}
    )
    assert r.status_code == 200
    assert (await kpi.praise_matrix(db, FY)).closed_keys == []
    actions = (await db.execute(sa.select(AuditEntry.action, AuditEntry.actor_id))).all()
    assert ("kpi.close", cur.id) in actions and ("kpi.reopen", adm.id) in actions
    assert ("approval.request", cur.id) in actions and ("approval.approve", adm.id) in actions
    # closed again after the reopen: a fresh snapshot
    r = await client.post("/api/v1/kpi/months/2024-06/close", headers={"X-CSRF-Token": token})
    assert r.status_code == 200


async def test_a_month_not_over_cannot_be_closed(client, people):
    token = await login_as(client, people["curator"])
    today = i18n.today()
    key = f"{today.year}-{today.month:02d}"
    r = await client.post(f"/api/v1/kpi/months/{key}/close", headers={"X-CSRF-Token": token})
    assert r.status_code == 409
    r = await client.post("/api/v1/kpi/months/2024-13/close", headers={"X-CSRF-Token": token})
    assert r.status_code == 404


async def test_close_and_reopen_from_the_page(client, make_client, db, org, people):
    await praise(db, people["staff"], org["S-SJK"], date(2024, 6, 3))
    token = await login_as(client, people["curator"])
    page = await client.get(f"/kpi?fy={FY}")
    soup = BeautifulSoup(page.text, "html.parser")
    forms = soup.select(".month-closes form")
    assert len(forms) == 12 and not soup.select(".month-closes form[action$='/reopen']")
    r = await client.post(
        "/kpi/months/2024-06/close", data={"csrf_token": token, "fy": str(FY), "depth": "1"}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/kpi?fy={FY}"
    soup = BeautifulSoup((await client.get(f"/kpi?fy={FY}")).text, "html.parser")
    assert soup.select("th.closed")
    # Reopening is asked for here and approved by an administrator on /approvals.
    assert soup.select(".month-closes form[action$='/reopen']")
    r = await client.post(
        "/kpi/months/2024-06/reopen", data={"csrf_token": token, "fy": str(FY)}, headers=HX
    )
    assert r.status_code == 200
    panel = BeautifulSoup(r.text, "html.parser")
    assert "<html" not in r.text and panel.select("th.closed")  # still closed
    assert panel.select_one(".month-closes .badge.pending")


@pytest.mark.parametrize("fy", ["99999", "1", "２０２４", "-1"])
async def test_a_tampered_fiscal_year_in_the_close_form_falls_back_not_500(
    client, db, org, people, fy
):
    token = await login_as(client, people["curator"])
    form = {"csrf_token": token, "fy": fy, "depth": "1"}
    r = await client.post("/kpi/months/2024-06/close", data=form, headers=HX)
    assert r.status_code == 200  # the panel of the current fiscal year, the month closed
    assert BeautifulSoup(r.text, "html.parser").select(".month-closes")


# Exports ----------------------------------------------------------------------------------------


async def test_csv_export_round_trips_with_japanese(client, db, org, people):
    await praise(db, people["staff"], org["S-SJK"], date(2024, 4, 5))
    await login_as(client, people["staff"])
    r = await client.get(f"/api/v1/kpi/praise?fy={FY}&format=csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["コード", "組織", "2024年4月"] and rows[0][14] == "合計"
    assert rows[0][-2:] == ["前年", "前年比（%）"]
    east = next(row for row in rows if row[1] == "東日本地域")
    assert east[2] == "1" and east[14] == "1"
    assert rows[-1][1].startswith("合計")
    page = await client.get(f"/kpi/export?fy={FY}&format=csv")
    assert page.content == r.content


async def test_xlsx_export_has_number_cells_and_a_frozen_header(client, db, org, people):
    await praise(db, people["staff"], org["S-SJK"], date(2024, 4, 5))
    await login_as(client, people["staff"])
    r = await client.get(f"/kpi/export?fy={FY}&format=xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.freeze_panes == "C2"
    assert "2024" in ws.title
    header = [c.value for c in ws[1]]
    assert header[1] == "組織" and header[14] == "合計"
    east = next(row for row in ws.iter_rows(min_row=2) if row[1].value == "東日本地域")
    assert east[2].value == 1 and isinstance(east[2].value, int) and east[2].data_type == "n"
    assert isinstance(east[14].value, int)


async def test_voices_exports(client, db, org, people):
    for category in ("claim", "claim", "other"):
        await _complaint(db, org["S-OSK"], category, people["curator"])
    await login_as(client, people["curator"])
    r = await client.get(f"/kpi/voices/export?fy={FY}&format=csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["区分", "項目", "件数", "構成比（%）"]
    assert ["ご不満の声 内訳", "保険金関連", "2", "66.7"] in rows
    assert rows[-1][1:] == ["合計", "3", "100.0"]
    ws = load_workbook(
        io.BytesIO((await client.get(f"/kpi/voices/export?fy={FY}&format=xlsx")).content)
    ).active
    shares = [row[3].value for row in ws.iter_rows(min_row=2) if row[3].value is not None]
    assert 66.7 in shares and all(isinstance(s, float | int) for s in shares)


# Pages ------------------------------------------------------------------------------------------


async def test_kpi_page_drills_down(client, db, org, people):
    await praise(db, people["staff"], org["S-SJK"], date(2024, 4, 5))
    await login_as(client, people["staff"])
    page = await client.get(f"/kpi?fy={FY}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("table.kpi-matrix caption")
    assert soup.select_one("canvas[data-kpi-chart]")["data-current"].startswith("[")
    link = soup.select_one("tr[data-unit='R-E'] th a")
    assert link["href"] == f"/kpi?fy={FY}&unit=R-E" and link["hx-get"] == link["href"]
    assert not soup.select(".month-closes")  # staff: no close controls
    fragment = await client.get(link["href"], headers=HX)
    assert "<html" not in fragment.text
    rows = BeautifulSoup(fragment.text, "html.parser").select("tbody tr.kpi-row")
    assert [r["data-unit"] for r in rows] == ["B-TKY"]
    crumbs = [
        a.text for a in BeautifulSoup(fragment.text, "html.parser").select(".kpi-breadcrumbs li")
    ]
    assert crumbs == ["ありがとう損保代理店", "東日本地域"]
    nav = BeautifulSoup((await client.get("/")).text, "html.parser")
    assert nav.select_one("header nav a[href='/kpi']")


async def test_engagement_counts_reactions_by_the_reactors_unit(client, db, org, people):
    staff, other, curator = people["staff"], people["staff2"], people["curator"]
    post = await praise(db, staff, org["S-SJK"], date(2024, 6, 3), created_at=_dt(date(2024, 6, 3)))
    for user, kind, day in (
        (other, "thanks", date(2024, 6, 5)),
        (other, "want_to_try", date(2024, 6, 6)),
        (staff, "great", date(2024, 6, 7)),  # on their own post: a reaction all the same
        (curator, "helpful", date(2024, 6, 30)),
        (other, "great", date(2024, 7, 1)),  # July: not in June's figures
    ):
        db.add(Reaction(post_id=post.id, kind=kind, user_id=user.id, created_at=_dt(day)))
    await db.commit()
    eng = await kpi.engagement(db, JUNE, people["curator"])
    by_code = {r.code: r for r in eng.rows}
    assert (by_code["R-E"].reactions, by_code["R-W"].reactions) == (1, 2)
    assert by_code["D-QA"].reactions == 1 and eng.total.reactions == 4
    assert by_code["R-W"].per_head(by_code["R-W"].reactions) == Decimal("2.00")
    await login_as(client, curator)
    r = await client.get(f"/kpi/engagement?fy={FY}&month=2024-06", headers=HX)
    table = BeautifulSoup(r.text, "html.parser").select_one("table.kpi-engagement-table")
    heads = [th.get_text(strip=True) for th in table.select("thead th")]
    column = heads.index("スタンプ")
    total = [c.get_text(strip=True) for c in table.select_one("tfoot tr").select("th, td")]
    assert total[column] == "4"


async def test_units_with_no_praise_and_engagement(client, db, org, people):
    staff, other = people["staff"], people["staff2"]
    post = await praise(db, staff, org["S-SJK"], date(2024, 6, 3), created_at=_dt(date(2024, 6, 3)))
    db.add(Like(post_id=post.id, user_id=other.id, created_at=_dt(date(2024, 6, 5))))
    db.add(
        Comment(
            post_id=post.id, author_id=other.id, body="すごい", created_at=_dt(date(2024, 6, 6))
        )
    )
    await db.commit()
    matrix = await kpi.praise_matrix(db, FY, month=JUNE)
    assert {n.code for n in matrix.no_praise} == {"S-UEN", "S-OSK", "D-QA"}
    eng = await kpi.engagement(db, JUNE, people["curator"])
    east = next(r for r in eng.rows if r.code == "R-E")
    west = next(r for r in eng.rows if r.code == "R-W")
    assert (east.posts, east.posters, east.likes, east.comments, east.heads) == (1, 1, 0, 0, 1)
    assert (west.posts, west.likes, west.comments, west.heads) == (0, 1, 1, 1)
    assert east.per_head(east.posts) == Decimal("1.00") and east.posters_rate == Decimal("100.0")
    assert eng.total.heads == 4 and eng.total.posts == 1
    await login_as(client, people["curator"])
    r = await client.get(f"/kpi/engagement?fy={FY}&month=2024-06", headers=HX)
    assert r.status_code == 200 and "<html" not in r.text
    assert (await client.get(f"/kpi/engagement?fy={FY}&month=2024-06")).status_code == 200


@pytest.mark.parametrize(("role", "shown"), [("staff", False), ("curator", True), ("admin", True)])
async def test_engagement_is_offered_to_head_office_only(client, db, org, role, shown):
    """SPEC §1: staff see the praise KPI; per-unit activity per head is head office's."""
    await login_as(client, await make_user(db, org["S-SJK"], role=role))
    for headers in ({}, {"HX-Request": "true"}):
        page = BeautifulSoup((await client.get("/kpi", headers=headers)).text, "html.parser")
        assert page.select_one("table.kpi-matrix") is not None
        assert (page.select_one("#kpi-engagement") is not None) is shown
        assert bool(page.select("a[href^='/kpi/engagement']")) is shown
    r = await client.get("/kpi/engagement", headers=HX)
    assert r.status_code == (200 if shown else 403)


# Complaints -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/kpi/voices"),
        ("GET", "/kpi/voices/export?format=csv"),
        ("GET", "/api/v1/kpi/voices"),
        ("POST", "/api/v1/complaints"),
        ("POST", "/api/v1/complaints/import"),
        ("PATCH", "/api/v1/complaints/1"),
        ("POST", "/kpi/complaints"),
        ("POST", "/kpi/complaints/1/status"),
    ],
)
async def test_staff_see_praise_kpi_but_not_complaints(client, people, method, path):
    token = await login_as(client, people["staff"])
    assert (await client.get("/kpi")).status_code == 200
    assert (await client.get("/api/v1/kpi/praise")).status_code == 200
    r = await client.request(method, path, headers={"X-CSRF-Token": token}, json={})
    assert r.status_code == 403


async def test_complaint_create_and_status_change_are_audited(client, db, org, people):
    cur = people["curator"]
    token = await login_as(client, cur)
    h = {"X-CSRF-Token": token}
    body = {"received_on": "2024-05-01", "unit": "S-SJK", "category": "premium", "summary": "秘密"}
    r = await client.post("/api/v1/complaints", json=body, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "received" and created["unit"] == "S-SJK"
    r = await client.patch(
        f"/api/v1/complaints/{created['id']}", json={"status": "resolved"}, headers=h
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    bad = await client.patch(
        f"/api/v1/complaints/{created['id']}", json={"status": "gone"}, headers=h
    )
    assert bad.status_code == 422
    unknown = await client.post("/api/v1/complaints", json={**body, "unit": "NOPE"}, headers=h)
    assert unknown.status_code == 422
    future = (i18n.today() + timedelta(days=2)).isoformat()
    assert (
        await client.post("/api/v1/complaints", json={**body, "received_on": future}, headers=h)
    ).status_code == 422
    entries = (
        await db.execute(sa.select(AuditEntry.action, AuditEntry.changes).order_by(AuditEntry.id))
    ).all()
    assert [a for a, _c in entries] == ["complaint.create", "complaint.update"]
    assert all("秘密" not in (c or "") for _a, c in entries)  # the summary stays private


async def test_complaints_import_is_all_or_nothing(client, db, org, people):
    token = await login_as(client, people["curator"])
    future = (i18n.today() + timedelta(days=3)).isoformat()
    bad = (
        "received_on,unit,category,status,summary\n"
        "2024-05-01,S-SJK,claim,received,ok\n"
        "2024-05-32,S-SJK,claim,received,bad date\n"
        "2024-05-02,NOPE,claim,,unknown unit\n"
        "2024-05-03,S-OSK,weather,received,bad category\n"
        f"{future},S-OSK,other,done,future and bad status\n"
    )
    r = await client.post(
        "/api/v1/complaints/import",
        content=bad.encode(),
        headers={"X-CSRF-Token": token, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [d["line"] for d in detail] == [3, 4, 5, 6]
    assert "NOPE" in detail[1]["msg"]
    assert "weather" not in detail[2]["msg"] and "renewal_contract" in detail[2]["msg"]
    assert ";" in detail[3]["msg"]  # both problems of the row named
    count = sa.select(sa.func.count()).select_from(ComplaintVoice)
    assert (await db.execute(count)).scalar() == 0
    good = "\ufeffreceived_on,unit,category,status,summary\n2024-05-01,S-SJK,保険金関連,対応中,電話で\n2024-06-01,S-OSK,other,,\n"
    r = await client.post(
        "/api/v1/complaints/import",
        files={"file": ("voices.csv", good.encode("utf-8"), "text/csv")},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and r.json() == {"imported": 2}
    rows = (await db.execute(sa.select(ComplaintVoice.category, ComplaintVoice.status))).all()
    assert sorted(rows) == [("claim", "in_progress"), ("other", "received")]
    assert "complaint.import" in (await db.execute(sa.select(AuditEntry.action))).scalars().all()


async def test_voices_page_import_errors_and_complaint_form(client, db, org, people):
    token = await login_as(client, people["curator"])
    page = await client.get(f"/kpi/voices?fy={FY}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    action = soup.select_one("#import-form")["action"]
    assert "csrf_token=" in action
    bad = "received_on,unit,category,status,summary\n2024-05-01,NOPE,claim,,\n"
    r = await client.post(
        action, files={"file": ("v.csv", bad.encode(), "text/csv")}, data={"fy": str(FY)}
    )
    assert r.status_code == 422
    errors = BeautifulSoup(r.text, "html.parser").select("#import-errors li")
    assert len(errors) == 1 and "2" in errors[0].text and "NOPE" in errors[0].text
    # the entry form keeps what was typed on an error
    form = {
        "csrf_token": token,
        "received_on": "2024-05-01",
        "unit": "NOPE",
        "category": "claim",
        "status": "received",
        "summary": "書きかけ",
    }
    r = await client.post("/kpi/complaints", data=form)
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#complaint-unit")["value"] == "NOPE"
    assert soup.select_one("#complaint-summary").text == "書きかけ"
    assert soup.select_one("#complaint-unit-error")
    r = await client.post("/kpi/complaints", data={**form, "unit": "S-SJK"})
    assert r.status_code == 303
    soup = BeautifulSoup((await client.get(r.headers["location"])).text, "html.parser")
    row = soup.select_one("table.complaints tbody tr")
    assert "書きかけ" in row.text
    cid = int(row["id"].removeprefix("complaint-"))
    r = await client.post(
        f"/kpi/complaints/{cid}/status",
        data={"csrf_token": token, "status": "in_progress"},
        headers=HX,
    )
    assert r.status_code == 200
    swapped = BeautifulSoup(r.text, "html.parser").select_one("tr")
    assert swapped["id"] == f"complaint-{cid}"
    assert swapped.select_one("option[selected]")["value"] == "in_progress"
    breakdown = soup.select("table.voices-breakdown tbody tr")
    assert [tr["data-category"] for tr in breakdown][3] == "claim"


# The API shape ----------------------------------------------------------------------------------


async def test_praise_api_shape(client, db, org, people):
    await praise(db, people["staff"], org["S-SJK"], date(2025, 4, 1))
    await login_as(client, people["staff"])
    body = (await client.get("/api/v1/kpi/praise?fy=2025&unit=R-E&depth=1")).json()
    assert body["fiscal_year"] == 2025
    assert body["months"] == [
        f"{y}-{m:02d}"
        for y, m in [(2025, m) for m in range(4, 13)] + [(2026, m) for m in range(1, 4)]
    ]
    assert len(body["rows"]) == 1
    row = body["rows"][0]
    assert row["unit"] == {"code": "B-TKY", "name": "東京支店"}
    assert row["counts"] == [1] + [0] * 11 and row["total"] == 1
    assert body["total"]["counts"] == row["counts"] and body["total"]["total"] == 1
    assert {"corrections", "yoy"} <= set(row)
    assert (await client.get("/api/v1/kpi/praise?unit=NOPE")).status_code == 404
    assert (await client.get("/api/v1/kpi/praise?depth=9")).status_code == 422


# Who may reach what ------------------------------------------------------------------------------

ROLE_MATRIX = [
    # path, then the expected status for anonymous, staff, curator, admin
    ("/kpi", 303, 200, 200, 200),
    ("/kpi/engagement", 303, 403, 200, 200),
    ("/kpi/engagement?month=2024-06", 303, 403, 200, 200),
    ("/kpi/export?format=csv", 303, 200, 200, 200),
    ("/api/v1/kpi/praise", 401, 200, 200, 200),
    ("/api/v1/kpi/praise?format=xlsx", 401, 200, 200, 200),
    ("/kpi/voices", 303, 403, 200, 200),
    ("/kpi/voices/export?format=xlsx", 303, 403, 200, 200),
    ("/api/v1/kpi/voices", 401, 403, 200, 200),
]


@pytest.mark.parametrize(
    ("path", "role", "expected"),
    [
        (path, role, code)
        for path, *codes in ROLE_MATRIX
        for role, code in zip(("anonymous", "staff", "curator", "admin"), codes, strict=True)
    ],
)
async def test_kpi_role_matrix(client, db, path, role, expected):
    if role != "anonymous":
        await login_as(client, await make_user(db, role=role))
    assert (await client.get(path)).status_code == expected


async def test_closing_twice_from_the_page_says_why(client, db, org, people):
    token = await login_as(client, people["curator"])
    form = {"csrf_token": token, "fy": str(FY)}
    assert (await client.post("/kpi/months/2024-05/close", data=form)).status_code == 303
    r = await client.post("/kpi/months/2024-05/close", data=form, headers=HX)
    assert r.status_code == 409
    alert = BeautifulSoup(r.text, "html.parser").select_one("[role=alert]")
    assert alert is not None and "月締め" in alert.text


async def test_english_headers_for_english_users(client, db, org):
    user = await make_user(db, org["S-SJK"], locale="en")
    await login_as(client, user)
    r = await client.get(f"/api/v1/kpi/praise?fy={FY}&format=csv")
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:3] == ["Code", "Unit", "Apr 2024"] and header[-1] == "Year on year (%)"
    assert "filename*=UTF-8''Praise_FY2024.csv" in r.headers["content-disposition"]
    r = await client.get(f"/api/v1/kpi/praise?fy={FY}&unit=R-E&format=xlsx")
    disposition = r.headers["content-disposition"]
    assert 'filename="praise-FY2024-R-E.xlsx"' in disposition
    assert "filename*=UTF-8''Praise_FY2024_%E6%9D%B1" in disposition  # 東日本地域


@pytest.mark.skipif(not IS_PG, reason="concurrent writers: PostgreSQL")
async def test_two_curators_closing_at_once_make_one_close(engine):
    maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    try:
        async with maker() as s:
            unit = OrgUnit(code="CC-1", name="並行店", kind="shop")
            s.add(unit)
            await s.flush()
            users = [
                User(code=f"CC{i}", name="本社", unit_id=unit.id, role="curator") for i in (1, 2)
            ]
            s.add_all(users)
            await s.commit()

        async def close(user: User) -> int:
            async with maker() as s:
                try:
                    await kpi.close_month(s, user, JUNE)
                except Conflict as exc:
                    return exc.status_code
                return 200

        results = await asyncio.gather(*(close(u) for u in users))
        assert sorted(results) == [200, 409]
        async with maker() as s:
            closes = (
                await s.execute(sa.select(sa.func.count()).select_from(KpiMonthClose))
            ).scalar()
            snap = (
                await s.execute(sa.select(sa.func.count()).select_from(KpiSnapshotCount))
            ).scalar()
        assert (closes, snap) == (1, 1)
    finally:
        async with engine.begin() as conn:
            await bypass_audit_guard(
                conn,
                [
                    "TRUNCATE kpi_snapshot_counts, kpi_month_closes, audit_log, users, org_units "
                    "RESTART IDENTITY CASCADE"
                ],
            )
