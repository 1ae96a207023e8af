"""A post with more comments than one page: the first ones, "more" by keyboard brings the
next ones in place and the focus to them; phone and desktop, Japanese and English."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.services.comments import COMMENTS_PAGE
from tests.browser.conftest import axe_violations
from tests.browser.session import login, set_language

pytestmark = pytest.mark.browser
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
TOTAL = COMMENTS_PAGE + 7


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


@pytest.fixture(scope="module")
def long_thread(live_server, browser) -> str:  # type: ignore[no-untyped-def]
    """A post of E1012's with TOTAL comments, written through the API; its path."""
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    login(page, live_server, "E1012")
    csrf = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    body = {"kind": "praise", "title": "コメントの多い投稿", "body": "本文", "channel": "counter"}
    made = page.request.post(live_server + "/api/v1/posts", data=json.dumps(body), headers=headers)
    assert made.status == 201, made.text()
    post_id = made.json()["id"]
    for n in range(TOTAL):
        r = page.request.post(
            f"{live_server}/api/v1/posts/{post_id}/comments",
            data=json.dumps({"body": f"{n + 1}番目のコメント"}),
            headers=headers,
        )
        assert r.status == 201, r.text()
    context.close()
    return f"/posts/{post_id}"


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize(
    ("lang", "more", "loaded"),
    [
        ("ja", "コメントをもっと見る", "さらに7件のコメント"),
        ("en", "Show more comments", "7 more comments"),
    ],
)
def test_more_comments_by_keyboard(live_server, browser, long_thread, size, lang, more, loaded):
    width, height = SIZES[size]
    context = browser.new_context(locale="ja-JP", viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        login(page, live_server, "E1013", lang=lang)
        page.goto(live_server + long_thread)
        comments = page.locator("#comment-list li.comment")
        expect(comments).to_have_count(COMMENTS_PAGE)
        button = page.get_by_role("button", name=more)
        button.focus()
        _shot(page, f"comments-more-{size}-{lang}")
        page.keyboard.press("Enter")
        expect(comments).to_have_count(TOTAL)
        expect(page.locator("#comments-more")).to_have_count(0)
        focused = page.locator(":focus")
        expect(focused).to_have_text(loaded)
        expect(comments.last).to_contain_text(f"{TOTAL}番目のコメント")
        # the next Tab goes into the comments just loaded, not back to the top
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('li.comment')?.id") == comments.nth(
            COMMENTS_PAGE
        ).get_attribute("id")
        _shot(page, f"comments-loaded-{size}-{lang}")
        assert axe_violations(page) == []
    finally:
        set_language(page, "ja")  # the account as the tests after this one expect it
        context.close()
