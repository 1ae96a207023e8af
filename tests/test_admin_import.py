"""CSV import of units and users (/admin/import and /api/v1/admin/import/*): a dry run names
every bad row with its line and reason and writes nothing; the import writes all rows with one
audit entry, or nothing."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json

import httpx
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import AuditEntry, OrgUnit, User
from app.services.csvimport import ImportRejected, read_rows
from app.services.people.user_import import import_users
from tests.conftest import IS_PG
from tests.factories import login_as, make_unit, make_user, soup
from tests.test_concurrency import committed  # noqa: F401  (a fixture: really committed sessions)

USERS_HEADER = "code,name,email,unit,role\n"
UNITS_HEADER = "code,name,kind,parent\n"
_seq = itertools.count(1)


# Helpers ----------------------------------------------------------------------------------


async def count(db: AsyncSession, model: type) -> int:
    return int((await db.exec(sa.select(sa.func.count()).select_from(model))).one()[0])  # type: ignore[call-overload]


async def audit_rows(db: AsyncSession, action: str) -> list[AuditEntry]:
    return list((await db.exec(select(AuditEntry).where(AuditEntry.action == action))).all())


async def as_admin(client: httpx.AsyncClient, db: AsyncSession) -> str:
    admin = await make_user(db, role="admin")
    return await login_as(client, admin)


async def api(
    client: httpx.AsyncClient,
    csrf: str,
    kind: str,
    data: bytes | str,
    *,
    dry_run: bool | None = None,
    as_text: bool = False,
) -> httpx.Response:
    body = data.encode("utf-8") if isinstance(data, str) else data
    params = {} if dry_run is None else {"dry_run": str(dry_run).lower()}
    headers = {"X-CSRF-Token": csrf}
    if as_text:
        headers["Content-Type"] = "text/csv; charset=utf-8"
        return await client.post(
            f"/api/v1/admin/import/{kind}", params=params, content=body, headers=headers
        )
    return await client.post(
        f"/api/v1/admin/import/{kind}",
        params=params,
        files={"file": (f"{kind}.csv", body, "text/csv")},
        headers=headers,
    )


def bad_rows(page: BeautifulSoup, kind: str) -> dict[int, tuple[str, str]]:
    """The report's bad-row table: line -> (code, reason)."""
    table = page.select_one(f"#import-{kind}-report table.import-errors")
    assert table is not None, "no table of bad rows"
    assert table.caption is not None
    assert [th.get("scope") for th in table.select("thead th")] == ["col"] * 3
    out = {}
    for tr in table.select("tbody tr"):
        line = tr.select_one("th[scope=row]")
        assert line is not None
        code, reason = (td.get_text(" ", strip=True) for td in tr.select("td"))
        out[int(line.get_text())] = (code, reason)
    return out


async def page_form_action(client: httpx.AsyncClient, kind: str) -> str:
    page = soup(await client.get("/admin/import"))
    form = page.select_one(f"#import-{kind} form.import-form")
    assert form is not None and form["enctype"] == "multipart/form-data"
    assert "csrf_token=" in str(form["action"])
    return str(form["action"])


async def check_on_page(
    client: httpx.AsyncClient, kind: str, data: bytes | str, *, htmx: bool = False
) -> httpx.Response:
    body = data.encode("utf-8") if isinstance(data, str) else data
    action = await page_form_action(client, kind)
    return await client.post(
        action,
        files={"file": (f"{kind}.csv", body, "text/csv")},
        headers={"HX-Request": "true"} if htmx else {},
    )


async def run_from_report(
    client: httpx.AsyncClient, report: httpx.Response, kind: str, *, htmx: bool = False
) -> httpx.Response:
    """Press the report's "Import N rows" button: post its form as the browser would."""
    form = soup(report).select_one(f"#import-{kind}-report form.import-run, form.import-run")
    assert form is not None, "the report offers no import"
    fields = {i["name"]: (None, i.get("value", "")) for i in form.select("input[type=hidden]")}
    return await client.post(
        str(form["action"]), files=fields, headers={"HX-Request": "true"} if htmx else {}
    )


