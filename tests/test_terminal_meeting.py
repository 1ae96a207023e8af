# ruff: noqa: F811 (the `org` fixture of test_bulletins is imported, then named by the tests)
"""The morning meeting on a shop's terminal (read receipts "at the meeting", 横展開 answers
decided together), and who may reach the terminal's routes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.models import BulletinRead, RolloutResponse
from app.security import hash_password
from app.services import bulletins as service
from tests.factories import bearer_for, csrf_from, login_as, make_user, soup
from tests.test_bulletins import Org, draft, org, published  # noqa: F401 (fixture)
from tests.test_terminal import PIN, on_device, sign_in


async def meeting_client(db, client, org: Org):
    """The shop SA1's terminal with its staff member staff_a1 signed in; the CSRF token."""
    await on_device(db, client, org.shop_a1)
    org.staff_a1.pin_hash = hash_password(PIN)
    db.add(org.staff_a1)
    await db.commit()
    assert (await sign_in(client, code=org.staff_a1.code, pin=PIN)).status_code == 303
    return csrf_from((await client.get("/")).text)


async def test_the_meeting_records_who_was_there_and_the_shops_answers(client, db, org):
    bulletin = await published(db, org, posts=2)
    items = await service.items_of(db, bulletin.id)
    late = await make_user(db, org.shop_a1, name="遅番 太郎")
    # One of them had already opened it on their own.
    await service.mark_read(db, org.staff_a1b, bulletin)
    csrf = await meeting_client(db, client, org)
    detail = soup(await client.get(f"/bulletins/{bulletin.id}"))
    assert detail.select_one("[data-testid=meeting-link]") is not None
    page = soup(await client.get(f"/bulletins/{bulletin.id}/meeting"))
    names = {i["value"] for i in page.select("input[name=present]")}
    assert names == {org.staff_a1.code, org.staff_a1b.code, late.code}
    assert page.select_one(f"#answer-{items[0].id}") is not None
    r = await client.post(
        f"/bulletins/{bulletin.id}/meeting",
        data={
            "csrf_token": csrf,
            "present": [org.staff_a1b.code, late.code],
            f"answer-{items[0].id}": "adopted",
            f"answer-{items[1].id}": "",
        },
    )
    assert r.status_code == 303
    reads = {
        r.user_id: r
        for r in (
            await db.exec(select(BulletinRead).where(BulletinRead.bulletin_id == bulletin.id))
        ).all()
    }
    assert reads[late.id].via == "meeting" and reads[late.id].recorded_by_id == org.staff_a1.id
    assert reads[org.staff_a1b.id].via == "self"  # their own reading came first
    answers = (
        await db.exec(select(RolloutResponse).where(RolloutResponse.unit_id == org.shop_a1.id))
    ).all()
    assert [(a.item_id, a.answer) for a in answers] == [(items[0].id, "adopted")]
    assert answers[0].answered_by_id == org.staff_a1.id
    page = soup(await client.get(f"/bulletins/{bulletin.id}/meeting?done=1"))
    assert page.select_one("[data-testid=meeting-done]") is not None
    assert page.select_one(f"#answer-{items[0].id} option[selected]")["value"] == "adopted"
    assert len(page.select("[data-read=meeting]")) == 1
    # Head office sees how many read it at the meeting, per unit and rolled up.
    curator_headers = await bearer_for(db, org.curator)
    stats = (
        await client.get(f"/api/v1/bulletins/{bulletin.id}/stats", headers=curator_headers)
    ).json()
    by_unit = {r["unit"]["code"]: r for r in stats["read"]}
    assert by_unit["SA1"]["readers"] == 3 and by_unit["SA1"]["at_meeting"] == 1  # + the leader
    assert by_unit["CO"]["at_meeting"] == 1
    # The receipt says how it was recorded, over the API too.
    r = await client.post(
        f"/api/v1/bulletins/{bulletin.id}/read", headers=await bearer_for(db, late)
    )
    assert r.json()["read_via"] == "meeting"


