"""A person logs in, switches the language, and logs out, in a real Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_login_switch_language_logout(live_server, page):
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("ありがとうボードにログイン")

    page.get_by_label("社員番号").fill("E1001")
    page.get_by_label("パスワード").fill("wrong-password")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_contain_text("正しくありません")
    expect(page.get_by_label("社員番号")).to_have_value("E1001")

    page.get_by_label("パスワード").fill("arigato-demo")
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_test_id("user-name")).to_have_text("山田 太郎")
    expect(page.locator(".post-card").first).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Feed")

    page.get_by_test_id("user-name").click()  # the account menu holds Log out
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_pages_pass_accessibility_smoke_check(live_server, page):
    page.goto(live_server + "/login")
    assert axe_violations(page) == []
    page.get_by_label("社員番号").fill("curator")
    page.get_by_label("パスワード").fill("arigato-demo")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_test_id("user-name")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(live_server + "/moderation")
    assert axe_violations(page) == []


def test_no_csp_violations_and_htmx_loads(live_server, page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/login")
    assert page.evaluate("typeof htmx") == "object"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_narrow_screen_has_no_horizontal_scroll(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="ja-JP")
    pg = context.new_page()
    pg.goto(live_server + "/login")
    width = pg.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert width <= 375
