"""The shop's shared terminal: devices, PINs, signing in on a device, idle sign-out, the
draft an interrupted composer leaves, sign out after posting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app import clock
from app.config import get_settings
from app.deps import PASSIVE_PATHS
from app.main import create_app
from app.models import AuditEntry, Device, OrgUnit, Post, User, UserSession
from app.security import hash_password, token_digest
from app.services.people import sessions
from app.services.push.keys import new_pair
from app.services.terminal.pins import PIN_MAX, PIN_MIN, pin_problem
from app.web import DEVICE_COOKIE, SESSION_COOKIE
from tests.factories import PASSWORD, bearer_for, csrf_from, login_as, make_unit, make_user, soup
from tests.push_service import new_device, subscription_of

PIN = "2580"
PUSH_KEY, _PUBLIC = new_pair()


async def register(db, client, shop) -> str:
    """Register a device for `shop` through the admin API; its credential."""
    admin = await make_user(db, role="admin")
    r = await client.post(
        "/api/v1/admin/devices",
        json={"name": "店頭PC", "unit": shop.code},
        headers=await bearer_for(db, admin),
    )
    assert r.status_code == 201, r.text
    return r.json()["credential"]


async def on_device(db, client, shop) -> None:
    """Make `client` the shop's registered terminal browser."""
    client.cookies.delete(DEVICE_COOKIE)
    client.cookies.set(DEVICE_COOKIE, await register(db, client, shop))


async def staff_with_pin(db, shop, **kw) -> User:
    return await make_user(db, shop, pin_hash=hash_password(PIN), **kw)


async def sign_in(client, **data) -> object:
    page = await client.get("/login")
    return await client.post("/login", data={"csrf_token": csrf_from(page.text), **data})


@pytest.fixture
def frozen():
    """A clock the test moves on by hand."""
    now = [datetime(2026, 12, 7, 9, 0, tzinfo=UTC)]
    clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(None)


# -- devices -----------------------------------------------------------------------------------


