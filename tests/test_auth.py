"""Login, sessions, CSRF, throttling, API tokens, security headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.models import ApiToken, UserSession
from app.models.base import utcnow
from app.security import token_digest
from app.services.people.tokens import issue_token
from tests.factories import PASSWORD, csrf_from, login, make_user


async def test_login_page_is_japanese_by_default(client):
    r = await client.get("/login")
    assert r.status_code == 200
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.html["lang"] == "ja"
    assert soup.find("label", attrs={"for": "code"}).text == "社員番号"
    assert "ログイン" in soup.title.text


async def test_login_page_follows_accept_language(client):
    r = await client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.html["lang"] == "en"
    assert soup.find("label", attrs={"for": "code"}).text == "Employee number"


async def test_login_reaches_feed_and_sets_a_safe_cookie(client, db):
    user = await make_user(db, name="山田 太郎")
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("arigato_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    feed = await client.get("/")
    assert feed.status_code == 200
    assert (
        BeautifulSoup(feed.text, "html.parser").select_one("[data-testid=user-name]").text
        == "山田 太郎"
    )


async def test_wrong_password_keeps_what_was_typed_and_says_why(client, db):
    user = await make_user(db)
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": user.code, "password": "nope", "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 400
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#code")["value"] == user.code
    assert "正しくありません" in soup.select_one("[role=alert]").text
    assert (await db.exec(select(UserSession))).all() == []


async def test_login_without_csrf_token_is_refused(client, db):
    user = await make_user(db)
    await client.get("/login")
    r = await client.post("/login", data={"code": user.code, "password": PASSWORD})
    assert r.status_code == 403
    assert (await db.exec(select(UserSession))).all() == []


async def test_sixth_bad_password_in_a_row_is_throttled(client, db):
    user = await make_user(db)
    token = csrf_from((await client.get("/login")).text)
    for _ in range(5):
        r = await client.post(
            "/login", data={"code": user.code, "password": "bad", "csrf_token": token}
        )
        assert r.status_code == 400
    r = await client.post(
        "/login", data={"code": user.code, "password": "bad", "csrf_token": token}
    )
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 300
    # Even the right password waits until the block ends.
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429


async def test_success_resets_the_account_counter(client, db):
    user = await make_user(db)
    token = csrf_from((await client.get("/login")).text)
    for _ in range(4):
        await client.post(
            "/login", data={"code": user.code, "password": "bad", "csrf_token": token}
        )
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303


async def test_one_address_guessing_many_accounts_is_throttled(make_client, db, settings):
    browser = make_client("10.9.9.9")
    token = csrf_from((await browser.get("/login")).text)
    statuses = []
    for i in range(settings.login_max_failures_per_address + 1):
        r = await browser.post(
            "/login", data={"code": f"nobody{i}", "password": "x", "csrf_token": token}
        )
        statuses.append(r.status_code)
    assert statuses[:-1] == [400] * settings.login_max_failures_per_address
    assert statuses[-1] == 429
    # Another address is not affected.
    other = make_client("10.9.9.10")
    token = csrf_from((await other.get("/login")).text)
    r = await other.post("/login", data={"code": "nobody0", "password": "x", "csrf_token": token})
    assert r.status_code == 400


async def test_logout_ends_the_session_on_the_server(client, db):
    user = await make_user(db)
    csrf = await login(client, user)
    old_cookie = client.cookies.get("arigato_session")
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    client.cookies.set("arigato_session", old_cookie)  # a stolen copy of the cookie
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    row = (await db.exec(select(UserSession).where(UserSession.user_id == user.id))).one()
    assert row.revoked_at is not None


async def test_logout_without_csrf_changes_nothing(client, db):
    user = await make_user(db)
    await login(client, user)
    r = await client.post("/logout")
    assert r.status_code == 403
    assert (await client.get("/")).status_code == 200


async def test_htmx_header_carries_csrf(client, db):
    user = await make_user(db)
    csrf = await login(client, user)
    r = await client.post("/locale", data={"locale": "en"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 303
    r = await client.post("/locale", data={"locale": "en"}, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403


async def test_deactivated_user_is_out_at_once(client, db):
    user = await make_user(db)
    await login(client, user)
    _row, token = await issue_token(db, user, name="t", scope="read", days=None)
    user.active = False
    db.add(user)
    await db.commit()
    assert (await client.get("/")).status_code == 303
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    # ... and cannot log in again.
    token_form = csrf_from((await client.get("/login")).text)
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": token_form}
    )
    assert r.status_code == 400


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
async def test_next_never_leaves_the_site(client, db, target):
    user = await make_user(db)
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={
            "code": user.code,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert r.headers["location"] == "/"


async def test_anonymous_page_goes_to_login_with_next(client):
    r = await client.get("/moderation")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/moderation"
    r = await client.get("/moderation", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


async def test_api_token_lifecycle(client, db):
    user = await make_user(db)
    row, token = await issue_token(db, user, name="bot", scope="read", days=30)
    assert row.token_hash == token_digest(token) and token not in row.token_hash
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.get("/api/v1/me", headers=auth)
    assert r.status_code == 200 and r.json()["code"] == user.code
    await db.refresh(row)
    assert row.last_used_at is not None
    # A read token cannot change anything.
    r = await client.post("/locale", data={"locale": "en"}, headers=auth)
    assert r.status_code == 403
    row.revoked_at = utcnow()
    db.add(row)
    await db.commit()
    r = await client.get("/api/v1/me", headers=auth)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


async def test_write_token_needs_no_csrf_and_expired_token_fails(client, db):
    user = await make_user(db)
    _row, token = await issue_token(db, user, name="bot", scope="write", days=1)
    r = await client.post(
        "/locale", data={"locale": "en"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 303
    await db.refresh(user)
    assert user.locale == "en"
    row = (await db.exec(select(ApiToken).where(ApiToken.user_id == user.id))).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    await db.commit()
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_garbage_bearer_is_401(client):
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


async def test_security_headers(client):
    r = await client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"]
    assert len(r.headers["X-Request-ID"]) >= 16
    soup = BeautifulSoup(r.text, "html.parser")
    assert all(s.get("src") for s in soup.find_all("script")), "inline script found"
    assert not any(attr.startswith("on") for tag in soup.find_all(True) for attr in tag.attrs)


async def test_request_id_is_echoed(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


async def test_switching_language_is_remembered_for_the_user(client, db):
    user = await make_user(db)
    csrf = await login(client, user)
    r = await client.post("/locale", data={"locale": "en", "next": "/", "csrf_token": csrf})
    assert r.status_code == 303
    client.cookies.delete("arigato_lang")
    feed = await client.get("/")
    assert BeautifulSoup(feed.text, "html.parser").html["lang"] == "en"
    await db.refresh(user)
    assert user.locale == "en"


@pytest.mark.parametrize(
    ("bad", "status"), [("é", 403), ("ありがとう", 403), ("0" * 63 + "é", 403), ("\u0000", 422)]
)
async def test_a_non_ascii_csrf_token_is_a_403_not_a_500(client, db, bad, status):
    user = await make_user(db)
    await login(client, user)
    r = await client.post("/logout", data={"csrf_token": bad})
    # A NUL breaks the text rule every input obeys (app/inputs.py) before the CSRF check.
    assert r.status_code == status
    assert (await client.get("/")).status_code == 200  # still signed in
