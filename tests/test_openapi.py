"""The OpenAPI document says how to sign in and what each operation may answer; a 422 is
bounded and always sent, whatever the body held."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.people.tokens import issue_token
from tests.factories import make_user


async def _bearer(db, role: str = "staff") -> dict[str, str]:
    user = await make_user(db, role=role)
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    return {"Authorization": f"Bearer {token}"}


async def test_the_document_names_the_bearer_token_and_the_session(client):
    doc = (await client.get("/api/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie"
    assert doc["security"] == [{"bearer": []}, {"session": []}]


async def test_every_operation_documents_its_errors_with_their_shape(client):
    doc = (await client.get("/api/openapi.json")).json()
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            where = f"{method.upper()} {path}"
            assert {"401", "403"} <= responses.keys(), where
            if "{" in path:
                assert "404" in responses, where
            if "requestBody" in op:
                assert {"413", "422"} <= responses.keys(), where
            for code, answer in responses.items():
                if code.startswith("4") and code != "422":
                    assert answer["content"]["application/json"]["schema"] == error, (where, code)
    posts = doc["paths"]["/api/v1/posts/{post_id}/flags"]["post"]["responses"]
    assert "409" in posts
    assert "409" in doc["paths"]["/api/v1/kpi/months/{month}/close"]["post"]["responses"]
    assert "404" in doc["paths"]["/api/v1/kpi/praise"]["get"]["responses"]


async def test_every_schema_has_one_class_and_its_plain_name(client):
    """Two classes of one name make FastAPI spell out their modules (app__api__x__Name)."""
    doc = (await client.get("/api/openapi.json")).json()
    qualified = [name for name in doc["components"]["schemas"] if "__" in name]
    assert qualified == []


async def test_the_kpi_downloads_are_documented_as_csv_and_xlsx(client, db):
    doc = (await client.get("/api/openapi.json")).json()
    for path in ("/api/v1/kpi/praise", "/api/v1/kpi/voices"):
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert {"application/json", "text/csv", xlsx} <= content.keys()
    headers = await _bearer(db, "curator")
    r = await client.get("/api/v1/kpi/voices?format=csv", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    "body",
    [b'{"title": "\xff\xfe"}', b"\xff", b"[" * 100_000 + b"]" * 100_000, b'{"title": '],
    ids=["latin1-in-json", "not-utf8", "nested-too-deep", "cut-short"],
)
async def test_an_unparseable_json_body_is_a_422_in_the_detail_shape(client, db, body):
    headers = {**await _bearer(db), "Content-Type": "application/json"}
    r = await client.post("/api/v1/posts", content=body, headers=headers)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body"
    assert error["msg"] == "リクエストの本文が正しい JSON ではありません。"


async def test_a_422_echoes_at_most_200_characters_of_a_huge_body(client, db):
    headers = await _bearer(db)
    big = "x" * 400_000  # two of them stay under the 1 MiB body cap (app/inputs.py)
    r = await client.post(
        "/api/v1/posts", json={"kind": "praise", "title": big, "body": big}, headers=headers
    )
    assert r.status_code == 422
    assert len(r.content) < 5_000
    for error in r.json()["detail"]:
        assert len(json.dumps(error.get("input", ""))) <= 210


async def test_a_422_says_nan_and_lone_surrogates_instead_of_failing(client, db):
    headers = {**await _bearer(db), "Content-Type": "application/json"}
    for raw in (b'{"locale": NaN}', b'{"locale": Infinity}', b'{"locale": "a\\ud800b"}'):
        r = await client.patch("/api/v1/me", content=raw, headers=headers)
        assert r.status_code == 422, (raw, r.text)
        (error,) = r.json()["detail"]
        assert error["loc"][0] == "body" and error["msg"]


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=json_values)
async def test_any_json_value_gets_a_422_that_can_be_sent(client, db, value):
    """Whatever JSON the body carries (NaN, lone surrogates, nesting, odd keys), the answer
    is a 422 with the `detail` list, never a 500."""
    headers = {**await _bearer(db), "Content-Type": "application/json"}
    raw = json.dumps({"locale": value, "\ud800": value}, allow_nan=True).encode()
    r = await client.patch("/api/v1/me", content=raw, headers=headers)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
