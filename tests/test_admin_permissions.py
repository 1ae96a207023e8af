"""Every /admin page and /api/v1/admin endpoint, found in the app's own routes: anonymous
callers are sent to /login (pages) or get 401 (API), staff and curators get 403, admins get
through. Routes that other modules add under /admin are covered without editing this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.services.people.tokens import issue_token
from tests.factories import csrf_from, login_as, make_unit, make_user

ANON, STAFF, CURATOR, ADMIN = "anonymous", "staff", "curator", "admin"
PREFIXES = ("/admin", "/api/v1/admin")
PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {params}

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _walk(routes: Any, prefix: str = "") -> list[Endpoint]:
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if inner is not None:
            context = getattr(route, "include_context", None)
            out.extend(_walk(inner.routes, prefix + (getattr(context, "prefix", "") or "")))
            continue
        path = prefix + getattr(route, "path", "")
        if not path.startswith(PREFIXES):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                out.append(Endpoint(method, path))
    return out


def admin_endpoints() -> list[Endpoint]:
    return sorted(set(_walk(create_app().routes)), key=str)


ENDPOINTS = admin_endpoints()


def test_the_matrix_sees_the_admin_routes():
    found = {str(e) for e in ENDPOINTS}
    for expected in (
        "GET /admin",
        "GET /admin/units",
        "POST /admin/units/{code}/move",
        "POST /admin/users/{code}/deactivate",
        "POST /admin/tokens/{token_id}/revoke",
        "GET /api/v1/admin/users",
        "PATCH /api/v1/admin/units/{code}",
        "DELETE /api/v1/admin/tokens/{token_id}",
    ):
        assert expected in found


def test_units_are_never_deleted():
    assert not [e for e in ENDPOINTS if e.method == "DELETE" and "/units" in e.path]


async def _fill(db, endpoint: Endpoint, ids: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "code":
            return ids["unit"] if "/units/" in endpoint.path else ids["user"]
        if name == "token_id":
            return str(ids["token"])
        return "1"  # some other module's id: an unknown one is fine (not 403 is the point)

    return PARAM.sub(value, endpoint.path)


async def _setup(db) -> dict[str, Any]:
    unit = await make_unit(db, code="PERM-U")
    target = await make_user(db, unit, code="PERM-T")
    row, _token = await issue_token(db, target, name="t", scope="read", days=None)
    return {"unit": unit.code, "user": target.code, "token": row.id}


async def _client_for(db, client: httpx.AsyncClient, role: str) -> dict[str, str]:
    """Log in as `role`; headers that pass the CSRF guard (anonymous: the pre-session one)."""
    if role == ANON:
        page = await client.get("/login")
        return {"X-CSRF-Token": csrf_from(page.text)}
    token = await login_as(client, await make_user(db, role=role))
    return {"X-CSRF-Token": token}


async def _call(client: httpx.AsyncClient, endpoint: Endpoint, path: str, headers: dict[str, str]):
    kwargs: dict[str, Any] = {"headers": dict(headers)}
    if endpoint.method in ("POST", "PATCH", "PUT"):
        if endpoint.is_api:
            kwargs["json"] = {}
        else:
            kwargs["data"] = {}
    return await client.request(endpoint.method, path, **kwargs)


@pytest.mark.parametrize("role", [ANON, STAFF, CURATOR, ADMIN])
async def test_every_admin_route_by_role(client, db, role):
    ids = await _setup(db)
    headers = await _client_for(db, client, role)
    wrong = []
    for endpoint in ENDPOINTS:
        path = await _fill(db, endpoint, ids)
        r = await _call(client, endpoint, path, headers)
        if role == ANON:
            if endpoint.is_api:
                ok = r.status_code == 401
            else:
                ok = r.status_code == 303 and r.headers["location"].startswith("/login")
        elif role in (STAFF, CURATOR):
            ok = r.status_code == 403
        else:
            ok = r.status_code not in (401, 403) and r.status_code < 500
        if not ok:
            wrong.append(f"{endpoint} -> {r.status_code}")
    assert wrong == [], f"{role}: {wrong}"


@pytest.mark.parametrize("role", [STAFF, CURATOR])
async def test_admin_api_refuses_tokens_of_non_admins(client, db, role):
    ids = await _setup(db)
    caller = await make_user(db, role=role)
    _row, token = await issue_token(db, caller, name="w", scope="write", days=None)
    wrong = []
    for endpoint in (e for e in ENDPOINTS if e.is_api):
        path = await _fill(db, endpoint, ids)
        r = await _call(client, endpoint, path, {"Authorization": f"Bearer {token}"})
        if r.status_code != 403:
            wrong.append(f"{endpoint} -> {r.status_code}")
    assert wrong == []


async def test_admin_pages_are_not_linked_for_non_admins(client, db):
    await login_as(client, await make_user(db, role="curator"))
    page = await client.get("/")
    assert 'href="/admin"' not in page.text
