"""Names, not codes: praised colleagues and @mentions are shown by name (the employee number
as a detail), nobody is offered themself, CSV import reasons name a column by its label, and
the forced password change says which password it wants."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import User
from tests.factories import bearer_for, login_as, make_post, make_unit, make_user, soup
from tests.test_post_pages import PRAISE_FORM

HX = {"HX-Request": "true"}


async def test_praised_colleagues_are_chips_with_names(client, db):
    author = await make_user(db)
    colleague = await make_user(db, code="E4242", name="鈴木 花子")
    csrf = await login_as(client, author)
    r = await client.post(
        "/posts", data={**PRAISE_FORM, "praised": colleague.code, "csrf_token": csrf}
    )
    post_id = int(r.headers["location"].rsplit("/", 1)[1])
    card = soup(await client.get(f"/posts/{post_id}")).select_one(".praised")
    assert [a.get_text() for a in card.select("a")] == ["鈴木 花子"]

    chip = soup(await client.get(f"/posts/{post_id}/edit")).select_one("#praised-chips .chip")
    assert chip.get_text(" ", strip=True).startswith("鈴木 花子 E4242")
    assert chip["title"] == "E4242"
    assert chip.select_one("input[name=praised]")["value"] == "E4242"
    assert chip.select_one(".chip-remove")["aria-label"] == "鈴木 花子 を削除"
    # A form shown again after an error keeps the chip, by name too.
    again = await client.post(
        "/posts",
        data={**PRAISE_FORM, "title": "", "praised": "E4242", "csrf_token": csrf},
        headers=HX,
    )
    assert again.status_code == 422
    assert "鈴木 花子" in soup(again).select_one("#praised-chips .chip").get_text()


async def test_nobody_is_offered_themself(client, db):
    me = await make_user(db, code="E8801", name="山本 一郎")
    await make_user(db, code="E8802", name="山本 二郎")
    await login_as(client, me)
    for params in ({"praised_q": "山本"}, {"q": "@E880"}):
        r = soup(await client.get("/users/suggest", params=params))
        assert [li["data-code"] for li in r.select("li[data-code]")] == ["E8802"]
        assert r.select_one("li[data-code] strong").get_text() == "山本 二郎"


async def test_mentions_show_names_with_the_code_as_their_title(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    await make_user(db, code="E7001", name="佐々木 希")
    csrf = await login_as(client, await make_user(db))
    await client.post(
        f"/posts/{post.id}/comments",
        data={"body": "@E7001 さん、@NOBODY さん ありがとう **感謝**", "csrf_token": csrf},
    )
    comment = soup(await client.get(f"/posts/{post.id}")).select_one("#comment-list .comment")
    [link] = comment.select(".comment-body a")
    assert link.get_text() == "@佐々木 希"
    assert link["title"] == "E7001" and link["href"] == "/users/E7001"
    assert "@NOBODY" in comment.select_one(".comment-body").get_text()  # no one: left as typed
    assert comment.select_one(".comment-body strong").get_text() == "感謝"
    # The API answers the same HTML.
    r = await client.get(f"/api/v1/posts/{post.id}/comments", headers=await bearer_for(db, author))
    html = r.json()["items"][0]["body_html"]
    assert "@佐々木 希" in html and "@E7001<" not in html


async def test_a_name_with_markup_is_text(client, db):
    post = await make_post(db, await make_user(db))
    await make_user(db, code="E7002", name="<b>太郎</b> & 花子")
    csrf = await login_as(client, await make_user(db))
    await client.post(f"/posts/{post.id}/comments", data={"body": "@E7002", "csrf_token": csrf})
    body = soup(await client.get(f"/posts/{post.id}")).select_one(".comment-body")
    assert body.select_one("a").get_text() == "@<b>太郎</b> & 花子" and not body.select("b")


async def test_csv_reasons_name_the_column_by_its_label(client, db):
    admin = await make_user(db, role="admin")
    csrf = await login_as(client, admin)
    await make_unit(db, code="S-NAMES")
    users_csv = "code,name,email,unit,role\nE9101,山田,,S-NAMES,\nE9102,田中,,S-NAMES,boss\n"
    r = await client.post(
        "/api/v1/admin/import/users?dry_run=true",
        content=users_csv.encode(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "text/csv"},
    )
    reasons = {e["line"]: e["message"] for e in r.json()["errors"]}
    assert reasons[2].startswith("権限（role）は必須です")
    assert reasons[3].startswith("権限（role）は staff, curator, admin のいずれか")
    units_csv = "code,name,kind,parent\nS-NEW,,planet,S-NAMES\n"
    r = await client.post(
        "/api/v1/admin/import/units?dry_run=true",
        content=units_csv.encode(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "text/csv"},
    )
    messages = [e["message"] for e in r.json()["errors"]]
    assert any(m.startswith("組織名（name）は必須です") for m in messages)
    assert any(m.startswith("組織の種別（kind）は") for m in messages)
    missing = await client.post(
        "/api/v1/admin/import/users?dry_run=true",
        content=b"code,name,email,unit\nE1,a,,S\n",
        headers={"X-CSRF-Token": csrf, "Content-Type": "text/csv"},
    )
    assert "権限（role）" in missing.json()["errors"][0]["message"]


async def test_the_forced_password_change_asks_for_the_one_time_password(client, db):
    user = await make_user(db, must_change_password=True)
    csrf = await login_as(client, user)
    page = soup(await client.get("/settings/password"))
    assert page.select_one("label[for=current_password]").get_text() == "仮パスワード"
    hint = page.select_one("#current_password")["aria-describedby"]
    assert "仮パスワード" in page.select_one(f"#{hint}").get_text()
    r = await client.post(
        "/settings/password",
        data={
            "current_password": "wrong-one",
            "new_password": "a-new-password-1",
            "confirm_password": "a-new-password-1",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 422
    assert soup(r).select_one("#current_password-error").get_text() == (
        "仮パスワードが正しくありません。"
    )
    # Elsewhere (no one-time password) it stays the current password.
    other = await make_user(db)
    await login_as(client, other)
    page = soup(await client.get("/settings"))
    assert page.select_one("label[for=current_password]").get_text() == "現在のパスワード"
    gate = sa.select(User.must_change_password).where(User.id == user.id)
    assert (await db.execute(gate)).scalar_one()  # the wrong one changed nothing
