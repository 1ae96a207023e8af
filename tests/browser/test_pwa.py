"""The installable app in Chromium: the manifest and the service worker pass Chromium's own
installability check, a page asked for offline shows the offline page, and the service
worker's push and notification-click handlers show a notification and open its link."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.session import login

pytestmark = pytest.mark.browser


@pytest.fixture
def profile(playwright, tmp_path):  # type: ignore[no-untyped-def]
    """A browser with a profile on disk: Chromium never offers to install from an
    incognito-like context (Playwright's `new_context`)."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, locale="ja-JP"
    )
    yield context
    context.close()


def _ready(page: Page) -> str:
    return page.evaluate(
        "async () => { const r = await navigator.serviceWorker.ready;"
        " return r.active ? r.active.scriptURL + ' ' + r.scope : ''; }"
    )


def test_manifest_and_service_worker_pass_installability(live_server, profile):
    context: BrowserContext = profile
    if True:
        page = context.new_page()
        login(page, live_server, "E1005")
        assert _ready(page) == f"{live_server}/sw.js {live_server}/"
        manifest = page.request.get(live_server + "/manifest.webmanifest").json()
        assert manifest["name"] == "ありがとうボード"
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
        assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}
        cdp = context.new_cdp_session(page)
        page.reload()
        _ready(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        # The manifest Chromium parsed is ours (its icons were fetched and understood).
        parsed = cdp.send("Page.getAppManifest")
        assert parsed["url"] == live_server + "/manifest.webmanifest"
        assert not parsed["errors"]


def test_a_page_asked_for_offline_shows_the_offline_page(live_server, browser):
    context: BrowserContext = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        login(page, live_server, "E1005")
        _ready(page)
        page.reload()  # now controlled by the worker
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        context.set_offline(True)
        page.goto(live_server + "/bulletins")
        expect(page.get_by_test_id("offline-page")).to_contain_text("オフライン")
        # Styled: the stylesheet came from the worker's copy.
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.site-footer')).display") != ""
        )
        assert page.evaluate("document.styleSheets.length") >= 2
        context.set_offline(False)
        page.goto(live_server + "/bulletins")
        expect(page.get_by_test_id("offline-page")).to_have_count(0)
    finally:
        context.close()


NOTIFICATIONS = """async () => {
  const r = await navigator.serviceWorker.ready;
  return (await r.getNotifications()).map(n => ({title: n.title, url: n.data.url, tag: n.tag}));
}"""


def _notifications(page: Page) -> list[dict[str, str]]:
    return sorted(page.evaluate(NOTIFICATIONS), key=lambda n: n["tag"])


def test_a_push_shows_a_notification_whose_click_opens_its_link(live_server, profile):
    """The worker's `push` handler (fed by CDP's ServiceWorker.deliverPushMessage, as the
    browser's push service would) and its `notificationclick` handler (called in the
    worker: no DevTools command clicks a system notification)."""
    context: BrowserContext = profile
    context.grant_permissions(["notifications"], origin=live_server)
    page = context.new_page()
    login(page, live_server, "E1005")
    _ready(page)
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, str]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    [registration] = [r for r in registrations if r["scopeURL"] == live_server + "/"][:1]

    def push(payload: dict[str, str]) -> None:
        """Deliver a push and wait until its notification shows. On a loaded machine
        Chromium sometimes drops a message DevTools hands it (a push service would retry):
        the same message (same tag, so never shown twice) goes again after 5 s, 4 times."""
        for _ in range(4):
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {
                    "origin": live_server + "/",
                    "registrationId": registration["registrationId"],
                    "data": json.dumps(payload),
                },
            )
            for _ in range(50):
                if any(n["tag"] == payload["tag"] for n in _notifications(page)):
                    return
                page.wait_for_timeout(100)

    title = "伊藤 さくらさんがあなたの投稿にいいねしました。"
    push({"title": title, "url": "/bulletins", "tag": "n1"})
    # A link to another site is never kept: the worker keeps only the board's own paths.
    push({"title": "?", "url": "https://evil.example/phish", "tag": "n2"})
    assert _notifications(page) == [
        {"title": title, "url": "/bulletins", "tag": "n1"},
        {"title": "?", "url": "/", "tag": "n2"},
    ]
    [worker] = context.service_workers
    worker.evaluate(
        """async () => {
             const n = (await self.registration.getNotifications()).find(n => n.tag === "n1");
             let done;
             onNotificationClick({notification: n, waitUntil: (p) => { done = p; }});
             await done;
           }"""
    )
    expect(page).to_have_url(live_server + "/bulletins")
    assert [n["tag"] for n in page.evaluate(NOTIFICATIONS)] == ["n2"]
