"""Post praise with a photo, like it, comment on it: counts change without a page reload."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser


def test_post_praise_with_photo_like_and_comment(live_server, page, tmp_path):
    photo = tmp_path / "thanks.jpg"
    Image.new("RGB", (320, 240), (240, 180, 60)).save(photo, "JPEG")
    login(page, live_server, "E1002")
    page.evaluate("window.__sameDocument = true")

    page.get_by_test_id("open-praise").click()
    composer = page.locator("form#composer")
    composer.locator("#title").fill("ブラウザからのありがとう")
    composer.locator("#body").fill("ご来店のお客さまから**丁寧**な説明に感謝されました。")
    composer.locator("#channel").select_option("counter")
    composer.locator("#tags").fill("店頭 ブラウザ")
    composer.locator("#files").set_input_files(str(photo))
    composer.locator("button[name=status][value=published]").click()

    card = page.locator(".post-card", has_text="ブラウザからのありがとう").first
    expect(card).to_be_visible()
    expect(card.locator(".attachments img")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    like = card.locator("form.like-form button")
    expect(card.get_by_test_id("like-count")).to_have_text("0")
    like.click()
    expect(card.get_by_test_id("like-count")).to_have_text("1")
    expect(card.locator("form.like-form button")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded on like"

    card.locator(".post-title a").click()
    expect(page).to_have_url(re.compile(r"/posts/\d+$"))
    page.evaluate("window.__sameDocument = true")
    expect(page.get_by_test_id("comment-total")).to_have_text("0")
    page.locator("#comment-body").fill("素敵な写真ですね")
    page.locator("#comment-form button[type=submit]").click()
    expect(page.locator("#comment-list .comment")).to_have_count(1)
    expect(page.get_by_test_id("comment-total")).to_have_text("1")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded on comment"
    assert axe_violations(page) == []


def test_personal_data_warning_and_mask(live_server, page):
    login(page, live_server, "E1003")
    page.get_by_test_id("open-praise").click()
    composer = page.locator("form#composer")
    composer.locator("#title").fill("お電話のお礼")
    composer.locator("#body").fill("田中一郎様 (090-1111-2222) からお礼のお電話")
    composer.locator("button[name=status][value=published]").click()
    warning = page.locator("#pii-warning")
    expect(warning).to_be_visible()
    expect(warning.locator("mark").first).to_be_visible()
    expect(page.locator("#body")).to_have_value("田中一郎様 (090-1111-2222) からお礼のお電話")
    page.locator("button[name=pii_action][value=mask]").click()
    card = page.locator(".post-card", has_text="お電話のお礼").first
    expect(card).to_be_visible()
    expect(card.locator(".post-body")).not_to_contain_text("090-1111-2222")
    expect(card.locator(".post-body")).to_contain_text("●●●")
