"""The maintained monthly roll-up never disagrees with the posts: after every kind of change
it equals a recount from scratch."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.fiscal import fiscal_year_months
from app.services import kpi, moderation
from app.services import posts as post_service
from tests.factories import make_post, make_unit, make_user

MONTHS = fiscal_year_months(2024) + fiscal_year_months(2025)


async def assert_rollup_equals_recount(db):
    assert await kpi.live_counts(db, MONTHS) == {
        unit: counts for unit, counts in (await kpi.recount(db, MONTHS)).items() if any(counts)
    }


async def test_every_change_moves_the_rollup(db):
    shop_a, shop_b = await make_unit(db), await make_unit(db)
    author = await make_user(db, unit=shop_a)
    curator = await make_user(db, role="curator")
    p1 = await post_service.create_post(
        db,
        author,
        {
            "kind": "praise",
            "title": "t",
            "body": "b",
            "channel": "phone",
            "received_on": date(2025, 3, 31),
        },
    )
    p2 = await make_post(db, author, received_on=date(2025, 4, 1))
    await make_post(db, author, kind="knowhow", category="tool", channel=None, received_on=None)
    await make_post(db, author, status="draft", received_on=date(2025, 5, 5))
    await assert_rollup_equals_recount(db)
    await post_service.update_post(db, author, p1, {"received_on": "2024-12-24"})
    await assert_rollup_equals_recount(db)
    await moderation.hide_post(db, curator, p2, "個人情報")
    await assert_rollup_equals_recount(db)
    await moderation.restore_post(db, curator, p2)
    await assert_rollup_equals_recount(db)
    await post_service.delete_post(db, p1)
    await assert_rollup_equals_recount(db)
    # A change made outside the services (a data fix in SQL) is followed too.
    await db.execute(
        sa.text("UPDATE posts SET unit_id = :u WHERE id = :p"), {"u": shop_b.id, "p": p2.id}
    )
    await assert_rollup_equals_recount(db)
    p3 = await make_post(db, author, received_on=date(2025, 6, 1))
    await assert_rollup_equals_recount(db)
    await db.execute(sa.text("DELETE FROM posts WHERE id = :p"), {"p": p3.id})
    await assert_rollup_equals_recount(db)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 23),
            st.sampled_from(["published", "hidden", "draft", "deleted"]),
            st.integers(0, 23),
        ),
        min_size=1,
        max_size=12,
    )
)
async def test_random_histories_agree(db, history):
    unit = await make_unit(db)
    author = await make_user(db, unit=unit)
    for month_index, status, later_month in history:
        first = MONTHS[month_index]
        post = await make_post(db, author, received_on=first.replace(day=15))
        post.status = status
        post.received_on = MONTHS[later_month].replace(day=1)
        db.add(post)
        await db.commit()
    await assert_rollup_equals_recount(db)
    await db.execute(sa.text("DELETE FROM posts WHERE author_id = :a"), {"a": author.id})
    await db.commit()
