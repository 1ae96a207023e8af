"""Reactions (スタンプ) in a real browser, on a phone and on a desktop: a colleague gives one
on the post page (by mouse, and by keyboard), sees the button pressed, the count and the
"who reacted" list change in place; the author's open feed sees the count rise live."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


def _new_post(ctx, page, base: str, title: str) -> int:
    csrf = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
    response = ctx.request.post(
        base + "/api/v1/posts",
        data={"kind": "praise", "title": title, "body": "丁寧な説明でした。", "channel": "counter"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, response.text()
    return int(response.json()["id"])


def _switch_to_english(ctx, page, base: str) -> None:
    form = page.locator("form.locale-switch").first
    response = ctx.request.post(
        base + form.get_attribute("action"),
        form={
            "csrf_token": form.locator("input[name=csrf_token]").input_value(),
            "locale": "en",
            "next": "/",
        },
    )
    assert response.ok, response.status


# Demo colleagues no other browser test uses (one pair per run: the server is shared).
CASES = [("phone", "ja", "E1012", "E1013"), ("desktop", "en", "E1015", "E1016")]


@pytest.mark.parametrize(("size", "lang", "author_code", "fan_code"), CASES)
def test_a_reaction_updates_the_count_and_who_reacted(
    live_server, browser, size, lang, author_code, fan_code, tmp_path
):
    width, height = SIZES[size]
    options = {"viewport": {"width": width, "height": height}, "locale": "ja-JP"}
    author_ctx, fan_ctx = browser.new_context(**options), browser.new_context(**options)
    errors: list[str] = []
    try:
        author, fan = author_ctx.new_page(), fan_ctx.new_page()
        fan.on("pageerror", lambda e: errors.append(str(e)))
        fan.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(author, live_server, author_code)
        login(fan, live_server, fan_code)
        if lang == "en":
            _switch_to_english(fan_ctx, fan, live_server)
        title = f"スタンプのテスト {size}"
        post_id = _new_post(author_ctx, author, live_server, title)

        # The author's feed is open, its live stream started, before the reaction is given.
        with author.expect_response(lambda r: "/events" in r.url):
            author.goto(live_server + "/")
        author.evaluate("window.__sameDocument = true")
        author_card = author.locator(f"#post-{post_id}")
        expect(author_card.get_by_test_id("reaction-count-want_to_try")).to_have_text("0")

        fan.goto(f"{live_server}/posts/{post_id}")
        fan.evaluate("window.__sameDocument = true")
        group = fan.locator(f"#reactions-{post_id}")
        button = group.locator("button[data-kind=want_to_try]")
        expect(button).to_have_attribute("aria-pressed", "false")
        expect(fan.get_by_test_id("reactors-want_to_try")).to_have_count(0)
        button.click()
        button = group.locator("button[data-kind=want_to_try]")  # swapped in place
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(group.get_by_test_id("reaction-count-want_to_try")).to_have_text("1")
        reactors = fan.get_by_test_id("reactors-want_to_try")
        expect(reactors).to_contain_text("やってみたい" if lang == "ja" else "Want to try")
        expect(reactors.locator("a")).to_have_count(1)
        fan.screenshot(path=str(tmp_path / f"reaction-{size}.png"), full_page=True)

        # The keyboard: Tab to "great" and press Space; then Enter takes it back.
        great = group.locator("button[data-kind=great]")
        great.focus()
        fan.keyboard.press("Space")
        expect(group.locator("button[data-kind=great]")).to_have_attribute("aria-pressed", "true")
        expect(group.get_by_test_id("reaction-count-great")).to_have_text("1")
        # The keyboard stays where it was: the swapped-in button has the focus.
        expect(group.locator("button[data-kind=great]")).to_be_focused()
        expect(fan.get_by_test_id("reactors-great")).to_be_visible()
        # The live stream then swaps the same group in again (the fan's own reaction, as
        # every viewer gets it): wait for htmx to have taken the button now in the page.
        fan.wait_for_function(
            f"() => !!document.querySelector('#reactions-{post_id} button[data-kind=great]')"
            "?.closest('form')?.['htmx-internal-data']"
        )
        fan.wait_for_timeout(300)
        group.locator("button[data-kind=great]").focus()
        fan.keyboard.press("Enter")
        expect(group.locator("button[data-kind=great]")).to_have_attribute("aria-pressed", "false")
        expect(group.get_by_test_id("reaction-count-great")).to_have_text("0")
        expect(fan.get_by_test_id("reactors-great")).to_have_count(0)
        assert fan.evaluate("window.__sameDocument === true"), "the page reloaded"
        assert axe_violations(fan) == []  # the swapped buttons and lists too

        # Live, on the author's feed: the count rose without a reload.
        expect(author_card.get_by_test_id("reaction-count-want_to_try")).to_have_text("1")
        assert author.evaluate("window.__sameDocument === true"), "the page reloaded"
        # Nothing wider than the screen.
        assert fan.evaluate("document.documentElement.scrollWidth") <= width
        assert author.evaluate("document.documentElement.scrollWidth") <= width
        author.screenshot(path=str(tmp_path / f"feed-{size}.png"))
        assert errors == []
    finally:
        author_ctx.close()
        fan_ctx.close()
