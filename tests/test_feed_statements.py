"""The feed's statements are built once per distinct input and used again (services.feed)."""

from __future__ import annotations

from app.services import feed
from app.services.feed import FeedFilters
from tests.factories import make_post, make_unit, make_user


async def test_a_reused_statement_never_answers_for_other_inputs(db) -> None:
    shop_a, shop_b = await make_unit(db), await make_unit(db)
    alice, bob = await make_user(db, shop_a), await make_user(db, shop_b)
    a_post = await make_post(db, alice, title="A店の声")
    b_post = await make_post(db, bob, title="B店の声", kind="knowhow", channel=None)
    for _ in range(2):  # the second round runs the kept statements
        by_a = [c.id for c in (await feed.list_posts(db, bob, FeedFilters(unit=shop_a.code)))[0]]
        by_b = [c.id for c in (await feed.list_posts(db, bob, FeedFilters(unit=shop_b.code)))[0]]
        praise = [c.id for c in (await feed.list_posts(db, bob, FeedFilters(kind="praise")))[0]]
        mine = [
            c.id for c in (await feed.list_posts(db, bob, FeedFilters(), only_author_id=bob.id))[0]
        ]
        assert (by_a, by_b, praise, mine) == ([a_post.id], [b_post.id], [a_post.id], [b_post.id])


async def test_at_most_so_many_statements_are_kept(db) -> None:
    viewer = await make_user(db)
    for n in range(feed.FEED_STATEMENT_CACHE + 5):
        await feed.list_posts(db, viewer, FeedFilters(tag=f"タグ{n}"))
    info = feed._feed_statement.cache_info()
    assert info.currsize == info.maxsize == feed.FEED_STATEMENT_CACHE