# The acceptance test ---------------------------------------------------------------


async def test_users_dry_run_names_both_bad_rows_and_the_import_writes_nothing_until_fixed(
    client, db
):
    csrf = await as_admin(client, db)
    shop = await make_unit(db, code="TKY-001", name="新宿店")
    await make_user(db, shop, code="E0001")
    users_before = await count(db, User)
    bad = (
        USERS_HEADER
        + "E1001,山田 太郎,yamada@example.jp,TKY-001,staff\n"  # line 2: good
        + "E1002,佐藤 花子,,NOWHERE,staff\n"  # line 3: unknown unit
        + "E0001,鈴木 一郎,,TKY-001,curator\n"  # line 4: the code exists in the database
        + "E1001,高橋 二郎,,TKY-001,staff\n"  # line 5: the code is repeated in the file
    )

    dry = await api(client, csrf, "users", bad)
    assert dry.status_code == 422
    body = dry.json()
    assert body["dry_run"] is True and body["ok"] is False and body["created"] == 0
    assert body["rows_read"] == 4
    errors = {e["line"]: (e["code"], e["message"]) for e in body["errors"]}
    assert set(errors) == {3, 4, 5}
    assert errors[3][0] == "E1002" and "NOWHERE" in errors[3][1]
    assert errors[4][0] == "E0001" and "E0001" in errors[4][1]
    assert errors[5][0] == "E1001" and "2" in errors[5][1]  # first on line 2
    assert [r["code"] for r in body["rows"]] == ["E1001"]  # the good row, previewed
    assert {d["line"] for d in body["detail"]} == {3, 4, 5}  # FastAPI's shape too
    assert all(d["loc"] == ["body", "file"] and d["msg"] for d in body["detail"])

    real = await api(client, csrf, "users", bad, dry_run=False)
    assert real.status_code == 422
    assert real.json()["dry_run"] is False and real.json()["created"] == 0
    assert {e["line"] for e in real.json()["errors"]} == {3, 4, 5}
    assert await count(db, User) == users_before
    assert await audit_rows(db, "users.import") == []

    fixed = (
        USERS_HEADER
        + "E1001,山田 太郎,yamada@example.jp,TKY-001,staff\n"
        + "E1002,佐藤 花子,,TKY-001,staff\n"
        + "E1003,鈴木 一郎,,TKY-001,curator\n"
        + "E1004,高橋 二郎,,TKY-001,staff\n"
    )
    dry = await api(client, csrf, "users", fixed)
    assert dry.status_code == 200 and dry.json()["ok"] is True and dry.json()["errors"] == []
    assert len(dry.json()["rows"]) == 4 and dry.json()["created"] == 0
    assert await count(db, User) == users_before  # a clean dry run writes nothing either

    real = await api(client, csrf, "users", fixed, dry_run=False)
    assert real.status_code == 201, real.text
    assert real.json()["created"] == 4 and real.json()["ok"] is True
    assert await count(db, User) == users_before + 4
    made = (await db.exec(select(User).where(User.code == "E1003"))).one()
    assert made.role == "curator" and made.unit_id == shop.id and made.password_hash is None
    [entry] = await audit_rows(db, "users.import")
    changes = json.loads(entry.changes or "{}")
    assert changes["after"] == {
        "imported": 4,
        "codes": ["E1001", "E1002", "E1003", "E1004"],
        "scopes": {},
    }


