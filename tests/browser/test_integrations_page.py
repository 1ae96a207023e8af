"""The integrations admin page in a real browser, on a phone and a desktop, in Japanese and
English: the kind switch shows only that kind's settings, a refused URL is an error by its
field, an added integration is listed (its secret shown only as set); no page-wide scroll on
a phone. Screenshots go to $SCREENSHOT_DIR when set (to look at them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import axe_violations
from tests.browser.session import login, set_language

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_add_an_integration_on_a_phone_and_a_desktop(live_server, browser, size, locale):
    width, height = SIZES[size]
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        login(page, live_server, "admin")
        page.goto(live_server + "/admin/integrations")
        set_language(page, locale[:2])
        assert page.locator("[data-testid=no-integrations]").count() in (0, 1)
        page.select_option("#integration-kind", "slack")
        assert page.locator("#f-slack-channel").is_visible()
        assert not page.locator("#f-webhook-url").is_visible()
        page.select_option("#integration-kind", "webhook")
        name = f"Portal {size} {locale}"
        page.fill("#integration-name", name)
        page.fill("#f-webhook-url", "http://169.254.169.254/latest/")
        page.fill("#f-webhook-secret", "a-very-secret-signing-key")
        page.click(".integration-form button[type=submit]")
        assert page.locator("#f-webhook-url-error").is_visible()
        assert page.locator("#integration-name").input_value() == name
        _shot(page, f"integrations-error-{size}-{locale}")
        page.fill("#f-webhook-url", "https://hooks.example.com/arigato")
        page.fill("#f-webhook-secret", "a-very-secret-signing-key")
        page.click(".integration-form button[type=submit]")
        page.wait_for_url("**/admin/integrations?done=created")
        assert page.locator("#integrations li", has_text=name).count() == 1
        assert "a-very-secret-signing-key" not in page.content()
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"the page scrolls sideways on a {size}"
        _shot(page, f"integrations-{size}-{locale}")
        assert axe_violations(page) == []
    finally:
        set_language(page, "ja")  # the demo admin's language, for the tests after this one
        context.close()
