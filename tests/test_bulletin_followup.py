"""Read follow-up of a bulletin: the confirmation deadline (確認期限), the lists of people and
shops that have not read it or not answered 横展開 (page, API, CSV), the once-a-day "remind"
action, the automatic reminder the day before the deadline, and who may do what."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from app.models import (
    AuditEntry,
    Bulletin,
    BulletinAudience,
    BulletinItem,
    BulletinRead,
    Notification,
    OrgUnit,
    Post,
    PushSubscription,
    RolloutResponse,
    User,
)
from app.models.tables import posts, push_outbox
from app.services import bulletin_due, digest
from app.services import bulletins as service
from tests import test_bulletins as bulletin_tests
from tests.factories import HX, make_user, soup
from tests.test_bulletins import T0, Org, as_user, draft, fresh, published, sign_in_as
from tests.test_cli import cli_db  # noqa: F401

# The bulletin tests' fixtures: their unit tree and people, and the clock the test moves.
org = bulletin_tests.org
now = bulletin_tests.now

REMINDER = "bulletin_reminder"
DEADLINE = date(2025, 6, 5)  # T0 is 2025-06-02 10:00 in Tokyo


async def reminded_ids(db, bulletin_id: int) -> list[int]:
    rows = await db.exec(
        select(Notification.user_id).where(
            Notification.bulletin_id == bulletin_id, Notification.kind == REMINDER
        )
    )
    return sorted(rows.all())


async def remind_audits(db, bulletin_id: int) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(
        AuditEntry.target_id == bulletin_id, AuditEntry.action == "bulletin.remind"
    )
    return list((await db.exec(stmt.execution_options(populate_existing=True))).all())


class Case:
    """Audience: branch A (shops SA1, SA2) and shop SB1. Three posts, the third hidden after
    publication (no shop can answer it). SA1 has staff_a1 (read), staff_a1b and `formula`
    (not read; a name a spreadsheet would run); SA2 has staff_a2 (not read) and an inactive
    user; SB1 has staff_b1 (read). SA1 answered the first post, SB1 both, SA2 none."""

    def __init__(self, bulletin: Bulletin, formula: User) -> None:
        self.bulletin = bulletin
        self.formula = formula


@pytest.fixture
async def case(db, org: Org, now, make_client) -> Case:
    formula = await make_user(db, org.shop_a1, name="=SUM(A1)")
    await make_user(db, org.shop_a2, active=False)
    bulletin = await published(db, org, audience=["BA", "SB1"], posts=3)
    first, second, third = await service.items_of(db, bulletin.id)
    await db.execute(sa.update(posts).where(posts.c.id == third.post_id).values(status="hidden"))
    await db.commit()
    a1, _t = await as_user(make_client, org.staff_a1)
    assert (await a1.get(f"/bulletins/{bulletin.id}")).status_code == 200  # opened
    b1, _t = await as_user(make_client, org.staff_b1)
    assert (await b1.post(f"/api/v1/bulletins/{bulletin.id}/read")).status_code == 200
    bulletin = await fresh(db, bulletin.id)
    for user, item in ((org.staff_a1, first), (org.staff_b1, first), (org.staff_b1, second)):
        await service.answer_rollout(db, user, bulletin, item.id, "adopted")
    return Case(await fresh(db, bulletin.id), formula)


# The lists -----------------------------------------------------------------------------------


async def test_a_curator_with_a_scope_follows_up_the_part_inside_it(db, org, case):
    """Scoped to shop SA2: only its unread people and its shop, in the lists and the CSV."""
    curator = await make_user(db, org.shop_a1, role="curator", scope_unit_id=org.shop_a2.id)
    follow = await service.follow_up(db, case.bulletin, curator)
    assert [p.code for p in follow.people] == [org.staff_a2.code]
    assert [s.code for s in follow.shops_not_read] == ["SA2"]
    assert [s.code for s in follow.shops_not_answered] == ["SA2"]
    csv_text = service.people_csv(follow).decode("utf-8-sig")
    assert org.staff_a2.code in csv_text and org.staff_a1b.code not in csv_text


async def test_the_remind_button_is_offered_only_where_reminding_works(make_client, db, org, case):
    """A curator scoped to shop SA2 sees the part of the audience (BA and SB1) inside the scope
    but may not remind about it (the audience reaches beyond the scope: 404); the page says so
    instead of offering a button that fails. Head
    office gets the button and may use it."""
    scoped = await make_user(db, org.shop_a1, role="curator", scope_unit_id=org.shop_a2.id)
    bid = case.bulletin.id
    client, _t = await as_user(make_client, scoped)
    page = soup(await client.get(f"/bulletins/{bid}/stats"))
    assert page.select_one("[data-testid=remind]") is None
    assert "担当範囲を超えています" in page.select_one("[data-testid=remind-not-yours]").text
    form = {"csrf_token": page.select_one("input[name=csrf_token]")["value"]}
    assert (await client.post(f"/bulletins/{bid}/remind", data=form)).status_code == 404
    head, _t = await as_user(make_client, org.curator)
    page = soup(await head.get(f"/bulletins/{bid}/stats"))
    assert page.select_one("[data-testid=remind-not-yours]") is None
    assert page.select_one("[data-testid=remind]") is not None
    form = {"csrf_token": page.select_one("input[name=csrf_token]")["value"]}
    assert (await head.post(f"/bulletins/{bid}/remind", data=form)).status_code == 303


async def test_the_lists_are_exactly_who_and_which_shops_have_not(make_client, db, org, case):
    bulletin = case.bulletin
    unread = [org.staff_a1b.code, case.formula.code, org.staff_a2.code]
    follow = await service.follow_up(db, bulletin, None)
    assert [p.code for p in follow.people] == unread
    assert [(p.unit_code, p.region_code) for p in follow.people] == [
        ("SA1", "RA"),
        ("SA1", "RA"),
        ("SA2", "RA"),
    ]
    assert [(s.code, s.users, s.readers, s.not_read) for s in follow.shops_not_read] == [
        ("SA1", 3, 1, 2),
        ("SA2", 1, 0, 1),
    ]
    assert [(s.code, s.answered, s.items, s.unanswered) for s in follow.shops_not_answered] == [
        ("SA1", 1, 2, ["丁寧な説明 1"]),
        ("SA2", 0, 2, ["丁寧な説明 0", "丁寧な説明 1"]),
    ]

    curator, _t = await as_user(make_client, org.curator)
    page = soup(await curator.get(f"/bulletins/{bulletin.id}/stats"))
    assert [tr["data-user"] for tr in page.select("#unread-people tr[data-user]")] == unread
    assert [tb["data-unit"] for tb in page.select("#unread-people tbody")] == ["SA1", "SA2"]
    not_read = page.select("#shops-not-read tbody tr")
    assert [(tr["data-unit"], tr.select_one("[data-testid=not-read]").text) for tr in not_read] == [
        ("SA1", "2"),
        ("SA2", "1"),
    ]
    not_answered = page.select("#shops-not-answered tbody tr")
    assert [
        (tr["data-unit"], tr.select_one("[data-testid=answered]").get_text(strip=True))
        for tr in not_answered
    ] == [("SA1", "1 / 2"), ("SA2", "0 / 2")]

    api = (await curator.get(f"/api/v1/bulletins/{bulletin.id}/followup")).json()
    assert [p["code"] for p in api["unread"]] == unread
    assert api["unread"][2] == {
        "code": org.staff_a2.code,
        "name": org.staff_a2.name,
        "unit": {"code": "SA2", "name": "渋谷店"},
        "region": {"code": "RA", "name": "関東地域"},
    }
    assert [s["unit"]["code"] for s in api["shops_not_read"]] == ["SA1", "SA2"]
    assert api["shops_not_answered"][1]["unanswered"] == ["丁寧な説明 0", "丁寧な説明 1"]
    assert (api["confirm_by"], api["reminded_on"]) == (None, None)


async def test_everyone_read_and_answered_leaves_the_lists_empty(make_client, db, org, now):
    bulletin = await published(db, org, audience=["SB1"])
    (item,) = await service.items_of(db, bulletin.id)
    await service.mark_read(db, org.staff_b1, bulletin)
    await service.answer_rollout(db, org.staff_b1, bulletin, item.id, "not_applicable")
    follow = await service.follow_up(db, await fresh(db, bulletin.id), None)
    assert (follow.people, follow.shops_not_read, follow.shops_not_answered) == ([], [], [])
    curator, _t = await as_user(make_client, org.curator)
    page = soup(await curator.get(f"/bulletins/{bulletin.id}/stats"))
    assert not page.select("#unread-people, #shops-not-read, #shops-not-answered")
    assert len(page.select("#followup .empty-state")) == 3
    assert page.select_one("[data-testid=remind]").has_attr("disabled")


def rows_of(body: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
async def test_csv_files_hold_the_same_lists(make_client, db, org, case, encoding):
    bulletin = case.bulletin
    curator, _t = await as_user(make_client, org.curator)
    query = "?encoding=cp932" if encoding == "cp932" else ""
    r = await curator.get(f"/bulletins/{bulletin.id}/unread-people.csv{query}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith(
        f'attachment; filename="bulletin-{bulletin.id}-unread-people-20250602.csv"'
    )
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
    header, *rows = rows_of(r.content, "utf-8-sig" if encoding == "utf-8" else "cp932")
    assert header == ["地域コード", "地域", "組織コード", "組織", "社員番号", "氏名"]
    assert rows == [
        ["RA", "関東地域", "SA1", "新宿店", org.staff_a1b.code, org.staff_a1b.name],
        ["RA", "関東地域", "SA1", "新宿店", case.formula.code, "'=SUM(A1)"],
        ["RA", "関東地域", "SA2", "渋谷店", org.staff_a2.code, org.staff_a2.name],
    ]
    r = await curator.get(f"/bulletins/{bulletin.id}/shops.csv{query}")
    assert r.status_code == 200
    header, *rows = rows_of(r.content, "utf-8-sig" if encoding == "utf-8" else "cp932")
    assert len(header) == 10
    assert rows == [
        ["RA", "関東地域", "SA1", "新宿店", "3", "1", "2", "2", "1", "丁寧な説明 1"],
        ["RA", "関東地域", "SA2", "渋谷店", "1", "0", "1", "2", "0", "丁寧な説明 0 / 丁寧な説明 1"],
    ]


# Remind ----------------------------------------------------------------------------------------


async def test_remind_notifies_exactly_the_unread_once_a_day(make_client, db, org, case, now):
    bulletin = case.bulletin
    db.add(
        PushSubscription(
            user_id=org.staff_a1b.id, endpoint="https://push.test/1", p256dh="k", auth="a"
        )
    )
    await db.commit()
    curator, _t = await as_user(make_client, org.curator)
    page = soup(await curator.get(f"/bulletins/{bulletin.id}/stats"))
    assert "3" in page.select_one("#remind-panel form")["data-confirm"]
    r = await curator.post(f"/bulletins/{bulletin.id}/remind", headers=HX)
    assert r.status_code == 200, r.text
    panel = soup(r.text)
    assert panel.select_one("#remind-panel .flash").text == "3人にリマインドを送りました。"
    assert panel.select_one("[data-testid=remind]").has_attr("disabled")
    unread = sorted([org.staff_a1b.id, case.formula.id, org.staff_a2.id])
    assert await reminded_ids(db, bulletin.id) == unread
    (entry,) = await remind_audits(db, bulletin.id)
    assert (entry.actor_id, json.loads(entry.changes or "{}")) == (
        org.curator.id,
        {"before": {}, "after": {"recipients": 3}},
    )
    # A push for the one with a subscription (the push rules decide later whether it goes).
    pushes = await db.execute(
        sa.select(Notification.user_id)
        .join(push_outbox, push_outbox.c.notification_id == Notification.id)
        .where(Notification.kind == REMINDER)
    )
    assert pushes.scalars().all() == [org.staff_a1b.id]

    # A second press the same day: 409, said beside the button; nothing sent or audited.
    now.at = T0 + timedelta(hours=13)  # 23:00 in Tokyo, still the same day
    r = await curator.post(f"/bulletins/{bulletin.id}/remind", headers=HX)
    assert r.status_code == 409
    assert "今日すでに送信済み" in soup(r.text).select_one("#remind-error").text
    r = await curator.post(f"/api/v1/bulletins/{bulletin.id}/remind")
    assert r.status_code == 409 and "今日すでに" in r.json()["detail"]
    assert await reminded_ids(db, bulletin.id) == unread
    assert len(await remind_audits(db, bulletin.id)) == 1

    # The reminded see it in their list and their digest; the next day only who is still unread.
    staff, _t = await as_user(make_client, org.staff_a2)
    listing = soup(await staff.get("/notifications"))
    assert "リマインド：好取組情報 第1号「好取組情報 6月号」を確認してください。" in listing.text
    assert (await staff.get(f"/bulletins/{bulletin.id}")).status_code == 200  # reads it
    got = await digest.build(
        db, org.staff_a1b, T0 - timedelta(days=1), now.at, lambda n, **kw: f"/{n}/{kw}"
    )
    assert any(
        "好取組情報 6月号" in line.text and "show_bulletin" in line.url for line in got.lines
    )
    now.at = T0 + timedelta(hours=14)  # 0:00 in Tokyo: the next day
    r = await curator.post(f"/api/v1/bulletins/{bulletin.id}/remind")
    assert r.status_code == 200
    assert r.json() == {"bulletin_id": bulletin.id, "reminded": 2}
    second = (
        await db.exec(
            select(Notification.user_id).where(
                Notification.kind == REMINDER, Notification.created_at == now.at
            )
        )
    ).all()
    assert sorted(second) == sorted([org.staff_a1b.id, case.formula.id])
    assert (await fresh(db, bulletin.id)).reminded_on == date(2025, 6, 3)


async def test_remind_with_nobody_left_or_before_publication_is_409(make_client, db, org, now):
    done = await published(db, org, audience=["SB1"])
    await service.mark_read(db, org.staff_b1, done)
    not_yet = await draft(db, org)
    curator, _t = await as_user(make_client, org.curator)
    r = await curator.post(f"/api/v1/bulletins/{done.id}/remind")
    assert r.status_code == 409 and "全員" in r.json()["detail"]
    assert (await curator.post(f"/api/v1/bulletins/{not_yet.id}/remind")).status_code == 409
    assert (await fresh(db, done.id)).reminded_on is None  # the day is not used up
    assert await reminded_ids(db, done.id) == [] and await remind_audits(db, done.id) == []


async def test_the_curator_who_reminds_is_not_reminded(make_client, db, org, now):
    bulletin = await published(db, org, audience="all")
    curator, _t = await as_user(make_client, org.curator)
    assert (await curator.post(f"/api/v1/bulletins/{bulletin.id}/remind")).status_code == 200
    follow = await service.follow_up(db, await fresh(db, bulletin.id), None)
    assert org.curator.id in {p.user_id for p in follow.people}
    assert await reminded_ids(db, bulletin.id) == sorted(
        p.user_id for p in follow.people if p.user_id != org.curator.id
    )


# The deadline and the automatic reminder --------------------------------------------------------


async def test_deadline_set_in_the_editor_and_the_api_shown_to_readers(make_client, db, org, now):
    bulletin = await draft(db, org)
    curator, token = await as_user(make_client, org.curator)
    form = {"title": "好取組情報 6月号", "lead": "", "audience_mode": "all", "csrf_token": token}
    r = await curator.post(
        f"/bulletins/{bulletin.id}/edit", data={**form, "confirm_by": "2025-06-01"}, headers=HX
    )
    assert r.status_code == 422  # yesterday in Tokyo
    field = soup(r.text).select_one("#bulletin-confirm-by")
    assert field["value"] == "2025-06-01" and field["aria-invalid"] == "true"
    assert "今日以降" in soup(r.text).select_one("#bulletin-confirm-by-error").text
    assert (await fresh(db, bulletin.id)).confirm_by is None
    r = await curator.post(
        f"/bulletins/{bulletin.id}/edit", data={**form, "confirm_by": "2025-06-02"}, headers=HX
    )
    assert r.status_code == 200  # today is fine
    assert soup(r.text).select_one("#bulletin-confirm-by")["value"] == "2025-06-02"
    api = f"/api/v1/bulletins/{bulletin.id}"
    assert (await curator.patch(api, json={"confirm_by": "2025-06-01"})).status_code == 422
    assert (await curator.patch(api, json={"confirm_by": "6月5日"})).status_code == 422
    r = await curator.patch(api, json={"confirm_by": "2025-06-05"})
    assert r.status_code == 200 and r.json()["confirm_by"] == "2025-06-05"
    entry = (
        await db.exec(
            select(AuditEntry)
            .where(AuditEntry.target_id == bulletin.id, AuditEntry.action == "bulletin.update")
            .order_by(AuditEntry.id.desc())
        )
    ).first()
    assert json.loads(entry.changes)["after"] == {"confirm_by": "2025-06-05"}
    assert (await curator.post(f"{api}/publish")).status_code == 200
    staff, _t = await as_user(make_client, org.staff_a1)
    shown = soup(await staff.get(f"/bulletins/{bulletin.id}")).select_one(
        "[data-testid=confirm-by]"
    )
    assert shown.get_text(strip=True) == "確認期限：2025/06/05"
    listing = soup(await staff.get("/bulletins"))
    assert (
        listing.select_one("[data-testid=confirm-by]").get_text(strip=True)
        == "確認期限：2025/06/05"
    )
    assert (await staff.get(api)).json()["confirm_by"] == "2025-06-05"
    printed = soup(await staff.get(f"/bulletins/{bulletin.id}/print"))
    assert printed.select_one("[data-testid=confirm-by]").text == "確認期限：2025/06/05"
    r = await curator.post("/api/v1/bulletins", json={"title": "期限なし"})
    assert r.status_code == 201 and r.json()["confirm_by"] is None


async def deadline_bulletin(db, org: Org) -> Bulletin:
    bulletin = await draft(db, org, audience=["BA"])
    await service.update_bulletin(db, org.curator, bulletin, {"confirm_by": DEADLINE})
    return await service.publish_now(db, org.curator, bulletin)


async def test_the_automatic_reminder_goes_once_the_day_before(
    make_client, db, org, now, monkeypatch
):
    monkeypatch.setattr(bulletin_due, "REFRESH_S", 0.0)
    bulletin = await deadline_bulletin(db, org)
    await service.mark_read(db, org.staff_a1, bulletin)
    staff, _t = await as_user(make_client, org.staff_b1)  # outside the audience: any request
    now.at = datetime(2025, 6, 3, 23, 59, tzinfo=UTC)  # 8:59 on June 4th in Tokyo
    assert (await staff.get("/")).status_code == 200
    assert await reminded_ids(db, bulletin.id) == []
    now.at = datetime(2025, 6, 4, 0, 0, tzinfo=UTC)  # 9:00 on June 4th, the day before
    assert (await staff.get("/")).status_code == 200  # the request-start step sends it
    assert await reminded_ids(db, bulletin.id) == sorted([org.staff_a1b.id, org.staff_a2.id])
    row = await fresh(db, bulletin.id)
    assert (row.deadline_reminded_at, row.reminded_on) == (now.at, date(2025, 6, 4))
    (entry,) = await remind_audits(db, bulletin.id)
    assert (entry.actor_id, entry.reason) == (None, "deadline")
    assert json.loads(entry.changes)["after"] == {"recipients": 2, "confirm_by": "2025-06-05"}
    # Never twice: more requests, the cron command's function, a curator the same day.
    now.at = datetime(2025, 6, 4, 3, 0, tzinfo=UTC)
    assert (await staff.get("/")).status_code == 200
    assert await service.remind_due(db) == {}
    curator, _t = await as_user(make_client, org.curator)
    assert (await curator.post(f"/api/v1/bulletins/{bulletin.id}/remind")).status_code == 409
    assert len(await reminded_ids(db, bulletin.id)) == 2
    staff_a2, _t = await as_user(make_client, org.staff_a2)
    line = soup(await staff_a2.get("/notifications")).text
    assert "2025/06/05までに確認してください" in line


async def test_no_automatic_reminder_for_a_bulletin_published_on_the_day_before(db, org, now):
    bulletin = await draft(db, org, audience=["BA"])
    await service.update_bulletin(db, org.curator, bulletin, {"confirm_by": DEADLINE})
    now.at = datetime(2025, 6, 4, 1, 0, tzinfo=UTC)  # 10:00 on June 4th: it was just announced
    await service.publish_now(db, org.curator, bulletin)
    assert await service.remind_due(db) == {}
    assert (await fresh(db, bulletin.id)).deadline_reminded_at == now.at  # claimed, not sent
    assert await reminded_ids(db, bulletin.id) == []
    assert await bulletin_due.next_due(db) is None


async def test_next_due_includes_the_reminder_time(db, org, now):
    await deadline_bulletin(db, org)
    assert await bulletin_due.next_due(db) == datetime(2025, 6, 4, 0, 0, tzinfo=UTC)


async def test_the_automatic_reminder_is_sent_once_across_instances(cli_db, now):  # noqa: F811
    """Separate connections on a real (committed) database: three instances run remind_due
    together; one sends it."""
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.config import get_settings
    from app.db import make_async_engine

    bulletin_id = deadline_database()
    aengine = make_async_engine(get_settings(), writer=True)
    maker = async_sessionmaker(aengine, class_=AsyncSession, expire_on_commit=False)

    async def due() -> dict[int, int]:
        async with maker() as session:
            return await service.remind_due(session)

    try:
        now.at = datetime(2025, 6, 4, 0, 30, tzinfo=UTC)
        results = await asyncio.gather(due(), due(), due())
        assert sorted(results, key=len) == [{}, {}, {bulletin_id: 4}]
        async with maker() as session:
            assert len(await reminded_ids(session, bulletin_id)) == 4
            assert len(await remind_audits(session, bulletin_id)) == 1
    finally:
        await aengine.dispose()


def deadline_database() -> int:
    """A committed database with a published bulletin due for its reminder: its id. The
    audience is the whole company: a curator (its author) and three staff, none has read it."""
    from click.testing import CliRunner

    from app.cli.main import cli
    from app.config import get_settings
    from app.db import make_sync_engine

    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = make_sync_engine(get_settings())
    try:
        with Session(engine) as s:
            unit = OrgUnit(code="CO", name="会社", kind="company")
            s.add(unit)
            s.flush()
            curator = User(code="C1", name="本社", unit_id=unit.id, role="curator")
            staff = [User(code=f"S{n}", name=f"社員{n}", unit_id=unit.id) for n in range(3)]
            s.add_all([curator, *staff])
            s.flush()
            post = Post(kind="knowhow", title="t", body="b", author_id=curator.id, unit_id=unit.id)
            s.add(post)
            s.flush()
            bulletin = Bulletin(
                title="期限つき",
                status="published",
                published_at=T0,
                fiscal_year=2025,
                volume=1,
                confirm_by=DEADLINE,
                created_by_id=curator.id,
            )
            s.add(bulletin)
            s.flush()
            s.add(BulletinItem(bulletin_id=bulletin.id, post_id=post.id))
            s.commit()
            return bulletin.id
    finally:
        engine.dispose()


def test_the_cron_command_sends_the_reminder_once(cli_db, now):  # noqa: F811
    from click.testing import CliRunner

    from app.cli.main import cli

    bulletin_id = deadline_database()
    runner = CliRunner()
    now.at = datetime(2025, 6, 3, 23, 0, tzinfo=UTC)  # 8:00 in Tokyo: not yet
    assert "nothing due" in runner.invoke(cli, ["bulletins", "publish-due"]).output
    now.at = datetime(2025, 6, 4, 0, 0, tzinfo=UTC)
    result = runner.invoke(cli, ["bulletins", "publish-due"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output == f"reminded\t{bulletin_id}\t4 people\n"
    assert "nothing due" in runner.invoke(cli, ["bulletins", "publish-due"]).output


# Who may do what ---------------------------------------------------------------------------------

ROLES = ("anonymous", "staff", "curator", "admin")
READS = [
    ("/bulletins/{id}/stats", 303, 403, 200, 200),
    ("/bulletins/{id}/unread-people.csv", 303, 403, 200, 200),
    ("/bulletins/{id}/shops.csv", 303, 403, 200, 200),
    ("/api/v1/bulletins/{id}/followup", 401, 403, 200, 200),
]


@pytest.mark.parametrize(
    ("path", "role", "expected"),
    [(p, r, e) for p, *codes in READS for r, e in zip(ROLES, codes, strict=True)],
)
async def test_only_curators_and_admins_see_the_lists(client, db, org, now, path, role, expected):
    bulletin = await published(db, org)
    await sign_in_as(client, org, role)
    r = await client.get(path.format(id=bulletin.id), follow_redirects=False)
    assert r.status_code == expected, r.text[:300]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("via", ["page", "api"])
async def test_only_curators_and_admins_remind(client, db, org, now, role, via):
    bulletin = await published(db, org)
    token = await sign_in_as(client, org, role)
    headers = {"X-CSRF-Token": token} if token else {}
    if via == "api" and token is None:
        headers = {"Authorization": "Bearer nope"}
    url = f"/bulletins/{bulletin.id}/remind"
    r = await client.post(url if via == "page" else f"/api/v1{url}", headers=headers)
    expected = {
        "anonymous": 403 if via == "page" else 401,  # the page: no session, no CSRF token
        "staff": 403,
        "curator": 303 if via == "page" else 200,
        "admin": 303 if via == "page" else 200,
    }[role]
    assert r.status_code == expected, r.text[:300]
    sent = await reminded_ids(db, bulletin.id)
    assert bool(sent) == (role in ("curator", "admin"))


# The lists against a naive count, whatever the audience, the reads and the answers -----------

AUDIENCES = ["all", ["BA"], ["SA1", "SB1"], ["RA"], ["RB", "HQ"], ["CO"]]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    audience=st.sampled_from(AUDIENCES),
    reads=st.sets(st.integers(0, 6)),
    answers=st.sets(st.tuples(st.integers(0, 2), st.integers(0, 1))),
)
async def test_the_lists_equal_a_naive_count(db, org, audience, reads, answers):
    units = {u.id: u for u in (await db.exec(select(OrgUnit))).all()}
    people = sorted((await db.exec(select(User))).all(), key=lambda u: u.id)
    by_code = {u.code: u for u in units.values()}

    def inside(unit: OrgUnit) -> bool:
        if audience == "all":
            return True
        while unit is not None:
            if unit.code in audience:
                return True
            unit = units.get(unit.parent_id)
        return False

    nested = await db.begin_nested()
    try:
        bulletin = Bulletin(
            title="性質",
            status="published",
            audience_all=audience == "all",
            published_at=T0,
            created_by_id=org.curator.id,
        )
        db.add(bulletin)
        await db.flush()
        if audience != "all":
            await db.execute(
                sa.insert(BulletinAudience),
                [{"bulletin_id": bulletin.id, "unit_id": by_code[c].id} for c in audience],
            )
        items = []
        for n in range(2):
            post = Post(
                kind="knowhow",
                title=f"投稿{n}",
                body="b",
                author_id=org.staff_a1.id,
                unit_id=org.shop_a1.id,
                status="published",
            )
            db.add(post)
            await db.flush()
            item = BulletinItem(bulletin_id=bulletin.id, post_id=post.id, position=n)
            db.add(item)
            await db.flush()
            items.append(item)
        readers = {people[i % len(people)].id for i in reads}
        db.add_all(BulletinRead(bulletin_id=bulletin.id, user_id=u, read_at=T0) for u in readers)
        shops = [org.shop_a1, org.shop_a2, org.shop_b1]
        given = {(shops[s].id, items[i].id) for s, i in answers}
        db.add_all(
            RolloutResponse(
                item_id=item_id,
                unit_id=unit_id,
                answer="adopted",
                answered_by_id=org.curator.id,
                answered_at=T0,
            )
            for unit_id, item_id in given
        )
        await db.flush()

        follow = await service.follow_up(db, bulletin, None)
        audience_people = [u for u in people if u.active and inside(units[u.unit_id])]
        assert sorted(p.user_id for p in follow.people) == sorted(
            u.id for u in audience_people if u.id not in readers
        )
        audience_shops = [s for s in shops if inside(s)]
        assert {s.code for s in follow.shops} == {s.code for s in audience_shops}
        assert {s.code for s in follow.shops_not_read} == {
            s.code
            for s in audience_shops
            if any(u.unit_id == s.id and u.id not in readers for u in audience_people)
        }
        assert {s.code for s in follow.shops_not_answered} == {
            s.code for s in audience_shops if sum((s.id, i.id) in given for i in items) < 2
        }
    finally:
        await nested.rollback()


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_a_deadline_is_today_or_later_in_tokyo(day):
    """Checked against the Tokyo day: at 23:30 UTC on June 1st it is June 2nd in Tokyo."""
    from app.services.bulletins.rules import checked_confirm_by
    from app.services.errors import InvalidInput
    from tests.factories import stopped_clock

    with stopped_clock(datetime(2025, 6, 1, 23, 30, tzinfo=UTC)):
        if day >= date(2025, 6, 2):
            assert checked_confirm_by(day) == day
        else:
            with pytest.raises(InvalidInput):
                checked_confirm_by(day)
            assert checked_confirm_by(day, current=day) == day  # a saved one stays
