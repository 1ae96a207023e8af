"""An error inside an HTMX fragment, in a real Chromium: a bad 横展開 answer (422) and a like on
a post hidden meanwhile (404) show a toast that screen readers hear and that can be closed;
the fragment stays as it was and the site header is on the page once (it used to be
swapped in a second time, inside the fragment, with the whole error page)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser

MESSAGES = {
    "ja": ("選択肢の中から選んでください。", "この投稿は存在しないか、閲覧する権限がありません。"),
    "en": ("Choose one of the options.", "This post does not exist or is not visible to you."),
}
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _switch_language(page: Page, locale: str) -> None:
    name = {"ja": "日本語", "en": "English"}[locale]
    page.locator(".locale-switch").get_by_role("button", name=name).click()
    expect(page.locator("html")).to_have_attribute("lang", locale)


def _csrf(page: Page) -> str:
    return str(json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"])


@pytest.mark.parametrize(("code", "locale"), [("E1010", "ja"), ("E1011", "en")])
def test_errors_in_fragments_are_toasts(live_server, browser, tmp_path, code, locale):
    bad_answer, hidden_post = MESSAGES[locale]
    context = browser.new_context(locale="ja-JP", viewport=VIEWPORTS["desktop"])
    curator_context = browser.new_context(locale="ja-JP")
    page, curator = context.new_page(), curator_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        login(page, live_server, code)
        if locale != "ja":
            _switch_language(page, locale)

        # A 横展開 answer the server refuses (the button's value tampered with): 422.
        page.goto(live_server + "/bulletins")
        page.locator("main a", has_text="今月の好取組").first.click()
        rollout = page.get_by_test_id("rollout").first
        button = rollout.locator("button").first  # 採用 (adopted), its value tampered with
        button.evaluate("b => { b.value = 'bogus'; }")
        before = rollout.inner_html()
        with page.expect_response(re.compile(r"/rollout$")) as answer:
            button.click()
        assert answer.value.status == 422
        toasts = page.locator("#toasts .toast")
        expect(toasts).to_have_count(1)
        expect(toasts.first).to_have_attribute("role", "alert")
        expect(toasts.first).to_have_text(re.compile(re.escape(bad_answer)))
        expect(page.locator("header.site-header")).to_have_count(1)
        expect(page.locator("[data-testid=rollout] .error-page, main main")).to_have_count(0)
        assert page.get_by_test_id("rollout").first.inner_html() == before  # left as it was
        assert axe_violations(page) == []
        for name, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            toast_box = toasts.first.bounding_box()
            assert toast_box is not None and toast_box["x"] >= 0
            assert toast_box["x"] + toast_box["width"] <= size["width"]
            page.screenshot(path=str(tmp_path / f"toast-{locale}-{name}.png"))
        page.set_viewport_size(VIEWPORTS["desktop"])
        toasts.first.get_by_role("button").click()  # "閉じる" / "Close"
        expect(toasts).to_have_count(0)

        # A like on a post that head office hid after the page was shown: 404, said why.
        login(curator, live_server, "curator")
        created = curator_context.request.post(
            live_server + "/api/v1/posts",
            data={
                "kind": "praise",
                "title": f"非表示になる投稿 {locale}",
                "body": "お客さまから丁寧な説明へのお礼をいただきました。",
                "channel": "counter",
            },
            headers={"X-CSRF-Token": _csrf(curator)},
        )
        assert created.status == 201, created.text()
        post_id = created.json()["id"]
        page.goto(live_server + "/")
        like = page.locator(f"#like-{post_id} button")
        expect(like).to_be_visible()
        hidden = curator_context.request.post(
            live_server + f"/api/v1/posts/{post_id}/hide",
            data={"reason": "テストのため"},
            headers={"X-CSRF-Token": _csrf(curator)},
        )
        assert hidden.status == 200, hidden.text()
        with page.expect_response(re.compile(rf"/posts/{post_id}/like$")) as answer:
            like.click()
        assert answer.value.status == 404
        expect(toasts).to_have_count(1)
        expect(toasts.first).to_have_text(re.compile(re.escape(hidden_post)))
        expect(page.locator("header.site-header")).to_have_count(1)
        expect(page.locator(f"#like-{post_id} [data-testid=like-count]")).to_have_text("0")
        page.keyboard.press("Escape")  # closes the newest toast too
        expect(toasts).to_have_count(0)
        # No script error (Chromium also logs each 4xx answer as a failed resource).
        assert not [e for e in errors if not e.startswith("Failed to load resource")], errors

        deleted = curator_context.request.delete(
            live_server + f"/api/v1/posts/{post_id}", headers={"X-CSRF-Token": _csrf(curator)}
        )
        assert deleted.status == 204
        if locale != "ja":
            _switch_language(page, "ja")
    finally:
        context.close()
        curator_context.close()
