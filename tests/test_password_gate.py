"""The one-time-password gate: a user whose password an administrator set reaches only the
password change, the language switch and logging out, by browser session and by API token
alike; every other route of the app, walked from app.routes, refuses them."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlmodel import select

from app.models import ApiToken, User
from app.routing import is_scim_path
from app.services.people.tokens import issue_token
from tests.factories import PASSWORD, csrf_from, make_user

GATE_MESSAGE = "Choose a new password first: yours was set by an administrator."
PASSWORD_PAGE = "/settings/password"

# What such a user may do (and must still be able to do).
ALLOWED = {
    ("GET", "/settings/password"),
    ("POST", "/settings/password"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/locale"),
    ("POST", "/logout"),
}
# Routes that answer anyone, signed in or not: the gate has nothing to hold back there.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/login"),
    ("GET", "/login/sso/callback"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/favicon.ico"),
    ("GET", "/sw.js"),
    ("GET", "/manifest.webmanifest"),
    ("GET", "/offline"),
}


def _routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every method and path the app answers (routers included), static files aside."""
    return [
        (method, route.path_format)
        for route in iter_route_contexts(app.routes)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def _gated_admin(db, client: httpx.AsyncClient) -> tuple[User, str, str]:  # type: ignore[no-untyped-def]
    """An administrator (so that no refusal is about the role) with a one-time password,
    signed in in `client`, and a write token of theirs made before the reset."""
    user = await make_user(db, role="admin", locale="en")
    _row, token = await issue_token(db, user, name="script", scope="write", days=None)
    user.must_change_password = True
    db.add(user)
    await db.commit()
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": user.code, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303
    csrf = csrf_from((await client.get(PASSWORD_PAGE)).text)
    return user, csrf, token


async def _call(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    body = {"json": {}} if path.startswith("/api/") and method != "GET" else {}
    try:
        return await asyncio.wait_for(
            client.request(method, _concrete(path), headers=headers, **body), 10
        )
    except TimeoutError:  # an open event stream: the gate let it through
        return httpx.Response(200, text="stream opened")


def _held(r: httpx.Response) -> bool:
    if is_scim_path(r.request.url.path):
        # SCIM answers only SCIM tokens: this user's session and ordinary token are refused
        # there whatever their password (401/403 in SCIM's own error shape).
        return r.status_code in (401, 403)
    if r.status_code == 303:
        return r.headers.get("location") == PASSWORD_PAGE
    if r.status_code != 403:
        return False
    if r.headers.get("content-type", "").startswith("application/json"):
        return bool(r.json().get("detail") == GATE_MESSAGE)
    return GATE_MESSAGE in r.text


async def test_every_route_but_the_password_change_holds_back_the_session_and_its_tokens(
    app, client, db
):
    user, csrf, token = await _gated_admin(db, client)
    routes = _routes(app)
    assert ALLOWED | PUBLIC <= set(routes)
    assert ("POST", "/settings/tokens") in routes and ("POST", "/api/v1/me/tokens") in routes
    session = {"X-CSRF-Token": csrf}
    bearer = {"Authorization": f"Bearer {token}"}
    let_through: list[str] = []
    for method, path in sorted(routes, key=lambda mp: mp == ("POST", "/logout")):
        if (method, path) in PUBLIC:
            continue
        by_token = await _call(client, method, path, bearer)
        if (method, path) not in ALLOWED and not _held(by_token):
            let_through.append(f"token {method} {path} -> {by_token.status_code}")
        by_session = await _call(client, method, path, session)
        if ((method, path) in ALLOWED) == _held(by_session):
            let_through.append(f"session {method} {path} -> {by_session.status_code}")
    assert let_through == [], "\n".join(let_through)
    # No token was minted on the way, by either route.
    tokens = (await db.exec(select(ApiToken).where(ApiToken.user_id == user.id))).all()
    assert len(tokens) == 1


@pytest.mark.parametrize("hx", [False, True])
async def test_minting_a_token_is_refused_until_the_password_is_changed(client, db, hx):
    user, csrf, _token = await _gated_admin(db, client)
    headers = {"X-CSRF-Token": csrf, **({"HX-Request": "true"} if hx else {})}
    form = {"name": "walkaround", "scope": "write", "expires": "90"}
    r = await client.post("/settings/tokens", data=form, headers=headers)
    assert r.status_code == (403 if hx else 303)
    assert (r.headers.get("HX-Redirect") if hx else r.headers["location"]) == PASSWORD_PAGE
    r = await client.post(
        "/api/v1/me/tokens", json={"name": "walkaround", "scope": "write"}, headers=headers
    )
    assert r.status_code == 403 and r.json()["detail"] == GATE_MESSAGE
    names = (await db.exec(select(ApiToken.name).where(ApiToken.user_id == user.id))).all()
    assert names == ["script"]


async def test_after_the_change_the_session_and_the_old_token_work_again(client, db):
    user, csrf, token = await _gated_admin(db, client)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 403
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-secret-1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer)).json()["code"] == user.code
    assert (await client.get("/settings")).status_code == 200
    r = await client.post(
        "/settings/tokens",
        data={"name": "now", "scope": "read", "expires": "90"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201


async def test_the_language_switch_and_logout_still_work(client, db):
    user, csrf, _token = await _gated_admin(db, client)
    r = await client.post(
        "/locale", data={"locale": "ja", "next": "/"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 303
    await db.refresh(user)
    assert user.locale == "ja"
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"] == PASSWORD_PAGE
    assert (await client.post("/logout", headers={"X-CSRF-Token": csrf})).status_code == 303
    r = await client.get(PASSWORD_PAGE)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