async def test_units_dry_run_names_unknown_parent_duplicates_and_cycles(client, db):
    csrf = await as_admin(client, db)
    await make_unit(db, code="HQ", name="本社", kind="company")
    units_before = await count(db, OrgUnit)
    bad = (
        UNITS_HEADER
        + "R-E,東日本地域,region,HQ\n"  # 2: good
        + "B-1,東京支店,branch,NOPE\n"  # 3: unknown parent
        + "HQ,本社その2,company,\n"  # 4: exists in the database
        + "R-E,東日本地域2,region,HQ\n"  # 5: repeated in the file
        + "X-A,甲,branch,X-B\n"  # 6: A under B ...
        + "X-B,乙,branch,X-A\n"  # 7: ... under A
        + "S-1,新宿店,shop,B-2\n"  # 8: good, its parent is further down
        + "B-2,新宿支店,branch,R-E\n"  # 9: good
    )
    dry = await api(client, csrf, "units", bad)
    assert dry.status_code == 422
    errors = {e["line"]: (e["code"], e["message"]) for e in dry.json()["errors"]}
    assert set(errors) == {3, 4, 5, 6, 7}
    assert "NOPE" in errors[3][1]
    assert errors[4][0] == "HQ" and "HQ" in errors[4][1]
    assert errors[5][0] == "R-E"
    assert "X-A → X-B → X-A" in errors[6][1] and "X-B → X-A → X-B" in errors[7][1]
    assert [r["code"] for r in dry.json()["rows"]] == ["R-E", "S-1", "B-2"]

    real = await api(client, csrf, "units", bad, dry_run=False)
    assert real.status_code == 422
    assert await count(db, OrgUnit) == units_before
    assert await audit_rows(db, "units.import") == []

    fixed = (
        UNITS_HEADER
        + "S-1,新宿店,shop,B-2\n"
        + "R-E,東日本地域,region,HQ\n"
        + "B-2,新宿支店,branch,R-E\n"
    )
    real = await api(client, csrf, "units", fixed, dry_run=False)
    assert real.status_code == 201 and real.json()["created"] == 3
    assert await count(db, OrgUnit) == units_before + 3
    by_code = {u.code: u for u in (await db.exec(select(OrgUnit))).all()}
    assert by_code["S-1"].parent_id == by_code["B-2"].id
    assert by_code["B-2"].parent_id == by_code["R-E"].id
    assert by_code["R-E"].parent_id == by_code["HQ"].id
    [entry] = await audit_rows(db, "units.import")
    assert json.loads(entry.changes or "{}")["after"]["codes"] == ["S-1", "R-E", "B-2"]


async def test_deactivated_units_cannot_receive_users_or_children(client, db):
    csrf = await as_admin(client, db)
    await make_unit(db, code="OLD", name="閉店", active=False)
    users = await api(client, csrf, "users", USERS_HEADER + "E9001,山田,,OLD,staff\n")
    [error] = users.json()["errors"]
    assert error["line"] == 2 and "OLD" in error["message"]
    units = await api(client, csrf, "units", UNITS_HEADER + "N-1,新店,shop,OLD\n")
    [error] = units.json()["errors"]
    assert error["line"] == 2 and "OLD" in error["message"]


# Through the page --------------------------------------------------------------------------


