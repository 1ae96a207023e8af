"""Reactions on the pages: the buttons on every card (aria-pressed, counts), a click with
HTMX swaps them in place (and, on the post page, the "who reacted" list out of band),
without JavaScript the form posts and comes back; an unknown kind is a 422."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import login_as, make_post, make_user, soup


def htmx(csrf: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": csrf}


async def test_every_card_offers_the_four_reactions(client, db):
    post = await make_post(db, await make_user(db))
    await login_as(client, await make_user(db))
    for page in ("/", f"/posts/{post.id}"):
        card = soup((await client.get(page)).text).select_one(f"#post-{post.id}")
        group = card.select_one("[data-testid=reactions]")
        assert group["role"] == "group" and group["aria-label"] == "スタンプ"
        buttons = group.select("button.reaction-button")
        assert [b["data-kind"] for b in buttons] == ["thanks", "great", "helpful", "want_to_try"]
        assert [b.get_text(" ", strip=True) for b in buttons] == [
            "🙏 ありがとう 0",
            "👏 すごい 0",
            "💡 参考になる 0",
            "🙋 やってみたい 0",
        ]
        assert {b["aria-pressed"] for b in buttons} == {"false"}


async def test_a_click_swaps_the_buttons_and_the_reactors_in_place(client, db):
    post = await make_post(db, await make_user(db))
    fan = await make_user(db, name="反応 花子")
    csrf = await login_as(client, fan)
    r = await client.post(
        f"/posts/{post.id}/reactions/helpful",
        data={"reacted": "1", "full": "1"},
        headers=htmx(csrf),
    )
    assert r.status_code == 200
    page = soup(r.text)
    group = page.select_one(f"#reactions-{post.id}")
    button = group.select_one("button[data-kind=helpful]")
    assert button["aria-pressed"] == "true"
    assert group.select_one("[data-testid=reaction-count-helpful]").text == "1"
    assert button.find_parent("form").select_one("input[name=reacted]")["value"] == "0"
    reactors = page.select_one(f"#reactors-{post.id}")
    assert reactors["hx-swap-oob"] == "true"
    assert reactors.select_one("[data-testid=reactors-helpful]").get_text(" ", strip=True) == (
        "参考になる 反応 花子"
    )
    # The same click again (a double submit) keeps one reaction.
    r = await client.post(
        f"/posts/{post.id}/reactions/helpful",
        data={"reacted": "1", "full": "1"},
        headers=htmx(csrf),
    )
    assert soup(r.text).select_one("[data-testid=reaction-count-helpful]").text == "1"
    # From the feed (no full=1): the buttons only, nothing out of band that has no target.
    r = await client.post(
        f"/posts/{post.id}/reactions/great", data={"reacted": "1"}, headers=htmx(csrf)
    )
    assert soup(r.text).select("[hx-swap-oob]") == []
    # The post page shows who reacted.
    detail = soup((await client.get(f"/posts/{post.id}")).text)
    assert detail.select_one("[data-testid=reactors-great]").get_text(" ", strip=True) == (
        "すごい 反応 花子"
    )


async def test_without_javascript_the_form_posts_and_comes_back(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/reactions/want_to_try",
        data={"reacted": "1", "csrf_token": csrf},
        headers={"Referer": f"http://test/posts/{post.id}"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/posts/{post.id}"
    count = (
        await db.execute(
            sa.text("SELECT want_to_try_count FROM posts WHERE id = :p"), {"p": post.id}
        )
    ).scalar_one()
    assert count == 1
    page = soup((await client.get(f"/posts/{post.id}")).text)
    assert page.select_one("button[data-kind=want_to_try]")["aria-pressed"] == "true"
    r = await client.post(
        f"/posts/{post.id}/reactions/want_to_try", data={"reacted": "0", "csrf_token": csrf}
    )
    assert r.status_code == 303
    page = soup((await client.get(f"/posts/{post.id}")).text)
    assert page.select_one("[data-testid=reaction-count-want_to_try]").text == "0"
    assert page.select_one("[data-testid=reactors]").select_one(".muted").text == (
        "スタンプはまだありません。"
    )


@pytest.mark.parametrize("kind", ["like", "Thanks", "x" * 40])
async def test_an_unknown_kind_is_422(client, db, kind):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/reactions/{kind}", data={"reacted": "1"}, headers=htmx(csrf)
    )
    assert r.status_code == 422
    count = (await db.execute(sa.text("SELECT count(*) FROM reactions"))).scalar_one()
    assert count == 0


async def test_a_hidden_post_shows_counts_without_buttons_to_its_author(client, db):
    author = await make_user(db)
    post = await make_post(db, author, status="hidden", thanks_count=2)
    await login_as(client, author)
    card = soup((await client.get(f"/posts/{post.id}")).text).select_one(f"#post-{post.id}")
    assert card.select("button.reaction-button") == []
    assert [s.get_text(" ", strip=True) for s in card.select(".reaction-static")] == [
        "🙏 ありがとう 2"
    ]
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/reactions/thanks", data={"reacted": "1"}, headers=htmx(csrf)
    )
    assert r.status_code == 404


async def test_english_labels(client, db):
    post = await make_post(db, await make_user(db))
    await login_as(client, await make_user(db, locale="en"))
    card = soup((await client.get(f"/posts/{post.id}")).text).select_one(f"#post-{post.id}")
    assert [b.get_text(" ", strip=True) for b in card.select("button.reaction-button")] == [
        "🙏 Thanks 0",
        "👏 Great 0",
        "💡 Helpful 0",
        "🙋 Want to try 0",
    ]
    assert card.select_one("button[data-kind=great]")["title"] == "React with “Great”"
