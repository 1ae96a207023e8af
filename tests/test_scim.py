"""SCIM 2.0 provisioning as Entra ID and Okta call it: create, filter, pages, PATCH (active
false ends sessions and tokens), unknown units, and who may call /scim/v2 at all."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.models import ApiToken, AuditEntry, User, UserSession
from app.services.people.tokens import issue_scim_token
from app.services.scim import throttle
from tests.factories import bearer, bearer_for, login_as, make_unit, make_user, soup

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    throttle.reset()


@pytest.fixture
async def admin(db):  # type: ignore[no-untyped-def]
    return await make_user(db, role="admin", code="ADM1")


@pytest.fixture
async def shop(db):  # type: ignore[no-untyped-def]
    return await make_unit(db, code="S001", name="新宿店")


@pytest.fixture
async def scim(client, db, admin, shop):  # type: ignore[no-untyped-def]
    _row, token = await issue_scim_token(db, admin, days=30)
    client.headers.update(bearer(token))
    return client


def entra_user(code: str = "E1001", department: str = "S001", **extra: Any) -> dict[str, Any]:
    """A create request as Entra ID's default attribute mapping sends it."""
    return {
        "schemas": [CORE, ENTERPRISE],
        "externalId": "yamada",
        "userName": code,
        "active": True,
        "displayName": "山田 花子",
        "emails": [{"primary": True, "type": "work", "value": "hanako@example.jp"}],
        "name": {"formatted": "山田 花子", "familyName": "山田", "givenName": "花子"},
        "title": "店長",
        "phoneNumbers": [{"type": "work", "value": "03-0000-0000"}],
        ENTERPRISE: {"department": department, "employeeNumber": code},
        **extra,
    }