async def test_page_dry_run_report_then_import(client, db):
    await as_admin(client, db)
    await make_unit(db, code="TKY-001", name="新宿店")
    await make_user(db, code="E0002")
    before = await count(db, User)

    page = await client.get("/admin/import")
    assert page.status_code == 200
    html = soup(page)
    for kind in ("units", "users"):
        region = html.select_one(f"#import-{kind}-report")
        assert region is not None and region["aria-live"] == "polite"
        label = html.select_one(f"label[for=import-{kind}-file]")
        assert label is not None and html.select_one(f"input#import-{kind}-file[type=file]")

    bad = (
        USERS_HEADER
        + "E2001,山田,,TKY-001,staff\nE2002,佐藤,,NOWHERE,staff\nE0002,鈴木,,TKY-001,staff\n"
    )
    r = await check_on_page(client, "users", bad)
    assert r.status_code == 422
    rows = bad_rows(soup(r), "users")
    assert set(rows) == {3, 4}
    assert rows[3][0] == "E2002" and "NOWHERE" in rows[3][1]
    assert rows[4][0] == "E0002" and "E0002" in rows[4][1]
    assert soup(r).select_one("form.import-run") is None  # a bad file offers no import
    assert await count(db, User) == before

    good = USERS_HEADER + "E2001,山田,,TKY-001,staff\nE2002,佐藤,,TKY-001,staff\n"
    r = await check_on_page(client, "users", good)
    assert r.status_code == 200
    preview = soup(r).select("#import-users-report table.import-preview tbody tr")
    assert [tr.select_one("th[scope=row]").get_text() for tr in preview] == ["E2001", "E2002"]
    assert await count(db, User) == before

    done = await run_from_report(client, r, "users")
    assert done.status_code == 200
    result = soup(done).select_one("#import-users-result")
    assert result is not None and "2" in result.get_text()
    links = [a["href"] for a in soup(done).select("#import-users-report .import-created a")]
    assert links == ["/users/E2001", "/users/E2002"]
    assert await count(db, User) == before + 2
    assert len(await audit_rows(db, "users.import")) == 1


async def test_htmx_gets_the_report_partial_and_a_changed_database_refuses_the_import(client, db):
    await as_admin(client, db)
    await make_unit(db, code="TKY-001", name="新宿店")
    csv_text = USERS_HEADER + "E3001,山田,,TKY-001,staff\nE3002,佐藤,,TKY-001,staff\n"
    r = await check_on_page(client, "users", csv_text, htmx=True)
    assert r.status_code == 200
    assert "<html" not in r.text and soup(r).select_one("table.import-preview")
    # Someone creates E3002 between the dry run and the import.
    await make_user(db, code="E3002")
    before = await count(db, User)
    done = await run_from_report(client, r, "users", htmx=True)
    assert done.status_code == 422
    partial = BeautifulSoup(f'<div id="import-users-report">{done.text}</div>', "html.parser")
    assert set(bad_rows(partial, "users")) == {3}
    assert await count(db, User) == before
    assert await audit_rows(db, "users.import") == []


async def test_the_import_does_not_trust_the_report_it_sent(client, db):
    """A tampered hidden field is only another file: checked again, refused if bad."""
    await as_admin(client, db)
    await make_unit(db, code="TKY-001", name="新宿店")
    good = USERS_HEADER + "E4001,山田,,TKY-001,staff\n"
    r = await check_on_page(client, "users", good)
    form = soup(r).select_one("form.import-run")
    assert form is not None
    assert base64.b64decode(form.select_one("input[name=content]")["value"]) == good.encode()
    tampered = base64.b64encode((USERS_HEADER + "E4001,山田,,TKY-001,boss\n").encode()).decode()
    before = await count(db, User)
    done = await client.post(str(form["action"]), files={"content": (None, tampered)})
    assert done.status_code == 422
    assert "boss" in bad_rows(soup(done), "users")[2][1]
    broken = await client.post(str(form["action"]), files={"content": (None, "not base64!")})
    assert broken.status_code == 422
    assert soup(broken).select_one("#import-users-error") is not None
    assert await count(db, User) == before


