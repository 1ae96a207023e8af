"""Role × route matrix: who may reach what, pages and API alike."""

from __future__ import annotations

import pytest

from tests.factories import login, make_user

ANON, STAFF, CURATOR, ADMIN = "anonymous", "staff", "curator", "admin"

# path, then the expected status for anonymous, staff, curator, admin.
# Anonymous: pages redirect to /login (303), the API answers 401.
MATRIX = [
    ("/", 303, 200, 200, 200),
    ("/moderation", 303, 403, 200, 200),
    ("/admin", 303, 403, 403, 200),
    ("/api/v1/me", 401, 200, 200, 200),
    ("/api/v1/units", 401, 200, 200, 200),
    ("/api/v1/users?q=E", 401, 200, 200, 200),
    ("/login", 200, 303, 303, 303),
    ("/healthz", 200, 200, 200, 200),
]
CASES = [
    (path, role, expected)
    for path, *codes in MATRIX
    for role, expected in zip((ANON, STAFF, CURATOR, ADMIN), codes, strict=True)
]


@pytest.mark.parametrize(("path", "role", "expected"), CASES)
async def test_role_matrix(client, db, path, role, expected):
    if role != ANON:
        await login(client, await make_user(db, role=role))
    r = await client.get(path)
    assert r.status_code == expected, r.text[:300]


@pytest.mark.parametrize("role", [STAFF, CURATOR])
async def test_forbidden_page_is_a_translated_error_page(client, db, role):
    await login(client, await make_user(db, role=role))
    r = await client.get("/admin")
    assert r.status_code == 403
    assert "権限がありません" in r.text


async def test_api_403_is_json(client, db):
    from app.services.auth import issue_token

    user = await make_user(db, role="staff")
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    r = await client.get("/admin", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
