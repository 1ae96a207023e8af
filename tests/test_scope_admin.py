"""Setting a curator's scope (docs/compliance.md "Curators with a scope"): the admin API and
page, the users CSV import, the audit entry with the old and the new scope; a scope only on
a curator (422), and a curator made staff loses theirs. And what a scope changes for the
curator beyond the route matrix of tests/test_curator_scope.py: a hidden post's page, the
お客さまの声 figures, the new bulletin's audience."""

from __future__ import annotations

import json

from sqlmodel import col, select

from app import i18n
from app.models import AuditEntry, User
from app.services import complaints as complaint_service
from app.services import moderation
from tests.factories import HX, login_as, make_post, make_units, make_user, soup


async def tree(db):
    return await make_units(
        db,
        ("SC-CO", "スコープ保険", "company", None),
        ("SC-RA", "関東地域", "region", "SC-CO"),
        ("SC-RB", "関西地域", "region", "SC-CO"),
        ("SC-A1", "新宿店", "shop", "SC-RA"),
        ("SC-B1", "梅田店", "shop", "SC-RB"),
        ("SC-HQ", "品質管理部", "department", "SC-CO"),
    )


async def as_admin(db, client) -> str:
    return await login_as(client, await make_user(db, role="admin", locale="en"))


async def scope_entries(db, user: User) -> list[dict]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.action == "user.scope", AuditEntry.target_id == user.id)
        .order_by(col(AuditEntry.id))
    )
    return [json.loads(e.changes or "{}") for e in (await db.exec(stmt)).all()]


async def fresh(db, user: User) -> User:
    await db.refresh(user)
    return user


# The admin API ------------------------------------------------------------------------------


