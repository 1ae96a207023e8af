"""An administrator, in a real browser and mostly by keyboard, adds a shop, adds a user in it
with a one-time password (shown once), sets another one, and the new user is sent to the
password change. Every /admin page passes axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def _login(page: Page, base: str, code: str, password: str) -> None:
    page.goto(base + "/login")
    page.locator("input[name=code]").fill(code)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")


def _switch_language(page: Page, name: str) -> None:
    page.locator(".locale-switch").get_by_role("button", name=name).click()


def test_admin_adds_a_shop_and_a_user_with_a_one_time_password(live_server, page, browser):
    _login(page, live_server, "admin", "arigato-demo")
    expect(page).to_have_url(live_server + "/")
    # The admin's language is saved on their account: English here, Japanese again at the end,
    # so that the other browser tests find the demo as it was.
    _switch_language(page, "English")
    try:
        _admin_flow(live_server, page, browser)
    finally:
        page.goto(live_server + "/admin")
        _switch_language(page, "日本語")


def _admin_flow(base: str, page: Page, browser) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/admin")
    expect(page.get_by_role("heading", name="Administration", exact=True)).to_be_visible()
    assert axe_violations(page) == []

    # -- a new shop, by keyboard: open the form, fill it, Enter submits (HTMX swaps the panel)
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Units").click()
    expect(page).to_have_url(base + "/admin/units")
    assert axe_violations(page) == []
    summary = page.locator("summary", has_text="Add a unit")
    summary.focus()
    page.keyboard.press("Enter")
    form = page.locator("#add-unit-form")
    form.get_by_label("Code").fill("TKY-077")
    form.get_by_label("Unit name").fill("新宿三丁目店")
    form.get_by_label("Kind").select_option("shop")
    form.get_by_label("Belongs to").select_option("B-TKY")
    form.get_by_label("Unit name").press("Enter")
    expect(page.locator("#units-panel .flash")).to_have_text("The unit was added.")
    row = page.locator("tr#unit-TKY-077")
    expect(row).to_contain_text("新宿三丁目店")
    expect(row).to_have_class(re.compile(r"just-added"))
    expect(page).to_have_url(base + "/admin/units")  # swapped in place

    # The same code again: the error is next to the field and what was typed stays.
    page.locator("summary", has_text="Add a unit").click()
    form = page.locator("#add-unit-form")
    form.get_by_label("Code").fill("TKY-077")
    form.get_by_label("Unit name").fill("重複")
    form.get_by_label("Kind").select_option("shop")
    form.get_by_label("Belongs to").select_option("B-TKY")
    form.get_by_role("button", name="Add unit").click()
    expect(page.locator("#unit-code-error")).to_have_text("A unit with this code already exists.")
    expect(page.locator("#unit-name")).to_have_value("重複")
    assert axe_violations(page) == []

    # The unit's own page.
    row.get_by_role("link", name="新宿三丁目店").click()
    expect(page).to_have_url(base + "/admin/units/TKY-077")
    assert axe_violations(page) == []

    # -- a user in the new shop, with a one-time password
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Users").click()
    expect(page).to_have_url(base + "/admin/users")
    assert axe_violations(page) == []
    page.locator("summary", has_text="Add a user").click()
    form = page.locator("#add-user-form")
    form.get_by_label("Employee number").fill("E7701")
    form.get_by_label("Name").fill("新人 七子")
    form.get_by_label("Unit").select_option("TKY-077")
    form.get_by_label("Role").select_option("staff")
    form.get_by_label("Set a one-time password").check()
    form.get_by_role("button", name="Add user").click()
    shown = page.get_by_test_id("one-time-password")
    expect(shown).to_be_visible()
    first_password = shown.inner_text()
    assert len(first_password) >= 10
    expect(page.locator("#admin-user .flash")).to_have_text("The user was added.")
    assert axe_violations(page) == []
    # Shown once: the user's page, loaded again, does not show it.
    page.goto(base + "/admin/users/E7701")
    expect(page.get_by_test_id("one-time-password")).to_have_count(0)
    assert first_password not in page.content()
    assert axe_violations(page) == []

    # Set another one from the user's page (confirmed, swapped in place by HTMX).
    dialogs: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Set a one-time password").click()
    shown = page.locator("#admin-user").get_by_test_id("one-time-password")
    expect(shown).to_be_visible()
    assert len(dialogs) == 1  # asked once, not once by the page and again by htmx
    password = shown.inner_text()
    assert password != first_password
    expect(page).to_have_url(base + "/admin/users/E7701")

    # The search finds the new user in the new shop.
    page.goto(base + "/admin/users?q=E7701")
    expect(page.locator("tr.user-row")).to_have_count(1)
    expect(page.locator("tr.user-row")).to_contain_text("新宿三丁目店")

    # -- the new user logs in with it and is sent to choose a new password
    context = browser.new_context(locale="ja-JP")
    try:
        newcomer = context.new_page()
        _login(newcomer, base, "E7701", first_password)
        expect(newcomer.locator(".form-error")).to_be_visible()  # the first one was replaced
        _login(newcomer, base, "E7701", password)
        expect(newcomer).to_have_url(base + "/settings/password")
        newcomer.goto(base + "/kpi")
        expect(newcomer).to_have_url(base + "/settings/password")
    finally:
        context.close()