async def create(scim: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    r = await scim.post("/scim/v2/Users", json=entra_user(**kw))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_create_answers_the_resource_with_location_and_etag(scim, db) -> None:
    r = await scim.post("/scim/v2/Users", json=entra_user())
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert body["userName"] == "E1001"
    assert body["displayName"] == "山田 花子"
    assert body["active"] is True
    assert body[ENTERPRISE] == {"department": "S001"}
    assert body["emails"][0]["value"] == "hanako@example.jp"
    assert r.headers["Location"] == body["meta"]["location"]
    assert r.headers["ETag"] == body["meta"]["version"]
    user = (await db.exec(select(User).where(User.code == "E1001"))).one()
    assert user.role == "staff" and user.email == "hanako@example.jp"
    entry = (await db.exec(select(AuditEntry).where(AuditEntry.target_id == user.id))).one()
    assert entry.action == "user.create" and entry.reason == "SCIM"


async def test_okta_create_with_given_and_family_name_only(scim) -> None:
    body = {
        "schemas": [CORE, ENTERPRISE],
        "userName": "E2002",
        "name": {"givenName": "Taro", "familyName": "Sato"},
        "emails": [{"primary": True, "value": "taro@example.jp", "type": "work"}],
        "active": True,
        ENTERPRISE: {"department": "S001"},
    }
    r = await scim.post("/scim/v2/Users", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["displayName"] == "Sato Taro"


async def test_unknown_department_is_a_400_scim_error_and_nothing_is_written(scim, db) -> None:
    r = await scim.post("/scim/v2/Users", json=entra_user(department="NOPE"))
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/scim+json")
    error = r.json()
    assert error["schemas"] == [ERROR]
    assert error["status"] == "400"
    assert error["scimType"] == "invalidValue"
    assert "department" in error["detail"]
    assert (await db.exec(select(User).where(User.code == "E1001"))).first() is None


async def test_missing_department_and_taken_user_name(scim) -> None:
    body = entra_user()
    del body[ENTERPRISE]
    r = await scim.post("/scim/v2/Users", json=body)
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    await create(scim)
    again = await scim.post("/scim/v2/Users", json=entra_user())
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"


async def test_filter_by_user_name_as_entra_checks_before_creating(scim) -> None:
    empty = await scim.get("/scim/v2/Users", params={"filter": 'userName eq "E1001"'})
    assert empty.status_code == 200
    assert empty.json()["totalResults"] == 0 and empty.json().get("Resources", []) == []
    made = await create(scim)
    await create(scim, code="E1002")
    found = (await scim.get("/scim/v2/Users", params={"filter": 'userName eq "e1001"'})).json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["id"] == made["id"]
    by_unit = await scim.get(
        "/scim/v2/Users", params={"filter": f'{ENTERPRISE}:department eq "S001" and active eq true'}
    )
    assert by_unit.json()["totalResults"] == 2


@pytest.mark.parametrize(
    "bad", ["userName eq", 'title eq "x"', 'userName zz "x"', 'active eq "yes"']
)
async def test_bad_filters_are_400_invalid_filter(scim, bad: str) -> None:
    r = await scim.get("/scim/v2/Users", params={"filter": bad})
    assert r.status_code == 400, r.text
    assert r.json()["scimType"] == "invalidFilter"


async def test_pages_with_start_index_and_count(scim) -> None:
    for i in range(5):
        await create(scim, code=f"P{i}")
    seen: list[str] = []
    start = 1
    while True:
        page = (
            await scim.get(
                "/scim/v2/Users",
                params={"startIndex": start, "count": 2, "filter": 'userName sw "P"'},
            )
        ).json()
        assert page["totalResults"] == 5 and page["startIndex"] == start
        seen += [u["userName"] for u in page.get("Resources", [])]
        if start + page["itemsPerPage"] > page["totalResults"]:
            break
        start += page["itemsPerPage"]
    assert seen == [f"P{i}" for i in range(5)]


async def test_entra_patch_active_false_ends_sessions_and_tokens_at_once(
    scim, db, make_client
) -> None:
    made = await create(scim)
    user = (await db.exec(select(User).where(User.code == "E1001"))).one()
    browser = make_client()
    await login_as(browser, user)
    headers = await bearer_for(db, user)
    assert (await browser.get("/api/v1/me")).status_code == 200
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    r = await scim.patch(f"/scim/v2/Users/{made['id']}", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert (await browser.get("/api/v1/me")).status_code == 401
    assert (await browser.get("/api/v1/me", headers=headers)).status_code == 401
    live = await db.exec(
        select(UserSession).where(
            UserSession.user_id == user.id, col(UserSession.revoked_at).is_(None)
        )
    )
    assert live.first() is None
    tokens = await db.exec(
        select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
    )
    assert tokens.first() is None
    actions = (
        await db.exec(select(AuditEntry.action).where(AuditEntry.target_id == user.id))
    ).all()
    assert "user.deactivate" in actions


async def test_okta_path_less_replace_and_enterprise_path(scim, shop, db) -> None:
    await make_unit(db, code="S002", name="渋谷店")
    made = await create(scim)
    okta = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "replace",
                "value": {"displayName": "山田 花", f"{ENTERPRISE}:department": "S002"},
            }
        ],
    }
    r = await scim.patch(f"/scim/v2/Users/{made['id']}", json=okta)
    assert r.status_code == 200, r.text
    assert r.json()["displayName"] == "山田 花" and r.json()[ENTERPRISE]["department"] == "S002"
    entra = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "S001"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "h2@example.jp"},
        ],
    }
    r = await scim.patch(f"/scim/v2/Users/{made['id']}", json=entra)
    assert r.status_code == 200, r.text
    assert r.json()[ENTERPRISE]["department"] == "S001"
    assert r.json()["emails"][0]["value"] == "h2@example.jp"
    bad = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "NOPE"}],
    }
    r = await scim.patch(f"/scim/v2/Users/{made['id']}", json=bad)
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"


