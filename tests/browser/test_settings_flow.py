"""A person's own settings in a real Chromium: language, a token shown once and revoked,
and a new password to log in with."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

CODE = "E1014"  # a demo user no other browser test logs in as (their password changes here)
NEW_PASSWORD = "my-own-new-passphrase"


def test_language_token_and_password(live_server, page):
    page.goto(live_server + "/login")
    page.get_by_label("社員番号").fill(CODE)
    page.get_by_label("パスワード").fill("arigato-demo")
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(live_server + "/")

    page.get_by_test_id("user-name").click()  # the account menu holds Settings
    page.locator("header a[href='/settings']").click()
    expect(page).to_have_url(live_server + "/settings")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert axe_violations(page) == []

    # Language: the page comes back in English, and says so.
    page.locator("#language-settings input[value=en]").check()
    page.locator("#language-settings button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#language-settings [role=status]")).to_have_text("Saved.")
    expect(page.get_by_label("English")).to_be_checked()

    # A token: shown once, in place, with a copy button; it works as a Bearer token.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Token name").fill("朝礼スクリプト")
    page.get_by_label("Read only").check()
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_test_id("new-token")
    expect(shown).to_be_visible()
    token = shown.input_value()
    assert token.startswith("arigato_")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    copy = page.get_by_role("button", name="Copy to clipboard")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    row = page.locator(".token-row", has_text="朝礼スクリプト")
    expect(row.locator(".token-status")).to_have_text("Active")
    assert axe_violations(page) == []
    me = httpx.get(live_server + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["code"] == CODE

    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    assert token not in page.content()

    # Revoke, after a confirmation, without leaving the page.
    page.evaluate("window.__sameDocument = true")
    row = page.locator(".token-row", has_text="朝礼スクリプト")
    row.get_by_role("link", name=re.compile("Revoke")).click()
    confirm = page.locator("#revoke-confirm")
    expect(confirm).to_be_visible()
    assert axe_violations(page) == []
    confirm.get_by_role("button", name="Revoke token").click()
    expect(page.locator("#api-tokens [role=status]")).to_have_text("The token was revoked.")
    row = page.locator(".token-row", has_text="朝礼スクリプト")
    expect(row.locator(".token-status")).to_have_text("Revoked")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    me = httpx.get(live_server + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401

    # Password: a mistake is explained in place, then the change, then a login with it.
    page.get_by_label("Current password").fill("arigato-demo")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#confirm_password-error")).to_have_text(
        "The two new passwords do not match."
    )
    expect(page.get_by_label("Current password")).to_have_value("")
    page.get_by_label("Current password").fill("arigato-demo")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-settings [role=status]")).to_have_text(
        "Password changed; other sessions signed out."
    )

    page.get_by_test_id("user-name").click()  # the account menu holds Log out
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Employee number").fill(CODE)
    page.get_by_label("Password").fill("arigato-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
