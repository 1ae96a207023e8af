"""Focus and live consistency on a phone (390×844) and a desktop (1280×800): the composer takes
the focus when it opens and gives it to the confirmation after posting; a form error below
the fold is scrolled to and focused; after a comment, a like and a dismissal every number on
the page that counts them says the same, with no console error along the way."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_layout import SIZES, signed_in

pytestmark = pytest.mark.browser


def _focused(page: Page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.outerHTML")


def _in_view(page: Page, selector: str) -> bool:
    """The element is wholly inside the viewport."""
    return page.locator(selector).evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"
    )


def _new_post(page: Page, base: str, title: str) -> int:
    """A praise post by the signed-in user, made through the API with the page's session."""
    csrf = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    response = page.context.request.post(
        base + "/api/v1/posts",
        data={
            "kind": "praise",
            "title": title,
            "body": "お客さまに喜んでいただけました。",
            "channel": "counter",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 201, response.text()
    return int(response.json()["id"])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["praise", "knowhow"])
def test_the_composer_takes_the_focus_and_gives_it_to_the_confirmation(
    live_server, browser, size, kind
):
    with signed_in(browser, live_server, "E1008", "ja", size) as (page, errors):
        page.get_by_test_id(f"open-{kind}").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#title")).to_be_focused()
        page.keyboard.type(f"フォーカスの確認 {kind} {size}")
        page.keyboard.press("Tab")
        expect(page.locator("#body")).to_be_focused()
        page.keyboard.type("お客さまから、説明が分かりやすかったとお言葉をいただきました。")
        if kind == "praise":
            # The colleague search inside the form asks the server too (it once inherited
            # the form's hx-disabled-elt, whose "find button" matched nothing from there).
            page.locator("#praised-search").fill("佐藤")
            expect(page.locator("#praised-suggestions [data-code]").first).to_be_visible()
        submit = page.locator("form#composer button[name=status][value=published]")
        submit.focus()
        page.keyboard.press("Enter")

        flash = page.get_by_test_id("composer-flash")
        expect(flash).to_be_focused()
        assert _in_view(page, "[data-testid=composer-flash]"), "the confirmation is off screen"
        card = page.locator("#feed-items .post-card").first
        expect(card).to_contain_text(f"フォーカスの確認 {kind} {size}")
        assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_posting_from_the_new_post_page_confirms_with_a_link(live_server, browser, size):
    """/posts/new has no feed to put the card in: the confirmation takes the focus and links
    to the new post."""
    with signed_in(browser, live_server, "E1004", "ja", size) as (page, errors):
        page.goto(live_server + "/posts/new")
        page.locator("#title").fill(f"投稿ページから {size}")
        page.locator("#body").fill("お客さまにお礼を言われました。")
        page.locator("form#composer button[name=status][value=published]").click()
        flash = page.get_by_test_id("composer-flash")
        expect(flash).to_be_focused()
        assert _in_view(page, "[data-testid=composer-flash]")
        page.keyboard.press("Tab")
        link = flash.get_by_role("link", name="投稿を見る")
        expect(link).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("h2.post-title")).to_have_text(f"投稿ページから {size}")
        assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_a_composer_error_focuses_the_field(live_server, browser, size):
    """A field the server refuses (a blank title passes the browser's `required`) takes the
    focus and is scrolled back on screen from the submit button far below it."""
    with signed_in(browser, live_server, "E1009", "ja", size) as (page, errors):
        page.goto(live_server + "/posts/new")
        page.locator("#title").fill("   ")
        page.locator("#body").fill("本文はあります。")
        submit = page.locator("form#composer button[name=status][value=published]")
        submit.scroll_into_view_if_needed()
        submit.click()
        expect(page.locator("#title")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#title")).to_be_focused()
        assert _in_view(page, "#title")
        # 422 is the answer for a form with errors; nothing else may be logged.
        assert [e for e in errors if "422" not in e] == []


@pytest.mark.parametrize("size", SIZES)
def test_an_error_below_the_fold_is_scrolled_to_and_focused(live_server, browser, size):
    """The complaint form (a plain form: the server sends the page again) on /kpi/voices."""
    with signed_in(browser, live_server, "curator", "ja", size) as (page, _errors):
        page.goto(live_server + "/kpi/voices")
        page.locator("#complaint-received_on").fill("2026-11-01")
        page.locator("#complaint-unit").fill("ZZZ-999")
        page.locator("#complaint-category").select_option(index=1)
        page.locator("#complaint-form button[type=submit]").click()
        unit = page.locator("#complaint-unit")
        expect(unit).to_have_attribute("aria-invalid", "true")
        expect(unit).to_have_value("ZZZ-999")  # what was typed is kept
        expect(unit).to_be_focused()
        assert _in_view(page, "#complaint-unit")
        assert _in_view(page, "#complaint-unit-error")


def _numbers(page: Page) -> dict[str, str]:
    """Every number on the post page that counts comments or likes, and the liked-by names."""
    return {
        "card comments": page.get_by_test_id("comment-count").inner_text(),
        "heading comments": page.get_by_test_id("comment-total").inner_text(),
        "comments listed": str(page.locator("#comment-list .comment").count()),
        "likes": page.get_by_test_id("like-count").inner_text().strip(),
        "liked by": page.get_by_test_id("likers").locator("p").inner_text(),
    }


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_counts_stay_in_step_after_comments_and_likes(live_server, browser, size, lang):
    title = f"数の確認 {size} {lang}"
    with signed_in(browser, live_server, "E1010", "ja", "desktop") as (author, _errors):
        post_url = f"{live_server}/posts/{_new_post(author, live_server, title)}"
    none_yet = {"ja": "まだいいね！はありません。", "en": "No likes yet."}[lang]
    with signed_in(browser, live_server, "E1011", lang, size) as (page, errors):
        page.goto(post_url)
        page.evaluate("window.__sameDocument = true")
        name = (page.get_by_test_id("user-name").text_content() or "").strip()
        assert _numbers(page) == {
            "card comments": "0",
            "heading comments": "0",
            "comments listed": "0",
            "likes": "0",
            "liked by": none_yet,
        }
        expect(page.locator("#no-comments")).to_be_visible()

        for n in (1, 2):  # the second: a post that has comments already
            page.locator("#comment-body").fill(f"コメント {n}")
            page.locator("#comment-form button[type=submit]").click()
            expect(page.locator("#comment-list .comment")).to_have_count(n)
            expect(page.get_by_test_id("comment-total")).to_have_text(str(n))
            assert _numbers(page) == {
                "card comments": str(n),
                "heading comments": str(n),
                "comments listed": str(n),
                "likes": "0",
                "liked by": none_yet,
            }
            expect(page.locator("#no-comments")).to_be_hidden()

        page.locator("form.like-form button").click()
        expect(page.get_by_test_id("like-count")).to_have_text("1")
        expect(page.get_by_test_id("likers")).to_contain_text(name)
        assert _numbers(page) == {
            "card comments": "2",
            "heading comments": "2",
            "comments listed": "2",
            "likes": "1",
            "liked by": name,
        }
        page.locator("form.like-form button").click()
        expect(page.get_by_test_id("like-count")).to_have_text("0")
        expect(page.get_by_test_id("likers").locator("p")).to_have_text(none_yet)

        # Deleting one's own comment: both counts go down together.
        page.once("dialog", lambda d: d.accept())
        page.locator("#comment-list .comment").last.locator("form.inline-form button").click()
        expect(page.locator("#comment-list .comment")).to_have_count(1)
        expect(page.get_by_test_id("comment-total")).to_have_text("1")
        assert _numbers(page)["card comments"] == "1"
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
        assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_the_open_report_count_follows_a_dismissal(live_server, browser, size):
    title = f"通報の確認 {size}"
    with signed_in(browser, live_server, "E1012", "ja", "desktop") as (author, _errors):
        post_id = _new_post(author, live_server, title)
    with signed_in(browser, live_server, "E1013", "ja", "desktop") as (reporter, _errors):
        reporter.goto(f"{live_server}/posts/{post_id}")
        box = reporter.locator(".flag-box").last
        box.locator("summary").click()
        box.get_by_role("button", name="報告する").click()
        expect(reporter.locator(".flag-result")).to_be_visible()

    with signed_in(browser, live_server, "curator", "ja", size) as (page, errors):
        page.goto(live_server + "/moderation")
        open_count = page.get_by_test_id("open-count")
        before = int(open_count.inner_text())
        groups = page.locator("article.flag-group:not(.resolved)")
        assert before >= groups.count() >= 1
        group = page.locator(f"#flag-group-post-{post_id}")
        expect(group.get_by_test_id("flag-count")).to_have_text("通報 1件")
        group.get_by_role("button", name="通報を却下").click()
        expect(group).to_have_class(re.compile(r"\bresolved\b"))
        expect(group.get_by_test_id("flag-count")).to_have_text("通報 0件")
        expect(open_count).to_have_text(str(before - 1))
        page.reload()
        expect(page.get_by_test_id("open-count")).to_have_text(str(before - 1))
        assert errors == []


def test_someone_elses_like_shows_in_the_liked_by_list(live_server, browser):
    """The like count hears of a colleague's like over the live stream; the liked-by list on
    the same page follows it."""
    with signed_in(browser, live_server, "E1015", "ja", "desktop") as (author, errors):
        post_url = f"{live_server}/posts/{_new_post(author, live_server, '他の人のいいね')}"
        with author.expect_response(lambda r: "/events" in r.url):
            author.goto(post_url)
        author.evaluate("window.__sameDocument = true")
        expect(author.get_by_test_id("likers").locator("p")).to_have_text(
            "まだいいね！はありません。"
        )
        with signed_in(browser, live_server, "E1016", "ja", "phone") as (fan, _fan_errors):
            fan.goto(post_url)
            fan.locator("form.like-form button").click()
            expect(fan.get_by_test_id("like-count")).to_have_text("1")
            name = (fan.get_by_test_id("user-name").text_content() or "").strip()
        expect(author.get_by_test_id("like-count")).to_have_text("1")
        expect(author.get_by_test_id("likers").locator("p")).to_have_text(name)
        assert author.evaluate("window.__sameDocument === true"), "the page reloaded"
        assert errors == []
