"""Rendered post cards are shared between viewers (app.templating.fragment): each viewer
still gets their own CSRF token, their own liked state, their language, and the card's
current data."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from app import templating
from tests.factories import login_as, make_post, make_user


def like_forms(html: str) -> list[BeautifulSoup]:
    return BeautifulSoup(html, "html.parser").select("form.like-form")


def card(html: str, post_id: int) -> BeautifulSoup:
    found = BeautifulSoup(html, "html.parser").select_one(f"#post-{post_id}")
    assert found is not None, f"post {post_id} is not on the page"
    return found


async def test_each_viewer_gets_their_own_csrf_token_in_shared_cards(db, make_client):
    author = await make_user(db)
    posts = [await make_post(db, author, title=f"共有カード {i}") for i in range(3)]
    first, second = make_client("10.0.0.5"), make_client("10.0.0.6")
    token_1 = await login_as(first, await make_user(db))
    token_2 = await login_as(second, await make_user(db))
    assert token_1 != token_2
    for client, mine, theirs in ((first, token_1, token_2), (second, token_2, token_1)):
        html = (await client.get("/")).text
        assert templating.CSRF_PLACEHOLDER not in html
        assert theirs not in html
        forms = [f for f in like_forms(html) if f.get("id") in {f"like-{p.id}" for p in posts}]
        assert len(forms) == 3
        assert {f.select_one("input[name=csrf_token]")["value"] for f in forms} == {mine}
        # The token in the card's form is accepted: a like without JavaScript works.
        given = forms[0].select_one("input[name=csrf_token]")["value"]
        r = await client.post(
            f"/posts/{posts[0].id}/like", data={"liked": "1", "csrf_token": given}
        )
        assert r.status_code in (200, 303)


async def test_a_card_shows_its_current_data_and_the_viewers_own_liked_state(db, make_client):
    author = await make_user(db)
    post = await make_post(db, author, title="最初の題名")
    fan, other = make_client("10.0.0.7"), make_client("10.0.0.8")
    fan_csrf = await login_as(fan, await make_user(db))
    await login_as(other, await make_user(db))
    before = card((await other.get("/")).text, post.id)
    assert before.select_one("[data-testid=like-count]").get_text() == "0"

    r = await fan.post(f"/posts/{post.id}/like", data={"liked": "1", "csrf_token": fan_csrf})
    assert r.status_code in (200, 303)
    fan_card = card((await fan.get("/")).text, post.id)
    other_card = card((await other.get("/")).text, post.id)
    assert fan_card.select_one("[data-testid=like-count]").get_text() == "1"
    assert other_card.select_one("[data-testid=like-count]").get_text() == "1"
    assert fan_card.select_one("button.like-button")["aria-pressed"] == "true"
    assert other_card.select_one("button.like-button")["aria-pressed"] == "false"

    post.title = "直した題名"
    db.add(post)
    await db.commit()
    assert "直した題名" in card((await other.get("/")).text, post.id).get_text()


async def test_the_same_card_in_each_viewers_language(db, make_client):
    author = await make_user(db)
    post = await make_post(db, author)
    ja, en = make_client("10.0.0.9"), make_client("10.0.0.10")
    await login_as(ja, await make_user(db, locale="ja"))
    await login_as(en, await make_user(db, locale="en"))
    ja_card = card((await ja.get("/")).text, post.id)
    en_card = card((await en.get("/")).text, post.id)
    assert "いいね" in ja_card.select_one("button.like-button").get_text()
    assert "Like" in en_card.select_one("button.like-button").get_text()
    assert "Like" not in ja_card.select_one("button.like-button").get_text()


async def test_the_cache_keeps_at_most_its_size(db, client, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(templating, "FRAGMENT_CACHE_SIZE", 5)
    templating.clear_fragments()
    author = await make_user(db)
    ids = [(await make_post(db, author, title=f"カード {i}")).id for i in range(8)]
    await login_as(client, await make_user(db))
    html = (await client.get("/")).text
    assert all(re.search(f'id="post-{i}"', html) for i in ids)
    assert templating.fragment_cache_stats()[0] == 5


async def test_the_cache_keeps_at_most_its_characters(db, client, monkeypatch: pytest.MonkeyPatch):
    """Long posts fill the cache by size long before they fill it by count."""
    monkeypatch.setattr(templating, "FRAGMENT_CACHE_CHARS", 50_000)
    templating.clear_fragments()
    author = await make_user(db)
    body = "お客さまから丁寧な説明への感謝をいただきました。" * 120  # 2,880 characters
    ids = [
        (await make_post(db, author, title=f"長文 {i}", body=body, body_html=f"<p>{body}</p>")).id
        for i in range(12)
    ]
    await login_as(client, await make_user(db))
    html = (await client.get("/")).text
    assert all(f'id="post-{i}"' in html for i in ids)  # every card is still shown
    entries, chars = templating.fragment_cache_stats()
    assert chars <= 50_000
    assert 0 < entries < 12


async def test_a_card_too_large_to_keep_is_still_rendered(
    db, client, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(templating, "FRAGMENT_MAX_CHARS", 1_000)
    templating.clear_fragments()
    author = await make_user(db)
    body = "長い本文です。" * 300
    post = await make_post(db, author, title="大きなカード", body=body, body_html=f"<p>{body}</p>")
    await login_as(client, await make_user(db))
    for _ in range(2):  # the card shows the post's beginning (its key holds all of it)
        assert body[:140] in card((await client.get("/")).text, post.id).get_text()
    assert templating.fragment_cache_stats() == (0, 0)  # the only card on the feed: not kept


async def test_a_shared_comment_shows_each_viewer_their_own_actions(db, make_client):
    author = await make_user(db)
    post = await make_post(db, author)
    writer, reader, curator = make_client("10.0.0.11"), make_client("10.0.0.12"), make_client()
    writer_csrf = await login_as(writer, await make_user(db))
    reader_csrf = await login_as(reader, await make_user(db))
    curator_csrf = await login_as(curator, await make_user(db, role="curator"))
    r = await writer.post(
        f"/posts/{post.id}/comments", data={"body": "素敵な対応です", "csrf_token": writer_csrf}
    )
    assert r.status_code in (200, 303)

    def actions(html: str) -> BeautifulSoup:
        found = BeautifulSoup(html, "html.parser").select("#comment-list li.comment")
        assert len(found) == 1
        return found[0]

    for _ in range(2):  # the second round is served from the cache
        mine = actions((await writer.get(f"/posts/{post.id}")).text)
        theirs = actions((await reader.get(f"/posts/{post.id}")).text)
        curated = actions((await curator.get(f"/posts/{post.id}")).text)
        assert mine.select_one("form[action$='/delete']") is not None
        assert mine.select_one("input[name=csrf_token]")["value"] == writer_csrf
        assert theirs.select_one("form[action$='/delete']") is None
        assert "Report" in theirs.get_text() or "報告" in theirs.get_text()
        assert reader_csrf not in str(mine) and writer_csrf not in str(theirs)
        assert curated.select_one(".curator-comment-actions") is not None
        assert theirs.select_one(".curator-comment-actions") is None
        hide = curated.select_one(".curator-comment-actions input[name=csrf_token]")
        assert hide is not None and hide["value"] == curator_csrf
