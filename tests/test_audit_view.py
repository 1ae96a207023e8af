"""The audit log page in words: actions by their labels, targets by their titles and names
(linked to their pages), changed fields by their labels and values in words, ja and en."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.services import audit
from tests.factories import login_as, make_post, make_unit, make_user, soup


def _rows(page) -> list[dict]:
    out = []
    for tr in page.select("tr.audit-row"):
        target = tr.select_one("td.target")
        link = target.select_one("a")
        out.append(
            {
                "action": tr.select_one("td.action").get_text(strip=True),
                "kind": target.select_one(".target-kind").get_text(strip=True),
                "target": link.get_text(strip=True) if link else None,
                "href": link["href"] if link else None,
                "changes": {
                    div["data-key"]: div.get_text(" ", strip=True)
                    for div in tr.select("td.changes div")
                },
            }
        )
    return out


@pytest.fixture
async def logged(db):
    shop = await make_unit(db, code="AUD-SHOP", name="監査店")
    author = await make_user(db, unit=shop, code="E6001", name="投稿 花子")
    post = await make_post(db, author, title="窓口でありがとう")
    curator = await make_user(db, role="curator", code="E6002", name="本部 太郎")
    audit.record(
        db,
        curator,
        "post.hide",
        "post",
        post.id,
        reason="確認のため",
        before={"status": "published"},
        after={"status": "hidden", "flags_resolved": 1},
    )
    audit.record(
        db,
        curator,
        "bulletin.item_add",
        "bulletin",
        None,
        after={"item_id": 3, "post_id": post.id},
    )
    audit.record(
        db,
        curator,
        "user.create",
        "user",
        author.id,
        after={"code": author.code, "role": "staff", "active": True, "one_time_password": True},
    )
    audit.record(db, curator, "unit.rename", "unit", shop.id, before={"name": "旧店"}, after={})
    await db.commit()
    return {"post": post, "author": author, "shop": shop, "curator": curator}


async def test_rows_are_in_words_in_japanese(client, db, logged):
    await login_as(client, logged["curator"])
    rows = _rows(soup(await client.get("/audit")))
    by_action = {r["action"]: r for r in rows}
    assert set(by_action) == {
        "投稿を非表示",
        "好取組情報に投稿を追加",
        "ユーザーを追加",
        "組織名を変更",
    }

    hide = by_action["投稿を非表示"]
    assert (hide["kind"], hide["target"]) == ("投稿", "窓口でありがとう")
    assert hide["href"] == f"/posts/{logged['post'].id}"
    assert hide["changes"] == {
        "status": "状態 : 公開中 → 非表示",
        "flags_resolved": "対応済みにした通報 : → 1",
    }

    item = by_action["好取組情報に投稿を追加"]
    assert item["changes"]["post_id"] == "投稿 : → 窓口でありがとう"  # a post id by its title
    assert item["changes"]["item_id"] == "掲載項目 : → #3"  # an entry no longer there

    user = by_action["ユーザーを追加"]
    assert (user["kind"], user["target"], user["href"]) == ("ユーザー", "投稿 花子", "/users/E6001")
    assert user["changes"]["code"] == "社員番号 : → E6001"
    assert user["changes"]["role"] == "権限 : → スタッフ"
    assert user["changes"]["one_time_password"] == "仮パスワードの設定 : → はい"

    unit = by_action["組織名を変更"]
    assert (unit["target"], unit["href"]) == ("監査店", "/units/AUD-SHOP")
    assert unit["changes"]["name"] == "組織名 : 旧店 →"


async def test_rows_are_in_words_in_english(client, db, logged):
    await login_as(client, await make_user(db, role="curator", locale="en"))
    rows = {r["action"]: r for r in _rows(soup(await client.get("/audit")))}
    hide = rows["Hide post"]
    assert hide["kind"] == "Board post"
    assert hide["changes"]["flags_resolved"] == "Reports closed : → 1"
    assert rows["Add user"]["changes"]["one_time_password"] == "One-time password set : → Yes"
    assert "Add post to bulletin" in rows


async def test_a_target_that_is_gone_still_shows_its_kind_and_id(client, db):
    curator = await make_user(db, role="curator")
    audit.record(db, curator, "bulletin.publish", "bulletin", 987654, after={"volume": 3})
    await db.commit()
    await login_as(client, curator)
    [row] = _rows(soup(await client.get("/audit")))
    assert (row["action"], row["kind"], row["href"]) == ("好取組情報を配信", "好取組情報", None)
    assert "#987654" in soup(await client.get("/audit")).select_one("td.target").get_text()


async def test_a_bulletin_entry_is_shown_by_its_posts_title(client, db):
    from app.services.bulletins.drafting import create_bulletin
    from app.services.bulletins.items import move_item

    curator = await make_user(db, role="curator")
    first = await make_post(db, await make_user(db), title="一件目の投稿")
    second = await make_post(db, await make_user(db), title="二件目の投稿")
    bulletin = await create_bulletin(
        db,
        curator,
        {"title": "今月の好取組", "items": [{"post_id": first.id}, {"post_id": second.id}]},
    )
    items = await db.execute(
        sa.text("SELECT id FROM bulletin_items WHERE bulletin_id = :b ORDER BY position"),
        {"b": bulletin.id},
    )
    await move_item(db, curator, bulletin, items.scalars().all()[1], "up")
    await db.commit()
    await login_as(client, curator)
    moved = next(
        r
        for r in _rows(soup(await client.get("/audit")))
        if r["action"].endswith("並べ替え（1件）")
    )
    assert moved["changes"] == {
        "item_id": "掲載項目 : → 二件目の投稿",
        "direction": "方向 : → 上へ",
    }
    assert (moved["target"], moved["href"]) == ("今月の好取組", f"/bulletins/{bulletin.id}")