async def test_page_upload_errors_are_shown_inline(client, db):
    await as_admin(client, db)
    action = await page_form_action(client, "units")
    none_chosen = await client.post(action, files={"other": (None, "x")})
    assert none_chosen.status_code == 422
    page = soup(none_chosen)
    assert page.select_one("#import-units-error") is not None
    file_input = page.select_one("#import-units-file")
    assert file_input is not None and file_input["aria-invalid"] == "true"
    assert "import-units-error" in file_input["aria-describedby"]

    big = UNITS_HEADER.encode() + b"X" * (2 * 1024 * 1024 + 1)
    too_large = await client.post(action, files={"file": ("big.csv", big, "text/csv")})
    assert too_large.status_code == 413
    assert "2 MB" in soup(too_large).select_one("#import-units-error").get_text()
    htmx = await client.post(
        action, files={"file": ("big.csv", big, "text/csv")}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 413 and "<html" not in htmx.text and "2 MB" in htmx.text


async def test_page_without_the_csrf_token_is_refused(client, db):
    await as_admin(client, db)
    r = await client.post(
        "/admin/import/units/check", files={"file": ("u.csv", b"code,name,kind,parent\n")}
    )
    assert r.status_code == 403


# Files of every shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: ("\ufeff" + s).encode("utf-8"),
        lambda s: s.replace("\n", "\r\n").encode("utf-8"),
        lambda s: ("\ufeff" + s.replace("\n", "\r\n")).encode("utf-8"),
        lambda s: s.replace("\n", "\r").encode("utf-8"),
    ],
    ids=["utf8", "bom", "crlf", "bom-crlf", "old-mac-cr"],
)
async def test_bom_and_line_endings(client, db, encode):
    csrf = await as_admin(client, db)
    await make_unit(db, code="TKY-001", name="新宿店")
    text = USERS_HEADER + "E5001,山田 太郎,,TKY-001,staff\n\nE5002,佐藤 花子,,TKY-001,admin\n"
    r = await api(client, csrf, "users", encode(text), dry_run=False)
    assert r.status_code == 201, r.text
    assert [(x["line"], x["code"], x["name"]) for x in r.json()["rows"]] == [
        (2, "E5001", "山田 太郎"),
        (4, "E5002", "佐藤 花子"),
    ]


async def test_text_csv_body_and_header_in_any_order_and_case(client, db):
    csrf = await as_admin(client, db)
    await make_unit(db, code="TKY-001", name="新宿店")
    text = "Role, Unit ,NAME,email,code,password\nstaff,TKY-001,山田,,E5101,ignored-secret\n"
    r = await api(client, csrf, "users", text, dry_run=False, as_text=True)
    assert r.status_code == 201, r.text
    made = (await db.exec(select(User).where(User.code == "E5101"))).one()
    assert made.name == "山田" and made.password_hash is None


@pytest.mark.parametrize(
    ("data", "needle", "line"),
    [
        (USERS_HEADER.encode() + b"E1,\x85\x40,,S,staff\n", "Shift_JIS", 2),
        (b"", "空です", 1),
        (b"\xef\xbb\xbf\r\n", "空です", 1),
        (b"code,name,email,unit\nE1,a,,S\n", "role", 1),
        (USERS_HEADER.encode(), "データ行がありません", 1),
        (b"code,name,email,unit,role,code\n", "code", 1),
        ('code,name,email,unit,role\nE1,"山田,\n太郎",,S,staff\n'.encode(), "改行", 2),
        (b"code,name,email,unit,role\nE1,a,,S,staff,extra\n", "ダブルクォーテーション", 2),
        (b"code,name,email,unit,role\nE1,a,,S,staff\nE2,b,,S\n", "値は4個", 3),
        (b"code,name,email,unit,role\nE1,a,,S,staff\nE2,b,,S,staff,\n", "値は6個", 3),
        (
            'code,name,email,unit,role\nE1,a,,S,staff\nE2,"佐藤,,S,staff\nE3,c,,S,staff\n'.encode(),
            "閉じられていません",
            3,
        ),
        (b'code,name,email,unit,role\nE1,"a"b,,S,staff\n', "2つ重ねて", 2),
    ],
    ids=[
        "neither-utf8-nor-cp932",
        "empty",
        "bom-only",
        "missing-column",
        "header-only",
        "column-twice",
        "line-break",
        "extra-value",
        "value-missing",
        "empty-extra-value",
        "unclosed-quote",
        "text-after-quote",
    ],
)
async def test_bad_files_get_a_clear_reason_and_write_nothing(client, db, data, needle, line):
    csrf = await as_admin(client, db)
    before = await count(db, User)
    for dry_run in (True, False):
        r = await api(client, csrf, "users", data, dry_run=dry_run)
        assert r.status_code == 422, r.text
        [error] = [e for e in r.json()["errors"] if e["line"] == line]
        assert needle in error["message"]  # in the admin's language, Japanese by default
    assert await count(db, User) == before


