"""Bulletins (好取組情報): who may do what, numbering, scheduling, audience, read receipts,
横展開 answers and statistics, the print view, the editor's HTMX partials."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from app import clock
from app.models import (
    AuditEntry,
    Bulletin,
    BulletinItem,
    BulletinRead,
    OrgUnit,
    Post,
    ReactionKind,
    RolloutResponse,
    User,
)
from app.models.tables import posts
from app.services import bulletin_due, reactions
from app.services import bulletins as service
from app.services.bulletins import publishing
from app.services.errors import InvalidInput
from tests.factories import HX, login_as, make_post, make_unit, make_units, make_user, soup
from tests.test_cli import cli_db  # noqa: F401  (the CLI's own throwaway database)

# 2025-06-02 10:00 in Tokyo: fiscal year 2025.
T0 = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def now():
    """A clock the test moves: `now.at = ...`; the real clock comes back afterwards."""

    class Clock:
        at = T0

    clock.set_clock(lambda: Clock.at)
    try:
        yield Clock
    finally:
        clock.set_clock(None)


@dataclass
class Org:
    company: OrgUnit
    region_a: OrgUnit
    region_b: OrgUnit
    branch_a: OrgUnit
    shop_a1: OrgUnit
    shop_a2: OrgUnit
    shop_b1: OrgUnit
    head_office: OrgUnit
    staff_a1: User
    staff_a1b: User
    staff_a2: User
    staff_b1: User
    staff_hq: User
    curator: User
    admin: User


@pytest.fixture
async def org(db) -> Org:
    u = await make_units(
        db,
        ("CO", "テスト保険", "company", None),
        ("RA", "関東地域", "region", "CO"),
        ("RB", "関西地域", "region", "CO"),
        ("BA", "東京支店", "branch", "RA"),
        ("BB", "大阪支店", "branch", "RB"),
        ("SA1", "新宿店", "shop", "BA"),
        ("SA2", "渋谷店", "shop", "BA"),
        ("SB1", "梅田店", "shop", "BB"),
        ("HQ", "品質管理部", "department", "CO"),
    )
    co, ra, rb, ba, a1, a2, b1, hq = (
        u[c] for c in ("CO", "RA", "RB", "BA", "SA1", "SA2", "SB1", "HQ")
    )
    return Org(
        co,
        ra,
        rb,
        ba,
        a1,
        a2,
        b1,
        hq,
        await make_user(db, a1),
        await make_user(db, a1),
        await make_user(db, a2),
        await make_user(db, b1),
        await make_user(db, hq),
        await make_user(db, hq, role="curator"),
        await make_user(db, hq, role="admin"),
    )


async def draft(db, org: Org, *, audience="all", posts=1, title="好取組情報 6月号") -> Bulletin:
    bulletin = await service.create_bulletin(
        db, org.curator, {"title": title, "lead": "今月の好取組です。", "audience": audience}
    )
    for n in range(posts):
        post = await make_post(db, org.staff_a1, title=f"丁寧な説明 {n}", featured=True)
        await service.add_item(db, org.curator, bulletin, post.id, f"ぜひ参考に {n}")
    return bulletin


async def published(db, org: Org, **kw) -> Bulletin:
    return await service.publish_now(db, org.curator, await draft(db, org, **kw))


async def fresh(db, bulletin_id: int) -> Bulletin:
    """The row as stored now (the app changed it with its own statements)."""
    stmt = select(Bulletin).where(Bulletin.id == bulletin_id)
    return (await db.exec(stmt.execution_options(populate_existing=True))).one()


async def as_user(make_client, user: User):
    client = make_client()
    token = await login_as(client, user)
    client.headers["X-CSRF-Token"] = token
    return client, token


# Who may do what ---------------------------------------------------------------------------

ROLES = ("anonymous", "staff", "curator", "admin")
# path, expected status for anonymous, staff, curator, admin ({id}: a draft bulletin).
PAGES = [
    ("/bulletins", 303, 200, 200, 200),
    ("/bulletins/new", 303, 403, 200, 200),
    ("/bulletins/{id}/edit", 303, 403, 200, 200),
    ("/bulletins/{id}/search?q=x", 303, 403, 200, 200),
    ("/bulletins/{id}/stats", 303, 403, 200, 200),
    ("/bulletins/{id}", 303, 404, 200, 200),  # a draft is not visible to staff
    ("/bulletins/{id}/print", 303, 404, 200, 200),
    ("/api/v1/bulletins", 401, 200, 200, 200),
    ("/api/v1/bulletins/{id}", 401, 404, 200, 200),
    ("/api/v1/bulletins/{id}/stats", 401, 403, 200, 200),
]


async def sign_in_as(client, org: Org, role: str) -> str | None:
    """Sign `client` in as the Org's person of `role` (a role of ROLES); its CSRF token, or
    None for anonymous (nobody signed in)."""
    people = {"staff": org.staff_a1, "curator": org.curator, "admin": org.admin}
    return None if role == "anonymous" else await login_as(client, people[role])


@pytest.mark.parametrize(
    ("path", "role", "expected"),
    [(p, r, e) for p, *codes in PAGES for r, e in zip(ROLES, codes, strict=True)],
)
async def test_page_and_api_matrix(client, db, org, path, role, expected):
    bulletin = await draft(db, org)
    await sign_in_as(client, org, role)
    r = await client.get(path.format(id=bulletin.id), follow_redirects=False)
    assert r.status_code == expected, r.text[:300]


# Curator actions: staff get 403 on every one (pages and API), curators succeed.
ACTIONS = [
    ("post", "/bulletins/new", {"title": "x"}),
    ("post", "/bulletins/{id}/edit", {"title": "x"}),
    ("post", "/bulletins/{id}/items", {"post_id": "1"}),
    ("post", "/bulletins/{id}/items/{item}/remove", {}),
    ("post", "/bulletins/{id}/items/{item}/move", {"direction": "up"}),
    ("post", "/bulletins/{id}/items/{item}/comment", {"comment": "x"}),
    ("post", "/bulletins/{id}/schedule", {"publish_at": "2030-01-01T09:00"}),
    ("post", "/bulletins/{id}/unschedule", {}),
    ("post", "/bulletins/{id}/publish", {}),
    ("api-post", "/api/v1/bulletins", {"title": "x"}),
    ("api-patch", "/api/v1/bulletins/{id}", {"title": "x"}),
    ("api-post", "/api/v1/bulletins/{id}/publish", {}),
]


@pytest.mark.parametrize(("method", "path", "data"), ACTIONS)
async def test_staff_get_403_on_every_curator_action(client, db, org, method, path, data):
    bulletin = await draft(db, org)
    (item,) = await service.items_of(db, bulletin.id)
    token = await login_as(client, org.staff_a1)
    url = path.format(id=bulletin.id, item=item.id)
    if method == "post":
        r = await client.post(url, data={**data, "csrf_token": token})
    else:
        verb = method.split("-")[1].upper()
        r = await client.request(verb, url, json=data, headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    assert (await fresh(db, bulletin.id)).status == "draft"


@pytest.mark.parametrize(("method", "path", "data"), ACTIONS)
async def test_anonymous_is_refused(client, db, org, method, path, data):
    bulletin = await draft(db, org)
    url = path.format(id=bulletin.id, item=1)
    verb = "POST" if method == "post" else method.split("-")[1].upper()
    r = await client.request(verb, url, json=data, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_curator_actions_succeed_as_plain_forms(client, db, org, now):
    token = await login_as(client, org.curator)
    r = await client.post(
        "/bulletins/new",
        data={"title": "7月号", "lead": "リード", "audience_mode": "all", "csrf_token": token},
    )
    assert r.status_code == 303
    bulletin_id = int(r.headers["location"].split("/")[2])
    edit = f"/bulletins/{bulletin_id}/edit"
    assert r.headers["location"] == edit
    post = await make_post(db, org.staff_a1, title="ありがとうの手紙")
    other = await make_post(db, org.staff_a2, title="ナレッジ共有")
    for pid in (post.id, other.id):
        r = await client.post(
            f"/bulletins/{bulletin_id}/items", data={"post_id": str(pid), "csrf_token": token}
        )
        assert r.status_code == 303 and r.headers["location"].startswith(edit)
    first, second = await service.items_of(db, bulletin_id)
    r = await client.post(
        f"/bulletins/{bulletin_id}/items/{second.id}/move",
        data={"direction": "up", "csrf_token": token},
    )
    assert r.status_code == 303
    assert [i.post_id for i in await service.items_of(db, bulletin_id)] == [other.id, post.id]
    r = await client.post(
        f"/bulletins/{bulletin_id}/items/{first.id}/comment",
        data={"comment": "朝礼で紹介を", "csrf_token": token},
    )
    assert r.status_code == 303
    r = await client.post(
        f"/bulletins/{bulletin_id}/items/{second.id}/remove", data={"csrf_token": token}
    )
    assert r.status_code == 303
    (left,) = await service.items_of(db, bulletin_id)
    assert left.post_id == post.id and left.comment == "朝礼で紹介を" and left.position == 0
    r = await client.post(f"/bulletins/{bulletin_id}/publish", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/bulletins/{bulletin_id}"
    page = soup((await client.get(f"/bulletins/{bulletin_id}")).text)
    assert page.select_one("[data-testid=bulletin-volume]").get_text(strip=True) == "2025年度 第1号"


# Numbering ---------------------------------------------------------------------------------


async def test_volumes_count_per_fiscal_year_in_tokyo(db, org, now):
    first = await published(db, org)
    second = await published(db, org)
    assert (first.fiscal_year, first.volume) == (2025, 1)
    assert (second.fiscal_year, second.volume) == (2025, 2)
    # 2026-03-31 23:59 in Tokyo is still fiscal 2025 ...
    now.at = datetime(2026, 3, 31, 14, 59, tzinfo=UTC)
    third = await published(db, org)
    assert (third.fiscal_year, third.volume) == (2025, 3)
    # ... one minute later (April 1st in Tokyo, still March 31st in UTC) it is fiscal 2026.
    now.at = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
    fourth = await published(db, org)
    fifth = await published(db, org)
    assert (fourth.fiscal_year, fourth.volume) == (2026, 1)
    assert (fifth.fiscal_year, fifth.volume) == (2026, 2)


async def test_a_bulletin_is_published_and_numbered_once(db, org, now):
    bulletin = await published(db, org)
    assert not await publishing._publish_one(db, bulletin.id, "draft", clock.now())
    assert not await publishing._publish_one(db, bulletin.id, "scheduled", clock.now())
    with pytest.raises(Exception) as exc:
        await service.publish_now(db, org.curator, bulletin)
    assert getattr(exc.value, "status_code", None) == 409
    count = await db.execute(
        sa.select(sa.func.count()).select_from(Bulletin).where(Bulletin.volume == 1)
    )
    assert count.scalar_one() == 1


async def test_publishing_needs_a_post(client, db, org, now):
    bulletin = await draft(db, org, posts=0)
    token = await login_as(client, org.curator)
    r = await client.post(
        f"/bulletins/{bulletin.id}/publish", data={"csrf_token": token}, headers=HX
    )
    assert r.status_code == 422
    assert soup(r.text).select_one("#publish-panel .form-error")
    r = await client.post(
        f"/api/v1/bulletins/{bulletin.id}/publish", headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 422
    assert (await fresh(db, bulletin.id)).status == "draft"


# Scheduling ----------------------------------------------------------------------------------


async def test_scheduled_bulletin_publishes_itself_when_its_time_comes(make_client, db, org, now):
    bulletin = await draft(db, org)
    bid = bulletin.id
    curator, token = await as_user(make_client, org.curator)
    r = await curator.post(
        f"/bulletins/{bulletin.id}/schedule",
        data={"publish_at": "2025-06-02T12:00", "csrf_token": token},  # Tokyo time
        headers=HX,
    )
    assert r.status_code == 200, r.text
    assert soup(r.text).select_one("#publish-panel [data-testid=scheduled-for]")
    row = await fresh(db, bid)
    assert row.status == "scheduled"
    assert row.publish_at == datetime(2025, 6, 2, 3, 0, tzinfo=UTC)

    staff, _t = await as_user(make_client, org.staff_a1)
    now.at = datetime(2025, 6, 2, 2, 59, tzinfo=UTC)  # a minute before: nothing yet
    assert (await staff.get(f"/bulletins/{bulletin.id}")).status_code == 404
    assert not soup((await staff.get("/")).text).select("[data-testid=bulletin-banner]")
    now.at = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
    listing = soup((await staff.get("/bulletins")).text)  # the list publishes what is due
    assert [a.get_text(strip=True) for a in listing.select(".bulletin-summary h2 a")] == [
        "好取組情報 6月号"
    ]
    row = await fresh(db, bid)
    assert (row.status, row.volume, row.fiscal_year) == ("published", 1, 2025)
    assert row.published_at == datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
    assert await service.publish_due(db) == []  # never twice


async def test_the_feed_publishes_due_bulletins_and_shows_the_banner(make_client, db, org, now):
    bulletin = await draft(db, org)
    await service.schedule(db, org.curator, bulletin, T0 + timedelta(hours=1))
    staff, _t = await as_user(make_client, org.staff_a1)
    now.at = T0 + timedelta(hours=2)
    banners = soup((await staff.get("/")).text).select("[data-testid=bulletin-banner]")
    assert len(banners) == 1
    assert banners[0].select_one("a")["href"] == f"/bulletins/{bulletin.id}"


async def test_reads_only_read_while_a_bulletin_is_due(db, engine, org, now):
    """The read paths never publish: a due bulletin stays scheduled and no INSERT, UPDATE or
    DELETE runs while they read (the request-start step publishes, in its own transaction)."""
    bulletin = await draft(db, org)
    await service.schedule(db, org.curator, bulletin, T0 + timedelta(hours=1))
    now.at = T0 + timedelta(hours=2)
    writes: list[str] = []

    def spy(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", spy)
    try:
        await service.list_bulletins(db, org.curator)
        await service.get_bulletin_for_view(db, org.curator, bulletin.id)
        await service.get_bulletin_for_edit(db, org.curator, bulletin.id)
        await service.unread_for(db, org.staff_a1)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", spy)
    assert writes == []
    assert (await fresh(db, bulletin.id)).status == "scheduled"


async def test_a_due_bulletin_shows_on_the_next_page_load(make_client, db, org, now):
    """No job has to run first: the first request after the time publishes it before it reads,
    although this process had read "nothing due yet" before (its cached next due time)."""
    bulletin = await draft(db, org)
    await service.schedule(db, org.curator, bulletin, T0 + timedelta(hours=1))
    staff, _t = await as_user(make_client, org.staff_a1)
    assert (await staff.get(f"/bulletins/{bulletin.id}")).status_code == 404
    now.at = T0 + timedelta(hours=1)
    assert (await staff.get(f"/bulletins/{bulletin.id}")).status_code == 200
    assert (await staff.get(f"/api/v1/bulletins/{bulletin.id}")).status_code == 200
    row = await fresh(db, bulletin.id)
    assert (row.status, row.volume, row.published_at) == ("published", 1, T0 + timedelta(hours=1))


async def test_a_bulletin_scheduled_elsewhere_is_seen_once_the_cache_is_read_again(
    make_client, db, org, now, monkeypatch
):
    """Another instance's schedule does not reach this process's cache: it is read again after
    bulletin_due.REFRESH_S (0 here), and the next page load publishes the bulletin."""
    monkeypatch.setattr(bulletin_due, "REFRESH_S", 0.0)
    bulletin = await draft(db, org)
    staff, _t = await as_user(make_client, org.staff_a1)
    assert (await staff.get("/bulletins")).status_code == 200  # read: nothing scheduled
    await db.execute(
        sa.update(Bulletin)
        .where(sa.column("id") == bulletin.id)
        .values(status="scheduled", publish_at=T0 - timedelta(minutes=1))
    )
    await db.commit()
    listing = soup((await staff.get("/bulletins")).text)
    assert len(listing.select(".bulletin-summary h2 a")) == 1
    assert (await fresh(db, bulletin.id)).status == "published"


async def test_scheduling_rules(client, db, org, now):
    bulletin = await draft(db, org)
    bid = bulletin.id
    token = await login_as(client, org.curator)
    r = await client.post(
        f"/bulletins/{bulletin.id}/schedule",
        data={"publish_at": "2025-06-01T09:00", "csrf_token": token},  # in the past
        headers=HX,
    )
    assert r.status_code == 422
    assert soup(r.text).select_one("#bulletin-publish-at")["value"] == "2025-06-01T09:00"
    r = await client.post(
        f"/bulletins/{bulletin.id}/schedule",
        data={"publish_at": "2025-06-03T09:00", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 200
    r = await client.post(
        f"/bulletins/{bulletin.id}/unschedule", data={"csrf_token": token}, headers=HX
    )
    assert r.status_code == 200
    row = await fresh(db, bid)
    assert (row.status, row.publish_at) == ("draft", None)
    actions = (await db.exec(select(AuditEntry.action).where(AuditEntry.target_id == bid))).all()
    assert "bulletin.schedule" in actions and "bulletin.unschedule" in actions


def test_cli_publishes_due_bulletins(cli_db, now):  # noqa: F811
    from app.cli.main import cli
    from app.config import get_settings
    from app.db import make_sync_engine

    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = make_sync_engine(get_settings())
    try:
        with Session(engine) as s:
            unit = OrgUnit(code="CO", name="会社", kind="company")
            s.add(unit)
            s.flush()
            user = User(code="C1", name="本社", unit_id=unit.id, role="curator")
            s.add(user)
            s.flush()
            post = Post(kind="knowhow", title="t", body="b", author_id=user.id, unit_id=unit.id)
            s.add(post)
            s.flush()
            due = Bulletin(
                title="予約の号",
                status="scheduled",
                publish_at=T0 - timedelta(minutes=1),
                created_by_id=user.id,
            )
            later = Bulletin(
                title="来週の号",
                status="scheduled",
                publish_at=T0 + timedelta(days=7),
                created_by_id=user.id,
            )
            s.add_all([due, later])
            s.flush()
            s.add(BulletinItem(bulletin_id=due.id, post_id=post.id))
            s.commit()
            due_id, later_id = due.id, later.id
        result = runner.invoke(cli, ["bulletins", "publish-due"], catch_exceptions=False)
        assert result.exit_code == 0
        assert "予約の号" in result.output and "Vol. 1" in result.output
        assert "来週の号" not in result.output
        again = runner.invoke(cli, ["bulletins", "publish-due"])
        assert again.exit_code == 0 and "nothing due" in again.output
        with Session(engine) as s:
            assert s.get(Bulletin, due_id).status == "published"
            assert s.get(Bulletin, later_id).status == "scheduled"
            audit = s.exec(select(AuditEntry).where(AuditEntry.target_id == due_id)).one()
            assert (audit.action, audit.actor_id, audit.reason) == (
                "bulletin.publish",
                None,
                "scheduled",
            )
    finally:
        engine.dispose()


async def test_concurrent_publications_are_numbered_apart_and_happen_once(cli_db, now):  # noqa: F811
    """Separate connections on a real (committed) database: two curators publish at the same
    moment, and three instances run publish_due together."""
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.cli.main import cli
    from app.config import get_settings
    from app.db import make_async_engine, make_sync_engine

    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = make_sync_engine(get_settings())
    with Session(engine) as s:
        unit = OrgUnit(code="CO", name="会社", kind="company")
        s.add(unit)
        s.flush()
        user = User(code="C1", name="本社", unit_id=unit.id, role="curator")
        s.add(user)
        s.flush()
        post = Post(kind="knowhow", title="t", body="b", author_id=user.id, unit_id=unit.id)
        s.add(post)
        s.flush()
        rows = [
            Bulletin(title="A", created_by_id=user.id),
            Bulletin(title="B", created_by_id=user.id),
            Bulletin(
                title="C", status="scheduled", publish_at=T0 - timedelta(1), created_by_id=user.id
            ),
        ]
        s.add_all(rows)
        s.flush()
        s.add_all([BulletinItem(bulletin_id=b.id, post_id=post.id) for b in rows])
        s.commit()
        user_id, (a, b, c) = user.id, [r.id for r in rows]
    engine.dispose()

    aengine = make_async_engine(get_settings(), writer=True)
    maker = async_sessionmaker(aengine, class_=AsyncSession, expire_on_commit=False)

    async def publish(bulletin_id: int) -> int | None:
        async with maker() as session:
            actor = await session.get(User, user_id)
            bulletin = await session.get(Bulletin, bulletin_id)
            return (await service.publish_now(session, actor, bulletin)).volume

    async def due() -> list[int]:
        async with maker() as session:
            return [x.id for x in await service.publish_due(session)]

    try:
        assert sorted(await asyncio.gather(publish(a), publish(b))) == [1, 2]
        now.at = T0 + timedelta(days=400)  # C was due in fiscal 2025: Vol. 3
        results = await asyncio.gather(due(), due(), due())
        assert sorted(x for found in results for x in found) == [c]
        async with maker() as session:
            published = (await session.exec(select(Bulletin).order_by(Bulletin.id))).all()
            assert {x.status for x in published} == {"published"}
            assert sorted(x.volume for x in published) == [1, 2, 3]
            entries = (
                await session.exec(
                    select(AuditEntry).where(AuditEntry.action == "bulletin.publish")
                )
            ).all()
            assert sorted(e.target_id for e in entries) == [a, b, c]
    finally:
        await aengine.dispose()


# Audience ------------------------------------------------------------------------------------


async def test_a_region_bulletin_is_invisible_to_another_region(make_client, db, org, now):
    bulletin = await published(db, org, audience=["RA"])
    outsider, _t = await as_user(make_client, org.staff_b1)
    assert (await outsider.get(f"/bulletins/{bulletin.id}")).status_code == 404
    assert (await outsider.get(f"/bulletins/{bulletin.id}/print")).status_code == 404
    assert (await outsider.get(f"/api/v1/bulletins/{bulletin.id}")).status_code == 404
    assert (await outsider.post(f"/api/v1/bulletins/{bulletin.id}/read")).status_code == 404
    assert not soup((await outsider.get("/bulletins")).text).select(".bulletin-summary")
    assert (await outsider.get("/api/v1/bulletins")).json()["items"] == []
    assert not soup((await outsider.get("/")).text).select("[data-testid=bulletin-banner]")

    insider, _t = await as_user(make_client, org.staff_a2)  # a shop under region A
    assert len(soup((await insider.get("/bulletins")).text).select(".bulletin-summary")) == 1
    assert len(soup((await insider.get("/")).text).select("[data-testid=bulletin-banner]")) == 1
    body = (await insider.get(f"/api/v1/bulletins/{bulletin.id}")).json()
    assert body["audience"] == ["RA"]
    assert (await insider.get(f"/bulletins/{bulletin.id}")).status_code == 200


async def test_unknown_audience_code_is_422(client, db, org, now):
    token = await login_as(client, org.curator)
    r = await client.post(
        "/api/v1/bulletins",
        json={"title": "号", "audience": ["RA", "NOPE"]},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "audience"]
    r = await client.post(
        "/bulletins/new",
        data={
            "title": "号",
            "audience_mode": "units",
            "units": "RA",
            "other_units": "NOPE",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422
    page = soup(r.text)
    assert "NOPE" in page.select_one("#bulletin-audience-error").get_text()
    assert page.select_one("#bulletin-title")["value"] == "号"  # what was typed stays
    assert page.select_one("#bulletin-other-units")["value"] == "NOPE"
    assert page.select_one("input[name=units][value=RA]").has_attr("checked")
    assert (await db.exec(select(Bulletin))).all() == []


# Read receipts ---------------------------------------------------------------------------------


async def test_banner_until_opened_and_read_recorded_once(make_client, db, org, now):
    bulletin = await published(db, org)
    staff, _t = await as_user(make_client, org.staff_a1)
    assert len(soup((await staff.get("/")).text).select("[data-testid=bulletin-banner]")) == 1
    assert (await staff.get(f"/bulletins/{bulletin.id}")).status_code == 200
    now.at = T0 + timedelta(hours=1)
    assert (await staff.get(f"/bulletins/{bulletin.id}")).status_code == 200
    r = await staff.post(f"/api/v1/bulletins/{bulletin.id}/read")
    assert r.status_code == 200 and r.json()["read"] is True
    reads = (
        await db.exec(select(BulletinRead).where(BulletinRead.bulletin_id == bulletin.id))
    ).all()
    assert len(reads) == 1 and reads[0].read_at == T0  # the first read counts
    assert not soup((await staff.get("/")).text).select("[data-testid=bulletin-banner]")
    assert (await staff.get(f"/api/v1/bulletins/{bulletin.id}")).json()["read"] is True
    assert await service.unread_for(db, org.staff_a1) == []


async def test_read_rate_per_unit(make_client, db, org, now):
    bulletin = await published(db, org, audience=["RA"])
    await make_user(db, org.shop_a1, active=False)  # inactive users do not count
    reader, _t = await as_user(make_client, org.staff_a1)
    await reader.get(f"/bulletins/{bulletin.id}")
    rows = {r.code: r for r in await service.read_rates(db, bulletin, org.curator)}
    assert list(rows) == ["RA", "BA", "SA1", "SA2"]
    assert (rows["SA1"].users, rows["SA1"].readers, rows["SA1"].rate) == (2, 1, 50.0)
    assert (rows["SA2"].users, rows["SA2"].readers, rows["SA2"].rate) == (1, 0, 0.0)
    assert (rows["BA"].users, rows["BA"].readers, rows["BA"].rate) == (3, 1, 33.3)
    assert rows["RA"].rate == 33.3 and rows["RA"].depth == 0 and rows["SA1"].depth == 2

    curator, _t = await as_user(make_client, org.curator)
    page = soup((await curator.get(f"/bulletins/{bulletin.id}/stats")).text)
    shown = {
        tr["data-unit"]: tr.select_one("[data-testid=read-rate]").get_text(strip=True)
        for tr in page.select("#read-rates tbody tr")
    }
    assert shown == {"RA": "33.3%", "BA": "33.3%", "SA1": "50.0%", "SA2": "0.0%"}
    stats = (await curator.get(f"/api/v1/bulletins/{bulletin.id}/stats")).json()
    assert stats["read"][0] == {
        "unit": {"code": "RA", "name": "関東地域"},
        "kind": "region",
        "depth": 0,
        "users": 3,
        "readers": 1,
        "rate": 33.3,
        "at_meeting": 0,
    }


# 横展開 ------------------------------------------------------------------------------------------


async def test_rollout_answers_upsert_per_shop_and_item(make_client, db, org, now):
    bulletin = await published(db, org, posts=2)
    first, second = await service.items_of(db, bulletin.id)
    a1, _t = await as_user(make_client, org.staff_a1)
    a1b, _t = await as_user(make_client, org.staff_a1b)
    a2, _t = await as_user(make_client, org.staff_a2)
    url = f"/api/v1/bulletins/{bulletin.id}/items/{{}}/rollout"
    r = await a1.put(url.format(first.id), json={"answer": "adopted"})
    assert r.status_code == 200
    assert r.json()["unit"] == {"code": "SA1", "name": "新宿店"}
    now.at = T0 + timedelta(minutes=5)
    r = await a1b.put(url.format(first.id), json={"answer": "not_applicable"})  # latest wins
    assert r.status_code == 200
    assert (await a2.put(url.format(first.id), json={"answer": "trialling"})).status_code == 200
    assert (await a2.put(url.format(second.id), json={"answer": "adopted"})).status_code == 200
    assert (await a2.put(url.format(second.id), json={"answer": "maybe"})).status_code == 422
    rows = (await db.exec(select(RolloutResponse))).all()
    answers = {(r.item_id, r.unit_id): (r.answer, r.answered_by_id) for r in rows}
    assert answers == {
        (first.id, org.shop_a1.id): ("not_applicable", org.staff_a1b.id),
        (first.id, org.shop_a2.id): ("trialling", org.staff_a2.id),
        (second.id, org.shop_a2.id): ("adopted", org.staff_a2.id),
    }
    # The page shows the shop's answer; the HTMX form answers with its own partial.
    page = soup((await a1.get(f"/bulletins/{bulletin.id}")).text)
    chosen = page.select_one(f"#rollout-{first.id} button[aria-pressed=true]")
    assert chosen["value"] == "not_applicable"
    r = await a1.post(
        f"/bulletins/{bulletin.id}/items/{second.id}/rollout",
        data={"answer": "trialling"},
        headers=HX,
    )
    assert r.status_code == 200
    fragment = soup(r.text)
    assert fragment.select_one("form.rollout")["id"] == f"rollout-{second.id}"
    assert fragment.select_one("button[aria-pressed=true]")["value"] == "trialling"
    assert not fragment.select("html, nav")


@pytest.mark.parametrize("who", ["staff_hq", "curator", "branch"])
async def test_only_staff_of_a_shop_in_the_audience_answer(make_client, db, org, now, who):
    bulletin = await published(db, org)
    (item,) = await service.items_of(db, bulletin.id)
    user = await make_user(db, org.branch_a) if who == "branch" else getattr(org, who)
    client, _t = await as_user(make_client, user)
    url = f"/api/v1/bulletins/{bulletin.id}/items/{item.id}/rollout"
    assert (await client.put(url, json={"answer": "adopted"})).status_code == 403
    r = await client.post(url.removeprefix("/api/v1"), data={"answer": "adopted"}, headers=HX)
    assert r.status_code == 403
    assert not soup((await client.get(f"/bulletins/{bulletin.id}")).text).select("form.rollout")
    assert (await db.exec(select(RolloutResponse))).all() == []


async def test_a_shop_outside_the_audience_cannot_answer(make_client, db, org, now):
    bulletin = await published(db, org, audience=["RA"])
    (item,) = await service.items_of(db, bulletin.id)
    client, _t = await as_user(make_client, org.staff_b1)
    r = await client.put(
        f"/api/v1/bulletins/{bulletin.id}/items/{item.id}/rollout", json={"answer": "adopted"}
    )
    assert r.status_code == 404  # the bulletin does not exist for region B
    assert (await db.exec(select(RolloutResponse))).all() == []


async def test_adoption_rate_per_region_with_one_decimal(make_client, db, org, now):
    await make_unit(db, code="SA3", name="池袋店", kind="shop", parent_id=org.branch_a.id)
    bulletin = await published(db, org)  # everyone: region A has 3 shops, region B 1
    (item,) = await service.items_of(db, bulletin.id)
    for user, answer in ((org.staff_a1, "adopted"), (org.staff_a2, "trialling")):
        await service.answer_rollout(db, user, bulletin, item.id, answer)
    (stats,) = await service.adoption_by_region(db, bulletin, org.curator)
    by_region = {r.region_code: r for r in stats.regions}
    ra, rb = by_region["RA"], by_region["RB"]
    assert (ra.shops, ra.answered, ra.adopted, ra.trialling, ra.rate) == (3, 2, 1, 1, 33.3)
    assert (rb.shops, rb.answered, rb.adopted, rb.rate) == (1, 0, 0, 0.0)
    assert (stats.total.shops, stats.total.adopted, stats.total.rate) == (4, 1, 25.0)

    curator, _t = await as_user(make_client, org.curator)
    page = soup((await curator.get(f"/bulletins/{bulletin.id}/stats")).text)
    rates = {
        tr["data-region"]: tr.select_one("[data-testid=adoption-rate]").get_text(strip=True)
        for tr in page.select(".adoption-table tbody tr")
    }
    assert rates == {"RA": "33.3%", "RB": "0.0%"}
    body = (await curator.get(f"/api/v1/bulletins/{bulletin.id}/stats")).json()
    assert body["adoption"][0]["regions"][0]["rate"] == 33.3
    assert body["adoption"][0]["total"]["rate"] == 25.0


async def test_want_to_try_reactions_per_region_beside_the_adoption(make_client, db, org, now):
    """「やってみたい」 on a post in the bulletin counts by the reactor's region (any unit in
    it, not only shops); the total counts everyone, head office included."""
    bulletin = await published(db, org)
    (item,) = await service.items_of(db, bulletin.id)
    post = await db.get(Post, item.post_id)
    branch_a_staff = await make_user(db, org.branch_a)
    for user in (org.staff_a2, branch_a_staff, org.staff_b1, org.staff_hq):
        await reactions.set_reaction(db, user, post, ReactionKind.want_to_try, True)
    # Another kind of reaction is no 横展開 signal.
    await reactions.set_reaction(db, org.staff_a1b, post, ReactionKind.great, True)
    (stats,) = await service.adoption_by_region(db, bulletin, org.curator)
    by_region = {r.region_code: r.want_to_try for r in stats.regions}
    assert by_region == {"RA": 2, "RB": 1} and stats.total.want_to_try == 4

    curator, _t = await as_user(make_client, org.curator)
    page = soup((await curator.get(f"/bulletins/{bulletin.id}/stats")).text)
    shown = {
        tr["data-region"]: tr.select_one("[data-testid=want-to-try]").get_text(strip=True)
        for tr in page.select(".adoption-table tbody tr, .adoption-table tfoot tr")
    }
    assert shown == {"RA": "2", "RB": "1", "total": "4"}
    assert "やってみたい" in page.select_one(".adoption-table thead").get_text()
    body = (await curator.get(f"/api/v1/bulletins/{bulletin.id}/stats")).json()
    assert [r["want_to_try"] for r in body["adoption"][0]["regions"]] == [2, 1]
    assert body["adoption"][0]["total"]["want_to_try"] == 4


# Hidden posts ----------------------------------------------------------------------------------


async def test_a_hidden_post_is_not_shown_to_staff_but_is_to_curators(make_client, db, org, now):
    bulletin = await published(db, org, posts=2)
    first, second = await service.items_of(db, bulletin.id)
    await db.execute(sa.update(posts).where(posts.c.id == second.post_id).values(status="hidden"))
    await db.commit()
    staff, _t = await as_user(make_client, org.staff_a2)
    body = (await staff.get(f"/api/v1/bulletins/{bulletin.id}")).json()
    assert [i["post"] is None for i in body["items"]] == [False, True]
    assert body["items"][1]["comment"] == ""
    page = soup((await staff.get(f"/bulletins/{bulletin.id}")).text)
    assert [li["id"] for li in page.select(".bulletin-item")] == [f"item-{first.id}"]
    assert "丁寧な説明 1" not in page.get_text()
    printed = soup((await staff.get(f"/bulletins/{bulletin.id}/print")).text)
    assert len(printed.select(".print-item")) == 1
    r = await staff.put(
        f"/api/v1/bulletins/{bulletin.id}/items/{second.id}/rollout", json={"answer": "adopted"}
    )
    assert r.status_code == 404

    curator, _t = await as_user(make_client, org.curator)
    body = (await curator.get(f"/api/v1/bulletins/{bulletin.id}")).json()
    assert body["items"][1]["post"]["status"] == "hidden"
    page = soup((await curator.get(f"/bulletins/{bulletin.id}")).text)
    assert len(page.select(".bulletin-item")) == 2


async def test_search_never_lists_a_hidden_post(client, db, org, now):
    bulletin = await draft(db, org, posts=0)
    await make_post(db, org.staff_a1, title="隠された投稿です", status="hidden")
    shown = await make_post(db, org.staff_a1, title="公開された投稿です")
    token = await login_as(client, org.curator)
    r = await client.get(f"/bulletins/{bulletin.id}/search", params={"q": "投稿です"}, headers=HX)
    fragment = soup(r.text)
    assert fragment.select_one("#search-results")
    assert [li["id"] for li in fragment.select(".search-hit")] == [f"search-hit-{shown.id}"]
    hidden = (await db.exec(select(Post).where(Post.status == "hidden"))).one()
    r = await client.patch(
        f"/api/v1/bulletins/{bulletin.id}",
        json={"items": [{"post_id": hidden.id}]},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422


# Print view ------------------------------------------------------------------------------------


async def test_print_view_is_clean(make_client, db, org, now):
    bulletin = await published(db, org, posts=2)
    staff, _t = await as_user(make_client, org.staff_a1)
    r = await staff.get(f"/bulletins/{bulletin.id}/print")
    assert r.status_code == 200
    page = soup(r.text)
    assert not page.select("nav, form, header.site-header, footer.site-footer, input, select")
    assert [link["href"] for link in page.select("link[rel=stylesheet]")] == [
        "/static/css/print.css"
    ]
    assert len(page.select(".print-item")) == 2
    assert page.select_one(".print-volume").get_text(strip=True) == "2025年度 第1号"
    assert "ぜひ参考に 0" in page.select(".print-item")[0].get_text()
    css = (await staff.get("/static/css/print.css")).text
    assert "size: A4" in css and "break-inside: avoid" in css
    # Printing is not reading: no receipt.
    assert (await db.exec(select(BulletinRead))).all() == []


# Audit -----------------------------------------------------------------------------------------


async def test_every_curator_action_is_audited(db, org, now):
    bulletin = await draft(db, org, posts=2)
    first, second = await service.items_of(db, bulletin.id)
    await service.move_item(db, org.curator, bulletin, second.id, "up")
    await service.set_item_comment(db, org.curator, bulletin, first.id, "新しいコメント")
    await service.update_bulletin(db, org.curator, bulletin, {"title": "改題", "audience": ["RA"]})
    await service.remove_item(db, org.curator, bulletin, first.id)
    await service.schedule(db, org.curator, bulletin, T0 + timedelta(days=1))
    await service.publish_now(db, org.curator, bulletin)
    entries = (
        await db.exec(
            select(AuditEntry).where(AuditEntry.target_id == bulletin.id).order_by(AuditEntry.id)
        )
    ).all()
    assert [e.action for e in entries] == [
        "bulletin.create",
        "bulletin.item_add",
        "bulletin.item_add",
        "bulletin.item_move",
        "bulletin.item_comment",
        "bulletin.update",
        "bulletin.item_remove",
        "bulletin.schedule",
        "bulletin.publish",
    ]
    assert {e.actor_id for e in entries} == {org.curator.id}
    assert '"audience": ["RA"]' in entries[5].changes


# The editor over HTMX ------------------------------------------------------------------------


async def test_editor_htmx_actions_return_partials(client, db, org, now):
    bulletin = await draft(db, org, posts=1)
    (existing,) = await service.items_of(db, bulletin.id)
    post = await make_post(db, org.staff_b1, title="梅田店の工夫")
    token = await login_as(client, org.curator)
    hx = {**HX, "X-CSRF-Token": token}
    base = f"/bulletins/{bulletin.id}"

    page = soup((await client.get(f"{base}/edit")).text)
    for selector in ("#bulletin-meta", "#bulletin-items", "#search-results", "#publish-panel"):
        assert page.select_one(selector), selector
    search = page.select_one("input[name=q]")
    assert (
        search["hx-get"] == f"{base}/search"
        and search.find_parent("form")["action"] == f"{base}/edit"
    )

    r = await client.get(f"{base}/search", params={"q": "梅田"}, headers=HX)
    fragment = soup(r.text)
    assert not fragment.select("html, body")
    assert fragment.select_one(f"#search-hit-{post.id} form")["hx-post"] == f"{base}/items"

    r = await client.post(f"{base}/items", data={"post_id": str(post.id), "q": "梅田"}, headers=hx)
    assert r.status_code == 200
    fragment = soup(r.text)
    assert len(fragment.select("#bulletin-items .editor-item")) == 2
    oob = fragment.select_one(f"#search-hit-{post.id}")
    assert oob["hx-swap-oob"] == "true" and not oob.select("form")

    r = await client.post(f"{base}/items", data={"post_id": str(post.id)}, headers=hx)
    assert r.status_code == 409
    assert soup(r.text).select_one("#bulletin-items .form-error")

    added = (await service.items_of(db, bulletin.id))[1]
    r = await client.post(f"{base}/items/{added.id}/move", data={"direction": "up"}, headers=hx)
    ids = [li["id"] for li in soup(r.text).select(".editor-item")]
    assert ids == [f"edit-item-{added.id}", f"edit-item-{existing.id}"]

    r = await client.post(
        f"{base}/items/{added.id}/comment", data={"comment": "x" * 2001}, headers=hx
    )
    assert r.status_code == 422
    fragment = soup(r.text)
    assert fragment.select_one("li.editor-item")["id"] == f"edit-item-{added.id}"
    assert fragment.select_one("textarea").get_text() == "x" * 2001  # kept
    assert fragment.select_one(".field-error")
    r = await client.post(
        f"{base}/items/{added.id}/comment", data={"comment": "本社より"}, headers=hx
    )
    assert r.status_code == 200 and soup(r.text).select_one("textarea").get_text() == "本社より"

    r = await client.post(f"{base}/items/{existing.id}/remove", headers=hx)
    assert [li["id"] for li in soup(r.text).select(".editor-item")] == [f"edit-item-{added.id}"]

    r = await client.post(f"{base}/edit", data={"title": "", "audience_mode": "all"}, headers=hx)
    assert r.status_code == 422
    assert soup(r.text).select_one("form#bulletin-meta #bulletin-title-error")
    r = await client.post(
        f"{base}/edit",
        data={"title": "新しい題", "lead": "", "audience_mode": "units", "units": ["RA", "RB"]},
        headers=hx,
    )
    assert r.status_code == 200
    fragment = soup(r.text)
    assert fragment.select_one("form#bulletin-meta .flash")
    assert {i["value"] for i in fragment.select("input[name=units][checked]")} == {"RA", "RB"}

    r = await client.post(f"{base}/publish", headers=hx)
    assert r.status_code == 204 and r.headers["HX-Redirect"] == base
    # Published: the editor's actions no longer change anything.
    r = await client.post(f"{base}/items/{added.id}/remove", headers=hx)
    assert r.headers.get("HX-Redirect") == f"{base}/edit"
    assert len(await service.items_of(db, bulletin.id)) == 1
    r = await client.post(f"{base}/items/{added.id}/remove", data={"csrf_token": token})
    assert r.status_code == 409
    r = await client.patch(f"/api/v1/bulletins/{bulletin.id}", json={"title": "x"}, headers=hx)
    assert r.status_code == 409


# The JSON API --------------------------------------------------------------------------------


async def test_api_create_patch_publish_and_shape(client, db, org, now):
    token = await login_as(client, org.curator)
    h = {"X-CSRF-Token": token}
    one = await make_post(db, org.staff_a1, title="一つ目")
    two = await make_post(db, org.staff_a2, title="二つ目")
    r = await client.post(
        "/api/v1/bulletins",
        json={"title": "API号", "lead": "リード", "items": [{"post_id": one.id, "comment": "c1"}]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {
        "id",
        "volume",
        "fiscal_year",
        "title",
        "lead",
        "status",
        "audience",
        "publish_at",
        "published_at",
        "items",
        "read",
    }
    assert (body["status"], body["audience"], body["volume"]) == ("draft", "all", None)
    assert body["items"][0]["post"]["id"] == one.id and body["items"][0]["comment"] == "c1"
    bid = body["id"]

    r = await client.post(
        "/api/v1/bulletins",
        json={"title": "重複", "items": [{"post_id": one.id}, {"post_id": one.id}]},
        headers=h,
    )
    assert r.status_code == 409

    r = await client.patch(
        f"/api/v1/bulletins/{bid}",
        json={
            "audience": ["RA", "RB"],
            "items": [{"post_id": two.id, "comment": "c2"}, {"post_id": one.id, "comment": "c1"}],
            "publish_at": (T0 + timedelta(hours=3)).isoformat(),
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["audience"] == ["RA", "RB"] and body["status"] == "scheduled"
    assert [i["post"]["id"] for i in body["items"]] == [two.id, one.id]
    assert [i["position"] for i in body["items"]] == [0, 1]
    r = await client.patch(f"/api/v1/bulletins/{bid}", json={"publish_at": None}, headers=h)
    assert r.json()["status"] == "draft"
    r = await client.patch(f"/api/v1/bulletins/{bid}", json={"title": "x" * 121}, headers=h)
    assert r.status_code == 422
    r = await client.patch(f"/api/v1/bulletins/{bid}", json={"lead": "x" * 5001}, headers=h)
    assert r.status_code == 422
    r = await client.post(f"/api/v1/bulletins/{bid}/publish", headers=h)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["volume"], r.json()["fiscal_year"]) == (
        "published",
        1,
        2025,
    )
    r = await client.post(f"/api/v1/bulletins/{bid}/publish", headers=h)
    assert r.status_code == 409

    listing = (await client.get("/api/v1/bulletins?limit=1")).json()
    assert [b["id"] for b in listing["items"]] == [bid]


async def test_api_list_pages_by_cursor(client, db, org, now):
    ids = []
    for n in range(3):
        now.at = T0 + timedelta(hours=n)
        ids.append((await published(db, org, title=f"号{n}")).id)
    await login_as(client, org.staff_a1)
    page1 = (await client.get("/api/v1/bulletins?limit=2")).json()
    assert [b["id"] for b in page1["items"]] == [ids[2], ids[1]]
    page2 = (await client.get(f"/api/v1/bulletins?limit=2&cursor={page1['next_cursor']}")).json()
    assert [b["id"] for b in page2["items"]] == [ids[0]] and page2["next_cursor"] is None
    assert (await client.get("/api/v1/bulletins?cursor=garbage")).status_code == 422


async def test_list_page_shows_drafts_to_curators_only(make_client, db, org, now):
    await draft(db, org, title="下書きの号")
    await published(db, org, title="公開の号")
    curator, _t = await as_user(make_client, org.curator)
    page = soup((await curator.get("/bulletins")).text)
    assert page.select_one("[data-testid=new-bulletin]")["href"] == "/bulletins/new"
    assert [a.get_text(strip=True) for a in page.select("#unpublished h2 a")] == ["下書きの号"]
    assert [a.get_text(strip=True) for a in page.select("#published h2 a")] == ["公開の号"]
    staff, _t = await as_user(make_client, org.staff_a1)
    page = soup((await staff.get("/bulletins")).text)
    assert not page.select("[data-testid=new-bulletin], #unpublished")
    assert [a.get_text(strip=True) for a in page.select(".bulletin-summary h2 a")] == ["公開の号"]
    nav = [a["href"] for a in page.select("header nav a")]
    assert "/bulletins" in nav


async def test_english_labels(make_client, db, org, now):
    bulletin = await published(db, org)
    org.staff_a1.locale = "en"
    db.add(org.staff_a1)
    await db.commit()
    staff, _t = await as_user(make_client, org.staff_a1)
    page = soup((await staff.get(f"/bulletins/{bulletin.id}")).text)
    assert page.select_one("[data-testid=bulletin-volume]").get_text(strip=True) == "FY2025 Vol. 1"
    labels = [b.get_text(strip=True) for b in page.select(".rollout button")]
    assert labels == ["Adopted", "Trialling", "Not applicable"]


async def test_set_order_names_every_item_once(db, org, now):
    bulletin = await draft(db, org, posts=3)
    ids = [i.id for i in await service.items_of(db, bulletin.id)][::-1]
    await service.set_order(db, org.curator, bulletin, ids)
    assert [i.id for i in await service.items_of(db, bulletin.id)] == ids
    with pytest.raises(InvalidInput):
        await service.set_order(db, org.curator, bulletin, ids[:2])
    with pytest.raises(InvalidInput):
        await service.set_order(db, org.curator, bulletin, [ids[0], ids[0], ids[1]])


async def test_unread_banners_are_newest_first_and_for_the_users_unit(db, org, now):
    older = await published(db, org, title="古い号")
    now.at = T0 + timedelta(days=1)
    newer = await published(db, org, title="新しい号")
    await published(db, org, title="関西向け", audience=["RB"])
    assert [b.id for b in await service.unread_for(db, org.staff_a1)] == [newer.id, older.id]
    assert len(await service.unread_for(db, org.staff_b1)) == 3
    await service.mark_read(db, org.staff_a1, older)
    assert [b.id for b in await service.unread_for(db, org.staff_a1)] == [newer.id]
