"""/settings and /api/v1/me...: language, password change, personal API tokens, digest."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.inputs import text_ok
from app.models import ApiToken, User, UserSession
from app.models.base import utcnow
from app.services.people.tokens import issue_token
from tests.factories import PASSWORD, csrf_from, login_as, make_user, soup

NEW_PASSWORD = "a-brand-new-passphrase"
HX = {"HX-Request": "true"}


def field_error(r: httpx.Response, field_id: str) -> str:
    """The inline error a field points at with aria-describedby."""
    field = soup(r).find(id=field_id)
    assert field is not None and field.get("aria-invalid") == "true", field
    error_id = next(i for i in field["aria-describedby"].split() if i.endswith("-error"))
    return soup(r).find(id=error_id).get_text(strip=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def tokens_of(db, user: User) -> list[ApiToken]:  # type: ignore[no-untyped-def]
    return list(
        (
            await db.exec(
                select(ApiToken)
                .where(ApiToken.user_id == user.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def password_hash_of(db, user: User) -> str | None:  # type: ignore[no-untyped-def]
    await db.refresh(user)
    return user.password_hash


async def can_log_in(make_client, user: User, password: str) -> bool:  # type: ignore[no-untyped-def]
    other = make_client("10.0.0.9")
    page = await other.get("/login")
    r = await other.post(
        "/login", data={"code": user.code, "password": password, "csrf_token": csrf_from(page.text)}
    )
    return r.status_code == 303


async def login_one_time(client, user: User) -> str:  # type: ignore[no-untyped-def]
    """Log in a user who must replace a one-time password (every other page sends them
    to the password form); return the CSRF token of that form."""
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303
    return csrf_from((await client.get("/settings/password")).text)


async def session_csrf(client, user: User) -> str:  # type: ignore[no-untyped-def]
    """Log in once per test (hypothesis runs many examples on one client)."""
    r = await client.get("/settings")
    return csrf_from(r.text) if r.status_code == 200 else await login_as(client, user)


# --- access -------------------------------------------------------------------------------


async def test_anonymous_is_sent_to_login_and_the_api_says_401(client):
    r = await client.get("/settings")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/settings"
    r = await client.get("/settings/password")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await client.get("/settings", headers=HX)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")
    assert (await client.get("/api/v1/me/tokens")).status_code == 401


@pytest.mark.parametrize("role", ["staff", "curator", "admin"])
async def test_every_role_has_settings_linked_from_the_menu(client, db, role):
    user = await make_user(db, role=role)
    await login_as(client, user)
    feed = soup(await client.get("/"))
    link = feed.select_one("header.site-header a[href='/settings']")  # in the account menu
    assert link is not None
    r = await client.get("/settings")
    assert r.status_code == 200
    page = soup(r)
    for section in ("#language-settings", "#password-settings", "#api-tokens", "#digest-settings"):
        assert page.select_one(section) is not None, section
    assert page.select_one("#api-tokens form")["action"] == "/settings/tokens"


# --- language -----------------------------------------------------------------------------


async def test_switching_to_english_changes_the_page_and_persists_for_the_next_login(
    client, db, make_client
):
    user = await make_user(db)
    csrf = await login_as(client, user)
    assert soup(await client.get("/settings")).html["lang"] == "ja"
    r = await client.post("/settings/language", data={"locale": "en", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/settings?saved=language"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("arigato_lang="))
    assert cookie.startswith("arigato_lang=en") and "HttpOnly" in cookie
    page = soup(await client.get(r.headers["location"]))
    assert page.html["lang"] == "en"
    assert page.select_one("#language-settings [role=status]").get_text(strip=True) == "Saved."
    assert page.select_one("input[name=locale][value=en]").has_attr("checked")

    # Another browser without the cookie, Japanese by default: the account remembers English.
    other = make_client("10.0.0.3")
    assert soup(await other.get("/login")).html["lang"] == "ja"
    await login_as(other, user)
    assert soup(await other.get("/")).html["lang"] == "en"


async def test_an_unknown_language_is_refused_and_changes_nothing(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post("/settings/language", data={"locale": "fr", "csrf_token": csrf})
    assert r.status_code == 422
    assert soup(r).select_one("#language-error").get_text(strip=True)
    await db.refresh(user)
    assert user.locale == "ja"
    assert not any(h.startswith("arigato_lang=") for h in r.headers.get_list("set-cookie"))


async def test_api_patch_me_sets_the_locale(client, db):
    user = await make_user(db)
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    r = await client.patch("/api/v1/me", json={"locale": "en"}, headers=bearer(token))
    assert r.status_code == 200
    assert r.json()["locale"] == "en" and r.json()["code"] == user.code
    r = await client.patch("/api/v1/me", json={"locale": "xx"}, headers=bearer(token))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "locale"]
    r = await client.patch(
        "/api/v1/me", json={"locale": "ja", "role": "admin"}, headers=bearer(token)
    )
    assert r.status_code == 422
    await db.refresh(user)
    assert (user.locale, user.role) == ("en", "staff")


# --- password -----------------------------------------------------------------------------


def _pw(csrf: str, current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):  # type: ignore[no-untyped-def]
    return {
        "csrf_token": csrf,
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }


async def test_wrong_current_password_is_an_inline_error_and_changes_nothing(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    before = await password_hash_of(db, user)
    r = await client.post("/settings/password", data=_pw(csrf, current="not-my-password"))
    assert r.status_code == 422
    assert field_error(r, "current_password") == "現在のパスワードが正しくありません。"
    assert await password_hash_of(db, user) == before
    # Nothing typed comes back: no password field has a value, no password is in the page.
    assert all(not i.get("value") for i in soup(r).select("input[type=password]"))
    assert NEW_PASSWORD not in r.text and "not-my-password" not in r.text


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("short", "short", "new_password", "The new password must be at least 10 characters."),
        (
            NEW_PASSWORD,
            NEW_PASSWORD + "x",
            "confirm_password",
            "The two new passwords do not match.",
        ),
        (PASSWORD, PASSWORD, "new_password", "The new password must differ from the current one."),
        (
            "x" * 1025,
            "x" * 1025,
            "new_password",
            "The new password can be at most 1024 characters.",
        ),
    ],
)
async def test_bad_new_password_is_an_inline_error(client, db, new, confirm, field, message):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    before = await password_hash_of(db, user)
    r = await client.post("/settings/password", data=_pw(csrf, new=new, confirm=confirm))
    assert r.status_code == 422
    assert field_error(r, field) == message
    assert await password_hash_of(db, user) == before


async def test_htmx_gets_the_section_with_its_errors(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    r = await client.post("/settings/password", data=_pw(csrf, current=""), headers=HX)
    assert r.status_code == 422
    assert soup(r).find("section")["id"] == "password-settings"
    assert soup(r).select_one("main") is None  # only the partial
    assert field_error(r, "current_password") == "Enter your current password."


async def test_password_change_signs_out_other_sessions_keeps_this_one_and_tokens(
    client, db, make_client
):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    elsewhere = make_client("10.0.0.4")
    await login_as(elsewhere, user)
    _row, token = await issue_token(db, user, name="script", scope="read", days=30)

    r = await client.post("/settings/password", data=_pw(csrf))
    assert r.status_code == 200
    status = soup(r).select_one("#password-settings [role=status]")
    assert status.get_text(strip=True) == "Password changed; other sessions signed out."

    assert (await client.get("/settings")).status_code == 200  # this browser continues
    r = await elsewhere.get("/settings")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    assert not await can_log_in(make_client, user, PASSWORD)
    assert await can_log_in(make_client, user, NEW_PASSWORD)
    live = (
        await db.exec(
            select(UserSession).where(
                UserSession.user_id == user.id, col(UserSession.revoked_at).is_(None)
            )
        )
    ).all()
    assert len(live) == 2  # this browser and the login just made with the new password


async def test_a_one_time_password_is_replaced_and_the_flag_cleared(client, db):
    user = await make_user(db, must_change_password=True, locale="en")
    csrf = await login_one_time(client, user)
    page = await client.get("/settings/password")
    assert page.status_code == 200
    assert "one-time password" in soup(page).select_one("#password-settings [role=alert]").text
    r = await client.post("/settings/password", data=_pw(csrf))
    assert r.status_code == 200
    assert soup(r).select_one("#password-settings a[href='/']") is not None  # continue
    await db.refresh(user)
    assert user.must_change_password is False
    assert (await client.get("/")).status_code == 200


async def test_no_password_but_asked_to_choose_one_needs_no_current_password(client, db):
    user = await make_user(db, must_change_password=True)
    csrf = await login_one_time(client, user)
    user.password_hash = None  # e.g. an SSO account an administrator gave a password duty
    db.add(user)
    await db.commit()
    page = soup(await client.get("/settings/password"))
    assert page.select_one("#current_password") is None
    r = await client.post(
        "/settings/password",
        data={"csrf_token": csrf, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert r.status_code == 200
    await db.refresh(user)
    assert user.password_hash and not user.must_change_password


async def test_single_sign_on_account_has_no_password_to_change(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    user.password_hash = None
    db.add(user)
    await db.commit()
    page = soup(await client.get("/settings"))
    section = page.select_one("#password-settings")
    assert section.select_one("form") is None
    assert "single sign-on" in section.get_text()
    r = await client.post("/settings/password", data=_pw(csrf, current=""))
    assert r.status_code == 409
    r = await client.post(
        "/api/v1/me/password",
        json={"new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 409
    await db.refresh(user)
    assert user.password_hash is None


async def test_repeated_wrong_current_passwords_are_throttled(client, db, settings, make_client):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    before = await password_hash_of(db, user)
    for _ in range(settings.login_max_failures_per_account):
        r = await client.post("/settings/password", data=_pw(csrf, current="guess-guess"))
        assert r.status_code == 422
    r = await client.post("/settings/password", data=_pw(csrf, current="guess-guess"))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many" in soup(r).select_one("#password-settings [role=alert]").text
    # Blocked means blocked: even the right password waits, and the HTMX form says so too.
    r = await client.post("/settings/password", data=_pw(csrf), headers=HX)
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert soup(r).find("section")["id"] == "password-settings"
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert await password_hash_of(db, user) == before
    assert not await can_log_in(make_client, user, PASSWORD)  # the same lock as logins


async def test_api_password_change_needs_the_browser_session(client, db, make_client):
    user = await make_user(db)
    csrf = await login_as(client, user)
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = await make_client("10.0.0.5").post("/api/v1/me/password", json=body, headers=bearer(token))
    assert r.status_code == 403 and "APIトークン" in r.json()["detail"]
    r = await client.post(
        "/api/v1/me/password",
        json={**body, "current_password": "nope"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "current_password"]
    r = await client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert await can_log_in(make_client, user, NEW_PASSWORD)
    assert (await client.get("/api/v1/me")).status_code == 200  # the session that did it


async def test_a_token_cannot_use_the_password_page_either(make_client, db):
    user = await make_user(db)
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    api = make_client("10.0.0.6")
    r = await api.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        headers=bearer(token),
    )
    assert r.status_code == 403
    r = await api.post(
        "/settings/tokens",
        data={"name": "more", "scope": "write", "expires": "30"},
        headers=bearer(token),
    )
    assert r.status_code == 403
    assert len(await tokens_of(db, user)) == 1


# --- tokens on the page -------------------------------------------------------------------


async def test_a_new_token_is_shown_once_and_works_with_its_scope(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    r = await client.post(
        "/settings/tokens",
        data={"csrf_token": csrf, "name": "月次レポート", "scope": "read", "expires": "30"},
        headers=HX,
    )
    assert r.status_code == 201
    assert r.headers["Cache-Control"] == "no-store"
    token = soup(r).select_one("[data-testid=new-token]")["value"]
    assert token.startswith("arigato_")
    row = soup(r).select_one(".token-row")
    assert row.select_one(".token-name").text == "月次レポート"
    assert row.select_one("code").text == token[:12] + "…"
    assert row.select_one(".token-status").text == "Active"

    again = await client.get("/settings")
    assert token not in again.text and token[:12] in again.text

    me = await client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["code"] == user.code
    r = await client.post(
        "/api/v1/posts", json={"kind": "praise", "title": "t", "body": "b"}, headers=bearer(token)
    )
    assert r.status_code == 403
    cells = soup(await client.get("/settings")).select(".token-row td")
    assert cells[4].text != "Not used yet"  # last used
    (tok,) = await tokens_of(db, user)
    assert tok.expires_at is not None
    assert abs(tok.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)


async def test_creating_a_token_without_javascript_shows_the_whole_page(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post(
        "/settings/tokens",
        data={
            "csrf_token": csrf,
            "name": "cron",
            "scope": "write",
            "expires": "custom",
            "custom_days": "7",
        },
    )
    assert r.status_code == 201
    page = soup(r)
    assert page.select_one("h1") is not None and page.select_one("#password-settings")
    token = page.select_one("[data-testid=new-token]")["value"]
    (tok,) = await tokens_of(db, user)
    assert tok.scope == "write" and tok.name == "cron"
    assert abs(tok.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    r = await client.patch("/api/v1/me", json={"locale": "en"}, headers=bearer(token))
    assert r.status_code == 200


async def test_never_expiring_token(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    r = await client.post(
        "/settings/tokens",
        data={"csrf_token": csrf, "name": "n", "scope": "read", "expires": "never"},
    )
    assert r.status_code == 201
    (tok,) = await tokens_of(db, user)
    assert tok.expires_at is None
    assert soup(r).select(".token-row td")[5].text == "No expiry"


async def test_invalid_token_form_keeps_what_was_typed_and_creates_nothing(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    r = await client.post(
        "/settings/tokens",
        data={
            "csrf_token": csrf,
            "name": "  ",
            "scope": "admin",
            "expires": "custom",
            "custom_days": "9999",
        },
        headers=HX,
    )
    assert r.status_code == 422
    assert field_error(r, "token-name") == "Give the token a name."
    assert field_error(r, "token-custom-days") == "Enter a number of days from 1 to 3650."
    assert soup(r).select_one("#token-custom-days")["value"] == "9999"
    assert soup(r).select_one("#token-expires option[selected]")["value"] == "custom"
    assert soup(r).select_one("[data-testid=new-token]") is None
    assert await tokens_of(db, user) == []
    r = await client.post(
        "/settings/tokens",
        data={"csrf_token": csrf, "name": "x" * 81, "scope": "read", "expires": "30"},
    )
    assert r.status_code == 422
    assert soup(r).select_one("#token-name")["value"] == "x" * 81
    assert await tokens_of(db, user) == []


async def test_expired_token_is_refused_and_listed_as_expired(client, db):
    user = await make_user(db, locale="en")
    await login_as(client, user)
    row, token = await issue_token(db, user, name="old", scope="read", days=1)
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    await db.commit()
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    tr = soup(await client.get("/settings")).select_one(f"#token-{row.id}")
    assert tr.select_one(".token-status").text == "Expired"
    assert tr.select_one("a") is None  # nothing to revoke


async def test_revoke_asks_first_then_the_token_stops_at_once(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    row, token = await issue_token(db, user, name="ci", scope="write", days=None)
    page = soup(await client.get("/settings"))
    link = page.select_one(f"#token-{row.id} a")
    assert link["href"] == f"/settings/tokens/{row.id}/revoke"

    confirm = await client.get(link["href"])  # without JavaScript: a page with the form
    assert confirm.status_code == 200
    form = soup(confirm).select_one("#revoke-confirm form")
    assert form["action"] == f"/settings/tokens/{row.id}/revoke"
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200

    r = await client.post(form["action"], data={"csrf_token": csrf})
    assert r.status_code == 303
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    page = soup(await client.get(r.headers["location"]))
    assert page.select_one(f"#token-{row.id} .token-status").text == "Revoked"
    assert page.select_one("#api-tokens [role=status]").text == "The token was revoked."


async def test_revoke_with_htmx_swaps_the_list(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    row, token = await issue_token(db, user, name="ci", scope="read", days=None)
    r = await client.get(f"/settings/tokens/{row.id}/revoke", headers=HX)
    section = soup(r).find("section")
    assert section["id"] == "api-tokens" and section.select_one("#revoke-confirm[autofocus]")
    cancel = await client.get(section.select_one("#revoke-confirm a")["hx-get"], headers=HX)
    assert soup(cancel).select_one("#revoke-confirm") is None
    r = await client.post(f"/settings/tokens/{row.id}/revoke", headers={**HX, "X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert soup(r).select_one(f"#token-{row.id} .token-status").text == "Revoked"
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401


async def test_another_users_token_is_404_and_unchanged(client, db):
    owner = await make_user(db)
    _row, theirs = await issue_token(db, owner, name="theirs", scope="write", days=None)
    row = (await tokens_of(db, owner))[0]
    me = await make_user(db)
    csrf = await login_as(client, me)
    assert (await client.get(f"/settings/tokens/{row.id}/revoke")).status_code == 404
    r = await client.post(f"/settings/tokens/{row.id}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 404
    r = await client.delete(f"/api/v1/me/tokens/{row.id}", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    assert (
        await client.delete("/api/v1/me/tokens/999999", headers={"X-CSRF-Token": csrf})
    ).status_code == 404
    assert (await tokens_of(db, owner))[0].revoked_at is None
    assert (await client.get("/api/v1/me", headers=bearer(theirs))).json()["code"] == owner.code
    assert (await client.get("/api/v1/me/tokens")).json()["items"] == []


async def test_active_tokens_are_capped(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    for i in range(20):
        await issue_token(db, user, name=f"t{i}", scope="read", days=None)
    r = await client.post(
        "/settings/tokens",
        data={"csrf_token": csrf, "name": "one more", "scope": "read", "expires": "30"},
    )
    assert r.status_code == 409
    assert "20 active tokens" in soup(r).select_one("#api-tokens [role=alert]").text
    assert soup(r).select_one("#token-name")["value"] == "one more"
    r = await client.post(
        "/api/v1/me/tokens", json={"name": "one more"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 409
    assert len(await tokens_of(db, user)) == 20
    # A revoked (or expired) token frees a place.
    first = (await tokens_of(db, user))[0]
    await client.delete(f"/api/v1/me/tokens/{first.id}", headers={"X-CSRF-Token": csrf})
    r = await client.post(
        "/api/v1/me/tokens", json={"name": "one more"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201


# --- tokens over the API ------------------------------------------------------------------


async def test_api_token_lifecycle(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post(
        "/api/v1/me/tokens",
        json={"name": "bot", "scope": "write", "days": 365},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201
    created = r.json()
    token = created["token"]
    assert created["scope"] == "write" and created["status"] == "active"
    assert created["prefix"] == token[:12] and created["expires_at"] is not None

    listed = (await client.get("/api/v1/me/tokens", headers=bearer(token))).json()
    assert listed["next_cursor"] is None
    (item,) = listed["items"]
    assert "token" not in item and item["id"] == created["id"] and item["name"] == "bot"

    # A token cannot mint tokens (even a write token); it may revoke itself.
    r = await client.post("/api/v1/me/tokens", json={"name": "child"}, headers=bearer(token))
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/me/tokens/{created['id']}", headers=bearer(token))
    assert r.status_code == 204
    assert (await client.get("/api/v1/me/tokens", headers=bearer(token))).status_code == 401
    r = await client.delete(f"/api/v1/me/tokens/{created['id']}", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204  # revoking again is fine
    items = (await client.get("/api/v1/me/tokens")).json()["items"]
    assert [i["status"] for i in items] == ["revoked"]


async def test_api_default_expiry_and_read_token_cannot_revoke(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post("/api/v1/me/tokens", json={"name": "d"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["scope"] == "read"
    (tok,) = await tokens_of(db, user)
    assert abs(tok.expires_at - (utcnow() + timedelta(days=90))) < timedelta(minutes=1)
    r = await client.delete(f"/api/v1/me/tokens/{tok.id}", headers=bearer(r.json()["token"]))
    assert r.status_code == 403
    r = await client.post("/api/v1/me/tokens", json={"name": "d"})  # no CSRF header
    assert r.status_code == 403


def _valid_token_request(name: str, scope: str, days: object) -> bool:
    cleaned = unicodedata.normalize("NFC", name).strip()
    return (
        text_ok(name)  # the input guard refuses control characters before the service
        and 1 <= len(cleaned) <= 80
        and not any(unicodedata.category(c) in ("Cc", "Cs") for c in cleaned)
        and scope in ("read", "write")
        and (days is None or (type(days) is int and 1 <= days <= 3650))
    )


NAMES = st.one_of(
    st.text(max_size=90),
    st.text(alphabet="ありがとう感謝 \t\n\x00", max_size=85),
    st.sampled_from(["", " ", "x" * 80, "x" * 81, "ｽｸﾘﾌﾟﾄ", "\ud800"]),
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=NAMES,
    scope=st.sampled_from(["read", "write", "admin", ""]),
    days=st.one_of(
        st.none(), st.integers(-5, 4000), st.sampled_from([0, 1, 3650, 3651, "30", 2.5])
    ),
)
async def test_api_token_requests_are_created_or_refused_whole(client, db, name, scope, days):
    user = (await db.exec(select(User).where(User.code == "HYPO"))).first() or await make_user(
        db, code="HYPO"
    )
    csrf = await session_csrf(client, user)
    before = len(await tokens_of(db, user))
    r = await client.post(
        "/api/v1/me/tokens",
        content=json.dumps({"name": name, "scope": scope, "days": days}),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    after = await tokens_of(db, user)
    if _valid_token_request(name, scope, days):
        assert r.status_code == 201, r.text
        assert len(after) == before + 1
        await client.delete(f"/api/v1/me/tokens/{r.json()['id']}", headers={"X-CSRF-Token": csrf})
    else:
        assert r.status_code == 422, r.text
        assert isinstance(r.json()["detail"], list) and r.json()["detail"]
        assert len(after) == before


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=90),
    scope=st.sampled_from(["read", "write", "x"]),
    expires=st.sampled_from(["30", "90", "365", "never", "custom", "7", ""]),
    custom=st.one_of(st.integers(-5, 4000).map(str), st.sampled_from(["", "１２", "1e3", " 5 "])),
)
async def test_token_form_requests_are_created_or_refused_whole(
    client, db, name, scope, expires, custom
):
    user = (await db.exec(select(User).where(User.code == "HYPOF"))).first() or await make_user(
        db, code="HYPOF"
    )
    csrf = await session_csrf(client, user)
    before = len(await tokens_of(db, user))
    r = await client.post(
        "/settings/tokens",
        data={
            "csrf_token": csrf,
            "name": name,
            "scope": scope,
            "expires": expires,
            "custom_days": custom,
        },
        headers=HX,
    )
    after = await tokens_of(db, user)
    if expires in ("30", "90", "365"):
        days: object = int(expires)
    elif expires == "never":
        days = None
    elif expires == "custom" and custom.strip().isascii() and custom.strip().isdigit():
        days = int(custom.strip())
    else:
        days = "bad"
    if _valid_token_request(name, scope, days):
        assert r.status_code == 201, r.text
        assert len(after) == before + 1
        newest = max(after, key=lambda t: t.id or 0)
        await client.delete(f"/api/v1/me/tokens/{newest.id}", headers={"X-CSRF-Token": csrf})
    else:
        assert r.status_code == 422, r.text
        if text_ok(name):  # control characters are refused before any form (app/inputs.py)
            assert soup(r).select("[aria-invalid=true]")
        assert len(after) == before


# --- digest -------------------------------------------------------------------------------


async def test_digest_on_settings_uses_the_notifications_route_which_still_works(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    form = soup(await client.get("/settings")).select_one("#digest-settings form")
    assert form["action"] == "/notifications/digest"
    r = await client.post(form["action"], data={"csrf_token": csrf, "digest": "daily"}, headers=HX)
    assert r.status_code == 200
    await db.refresh(user)
    assert user.digest == "daily"
    page = soup(await client.get("/notifications"))
    assert page.select_one("#digest-settings input[value=daily]").has_attr("checked")
    assert (
        soup(await client.get("/settings"))
        .select_one("#digest-settings input[value=daily]")
        .has_attr("checked")
    )
