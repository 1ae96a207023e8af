"""In a real browser: attachments added and removed on the edit page (a bad file refused in
place, nothing changed), and a long know-how card's 続きを読む, by keyboard, on a phone."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def test_edit_adds_and_removes_attachments(live_server, page, tmp_path):
    photo = tmp_path / "店頭の写真.jpg"
    Image.new("RGB", (320, 240), (60, 160, 200)).save(photo, "JPEG")
    leaflet = tmp_path / "案内資料.pdf"
    leaflet.write_bytes(PDF)
    bad = tmp_path / "メモ.txt"
    bad.write_text("ただのテキスト", encoding="utf-8")

    login(page, live_server, "E1004")
    page.get_by_test_id("open-praise").click()
    form = page.locator("form#composer")
    form.locator("#title").fill("写真つきのありがとう")
    form.locator("#body").fill("ご来店のお客さまからお礼の言葉をいただきました。")
    form.locator("#channel").select_option("counter")
    form.locator("#files").set_input_files(str(photo))
    form.locator("button[name=status][value=published]").click()
    page.locator(".post-card", has_text="写真つきのありがとう").first.locator(
        ".post-title a"
    ).click()
    expect(page).to_have_url(re.compile(r"/posts/\d+$"))
    post_url = page.url
    expect(page.locator(".attachments img")).to_have_count(1)

    page.locator(".author-actions a", has_text="編集").click()
    edit = page.locator("form#composer")
    expect(edit.locator(".attachment-edit-list li")).to_have_count(1)
    expect(edit.locator("label[for=files]")).to_contain_text("あと9件")

    # A file that is not allowed: said by the field, the form kept, nothing changed.
    edit.locator("#title").fill("書き換えたタイトル")
    edit.locator("#files").set_input_files(str(bad))
    edit.locator("button[name=status][value=published]").click()
    error = page.locator("#err-files")
    expect(error).to_contain_text("メモ.txt")
    expect(page.locator("#title")).to_have_value("書き換えたタイトル")
    page.goto(post_url)
    expect(page.locator(".post-title")).to_have_text("写真つきのありがとう")
    expect(page.locator(".attachments img")).to_have_count(1)

    # Remove the photo (ticked: struck through, undoable) and add a PDF in one save.
    page.locator(".author-actions a", has_text="編集").click()
    remove = page.get_by_role("checkbox", name=re.compile("店頭の写真.jpg"))
    remove.check()
    name = page.locator(".attachment-edit-list .attachment-name").first
    expect(name).to_have_css("text-decoration-line", "line-through")
    remove.uncheck()
    expect(name).not_to_have_css("text-decoration-line", "line-through")
    remove.check()
    page.locator("#files").set_input_files(str(leaflet))
    page.locator("button[name=status][value=published]").click()
    expect(page).to_have_url(post_url)
    expect(page.locator(".attachments img")).to_have_count(0)
    expect(page.locator(".attachments a.doc-link")).to_have_text("案内資料.pdf")
    page.locator(".author-actions a", has_text="編集").click()
    assert axe_violations(page) == []


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)], ids=["phone", "desktop"])
def test_read_more_on_a_long_knowhow_card(live_server, browser, size):
    context = browser.new_context(locale="ja-JP", viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        login(page, live_server, "E1001")
        page.goto(live_server + "/?kind=knowhow")
        card = page.locator(".post-card", has=page.locator(".read-more")).first
        expect(card).to_be_visible()
        # ナレッジ once, whatever the category.
        assert card.locator(".post-meta-top").inner_text().count("ナレッジ") == 1
        link = card.locator(".read-more a")
        title = card.locator(".post-title").inner_text().strip()
        expect(link).to_have_accessible_name(f"続きを読む：{title}")
        # The body ends with a whole line: its last block is a whole paragraph, item or
        # heading's text, never a box cut off in the middle of a line.
        body = card.locator(".post-body")
        assert body.evaluate("el => el.scrollHeight <= el.clientHeight + 1")
        # By keyboard: Tab from the card's title reaches it before the next card's links.
        card.locator(".post-title a").focus()
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('.read-more') !== null"):
                break
        else:
            pytest.fail("Tab never reached 続きを読む")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/posts/\d+$"))
        expect(page.locator(".post-title")).to_have_text(title)
        expect(page.locator(".read-more")).to_have_count(0)
    finally:
        context.close()
