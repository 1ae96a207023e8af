"""The audit log: filters (actor, action, Tokyo days), keyset pages, CSV export, append-only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from app import clock
from app.models import AuditEntry, User
from app.services import audit
from app.services.audit_log import AuditRow, to_csv
from tests.factories import login_as, make_post, make_user

# 2025-03-31 15:30 UTC is 2025-04-01 00:30 in Tokyo.
EARLY = datetime(2025, 3, 31, 15, 30, tzinfo=UTC)


@pytest.fixture
def fixed_clock():
    now = {"t": EARLY}
    clock.set_clock(lambda: now["t"])
    yield now
    clock.set_clock(None)


async def _entry(db, actor: User | None, action: str, target_id: int, reason: str | None = None):
    row = audit.record(db, actor, action, "post", target_id, reason=reason)
    await db.commit()
    return row


async def seed(db, fixed_clock) -> tuple[User, User]:
    """Two curators, entries on 2025-03-31 and 2025-04-01 (Tokyo) and later."""
    alice = await make_user(db, role="curator", name="山田 花子")
    bob = await make_user(db, role="curator", name="佐藤 次郎")
    fixed_clock["t"] = EARLY - timedelta(hours=1)  # 2025-03-31 23:30 JST
    await _entry(db, alice, "post.hide", 1, "個人情報（電話番号）")
    fixed_clock["t"] = EARLY  # 2025-04-01 00:30 JST
    await _entry(db, bob, "post.feature", 2)
    fixed_clock["t"] = EARLY + timedelta(days=1)  # 2025-04-02 00:30 JST
    await _entry(db, alice, "post.restore", 1, "確認済み")
    await _entry(db, None, "post.hide", 3, '=HYPERLINK("http://x")')
    return alice, bob


async def _api(client, **params: str) -> list[dict]:
    r = await client.get("/api/v1/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_filters_by_actor_action_and_tokyo_days(client, db, fixed_clock):
    alice, bob = await seed(db, fixed_clock)
    await login_as(client, await make_user(db, role="curator"))

    everything = await _api(client)
    assert [e["action"] for e in everything] == [
        "post.hide",
        "post.restore",
        "post.feature",
        "post.hide",
    ]  # newest first (the last two share a time: the later id first)
    assert everything[0]["actor"] is None
    assert everything[-1]["actor"] == {"code": alice.code, "name": "山田 花子"}
    assert everything[-1]["reason"] == "個人情報（電話番号）"

    assert {e["actor"]["code"] for e in await _api(client, actor=alice.code)} == {alice.code}
    assert len(await _api(client, actor=alice.code)) == 2
    assert [e["target_id"] for e in await _api(client, action="post.hide")] == [3, 1]
    assert [e["action"] for e in await _api(client, actor=bob.code, action="post.hide")] == []

    # Days are Tokyo days: 00:30 JST on April 1st is still March 31st in UTC.
    april_first = await _api(client, **{"from": "2025-04-01", "to": "2025-04-01"})
    assert [e["action"] for e in april_first] == ["post.feature"]
    march = await _api(client, to="2025-03-31")
    assert [e["action"] for e in march] == ["post.hide"]
    assert len(await _api(client, **{"from": "2025-04-02"})) == 2
    r = await client.get("/api/v1/audit", params={"from": "not-a-date"})
    assert r.status_code == 422


async def test_keyset_pages_cover_every_row_once(client, db, fixed_clock):
    curator = await make_user(db, role="curator")
    for i in range(7):
        fixed_clock["t"] = EARLY + timedelta(minutes=i // 2)  # pairs share a timestamp
        await _entry(db, curator, "post.hide", i)
    await login_as(client, curator)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/audit", params=params)).json()
        seen += [e["target_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0]


async def test_audit_page_filters_and_links(client, db, fixed_clock):
    alice, _bob = await seed(db, fixed_clock)
    await login_as(client, alice)
    r = await client.get("/audit", params={"actor": alice.code, "action": "post.hide"})
    assert r.status_code == 200
    soup = BeautifulSoup(r.text, "html.parser")
    rows = soup.select("#audit-results tr.audit-row")
    assert len(rows) == 1
    assert rows[0].select_one(".actor a").get_text() == "山田 花子"
    assert rows[0].select_one(".reason").get_text() == "個人情報（電話番号）"
    assert rows[0].select_one(".action").get_text() == "投稿を非表示"
    assert soup.select_one("select[name=action] option[selected]")["value"] == "post.hide"
    assert soup.select_one("input[name=actor]")["value"] == alice.code
    csv_link = soup.select_one("a.csv-link")["href"]
    assert csv_link.startswith("/audit.csv?") and f"actor={alice.code}" in csv_link
    assert soup.select_one("nav a[href='/audit']")  # the curator's nav link

    # A bad date in the page's form is ignored rather than an error page.
    r = await client.get("/audit", params={"from": "2025-13-01"})
    assert r.status_code == 200


async def test_audit_page_next_link(client, db, fixed_clock):
    curator = await make_user(db, role="curator")
    for i in range(55):
        await _entry(db, curator, "post.feature", i)
    await login_as(client, curator)
    soup = BeautifulSoup((await client.get("/audit")).text, "html.parser")
    assert len(soup.select("tr.audit-row")) == 50
    next_url = soup.select_one("#audit-results a[rel=next]")["href"]
    soup = BeautifulSoup((await client.get(next_url)).text, "html.parser")
    assert len(soup.select("tr.audit-row")) == 5
    assert not soup.select("#audit-results a[rel=next]")


async def test_csv_export_is_exactly_the_filtered_rows(client, db, fixed_clock):
    alice, _bob = await seed(db, fixed_clock)
    for i in range(60):  # more than one page of the table
        await _entry(db, alice, "post.unfeature", 100 + i, "好取組の見直し")
    await login_as(client, alice)

    r = await client.get("/audit.csv", params={"actor": alice.code})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="audit-log-')
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "created_at",
        "actor_code",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "reason",
        "changes",
        "id",
        "prev_hash",
        "hash",
        "canonical",
    ]
    body = rows[1:]
    assert len(body) == 62
    assert {row[1] for row in body} == {alice.code}
    assert {row[2] for row in body} == {"山田 花子"}
    oldest = body[-1]
    assert oldest[3:7] == ["post.hide", "post", "1", "個人情報（電話番号）"]
    assert oldest[0] == "2025-03-31T23:30:00+09:00"

    r = await client.get("/audit.csv", params={"action": "post.hide"})
    body = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:]
    assert [row[5] for row in body] == ["3", "1"]
    # A cell a spreadsheet would run as a formula is defused.
    assert body[0][6] == '\'=HYPERLINK("http://x")'
    assert body[0][1] == "" and body[0][2] == ""


def test_to_csv_keeps_japanese_and_quotes():
    row = AuditRow(
        1,
        EARLY,
        "E001",
        "山田, 花子",
        "post.redact",
        "post",
        7,
        '改行\nと"引用"',
        '{"before": {"body": "redacted"}, "after": {"body": "edited"}}',
    )
    data = to_csv([row])
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed[1][2] == "山田, 花子" and parsed[1][6] == '改行\nと"引用"'
    assert parsed[1][7].startswith('{"before"')


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
@pytest.mark.parametrize(
    "path", ["/audit", "/audit/1", "/audit.csv", "/api/v1/audit", "/api/v1/audit/1"]
)
async def test_no_route_changes_or_deletes_audit_rows(client, db, method, path):
    curator = await make_user(db, role="admin")
    post = await make_post(db, curator)
    audit.record(db, curator, "post.hide", "post", post.id, reason="x")
    await db.commit()
    token = await login_as(client, curator)
    r = await client.request(method, path, headers={"X-CSRF-Token": token})
    assert r.status_code in (404, 405)
    count = (await db.execute(sa.select(sa.func.count()).select_from(AuditEntry))).scalar_one()
    assert count == 1
