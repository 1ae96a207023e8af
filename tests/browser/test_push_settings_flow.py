"""Settings → Push notifications in Chromium: turning push on for this browser saves its
subscription and lists the device; off removes it; a blocked permission says so. The
browser's own push service cannot be reached from a test machine, so `pushManager` is the
one thing replaced (by an init script handing out a subscription with real keys)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from app.services.push.keys import new_pair
from tests.browser.conftest import axe_violations, run_live_server
from tests.browser.session import login
from tests.push_service import new_device, subscription_of

pytestmark = pytest.mark.browser

PRIVATE, PUBLIC = new_pair()
FAKE_PUSH_MANAGER = """
(() => {
  let current = null;
  const sub = (endpoint, p256dh, auth) => ({
    endpoint,
    toJSON: () => ({endpoint, expirationTime: null, keys: {p256dh, auth}}),
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.subscribe = async function (options) {
    window.__subscribedWith = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
    current = sub(%s, %s, %s);
    return current;
  };
})();
"""


@pytest.fixture(scope="module")
def push_server(tmp_path_factory):  # type: ignore[no-untyped-def]
    env = {"VAPID_PRIVATE_KEY": PRIVATE, "VAPID_SUBJECT": "mailto:ops@example.com"}
    with run_live_server("pushui", tmp_path_factory.mktemp("pushui"), extra_env=env) as base:
        yield base


def _fake_subscription() -> tuple[str, str, str]:
    made = subscription_of(new_device(), "https://push.example.net")
    return (
        json.dumps(made["endpoint"]),
        json.dumps(made["keys"]["p256dh"]),
        json.dumps(made["keys"]["auth"]),
    )


def test_turning_push_on_and_off_for_this_browser(push_server, browser):
    context = browser.new_context(locale="ja-JP")
    try:
        context.grant_permissions(["notifications"], origin=push_server)
        context.add_init_script(FAKE_PUSH_MANAGER % _fake_subscription())
        page = context.new_page()
        login(page, push_server, "E1005")
        page.goto(push_server + "/settings#push-settings")
        status = page.get_by_test_id("push-status")
        expect(status).to_have_text("この端末のプッシュ通知はオフです。")
        assert axe_violations(page) == []
        page.get_by_role("button", name="この端末でオンにする").click()
        expect(status).to_have_text("この端末のプッシュ通知はオンです。")
        expect(page.get_by_test_id("push-devices")).to_contain_text("Chrome / Linux")
        listed = page.request.get(push_server + "/api/v1/me/push-subscriptions").json()
        assert [s["endpoint"].startswith("https://push.example.net/") for s in listed["items"]] == [
            True
        ]
        page.get_by_role("button", name="この端末でオフにする").click()
        expect(status).to_have_text("この端末のプッシュ通知はオフです。")
        expect(page.get_by_test_id("push-devices")).to_have_count(0)
        assert page.request.get(push_server + "/api/v1/me/push-subscriptions").json()["items"] == []
    finally:
        context.close()


def test_a_blocked_permission_is_explained(push_server, browser):
    context = browser.new_context(locale="ja-JP")
    try:
        # The person says "Block" when the browser asks.
        context.add_init_script("Notification.requestPermission = async () => 'denied';")
        page = context.new_page()
        login(page, push_server, "E1006")
        page.goto(push_server + "/settings")
        page.get_by_role("button", name="この端末でオンにする").click()
        expect(page.get_by_test_id("push-status")).to_contain_text("ブロックされています")
    finally:
        context.close()


def test_logging_out_turns_push_off_for_this_browser(push_server, browser):
    context = browser.new_context(locale="ja-JP")
    try:
        context.grant_permissions(["notifications"], origin=push_server)
        context.add_init_script(FAKE_PUSH_MANAGER % _fake_subscription())
        page = context.new_page()
        login(page, push_server, "E1001")
        page.goto(push_server + "/settings")
        page.get_by_role("button", name="この端末でオンにする").click()
        expect(page.get_by_test_id("push-devices")).to_be_visible()
        api = push_server + "/api/v1/me/push-subscriptions"
        assert len(page.request.get(api).json()["items"]) == 1
        page.get_by_test_id("user-name").click()
        page.get_by_role("button", name="ログアウト").click()
        expect(page).to_have_url(push_server + "/login")
        login(page, push_server, "E1001")
        assert page.request.get(api).json()["items"] == []
    finally:
        context.close()
