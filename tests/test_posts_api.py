"""Posts over the JSON API: shapes, every validation rule (422, nothing written), ownership."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import i18n
from app.services.people.tokens import issue_token
from tests.factories import make_post, make_unit, make_user

PRAISE = {
    "kind": "praise",
    "title": "お客さまから「ありがとう」",
    "body": "丁寧な説明に**感謝**されました。",
    "channel": "counter",
    "tags": ["事故対応", "丁寧"],
}
KNOWHOW = {
    "kind": "knowhow",
    "title": "満期案内を一枚に",
    "body": "課題:\n工夫:\n成果:",
    "category": "tool",
}


async def count(db, table):
    return (await db.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_create_praise_answers_the_spec_shape(api, db, author):
    colleague = await make_user(db, name="佐藤 美咲")
    r = await api.post(
        "/api/v1/posts", json={**PRAISE, "praised": [colleague.code], "product": "auto"}
    )
    assert r.status_code == 201, r.text
    post = r.json()
    expected = {
        "id",
        "kind",
        "title",
        "body",
        "body_html",
        "status",
        "author",
        "unit",
        "tags",
        "featured",
        "feature_note",
        "like_count",
        "comment_count",
        "liked",
        "created_at",
        "edited_at",
        "received_on",
        "channel",
        "product",
        "praised",
        "category",
        "attachments",
    }
    assert expected <= set(post)
    assert post["author"] == {"code": author.code, "name": "山田 太郎"}
    assert post["received_on"] == i18n.today().isoformat()
    assert post["praised"] == [{"code": colleague.code, "name": "佐藤 美咲"}]
    assert post["category"] is None and post["status"] == "published"
    assert "<strong>感謝</strong>" in post["body_html"]
    assert post["tags"] == ["事故対応", "丁寧"]
    got = await api.get(f"/api/v1/posts/{post['id']}")
    assert got.json()["title"] == PRAISE["title"]


async def test_create_knowhow(api):
    r = await api.post("/api/v1/posts", json=KNOWHOW)
    assert r.status_code == 201
    body = r.json()
    assert body["category"] == "tool"
    assert body["received_on"] is None and body["channel"] is None and body["praised"] == []


BAD = [
    ({**PRAISE, "title": ""}, "title"),
    ({**PRAISE, "title": "   "}, "title"),
    ({**PRAISE, "title": "あ" * 121}, "title"),
    ({**PRAISE, "body": ""}, "body"),
    ({**PRAISE, "body": "あ" * 10_001}, "body"),
    ({**PRAISE, "kind": "rumour"}, "kind"),
    ({**PRAISE, "channel": "telepathy"}, "channel"),
    ({**PRAISE, "product": "spaceship"}, "product"),
    ({**PRAISE, "received_on": "2999-01-01"}, "received_on"),
    ({**PRAISE, "received_on": "not-a-date"}, "received_on"),
    ({**PRAISE, "category": "tool"}, "category"),
    ({**PRAISE, "praised": ["NOBODY"]}, "praised"),
    ({**PRAISE, "unit": "NO-SUCH-UNIT"}, "unit"),
    ({**PRAISE, "tags": ["t"] * 5 + [f"t{i}" for i in range(10)]}, "tags"),
    ({**PRAISE, "tags": ["あ" * 41]}, "tags"),
    ({**PRAISE, "status": "hidden"}, "status"),
    ({**PRAISE, "unexpected": 1}, "unexpected"),
    ({**KNOWHOW, "category": None}, "category"),
    ({**KNOWHOW, "received_on": "2024-01-01"}, "received_on"),
    ({**KNOWHOW, "channel": "phone"}, "channel"),
    ({**KNOWHOW, "praised": ["X"]}, "praised"),
]


@pytest.mark.parametrize(("payload", "field"), BAD)
async def test_every_rule_is_a_422_and_writes_nothing(api, db, payload, field):
    before = (await count(db, "posts"), await count(db, "tags"), await count(db, "post_praised"))
    r = await api.post("/api/v1/posts", json=payload)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail and all("msg" in d and "loc" in d for d in detail)
    assert before == (
        await count(db, "posts"),
        await count(db, "tags"),
        await count(db, "post_praised"),
    )


async def test_future_received_on_is_refused_but_the_past_is_fine(api):
    tomorrow = (i18n.today() + timedelta(days=1)).isoformat()
    assert (
        await api.post("/api/v1/posts", json={**PRAISE, "received_on": tomorrow})
    ).status_code == 422
    r = await api.post("/api/v1/posts", json={**PRAISE, "received_on": "2020-03-31"})
    assert r.status_code == 201 and r.json()["received_on"] == "2020-03-31"


async def test_posting_for_another_unit_is_refused(api, db):
    other = await make_unit(db, code="ELSEWHERE")
    r = await api.post("/api/v1/posts", json={**PRAISE, "unit": other.code})
    assert r.status_code == 422


async def test_posting_for_a_parent_unit_is_allowed(client, db):
    branch = await make_unit(db, code="BR-1", kind="branch")
    shop = await make_unit(db, code="SH-1", parent_id=branch.id)
    user = await make_user(db, unit=shop)
    _row, token = await issue_token(db, user, name="t", scope="write", days=None)
    r = await client.post(
        "/api/v1/posts",
        json={**PRAISE, "unit": "BR-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201 and r.json()["unit"]["code"] == "BR-1"


async def test_personal_data_needs_confirmation(api, db):
    payload = {**PRAISE, "body": "山田花子様から、090-1234-5678 にお電話をいただきました。"}
    r = await api.post("/api/v1/posts", json=payload)
    assert r.status_code == 422
    err = r.json()["detail"][0]
    assert err["type"] == "personal_data"
    kinds = {s["kind"] for s in err["ctx"]["spans"]}
    assert {"phone", "customer_name"} <= kinds
    assert all(payload["body"][s["start"] : s["end"]] == s["text"] for s in err["ctx"]["spans"])
    assert await count(db, "posts") == 0
    r = await api.post("/api/v1/posts", json={**payload, "confirm_personal_data": True})
    assert r.status_code == 201


async def test_personal_data_is_checked_on_edit_too(api):
    post = (await api.post("/api/v1/posts", json=PRAISE)).json()
    r = await api.patch(
        f"/api/v1/posts/{post['id']}", json={"body": "連絡先は taro@example.com です"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "personal_data"
    assert (await api.get(f"/api/v1/posts/{post['id']}")).json()["body"] == PRAISE["body"]


async def test_edit_own_post_sets_edited_at(api):
    post = (await api.post("/api/v1/posts", json=PRAISE)).json()
    r = await api.patch(
        f"/api/v1/posts/{post['id']}", json={"title": "新しいタイトル", "tags": ["a"]}
    )
    assert r.status_code == 200
    assert r.json()["title"] == "新しいタイトル" and r.json()["edited_at"] is not None
    assert r.json()["tags"] == ["a"]


async def test_kind_cannot_change_and_other_kind_fields_are_refused(api):
    post = (await api.post("/api/v1/posts", json=PRAISE)).json()
    r = await api.patch(f"/api/v1/posts/{post['id']}", json={"category": "tool"})
    assert r.status_code == 422


async def test_only_the_author_edits_or_deletes(api, client, db):
    post = (await api.post("/api/v1/posts", json=PRAISE)).json()
    other = await make_user(db)
    _row, token = await issue_token(db, other, name="t", scope="write", days=None)
    hdr = {"Authorization": f"Bearer {token}"}
    assert (
        await client.patch(f"/api/v1/posts/{post['id']}", json={"title": "x"}, headers=hdr)
    ).status_code == 403
    assert (await client.delete(f"/api/v1/posts/{post['id']}", headers=hdr)).status_code == 403
    assert (await client.get(f"/api/v1/posts/{post['id']}", headers=hdr)).json()["title"] == PRAISE[
        "title"
    ]


async def test_delete_is_soft_and_the_post_is_gone_for_everyone(api, db):
    post = (await api.post("/api/v1/posts", json=PRAISE)).json()
    assert (await api.delete(f"/api/v1/posts/{post['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/posts/{post['id']}")).status_code == 404
    assert await count(db, "posts") == 1
    listing = (await api.get("/api/v1/posts")).json()
    assert post["id"] not in [p["id"] for p in listing["items"]]


async def test_drafts_are_only_for_their_author(api, client, db, author):
    draft = (await api.post("/api/v1/posts", json={**PRAISE, "status": "draft"})).json()
    assert draft["status"] == "draft"
    assert draft["id"] not in [p["id"] for p in (await api.get("/api/v1/posts")).json()["items"]]
    other = await make_user(db)
    _row, token = await issue_token(db, other, name="t", scope="read", days=None)
    r = await client.get(
        f"/api/v1/posts/{draft['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 404
    r = await api.patch(f"/api/v1/posts/{draft['id']}", json={"status": "published"})
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert draft["id"] in [p["id"] for p in (await api.get("/api/v1/posts")).json()["items"]]
    r = await api.patch(f"/api/v1/posts/{draft['id']}", json={"status": "draft"})
    assert r.status_code == 422


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def test_html_in_every_field_comes_back_escaped(api, client, db):
    from bs4 import BeautifulSoup

    from tests.factories import login_as

    payload = {
        **PRAISE,
        "title": XSS,
        "body": XSS + "\n[x](javascript:alert(1))",
        "tags": [XSS[:40]],
    }
    post = (await api.post("/api/v1/posts", json=payload)).json()
    assert post["title"] == XSS  # the API returns text; clients escape it
    html = BeautifulSoup(post["body_html"], "html.parser")
    assert not html.select("script, img, [onerror]")
    assert not [a for a in html.select("a") if "javascript" in (a.get("href") or "")]
    assert XSS in html.get_text()  # shown as text
    c = (await api.post(f"/api/v1/posts/{post['id']}/comments", json={"body": XSS})).json()
    assert not BeautifulSoup(c["body_html"], "html.parser").select("script, img")
    viewer = await make_user(db)
    del client.headers["Authorization"]
    await login_as(client, viewer)
    for url in ("/", f"/posts/{post['id']}"):
        page = await client.get(url)
        soup = BeautifulSoup(page.text, "html.parser")
        assert not soup.select("main script, main img[src=x], [onerror]"), url
        assert XSS in soup.select_one(".post-title").get_text(), url


async def test_list_filters_and_pagination_shape(api, db, author):
    for i in range(5):
        await make_post(db, author, title=f"投稿{i}")
    r = await api.get("/api/v1/posts", params={"limit": 2})
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    r2 = await api.get("/api/v1/posts", params={"limit": 2, "cursor": page["next_cursor"]})
    assert {p["id"] for p in r2.json()["items"]}.isdisjoint({p["id"] for p in page["items"]})
    assert (await api.get("/api/v1/posts", params={"limit": 0})).status_code == 422
    assert (await api.get("/api/v1/posts", params={"limit": 101})).status_code == 422
    assert (await api.get("/api/v1/posts", params={"cursor": "garbage!!"})).status_code == 422


async def test_filters(api, db, author):
    other_unit = await make_unit(db)
    other = await make_user(db, unit=other_unit)
    await make_post(db, author, kind="knowhow", category="tool", channel=None, title="ナレッジ")
    await make_post(db, other, title="別の店のありがとう", featured=True)
    await make_post(db, author, title="自分のありがとう")
    ids = lambda r: [p["title"] for p in r.json()["items"]]  # noqa: E731
    assert ids(await api.get("/api/v1/posts", params={"kind": "knowhow"})) == ["ナレッジ"]
    assert ids(await api.get("/api/v1/posts", params={"author": other.code})) == [
        "別の店のありがとう"
    ]
    assert ids(await api.get("/api/v1/posts", params={"unit": other_unit.code})) == [
        "別の店のありがとう"
    ]
    assert ids(await api.get("/api/v1/posts", params={"featured": "true"})) == [
        "別の店のありがとう"
    ]
    assert set(ids(await api.get("/api/v1/posts", params={"q": "ありがとう"}))) == {
        "別の店のありがとう",
        "自分のありがとう",
    }
