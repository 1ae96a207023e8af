"""What one action changes, changes everywhere on the page: the HX-Trigger an HTMX answer
sends (app/events.py HxEvents), the data-count marks on every place a page shows that
number, and the post page's liked-by list that fetches itself again after a like."""

from __future__ import annotations

import json

import pytest

from app.events import Counts, HxEvents
from app.services import comments as comment_service
from app.services import flags, moderation
from tests.factories import HX, login_as, make_post, make_user, soup


def _trigger(response) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response.headers["HX-Trigger"])


async def test_every_place_showing_a_comment_count_is_marked(client, db):
    author = await make_user(db)
    post = await make_post(db, author, title="数の印")
    await comment_service.add_comment(db, author, post, "ひとつ目")
    await login_as(client, await make_user(db))
    key = Counts.comments(post.id)

    page = soup(await client.get(f"/posts/{post.id}"))
    shown = [el.get_text() for el in page.select(f'[data-count="{key}"]')]
    assert shown == ["1", "1"]  # the card and the comments heading
    assert page.select_one(".post-card [data-testid=comment-count]")["data-count"] == key
    assert page.select_one("[data-testid=comment-total]")["data-count"] == key
    # The empty state is on the page while hidden, for the first comment's answer to hide.
    assert page.select_one("#no-comments").has_attr("hidden")

    feed = soup(await client.get("/"))
    assert feed.select_one(f'#post-{post.id} [data-count="{key}"]').get_text() == "1"


async def test_adding_and_deleting_comments_sends_the_count(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    hx = HX | {"X-CSRF-Token": csrf}
    key = Counts.comments(post.id)

    first = await client.post(f"/posts/{post.id}/comments", data={"body": "一つ目"}, headers=hx)
    assert _trigger(first) == {HxEvents.counts: {key: 1}}
    second = await client.post(f"/posts/{post.id}/comments", data={"body": "二つ目"}, headers=hx)
    assert _trigger(second) == {HxEvents.counts: {key: 2}}
    # The empty state is hidden out of band; the post page always has it to be a target.
    assert soup(second).select_one("#no-comments[hx-swap-oob]").has_attr("hidden")

    ids = [li["id"].removeprefix("comment-") for li in soup(first).select("li.comment")]
    ids += [li["id"].removeprefix("comment-") for li in soup(second).select("li.comment")]
    r = await client.post(f"/comments/{ids[1]}/delete", headers=hx)
    assert _trigger(r) == {HxEvents.counts: {key: 1}}
    assert soup(r).select_one("#no-comments") is None  # one comment is left
    r = await client.post(f"/comments/{ids[0]}/delete", headers=hx)
    assert _trigger(r) == {HxEvents.counts: {key: 0}}
    shown = soup(r).select_one("#no-comments[hx-swap-oob]")
    assert shown is not None and not shown.has_attr("hidden")

    # The answer's markup no longer carries the count itself (the header does).
    assert soup(first).select_one("#comment-count") is None


async def test_a_like_refreshes_the_liked_by_list(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    fan = await make_user(db, name="いいね 花子")
    csrf = await login_as(client, fan)
    hx = HX | {"X-CSRF-Token": csrf}
    event = HxEvents.likes_changed(post.id)

    page = soup(await client.get(f"/posts/{post.id}"))
    section = page.select_one("section#likers")
    assert section["hx-trigger"] == f"{event} from:body, sse:likes-{post.id}"
    assert section["hx-get"] == f"/posts/{post.id}/likers"
    assert "いいね 花子" not in section.get_text()

    r = await client.post(f"/posts/{post.id}/like", data={"liked": "1"}, headers=hx)
    assert _trigger(r) == {event: None}
    listed = await client.get(f"/posts/{post.id}/likers", headers=HX)
    assert listed.status_code == 200
    assert "いいね 花子" in soup(listed).select_one("section#likers").get_text()

    r = await client.post(f"/posts/{post.id}/like", data={"liked": "0"}, headers=hx)
    assert _trigger(r) == {event: None}
    listed = soup(await client.get(f"/posts/{post.id}/likers", headers=HX))
    assert "いいね 花子" not in listed.get_text()

    # Without JavaScript the list is on the post page.
    r = await client.get(f"/posts/{post.id}/likers")
    assert r.status_code == 303 and r.headers["location"] == f"/posts/{post.id}#likers"


@pytest.mark.parametrize(
    ("status", "viewer", "code"),
    [
        ("published", "other", 200),
        ("draft", "author", 200),
        ("draft", "other", 404),
        ("draft", "curator", 404),
        ("hidden", "author", 200),
        ("hidden", "other", 404),
        ("hidden", "curator", 200),
    ],
)
async def test_who_may_read_the_liked_by_list(client, db, status, viewer, code):
    author = await make_user(db)
    post = await make_post(db, author, status=status)
    who = {
        "author": author,
        "other": await make_user(db),
        "curator": await make_user(db, role="curator"),
    }[viewer]
    await login_as(client, who)
    r = await client.get(f"/posts/{post.id}/likers", headers=HX)
    assert r.status_code == code
    page = await client.get(f"/posts/{post.id}")
    assert page.status_code == code  # the same rule as the post page


async def test_a_dismissal_sends_the_open_report_count(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    other = await make_post(db, author, title="もう一つ")
    for target in (post, other):
        await flags.flag(db, await make_user(db), target, None, "other", None)
    curator = await make_user(db, role="curator")
    csrf = await login_as(client, curator)
    before = await moderation.open_flag_count(db, curator)

    page = soup(await client.get("/moderation"))
    assert page.select_one(f'[data-count="{Counts.open_flags}"]').get_text() == str(before)

    r = await client.post(
        "/moderation/flags/dismiss",
        data={"target": f"post:{post.id}", "from": "queue"},
        headers=HX | {"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200
    counts = _trigger(r)[HxEvents.counts]
    assert counts[Counts.open_flags] == before - 1 == await moderation.open_flag_count(db, curator)
    assert soup(r).select_one(f"#flag-group-post-{post.id}.resolved")
