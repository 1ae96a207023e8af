"""Nothing typed is lost on a personal device: the composer and the comment box keep their
text in the browser until it is sent — through a reload, a send without a network, an
expired session — and forget it once it was sent. `<body data-no-local-drafts>` (a shared
terminal) keeps nothing and forgets what was kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.session import login

pytestmark = pytest.mark.browser

KEPT = "() => Object.keys(localStorage).filter(k => k.startsWith('arigato.draft.'))"
ANY_KEPT = "() => Object.keys(localStorage).some(k => k.startsWith('arigato.draft.'))"


@contextmanager
def _signed_in(browser, base: str, code: str) -> Iterator[tuple[BrowserContext, Page]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        login(page, base, code)
        yield context, page
    finally:
        context.close()


def _type_post(page: Page, title: str, body: str) -> None:
    page.locator("#title").fill(title)
    page.locator("#body").fill(body)
    page.wait_for_function(ANY_KEPT)


def test_composer_keeps_text_through_offline_send_and_expired_session(live_server, browser):
    with _signed_in(browser, live_server, "E1005") as (context, page):
        page.goto(live_server + "/posts/new")
        _type_post(page, "下書きのテスト", "お客さまが笑顔で帰られました。")

        # A reload brings it back.
        page.reload()
        expect(page.locator("#title")).to_have_value("下書きのテスト")
        expect(page.locator("#body")).to_have_value("お客さまが笑顔で帰られました。")

        # Sent without a network: refused by the browser, kept.
        context.set_offline(True)
        page.get_by_role("button", name="投稿する", exact=True).click()
        page.wait_for_timeout(500)
        context.set_offline(False)
        page.goto(live_server + "/posts/new")
        expect(page.locator("#body")).to_have_value("お客さまが笑顔で帰られました。")

        # The session ends while typing: after logging in again the text is there.
        page.locator("#body").fill("お客さまが笑顔で帰られました。また来ますとのこと。")
        page.wait_for_timeout(400)
        context.clear_cookies()
        page.get_by_role("button", name="投稿する", exact=True).click()
        page.wait_for_timeout(500)
        login(page, live_server, "E1005")
        page.goto(live_server + "/posts/new")
        expect(page.locator("#body")).to_have_value(
            "お客さまが笑顔で帰られました。また来ますとのこと。"
        )

        # Sent: the fresh form is empty, and stays empty after a reload.
        page.get_by_role("button", name="投稿する", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("投稿しました")
        expect(page.locator("#title")).to_have_value("")
        # The device forgets it once the answer is handled (a moment after the swap on a
        # loaded machine): nothing kept, within the usual 5 s.
        page.wait_for_function(f"() => !({ANY_KEPT})()", timeout=5000)
        assert page.evaluate(KEPT) == []
        page.reload()
        expect(page.locator("#title")).to_have_value("")


def test_comment_box_keeps_text_until_sent(live_server, browser):
    with _signed_in(browser, live_server, "E1006") as (_context, page):
        page.locator(".post-card a[href^='/posts/']").first.click()
        box = page.locator("#comment-body")
        box.fill("素敵な対応ですね")
        page.wait_for_function(ANY_KEPT)
        page.reload()
        expect(box).to_have_value("素敵な対応ですね")
        page.get_by_role("button", name="コメントする").click()
        expect(page.locator("#comment-list")).to_contain_text("素敵な対応ですね")
        expect(box).to_have_value("")
        page.wait_for_function(f"() => !({ANY_KEPT})()", timeout=5000)  # as the composer's
        assert page.evaluate(KEPT) == []


def test_a_shared_terminal_keeps_nothing(live_server, browser):
    with _signed_in(browser, live_server, "E1005") as (_context, page):
        page.goto(live_server + "/posts/new")
        _type_post(page, "前の人の下書き", "前の人の文章")
        # From now on every page is a terminal's (the attribute is set before scripts run).
        page.add_init_script(
            "new MutationObserver((_, o) => { if (document.body) {"
            " document.body.setAttribute('data-no-local-drafts', ''); o.disconnect(); } })"
            ".observe(document, {childList: true, subtree: true});"
        )
        page.reload()
        expect(page.locator("#title")).to_have_value("")
        assert page.evaluate(KEPT) == []
        page.locator("#body").fill("端末での入力")
        page.wait_for_timeout(500)
        assert page.evaluate(KEPT) == []