async def test_api_creates_a_curator_with_a_scope_and_shows_it(client, db):
    units = await tree(db)
    csrf = await as_admin(db, client)
    r = await client.post(
        "/api/v1/admin/users",
        json={
            "code": "SCP-1",
            "name": "関東 品質",
            "unit": "SC-HQ",
            "role": "curator",
            "scope": "SC-RA",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == "SC-RA"
    got = (await client.get("/api/v1/admin/users/SCP-1")).json()
    assert got["scope"] == "SC-RA"
    listed = (await client.get("/api/v1/admin/users", params={"q": "SCP-1"})).json()["items"]
    assert [u["scope"] for u in listed] == ["SC-RA"]
    made = (await db.exec(select(User).where(User.code == "SCP-1"))).one()
    assert made.scope_unit_id == units["SC-RA"].id
    entry = (await db.exec(select(AuditEntry).where(AuditEntry.action == "user.create"))).all()[-1]
    assert json.loads(entry.changes or "{}")["after"]["scope"] == "SC-RA"


async def test_a_scope_on_anyone_but_a_curator_is_a_422_and_writes_nothing(client, db):
    await tree(db)
    csrf = await as_admin(db, client)
    for role in ("staff", "admin"):
        r = await client.post(
            "/api/v1/admin/users",
            json={
                "code": f"SCP-{role}",
                "name": "誰か",
                "unit": "SC-A1",
                "role": role,
                "scope": "SC-RA",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 422, r.text
        (error,) = [e for e in r.json()["detail"] if e["loc"] == ["body", "scope"]]
        assert "Only a curator can have a scope" in error["msg"]
        assert (await client.get(f"/api/v1/admin/users/SCP-{role}")).status_code == 404
    staff = await make_user(db, role="staff")
    r = await client.patch(
        f"/api/v1/admin/users/{staff.code}", json={"scope": "SC-RA"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 422
    assert (await fresh(db, staff)).scope_unit_id is None
    unknown = await make_user(db, role="curator")
    r = await client.patch(
        f"/api/v1/admin/users/{unknown.code}",
        json={"scope": "NO-SUCH"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "scope"]


async def test_changing_the_scope_is_audited_and_a_demoted_curator_loses_it(client, db):
    units = await tree(db)
    csrf = await as_admin(db, client)
    curator = await make_user(db, units["SC-HQ"], role="curator")
    headers = {"X-CSRF-Token": csrf}
    url = f"/api/v1/admin/users/{curator.code}"

    r = await client.patch(url, json={"scope": "SC-RA"}, headers=headers)
    assert r.status_code == 200 and r.json()["scope"] == "SC-RA"
    r = await client.patch(url, json={"scope": "SC-RB"}, headers=headers)
    assert r.json()["scope"] == "SC-RB"
    r = await client.patch(url, json={"scope": "SC-RB"}, headers=headers)  # no change
    # Making them staff with a scope is refused; making them staff takes the scope away.
    r = await client.patch(url, json={"role": "staff", "scope": "SC-RB"}, headers=headers)
    assert r.status_code == 422
    assert (await fresh(db, curator)).role == "curator"
    r = await client.patch(url, json={"role": "staff"}, headers=headers)
    assert r.status_code == 200 and r.json()["scope"] is None and r.json()["role"] == "staff"
    assert [
        (e["before"]["scope"], e["after"]["scope"]) for e in await scope_entries(db, curator)
    ] == [
        (None, "SC-RA"),
        ("SC-RA", "SC-RB"),
        ("SC-RB", None),
    ]
    # A curator again: no scope until one is given; null clears it.
    await client.patch(url, json={"role": "curator", "scope": "SC-RA"}, headers=headers)
    r = await client.patch(url, json={"scope": None}, headers=headers)
    assert r.status_code == 200 and r.json()["scope"] is None


# The admin page -----------------------------------------------------------------------------


async def test_the_user_page_sets_the_scope_with_a_unit_picker(client, db):
    units = await tree(db)
    await as_admin(db, client)
    curator = await make_user(db, units["SC-HQ"], role="curator")
    page = soup(await client.get(f"/admin/users/{curator.code}"))
    picker = page.select_one("select#user-scope")
    assert picker is not None and page.select_one("label[for=user-scope]") is not None
    # Nothing chosen: the first option, the whole company.
    assert picker.select_one("option[selected]") is None
    assert picker.select_one("option").get("value") == ""
    csrf = page.select_one("input[name=csrf_token]")["value"]
    r = await client.post(
        f"/admin/users/{curator.code}/scope",
        data={"scope": "SC-RA", "csrf_token": csrf},
        headers=HX,
    )
    assert r.status_code == 200
    part = soup(r)
    assert part.select_one("#user-scope option[selected]").get("value") == "SC-RA"
    assert "関東地域" in part.select_one(".user-scope").get_text()
    assert (await fresh(db, curator)).scope_unit_id == units["SC-RA"].id
    assert [e["after"]["scope"] for e in await scope_entries(db, curator)] == ["SC-RA"]


async def test_the_page_says_only_curators_have_a_scope(client, db):
    units = await tree(db)
    await as_admin(db, client)
    staff = await make_user(db, units["SC-A1"])
    page = soup(await client.get(f"/admin/users/{staff.code}"))
    assert page.select_one("select#user-scope") is None
    assert "Only a curator can have a scope" in page.select_one("#admin-user").get_text()
    # A form sent anyway: the field's message, nothing written.
    csrf = page.select_one("input[name=csrf_token]")["value"]
    r = await client.post(
        f"/admin/users/{staff.code}/scope", data={"scope": "SC-RA", "csrf_token": csrf}, headers=HX
    )
    assert r.status_code == 422
    assert (await fresh(db, staff)).scope_unit_id is None


async def test_a_deactivated_unit_cannot_be_a_scope_and_the_choice_is_kept(client, db):
    units = await tree(db)
    await as_admin(db, client)
    gone = await make_units(db, ("SC-OLD", "旧支店", "branch", None))
    gone["SC-OLD"].active = False
    db.add(gone["SC-OLD"])
    await db.commit()
    curator = await make_user(db, units["SC-HQ"], role="curator")
    page = soup(await client.get(f"/admin/users/{curator.code}"))
    csrf = page.select_one("input[name=csrf_token]")["value"]
    r = await client.post(
        f"/admin/users/{curator.code}/scope", data={"scope": "SC-OLD", "csrf_token": csrf}
    )
    assert r.status_code == 422
    part = soup(r)
    assert part.select_one("#user-scope")["aria-invalid"] == "true"
    assert "deactivated" in part.select_one("#user-scope-error").get_text()


# The CSV import -----------------------------------------------------------------------------


async def test_the_users_csv_takes_an_optional_scope_column(client, db):
    units = await tree(db)
    csrf = await as_admin(db, client)

    async def send(text: str, dry_run: bool):
        return await client.post(
            "/api/v1/admin/import/users",
            params={"dry_run": str(dry_run).lower()},
            files={"file": ("users.csv", text.encode(), "text/csv")},
            headers={"X-CSRF-Token": csrf},
        )

    bad = (
        "code,name,email,unit,role,scope\n"
        "SCV-1,関東 品質,,SC-HQ,curator,SC-RA\n"
        "SCV-2,山田 太郎,,SC-A1,staff,SC-RA\n"  # a scope on staff
        "SCV-3,佐藤 花子,,SC-HQ,curator,NOWHERE\n"
    )
    r = await send(bad, dry_run=True)
    assert r.status_code == 422
    errors = {e["line"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {3, 4}
    assert "Only a curator can have a scope" in errors[3]
    good = "code,name,email,unit,role,scope\nSCV-1,関東 品質,,SC-HQ,curator,SC-RA\nSCV-2,山田 太郎,,SC-A1,staff,\n"
    r = await send(good, dry_run=False)
    assert r.status_code == 201, r.text
    made = {
        u.code: u for u in (await db.exec(select(User).where(col(User.code).like("SCV-%")))).all()
    }
    assert made["SCV-1"].scope_unit_id == units["SC-RA"].id
    assert made["SCV-2"].scope_unit_id is None
    entry = (await db.exec(select(AuditEntry).where(AuditEntry.action == "users.import"))).one()
    assert json.loads(entry.changes or "{}")["after"]["scopes"] == {"SCV-1": "SC-RA"}
    # Without the column, as before.
    r = await send("code,name,email,unit,role\nSCV-4,鈴木 一郎,,SC-A1,staff\n", dry_run=False)
    assert r.status_code == 201


# What the scope changes for the curator --------------------------------------------------------


async def test_a_hidden_post_outside_the_scope_does_not_exist_for_the_curator(client, db):
    units = await tree(db)
    head = await make_user(db, units["SC-HQ"], role="curator")
    scoped = await make_user(db, units["SC-HQ"], role="curator", scope_unit_id=units["SC-RA"].id)
    inside = await make_post(db, await make_user(db, units["SC-A1"]), title="関東の投稿")
    outside = await make_post(db, await make_user(db, units["SC-B1"]), title="関西の投稿")
    for post in (inside, outside):
        await moderation.hide_post(db, head, post, "確認中")
    await login_as(client, scoped)
    assert (await client.get(f"/posts/{inside.id}")).status_code == 200
    assert (await client.get(f"/posts/{outside.id}")).status_code == 404
    assert (await client.get(f"/api/v1/posts/{outside.id}")).status_code == 404
    # A published post outside the scope is still the board's, seen by everyone.
    await moderation.restore_post(db, head, outside, None)
    assert (await client.get(f"/posts/{outside.id}")).status_code == 200


async def test_the_voices_figures_are_the_scopes(client, db):
    units = await tree(db)
    head = await make_user(db, units["SC-HQ"], role="curator")
    scoped = await make_user(db, units["SC-HQ"], role="curator", scope_unit_id=units["SC-RA"].id)
    today = i18n.today().isoformat()
    for unit, n in (("SC-A1", 1), ("SC-B1", 2)):
        for _i in range(n):
            await complaint_service.create_complaint(
                db, head, {"received_on": today, "unit": unit, "category": "claim"}
            )
    await make_post(db, await make_user(db, units["SC-A1"]), received_on=i18n.today())
    await make_post(db, await make_user(db, units["SC-B1"]), received_on=i18n.today())
    await login_as(client, scoped)
    mine = (await client.get("/api/v1/kpi/voices")).json()
    await login_as(client, head)
    everyone = (await client.get("/api/v1/kpi/voices")).json()
    assert (mine["complaints"], mine["praise"]) == (1, 1)
    assert (everyone["complaints"], everyone["praise"]) == (3, 2)


async def test_the_new_bulletin_starts_with_the_scope_and_a_month_close_is_head_offices(client, db):
    units = await tree(db)
    scoped = await make_user(db, units["SC-HQ"], role="curator", scope_unit_id=units["SC-RA"].id)
    csrf = await login_as(client, scoped)
    page = soup(await client.get("/bulletins/new"))
    checked = page.select_one("input[name=audience_mode][checked]")
    assert checked is not None and checked["value"] == "units"
    chosen = [i["value"] for i in page.select("input[name=units][checked]")]
    typed = page.select_one("[name=other_units]")
    assert chosen == ["SC-RA"] or "SC-RA" in (typed.get("value") or typed.get_text())
    r = await client.post("/api/v1/kpi/months/2020-04/close", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    kpi = soup(await client.get("/kpi"))
    assert not kpi.select("form[action*='/close']")
