"""Single sign-on end to end against a real OpenID provider (oidc-provider on Node.js).

The test client plays the browser: it talks to the app in-process (ASGI) and to the
provider over real HTTP, following the redirects between them; the provider's sign-in page
is an HTML form that it fills in. Only the browser's redirect carries the provider's answer
back to the app, as in production.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import select

from app.cli.main import cli
from app.config import Settings, get_settings
from app.models import AuditEntry, User, UserSession
from app.services.people import sso as sso_service
from app.services.people.sso import FLOW_COOKIE, Flow, dump_flow, load_flow
from app.web import DEVICE_COOKIE
from tests.factories import PASSWORD, bearer_for, make_unit, make_user
from tests.factories import soup as soup_of
from tests.oidc_provider import Provider, free_port, run_provider

APP = "http://testserver"
CALLBACK = APP + "/login/sso/callback"
SECRET = "test-secret-key-" + "x" * 32
ACCOUNTS = {
    "nocode-1": {"employee_code": None},
    "newbie-1": {"employee_code": "N7001", "name": "新入 花子"},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """Profile claims come from userinfo only (oidc-provider's default)."""
    with run_provider([CALLBACK], accounts=ACCOUNTS) as p:
        yield p


@pytest.fixture(scope="module")
def provider_id_token_claims() -> Iterator[Provider]:
    """The employee code and name are in the ID token itself."""
    with run_provider([CALLBACK], id_token_claims=True, accounts=ACCOUNTS) as p:
        yield p


@pytest.fixture
def use_settings(monkeypatch):  # type: ignore[no-untyped-def]
    """Point the app at a provider (or change any setting) for one test."""

    def apply(**env: str) -> Settings:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        sso_service.forget_provider_cache()
        return get_settings()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    sso_service.forget_provider_cache()


@pytest.fixture
async def make_browser(app):  # type: ignore[no-untyped-def]
    """Browsers: the app in-process, everything else (the provider) over real HTTP."""
    opened: list[httpx.AsyncClient] = []

    def factory(address: str = "10.0.0.7") -> httpx.AsyncClient:
        mounts = {
            APP: httpx.ASGITransport(app=app, client=(address, 40000)),
            "all://": httpx.AsyncHTTPTransport(),
        }
        c = httpx.AsyncClient(mounts=mounts, base_url=APP, follow_redirects=True)
        opened.append(c)
        return c

    yield factory
    for c in opened:
        await c.aclose()


@pytest.fixture
def browser(make_browser) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return make_browser()


async def provider_login_form(browser: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    """Start at the app's SSO link and arrive at the provider's sign-in form."""
    r = await browser.get("/login/sso", params={"next": next_path})
    assert r.status_code == 200 and r.url.path.startswith("/interaction/"), r.text
    return r


async def submit_login(
    browser: httpx.AsyncClient, form_page: httpx.Response, login: str, **kw: object
) -> httpx.Response:
    form = soup_of(form_page).select_one("form")
    assert form is not None
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
    data.update(login=login, password="whatever-the-provider-accepts")
    return await browser.post(str(form_page.url.join(form["action"])), data=data, **kw)  # type: ignore[arg-type]


async def sign_in(browser: httpx.AsyncClient, login: str, next_path: str = "/") -> httpx.Response:
    return await submit_login(browser, await provider_login_form(browser, next_path), login)


async def callback_url(browser: httpx.AsyncClient, login: str) -> str:
    """Go through the provider but stop at the redirect back to the app (not followed)."""
    r = await submit_login(
        browser, await provider_login_form(browser), login, follow_redirects=False
    )
    while r.is_redirect:
        location = str(r.url.join(r.headers["location"]))
        if location.startswith(CALLBACK):
            return location
        r = await browser.get(location, follow_redirects=False)
    raise AssertionError(f"the provider did not send the browser back: {r.status_code}")


async def me(browser: httpx.AsyncClient) -> str | None:
    r = await browser.get("/api/v1/me")
    return r.json()["code"] if r.status_code == 200 else None


async def session_count(db, user: User) -> int:  # type: ignore[no-untyped-def]
    return len((await db.exec(select(UserSession).where(UserSession.user_id == user.id))).all())


# --- signing in ------------------------------------------------------------------------------


async def on_shop_device(db, browser: httpx.AsyncClient, shop) -> None:
    """`browser` becomes `shop`'s registered terminal (docs/terminal.md)."""
    admin = await make_user(db, role="admin")
    r = await browser.post(
        "/api/v1/admin/devices",
        json={"name": "店頭PC", "unit": shop.code},
        headers=await bearer_for(db, admin),
    )
    browser.cookies.set(DEVICE_COOKIE, r.json()["credential"], domain="testserver.local")


async def test_on_a_shop_terminal_sso_gives_a_terminal_session(provider, use_settings, browser, db):
    use_settings(**provider.env())
    shop = await make_unit(db)
    user = await make_user(db, shop)
    await on_shop_device(db, browser, shop)
    terminal_page = soup_of(await browser.get("/login"))
    assert terminal_page.select_one("details.password-signin a[href^='/login/sso']")
    r = await sign_in(browser, user.code)
    assert r.status_code == 200 and await me(browser) == user.code
    sess = (await db.exec(select(UserSession).where(UserSession.user_id == user.id))).one()
    assert sess.device_id is not None


async def test_on_a_shop_terminal_sso_refuses_another_shops_staff(
    provider, use_settings, browser, db
):
    use_settings(**provider.env())
    shop, other = await make_unit(db, name="渋谷店"), await make_unit(db)
    outsider = await make_user(db, other)
    await on_shop_device(db, browser, shop)
    r = await sign_in(browser, outsider.code)
    assert r.status_code == 403 and "渋谷店" in r.text
    assert await session_count(db, outsider) == 0


@pytest.mark.parametrize("claims_in", ["userinfo", "id_token"])
async def test_known_employee_signs_in_and_lands_on_the_feed(
    request, use_settings, browser, db, claims_in
):
    p = request.getfixturevalue(
        "provider" if claims_in == "userinfo" else "provider_id_token_claims"
    )
    use_settings(**p.env())
    user = await make_user(db, name="山田 太郎")
    r = await sign_in(browser, user.code)
    assert r.status_code == 200 and r.url == httpx.URL(APP + "/")
    assert "山田 太郎" in soup_of(r).get_text()
    assert await me(browser) == user.code
    await db.refresh(user)
    assert user.sso_subject == f"sub-{user.code}"
    link = (await db.exec(select(AuditEntry).where(AuditEntry.target_id == user.id))).all()
    assert [e.action for e in link] == ["user.sso_link"]
    assert FLOW_COOKIE not in browser.cookies


async def test_second_sign_in_uses_the_recorded_subject_and_next(
    provider, use_settings, browser, make_browser, db
):
    use_settings(**provider.env())
    user = await make_user(db)
    assert (await sign_in(browser, user.code)).url.path == "/"
    other = make_browser("10.0.0.8")
    r = await sign_in(other, user.code, next_path="/notifications")
    assert r.status_code == 200 and r.url.path == "/notifications"
    assert await me(other) == user.code
    assert await session_count(db, user) == 2
    link = (await db.exec(select(AuditEntry).where(AuditEntry.target_id == user.id))).all()
    assert len(link) == 1  # linked once, not on every sign-in


async def test_signing_in_through_sso_voids_a_one_time_password(
    provider, use_settings, browser, db
):
    """An admin-given one-time password was only a way in: after an SSO sign-in it no
    longer works, and the user is not held at the password change."""
    use_settings(**provider.env())
    user = await make_user(db, must_change_password=True)
    r = await sign_in(browser, user.code)
    assert r.status_code == 200 and r.url.path == "/"
    await db.refresh(user)
    assert (user.password_hash, user.must_change_password) == (None, False)
    actions = (await db.exec(select(AuditEntry).where(AuditEntry.target_id == user.id))).all()
    assert "user.one_time_password_void" in [e.action for e in actions]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
async def test_next_never_leaves_the_site(provider, use_settings, browser, db, target):
    use_settings(**provider.env())
    user = await make_user(db)
    r = await sign_in(browser, user.code, next_path=target)
    assert r.url == httpx.URL(APP + "/")


async def test_unknown_employee_is_refused_and_nothing_is_created(
    provider, use_settings, browser, db
):
    use_settings(**provider.env())
    r = await sign_in(browser, "E99999")
    assert r.status_code == 403 and r.url.path == "/login/sso/callback"
    text = soup_of(r).select_one("#sso-error").get_text()
    assert "E99999" in text
    assert (await db.exec(select(User).where(User.code == "E99999"))).first() is None
    assert await me(browser) is None


async def test_unknown_employee_is_created_when_the_setting_is_on(
    provider, use_settings, browser, db
):
    unit = await make_unit(db, code="HQ-NEW", name="新規登録")
    use_settings(**provider.env(OIDC_CREATE_USERS="true", OIDC_DEFAULT_UNIT=unit.code))
    r = await sign_in(browser, "newbie-1")
    assert r.status_code == 200 and r.url.path == "/"
    user = (await db.exec(select(User).where(User.code == "N7001"))).one()
    assert (user.name, user.unit_id, user.role, user.active) == (
        "新入 花子",
        unit.id,
        "staff",
        True,
    )
    assert user.sso_subject == "sub-newbie-1" and user.password_hash is None
    assert await me(browser) == "N7001"
    actions = (await db.exec(select(AuditEntry).where(AuditEntry.target_id == user.id))).all()
    assert [a.action for a in actions] == ["user.sso_create"]


async def test_creation_with_a_missing_default_unit_is_refused(provider, use_settings, browser, db):
    use_settings(**provider.env(OIDC_CREATE_USERS="true", OIDC_DEFAULT_UNIT="NO-SUCH-UNIT"))
    r = await sign_in(browser, "newbie-1")
    assert r.status_code == 403
    assert (await db.exec(select(User).where(User.code == "N7001"))).first() is None


async def test_deactivated_employee_is_refused(provider, use_settings, browser, db):
    use_settings(**provider.env())
    user = await make_user(db, active=False)
    r = await sign_in(browser, user.code)
    assert r.status_code == 403
    assert await me(browser) is None and await session_count(db, user) == 0
    await db.refresh(user)
    assert user.sso_subject is None


async def test_a_different_recorded_subject_is_refused(provider, use_settings, browser, db):
    use_settings(**provider.env())
    user = await make_user(db, sso_subject="sub-of-the-real-owner")
    r = await sign_in(browser, user.code)
    assert r.status_code == 403
    assert await me(browser) is None and await session_count(db, user) == 0
    await db.refresh(user)
    assert user.sso_subject == "sub-of-the-real-owner"


async def test_a_subject_already_linked_to_someone_else_is_refused(
    provider, use_settings, browser, db
):
    use_settings(**provider.env())
    newcomer = await make_user(db)
    await make_user(db, sso_subject=f"sub-{newcomer.code}")
    r = await sign_in(browser, newcomer.code)
    assert r.status_code == 403
    await db.refresh(newcomer)
    assert newcomer.sso_subject is None and await me(browser) is None


async def test_an_account_without_employee_number_is_refused(provider, use_settings, browser):
    use_settings(**provider.env(OIDC_CREATE_USERS="true", OIDC_DEFAULT_UNIT="X"))
    r = await sign_in(browser, "nocode-1")
    assert r.status_code == 403 and await me(browser) is None


async def test_logins_and_refusals_are_logged_without_secrets(
    provider, use_settings, browser, db, capfd
):
    use_settings(**provider.env())
    user = await make_user(db, sso_subject="sub-of-the-real-owner")
    url = await callback_url(browser, user.code)
    query = dict(parse_qsl(urlsplit(url).query))
    assert (await browser.get(url)).status_code == 403
    out = capfd.readouterr().out
    refused = [json.loads(line) for line in out.splitlines() if '"sso_refused"' in line]
    assert refused and refused[0]["reason"] == "subject mismatch"
    assert refused[0]["code"] == user.code
    assert query["code"] not in out and query["state"] not in out


# --- a broken or hostile flow -------------------------------------------------------------------


def set_flow_cookie(browser: httpx.AsyncClient, value: str | None) -> None:
    """Put back (or change, or drop) the flow cookie as the browser keeps it."""
    browser.cookies.delete(FLOW_COOKIE)
    if value is not None:
        browser.cookies.set(FLOW_COOKIE, value, domain="testserver.local", path="/")


def failure_reasons(capfd) -> list[str]:  # type: ignore[no-untyped-def]
    out = capfd.readouterr().out
    return [json.loads(line)["reason"] for line in out.splitlines() if '"sso_failed"' in line]


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {**dict(parse_qsl(parts.query)), **changes}
    return urlunsplit(
        parts._replace(query=urlencode({k: v for k, v in query.items() if v is not None}))
    )


async def test_tampered_state_is_refused(provider, use_settings, browser, db, capfd):
    use_settings(**provider.env())
    user = await make_user(db)
    url = await callback_url(browser, user.code)
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    r = await browser.get(with_query(url, state=state[:-1] + ("A" if state[-1] != "A" else "B")))
    assert r.status_code == 400
    assert soup_of(r).select_one("#sso-error a[role=button]")["href"].startswith("/login/sso")
    assert failure_reasons(capfd) == ["state does not match"]
    assert await me(browser) is None and await session_count(db, user) == 0


async def test_an_answer_naming_another_issuer_or_none_is_refused(
    provider, use_settings, browser, db, capfd
):
    use_settings(**provider.env())
    user = await make_user(db)
    url = await callback_url(browser, user.code)
    assert dict(parse_qsl(urlsplit(url).query))["iss"] == provider.issuer  # RFC 9207
    flow = browser.cookies[FLOW_COOKIE]
    for iss in ("https://evil.example", None):
        assert (await browser.get(with_query(url, iss=iss))).status_code == 400
        set_flow_cookie(browser, flow)
    assert failure_reasons(capfd) == ["the answer names another issuer or none"] * 2
    assert await me(browser) is None and await session_count(db, user) == 0


async def test_tampered_or_missing_flow_cookie_is_refused(
    provider, use_settings, browser, db, capfd
):
    use_settings(**provider.env())
    user = await make_user(db)
    url = await callback_url(browser, user.code)
    flow = browser.cookies[FLOW_COOKIE]
    set_flow_cookie(browser, flow[:-1] + ("0" if flow[-1] != "0" else "1"))
    assert (await browser.get(url)).status_code == 400
    set_flow_cookie(browser, None)
    assert (await browser.get(url)).status_code == 400
    assert failure_reasons(capfd) == ["flow cookie missing, tampered with or expired"] * 2
    assert await me(browser) is None and await session_count(db, user) == 0


async def test_a_code_used_twice_fails_the_token_exchange(
    provider, use_settings, browser, db, capfd
):
    use_settings(**provider.env())
    user = await make_user(db)
    url = await callback_url(browser, user.code)
    flow = browser.cookies[FLOW_COOKIE]
    assert (await browser.get(url)).url.path == "/"
    browser.cookies.delete("arigato_session")
    set_flow_cookie(browser, flow)
    r = await browser.get(url)  # the provider refuses a replayed authorization code
    assert r.status_code == 400 and await me(browser) is None
    assert failure_reasons(capfd) == ["token endpoint refused the code: invalid_grant"]
    assert await session_count(db, user) == 1


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"nonce": "a-nonce-the-provider-never-saw"}, 502, "ID token rejected: invalid_claim"),
        ({"verifier": "v" * 64}, 400, "token endpoint refused the code: invalid_grant"),
    ],
)
async def test_the_nonce_and_the_pkce_verifier_are_checked(
    provider, use_settings, browser, db, capfd, change, status, reason
):
    use_settings(**provider.env())
    user = await make_user(db)
    url = await callback_url(browser, user.code)
    flow = load_flow(SECRET, browser.cookies[FLOW_COOKIE])
    assert flow is not None
    set_flow_cookie(browser, dump_flow(SECRET, dataclasses.replace(flow, **change)))
    r = await browser.get(url)
    assert r.status_code == status and await me(browser) is None
    assert failure_reasons(capfd) == [reason]
    assert await session_count(db, user) == 0


