"""A complaint inside a thanks (docs/compliance.md, "Complaints inside praise"): the composer
asks when the text shows a sign of dissatisfaction, "yes" records a curator-only complaint
voice linked to the post (which still publishes), the API takes the same; curators see the
link both ways and the 受付状況 table counts it; staff never see any of it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import i18n
from app.fiscal import fiscal_year_of
from app.models import AuditEntry, ComplaintVoice, Post
from tests.factories import bearer_for, login_as, make_unit, make_user, soup

MIXED = "対応は丁寧でしたが、連絡が遅くて困りました。"
FORM = {
    "kind": "praise",
    "title": "お電話でのご案内",
    "body": "担当の方の説明に感謝します。" + MIXED,
    "channel": "phone",
    "status": "published",
}


@pytest.fixture
async def people(db):
    shop = await make_unit(db, code="S-SJK", name="新宿店", kind="shop")
    return {
        "staff": await make_user(db, shop, role="staff"),
        "colleague": await make_user(db, shop, role="staff"),
        "curator": await make_user(db, role="curator"),
    }


async def complaints(db) -> list[ComplaintVoice]:
    return list((await db.execute(sa.select(ComplaintVoice))).scalars())


async def posts(db) -> list[Post]:
    return list((await db.execute(sa.select(Post).order_by(Post.id))).scalars())


async def test_the_composer_asks_and_keeps_everything_typed(client, db, people):
    csrf = await login_as(client, people["staff"])
    r = await client.post("/posts", data={**FORM, "tags": "電話 丁寧", "csrf_token": csrf})
    assert r.status_code == 422
    page = soup(r)
    question = page.select_one("#complaint-question")
    assert question is not None and question.has_attr("autofocus")
    assert [m.text for m in question.select("mark")] == ["でしたが", "遅く", "困りました"]
    assert page.select_one("#title")["value"] == FORM["title"]
    assert page.select_one("#body").text == FORM["body"]
    assert page.select_one("#tags")["value"] == "電話 丁寧"
    assert page.select_one("#channel option[selected]")["value"] == "phone"
    # the summary offered: the sentence that made it ask; the category defaults to その他
    assert page.select_one("#complaint_summary").text == MIXED
    assert page.select_one("#complaint_category option[selected]")["value"] == "other"
    assert not page.select("input[name=complaint_answer][checked]")
    assert await posts(db) == [] and await complaints(db) == []


async def test_asked_with_the_other_fields_errors_at_once(client, db, people):
    csrf = await login_as(client, people["staff"])
    page = soup(await client.post("/posts", data={**FORM, "title": "", "csrf_token": csrf}))
    assert page.select_one("#complaint-question") is not None
    assert page.select_one("#err-title") is not None
    assert await posts(db) == []


async def test_yes_records_a_linked_complaint_and_publishes_the_post(client, db, people):
    staff = people["staff"]
    csrf = await login_as(client, staff)
    day = i18n.today() - timedelta(days=3)
    answer = {
        **FORM,
        "received_on": day.isoformat(),
        "complaint_answer": "yes",
        "complaint_category": "claim",
        "complaint_summary": "連絡が遅かった",
    }
    r = await client.post("/posts", data={**answer, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    [post] = await posts(db)
    assert post.status == "published" and post.received_on == day
    [c] = await complaints(db)
    assert (c.post_id, c.category, c.summary, c.status) == (
        post.id,
        "claim",
        "連絡が遅かった",
        "received",
    )
    assert (c.received_on, c.unit_id, c.created_by_id) == (day, people["staff"].unit_id, staff.id)
    entry = (
        await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "complaint.create"))
    ).scalar_one()
    assert entry.target_id == c.id and entry.actor_id == staff.id
    assert "連絡が遅かった" not in entry.changes  # the private summary stays out of the log
    assert json.loads(entry.changes)["after"]["post"] == post.id


async def test_no_publishes_without_a_complaint(client, db, people):
    csrf = await login_as(client, people["staff"])
    r = await client.post("/posts", data={**FORM, "complaint_answer": "no", "csrf_token": csrf})
    assert r.status_code == 303
    assert len(await posts(db)) == 1 and await complaints(db) == []


async def test_plain_thanks_and_know_how_are_not_asked(client, db, people):
    csrf = await login_as(client, people["staff"])
    plain = {**FORM, "body": "丁寧でわかりやすかったです"}
    assert (await client.post("/posts", data={**plain, "csrf_token": csrf})).status_code == 303
    knowhow = {**FORM, "kind": "knowhow", "category": "skill", "channel": ""}
    assert (await client.post("/posts", data={**knowhow, "csrf_token": csrf})).status_code == 303
    # a "yes" left in a know-how form records nothing
    yes = {**knowhow, "complaint_answer": "yes", "complaint_category": "claim"}
    assert (await client.post("/posts", data={**yes, "csrf_token": csrf})).status_code == 303
    assert len(await posts(db)) == 3 and await complaints(db) == []


async def test_the_answer_survives_the_personal_data_question(client, db, people):
    csrf = await login_as(client, people["staff"])
    typed = {
        **FORM,
        "body": FORM["body"] + " 090-1234-5678",
        "complaint_answer": "yes",
        "complaint_category": "premium",
        "complaint_summary": "要約",
    }
    page = soup(await client.post("/posts", data={**typed, "csrf_token": csrf}))
    assert page.select_one("#pii-warning") is not None
    assert page.select_one("input[name=complaint_answer][value=yes]").has_attr("checked")
    assert page.select_one("#complaint_category option[selected]")["value"] == "premium"
    assert not page.select_one("#complaint-question").has_attr("autofocus")
    r = await client.post("/posts", data={**typed, "pii_action": "mask", "csrf_token": csrf})
    assert r.status_code == 303
    [c] = await complaints(db)
    assert (c.category, c.summary) == ("premium", "要約")


async def test_an_unknown_category_from_the_form_writes_nothing(client, db, people):
    csrf = await login_as(client, people["staff"])
    typed = {**FORM, "complaint_answer": "yes", "complaint_category": "nonsense"}
    page = soup(await client.post("/posts", data={**typed, "csrf_token": csrf}))
    assert page.select_one("#err-complaint") is not None
    assert page.select_one("#body").text == FORM["body"]
    assert await posts(db) == [] and await complaints(db) == []


async def test_the_typing_check_returns_the_question_only_when_it_applies(client, db, people):
    csrf = await login_as(client, people["staff"])
    hx = {"HX-Request": "true"}
    asked = soup(
        await client.post(
            "/posts/composer/complaint-check", data={**FORM, "csrf_token": csrf}, headers=hx
        )
    )
    question = asked.select_one("#complaint-question")
    assert question is not None and not question.has_attr("autofocus")
    plain = {**FORM, "body": "丁寧でわかりやすかったです"}
    r = await client.post(
        "/posts/composer/complaint-check", data={**plain, "csrf_token": csrf}, headers=hx
    )
    assert r.status_code == 200 and soup(r).select_one("#complaint-question") is None
    answered = {**FORM, "complaint_answer": "no"}
    kept = soup(
        await client.post(
            "/posts/composer/complaint-check", data={**answered, "csrf_token": csrf}, headers=hx
        )
    )
    assert kept.select_one("input[value=no]").has_attr("checked")


# The API ------------------------------------------------------------------------------------


API_BODY = {
    "kind": "praise",
    "title": "お電話でのご案内",
    "body": MIXED,
    "channel": "phone",
}


async def test_api_records_the_complaint_with_the_post(client, db, people):
    h = await bearer_for(db, people["staff"])
    body = {**API_BODY, "complaint": {"category": "change_cancel", "summary": "遅い"}}
    r = await client.post("/api/v1/posts", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert "complaint" not in r.json()
    [c] = await complaints(db)
    assert (c.post_id, c.category, c.summary) == (r.json()["id"], "change_cancel", "遅い")
    assert c.received_on == i18n.today() and c.unit_id == people["staff"].unit_id
    default = await client.post("/api/v1/posts", json={**API_BODY, "complaint": {}}, headers=h)
    assert default.status_code == 201
    assert sorted(c.category for c in await complaints(db)) == ["change_cancel", "other"]
    # without "complaint" the API posts as before, whatever the text: it never asks
    assert (await client.post("/api/v1/posts", json=API_BODY, headers=h)).status_code == 201
    assert len(await complaints(db)) == 2


@pytest.mark.parametrize(
    "complaint",
    [
        {"category": "nonsense"},
        {"category": "claim", "summary": "長" * 2001},
        {"category": "claim", "extra": 1},
    ],
)
async def test_api_refuses_a_bad_complaint_and_writes_nothing(client, db, people, complaint):
    h = await bearer_for(db, people["staff"])
    r = await client.post("/api/v1/posts", json={**API_BODY, "complaint": complaint}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:2] == ["body", "complaint"]
    assert await posts(db) == [] and await complaints(db) == []


async def test_api_refuses_a_complaint_on_know_how(client, db, people):
    h = await bearer_for(db, people["staff"])
    body = {
        "kind": "knowhow",
        "title": "t",
        "body": "b",
        "category": "skill",
        "complaint": {"category": "claim"},
    }
    r = await client.post("/api/v1/posts", json=body, headers=h, params={"lang": "en"})
    assert r.status_code == 422
    assert await posts(db) == [] and await complaints(db) == []


# Who sees what ------------------------------------------------------------------------------


async def _recorded(client, db, people) -> tuple[Post, ComplaintVoice]:
    h = await bearer_for(db, people["staff"])
    body = {**API_BODY, "complaint": {"category": "claim", "summary": "秘密の要約"}}
    assert (await client.post("/api/v1/posts", json=body, headers=h)).status_code == 201
    [post] = await posts(db)
    [c] = await complaints(db)
    return post, c


async def test_curators_see_the_link_both_ways_and_the_table_counts_it(client, db, people):
    post, c = await _recorded(client, db, people)
    await login_as(client, people["curator"])
    note = soup(await client.get(f"/posts/{post.id}")).select_one("[data-testid=complaint-note]")
    assert note is not None
    fy = fiscal_year_of(c.received_on)
    assert note.select_one("a")["href"] == f"/kpi/voices?fy={fy}#complaint-{c.id}"
    assert "保険金関連" in note.text
    page = soup(await client.get(f"/kpi/voices?fy={fy}"))
    row = page.select_one(f"#complaint-{c.id}")
    assert row.select_one("[data-testid=complaint-post-link]")["href"] == f"/posts/{post.id}"
    api = (await client.get(f"/api/v1/complaints/{c.id}")).json()
    assert api["post_id"] == post.id
    voices = (await client.get(f"/api/v1/kpi/voices?fy={fy}")).json()
    assert voices["complaints"] == 1 and voices["praise"] == 1 and voices["total"] == 2
    claim = next(x for x in voices["categories"] if x["category"] == "claim")
    assert (claim["count"], claim["share"]) == (1, 100.0)


@pytest.mark.parametrize("who", ["staff", "colleague"])
async def test_staff_never_see_it(client, db, people, who):
    post, _c = await _recorded(client, db, people)
    await login_as(client, people[who])
    pages = [
        await client.get(f"/posts/{post.id}"),
        await client.get("/"),
        await client.get("/", params={"q": "困りました"}),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "秘密の要約" not in page.text and "complaint-note" not in page.text
        assert "保険金関連" not in page.text and "/kpi/voices" not in page.text
    assert soup(pages[2]).select(".post-card")  # the post itself is found, nothing else
    searched = soup(await client.get("/", params={"q": "秘密の要約"}))
    assert searched.select(".post-card") == [] and searched.select_one(".empty-state")
    h = await bearer_for(db, people[who])
    shape = (await client.get(f"/api/v1/posts/{post.id}", headers=h)).json()
    listed = (await client.get("/api/v1/posts", params={"q": "困りました"}, headers=h)).json()
    assert [p["id"] for p in listed["items"]] == [post.id]
    for item in (shape, listed["items"][0]):
        assert not any("complaint" in key for key in item)
        assert "秘密の要約" not in str(item)
    found = await client.get("/api/v1/posts", params={"q": "秘密の要約"}, headers=h)
    assert found.json()["items"] == []
    assert (await client.get(f"/api/v1/complaints/{_c.id}", headers=h)).status_code == 403


async def test_the_received_date_and_unit_follow_the_post(client, db, people):
    """A back-dated thanks: the complaint falls in the month and fiscal year of the voice."""
    h = await bearer_for(db, people["staff"])
    day = date(i18n.today().year - 1, 3, 31)
    body = {**API_BODY, "received_on": day.isoformat(), "complaint": {"category": "premium"}}
    assert (await client.post("/api/v1/posts", json=body, headers=h)).status_code == 201
    [c] = await complaints(db)
    assert c.received_on == day and c.unit_id == people["staff"].unit_id


async def test_a_deleted_post_keeps_its_complaint_without_a_dead_link(client, db, people):
    """The complaint was received whatever becomes of the post: it stays in the ledger and the
    table, and the list says where it came from without linking to a page nobody can open."""
    post, c = await _recorded(client, db, people)
    h = await bearer_for(db, people["staff"])
    assert (await client.delete(f"/api/v1/posts/{post.id}", headers=h)).status_code == 204
    await login_as(client, people["curator"])
    fy = fiscal_year_of(c.received_on)
    row = soup(await client.get(f"/kpi/voices?fy={fy}")).select_one(f"#complaint-{c.id}")
    origin = row.select_one("[data-testid=complaint-post-link]")
    assert origin.name == "small" and "下書きか削除済み" in origin.text
    voices = (await client.get(f"/api/v1/kpi/voices?fy={fy}")).json()
    assert voices["complaints"] == 1
