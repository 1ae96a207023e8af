"""User administration in /admin and /api/v1/admin: the list, adding, role and unit,
deactivation (sessions and tokens end at once), one-time passwords, revoking access."""

from __future__ import annotations

import itertools
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.models import ApiToken, AuditEntry, User, UserSession
from app.security import verify_password
from app.services.errors import Conflict, InvalidInput
from app.services.people import users as user_service
from app.services.people.tokens import issue_token
from tests.factories import HX, csrf_from, login_as, make_post, make_unit, make_user, soup

_seq = itertools.count(1)


async def as_admin(db, client: httpx.AsyncClient):
    admin_user = await make_user(db, role="admin", locale="en")
    return admin_user, await login_as(client, admin_user)


async def fresh(db, code: str) -> User:
    user = (await db.exec(select(User).where(User.code == code))).one()
    await db.refresh(user)
    return user


async def audit_rows(db, action: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
    return list((await db.exec(stmt)).all())


def changes(entry: AuditEntry) -> dict:
    return json.loads(entry.changes or "{}")


async def password_login(client: httpx.AsyncClient, code: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login", data={"code": code, "password": password, "csrf_token": csrf_from(page.text)}
    )


# -- the list --------------------------------------------------------------------------------


async def test_search_by_code_prefix_or_name_and_filter_by_unit_subtree_and_role(client, db):
    n = next(_seq)
    branch = await make_unit(db, code=f"BR{n}", kind="branch")
    shop = await make_unit(db, code=f"SH{n}", kind="shop", parent_id=branch.id)
    elsewhere = await make_unit(db, code=f"EL{n}", kind="shop")
    yamada = await make_user(db, shop, code=f"Q{n}01", name="山田 太郎")
    sato = await make_user(db, branch, code=f"Q{n}02", name="佐藤 花子", role="curator")
    other = await make_user(db, elsewhere, code=f"Z{n}03", name="山田 次郎", active=False)
    await as_admin(db, client)

    async def codes(**params: str) -> list[str]:
        page = soup(await client.get("/admin/users", params=params))
        return [tr["data-code"] for tr in page.select("tr.user-row")]

    assert await codes(q=f"Q{n}") == [yamada.code, sato.code]
    assert await codes(q="山田") == [yamada.code, other.code]
    assert await codes(unit=branch.code) == [yamada.code, sato.code]  # the shop is below it
    assert await codes(unit=shop.code) == [yamada.code]
    assert await codes(q=f"Q{n}", role="curator") == [sato.code]
    assert await codes(q="山田", active="inactive") == [other.code]
    page = soup(await client.get("/admin/users", params={"q": "山田", "active": "active"}))
    assert page.select_one(".result-count").get_text() == "1 user"
    row = page.select_one(f'tr.user-row[data-code="{yamada.code}"]')
    assert row.select("td")[2].get_text(" ", strip=True).startswith(shop.name)
    # A percent sign is searched for, not a wildcard.
    assert await codes(q="%") == []
    # The filters come back filled in; HTMX gets the same page (it selects the results).
    page = soup(await client.get("/admin/users", params={"unit": branch.code}, headers=HX))
    assert page.select_one("#filter-unit option[selected]")["value"] == branch.code


async def test_paging_50_at_a_time(client, db):
    n = next(_seq)
    shop = await make_unit(db, code=f"PG{n}")
    for i in range(53):
        await make_user(db, shop, code=f"P{n}-{i:03d}")
    await as_admin(db, client)
    page = soup(await client.get("/admin/users", params={"unit": shop.code}))
    assert len(page.select("tr.user-row")) == 50
    assert page.select_one(".result-count").get_text() == "53 users"
    next_url = page.select_one("a[rel=next]")["href"]
    page2 = soup(await client.get(next_url))
    assert [tr["data-code"] for tr in page2.select("tr.user-row")] == [
        f"P{n}-{i:03d}" for i in (50, 51, 52)
    ]
    assert page2.select_one("a[rel=next]") is None
    assert page2.select_one(".next-page a").get_text() == "First page"
    # The API pages the same way.
    seen: list[str] = []
    cursor = None
    while True:
        params = {"unit": shop.code, "limit": "20", **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/v1/admin/users", params=params)).json()
        seen += [u["code"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"P{n}-{i:03d}" for i in range(53)]


async def test_bad_list_parameters_are_422(client, db):
    await as_admin(db, client)
    r = await client.get("/api/v1/admin/users", params={"cursor": "!!!"})
    assert r.status_code == 422
    r = await client.get("/api/v1/admin/users", params={"unit": "NO-SUCH"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "unit"]
    r = await client.get("/api/v1/admin/users", params={"role": "boss"})
    assert r.status_code == 422
    page = await client.get("/admin/users", params={"unit": "NO-SUCH"})
    assert page.status_code == 422
    assert soup(page).select_one("#user-results .form-error").get_text() == (
        "There is no unit with this code."
    )


# -- adding ----------------------------------------------------------------------------------


async def test_add_a_user_with_the_form(client, db):
    shop = await make_unit(db)
    admin_user, token = await as_admin(db, client)
    r = await client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "code": "N0001",
            "name": "新人 一郎",
            "email": "ichiro@example.jp",
            "unit": shop.code,
            "role": "staff",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/users/N0001?done=created"
    page = soup(await client.get(r.headers["location"]))
    assert page.select_one(".flash").get_text() == "The user was added."
    assert page.select_one("[data-testid=one-time-password]") is None
    user = await fresh(db, "N0001")
    assert (user.unit_id, user.role, user.password_hash, user.must_change_password) == (
        shop.id,
        "staff",
        None,
        False,
    )
    [entry] = await audit_rows(db, "user.create")
    assert entry.actor_id == admin_user.id and entry.target_id == user.id
    assert changes(entry)["after"] == {
        "code": "N0001",
        "name": "新人 一郎",
        "email": "ichiro@example.jp",
        "unit": shop.code,
        "role": "staff",
        "scope": None,
        "active": True,
        "one_time_password": False,
    }


async def test_add_refuses_bad_input_inline_and_keeps_what_was_typed(client, db):
    shop = await make_unit(db)
    taken = await make_user(db, shop)
    _admin, token = await as_admin(db, client)
    data = {
        "csrf_token": token,
        "code": "ok-1",
        "name": "",
        "email": "not-mail",
        "unit": "",
        "role": "staff",
    }
    r = await client.post("/admin/users", data=data)
    assert r.status_code == 422
    page = soup(r)
    for field in ("name", "email", "unit"):
        assert page.select_one(f"#user-{field}-error"), field
    assert page.select_one("#user-email")["value"] == "not-mail"
    assert page.select_one("#user-code")["value"] == "ok-1"
    assert page.select_one("details#add-user").has_attr("open")
    data.update(code=taken.code, name="同じ番号", email="", unit=shop.code)
    r = await client.post("/admin/users", data=data)
    assert r.status_code == 409
    assert soup(r).select_one("#user-code-error").get_text() == (
        "A user with this employee number already exists."
    )
    assert (await db.exec(select(User).where(User.code == "ok-1"))).first() is None
    assert await audit_rows(db, "user.create") == []


async def test_one_time_password_is_shown_once_and_forces_a_password_change(
    client, db, make_client
):
    shop = await make_unit(db)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "code": "OTP1",
            "name": "新人",
            "unit": shop.code,
            "role": "staff",
            "one_time_password": "on",
        },
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    password = soup(r).select_one("[data-testid=one-time-password]").get_text()
    assert len(password) >= 10
    # Shown once: the user's page does not show it again, and only the hash is stored.
    again = soup(await client.get("/admin/users/OTP1"))
    assert again.select_one("[data-testid=one-time-password]") is None
    assert password not in again.get_text()
    user = await fresh(db, "OTP1")
    assert user.must_change_password and user.password_hash != password
    assert verify_password(user.password_hash, password)
    assert password not in json.dumps([e.changes for e in await audit_rows(db, "user.create")])

    # The user logs in with it and is sent to the password change, from every page.
    browser = make_client()
    r = await password_login(browser, "OTP1", password)
    assert r.status_code == 303
    for path in ("/", "/kpi", "/admin", "/posts/new"):
        r = await browser.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/settings/password"), path
    r = await browser.get("/", headers=HX)
    assert r.headers.get("HX-Redirect") == "/settings/password"
    r = await browser.get("/api/v1/me")
    assert r.status_code == 403
    assert "新しいパスワード" in r.json()["detail"]  # the user's language: Japanese
    # The way out stays open: the settings pages are not redirected.
    r = await browser.get("/settings/password")
    assert r.status_code != 303
    # Once the password is changed (the flag cleared), everything works again.
    user.must_change_password = False
    db.add(user)
    await db.commit()
    assert (await browser.get("/")).status_code == 200
    assert (await browser.get("/api/v1/me")).json()["code"] == "OTP1"


async def test_api_create_answers_the_one_time_password_once(client, db):
    shop = await make_unit(db)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        "/api/v1/admin/users",
        json={
            "code": "API1",
            "name": "新人",
            "unit": shop.code,
            "role": "curator",
            "one_time_password": True,
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["must_change_password"] is True and body["role"] == "curator"
    assert verify_password((await fresh(db, "API1")).password_hash, body["one_time_password"])
    assert "one_time_password" not in (await client.get("/api/v1/admin/users/API1")).json()
    r = await client.post(
        "/api/v1/admin/users",
        json={"code": "API1", "name": "x", "unit": shop.code},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 409


# -- role and unit ---------------------------------------------------------------------------


async def test_change_role_and_unit(client, db):
    shop, other = await make_unit(db), await make_unit(db)
    target = await make_user(db, shop)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/users/{target.code}/role",
        data={"role": "curator"},
        headers={**HX, "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    panel = soup(r)
    assert panel.select_one(".flash").get_text() == "The role was changed."
    assert panel.select_one(".user-role").get_text() == "Curator (head office)"
    r = await client.post(
        f"/admin/users/{target.code}/unit", data={"csrf_token": token, "unit": other.code}
    )
    assert r.status_code == 303
    user = await fresh(db, target.code)
    assert (user.role, user.unit_id) == ("curator", other.id)
    [role_entry] = await audit_rows(db, "user.role")
    assert changes(role_entry) == {
        "before": {"code": target.code, "role": "staff"},
        "after": {"code": target.code, "role": "curator"},
    }
    [unit_entry] = await audit_rows(db, "user.unit")
    assert changes(unit_entry)["after"]["unit"] == other.code
    # The API: several fields at once, all or nothing.
    r = await client.patch(
        f"/api/v1/admin/users/{target.code}",
        json={"role": "admin", "unit": "NO-SUCH"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422
    assert (await fresh(db, target.code)).role == "curator"
    r = await client.patch(
        f"/api/v1/admin/users/{target.code}",
        json={"role": "staff", "unit": shop.code, "name": "改名", "email": "a@example.jp"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["role"], body["unit"]["code"], body["name"], body["email"]) == (
        "staff",
        shop.code,
        "改名",
        "a@example.jp",
    )
    [details] = await audit_rows(db, "user.update")
    assert changes(details)["after"] == {
        "code": target.code,
        "name": "改名",
        "email": "a@example.jp",
    }


async def test_an_admin_cannot_demote_or_deactivate_themselves(client, db):
    me, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/users/{me.code}/role", data={"csrf_token": token, "role": "staff"}
    )
    assert r.status_code == 409
    page = soup(r)
    assert "yourself" in page.select_one("#user-role-error").get_text()
    assert page.select_one("#user-role option[selected]")["value"] == "staff"  # as typed
    headers = {"X-CSRF-Token": token}
    r = await client.patch(
        f"/api/v1/admin/users/{me.code}", json={"role": "curator"}, headers=headers
    )
    assert r.status_code == 409
    r = await client.patch(
        f"/api/v1/admin/users/{me.code}", json={"active": False}, headers=headers
    )
    assert r.status_code == 409
    r = await client.post(f"/admin/users/{me.code}/deactivate", data={"csrf_token": token})
    assert r.status_code == 409
    assert "yourself" in soup(r).select_one("#user-active-error").get_text()
    r = await client.post(f"/api/v1/admin/users/{me.code}/password", headers=headers)
    assert r.status_code == 409
    me = await fresh(db, me.code)
    assert (me.role, me.active, me.must_change_password) == ("admin", True, False)
    assert (await client.get("/admin")).status_code == 200  # still signed in
    # Another admin may be demoted: the acting one is still there.
    other = await make_user(db, role="admin")
    r = await client.patch(
        f"/api/v1/admin/users/{other.code}", json={"role": "staff"}, headers=headers
    )
    assert r.status_code == 200


async def test_a_deactivated_unit_is_refused_for_a_user(client, db):
    closed = await make_unit(db, active=False)
    target = await make_user(db)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/users/{target.code}/unit", data={"csrf_token": token, "unit": closed.code}
    )
    assert r.status_code == 422
    assert "deactivated" in soup(r).select_one("#user-unit-error").get_text()


# -- deactivation ----------------------------------------------------------------------------


async def test_deactivation_ends_sessions_and_tokens_at_once_and_reactivation_does_not_revive_them(
    client, db, make_client
):
    shop = await make_unit(db)
    target = await make_user(db, shop)
    post = await make_post(db, target, title="辞めても残る投稿")
    _row, api_token = await issue_token(db, target, name="cli", scope="write", days=None)
    browser = make_client()
    await login_as(browser, target)
    assert (await browser.get("/")).status_code == 200
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200

    _admin, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/users/{target.code}/deactivate", data={}, headers={**HX, "X-CSRF-Token": token}
    )
    assert r.status_code == 200
    assert "sessions and API tokens have ended" in soup(r).select_one(".flash").get_text()
    r = await browser.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    [entry] = await audit_rows(db, "user.deactivate")
    assert changes(entry)["after"] == {
        "code": target.code,
        "active": False,
        "sessions_ended": 1,
        "tokens_revoked": 1,
    }
    # What they wrote stays on the board.
    assert (await client.get(f"/posts/{post.id}")).status_code == 200
    assert "辞めても残る投稿" in (await client.get("/")).text
    # They cannot log in while deactivated.
    assert (
        await password_login(make_client(), target.code, "correct-horse-battery")
    ).status_code == 400

    r = await client.post(f"/admin/users/{target.code}/reactivate", data={"csrf_token": token})
    assert r.status_code == 303
    assert len(await audit_rows(db, "user.reactivate")) == 1
    # The old session and token stay dead; a new login works.
    assert (await browser.get("/")).status_code == 303
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    fresh_browser = make_client()
    await login_as(fresh_browser, target)
    assert (await fresh_browser.get("/")).status_code == 200


async def test_reactivating_into_a_deactivated_unit_is_refused(client, db):
    closed = await make_unit(db, active=False)
    target = await make_user(db, closed, active=False)
    _admin, token = await as_admin(db, client)
    r = await client.patch(
        f"/api/v1/admin/users/{target.code}", json={"active": True}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 409
    # Moving them to an active unit in the same request works.
    shop = await make_unit(db)
    r = await client.patch(
        f"/api/v1/admin/users/{target.code}",
        json={"active": True, "unit": shop.code},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and r.json()["active"] is True


# -- passwords, sessions, tokens -------------------------------------------------------------


async def test_set_a_one_time_password_for_an_existing_user(client, db, make_client):
    target = await make_user(db)
    browser = make_client()
    await login_as(browser, target)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/users/{target.code}/password", data={}, headers={**HX, "X-CSRF-Token": token}
    )
    assert r.status_code == 200
    password = soup(r).select_one("#admin-user [data-testid=one-time-password]").get_text()
    # Their open session ended; the old password no longer works, the new one does.
    assert (await browser.get("/")).status_code == 303
    assert (
        await password_login(make_client(), target.code, "correct-horse-battery")
    ).status_code == 400
    again = make_client()
    assert (await password_login(again, target.code, password)).status_code == 303
    assert (await again.get("/")).headers["location"] == "/settings/password"
    [entry] = await audit_rows(db, "user.password_reset")
    assert password not in (entry.changes or "")
    assert changes(entry)["after"]["must_change_password"] is True
    # The API answers a new one once.
    r = await client.post(
        f"/api/v1/admin/users/{target.code}/password", headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200
    assert verify_password(
        (await fresh(db, target.code)).password_hash, r.json()["one_time_password"]
    )


async def test_end_all_sessions_and_tokens(client, db, make_client):
    target = await make_user(db)
    _row, api_token = await issue_token(db, target, name="cli", scope="read", days=None)
    browser = make_client()
    await login_as(browser, target)
    _admin, token = await as_admin(db, client)
    r = await client.post(f"/admin/users/{target.code}/revoke-access", data={"csrf_token": token})
    assert r.status_code == 303
    page = soup(await client.get(r.headers["location"]))
    assert (
        page.select_one(".flash").get_text()
        == "All sessions and API tokens of this user have ended."
    )
    assert (await browser.get("/")).status_code == 303
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert (await fresh(db, target.code)).active  # still active: they can log in again
    [entry] = await audit_rows(db, "user.revoke_access")
    assert changes(entry)["after"]["sessions_ended"] == 1
    assert changes(entry)["after"]["tokens_revoked"] == 1
    r = await client.post(
        f"/api/v1/admin/users/{target.code}/revoke-access", headers={"X-CSRF-Token": token}
    )
    assert r.json() == {"sessions_ended": 0, "tokens_revoked": 0}
    live = (
        await db.exec(
            select(UserSession).where(
                UserSession.user_id == target.id, col(UserSession.revoked_at).is_(None)
            )
        )
    ).all()
    assert live == []


async def test_list_and_revoke_a_users_tokens(client, db):
    target = await make_user(db)
    row, api_token = await issue_token(db, target, name="集計スクリプト", scope="write", days=30)
    old, _old_token = await issue_token(db, target, name="古い", scope="read", days=None)
    _admin, token = await as_admin(db, client)
    await client.delete(f"/api/v1/admin/tokens/{old.id}", headers={"X-CSRF-Token": token})

    page = soup(await client.get(f"/admin/users/{target.code}"))
    rows = page.select("#tokens tr.token-row")
    assert [r.select("td")[0].get_text() for r in rows] == [
        "古い",
        "集計スクリプト",
    ]  # newest first
    active_row = page.select_one(f"#token-{row.id}")
    assert active_row.select("td")[1].get_text() == f"{row.prefix}…"
    assert active_row.select("td")[2].get_text() == "Read and write"
    assert "token-revoked" in page.select_one(f"#token-{old.id}")["class"]
    listed = (await client.get(f"/api/v1/admin/users/{target.code}/tokens")).json()["items"]
    by_id = {t["id"]: t for t in listed}
    assert by_id[row.id]["revoked"] is False and by_id[old.id]["revoked"] is True
    assert by_id[row.id]["prefix"] == row.prefix and by_id[row.id]["expires_at"]
    assert "token_hash" not in by_id[row.id]

    r = await client.post(
        f"/admin/tokens/{row.id}/revoke", data={}, headers={**HX, "X-CSRF-Token": token}
    )
    assert r.status_code == 200
    assert soup(r).select_one(".flash").get_text() == "The API token was revoked."
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    entries = await audit_rows(db, "token.revoke")
    assert [e.target_id for e in entries] == [old.id, row.id]
    assert changes(entries[1])["before"]["user"] == target.code
    # Again is a no-op (nothing new in the log); an unknown id is 404.
    r = await client.delete(f"/api/v1/admin/tokens/{row.id}", headers={"X-CSRF-Token": token})
    assert r.status_code == 204
    assert len(await audit_rows(db, "token.revoke")) == 2
    r = await client.delete("/api/v1/admin/tokens/999999", headers={"X-CSRF-Token": token})
    assert r.status_code == 404
    tokens = (await db.exec(select(ApiToken).where(ApiToken.user_id == target.id))).all()
    assert all(t.revoked_at is not None for t in tokens)


async def test_admin_actions_are_named_on_the_audit_page(client, db):
    target = await make_user(db)
    _admin, token = await as_admin(db, client)
    await client.post(f"/admin/users/{target.code}/deactivate", data={"csrf_token": token})
    page = soup(await client.get("/audit", params={"action": "user.deactivate"}))
    assert page.select_one("tr.audit-row .action").get_text() == "Deactivate user"


async def test_unknown_user_is_404(client, db):
    _admin, token = await as_admin(db, client)
    assert (await client.get("/admin/users/NOBODY")).status_code == 404
    r = await client.post("/admin/users/NOBODY/deactivate", data={"csrf_token": token})
    assert r.status_code == 404
    assert (await client.get("/api/v1/admin/users/NOBODY/tokens")).status_code == 404


# -- properties ------------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    code=st.one_of(
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", fullmatch=True), st.text(max_size=40)
    ),
    email=st.one_of(st.just(""), st.emails(), st.text(max_size=30)),
    role=st.sampled_from(["staff", "curator", "admin", "root", ""]),
)
async def test_any_new_user_is_created_or_refused_and_nothing_half_written(db, code, email, role):
    actor = await make_user(db, role="admin")
    shop = await make_unit(db)
    before = len((await db.exec(select(User))).all())
    try:
        user, password = await user_service.add_by_admin(
            db, actor, code=code, name="新人", email=email, unit=shop.code, role=role
        )
    except InvalidInput as exc:
        assert set(exc.by_field()) <= {"code", "email", "role"}
        assert len((await db.exec(select(User))).all()) == before
        return
    except Conflict:
        assert len((await db.exec(select(User))).all()) == before
        return
    assert password is None and user.code == code.strip() and user.role == role
    assert len((await db.exec(select(User))).all()) == before + 1


async def test_the_password_change_gate_holds_back_the_users_api_tokens_too(client, db):
    # The gate is on the user (docs/admin.md): tests/test_password_gate.py walks every route.
    target = await make_user(db, must_change_password=True)
    _row, api_token = await issue_token(db, target, name="cli", scope="read", days=None)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"})
    assert r.status_code == 403


async def test_htmx_errors_swap_the_panel_with_the_message(client, db):
    parent = await make_unit(db, kind="branch")
    shop = await make_unit(db, parent_id=parent.id)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        "/admin/units",
        data={"code": shop.code, "name": "x", "kind": "shop", "parent": parent.code},
        headers={**HX, "X-CSRF-Token": token},
    )
    assert r.status_code == 409
    panel = soup(r)
    assert panel.select_one("div#units-panel") is not None
    assert panel.select_one("html") is None  # the partial, not the page
    assert (
        panel.select_one("#unit-code-error").get_text() == "A unit with this code already exists."
    )


async def test_no_one_time_passwords_while_password_login_is_off(client, db, monkeypatch):
    from app.config import get_settings

    target = await make_user(db)
    shop = await make_unit(db)
    before = target.password_hash
    _admin, token = await as_admin(db, client)
    for key, value in {
        "PASSWORD_LOGIN": "false",
        "OIDC_ISSUER": "http://127.0.0.1:9/",
        "OIDC_CLIENT_ID": "arigato",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        r = await client.post(
            f"/admin/users/{target.code}/password", data={}, headers={**HX, "X-CSRF-Token": token}
        )
        assert r.status_code == 409
        assert soup(r).select_one("#admin-user [data-testid=one-time-password]") is None
        r = await client.post(
            "/api/v1/admin/users",
            json={"code": "SSO1", "name": "新人", "unit": shop.code, "one_time_password": True},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 409
        assert (await db.exec(select(User).where(User.code == "SSO1"))).first() is None
        await db.refresh(target)
        assert (target.password_hash, target.must_change_password) == (before, False)
        assert await audit_rows(db, "user.password_reset") == []
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