async def test_units_short_row_and_second_root_are_named_and_nothing_is_written(client, db):
    """A row one value short once came in as a unit without a parent, and a second company
    as a second root: both split every KPI view. Now each is its line's error."""
    csrf = await as_admin(client, db)
    root = (await db.exec(select(OrgUnit).where(col(OrgUnit.parent_id).is_(None)))).first()
    assert root is not None
    before = await count(db, OrgUnit)
    data = (
        UNITS_HEADER
        + f"RL-B5,関東支店,branch,{root.code}\n"  # 2: good
        + "RL-B6,セル不足,branch\n"  # 3: one value short
        + "RL-HQ2,第二本社,company,\n"  # 4: a second root
    )
    for dry_run in (True, False):
        r = await api(client, csrf, "units", data, dry_run=dry_run)
        assert r.status_code == 422, r.text
        errors = {e["line"]: (e["code"], e["message"]) for e in r.json()["errors"]}
        assert set(errors) == {3, 4}
        assert errors[3] == (
            "RL-B6",
            "この行の値は3個ですが、見出し行の列は4列です（値が足りません。空の値もコンマで区切って空欄にしてください）",
        )
        assert errors[4][0] == "RL-HQ2" and root.code in errors[4][1] and "1つだけ" in errors[4][1]
    assert await count(db, OrgUnit) == before

    # Within one file too: the first unit of an empty tree is the root, a second is refused.
    # (The page reports the same rows.)
    r = await check_on_page(client, "units", data)
    assert r.status_code == 422
    assert set(bad_rows(soup(r), "units")) == {3, 4}
    assert await count(db, OrgUnit) == before


async def test_page_names_an_unclosed_quote(client, db):
    await as_admin(client, db)
    before = await count(db, OrgUnit)
    data = UNITS_HEADER + 'RL-A,"東京,branch,\nRL-B,店,shop,RL-A\n'
    r = await check_on_page(client, "units", data)
    assert r.status_code == 422
    page = soup(r).select_one("#import-units-report")
    assert page is not None
    text = page.get_text(" ", strip=True)
    assert "2" in text and "閉じられていません" in text and "kind" not in text
    assert await count(db, OrgUnit) == before


def test_every_import_shares_the_row_shape_rule():
    """read_rows (the complaints import) and read_table (units, users) alike."""
    with pytest.raises(ImportRejected) as short:
        read_rows("received_on,unit\n2024-05-01,S\n2024-05-02\n", ("received_on", "unit"))
    assert [e.line for e in short.value.errors] == [3]
    with pytest.raises(ImportRejected) as quote:
        read_rows('received_on,unit\n2024-05-01,"S\n', ("received_on", "unit"))
    assert [e.line for e in quote.value.errors] == [2]
    assert "never closed" in str(quote.value) or "閉じられていません" in str(quote.value)


