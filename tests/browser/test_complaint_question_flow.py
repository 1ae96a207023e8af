"""The composer's question about a complaint inside a thanks, on a phone in Japanese: it
appears while the author types, the submit asks again (focused) when it is not answered,
"いいえ" folds the details away, "はい" records the complaint and the thanks is posted; the
curator finds the link on the post page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
BODY = "担当の方はとても親切でした。対応は丁寧でしたが、保険金の連絡が遅くて困りました。"


def test_the_composer_asks_about_a_complaint_on_a_phone(live_server, browser):
    context = browser.new_context(locale="ja-JP", viewport=PHONE)
    try:
        page = context.new_page()
        login(page, live_server, "E1014")
        page.goto(live_server + "/posts/new")
        page.locator("#title").fill("保険金のご連絡について")
        page.locator("#body").fill(BODY)
        page.locator("#channel").select_option("phone")

        question = page.get_by_role(
            "group", name="このお客さまの声に、ご不満（苦情）は含まれていますか？"
        )
        expect(question).to_be_visible()  # asked while typing (HTMX)
        expect(question.locator("mark")).to_have_text(["でしたが", "遅く", "困りました"])
        expect(page.locator("#complaint_summary")).to_have_value(
            "対応は丁寧でしたが、保険金の連絡が遅くて困りました。"
        )
        assert axe_violations(page) == []

        # Sent without an answer: the form comes back asking, everything typed kept.
        page.get_by_role("button", name="投稿する", exact=True).click()
        expect(page.locator("#complaint-question")).to_be_focused()
        expect(page.locator("#body")).to_have_value(BODY)
        expect(page.locator("#channel")).to_have_value("phone")

        # "No" folds the details away; "yes" shows them again.
        page.get_by_label("いいえ、お褒めの言葉だけです").check()
        expect(page.get_by_label("ご不満の区分")).to_be_hidden()
        page.get_by_label("はい、ご不満が含まれています").check()
        expect(page.get_by_label("ご不満の区分")).to_be_visible()
        expect(page.get_by_label("ご不満の区分")).to_have_value("other")  # その他 by default
        page.get_by_label("ご不満の区分").select_option("claim")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the question makes the page scroll sideways"

        page.get_by_role("button", name="投稿する", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("投稿しました")
        expect(page.locator("#complaint-question")).to_have_count(0)  # a fresh form
        page.get_by_role("link", name="投稿を見る").click()
        expect(page).to_have_url(re.compile(r"/posts/\d+$"))
        post_url = page.url
        expect(page.locator("[data-testid=complaint-note]")).to_have_count(0)  # staff: nothing
    finally:
        context.close()

    curator = browser.new_context(locale="ja-JP", viewport=PHONE)
    try:
        page = curator.new_page()
        login(page, live_server, "curator")
        page.goto(post_url)
        note = page.locator("[data-testid=complaint-note]")
        expect(note).to_contain_text("保険金関連")
        note.get_by_role("link", name="ご不満の声の一覧で見る").click()
        row = page.locator(
            "tr", has=page.locator(f"a[href='{post_url.removeprefix(live_server)}']")
        )
        expect(row).to_contain_text("対応は丁寧でしたが、保険金の連絡が遅くて困りました。")
    finally:
        curator.close()
