"""The KPI keeps computed matrices per data version: a cached answer is never stale.

Every change the matrix depends on (posts, units, month closes and snapshots), made by any
code path, even raw SQL, moves `kpi_version` in the same transaction, so the next answer is
computed afresh; a version seen inside a rolled-back transaction never comes back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import clock
from app.services import kpi, moderation
from tests.factories import login_as, make_post, make_unit, make_user

FY = 2025


async def matrix(db, **kw) -> dict:
    return kpi.matrix_json(await kpi.praise_matrix(db, FY, **kw))


async def fresh(db, **kw) -> dict:
    """The same figures with nothing cached."""
    kpi.clear_cache()
    return await matrix(db, **kw)


def company_counts(answer: dict) -> list[int]:
    return answer["total"]["counts"]


async def test_repeated_requests_are_served_from_the_cache(db):
    shop = await make_unit(db)
    author = await make_user(db, unit=shop)
    await make_post(db, author, received_on=date(2025, 4, 3))
    first = await kpi.praise_matrix(db, FY)
    assert await kpi.praise_matrix(db, FY) is first  # same version: not recomputed
    assert (await fresh(db))["total"]["total"] == 1


async def test_a_change_made_in_raw_sql_is_seen_at_once(db):
    shop = await make_unit(db)
    author = await make_user(db, unit=shop)
    post = await make_post(db, author, received_on=date(2025, 4, 3))
    assert company_counts(await matrix(db))[0] == 1
    await db.execute(
        sa.text("UPDATE posts SET received_on = :d WHERE id = :p"),
        {"d": date(2025, 6, 9), "p": post.id},
    )
    counts = company_counts(await matrix(db))
    assert counts[0] == 0 and counts[2] == 1
    await db.execute(sa.text("UPDATE posts SET status = 'hidden' WHERE id = :p"), {"p": post.id})
    assert (await matrix(db))["total"]["total"] == 0


async def test_unit_rename_and_move_are_seen_at_once(db):
    region = await make_unit(db, kind="region", name="関東")
    other = await make_unit(db, kind="region", name="関西")
    shop = await make_unit(db, parent_id=region.id)
    author = await make_user(db, unit=shop)
    await make_post(db, author, received_on=date(2025, 5, 1))
    before = await matrix(db, unit=region.code)
    assert [r["unit"]["name"] for r in before["rows"]] == [shop.name]
    await db.execute(sa.text("UPDATE org_units SET name = '新宿店' WHERE id = :u"), {"u": shop.id})
    assert [r["unit"]["name"] for r in (await matrix(db, unit=region.code))["rows"]] == ["新宿店"]
    await db.execute(
        sa.text("UPDATE org_units SET parent_id = :p WHERE id = :u"),
        {"p": other.id, "u": shop.id},
    )
    assert (await matrix(db, unit=region.code))["total"]["total"] == 0
    assert (await matrix(db, unit=other.code))["total"]["total"] == 1


async def test_closing_and_reopening_a_month_is_seen_at_once(db):
    shop = await make_unit(db)
    author = await make_user(db, unit=shop)
    curator = await make_user(db, role="curator")
    admin = await make_user(db, role="admin")
    post = await make_post(db, author, received_on=date(2025, 4, 3))
    clock.set_clock(lambda: datetime(2025, 6, 15, 3, tzinfo=UTC))
    try:
        assert (await matrix(db))["closed_months"] == []
        await kpi.close_month(db, curator, date(2025, 4, 1))
        assert (await matrix(db))["closed_months"] == ["2025-04"]
        await moderation.hide_post(db, curator, post, "個人情報")
        answer = await matrix(db)
        assert answer["total"]["counts"][0] == 1  # frozen
        assert answer["total"]["corrections"][0] == -1  # the hide shows as a correction
        await kpi.reopen_month(db, admin, date(2025, 4, 1), approved=True)  # two people agreed
        assert (await matrix(db))["closed_months"] == []
        assert (await matrix(db))["total"]["counts"][0] == 0
    finally:
        clock.set_clock(None)


async def test_a_rolled_back_version_never_serves_later_data(db):
    """Inside a transaction that rolls back, the version moves and a matrix is cached under it;
    the version must never come back with other data behind it (a counter would)."""
    shop = await make_unit(db)
    author = await make_user(db, unit=shop)
    await make_post(db, author, received_on=date(2025, 4, 3))
    assert company_counts(await matrix(db))[:2] == [1, 0]
    savepoint = await db.begin_nested()
    await db.execute(
        sa.text("UPDATE posts SET received_on = :d WHERE author_id = :a"),
        {"d": date(2025, 5, 3), "a": author.id},
    )
    assert company_counts(await matrix(db))[:2] == [0, 1]  # cached under the moved version
    await savepoint.rollback()
    assert company_counts(await matrix(db))[:2] == [1, 0]
    # Another change after the rollback: a different month moves.
    await make_post(db, author, received_on=date(2025, 6, 3))
    assert company_counts(await matrix(db))[:3] == [1, 0, 1]


async def test_the_api_answers_the_new_figure_right_after_a_hide(client, db):
    shop = await make_unit(db)
    author = await make_user(db, unit=shop)
    curator = await make_user(db, role="curator")
    post = await make_post(db, author, received_on=date(2025, 4, 3))
    csrf = await login_as(client, curator)
    url = f"/api/v1/kpi/praise?fy={FY}&unit={shop.code}"
    assert (await client.get(url)).json()["total"]["total"] == 1
    response = await client.post(
        f"/api/v1/posts/{post.id}/hide",
        json={"reason": "個人情報"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200, response.text
    assert (await client.get(url)).json()["total"]["total"] == 0


OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "move_month", "move_unit", "status", "rename", "kind"]),
        st.integers(0, 11),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(OPS)
async def test_cached_answers_equal_fresh_ones_after_any_history(db, ops):
    region = await make_unit(db, kind="region")
    shops = [await make_unit(db, parent_id=region.id) for _ in range(3)]
    author = await make_user(db, unit=shops[0])
    post_ids: list[int] = []
    for op, month_index, shop_index in ops:
        month = date(2025 + (month_index + 3) // 12, (month_index + 3) % 12 + 1, 1)
        target = post_ids[month_index % len(post_ids)] if post_ids else None
        if op == "add" or target is None:
            post = await make_post(db, author, unit_id=shops[shop_index].id, received_on=month)
            assert post.id is not None
            post_ids.append(post.id)
        elif op == "move_month":
            await db.execute(
                sa.text("UPDATE posts SET received_on = :d WHERE id = :p"),
                {"d": month, "p": target},
            )
        elif op == "move_unit":
            await db.execute(
                sa.text("UPDATE posts SET unit_id = :u WHERE id = :p"),
                {"u": shops[shop_index].id, "p": target},
            )
        elif op == "status":
            status = ["published", "hidden", "deleted"][shop_index]
            await db.execute(
                sa.text("UPDATE posts SET status = :s WHERE id = :p"), {"s": status, "p": target}
            )
        elif op == "kind":
            kind = "knowhow" if shop_index else "praise"
            await db.execute(
                sa.text("UPDATE posts SET kind = :k WHERE id = :p"), {"k": kind, "p": target}
            )
        else:
            await db.execute(
                sa.text("UPDATE org_units SET name = :n WHERE id = :u"),
                {"n": f"店舗{month_index}", "u": shops[shop_index].id},
            )
        for kw in ({}, {"unit": region.code}, {"unit": region.code, "depth": 2}):
            cached = await matrix(db, **kw)
            assert cached == await fresh(db, **kw)
            await matrix(db, **kw)  # leave it in the cache for the next step
