"""The two-person rule: reopening a closed KPI month and showing again a post hidden for
personal data are asked for by one curator or admin and carried out only when another
approves (an admin for a month); nothing changes before; every step is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa

from app.models import AuditEntry, Post, User
from app.models.tables import approval_requests, kpi_month_closes
from app.services import audit_chain, flags, kpi, moderation
from app.services.errors import Conflict
from tests.factories import HX, login_as, make_post, make_user, soup

JUNE = date(2024, 6, 1)


@dataclass
class Scene:
    author: User
    curator: User
    curator2: User
    admin: User
    admin2: User
    pii_post: Post  # hidden after a personal-data report
    other_post: Post  # hidden for another reason


async def make_scene(db) -> Scene:
    author = await make_user(db, name="山田 太郎")
    curator = await make_user(db, role="curator", name="本社 花子")
    curator2 = await make_user(db, role="curator", name="品質 次郎")
    admin = await make_user(db, role="admin", name="管理 一郎")
    admin2 = await make_user(db, role="admin", name="管理 二郎")
    pii_post = await make_post(db, author, title="電話番号入りの声")
    await flags.flag(db, author, pii_post, None, "personal_info", "電話番号が載っています")
    await moderation.hide_post(db, curator, pii_post, "個人情報（電話番号）")
    other_post = await make_post(db, author, title="重複した投稿")
    await moderation.hide_post(db, curator, other_post, "重複")
    await kpi.close_month(db, curator, JUNE)
    return Scene(author, curator, curator2, admin, admin2, pii_post, other_post)


async def actions(db) -> list[tuple[str, int | None]]:
    rows = await db.execute(
        sa.select(AuditEntry.action, AuditEntry.actor_id).order_by(AuditEntry.id)  # type: ignore[arg-type]
    )
    return [tuple(r) for r in rows]


async def ask_restore(client, headers: dict[str, str], post: Post, **extra: str):
    body = {"action": "post.restore", "post_id": post.id, **extra}
    return await client.post("/api/v1/approvals", json=body, headers=headers)


async def post_status(db, post: Post) -> str:
    await db.refresh(post)
    return post.status


async def month_closed(db) -> bool:
    row = (
        await db.execute(
            sa.select(kpi_month_closes.c.reopened_at).where(kpi_month_closes.c.month == JUNE)
        )
    ).one()
    return row[0] is None


async def api_as(client, user: User) -> dict[str, str]:
    return {"X-CSRF-Token": await login_as(client, user)}


# -- showing a post hidden for personal data again ---------------------------------------------


async def test_a_post_hidden_for_personal_data_needs_a_second_person(client, make_client, db):
    s = await make_scene(db)
    asker = await api_as(client, s.curator)
    # Directly: refused, nothing changes (the API and the page alike).
    r = await client.post(f"/api/v1/posts/{s.pii_post.id}/restore", headers=asker)
    assert r.status_code == 409 and "2人目" in r.json()["detail"]
    assert await post_status(db, s.pii_post) == "hidden"

    r = await ask_restore(client, asker, s.pii_post, reason="本人確認済み")
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["status"] == "pending" and request["post_id"] == s.pii_post.id
    assert request["requested_by"]["code"] == s.curator.code
    assert await post_status(db, s.pii_post) == "hidden"  # until approved nothing changes

    # The same person cannot approve; a second request is a conflict.
    r = await client.post(f"/api/v1/approvals/{request['id']}/approve", headers=asker)
    assert r.status_code == 403 and "ご自身" in r.json()["detail"]
    r = await ask_restore(client, asker, s.pii_post)
    assert r.status_code == 409
    assert await post_status(db, s.pii_post) == "hidden"

    other = make_client("10.0.0.7")
    second = await api_as(other, s.curator2)
    r = await other.post(f"/api/v1/approvals/{request['id']}/approve", headers=second)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert r.json()["decided_by"] == s.curator2.name
    assert await post_status(db, s.pii_post) == "published"
    assert (await actions(db))[-3:] == [
        ("approval.request", s.curator.id),
        ("approval.approve", s.curator2.id),
        ("post.restore", s.curator2.id),
    ]
    # Decided once: approving again is a conflict.
    r = await other.post(f"/api/v1/approvals/{request['id']}/approve", headers=second)
    assert r.status_code == 409
    assert (await audit_chain.verify(db)).broken is None


async def test_a_post_hidden_for_another_reason_is_restored_at_once(client, db):
    s = await make_scene(db)
    headers = await api_as(client, s.curator)
    r = await ask_restore(client, headers, s.other_post)
    assert r.status_code == 409
    r = await client.post(f"/api/v1/posts/{s.other_post.id}/restore", headers=headers)
    assert r.status_code == 200 and await post_status(db, s.other_post) == "published"


async def test_a_rejected_or_withdrawn_request_changes_nothing(client, make_client, db):
    s = await make_scene(db)
    asker = await api_as(client, s.curator)
    body = {"action": "post.restore", "post_id": s.pii_post.id}
    first = (await client.post("/api/v1/approvals", json=body, headers=asker)).json()
    other = make_client("10.0.0.8")
    second_person = await api_as(other, s.curator2)
    r = await other.post(f"/api/v1/approvals/{first['id']}/reject", headers=second_person)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert await post_status(db, s.pii_post) == "hidden"
    # Asked again, and withdrawn by the one who asked.
    second = (await client.post("/api/v1/approvals", json=body, headers=asker)).json()
    r = await client.post(f"/api/v1/approvals/{second['id']}/reject", headers=asker)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = await other.post(f"/api/v1/approvals/{second['id']}/approve", headers=second_person)
    assert r.status_code == 409
    assert await post_status(db, s.pii_post) == "hidden"
    assert [a for a, _ in await actions(db) if a.startswith("approval.")] == [
        "approval.request",
        "approval.reject",
        "approval.request",
        "approval.reject",
    ]


async def test_from_the_post_page_to_the_approvals_page(client, make_client, db):
    s = await make_scene(db)
    token = await login_as(client, s.curator)
    page = soup(await client.get(f"/posts/{s.pii_post.id}"))
    assert not page.select(f"form[action='/posts/{s.pii_post.id}/restore']")
    form = page.select_one(f"form[action='/posts/{s.pii_post.id}/restore-request']")
    assert form is not None and form.select_one("textarea[name=reason]")
    # The other hidden post keeps its direct button.
    other_page = soup(await client.get(f"/posts/{s.other_post.id}"))
    assert other_page.select(f"form[action='/posts/{s.other_post.id}/restore']")

    r = await client.post(
        f"/posts/{s.pii_post.id}/restore-request",
        data={"csrf_token": token, "from": "post", "reason": "確認済み"},
        headers=HX,
    )
    assert r.status_code == 200
    panel = soup(r.text).select_one("#curator-actions")
    assert panel.select_one(".badge.pending") and not panel.select(
        "form[action$='restore-request']"
    )
    assert await post_status(db, s.pii_post) == "hidden"

    link = soup(await client.get("/moderation")).select_one(".approvals-link")
    assert link.a["href"] == "/approvals" and link.select_one(".badge.pending")
    # The requester's list: no approve button, a withdraw one.
    mine = soup(await client.get("/approvals")).select_one(".approval[data-action='post.restore']")
    assert not mine.select("form[action$='/approve']") and mine.select("form[action$='/reject']")

    other = make_client("10.0.0.9")
    other_token = await login_as(other, s.curator2)
    item = soup(await other.get("/approvals")).select_one(".approval[data-action='post.restore']")
    assert "確認済み" in item.get_text() and "本社 花子" in item.get_text()
    approve = item.select_one("form[action$='/approve']")["action"]
    r = await other.post(approve, data={"csrf_token": other_token}, headers=HX)
    assert r.status_code == 200 and soup(r.text).select_one("#approval-lists .notice")
    assert await post_status(db, s.pii_post) == "published"


async def test_approving_ones_own_request_from_the_page_says_why(client, db):
    s = await make_scene(db)
    token = await login_as(client, s.curator)
    r = await ask_restore(client, {"X-CSRF-Token": token}, s.pii_post)
    request_id = r.json()["id"]
    r = await client.post(
        f"/approvals/{request_id}/approve", data={"csrf_token": token}, headers=HX
    )
    assert r.status_code == 403
    error = soup(r.text).select_one(f"#approval-{request_id}-error")
    assert error is not None and "ご自身" in error.get_text()
    assert await post_status(db, s.pii_post) == "hidden"


# -- reopening a closed month -------------------------------------------------------------------


async def test_reopening_a_month_is_asked_by_one_and_approved_by_an_admin(client, make_client, db):
    s = await make_scene(db)
    asker = await api_as(client, s.curator)
    r = await client.post("/api/v1/kpi/months/2024-06/reopen", headers=asker)
    assert r.status_code == 202 and r.json()["month"] == "2024-06"
    request_id = r.json()["id"]
    assert await month_closed(db)
    # Another curator may not approve a month; the requester never.
    curator2 = make_client("10.0.0.10")
    r = await curator2.post(
        f"/api/v1/approvals/{request_id}/approve", headers=await api_as(curator2, s.curator2)
    )
    assert r.status_code == 403 and "管理者だけ" in r.json()["detail"]
    assert await month_closed(db)
    admin = make_client("10.0.0.11")
    r = await admin.post(
        f"/api/v1/approvals/{request_id}/approve", headers=await api_as(admin, s.admin)
    )
    assert r.status_code == 200
    assert not await month_closed(db)
    assert (await actions(db))[-3:] == [
        ("approval.request", s.curator.id),
        ("approval.approve", s.admin.id),
        ("kpi.reopen", s.admin.id),
    ]


async def test_an_admin_asking_needs_another_admin(client, make_client, db):
    s = await make_scene(db)
    asker = await api_as(client, s.admin)
    r = await client.post(
        "/api/v1/approvals", json={"action": "kpi.reopen", "month": "2024-06"}, headers=asker
    )
    assert r.status_code == 201
    r = await client.post(f"/api/v1/approvals/{r.json()['id']}/approve", headers=asker)
    assert r.status_code == 403 and await month_closed(db)
    pending = (await client.get("/api/v1/approvals")).json()
    assert [p["action"] for p in pending] == ["kpi.reopen"]
    admin2 = make_client("10.0.0.12")
    r = await admin2.post(
        f"/api/v1/approvals/{pending[0]['id']}/approve", headers=await api_as(admin2, s.admin2)
    )
    assert r.status_code == 200 and not await month_closed(db)
    decided = (await client.get("/api/v1/approvals", params={"status": "decided"})).json()
    assert decided[0]["status"] == "approved"


async def test_reopen_requests_from_the_kpi_page(client, make_client, db):
    s = await make_scene(db)
    token = await login_as(client, s.curator)
    page = soup(await client.get("/kpi?fy=2024"))
    form = page.select_one(".month-closes form[action='/kpi/months/2024-06/reopen']")
    assert form is not None and "依頼" in form.get_text()
    r = await client.post(
        "/kpi/months/2024-06/reopen", data={"csrf_token": token, "fy": "2024"}, headers=HX
    )
    assert r.status_code == 200
    panel = soup(r.text)
    assert panel.select_one(".month-closes .badge.pending")
    assert not panel.select(".month-closes form[action='/kpi/months/2024-06/reopen']")
    assert await month_closed(db)
    r = await client.post(
        "/kpi/months/2024-06/reopen", data={"csrf_token": token, "fy": "2024"}, headers=HX
    )
    assert r.status_code == 409  # asked already: said beside the list
    assert soup(r.text).select_one(".form-error")

    admin = make_client("10.0.0.13")
    admin_token = await login_as(admin, s.admin)
    item = soup(await admin.get("/approvals")).select_one(".approval[data-action='kpi.reopen']")
    approve = item.select_one("form[action$='/approve']")["action"]
    r = await admin.post(approve, data={"csrf_token": admin_token})
    assert r.status_code == 303 and r.headers["location"] == "/approvals"
    assert not await month_closed(db)


async def test_nothing_reopens_or_restores_without_an_approval(db):
    s = await make_scene(db)
    with pytest.raises(Conflict):
        await kpi.reopen_month(db, s.admin, JUNE)
    with pytest.raises(Conflict):
        await moderation.restore_post(db, s.admin, s.pii_post)
    assert await month_closed(db) and await post_status(db, s.pii_post) == "hidden"
    count = (
        await db.execute(sa.select(sa.func.count()).select_from(approval_requests))
    ).scalar_one()
    assert count == 0


# -- who may do what -------------------------------------------------------------------------

# (what, role) -> expected status. "own": the requester approves their own request.
MATRIX = [
    ("GET /approvals", "staff", 403),
    ("GET /approvals", "curator", 200),
    ("GET /approvals", "admin", 200),
    ("GET /api/v1/approvals", "staff", 403),
    ("GET /api/v1/approvals", "curator", 200),
    ("GET /api/v1/approvals", "admin", 200),
    ("request restore", "staff", 403),
    ("request restore", "curator", 201),
    ("request restore", "admin", 201),
    ("request reopen", "staff", 403),
    ("request reopen", "curator", 202),
    ("request reopen", "admin", 202),
    ("approve restore", "staff", 403),
    ("approve restore", "own", 403),
    ("approve restore", "curator", 200),
    ("approve restore", "admin", 200),
    ("approve reopen", "staff", 403),
    ("approve reopen", "own", 403),
    ("approve reopen", "curator", 403),
    ("approve reopen", "admin", 200),
    ("reject reopen", "staff", 403),
    ("reject reopen", "own", 200),
    ("reject reopen", "curator", 403),
    ("reject reopen", "admin", 200),
]


@pytest.mark.parametrize(("what", "role", "expected"), MATRIX)
async def test_permission_matrix(client, make_client, db, what, role, expected):
    s = await make_scene(db)
    # Requests made beforehand by the curator, for the approve and reject rows.
    asker = make_client("10.0.0.20")
    asker_headers = await api_as(asker, s.curator)
    restore = await ask_restore(asker, asker_headers, s.pii_post)
    reopen = await asker.post("/api/v1/kpi/months/2024-06/reopen", headers=asker_headers)
    ids = {"restore": restore.json()["id"], "reopen": reopen.json()["id"]}
    if role == "own":
        client, headers = asker, asker_headers
    else:
        actor = {"staff": s.author, "curator": s.curator2, "admin": s.admin}[role]
        headers = await api_as(client, actor)
    if what.startswith("GET "):
        r = await client.get(what[4:])
    elif what == "request restore":
        # the first request is withdrawn so that this one is not a duplicate
        await asker.post(f"/api/v1/approvals/{ids['restore']}/reject", headers=asker_headers)
        r = await ask_restore(client, headers, s.pii_post)
    elif what == "request reopen":
        await asker.post(f"/api/v1/approvals/{ids['reopen']}/reject", headers=asker_headers)
        r = await client.post("/api/v1/kpi/months/2024-06/reopen", headers=headers)
    else:
        verb, kind = what.split()
        r = await client.post(f"/api/v1/approvals/{ids[kind]}/{verb}", headers=headers)
    assert r.status_code == expected, r.text


@pytest.mark.parametrize("month", [None, "0000-00", "2024-13"])
async def test_a_month_request_without_a_real_month_is_422(client, db, month):
    headers = await api_as(client, await make_user(db, role="curator"))
    body = {"action": "kpi.reopen"} | ({"month": month} if month else {})
    r = await client.post("/api/v1/approvals", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert (
        await db.execute(sa.select(sa.func.count()).select_from(approval_requests))
    ).scalar() == 0
