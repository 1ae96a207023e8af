"""/admin/scim in a real browser: issuing a SCIM token on a phone and a desktop, in Japanese
and English — the token shown once, nothing wider than the screen, no axe violations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.test_layout import CASES, signed_in

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ARIGATO_SCREENSHOTS")
# The page's width, and the element sticking out furthest (for the failure message).
WIDEST = """() => {
  let worst = null, right = 0;
  for (const el of document.querySelectorAll('main *')) {
    const r = el.getBoundingClientRect().right;
    if (r > right) { right = r; worst = el.outerHTML.slice(0, 120); }
  }
  return [document.documentElement.scrollWidth, worst];
}"""


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_issue_a_scim_token(browser, live_server: str, lang: str, size: str) -> None:  # type: ignore[no-untyped-def]
    with signed_in(browser, live_server, "admin", lang, size) as (page, errors):
        page.goto(live_server + "/admin/scim")
        expect(page.locator("[data-testid=scim-url]")).to_have_value(live_server + "/scim/v2")
        page.locator("#issue-scim-token-form button[type=submit]").click()
        token = page.locator("[data-testid=new-token]")
        expect(token).to_be_visible()
        assert token.input_value().startswith("arigato_")
        assert "arigato_" not in page.url
        expect(page.locator("#scim-tokens li").first).to_be_visible()
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"scim-{lang}-{size}.png"), full_page=True)
        wide = page.evaluate(WIDEST)
        assert wide[0] <= page.viewport_size["width"], wide
        assert errors == []
        assert axe_violations(page) == []
