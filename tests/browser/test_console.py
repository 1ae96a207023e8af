"""No console error on any main page: every page a staff member or an administrator opens
from the navigation (and the pages those lead to), on a phone and a desktop, in Japanese and
English, logs no `console.error` and throws nothing (`pageerror`)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.browser.test_layout import signed_in

pytestmark = pytest.mark.browser

# Every role's pages; {post}, {own_post}, {bulletin} are found on the demo's pages.
EVERYONE = [
    "/",
    "/?q=%E5%BA%97",  # a filter on: the filter form open
    "/posts/{post}",
    "/posts/new",
    "/posts/new?kind=knowhow",
    "/drafts",
    "/bulletins",
    "/bulletins/{bulletin}",
    "/bulletins/{bulletin}/print",
    "/kpi",
    "/notifications",
    "/settings",
    "/settings/password",
    "/settings/tokens",
    "/users/E1001",
    "/units/TKY-001",
    "/api/docs",
]
STAFF_ONLY = ["/posts/{own_post}/edit"]
ADMIN_ONLY = [
    "/moderation",
    "/posts/{post}/redact",
    "/audit",
    "/approvals",
    "/kpi/engagement",
    "/kpi/voices",
    "/bulletins/new",
    "/bulletins/{bulletin}/edit",
    "/bulletins/{bulletin}/stats",
    "/admin",
    "/admin/users",
    "/admin/users/E1001",
    "/admin/units",
    "/admin/units/TKY-001",
    "/admin/import",
]
WHO = {"staff": "E1001", "admin": "admin"}  # E1001 wrote demo posts


def _first_id(page: Page, base: str, path: str, link: str) -> str:
    page.goto(base + path)
    href = page.locator(link).first.get_attribute("href") or ""
    found = re.search(r"/(\d+)", href)
    assert found, f"no {link} on {path}"
    return found.group(1)


def _settled(page: Page) -> None:
    """The page has loaded, and what it starts at once has had time to run (htmx processing
    the page, the SSE stream, the KPI chart, the API browser)."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)


def _walk(page: Page, base: str, role: str, errors: list[str]) -> dict[str, list[str]]:
    """Open each of the role's pages; the errors each logged, by page."""
    ids = {
        "post": _first_id(page, base, "/", ".post-card .post-title a"),
        "bulletin": _first_id(page, base, "/bulletins", "#published .post-title a"),
        "own_post": _first_id(page, base, f"/users/{WHO['staff']}", ".post-card .post-title a"),
    }
    seen: dict[str, list[str]] = {}
    for path in EVERYONE + (ADMIN_ONLY if role == "admin" else STAFF_ONLY):
        response = page.goto(base + path.format(**ids))
        assert response is not None and response.status == 200, (path, response)
        _settled(page)
        if errors:
            seen[path] = list(errors)
            errors.clear()
    # The composer opened in place on the feed (an HTMX swap), its colleague search used.
    page.goto(base + "/")
    page.get_by_test_id("open-praise").click()
    expect(page.locator("#title")).to_be_focused()  # swapped in by htmx
    page.locator("#praised-search").fill("佐藤")
    page.locator("#praised-suggestions [data-code]").first.wait_for()
    _settled(page)
    if errors:
        seen["/ (composer)"] = list(errors)
    return seen


# Pairwise, not all eight: each role walks both sizes and both languages, and each size
# both languages (the walk is the suite's slowest browser test; errors so far depended on
# the page and the role, never on the language).
PAIRS = [
    ("staff", "phone", "ja"),
    ("staff", "desktop", "en"),
    ("admin", "phone", "en"),
    ("admin", "desktop", "ja"),
]


@pytest.mark.parametrize(("role", "size", "lang"), PAIRS)
def test_no_console_error_on_any_main_page(live_server, browser, role, size, lang):
    with signed_in(browser, live_server, WHO[role], lang, size) as (page, errors):
        page.set_default_timeout(10_000)
        try:
            assert _walk(page, live_server, role, errors) == {}
        finally:  # a page with the language switch, for signed_in to put Japanese back
            _back_to_the_feed(page, live_server)


def _back_to_the_feed(page: Page, base: str) -> None:
    """Go to the feed, once more if another navigation interrupted the first try. (Once in
    this session's CI, on PostgreSQL under load, the feed with the composer open navigated to
    the walked own post's edit page as the test left it; not reproduced, not explained.)"""
    try:
        page.goto(base + "/")
    except PlaywrightError as exc:
        if "interrupted by another navigation" not in str(exc):
            raise
        page.goto(base + "/")
