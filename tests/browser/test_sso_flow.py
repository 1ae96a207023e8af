"""Single sign-on in a real Chromium: through the OpenID provider's pages onto the feed.

The app runs with password login switched off and SSO pointed at a real provider
(oidc-provider on Node.js, tests/oidc); the demo company's E1001 is 山田 太郎.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import axe_violations, run_live_server
from tests.livetools import free_port
from tests.oidc_provider import run_provider

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    with (
        run_provider([f"http://127.0.0.1:{port}/login/sso/callback"]) as provider,
        run_live_server(
            "sso_browser",
            tmp_path_factory.mktemp("sso-live"),
            {**provider.env(), "PASSWORD_LOGIN": "false"},
            port=port,
        ) as base,
    ):
        yield base


def _local_only(route: Route) -> None:
    # The provider's development pages import a web font; this machine has no internet.
    if route.request.url.startswith("http://127.0.0.1:"):
        route.continue_()
    else:
        route.abort()


def test_sign_in_through_the_provider_lands_on_the_feed(sso_server, page):
    page.route("**/*", _local_only)
    page.goto(sso_server + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=|/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    # Password login is off: the company account is the only way in.
    expect(page.locator("input[type=password]")).to_have_count(0)
    expect(page.locator("form[action='/login']")).to_have_count(0)
    button = page.locator("a#sso-login")
    expect(button).to_be_visible()
    assert axe_violations(page) == []

    button.click()
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
    page.locator("input[name=login]").fill("E1001")
    page.locator("input[name=password]").fill("any-password-the-provider-accepts")
    page.locator("button[type=submit]").click()

    expect(page).to_have_url(sso_server + "/")
    expect(page.get_by_test_id("user-name")).to_have_text("山田 太郎")
    expect(page.locator(".post-card").first).to_be_visible()


def test_a_right_password_is_refused_when_password_login_is_off(sso_server, page):
    page.goto(sso_server + "/login")
    expect(page.locator("a#sso-login")).to_have_count(1)
    expect(page.locator("input[type=password]")).to_have_count(0)
    csrf = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
    response = page.request.post(
        sso_server + "/login",
        form={"code": "E1001", "password": "arigato-demo", "csrf_token": csrf},
        max_redirects=0,
    )
    assert response.status == 403
    assert 'type="password"' not in response.text()
    page.goto(sso_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