async def test_api_upload_limits_and_types(client, db):
    csrf = await as_admin(client, db)
    big = UNITS_HEADER.encode() + b"X" * (2 * 1024 * 1024)
    assert (await api(client, csrf, "units", big)).status_code == 413
    assert (await api(client, csrf, "units", big, as_text=True)).status_code == 413
    r = await client.post(
        "/api/v1/admin/import/units", json={"file": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 415
    r = await client.post(
        "/api/v1/admin/import/units",
        files={"other": ("u.csv", b"x")},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]


async def test_the_api_is_documented(client, db):
    spec = (await client.get("/api/openapi.json")).json()
    for kind in ("units", "users"):
        op = spec["paths"][f"/api/v1/admin/import/{kind}"]["post"]
        assert "dry_run" in op["description"] and "text/csv" in op["description"]
        [param] = [p for p in op["parameters"] if p["name"] == "dry_run"]
        assert param["schema"]["default"] is True
        assert set(op["requestBody"]["content"]) == {"multipart/form-data", "text/csv"}


# Who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "curator"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/import"),
        ("POST", "/admin/import/units/check"),
        ("POST", "/admin/import/users/check"),
        ("POST", "/admin/import/units"),
        ("POST", "/admin/import/users"),
        ("POST", "/api/v1/admin/import/units"),
        ("POST", "/api/v1/admin/import/users?dry_run=false"),
    ],
)
async def test_staff_and_curators_are_refused(client, db, role, method, path):
    user = await make_user(db, role=role)
    csrf = await login_as(client, user)
    before = await count(db, OrgUnit)
    files = {"file": ("u.csv", UNITS_HEADER.encode() + b"Z-1,z,shop,\n", "text/csv")}
    if method == "GET":
        r = await client.get(path)
    else:
        r = await client.post(path, files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert await count(db, OrgUnit) == before


async def test_anonymous_is_sent_to_login_or_gets_401(client, db):
    page = await client.get("/admin/import")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api_r = await client.post(
        "/api/v1/admin/import/units", files={"file": ("u.csv", b"x", "text/csv")}
    )
    assert api_r.status_code in (401, 403)


# Random mixes of good and bad rows -----------------------------------------------------------

ROW_KINDS = ["good", "unknown_unit", "closed_unit", "taken", "bad_role", "bad_email", "no_name"]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.sampled_from([*ROW_KINDS, "repeat"]), min_size=1, max_size=12),
    bom=st.booleans(),
    crlf=st.booleans(),
)
async def test_random_mixes_errors_are_exactly_the_bad_lines(client, db, kinds, bom, crlf):
    csrf = await _admin_once(client, db)
    prefix = f"H{next(_seq)}x"
    lines, bad, codes = [], set(), []
    for i, kind in enumerate(kinds):
        line = i + 2
        code, unit, role, email, name = f"{prefix}{i}", "HY-OPEN", "staff", "", "名前"
        if kind == "repeat" and codes:
            code = codes[0]
        elif kind == "unknown_unit":
            unit = "HY-NOPE"
        elif kind == "closed_unit":
            unit = "HY-CLOSED"
        elif kind == "taken":
            code = "HY-TAKEN"
        elif kind == "bad_role":
            role = "boss"
        elif kind == "bad_email":
            email = "not-an-address"
        elif kind == "no_name":
            name = ""
        if kind != "good" and not (kind == "repeat" and not codes):
            bad.add(line)
        codes.append(code)
        lines.append(f"{code},{name},{email},{unit},{role}")
    text = USERS_HEADER + "\n".join(lines) + "\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    users_before = await count(db, User)
    audits_before = len(await audit_rows(db, "users.import"))

    dry = await api(client, csrf, "users", data)
    assert {e["line"] for e in dry.json()["errors"]} == bad
    assert sorted(r["line"] for r in dry.json()["rows"]) == sorted(
        set(range(2, len(kinds) + 2)) - bad
    )
    assert await count(db, User) == users_before

    real = await api(client, csrf, "users", data, dry_run=False)
    if bad:
        assert real.status_code == 422
        assert await count(db, User) == users_before
        assert len(await audit_rows(db, "users.import")) == audits_before
    else:
        assert real.status_code == 201 and real.json()["created"] == len(kinds)
        assert await count(db, User) == users_before + len(kinds)
        assert len(await audit_rows(db, "users.import")) == audits_before + 1