async def test_cancelling_at_the_provider_offers_to_try_again(provider, use_settings, browser):
    use_settings(**provider.env())
    page = await provider_login_form(browser)
    cancel = soup_of(page).find("a", string=lambda s: s and "Cancel" in s)
    r = await browser.get(str(page.url.join(cancel["href"])), headers={"Accept-Language": "en"})
    assert r.status_code == 400 and r.url.path == "/login/sso/callback"
    box = soup_of(r).select_one("#sso-error")
    assert "cancelled" in box.get_text()
    assert box.select_one("a[role=button]")["href"] == "/login/sso?next=/"


async def test_provider_down_is_a_friendly_502(use_settings, client):
    use_settings(
        OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", OIDC_CLIENT_ID="x", OIDC_CLIENT_SECRET="y"
    )
    r = await client.get("/login/sso")
    assert r.status_code == 502
    assert soup_of(r).select_one("#sso-error a[role=button]") is not None
    assert FLOW_COOKIE not in r.cookies


async def test_sso_routes_are_404_when_not_configured(client):
    assert (await client.get("/login/sso")).status_code == 404
    assert (await client.get("/login/sso/callback?code=x&state=y")).status_code == 404


async def test_redirect_carries_pkce_nonce_and_state(provider, use_settings, client):
    use_settings(**provider.env(BASE_URL="https://arigato.example.co.jp"))
    r = await client.get("/login/sso", params={"next": "/kpi"})
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == provider.issuer
    q = dict(parse_qsl(location.query))
    assert q["response_type"] == "code" and q["client_id"] == provider.client_id
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert q["redirect_uri"] == "https://arigato.example.co.jp/login/sso/callback"
    assert q["scope"] == "openid profile" and q["state"] and q["nonce"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(FLOW_COOKIE + "=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" in cookie  # BASE_URL is https
    flow = load_flow(SECRET, r.cookies[FLOW_COOKIE])
    assert flow is not None and (flow.state, flow.nonce, flow.next) == (
        q["state"],
        q["nonce"],
        "/kpi",
    )
    assert q["code_challenge"] not in r.cookies[FLOW_COOKIE]


# --- the login page -----------------------------------------------------------------------------


async def test_login_page_offers_sso_beside_the_password_form(provider, use_settings, client):
    use_settings(**provider.env())
    r = await client.get("/login?next=/kpi", headers={"Accept-Language": "en"})
    soup = soup_of(r)
    button = soup.select_one("a#sso-login")
    assert button["href"] == "/login/sso?next=/kpi"
    assert button.get_text(strip=True) == "Sign in with the company account"
    assert soup.select_one("input[name=password]") is not None


async def test_password_login_off_leaves_only_sso(provider, use_settings, client, db):
    use_settings(**provider.env(PASSWORD_LOGIN="false"))
    user = await make_user(db)
    page = await client.get("/login")
    soup = soup_of(page)
    assert soup.select_one("a#sso-login") is not None
    assert soup.select_one("input[name=password]") is None
    assert soup.select_one("form[action='/login']") is None
    csrf = json.loads(soup.select_one("body")["hx-headers"])["X-CSRF-Token"]
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": csrf}
    )
    assert r.status_code == 403 and "arigato_session" not in r.cookies
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_password_login_off_leaves_no_password_to_change_in_settings(
    provider, use_settings, browser, db
):
    use_settings(**provider.env(PASSWORD_LOGIN="false"))
    user = await make_user(db)  # has a password from before the switch
    await sign_in(browser, user.code)
    page = soup_of(await browser.get("/settings"))
    assert page.select_one("input[name=new_password]") is None
    csrf = json.loads(page.select_one("body")["hx-headers"])["X-CSRF-Token"]
    r = await browser.post(
        "/settings/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-long-password",
            "confirm_password": "a-new-long-password",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 409
    old_hash = user.password_hash
    await db.refresh(user)
    assert user.password_hash == old_hash


async def test_login_page_without_sso_has_no_sso_button(client):
    soup = soup_of(await client.get("/login"))
    assert soup.select_one("a#sso-login") is None
    assert soup.select_one("input[name=password]") is not None


# --- settings and the flow cookie ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"password_login": False}, "PASSWORD_LOGIN=false needs single sign-on"),
        ({"oidc_issuer": "https://idp.example"}, "must be set together"),
        ({"oidc_client_id": "x"}, "must be set together"),
        (
            {
                "oidc_issuer": "https://idp.example",
                "oidc_client_id": "x",
                "oidc_create_users": True,
            },
            "OIDC_DEFAULT_UNIT",
        ),
        ({"oidc_issuer": "idp.example", "oidc_client_id": "x"}, "https://"),
        (
            {"oidc_issuer": "https://idp.example", "oidc_client_id": "x", "oidc_scopes": "profile"},
            "openid",
        ),
        (
            {
                "ARIGATO_ENV": "production",
                "oidc_issuer": "http://idp.example",
                "oidc_client_id": "x",
            },
            "https://",
        ),
    ],
)
def test_settings_refuse_a_single_sign_on_set_up_that_cannot_work(values, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**{"ARIGATO_ENV": "test", "secret_key": SECRET, **values})


