"""Idempotency-Key on the creates a client may retry: the same key gets the first answer and
writes nothing, other content under the key is a 422, keys are per user and last 24 h, and
a concurrent duplicate makes one row (real commits, both databases)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.main import create_app
from app.models.base import utcnow
from app.services import idempotency
from app.services.errors import InvalidInput
from app.services.people.tokens import issue_token
from tests.factories import make_post, make_user
from tests.test_concurrency import _seed_users, committed  # noqa: F401 (a fixture)

PRAISE = {"kind": "praise", "title": "再送されても一件", "body": "本文", "channel": "counter"}


@pytest.fixture
async def author(db):
    return await make_user(db, name="冪等 太郎")


async def count(db, sql, **params):
    return (await db.execute(sa.text(sql), params)).scalar_one()


async def test_a_retried_post_answers_the_first_answer_and_writes_once(api, db):
    key = {"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}
    first = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    again = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert await count(db, "SELECT count(*) FROM posts") == 1
    # Without a key, or with another one, the same content is a new post.
    assert (await api.post("/api/v1/posts", json=PRAISE)).status_code == 201
    other = await api.post("/api/v1/posts", json=PRAISE, headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert await count(db, "SELECT count(*) FROM posts") == 3


async def test_the_same_key_with_other_content_is_a_422_and_writes_nothing(api, db):
    key = {"Idempotency-Key": "same-key"}
    assert (await api.post("/api/v1/posts", json=PRAISE, headers=key)).status_code == 201
    r = await api.post("/api/v1/posts", json={**PRAISE, "title": "別の投稿"}, headers=key)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "別の内容" in r.json()["detail"][0]["msg"]
    assert await count(db, "SELECT count(*) FROM posts") == 1


async def test_keys_are_per_user_and_last_a_day(api, client, db, author):
    key = {"Idempotency-Key": "shared-key"}
    first = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    colleague = await make_user(db)
    _row, token = await issue_token(db, colleague, name="t", scope="write", days=None)
    theirs = await client.post(
        "/api/v1/posts", json=PRAISE, headers={**key, "Authorization": f"Bearer {token}"}
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    # A day later the key is forgotten (and its row deleted on the next keyed request).
    await db.execute(
        sa.text("UPDATE idempotency_keys SET created_at = :t WHERE user_id = :u"),
        {"t": utcnow() - timedelta(hours=25), "u": author.id},
    )
    later = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert await count(db, "SELECT count(*) FROM posts") == 3
    assert await count(db, "SELECT count(*) FROM idempotency_keys") == 2


async def test_a_retried_comment_is_one_comment_and_the_counter_follows(api, db, author):
    post = await make_post(db, author)
    key = {"Idempotency-Key": "comment-1"}
    url = f"/api/v1/posts/{post.id}/comments"
    first = await api.post(url, json={"body": "ありがとうございます"}, headers=key)
    again = await api.post(url, json={"body": "ありがとうございます"}, headers=key)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    rows = await count(db, "SELECT count(*) FROM comments WHERE post_id = :p", p=post.id)
    counter = await count(db, "SELECT comment_count FROM posts WHERE id = :p", p=post.id)
    assert rows == counter == 1
    # The key of the comment is not a key of a post: other request, 422.
    r = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    assert r.status_code == 422


@pytest.mark.parametrize("bad", ["x" * 256, "tab\there", "ü-umlaut".encode(), '"'])
async def test_a_malformed_key_is_a_422_and_writes_nothing(api, db, bad):
    r = await api.post("/api/v1/posts", json=PRAISE, headers={"Idempotency-Key": bad})
    assert r.status_code == 422, r.text
    assert await count(db, "SELECT count(*) FROM posts") == 0


@given(st.text(max_size=300))
def test_parse_key_accepts_sf_strings_and_refuses_the_rest(raw):
    try:
        key = idempotency.parse_key(raw)
    except InvalidInput:
        return
    if key is None:
        assert raw == ""
    else:
        assert 1 <= len(key) <= 255 and all(0x20 <= ord(c) < 0x7F and c not in '"\\' for c in key)
        assert idempotency.parse_key(f'"{key}"') == key


async def test_concurrent_duplicates_make_one_post(committed):  # noqa: F811
    _post_id, tokens = await _seed_users(committed, 1)
    transport = httpx.ASGITransport(app=create_app())
    headers = {"Authorization": f"Bearer {tokens[0]}", "Idempotency-Key": "race-1"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        results = await asyncio.gather(
            *(client.post("/api/v1/posts", json=PRAISE, headers=headers) for _ in range(8))
        )
    codes = [r.status_code for r in results]
    assert set(codes) <= {201, 409} and 201 in codes, [r.text for r in results]
    assert len({r.json()["id"] for r in results if r.status_code == 201}) == 1
    async with committed() as db:
        made = await count(db, "SELECT count(*) FROM posts WHERE title = :t", t=PRAISE["title"])
    assert made == 1


async def test_an_answer_lost_after_the_commit_is_made_again_from_the_row(api, db):
    # The database went away between the create's commit and the stored answer.
    key = {"Idempotency-Key": "lost-answer"}
    first = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    await db.execute(sa.text("UPDATE idempotency_keys SET status_code = NULL, body = NULL"))
    again = await api.post("/api/v1/posts", json=PRAISE, headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert await count(db, "SELECT count(*) FROM posts") == 1


async def test_the_composer_form_submitted_twice_is_one_post(client, db):
    from bs4 import BeautifulSoup

    from tests.factories import login_as

    csrf = await login_as(client, await make_user(db))
    page = BeautifulSoup((await client.get("/posts/new")).text, "html.parser")
    field = page.select_one("form input[name=idempotency_key]")
    assert field is not None and len(field["value"]) >= 20
    form = {
        "kind": "praise",
        "title": "二度押しでも一件",
        "body": "本文",
        "channel": "phone",
        "status": "published",
        "csrf_token": csrf,
        "idempotency_key": field["value"],
    }
    first = await client.post("/posts", data=form)
    again = await client.post("/posts", data=form)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert await count(db, "SELECT count(*) FROM posts") == 1
    # Each rendering of the composer carries a fresh key.
    other = BeautifulSoup((await client.get("/posts/new")).text, "html.parser")
    assert other.select_one("input[name=idempotency_key]")["value"] != field["value"]


@pytest.mark.parametrize("htmx", [False, True])
async def test_the_comment_form_submitted_twice_is_one_comment(client, db, htmx):
    from bs4 import BeautifulSoup

    from tests.factories import login_as

    author = await make_user(db)
    post = await make_post(db, author)
    csrf = await login_as(client, await make_user(db))
    page = BeautifulSoup((await client.get(f"/posts/{post.id}")).text, "html.parser")
    field = page.select_one("#comment-form input[name=idempotency_key]")
    assert field is not None and len(field["value"]) >= 20
    form = {"body": "二度押しでも一件", "csrf_token": csrf, "idempotency_key": field["value"]}
    headers = {"HX-Request": "true"} if htmx else {}
    first = await client.post(f"/posts/{post.id}/comments", data=form, headers=headers)
    again = await client.post(f"/posts/{post.id}/comments", data=form, headers=headers)
    assert first.status_code == again.status_code == (200 if htmx else 303)
    if htmx:  # the second answer shows the first comment and the count of one, not two
        shown = BeautifulSoup(again.text, "html.parser")
        assert "二度押しでも一件" in shown.get_text()
        fresh = shown.select_one("#comment-form input[name=idempotency_key]")["value"]
        assert fresh != field["value"]  # the next comment gets a key of its own
    else:
        assert again.headers["location"] == first.headers["location"]
    assert await count(db, "SELECT count(*) FROM comments") == 1
    assert await count(db, f"SELECT comment_count FROM posts WHERE id = {post.id}") == 1
    # The same key with other text is refused and writes nothing.
    other = {**form, "body": "別の文"}
    r = await client.post(f"/posts/{post.id}/comments", data=other, headers=headers)
    assert r.status_code == 422
    assert await count(db, "SELECT count(*) FROM comments") == 1