async def test_etag_if_match(scim) -> None:
    made = await create(scim)
    url = f"/scim/v2/Users/{made['id']}"
    etag = (await scim.get(url)).headers["ETag"]
    patch = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "X"}],
    }
    ok = await scim.patch(url, json=patch, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = await scim.patch(url, json=patch, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["schemas"] == [ERROR]


async def test_delete_deactivates(scim, db) -> None:
    made = await create(scim)
    r = await scim.delete(f"/scim/v2/Users/{made['id']}")
    assert r.status_code == 204
    user = (await db.exec(select(User).where(User.code == "E1001"))).one()
    await db.refresh(user)
    assert user.active is False


async def test_discovery_endpoints(scim) -> None:
    spc = (await scim.get("/scim/v2/ServiceProviderConfig")).json()
    assert spc["patch"]["supported"] is True and spc["filter"]["supported"] is True
    assert spc["etag"]["supported"] is True
    rts = (await scim.get("/scim/v2/ResourceTypes")).json()
    assert rts["Resources"][0]["endpoint"] == "/Users"
    schemas = (await scim.get("/scim/v2/Schemas")).json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert ids == {CORE, ENTERPRISE}
    missing = await scim.get("/scim/v2/Users/999999")
    assert missing.status_code == 404 and missing.json()["status"] == "404"


async def test_the_scim_token_reaches_nothing_else(client, db, admin, shop) -> None:
    _row, token = await issue_scim_token(db, admin, days=None)
    for path in ("/api/v1/me", "/api/v1/posts", "/admin"):
        r = await client.get(path, headers=bearer(token))
        assert r.status_code == 403, (path, r.status_code)
    r = await client.post("/api/v1/posts", headers=bearer(token), json={})
    assert r.status_code == 403


@pytest.mark.parametrize("scope", ["read", "write"])
async def test_other_tokens_and_sessions_are_refused_on_scim(client, db, admin, scope) -> None:
    r = await client.get("/scim/v2/Users", headers=await bearer_for(db, admin, scope))
    assert r.status_code == 403 and r.json()["schemas"] == [ERROR]
    await login_as(client, admin)
    r = await client.get("/scim/v2/Users")
    assert r.status_code == 401 and r.json()["schemas"] == [ERROR]
    r = await client.get("/scim/v2/Users", headers=bearer("arigato_nonsense"))
    assert r.status_code == 401


async def test_a_user_cannot_mint_a_scim_token_for_themselves(client, db, admin) -> None:
    csrf = await login_as(client, admin)
    r = await client.post(
        "/api/v1/me/tokens",
        json={"name": "x", "scope": "scim", "days": 1},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422


async def test_scim_is_throttled(scim, monkeypatch) -> None:
    monkeypatch.setattr(throttle, "REQUESTS_PER_MINUTE", 3)
    codes = [(await scim.get("/scim/v2/Users")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


async def test_an_admin_issues_and_revokes_a_scim_token_in_admin(client, db, admin, shop) -> None:
    csrf = await login_as(client, admin)
    page = await client.get("/admin/scim")
    assert page.status_code == 200
    assert soup(page).select_one("[data-testid=scim-url]")["value"].endswith("/scim/v2")
    issued = await client.post("/admin/scim/tokens", data={"days": "90", "csrf_token": csrf})
    assert issued.status_code == 200
    token = soup(issued).select_one("[data-testid=new-token]")["value"]
    assert token.startswith("arigato_")
    users = await client.get("/scim/v2/Users", headers=bearer(token))
    assert users.status_code == 200
    actions = (await db.exec(select(AuditEntry.action))).all()
    assert "scim.token_issue" in actions
    row = soup(await client.get("/admin/scim")).select_one("#scim-tokens li")
    assert row is not None
    revoked = await client.post(
        f"/admin/scim/tokens/{row['data-token']}/revoke", data={"csrf_token": csrf}
    )
    assert revoked.status_code == 303
    assert (await client.get("/scim/v2/Users", headers=bearer(token))).status_code == 401


async def test_a_bad_day_count_keeps_the_form(client, db, admin) -> None:
    csrf = await login_as(client, admin)
    r = await client.post("/admin/scim/tokens", data={"days": "0", "csrf_token": csrf})
    assert r.status_code == 422
    assert soup(r).select_one("#scim-days[aria-invalid=true]") is not None


@pytest.mark.parametrize("role", ["staff", "curator"])
async def test_only_admins_reach_the_scim_page(client, db, role) -> None:
    csrf = await login_as(client, await make_user(db, role=role))
    assert (await client.get("/admin/scim")).status_code == 403
    r = await client.post("/admin/scim/tokens", data={"days": "30", "csrf_token": csrf})
    assert r.status_code == 403


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda attr, op, value: f"{attr} {op} {value}",
            st.sampled_from(
                [
                    "userName",
                    "displayName",
                    "emails.value",
                    "active",
                    "title",
                    f"{ENTERPRISE}:department",
                    "externalId",
                    "id",
                    "meta.created",
                ]
            ),
            st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "xx"]),
            st.one_of(st.text(max_size=12).map(json.dumps), st.sampled_from(["true", "1", "null"])),
        ),
    )
)
async def test_any_filter_is_answered_200_or_a_400_scim_error(scim, text: str) -> None:
    r = await scim.get("/scim/v2/Users", params={"filter": text})
    assert r.status_code in (200, 400), (text, r.status_code, r.text)
    if r.status_code == 400:
        assert r.json()["schemas"] == [ERROR] and r.json()["scimType"] in (
            "invalidFilter",
            "invalidSyntax",
            "invalidValue",
        )
