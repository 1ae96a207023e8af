"""A post its author confirmed as "not personal data" still reaches head office: the system
opens one personal_info flag on it, shown as the system's in /moderation and the API."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from app.models import OrgUnit, Post, User
from app.models.base import utcnow
from app.services import flags
from tests.conftest import IS_PG
from tests.factories import bearer_for, login_as, make_post, make_user, soup
from tests.test_concurrency import committed  # noqa: F401 - a fixture of real commits
from tests.test_post_pages import PRAISE_FORM

PII_BODY = "ご連絡先は090-1234-5678とのことです。"
HX = {"HX-Request": "true"}


async def _system_flags(db, post_id: int, *, open_only: bool = True) -> list[tuple]:
    stmt = "SELECT reason, reporter_id, resolved_at FROM flags WHERE post_id = :p"
    if open_only:
        stmt += " AND resolved_at IS NULL"
    rows = await db.execute(sa.text(stmt + " AND reporter_id IS NULL"), {"p": post_id})
    return [tuple(r) for r in rows]


async def _post(client, csrf: str, **data: str):
    return await client.post("/posts", data={**PRAISE_FORM, "csrf_token": csrf, **data})


def _post_id(response) -> int:
    assert response.status_code == 303, response.text[:300]
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_posting_as_it_is_opens_one_system_flag(client, db):
    csrf = await login_as(client, await make_user(db))
    warned = await _post(client, csrf, body=PII_BODY)
    assert warned.status_code == 422  # the guard asks first, and writes nothing
    assert (await db.execute(sa.text("SELECT count(*) FROM flags"))).scalar_one() == 0
    post_id = _post_id(await _post(client, csrf, body=PII_BODY, pii_action="confirm"))
    assert [r[:2] for r in await _system_flags(db, post_id)] == [("personal_info", None)]


async def test_masking_or_clean_text_opens_none(client, db):
    csrf = await login_as(client, await make_user(db))
    masked = _post_id(await _post(client, csrf, body=PII_BODY, pii_action="mask"))
    clean = _post_id(await _post(client, csrf, pii_action="confirm"))  # nothing to confirm
    assert await _system_flags(db, masked) == [] and await _system_flags(db, clean) == []


async def test_a_draft_gets_it_when_published(client, db):
    author = await make_user(db)
    csrf = await login_as(client, author)
    post_id = _post_id(
        await _post(client, csrf, body=PII_BODY, status="draft", pii_action="confirm")
    )
    assert await _system_flags(db, post_id) == []  # nobody but the author sees a draft
    r = await client.post(
        f"/posts/{post_id}/edit",
        data={**PRAISE_FORM, "body": PII_BODY, "csrf_token": csrf, "pii_action": "confirm"},
    )
    assert r.status_code == 303
    assert len(await _system_flags(db, post_id)) == 1


async def test_one_open_flag_per_post_and_a_new_one_after_head_office_closed_it(client, db):
    author = await make_user(db)
    csrf = await login_as(client, author)
    post_id = _post_id(await _post(client, csrf, body=PII_BODY, pii_action="confirm"))

    async def edit(body: str, tags: str = "電話") -> None:
        r = await client.post(
            f"/posts/{post_id}/edit",
            data={
                **PRAISE_FORM,
                "body": body,
                "tags": tags,
                "csrf_token": csrf,
                "pii_action": "confirm",
            },
        )
        assert r.status_code == 303

    await edit(PII_BODY + "追記")  # changed text while the flag is open: still one
    assert len(await _system_flags(db, post_id)) == 1
    curator = await make_user(db, role="curator")
    r = await client.post(
        "/api/v1/flags/dismiss",
        json={"target": f"post:{post_id}"},
        headers=await bearer_for(db, curator),
    )
    assert r.status_code == 200, r.text
    assert await _system_flags(db, post_id) == []
    await edit(PII_BODY + "追記", tags="電話 タグだけ")  # the same text again: nobody asked
    assert await _system_flags(db, post_id) == []
    await edit(PII_BODY + "さらに追記")  # new text: head office looks again
    assert len(await _system_flags(db, post_id)) == 1
    assert len(await _system_flags(db, post_id, open_only=False)) == 2


async def test_the_service_is_idempotent(db):
    post = await make_post(db, await make_user(db), body=PII_BODY)
    for _ in range(3):
        await flags.open_system_flag(db, post.id)
    await db.commit()
    assert len(await _system_flags(db, post.id)) == 1


@pytest.mark.skipif(not IS_PG, reason="SQLite runs one writing request at a time")
async def test_two_at_once_write_one(committed):  # noqa: F811 - the fixture
    """Real, committed transactions racing: the partial unique index keeps it to one."""
    async with committed() as db:
        unit = OrgUnit(code="SF-UNIT", name="並行店", kind="shop")
        db.add(unit)
        await db.flush()
        author = User(code="SF0001", name="並行 太郎", unit_id=unit.id)
        db.add(author)
        await db.flush()
        now = utcnow()
        post = Post(
            kind="praise",
            title="t",
            body=PII_BODY,
            author_id=author.id,
            unit_id=unit.id,
            status="published",
            created_at=now,
            updated_at=now,
            published_at=now,
            channel="phone",
        )
        db.add(post)
        await db.commit()
        post_id = post.id

    async def open_one() -> None:
        async with committed() as other:
            await flags.open_system_flag(other, post_id)
            await other.commit()

    await asyncio.gather(*(open_one() for _ in range(6)))
    async with committed() as db:
        assert len(await _system_flags(db, post_id)) == 1


async def test_shown_as_the_systems_in_moderation_and_the_api(client, db):
    author = await make_user(db)
    csrf = await login_as(client, author)
    post_id = _post_id(await _post(client, csrf, body=PII_BODY, pii_action="confirm"))
    curator = await make_user(db, role="curator")
    await login_as(client, curator)
    page = soup(await client.get("/moderation"))
    group = page.select_one(f"#flag-group-post-{post_id}")
    assert group is not None
    system = group.select_one("[data-testid=system-flag]")
    assert system.get_text(strip=True) == "システム（本人が個人情報ではないと確認して投稿）"
    assert group.select_one("[data-reason=personal_info]")
    await login_as(client, await make_user(db, role="curator", locale="en"))
    english = soup(await client.get("/moderation")).select_one("[data-testid=system-flag]")
    assert english.get_text(strip=True) == (
        "System (the author confirmed it is not personal data and posted it)"
    )
    r = await client.get("/api/v1/moderation/flags", headers=await bearer_for(db, curator))
    [item] = [i for i in r.json()["items"] if i["post_id"] == post_id]
    [report] = item["flags"]
    assert report["reporter"] is None and report["by_system"] is True
    assert report["reason"] == "personal_info"


async def test_the_edit_form_says_update_where_the_composer_says_post(client, db):
    csrf = await login_as(client, await make_user(db))
    post_id = _post_id(await _post(client, csrf))
    r = await client.post(
        f"/posts/{post_id}/edit",
        data={**PRAISE_FORM, "body": PII_BODY, "csrf_token": csrf},
        headers=HX,
    )
    assert r.status_code == 422
    buttons = [b.get_text(strip=True) for b in soup(r).select(".pii-actions button")]
    assert buttons == ["●●●で伏せて更新", "個人情報ではないため、このまま更新"]
    r = await client.post(
        "/posts", data={**PRAISE_FORM, "body": PII_BODY, "csrf_token": csrf}, headers=HX
    )
    buttons = [b.get_text(strip=True) for b in soup(r).select(".pii-actions button")]
    assert buttons == ["●●●で伏せて投稿", "個人情報ではないため、このまま投稿"]
    r = await client.post(
        "/posts",
        data={**PRAISE_FORM, "body": PII_BODY, "status": "draft", "csrf_token": csrf},
        headers=HX,
    )
    form = soup(r)
    assert [b.get_text(strip=True) for b in form.select(".pii-actions button")] == [
        "●●●で伏せて下書き保存",
        "個人情報ではないため、このまま下書き保存",
    ]
    # The choice is sent again with the buttons: a draft stays a draft.
    assert form.select_one(".pii-warning input[name=status]")["value"] == "draft"