@pytest.mark.parametrize(
    ("present", "answer"),
    [(["NOBODY"], ""), ([], "maybe"), ([], "")],
)
async def test_a_bad_meeting_form_records_nothing(client, db, org, present, answer):
    bulletin = await published(db, org)
    (item,) = await service.items_of(db, bulletin.id)
    csrf = await meeting_client(db, client, org)
    r = await client.post(
        f"/bulletins/{bulletin.id}/meeting",
        data={"csrf_token": csrf, "present": present, f"answer-{item.id}": answer},
    )
    assert r.status_code == 422 and soup(r).select_one("[role=alert]") is not None
    assert (await db.exec(select(BulletinRead))).first() is None
    assert (await db.exec(select(RolloutResponse))).first() is None


async def test_staff_of_another_shop_cannot_be_ticked(client, db, org):
    bulletin = await published(db, org)
    csrf = await meeting_client(db, client, org)
    r = await client.post(
        f"/bulletins/{bulletin.id}/meeting",
        data={"csrf_token": csrf, "present": [org.staff_a1b.code, org.staff_b1.code]},
    )
    assert r.status_code == 422
    assert (await db.exec(select(BulletinRead))).first() is None


async def test_a_bulletin_for_other_shops_has_no_meeting_here(client, db, org):
    bulletin = await published(db, org, audience=[org.region_b.code])
    await meeting_client(db, client, org)
    assert (await client.get(f"/bulletins/{bulletin.id}/meeting")).status_code == 404


# Who may reach the terminal's routes ---------------------------------------------------------

TERMINAL_ROUTES = [
    ("GET", "/bulletins/{id}/meeting"),
    ("POST", "/bulletins/{id}/meeting"),
    ("POST", "/terminal/idle"),
]


@pytest.mark.parametrize("role", ["anonymous", "staff", "curator", "admin"])
@pytest.mark.parametrize(("method", "path"), TERMINAL_ROUTES)
async def test_terminal_routes_off_the_terminal(client, db, org, role, method, path):
    """Off a registered device: anonymous callers go to /login (the idle sign-out just
    says "signed out"), everyone else is refused (403), whatever their role."""
    bulletin = await published(db, org)
    if role == "anonymous":
        csrf = csrf_from((await client.get("/login")).text)
    else:
        csrf = await login_as(client, getattr(org, {"staff": "staff_a1"}.get(role, role)))
    url = path.format(id=bulletin.id)
    r = await client.request(
        method, url, headers={"X-CSRF-Token": csrf}, data={} if method == "POST" else None
    )
    if role == "anonymous":
        assert r.status_code == 303 and "/login" in r.headers["location"]
    else:
        assert r.status_code == 403


@pytest.mark.parametrize(("method", "path"), TERMINAL_ROUTES[:2])
async def test_the_meeting_is_refused_to_an_api_token(client, db, org, method, path):
    bulletin = await published(db, org)
    r = await client.request(
        method, path.format(id=bulletin.id), headers=await bearer_for(db, org.staff_a1)
    )
    assert r.status_code == 403


@pytest.mark.parametrize("role", ["anonymous", "staff", "curator", "admin"])
async def test_keepalive_and_pin_routes_need_a_session(client, db, org, role):
    if role == "anonymous":
        csrf = csrf_from((await client.get("/login")).text)
    else:
        csrf = await login_as(client, getattr(org, {"staff": "staff_a1"}.get(role, role)))
    r = await client.post("/terminal/keepalive", headers={"X-CSRF-Token": csrf})
    assert r.status_code == (303 if role == "anonymous" else 204)
    r = await client.post(
        "/settings/pin", headers={"X-CSRF-Token": csrf}, data={"pin": "", "confirm_pin": ""}
    )
    assert r.status_code == (303 if role == "anonymous" else 422)


async def test_a_terminal_session_on_another_device_is_refused(client, db, org):
    """The meeting belongs to the device the session was started on."""
    bulletin = await published(db, org)
    await meeting_client(db, client, org)
    await on_device(db, client, org.shop_a2)  # the cookie of another shop's device now
    assert (await client.get(f"/bulletins/{bulletin.id}/meeting")).status_code == 403
