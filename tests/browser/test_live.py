"""Live updates in real browsers: one colleague likes another's post, and the author's bell
count (and the card's like count) rise without a reload; a new post shows the banner."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.session import login

pytestmark = pytest.mark.browser


def _count(text: str) -> int:
    return int(text.strip() or 0)


def test_like_raises_the_authors_bell_without_a_reload(live_server, browser):
    author_ctx = browser.new_context(locale="ja-JP")
    fan_ctx = browser.new_context(locale="ja-JP")
    try:
        author, fan = author_ctx.new_page(), fan_ctx.new_page()
        login(author, live_server, "E1005")
        login(fan, live_server, "E1006")

        # The author posts (through the API, with the page's session and CSRF token); the
        # fan's feed, open all along, shows the "new posts" banner.
        csrf = json.loads(author.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
        response = author_ctx.request.post(
            live_server + "/api/v1/posts",
            data={
                "kind": "praise",
                "title": "ライブ更新のテスト投稿",
                "body": "お客さまに喜んでいただけました。",
                "channel": "counter",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status == 201, response.text()
        post_url = live_server + f"/posts/{response.json()['id']}"
        banner = fan.get_by_test_id("new-posts")
        expect(banner.locator("a")).to_contain_text("1")

        # The stream is open (its response has started) before the like is given.
        with author.expect_response(lambda r: "/events" in r.url):
            author.goto(live_server + "/")
        author.evaluate("window.__sameDocument = true")
        bell = author.get_by_test_id("bell-count")
        before = _count(bell.inner_text())
        card = author.locator(".post-card", has_text="ライブ更新のテスト投稿").first
        expect(card.get_by_test_id("like-count")).to_have_text("0")
        fan.goto(post_url)
        fan.locator("form.like-form button").click()
        expect(fan.get_by_test_id("like-count")).to_have_text("1")

        expect(bell).to_have_text(str(before + 1))
        expect(card.get_by_test_id("like-count")).to_have_text("1")
        assert author.evaluate("window.__sameDocument === true"), "the page reloaded"

        author.get_by_test_id("bell").click()
        expect(author.get_by_test_id("notification").first).to_contain_text("いいね！しました")
    finally:
        author_ctx.close()
        fan_ctx.close()
