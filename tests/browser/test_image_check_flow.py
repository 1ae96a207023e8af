"""In a real browser against a real app instance (its own OCR drainer, real Tesseract): a photo
of a postcard posted from the composer is held with the notice, its author blacks it out from
the post's page, and a colleague then sees the masked image only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CHECK_WAIT_S = 30  # the drainer reads a photo in a few seconds; CI is slower under load


def _postcard(path: Path) -> None:
    font = ImageFont.truetype(CJK_FONT, 56, index=0)
    img = Image.new("RGB", (1400, 600), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(["〒150-0001", "山田 花子 様", "電話 03-1234-5678"]):
        draw.text((80, 60 + i * 120), line, fill="black", font=font)
    img.save(path, "JPEG", quality=92)


def _reload_until_checked(page: Page) -> None:
    """The post's page, reloaded until the background check has decided."""
    notice = page.get_by_test_id("image-check-notice")
    for _ in range(CHECK_WAIT_S * 2):
        if "個人情報の可能性があります" in notice.inner_text():
            return
        page.wait_for_timeout(500)
        page.reload()
    pytest.fail(f"the image was not checked within {CHECK_WAIT_S} s")


def test_a_postcard_is_held_and_its_author_blacks_it_out(live_server, browser, tmp_path):  # type: ignore[no-untyped-def]
    photo = tmp_path / "はがき.jpg"
    _postcard(photo)
    author = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844}).new_page()
    login(author, live_server, "E1003")
    author.get_by_test_id("open-praise").click()
    composer = author.locator("form#composer")
    composer.locator("#title").fill("はがきでいただいたお礼")
    composer.locator("#body").fill("手続きのお礼のはがきをいただきました。")
    composer.locator("#channel").select_option("letter")
    composer.locator("#files").set_input_files(str(photo))
    composer.locator("button[name=status][value=published]").click()
    author.get_by_role("link", name="投稿を見る").click()
    expect(author).to_have_url(re.compile(r"/posts/\d+$"))
    post_url = author.url

    _reload_until_checked(author)
    held = author.get_by_test_id("image-checks")
    expect(held).to_contain_text("はがき.jpg")
    assert axe_violations(author) == []

    colleague = browser.new_context(
        locale="ja-JP", viewport={"width": 1280, "height": 800}
    ).new_page()
    login(colleague, live_server, "E1007")
    colleague.goto(post_url)
    expect(colleague.locator(".attachments img")).to_have_count(0)

    author.get_by_test_id("mask-image").click()
    expect(author.get_by_test_id("image-check-notice")).to_have_count(0)
    expect(author.get_by_test_id("image-checks")).to_have_count(0)
    expect(author.locator(".attachments img")).to_be_visible()

    colleague.reload()
    image = colleague.locator(".attachments img")
    expect(image).to_be_visible()
    # New URLs for the masked image: no cached copy of the original can be shown.
    src = image.get_attribute("src")
    assert src is not None and "v=masked" in src
    author.context.close()
    colleague.context.close()
