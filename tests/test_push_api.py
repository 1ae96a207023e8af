"""Push subscriptions over JSON (`/api/v1/me/push-subscriptions`) and the push section of
/settings: who may do what, what is refused and why, and the settings a user saves."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli.main import cli
from app.config import get_settings
from app.models.tables import push_settings, push_subscriptions
from app.services.push import subscriptions
from app.services.push.keys import new_pair, public_key
from tests.factories import bearer_for, login_as, make_user, soup
from tests.push_service import new_device, subscription_of

PRIVATE, PUBLIC = new_pair()
API = "/api/v1/me/push-subscriptions"
HX = {"HX-Request": "true"}


@pytest.fixture
def vapid(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VAPID_PRIVATE_KEY", PRIVATE)
    monkeypatch.setenv("VAPID_SUBJECT", "mailto:ops@example.com")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def browser_subscription(host: str = "https://push.example.net") -> dict[str, Any]:
    return subscription_of(new_device(), host)


async def test_who_may_do_what(client, db, vapid):
    user = await make_user(db)
    other = await make_user(db)
    token = await bearer_for(db, user)
    # Anonymous: 401 everywhere.
    assert (await client.get(API)).status_code == 401
    assert (await client.post(API, json=browser_subscription())).status_code in (401, 403)
    # A token may list and remove, never add (a leaked token must not redirect pushes).
    listed = await client.get(API, headers=token)
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "vapid_public_key": PUBLIC}
    assert (await client.post(API, json=browser_subscription(), headers=token)).status_code == 403
    # The browser session adds.
    csrf = await login_as(client, user)
    sub = browser_subscription()
    r = await client.post(
        API, json=sub | {"device": "Chrome / Android"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["endpoint"] == sub["endpoint"] and made["device"] == "Chrome / Android"
    # Without the CSRF header the session cannot add.
    assert (await client.post(API, json=browser_subscription())).status_code == 403
    # Somebody else's subscription is a 404 for them; the owner removes it (by id or endpoint).
    other_token = await bearer_for(db, other)
    client.cookies.clear()
    assert (await client.delete(f"{API}/{made['id']}", headers=other_token)).status_code == 404
    r = await client.delete(API, params={"endpoint": sub["endpoint"]}, headers=token)
    assert r.status_code == 204
    assert (await client.delete(f"{API}/{made['id']}", headers=token)).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "ftp://push.example.net/x"}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.net/x"}, "endpoint"),
        ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"p256dh": "!!not-base64!!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"p256dh": "", "auth": "AAAA"}}, "auth"),
        ({"endpoint": "https://push.example.net/" + "x" * 1000}, "endpoint"),
    ],
)
async def test_a_subscription_that_is_none_is_refused(client, db, change, field):
    csrf = await login_as(client, await make_user(db, locale="en"))
    body = browser_subscription()
    body.update(change)
    r = await client.post(API, json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    assert field in str(r.json()["detail"])
    assert (
        await db.execute(sa.select(sa.func.count()).select_from(push_subscriptions))
    ).scalar() == 0


def test_production_posts_only_to_named_https_hosts(monkeypatch):
    production = get_settings().model_copy(update={"env": "production"})
    monkeypatch.setattr(subscriptions, "get_settings", lambda: production)
    assert subscriptions.endpoint_allowed("https://fcm.googleapis.com/fcm/send/abc")
    for url in (
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://localhost/x",
        "https://intranet/x",
    ):
        assert not subscriptions.endpoint_allowed(url), url


async def test_the_same_browser_moves_to_whoever_signs_in_and_old_ones_are_dropped(client, db):
    first, second = await make_user(db), await make_user(db)
    sub = browser_subscription()
    await subscriptions.subscribe(db, first, subscriptions.read_input(sub))
    await subscriptions.subscribe(db, second, subscriptions.read_input(sub))
    owners = (await db.execute(sa.select(push_subscriptions.c.user_id))).scalars().all()
    assert owners == [second.id]
    for _ in range(subscriptions.MAX_PER_USER + 2):
        await subscriptions.subscribe(db, second, subscriptions.read_input(browser_subscription()))
    assert len(await subscriptions.list_for(db, second)) == subscriptions.MAX_PER_USER


async def test_settings_say_when_push_is_not_set_up(client, db):
    await login_as(client, await make_user(db))
    page = soup(await client.get("/settings"))
    assert page.select_one("#push-settings [data-testid=push-not-set-up]") is not None
    assert page.select_one("#push-device") is None


async def test_settings_save_kinds_and_quiet_hours(client, db, vapid):
    user = await make_user(db, locale="en")
    csrf = await login_as(client, user)
    page = soup(await client.get("/settings"))
    assert page.select_one("#push-device")["data-vapid-key"] == PUBLIC
    checked = {i["name"] for i in page.select("#push-settings input[type=checkbox][checked]")}
    assert checked == {"like", "comment", "mention", "featured", "hidden", "bulletin", "quiet"}
    assert page.select_one("#quiet-start")["value"] == "21:00"
    assert page.select_one("#quiet-end")["value"] == "08:00"

    form = {
        "csrf_token": csrf,
        "comment": "on",
        "quiet": "on",
        "quiet_start": "22:30",
        "quiet_end": "07:00",
    }
    r = await client.post("/settings/push", data=form, headers=HX)
    assert r.status_code == 200
    section = soup(r)
    assert section.select_one("form [role=status]").get_text() == "Saved."
    checked = {i["name"] for i in section.select("input[type=checkbox][checked]")}
    assert checked == {"comment", "quiet"}
    row = (
        await db.execute(sa.select(push_settings).where(push_settings.c.user_id == user.id))
    ).one()
    assert (row.like, row.comment, row.quiet_start, row.quiet_end) == (False, True, 1350, 420)

    # A bad time: 422, the field says why, what was ticked stays ticked, nothing saved.
    r = await client.post(
        "/settings/push", data=form | {"quiet_end": "25:00", "like": "on"}, headers=HX
    )
    assert r.status_code == 422
    section = soup(r)
    assert section.select_one("#err-quiet_end").get_text() == "Enter a time as HH:MM (e.g. 21:00)."
    assert section.select_one("input[name=like]").has_attr("checked")
    assert section.select_one("#quiet-end")["value"] == "25:00"
    row = (await db.execute(sa.select(push_settings.c.like))).scalar_one()
    assert row is False
    # Without JavaScript: a redirect back to the section.
    r = await client.post("/settings/push", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/settings#push-settings"


async def test_settings_list_and_remove_devices(client, db, vapid):
    user = await make_user(db, locale="ja")
    csrf = await login_as(client, user)
    view = await subscriptions.subscribe(
        db, user, subscriptions.read_input(browser_subscription() | {"device": "Safari / iOS"})
    )
    page = soup(await client.get("/settings"))
    assert "Safari / iOS" in page.select_one("[data-testid=push-devices]").get_text()
    r = await client.post(
        f"/settings/push/devices/{view.id}/remove", data={"csrf_token": csrf}, headers=HX
    )
    assert r.status_code == 200 and soup(r).select_one("[data-testid=push-devices]") is None
    r = await client.post(f"/settings/push/devices/{view.id}/remove", data={"csrf_token": csrf})
    assert r.status_code == 404


def test_push_keys_prints_a_pair_that_fits_together():
    out = CliRunner().invoke(cli, ["push", "keys"], catch_exceptions=False).output
    lines = dict(
        line.split("=", 1) for line in out.splitlines() if "=" in line and not line.startswith("#")
    )
    public = out.rsplit(" ", 1)[-1].strip()
    assert public_key(lines["VAPID_PRIVATE_KEY"]) == public
    assert lines["VAPID_SUBJECT"].startswith("mailto:")


def test_settings_refuse_half_a_vapid_setup_or_a_bad_key(monkeypatch):
    from app.config import Settings

    base = {"ARIGATO_ENV": "dev"}
    with pytest.raises(ValueError, match="set together"):
        Settings(**base, vapid_private_key=PRIVATE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="P-256"):
        Settings(**base, vapid_private_key="bm90LWEta2V5", vapid_subject="mailto:a@b.c")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mailto"):
        Settings(**base, vapid_private_key=PRIVATE, vapid_subject="ops@example.com")  # type: ignore[arg-type]
    assert Settings(**base, vapid_private_key=PRIVATE, vapid_subject="mailto:a@b.c").push_enabled  # type: ignore[arg-type]


async def test_openapi_documents_the_push_subscriptions(client):
    spec = (await client.get("/api/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths[API]) == {"get", "post", "delete"}
    assert set(paths[API + "/{subscription_id}"]) == {"delete"}
    assert "403" in paths[API]["post"]["responses"]
