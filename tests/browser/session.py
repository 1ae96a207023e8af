"""Signing in from a browser test: one helper for every flow.

The browser tests share one live server (and its demo accounts), and a test may switch an
account's language: `login` therefore always leaves the account in the language the test
asks for (Japanese unless told), whatever an earlier test left saved on it.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

DEMO_PASSWORD = "arigato-demo"


def login(
    page: Page, base: str, code: str, *, password: str = DEMO_PASSWORD, lang: str = "ja"
) -> None:
    """Sign in as `code` through the login form, land on the feed, read it in `lang`."""
    page.goto(base + "/login")
    page.locator("input[name=code]").fill(code)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    expect(page).to_have_url(base + "/")
    # The URL changes when the feed's navigation commits, before htmx has read the page: a
    # key pressed then follows a link's plain href (seen under load on CI).
    page.wait_for_load_state("load")
    set_language(page, lang)


def set_language(page: Page, lang: str) -> None:
    """Save `lang` on the signed-in account (through the page's own switch) if it differs."""
    if page.evaluate("document.documentElement.lang") != lang:
        # The switch sits in the menu on a phone: a script click reaches it either way.
        page.evaluate(f"document.querySelector('.locale-switch button[value={lang}]').click()")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        page.wait_for_load_state("load")
