"""Hostile or malformed input (issue 12, items 3, 4, 6): body caps, the text rule, ids, days
and tags answer a fast 4xx and write nothing, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import select
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.inputs import BODY_LIMIT, MAX_ID, PathId
from app.main import create_app
from tests.factories import bearer_for, login_as, make_post, make_user
from tests.livetools import app_process, demo_database

PRAISE: dict[str, Any] = {
    "kind": "praise",
    "title": "お客さまから「ありがとう」",
    "body": "丁寧な説明に感謝されました。",
    "channel": "counter",
    "product": "auto",
    "tags": ["事故対応", "丁寧"],
}
FORM = {
    "kind": "praise",
    "title": "お電話でありがとう",
    "body": "丁寧な対応に感謝されました",
    "channel": "phone",
    "tags": "電話 丁寧",
    "status": "published",
}
BEYOND_INT4 = 2**31  # PostgreSQL integer columns
BEYOND_INT8 = 2**63  # SQLite integers
# Every character the text rule refuses is one of these kinds.
FORBIDDEN = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\ud800", "\udfff"]


async def count(db, table: str) -> int:
    return (await db.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()


def as_json(payload: Any) -> bytes:
    # ensure_ascii: a lone surrogate goes out as the escape "\ud800", as an attacker sends it.
    return json.dumps(payload, ensure_ascii=True).encode()


JSON = {"Content-Type": "application/json"}
EN = {"Accept-Language": "en"}


async def curator_api(db, client):
    curator = await make_user(db, role="curator")
    client.headers.update(await bearer_for(db, curator))
    return client


def page(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


# ---------------------------------------------------------------------------------------
# 3. Body caps


async def test_a_declared_oversized_body_is_413_before_auth_and_in_the_callers_language(client, db):
    big = b'{"title": "' + b"a" * BODY_LIMIT + b'"}'
    r = await client.post("/api/v1/posts", content=big, headers={**JSON, **EN})
    assert r.status_code == 413
    assert r.json() == {"detail": "The request is too large."}
    r = await client.post("/api/v1/posts", content=big, headers=JSON)
    assert r.status_code == 413
    assert r.json()["detail"] == "リクエストが大きすぎます。"
    assert await count(db, "posts") == 0


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.parametrize(
    "ctype",
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"],
)
async def test_a_streamed_body_is_cut_off_at_the_cap(api, db, ctype):
    """No Content-Length (chunked): the cap holds while reading, whatever the type says."""
    r = await api.post(
        "/api/v1/posts",
        content=_chunks(BODY_LIMIT + 1),
        headers={"Content-Type": ctype + ("; boundary=x" if "multipart" in ctype else "")},
    )
    assert r.status_code == 413, r.text
    assert "detail" in r.json()
    assert await count(db, "posts") == 0


async def test_a_body_under_the_cap_still_works(api):
    r = await api.post("/api/v1/posts", json={**PRAISE, "body": "あ" * 10_000})
    assert r.status_code == 201, r.text


async def test_an_oversized_form_gets_a_short_page_in_japanese(client, db):
    csrf = await login_as(client, await make_user(db))
    data = {**FORM, "body": "x" * BODY_LIMIT, "csrf_token": csrf}
    r = await client.post("/posts", data=data)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    doc = page(r)
    assert doc.html["lang"] == "ja"
    assert doc.h1.get_text() == "リクエストが大きすぎます。"
    assert await count(db, "posts") == 0


def noise_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


async def test_uploads_keep_their_own_larger_cap(api, db, author):
    post = await make_post(db, author)
    image = noise_png(700)
    assert len(image) > BODY_LIMIT
    r = await api.post(
        f"/api/v1/posts/{post.id}/attachments", files={"file": ("noise.png", image, "image/png")}
    )
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------------------------------
# 6. The text rule: NUL, other C0 controls, lone surrogates, NaN


def _with_char(payload: dict[str, Any], field: str, char: str, at: int) -> dict[str, Any]:
    out = dict(payload)
    value = out.get(field)
    if isinstance(value, list):
        first = value[0]
        out[field] = [first[: at % (len(first) + 1)] + char + first[at % (len(first) + 1) :]]
    else:
        text = value or "x"
        out[field] = text[: at % (len(text) + 1)] + char + text[at % (len(text) + 1) :]
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(
        ["title", "body", "unit", "tags", "channel", "product", "praised", "received_on"]
    ),
    char=st.sampled_from(FORBIDDEN),
    at=st.integers(min_value=0, max_value=40),
)
async def test_any_forbidden_character_in_any_post_field_is_422_and_no_row(
    api, db, field, char, at
):
    payload = {**PRAISE, "praised": ["E00001"], "received_on": "2025-04-01"}
    before = await count(db, "posts")
    r = await api.post("/api/v1/posts", content=as_json(_with_char(payload, field, char, at)))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "body"
    assert await count(db, "posts") == before


async def test_a_forbidden_character_in_a_key_is_refused_too(api, db):
    r = await api.post("/api/v1/posts", content=as_json({**PRAISE, "ti\x00tle": "x"}))
    assert r.status_code == 422
    assert await count(db, "posts") == 0


async def test_raw_surrogate_bytes_are_refused_too(api, db):
    """json.loads decodes bytes with surrogatepass: ED A0 80 arrives as a lone surrogate."""
    raw = json.dumps(PRAISE, ensure_ascii=False).encode()
    body = raw.replace("ありがとう".encode(), b"\xed\xa0\x80")
    assert body != raw
    r = await api.post("/api/v1/posts", content=body, headers=JSON)
    assert r.status_code == 422
    assert await count(db, "posts") == 0


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_non_finite_numbers_in_json_are_a_clean_422(api, constant):
    r = await api.patch("/api/v1/me", content=f'{{"locale": {constant}}}', headers=JSON)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]


async def test_tab_newline_and_crlf_are_text(api, client, db):
    r = await api.post("/api/v1/posts", json={**PRAISE, "body": "一行目\r\n二行目\tタブ\n三行目"})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "一行目\n二行目\tタブ\n三行目"


async def test_a_browser_textarea_with_crlf_is_accepted(client, db):
    csrf = await login_as(client, await make_user(db))
    r = await client.post("/posts", data={**FORM, "body": "一行目\r\n二行目", "csrf_token": csrf})
    assert r.status_code == 303, r.text
    body = (await db.execute(sa.text("SELECT body FROM posts"))).scalar_one()
    assert body == "一行目\n二行目"


@pytest.mark.parametrize("field", ["title", "body", "tags"])
async def test_a_nul_in_a_form_field_is_422_and_no_row(client, db, field):
    csrf = await login_as(client, await make_user(db))
    data = {**FORM, field: "a\x00b", "csrf_token": csrf}
    r = await client.post("/posts", data=data)
    assert r.status_code == 422
    assert await count(db, "posts") == 0


async def test_a_nul_in_a_multipart_text_field_is_422_and_no_row(client, db):
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts?csrf_token={csrf}",
        data={**FORM, "title": "a\x00b"},
        files={"files": ("a.txt", b"\x00binary bytes are not text\x00", "text/plain")},
    )
    assert r.status_code == 422
    assert await count(db, "posts") == 0


async def test_file_bytes_are_not_text(api, db, author):
    """Only text fields obey the text rule: a PNG is full of NULs."""
    post = await make_post(db, author)
    r = await api.post(
        f"/api/v1/posts/{post.id}/attachments",
        files={"file": ("p.png", noise_png(20), "image/png")},
    )
    assert r.status_code == 201, r.text


async def test_the_login_code_with_a_nul_is_422(client, db):
    user = await make_user(db)
    login_page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login_page.text)
    assert csrf
    r = await client.post(
        "/login",
        data={"code": user.code + "\x00", "password": "x", "csrf_token": csrf.group(1)},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("query", ["tag=a%00b", "author=%00", "q=%1b", "unit=%0c", "cursor=%00"])
async def test_forbidden_characters_in_a_query_are_422(api, query):
    r = await api.get(f"/api/v1/posts?{query}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "query"


async def test_forbidden_characters_in_a_path_are_404(api, client, db):
    assert (await api.get("/api/v1/users/a%00b")).status_code == 404
    page_client = client
    page_client.headers.pop("Authorization")
    await login_as(page_client, await make_user(db))
    assert (await page_client.get("/users/a%00b")).status_code == 404
    assert (await page_client.get("/?tag=%00")).status_code == 422


async def test_comment_flag_note_and_hide_reason_with_a_nul(api, db, author, client):
    post = await make_post(db, author)
    r = await api.post(f"/api/v1/posts/{post.id}/comments", json={"body": "a\x00"})
    assert r.status_code == 422
    r = await api.post(f"/api/v1/posts/{post.id}/flags", json={"reason": "other", "note": "n\x00"})
    assert r.status_code == 422
    await curator_api(db, client)
    r = await client.post(f"/api/v1/posts/{post.id}/hide", json={"reason": "\x00"})
    assert r.status_code == 422
    assert (await count(db, "comments"), await count(db, "flags")) == (0, 0)
    status = await db.execute(sa.text(f"SELECT status FROM posts WHERE id = {post.id}"))
    assert status.scalar_one() == "published"


# ---------------------------------------------------------------------------------------
# 6. Ids


def _path_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.path_params
    for sub in dependant.dependencies:
        yield from _path_params(sub)


def _int_path_routes(app: FastAPI) -> list[tuple[Any, list[str]]]:
    """Every route (included routers flattened) with an int path parameter."""
    found = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            ints = [p for p in _path_params(route.dependant) if p.field_info.annotation is int]
            if ints:
                found.append((route, [p.name for p in ints]))
    return found


PATH_ID_METADATA = PathId.__metadata__  # type: ignore[attr-defined]


def test_every_int_path_param_is_a_path_id():
    """A new route with `post_id: int` instead of `post_id: PathId` fails here."""
    app = create_app()
    routes = _int_path_routes(app)
    assert len(routes) > 50
    for route, _names in routes:
        for param in _path_params(route.dependant):
            if param.field_info.annotation is int:
                assert PATH_ID_METADATA[0] in param.field_info.metadata, (route.path, param.name)


async def test_every_id_path_beyond_the_columns_is_404(app, client, db):
    admin = await make_user(db, role="admin")
    csrf = await login_as(client, admin)
    client.headers["X-CSRF-Token"] = csrf
    for route, names in _int_path_routes(app):
        for value in (BEYOND_INT4, BEYOND_INT8, 10**30):
            path = route.path_format
            for name in names:
                path = path.replace("{" + name + "}", str(value))
            path = re.sub(r"{\w+}", "x", path)
            for method in sorted(route.methods - {"HEAD"}):
                r = await client.request(method, path)
                assert r.status_code == 404, (method, path, r.status_code, r.text[:200])


async def test_in_range_ids_still_work(api, db, author):
    post = await make_post(db, author)
    assert (await api.get(f"/api/v1/posts/{post.id}")).status_code == 200
    assert (await api.get(f"/api/v1/posts/{MAX_ID}")).status_code == 404
    assert (await api.get("/api/v1/posts/0")).status_code == 404
    assert (await api.get("/api/v1/posts/abc")).status_code == 422


CURSOR_BEYOND_INT8 = "MTc5NjE1NTY2MzEwNzQ2NS45MjIzMzcyMDM2ODU0Nzc1ODA4"


def _cursor(micros: int, item_id: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{micros}.{item_id}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [CURSOR_BEYOND_INT8, _cursor(1796155663107465, BEYOND_INT4)])
async def test_a_cursor_with_an_impossible_id_is_422_on_api_and_pages(api, client, db, cursor):
    r = await api.get("/api/v1/posts", params={"cursor": cursor})
    assert r.status_code == 422
    assert (await api.get("/api/v1/notifications", params={"cursor": cursor})).status_code == 422
    client.headers.pop("Authorization")
    await login_as(client, await make_user(db))
    assert (await client.get("/", params={"cursor": cursor})).status_code == 422
    assert (await client.get("/feed/page", params={"cursor": cursor})).status_code == 422


async def test_body_ids_beyond_the_columns_are_422(api):
    for value in (BEYOND_INT4, BEYOND_INT8, 0):
        r = await api.post("/api/v1/notifications/read", json={"ids": [value]})
        assert r.status_code == 422, r.text
    r = await api.post("/api/v1/notifications/read", json={"ids": [MAX_ID]})
    assert r.status_code == 200


async def test_bulletin_items_by_id(client, db):
    await curator_api(db, client)
    r = await client.post("/api/v1/bulletins", json={"title": "Vol", "lead": ""})
    assert r.status_code == 201, r.text
    bulletin = r.json()["id"]
    r = await client.patch(
        f"/api/v1/bulletins/{bulletin}", json={"items": [{"post_id": BEYOND_INT4}]}
    )
    assert r.status_code == 422, r.text


async def test_a_form_id_beyond_the_columns_is_an_error_not_a_500(client, db):
    curator = await make_user(db, role="curator")
    csrf = await login_as(client, curator)
    client.headers["X-CSRF-Token"] = csrf
    r = await client.post("/api/v1/bulletins", json={"title": "Vol", "lead": ""})
    bulletin = r.json()["id"]
    r = await client.post(
        f"/bulletins/{bulletin}/items", data={"post_id": str(BEYOND_INT8), "csrf_token": csrf}
    )
    assert r.status_code in (404, 422), r.text
    r = await client.post(
        "/api/v1/flags/dismiss", json={"target": f"post:{BEYOND_INT4}", "reason": "x"}
    )
    assert r.status_code in (404, 422), r.text


# ---------------------------------------------------------------------------------------
# 6. Extreme days


async def test_extreme_days_are_clamped_on_the_api(api, db, author):
    post = await make_post(db, author)
    for params in (
        {"from": "0001-01-01"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "9999-12-31"},
    ):
        r = await api.get("/api/v1/posts", params=params)
        assert r.status_code == 200, r.text
        assert [p["id"] for p in r.json()["items"]] == [post.id]
    r = await api.get("/api/v1/posts", params={"from": "9999-12-31"})
    assert r.status_code == 200 and r.json()["items"] == []


async def test_extreme_days_on_the_audit_api_and_pages(client, db):
    curator = await make_user(db, role="curator")
    csrf = await login_as(client, curator)
    await make_post(db, curator, title="見える投稿")
    for path in ("/api/v1/audit", "/audit", "/"):
        for params in ({"from": "0001-01-01"}, {"to": "9999-12-31"}):
            r = await client.get(path, params=params, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 200, (path, params, r.text[:300])
    titles = [t.get_text(strip=True) for t in page(await client.get("/")).select(".post-title")]
    assert titles == ["見える投稿"]
    # The page's filters apply (a day far ahead leaves nothing), bad ones are ignored.
    assert not page(await client.get("/", params={"from": "2990-01-01"})).select(".post-card")
    assert page(await client.get("/", params={"from": "2025-13-01"})).select(".post-card")


# ---------------------------------------------------------------------------------------
# 4. Tags


async def test_thirty_thousand_tags_are_refused_at_once(api, db):
    tags = [f"t{i}" for i in range(30_000)]
    started = time.perf_counter()
    r = await api.post("/api/v1/posts", json={**PRAISE, "tags": tags})
    assert r.status_code == 422
    assert time.perf_counter() - started < 1.5
    assert await count(db, "tags") == 0


async def test_twenty_thousand_tags_in_the_form_are_refused_at_once(client, db):
    csrf = await login_as(client, await make_user(db))
    tags = " ".join(f"t{i}" for i in range(20_000))
    started = time.perf_counter()
    r = await client.post(
        "/posts", data={**FORM, "tags": tags, "csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 422
    assert time.perf_counter() - started < 1.5
    assert page(r).select_one("#err-tags")
    assert await count(db, "posts") == 0


async def test_eleven_tags_are_refused_ten_are_fine(api):
    tags = [f"t{i}" for i in range(11)]
    assert (await api.post("/api/v1/posts", json={**PRAISE, "tags": tags})).status_code == 422
    r = await api.post("/api/v1/posts", json={**PRAISE, "tags": tags[:10]})
    assert r.status_code == 201
    assert r.json()["tags"] == tags[:10]


async def test_one_tokenizer_for_the_form(client, db):
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        "/posts", data={**FORM, "tags": "電話、丁寧，#説明　お礼 電話,最後", "csrf_token": csrf}
    )
    assert r.status_code == 303, r.text
    shown = [t.get_text() for t in page(await client.get(r.headers["location"])).select(".tag")]
    assert shown == ["#電話", "#丁寧", "#説明", "#お礼", "#最後"]


# ---------------------------------------------------------------------------------------
# 8. OpenAPI documents the limits and choices


def test_openapi_documents_limits_enums_and_the_text_rule():
    schemas = create_app().openapi()["components"]["schemas"]
    create = schemas["PostCreate"]["properties"]
    assert (create["title"]["minLength"], create["title"]["maxLength"]) == (1, 120)
    assert create["body"]["maxLength"] == 10_000
    assert create["tags"]["maxItems"] == 10
    assert create["tags"]["items"]["maxLength"] == 40
    channel = next(s for s in create["channel"]["anyOf"] if s.get("type") == "string")
    assert "counter" in channel["enum"] and "telepathy" not in channel["enum"]
    pattern = re.compile(create["title"]["pattern"])
    assert pattern.match("ありがとう\r\n\t") and not pattern.match("a\x00b")
    assert schemas["CommentIn"]["properties"]["body"]["maxLength"] == 2000
    assert "personal_info" in schemas["FlagIn"]["properties"]["reason"]["enum"]
    update = schemas["PostUpdate"]["properties"]
    title = next(s for s in update["title"]["anyOf"] if s.get("type") == "string")
    assert title["maxLength"] == 120
    params = create_app().openapi()["paths"]["/api/v1/posts/{post_id}"]["get"]["parameters"]
    post_id = next(p for p in params if p["name"] == "post_id")["schema"]
    assert (post_id["minimum"], post_id["maximum"]) == (1, MAX_ID)


# ---------------------------------------------------------------------------------------
# 3. Memory: a real server refusing four 40 MB bodies at once


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    assert match
    return int(match.group(1)) / 1024


async def test_four_40_mb_bodies_at_once_leave_the_worker_under_250_mb(tmp_path):
    size = 40 * 1024 * 1024

    def send(port: int, declared: bool) -> int:
        """A raw HTTP/1.1 client that keeps sending until the server answers.

        A blocking socket, not an asyncio stream: the server closes with our unread bytes
        in its buffer, so the kernel resets the connection; a failed send must not throw
        away the answer that already arrived (asyncio's transport does), so the answer is
        read from the socket after sending stops, whatever stopped it.
        """
        framing = f"Content-Length: {size}" if declared else "Transfer-Encoding: chunked"
        chunk = b" " * (64 * 1024)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                f"POST /api/v1/posts HTTP/1.1\r\nHost: t\r\n"
                f"Content-Type: application/json\r\n{framing}\r\n\r\n".encode()
            )
            sent = 0
            try:
                while sent < size and not select.select([sock], [], [], 0)[0]:
                    sock.sendall(chunk if declared else b"%x\r\n%b\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
            except (ConnectionError, TimeoutError):
                pass  # answered and closed while we were still sending
            answer = b""
            while b"\r\n" not in answer:
                got = sock.recv(4096)
                assert got, f"closed without an answer after {sent} bytes"
                answer += got
        return int(answer.split()[1])

    with demo_database("mem", str(tmp_path)) as url, app_process(url) as (base, pid):
        port = int(base.rsplit(":", 1)[1])
        statuses = await asyncio.gather(
            *(asyncio.to_thread(send, port, i % 2 == 0) for i in range(4))
        )
        assert statuses == [413] * 4
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/healthz")).status_code == 200
        peak = _peak_rss_mb(pid)
        assert peak < 250, f"peak RSS {peak:.0f} MB"