def test_settings_accept_sso_only():
    s = Settings(
        ARIGATO_ENV="production",
        secret_key=SECRET,
        password_login=False,
        oidc_issuer="https://idp.example.co.jp",
        oidc_client_id="arigato",
        oidc_create_users=True,
        oidc_default_unit="HQ",
    )
    assert s.sso_enabled and not s.password_login


flows = st.builds(
    Flow,
    state=st.text(min_size=1, max_size=60),
    nonce=st.text(min_size=1, max_size=60),
    verifier=st.text(min_size=43, max_size=128),
    next=st.text(max_size=200),
    redirect_uri=st.text(max_size=200),
)


@given(flow=flows)
@settings(max_examples=50, deadline=None)
def test_flow_cookie_round_trips_and_refuses_other_keys_and_age(flow):
    now = time.time()
    value = dump_flow(SECRET, flow, now=now)
    assert load_flow(SECRET, value, now=now + 5) == flow
    assert load_flow(SECRET + "other", value, now=now) is None
    assert load_flow(SECRET, value, now=now + sso_service.FLOW_MAX_AGE + 1) is None


@given(value=st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_other_flow_cookie_is_refused_without_error(value):
    assert load_flow(SECRET, value) is None


# --- the command line ---------------------------------------------------------------------------


def test_cli_adds_a_user_without_password_for_sso(tmp_path, tmp_sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tmp_sqlite_url)
    get_settings.cache_clear()
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind,parent\nHQ,本社,company,\n", encoding="utf-8")
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
        assert runner.invoke(cli, ["units", "import", str(units)]).exit_code == 0
        r = runner.invoke(
            cli,
            [
                "users",
                "add",
                "--code",
                "S5001",
                "--name",
                "SSO 利用者",
                "--unit",
                "HQ",
                "--no-password",
            ],
        )
        assert r.exit_code == 0, r.output
        assert "S5001" in r.output and "single sign-on" in r.output
        both = runner.invoke(
            cli,
            [
                "users",
                "add",
                "--code",
                "S5002",
                "--name",
                "x",
                "--unit",
                "HQ",
                "--no-password",
                "--password-stdin",
            ],
            input="some-long-password\n",
        )
        assert both.exit_code == 2 and both.output.startswith("error:")
        monkeypatch.setenv("PASSWORD_LOGIN", "false")
        monkeypatch.setenv("OIDC_ISSUER", "https://idp.example.co.jp")
        monkeypatch.setenv("OIDC_CLIENT_ID", "arigato")
        get_settings.cache_clear()
        sso_only = runner.invoke(
            cli, ["users", "add", "--code", "S5003", "--name", "y", "--unit", "HQ"]
        )
        assert sso_only.exit_code == 0 and "Password" not in sso_only.output
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