UNIT_ROW_KINDS = ["good", "unknown_parent", "closed_parent", "taken", "bad_kind", "self", "no_name"]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(
        st.sampled_from([*UNIT_ROW_KINDS, "repeat", "short", "root"]), min_size=1, max_size=12
    )
)
async def test_random_unit_files_errors_are_exactly_the_bad_lines(client, db, kinds):
    csrf = await _admin_once(client, db)
    prefix = f"HU{next(_seq)}x"
    lines, bad, codes, good = [], set(), [], []
    for i, kind in enumerate(kinds):
        line = i + 2
        # A good row hangs under the previous good row of the file, or under an existing unit.
        code, name, unit_kind, parent = (
            f"{prefix}{i}",
            "組織",
            "shop",
            good[-1] if good else "HY-OPEN",
        )
        if kind == "repeat" and codes:
            code = codes[0]
        elif kind == "unknown_parent":
            parent = "HY-NOPE"
        elif kind == "closed_parent":
            parent = "HY-CLOSED"
        elif kind == "taken":
            code = "HY-OPEN"
        elif kind == "bad_kind":
            unit_kind = "planet"
        elif kind == "self":
            parent = code
        elif kind == "no_name":
            name = ""
        elif kind == "root":  # a second company at the top: the database has a root
            unit_kind, parent = "company", ""
        if kind in ("good",) or (kind == "repeat" and not codes):
            good.append(code)
        else:
            bad.add(line)
        if kind != "short":  # a short row is no unit: a later row with its code is the first
            codes.append(code)
        row = f"{code},{name},{unit_kind},{parent}"
        lines.append(row.rsplit(",", 1)[0] if kind == "short" else row)
    data = UNITS_HEADER + "\n".join(lines) + "\n"
    units_before = await count(db, OrgUnit)

    dry = await api(client, csrf, "units", data)
    assert {e["line"] for e in dry.json()["errors"]} == bad
    assert [r["code"] for r in dry.json()["rows"]] == good
    assert await count(db, OrgUnit) == units_before

    real = await api(client, csrf, "units", data, dry_run=False)
    if bad:
        assert real.status_code == 422
        assert await count(db, OrgUnit) == units_before
    else:
        assert real.status_code == 201 and real.json()["created"] == len(kinds)
        assert await count(db, OrgUnit) == units_before + len(kinds)


async def _admin_once(client: httpx.AsyncClient, db: AsyncSession) -> str:
    """Hypothesis runs the examples in one test: set up the admin and units on the first."""
    csrf = client.headers.get("X-CSRF-Token")
    if csrf:
        return csrf
    csrf = await as_admin(client, db)  # its unit, made first without a parent, is the root
    await make_unit(db, code="HY-OPEN", name="営業中の店")
    await make_unit(db, code="HY-CLOSED", name="閉店した店", active=False)
    await make_user(db, code="HY-TAKEN")
    client.headers["X-CSRF-Token"] = csrf
    return csrf


# A race with another writer -------------------------------------------------------------------


@pytest.mark.skipif(not IS_PG, reason="SQLite runs one writing request at a time")
async def test_a_code_taken_during_the_import_refuses_it_all(committed):  # noqa: F811
    """Another transaction holds code R2 when the import writes: the import waits for it,
    then rolls back everything and names the row, instead of a server error."""
    async with committed() as setup:
        unit = OrgUnit(code="RACE", name="競合店", kind="shop")
        setup.add(unit)
        await setup.commit()
    data = USERS_HEADER + "R1,一,,RACE,staff\nR2,二,,RACE,staff\n"
    async with committed() as other, committed() as importer:
        other.add(User(code="R2", name="先客", unit_id=unit.id))
        await other.flush()  # not committed: the import's check cannot see it yet
        task = asyncio.create_task(import_users(importer, data))
        await asyncio.sleep(0.5)  # the import checks, then waits on R2's unique key
        await other.commit()
        with pytest.raises(ImportRejected) as refused:
            await task
    assert [(e.line, e.code) for e in refused.value.errors] == [(3, "R2")]
    assert "R2" in refused.value.errors[0].message
    async with committed() as after:
        codes = (await after.exec(select(User.code))).all()
        assert codes == ["R2"]
        assert (await after.exec(select(AuditEntry))).all() == []