async def test_admin_registers_this_browser_as_a_device(client, db):
    shop = await make_unit(db, name="渋谷店")
    admin = await make_user(db, role="admin")
    csrf = await login_as(client, admin)
    page = await client.get("/admin/devices")
    assert page.status_code == 200
    assert [o["value"] for o in soup(page).select("#device-unit option") if o["value"]]
    r = await client.post(
        "/admin/devices", data={"name": "店頭PC", "unit": shop.code, "csrf_token": csrf}
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(DEVICE_COOKIE + "=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Max-Age=" in cookie
    credential = client.cookies.get(DEVICE_COOKIE)
    device = (await db.exec(select(Device))).one()
    assert device.token_hash == token_digest(credential) and credential not in device.token_hash
    assert device.unit_id == shop.id and device.name == "店頭PC"
    entry = (await db.exec(select(AuditEntry).where(AuditEntry.action == "device.register"))).one()
    assert entry.actor_id == admin.id and entry.target_id == device.id
    # The admin's own session on this browser is now a terminal session.
    sess = (await db.exec(select(UserSession).where(UserSession.user_id == admin.id))).one()
    assert sess.device_id == device.id
    listing = soup(await client.get("/admin/devices?done=registered"))
    assert listing.select_one("[data-testid=this-device]") is not None
    row = listing.select_one(f"tr[data-device='{device.id}']")
    assert "渋谷店" in row.text


async def test_register_refuses_bad_input_keeping_what_was_typed(client, db):
    dept = await make_unit(db, kind="department")
    csrf = await login_as(client, await make_user(db, role="admin"))
    r = await client.post(
        "/admin/devices", data={"name": "", "unit": dept.code, "csrf_token": csrf}
    )
    assert r.status_code == 422 and DEVICE_COOKIE not in r.headers.get("set-cookie", "")
    page = soup(r)
    assert page.select_one("#device-name")["aria-invalid"] == "true"
    assert page.select_one("#device-unit-error") is not None
    r = await client.post(
        "/api/v1/admin/devices",
        json={"name": "x", "unit": "NOPE-1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422


async def test_devices_api_lists_and_revokes_and_revoking_ends_sessions(client, db):
    shop = await make_unit(db)
    await on_device(db, client, shop)
    staff = await staff_with_pin(db, shop)
    assert (await sign_in(client, code=staff.code, pin=PIN)).status_code == 303
    assert (await client.get("/")).status_code == 200
    admin = await make_user(db, role="admin")
    headers = await bearer_for(db, admin)
    listed = (await client.get("/api/v1/admin/devices", headers=headers)).json()["items"]
    assert listed[0]["unit"] == {"code": shop.code, "name": shop.name} and listed[0]["active"]
    assert "credential" not in listed[0]
    device_id = listed[0]["id"]
    assert (
        await client.delete(f"/api/v1/admin/devices/{device_id}", headers=headers)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/admin/devices/{device_id}", headers=headers)
    ).status_code == 204
    assert (await client.delete("/api/v1/admin/devices/999999", headers=headers)).status_code == 404
    listed = (await client.get("/api/v1/admin/devices", headers=headers)).json()["items"]
    assert listed[0]["revoked_at"] is not None and not listed[0]["active"]
    # The session on it ended, and the browser is an ordinary one again.
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    login_page = soup(await client.get("/login"))
    assert login_page.select_one("[data-testid=terminal-shop]") is None
    assert (await db.exec(select(AuditEntry).where(AuditEntry.action == "device.revoke"))).one()


# -- PIN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pin", "confirm", "field"),
    [
        ("123", "123", "pin"),
        ("123456789", "123456789", "pin"),
        ("12a4", "12a4", "pin"),
        ("１２３９", "１２３９", "pin"),
        ("1234", "1234", "pin"),
        ("0000", "0000", "pin"),
        ("9876", "9876", "pin"),
        ("2580", "2581", "confirm_pin"),
    ],
)
async def test_pin_rules(client, db, pin, confirm, field):
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post(
        "/settings/pin", data={"pin": pin, "confirm_pin": confirm, "csrf_token": csrf}
    )
    assert r.status_code == 422
    page = soup(r)
    assert page.select_one(f"#{field}-error") is not None
    assert page.select_one("#pin")["value"] if page.select_one("#pin").has_attr("value") else True
    await db.refresh(user)
    assert user.pin_hash is None


async def test_pin_is_set_hashed_and_removed_in_settings(client, db):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    page = soup(await client.get("/settings"))
    assert page.select_one("[data-testid=pin-state]").text.strip() == "You have no PIN yet."
    r = await client.post(
        "/settings/pin",
        data={"pin": "739104", "confirm_pin": "739104", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "Your PIN was saved." in r.text
    await db.refresh(user)
    assert (
        user.pin_hash and user.pin_hash.startswith("$argon2id$") and "739104" not in user.pin_hash
    )
    r = await client.post("/settings/pin/clear", data={"csrf_token": csrf})
    assert r.status_code == 200
    await db.refresh(user)
    assert user.pin_hash is None


async def test_a_token_cannot_set_a_pin(client, db):
    user = await make_user(db)
    r = await client.post(
        "/settings/pin",
        data={"pin": "2580", "confirm_pin": "2580"},
        headers=await bearer_for(db, user),
    )
    assert r.status_code == 403


# -- signing in on a device --------------------------------------------------------------------


async def test_the_device_login_shows_the_shop_and_its_staff(client, db):
    shop = await make_unit(db, name="渋谷店")
    other = await make_unit(db)
    a = await staff_with_pin(db, shop, name="青木 花子")
    b = await make_user(db, shop, name="伊藤 次郎")
    outsider = await make_user(db, other, name="他店 三郎")
    await make_user(db, shop, name="退職 四郎", active=False)
    await on_device(db, client, shop)
    page = soup(await client.get("/login"))
    assert page.select_one("[data-testid=terminal-shop]").text == "渋谷店"
    picks = {i["value"]: i.parent.text for i in page.select("input[name=pick]")}
    assert set(picks) == {a.code, b.code}
    assert "伊藤 次郎" in picks[b.code] and outsider.code not in picks
    assert page.select_one("#pin")["type"] == "password"
    assert page.body.has_attr("data-terminal") and page.body.has_attr("data-no-local-drafts")


async def test_pin_sign_in_by_number_or_by_name_is_a_terminal_session(client, db):
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    r = await sign_in(client, code=user.code, pin=PIN)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "Max-Age" not in cookie and "HttpOnly" in cookie  # gone when the browser closes
    sess = (await db.exec(select(UserSession).where(UserSession.user_id == user.id))).one()
    assert sess.device_id is not None
    assert sess.expires_at - sess.created_at < timedelta(seconds=200)
    answer = await client.get("/")
    feed = soup(answer)
    assert feed.body.has_attr("data-terminal") and feed.body["data-idle-seconds"] == "120"
    assert feed.select_one("[data-testid=terminal-bar]") is not None
    assert feed.select_one("script[src$='terminal.js']") is not None
    await client.post("/logout", data={"csrf_token": csrf_from(answer.text)})
    r = await sign_in(client, pick=user.code, pin=PIN)
    assert r.status_code == 303


async def test_wrong_pin_is_refused_and_locks_out_per_user_and_device(client, db):
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    r = await sign_in(client, code=user.code, pin="9999")
    assert r.status_code == 400
    page = soup(r)
    assert page.select_one("#pin-error") and page.select_one("#code")["value"] == user.code
    limit = get_settings().login_max_failures_per_account
    for _ in range(limit - 1):
        assert (await sign_in(client, code=user.code, pin="9999")).status_code == 400
    r = await sign_in(client, code=user.code, pin=PIN)  # even the right PIN, now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # The password login of the same user is not locked by PIN guesses elsewhere.
    client.cookies.delete(DEVICE_COOKIE)
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303


async def test_a_device_locks_out_after_many_failures_across_users(client, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "login_max_failures_per_address", 3)
    shop = await make_unit(db)
    users = [await staff_with_pin(db, shop) for _ in range(4)]
    await on_device(db, client, shop)
    for u in users[:3]:
        assert (await sign_in(client, code=u.code, pin="9999")).status_code == 400
    assert (await sign_in(client, code=users[3].code, pin=PIN)).status_code == 429


async def test_other_shops_are_refused(client, db):
    shop, other = await make_unit(db, name="渋谷店"), await make_unit(db)
    outsider = await staff_with_pin(db, other)
    await on_device(db, client, shop)
    r = await sign_in(client, code=outsider.code, pin=PIN)
    assert r.status_code == 403 and "渋谷店" in soup(r).select_one("[role=alert]").text
    r = await sign_in(client, code=outsider.code, password=PASSWORD)
    assert r.status_code == 403
    assert (
        await db.exec(select(UserSession).where(UserSession.user_id == outsider.id))
    ).first() is None


async def test_head_office_signs_in_with_password_but_not_with_a_pin(client, db):
    shop, office = await make_unit(db), await make_unit(db, kind="department")
    curator = await staff_with_pin(db, office, role="curator")
    await on_device(db, client, shop)
    assert (await sign_in(client, code=curator.code, pin=PIN)).status_code == 403
    r = await sign_in(client, code=curator.code, password="wrong-password")
    assert r.status_code == 400 and soup(r).select_one("#password-error")
    r = await sign_in(client, code=curator.code, password=PASSWORD)
    assert r.status_code == 303
    sess = (await db.exec(select(UserSession).where(UserSession.user_id == curator.id))).one()
    assert sess.device_id is not None


async def test_the_shops_own_staff_may_use_their_password(client, db):
    shop = await make_unit(db)
    user = await make_user(db, shop)  # no PIN yet
    await on_device(db, client, shop)
    assert (await sign_in(client, code=user.code, pin="2580")).status_code == 400
    assert (await sign_in(client, code=user.code, password=PASSWORD)).status_code == 303


# -- idle sign-out -----------------------------------------------------------------------------


async def test_the_server_ends_an_idle_terminal_session(client, db, frozen, monkeypatch):
    monkeypatch.setattr(get_settings(), "terminal_idle_seconds", 5)
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    assert (await sign_in(client, code=user.code, pin=PIN)).status_code == 303
    for _ in range(4):  # requests the user makes keep it alive, well past the idle time
        frozen[0] += timedelta(seconds=4)
        assert (await client.get("/")).status_code == 200
    frozen[0] += timedelta(seconds=4)
    # The live stream is no one's input: its requests do not move the expiry on.
    assert create_app().url_path_for("events") in PASSIVE_PATHS
    token = client.cookies.get(SESSION_COOKIE)
    assert await sessions.auth_for_session(db, token, get_settings(), touch=False)
    frozen[0] += timedelta(seconds=4.5)  # 8.5 s since the last input: 5 s + the grace, over
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_an_ordinary_session_is_not_limited(client, db, frozen, monkeypatch):
    monkeypatch.setattr(get_settings(), "terminal_idle_seconds", 5)
    user = await make_user(db)
    await login_as(client, user)
    frozen[0] += timedelta(hours=3)
    assert (await client.get("/")).status_code == 200


async def test_idle_sign_out_keeps_the_unsent_post_as_a_draft(client, db):
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    await sign_in(client, code=user.code, pin=PIN)
    csrf = csrf_from((await client.get("/")).text)
    r = await client.post(
        "/terminal/idle",
        data={"kind": "praise", "title": "", "body": "お客さまから\nありがとうの言葉"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("signed_out=draft"), r.text[
        -3000:
    ]
    post = (await db.exec(select(Post).where(Post.author_id == user.id))).one()
    assert post.status == "draft" and post.title == "お客さまから"
    assert post.body == "お客さまから\nありがとうの言葉"
    assert (await client.get("/")).status_code == 303  # signed out
    page = soup(await client.get("/login?signed_out=draft"))
    assert page.select_one("[data-testid=signed-out-notice]") is not None


async def test_a_late_idle_sign_out_still_keeps_the_draft_for_a_while(client, db, frozen):
    """The terminal's screen slept through the server's expiry: the page's own sign-out,
    arriving late, still saves the text for the session's user (10 minutes), not later."""
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    await sign_in(client, code=user.code, pin=PIN)
    csrf = csrf_from((await client.get("/")).text)
    token = client.cookies.get(SESSION_COOKIE)
    frozen[0] += timedelta(minutes=5)
    assert (await client.get("/")).status_code == 303  # the server's expiry is past
    r = await client.post(
        "/terminal/idle", data={"title": "書きかけ", "body": "本文"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("signed_out=draft")
    assert (await db.exec(select(Post).where(Post.author_id == user.id))).one().title == "書きかけ"
    # Once used (or too late) nothing more is saved under that session, even replayed.
    client.cookies.set(SESSION_COOKIE, token)
    r = await client.post(
        "/terminal/idle", data={"title": "もう一度", "body": "本文"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.headers["location"].endswith("signed_out=idle")
    await sign_in(client, code=user.code, pin=PIN)
    csrf = csrf_from((await client.get("/")).text)
    frozen[0] += timedelta(minutes=13)  # 10 minutes after the expiry (2 min after signing in)
    r = await client.post(
        "/terminal/idle", data={"title": "遅すぎ", "body": "本文"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.headers["location"].endswith("signed_out=idle")
    assert len((await db.exec(select(Post).where(Post.author_id == user.id))).all()) == 1


async def test_a_late_idle_sign_out_needs_the_pages_token(client, db, frozen):
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    await sign_in(client, code=user.code, pin=PIN)
    frozen[0] += timedelta(minutes=5)
    r = await client.post(
        "/terminal/idle", data={"title": "x", "body": "y"}, headers={"X-CSRF-Token": "f" * 64}
    )
    assert r.status_code == 403
    assert (await db.exec(select(Post).where(Post.author_id == user.id))).first() is None


async def test_idle_sign_out_with_nothing_typed_saves_nothing(client, db):
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    await sign_in(client, code=user.code, pin=PIN)
    csrf = csrf_from((await client.get("/")).text)
    r = await client.post("/terminal/idle", data={"title": " "}, headers={"X-CSRF-Token": csrf})
    assert r.headers["location"].endswith("signed_out=idle")
    assert (await db.exec(select(Post).where(Post.author_id == user.id))).first() is None


async def test_sign_out_after_posting(client, db):
    shop = await make_unit(db)
    user = await staff_with_pin(db, shop)
    await on_device(db, client, shop)
    await sign_in(client, code=user.code, pin=PIN)
    answer = await client.get("/posts/new")
    page = soup(answer)
    assert page.select_one("input[name=signout_after]") is not None
    csrf = csrf_from(answer.text)
    r = await client.post(
        f"/posts?csrf_token={csrf}",
        files={"x": ("", b"")},
        data={
            "kind": "praise",
            "title": "丁寧な説明に感謝",
            "body": "ありがとう",
            "channel": "counter",
            "signout_after": "1",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("signed_out=posted")
    assert (
        await db.exec(select(Post).where(Post.author_id == user.id))
    ).one().status == "published"
    assert (await client.get("/")).status_code == 303


async def test_posting_elsewhere_has_no_sign_out_option(client, db):
    await login_as(client, await make_user(db))
    page = soup(await client.get("/posts/new"))
    assert page.select_one("input[name=signout_after]") is None
    assert not page.body.has_attr("data-terminal")


# -- the PIN rule, for any input -------------------------------------------------------------


@given(st.text(max_size=12))
def test_only_4_to_8_ascii_digits_can_be_a_pin(text):
    if not (text.isascii() and text.isdigit() and PIN_MIN <= len(text) <= PIN_MAX):
        assert pin_problem(text) is not None


@given(st.text(alphabet="0123456789", min_size=PIN_MIN, max_size=PIN_MAX))
def test_a_pin_is_refused_only_when_it_is_a_run_or_one_digit(pin):
    trivial = len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210"
    assert (pin_problem(pin) is not None) == trivial


async def test_the_device_endpoints_are_in_the_openapi_document(client):
    doc = (await client.get("/api/openapi.json")).json()
    devices = doc["paths"]["/api/v1/admin/devices"]
    assert {"get", "post"} <= set(devices)
    assert "201" in devices["post"]["responses"]
    assert "credential" in doc["components"]["schemas"]["DeviceCreated"]["properties"]
    one = doc["paths"]["/api/v1/admin/devices/{device_id}"]
    assert {"204", "404"} <= set(one["delete"]["responses"])


async def test_an_admin_revokes_a_device_from_the_page(client, db, frozen):
    shop = await make_unit(db)
    credential = await register(db, client, shop)
    device = (await db.exec(select(Device))).one()
    assert device.last_seen_at is None
    client.cookies.set(DEVICE_COOKIE, credential)
    await client.get("/login")  # the device is used: its sign-in page is shown
    await db.refresh(device)
    assert device.last_seen_at == frozen[0]
    client.cookies.delete(DEVICE_COOKIE)
    csrf = await login_as(client, await make_user(db, role="admin"))
    page = soup(await client.get("/admin/devices"))
    form = page.select_one(f"tr[data-device='{device.id}'] form")
    r = await client.post(form["action"], data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].endswith("done=revoked")
    page = soup(await client.get(r.headers["location"]))
    assert page.select_one("[role=status]") is not None
    assert page.select_one(f"tr[data-device='{device.id}'] form") is None  # revoked: no button
    await db.refresh(device)
    assert device.revoked_at is not None


async def test_a_terminal_takes_no_push_subscription(client, db, monkeypatch):
    """Pushes on the counter PC would show one person's news to the next: the API refuses a
    subscription from a terminal session, and /settings says why instead of the switch."""
    monkeypatch.setenv("VAPID_PRIVATE_KEY", PUSH_KEY)
    monkeypatch.setenv("VAPID_SUBJECT", "mailto:ops@example.com")
    get_settings.cache_clear()
    try:
        shop = await make_unit(db)
        user = await staff_with_pin(db, shop)
        await on_device(db, client, shop)
        assert (await sign_in(client, code=user.code, pin=PIN)).status_code == 303
        page = await client.get("/settings")
        settings_page = soup(page)
        assert settings_page.select_one("[data-testid=push-terminal]") is not None
        assert settings_page.select_one("#push-device") is None
        r = await client.post(
            "/api/v1/me/push-subscriptions",
            json=subscription_of(new_device(), "https://push.example.net"),
            headers={"X-CSRF-Token": csrf_from(page.text)},
        )
        assert r.status_code == 403
        assert "shared terminal" in r.json()["detail"] or "共用端末" in r.json()["detail"]
        listed = await client.get("/api/v1/me/push-subscriptions")
        assert listed.json()["items"] == []
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


async def test_the_demo_staff_sign_in_on_a_terminal_with_the_demo_pin(client, db):
    """The demo shows the terminal: its staff have the PIN the README gives."""
    from app.demo import DEMO_PIN, load_demo

    await load_demo(db)
    shop = (await db.exec(select(User).where(User.code == "E1001"))).one()
    unit = await db.get(OrgUnit, shop.unit_id)
    await on_device(db, client, unit)
    r = await sign_in(client, pick="E1001", pin=DEMO_PIN)
    assert r.status_code == 303 and r.headers["location"] == "/"
