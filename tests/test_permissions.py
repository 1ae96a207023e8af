"""Role × route matrix: who may reach what, pages and API alike."""

from __future__ import annotations

import pytest

from tests.factories import login_as, make_user

ANON, STAFF, CURATOR, ADMIN = "anonymous", "staff", "curator", "admin"

# path, then the expected status for anonymous, staff, curator, admin.
# Anonymous: pages redirect to /login (303), the API answers 401.
MATRIX = [
    ("/", 303, 200, 200, 200),
    ("/moderation", 303, 403, 200, 200),
    ("/admin", 303, 403, 403, 200),
    ("/admin/units", 303, 403, 403, 200),
    ("/admin/users", 303, 403, 403, 200),
    ("/admin/users?q=E&role=staff", 303, 403, 403, 200),
    ("/api/v1/admin/units", 401, 403, 403, 200),
    ("/api/v1/admin/users", 401, 403, 403, 200),
    ("/api/v1/me", 401, 200, 200, 200),
    ("/api/v1/units", 401, 200, 200, 200),
    ("/api/v1/users?q=E", 401, 200, 200, 200),
    ("/posts/new", 303, 200, 200, 200),
    ("/drafts", 303, 200, 200, 200),
    ("/feed/page", 303, 200, 200, 200),
    ("/users/suggest?q=E", 303, 200, 200, 200),
    ("/api/v1/posts", 401, 200, 200, 200),
    ("/api/docs", 200, 200, 200, 200),
    ("/api/openapi.json", 200, 200, 200, 200),
    ("/login", 200, 303, 303, 303),
    ("/healthz", 200, 200, 200, 200),
    ("/notifications", 303, 200, 200, 200),
    ("/api/v1/notifications", 401, 200, 200, 200),
]
CASES = [
    (path, role, expected)
    for path, *codes in MATRIX
    for role, expected in zip((ANON, STAFF, CURATOR, ADMIN), codes, strict=True)
]


@pytest.mark.parametrize(("path", "role", "expected"), CASES)
async def test_role_matrix(client, db, path, role, expected):
    if role != ANON:
        await login_as(client, await make_user(db, role=role))
    r = await client.get(path)
    assert r.status_code == expected, r.text[:300]


@pytest.mark.parametrize("role", [STAFF, CURATOR])
async def test_forbidden_page_is_a_translated_error_page(client, db, role):
    await login_as(client, await make_user(db, role=role))
    r = await client.get("/admin")
    assert r.status_code == 403
    assert "権限がありません" in r.text


async def test_api_403_is_json(client, db):
    from app.services.people.tokens import issue_token

    user = await make_user(db, role="staff")
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    r = await client.get("/admin", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


# Unsafe API calls with a bad token are 401; without any credentials the CSRF guard answers 403.
ANON_WRITES = [
    ("post", "/api/v1/posts", 401),
    ("put", "/api/v1/posts/1/like", 401),
    ("delete", "/api/v1/posts/1/like", 401),
    ("put", "/api/v1/posts/1/reactions/thanks", 401),
    ("delete", "/api/v1/posts/1/reactions/thanks", 401),
    ("post", "/api/v1/posts/1/comments", 401),
    ("post", "/api/v1/posts/1/flags", 401),
    ("post", "/api/v1/notifications/read", 401),
    ("put", "/api/v1/notifications/digest", 401),
]


@pytest.mark.parametrize(("method", "path", "expected"), ANON_WRITES)
async def test_anonymous_api_writes_are_refused(client, method, path, expected):
    r = await client.request(method.upper(), path, json={}, headers={"Authorization": "Bearer x"})
    assert r.status_code == expected
    r = await client.request(method.upper(), path, json={})
    assert r.status_code == 403
