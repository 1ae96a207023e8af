"""The post page shows a post's first comments and "more" for the next ones in place; a link
to one comment shows them all (services/comments.page_of_comments, routes/post_page.py)."""

from __future__ import annotations

import pytest

from app import links
from app.models import Comment, Post, User
from app.services import comments as comment_service
from app.services import flags, moderation
from app.services.comments import COMMENTS_PAGE
from tests.factories import login_as, make_post, make_unit, make_user, soup

N = COMMENTS_PAGE * 2 + 20  # two full pages and a part


def _shown(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(li["id"].split("-")[1]) for li in page.select("li.comment")]


def _more(page) -> str | None:  # type: ignore[no-untyped-def]
    link = page.select_one("#comments-more a")
    return link["hx-get"] if link else None


@pytest.fixture
async def thread(db) -> tuple[Post, list[Comment], User]:
    shop = await make_unit(db)
    author = await make_user(db, shop)
    post = await make_post(db, author)
    people = [await make_user(db, shop) for _ in range(3)]
    made = [
        await comment_service.add_comment(db, people[n % 3], post, f"コメント{n}") for n in range(N)
    ]
    return post, made, people[0]


async def test_the_first_page_then_more_then_the_rest(client, db, thread):
    post, made, reader = thread
    await login_as(client, reader)
    page = soup(await client.get(f"/posts/{post.id}"))
    assert _shown(page) == [c.id for c in made[:COMMENTS_PAGE]]
    assert page.select_one("[data-testid=comment-total]").text == str(N)
    more = page.select_one("#comments-more a")
    assert more["href"] == f"/posts/{post.id}?comments=all#comments"  # without script: all
    seen = _shown(page)
    url = _more(page)
    while url:
        part = soup(await client.get(url, headers={"HX-Request": "true"}))
        assert part.select_one("li[autofocus]").text.strip() == (
            f"さらに{len(_shown(part))}件のコメント"
        )
        seen += _shown(part)
        url = _more(part)
    assert seen == [c.id for c in made]  # each once, in order


async def test_a_comment_written_after_the_first_page_is_not_read_twice(client, db, thread):
    """It reaches an open page live (at the end of the list); "more" stops where the first
    page was read, so the last page does not bring it again."""
    post, made, reader = thread
    await login_as(client, reader)
    page = soup(await client.get(f"/posts/{post.id}"))
    late = await comment_service.add_comment(db, reader, post, "あとから")
    seen, url = _shown(page), _more(page)
    while url:
        part = soup(await client.get(url))
        seen, url = seen + _shown(part), _more(part)
    assert late.id not in seen and seen == [c.id for c in made]
    everything = soup(await client.get(f"/posts/{post.id}?comments=all"))
    assert _shown(everything) == [*seen, late.id] and _more(everything) is None


async def test_hidden_comments_stay_hidden_on_every_page(client, db, thread):
    post, made, reader = thread
    curator = await make_user(db, role="curator")
    gone = made[COMMENTS_PAGE + 5]  # on the second page
    await moderation.hide_comment(db, curator, gone, "個人情報")
    for who, sees in ((reader, False), (curator, True)):
        await login_as(client, who)
        page = soup(await client.get(f"/posts/{post.id}"))
        part = soup(await client.get(_more(page)))
        assert (gone.id in _shown(part)) is sees
        assert len(_shown(part)) == COMMENTS_PAGE  # a full page either way


async def test_a_link_to_one_comment_shows_them_all(client, db, thread):
    post, made, reader = thread
    last = made[-1]
    url = f"/posts/{post.id}" + links.one_comment(last.id)
    assert url == f"/posts/{post.id}?comments=all#comment-{last.id}"
    await login_as(client, reader)
    page = soup(await client.get(url.split("#")[0]))
    assert page.select_one(f"#comment-{last.id}") is not None and _more(page) is None
    # the moderation queue links a reported comment that way
    curator = await make_user(db, role="curator")
    await flags.flag(db, reader, post, last, "personal_info", "電話番号")
    await login_as(client, curator)
    queue = soup(await client.get("/moderation"))
    assert queue.select_one(f'a[href="{url}"]') is not None


async def test_a_short_thread_has_no_more(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    await comment_service.add_comment(db, author, post, "ひとつだけ")
    await login_as(client, author)
    page = soup(await client.get(f"/posts/{post.id}"))
    assert len(_shown(page)) == 1 and _more(page) is None


@pytest.mark.parametrize("query", ["", "after=1", "upto=1", "after=0&upto=5", "after=x&upto=5"])
async def test_bad_paging_is_a_422(client, db, thread, query):
    post, _made, reader = thread
    await login_as(client, reader)
    r = await client.get(f"/posts/{post.id}/comments?{query}")
    assert r.status_code == 422


async def test_more_of_a_post_one_may_not_see_is_a_404(client, db, thread):
    post, made, reader = thread
    curator = await make_user(db, role="curator")
    await moderation.hide_post(db, curator, post, "理由")
    await login_as(client, reader)
    r = await client.get(f"/posts/{post.id}/comments?after={made[0].id}&upto={made[-1].id}")
    assert r.status_code == 404
    assert "この投稿は存在しないか、閲覧する権限がありません。" in r.text
