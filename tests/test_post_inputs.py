"""The composer and the JSON API read a post through one input model: the same text gives
the same tags, and the same input is accepted or refused alike, with the same field errors,
and stored alike."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.services.errors import generic_message
from tests.factories import login, make_user

# What a stored post is compared by (ids, times and counters differ between the two).
COMPARED = (
    "kind",
    "title",
    "body",
    "body_html",
    "status",
    "tags",
    "received_on",
    "channel",
    "product",
    "category",
    "praised",
    "unit",
)
PRAISE_ONLY = ("received_on", "channel", "product", "praised")


@pytest.fixture
async def author(client, db) -> dict[str, str]:
    """Signed in through the form; the API is called with the same session and CSRF header."""
    colleague = await make_user(db)
    csrf = await login(client, await make_user(db))
    client.headers["X-CSRF-Token"] = csrf
    return {"csrf": csrf, "colleague": colleague.code}


async def _by_form(client, csrf: str, typed: dict[str, Any]) -> tuple[int, Any]:
    """Send what was typed into the composer: (post id, None) or (None, field errors)."""
    r = await client.post("/posts", data={**typed, "csrf_token": csrf})
    if r.status_code == 303:
        return int(r.headers["location"].rsplit("/", 1)[1]), None
    assert r.status_code == 422, r.text
    page = BeautifulSoup(r.text, "html.parser")
    errors = {e["id"].removeprefix("err-"): e.text for e in page.select(".field-error")}
    if form_error := page.select_one(".form-error"):
        errors[""] = form_error.text
    return None, errors


async def _by_json(client, body: dict[str, Any]) -> tuple[int, Any]:
    r = await client.post("/api/v1/posts", json=body)
    if r.status_code == 201:
        return r.json()["id"], None
    assert r.status_code == 422, r.text
    errors: dict[str, str] = {}
    for e in r.json()["detail"]:
        loc = e["loc"][1:]  # after "body"
        # FastAPI's own refusals keep pydantic's English; the form says the common ones in
        # the user's language (services/errors.generic_message): the same error either way.
        errors.setdefault(str(loc[0]) if loc else "", generic_message(e["type"]) or e["msg"])
    return None, errors


def _json_twin(typed: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for what was typed: the kind's fields, blank ones not sent, the tag text
    as one item of the list (the service splits it as it splits the form's text box)."""
    body = {k: v for k, v in typed.items() if v != "" and k != "tags"}
    body["tags"] = [typed["tags"]] if typed["tags"].strip() else []
    other = ("category",) if typed["kind"] == "praise" else PRAISE_ONLY
    return {k: v for k, v in body.items() if k not in other}


async def _stored(client, post_id: int) -> dict[str, Any]:
    post = (await client.get(f"/api/v1/posts/{post_id}")).json()
    return {k: post[k] for k in COMPARED}


async def test_the_same_tag_text_gives_the_same_tags_from_the_form_and_the_api(client, author):
    form_id, _ = await _by_form(
        client,
        author["csrf"],
        {"kind": "knowhow", "title": "t", "body": "b", "category": "skill", "tags": "接客，丁寧"},
    )
    json_id, _ = await _by_json(
        client,
        {"kind": "knowhow", "title": "t", "body": "b", "category": "skill", "tags": ["接客，丁寧"]},
    )
    assert (await _stored(client, form_id))["tags"] == ["接客", "丁寧"]
    assert (await _stored(client, json_id))["tags"] == ["接客", "丁寧"]


words = st.text(alphabet="ありがとう接客 　", max_size=6)
tag_text = st.lists(
    st.sampled_from(["接客", "丁寧", "，", "、", ",", " ", "　", "#", "＃電話"]), max_size=8
).map("".join)

TOO_MANY_OR_LONG = [
    "長" * 41,
    " ".join("一二三四五六七八九十百"),
    "，".join("一二三四五六七八九十百"),
]


def mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """A good value three times in four, so that both outcomes are common."""
    return st.sampled_from(good * (3 * len(bad) or 1) + bad * len(good))


@st.composite
def typed_posts(draw: st.DrawFn, colleague: str) -> dict[str, Any]:
    """What a composer may send: both kinds' fields (the other kind's are left out), blanks,
    wrong choices, bad and future dates, unknown colleagues, too many or too long tags."""
    return {
        "kind": draw(st.sampled_from(["praise", "knowhow"])),
        "title": draw(st.sampled_from(["お礼", "接客の工夫"]) | words | st.just("題" * 121)),
        "body": draw(st.sampled_from(["ありがとう"]) | words),
        "status": draw(st.sampled_from(["published", "draft"])),
        "tags": draw(tag_text | tag_text | tag_text | st.sampled_from(TOO_MANY_OR_LONG)),
        "received_on": draw(mostly(["", "2024-05-01"], ["2024-13-01", "2999-01-01"])),
        "channel": draw(mostly(["phone", "counter"], ["", "fax"])),
        "product": draw(st.sampled_from(["", "auto", "life"])),
        "praised": draw(st.lists(mostly([colleague], ["NOBODY"]), max_size=2)),
        "category": draw(mostly(["skill", "tool"], ["", "magic"])),
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_the_form_and_the_api_accept_refuse_and_store_alike(client, author, data):
    typed = data.draw(typed_posts(author["colleague"]))
    form_id, form_errors = await _by_form(client, author["csrf"], typed)
    json_id, json_errors = await _by_json(client, _json_twin(typed))
    event("stored" if form_id else f"refused: {sorted(form_errors)}")
    assert form_errors == json_errors
    if form_id is not None:
        assert await _stored(client, form_id) == await _stored(client, json_id)
