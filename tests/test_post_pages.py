"""The composer and post pages in the browser's terms: forms, field errors, the personal
data guard with one-click masking, attachments in the same submit, drafts, the feed."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.factories import login_as, make_post, make_unit, make_user, soup


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 50, 50)).save(buf, "JPEG")
    return buf.getvalue()


PRAISE_FORM = {
    "kind": "praise",
    "title": "お電話でありがとう",
    "body": "丁寧な対応に感謝されました",
    "channel": "phone",
    "tags": "電話 丁寧",
    "status": "published",
}


async def count(db, table):
    return (await db.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_feed_shows_composer_filters_and_cards(client, db):
    author = await make_user(db, name="投稿 者")
    await make_post(db, author, title="最初の投稿")
    await login_as(client, await make_user(db))
    page = soup(await client.get("/"))
    launcher = page.select_one("#composer")
    assert (
        launcher.select_one("a[href='/posts/new?kind=praise']")["hx-get"]
        == "/posts/composer?kind=praise"
    )
    assert page.select_one("search form.filter-form")
    form = soup(await client.get("/posts/composer?kind=knowhow", headers={"HX-Request": "true"}))
    assert form.select_one("form#composer input#kind-knowhow")["checked"] is not None
    assert [
        c.select_one(".post-title").get_text(strip=True) for c in page.select(".post-card")
    ] == ["最初の投稿"]


async def test_empty_feed_and_empty_search_have_their_own_messages(client, db):
    await login_as(client, await make_user(db))
    assert soup(await client.get("/")).select_one(".empty-state")
    r = soup(await client.get("/", params={"q": "存在しない言葉"}))
    assert (
        "Clear" in r.select_one(".empty-state").text or "解除" in r.select_one(".empty-state").text
    )


async def test_post_from_the_composer_without_javascript(client, db):
    csrf = await login_as(client, await make_user(db))
    r = await client.post("/posts", data={**PRAISE_FORM, "csrf_token": csrf})
    assert r.status_code == 303
    post_page = soup(await client.get(r.headers["location"]))
    assert post_page.select_one(".post-title").text.strip() == "お電話でありがとう"
    assert [t.text for t in post_page.select(".tag")] == ["#電話", "#丁寧"]


async def test_field_errors_keep_what_was_typed(client, db):
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        "/posts",
        data={**PRAISE_FORM, "title": "", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422
    form = soup(r)
    assert form.select_one("#err-title")
    assert form.select_one("#title")["aria-invalid"] == "true"
    assert form.select_one("#body").text == PRAISE_FORM["body"]
    assert form.select_one("#tags")["value"] == "電話 丁寧"
    assert await count(db, "posts") == 0


async def test_personal_data_is_highlighted_then_masked_in_one_click(client, db):
    csrf = await login_as(client, await make_user(db))
    data = {**PRAISE_FORM, "body": "山田花子様（090-1234-5678）からお礼", "csrf_token": csrf}
    r = await client.post("/posts", data=data, headers={"HX-Request": "true"})
    assert r.status_code == 422
    warning = soup(r).select_one("#pii-warning")
    assert {m.text for m in warning.select("mark")} >= {"090-1234-5678"}
    assert await count(db, "posts") == 0
    r = await client.post(
        "/posts", data={**data, "pii_action": "mask"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200
    body = (await db.execute(sa.text("SELECT body FROM posts"))).scalar_one()
    assert "090-1234-5678" not in body and "●●●" in body


async def test_personal_data_can_be_confirmed(client, db):
    csrf = await login_as(client, await make_user(db))
    data = {**PRAISE_FORM, "body": "お客さまの郵便番号 〒160-0022 の件", "csrf_token": csrf}
    r = await client.post("/posts", data={**data, "pii_action": "confirm"})
    assert r.status_code == 303
    assert "〒160-0022" in (await db.execute(sa.text("SELECT body FROM posts"))).scalar_one()


@pytest.mark.parametrize("sent_from", ["/", "/?tag=%E5%BA%97", "/posts/new"])
async def test_htmx_post_puts_the_new_card_on_top(client, db, sent_from):
    """On the feed the new card goes on top of it; /posts/new has no feed (an out-of-band
    swap there would have no target). The confirmation links to the new post either way."""
    csrf = await login_as(client, await make_user(db))
    headers = {
        "HX-Request": "true",
        "X-CSRF-Token": csrf,
        "HX-Current-URL": f"http://test{sent_from}",
    }
    r = await client.post("/posts", data=PRAISE_FORM, headers=headers)
    assert r.status_code == 200
    page = soup(r)
    post_id = (await db.execute(sa.text("SELECT max(id) FROM posts"))).scalar_one()
    assert page.select_one("form#composer .flash a")["href"] == f"/posts/{post_id}"
    oob = page.select_one("[hx-swap-oob='afterbegin:#feed-items']")
    if sent_from == "/posts/new":
        assert oob is None
    else:
        assert oob.select_one(".post-title").text.strip() == "お電話でありがとう"


async def test_photo_in_the_same_submit(client, db):
    csrf = await login_as(client, await make_user(db))
    files = [("files", ("写真.jpg", jpeg_bytes(), "image/jpeg"))]
    r = await client.post(f"/posts?csrf_token={csrf}", data=PRAISE_FORM, files=files)
    assert r.status_code == 303, r.text[:500]
    page = soup(await client.get(r.headers["location"]))
    img = page.select_one(".attachments img")
    assert img and img["alt"] == "写真.jpg"
    assert (await client.get(img["src"])).headers["content-type"].startswith("image/")


async def test_a_wrong_file_type_writes_nothing(client, db):
    csrf = await login_as(client, await make_user(db))
    files = [("files", ("evil.jpg", b"<script>alert(1)</script>", "image/jpeg"))]
    r = await client.post(
        "/posts",
        data=PRAISE_FORM,
        files=files,
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 422
    assert soup(r).select_one("#err-files")
    assert await count(db, "posts") == 0 and await count(db, "attachments") == 0


async def test_an_image_over_the_decode_budget_writes_no_post(client, db):
    import io

    from PIL import Image

    csrf = await login_as(client, await make_user(db))
    buf = io.BytesIO()
    Image.new("RGBA", (6300, 6300)).save(buf, "PNG")  # ~160 MB decoded, a few kB sent
    files = [("files", ("大きい.png", buf.getvalue(), "image/png"))]
    r = await client.post(
        "/posts",
        data=PRAISE_FORM,
        files=files,
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 422
    error = soup(r).select_one("#err-files").get_text()
    assert "大きい.png は画素数が多すぎて処理できません" in error
    assert soup(r).select_one("input[name=title]")["value"] == PRAISE_FORM["title"]  # kept
    assert await count(db, "posts") == 0 and await count(db, "attachments") == 0


async def test_multipart_without_csrf_is_refused(client, db):
    await login_as(client, await make_user(db))
    r = await client.post(
        "/posts", data=PRAISE_FORM, files=[("files", ("a.jpg", jpeg_bytes(), "image/jpeg"))]
    )
    assert r.status_code == 403
    assert await count(db, "posts") == 0


async def test_draft_then_publish_from_the_edit_page(client, db):
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post("/posts", data={**PRAISE_FORM, "status": "draft", "csrf_token": csrf})
    post_url = r.headers["location"]
    assert soup(await client.get("/drafts")).select(".post-card")
    assert not soup(await client.get("/")).select(".post-card")
    post_id = post_url.rsplit("/", 1)[1]
    edit = soup(await client.get(f"/posts/{post_id}/edit"))
    assert edit.select_one("#title")["value"] == PRAISE_FORM["title"]
    r = await client.post(
        f"/posts/{post_id}/edit", data={**PRAISE_FORM, "status": "published", "csrf_token": csrf}
    )
    assert r.status_code == 303
    assert soup(await client.get("/")).select(".post-card")


async def test_others_cannot_open_the_edit_page_or_delete(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    assert (await client.get(f"/posts/{post.id}/edit")).status_code == 403
    assert (
        await client.post(f"/posts/{post.id}/delete", data={"csrf_token": csrf})
    ).status_code == 403


async def test_infinite_scroll_fragment_and_plain_next_link(client, db):
    author = await make_user(db)
    for i in range(25):
        await make_post(db, author, title=f"投稿 {i:02d}")
    await login_as(client, author)
    first = soup(await client.get("/"))
    assert len(first.select(".post-card")) == 20
    link = first.select_one("nav.next-page a")
    assert link["href"].startswith("/?cursor=") and link["hx-get"].startswith("/feed/page?")
    assert link["hx-trigger"] == "revealed"
    rest = soup(await client.get(link["hx-get"], headers={"HX-Request": "true"}))
    assert len(rest.select(".post-card")) == 5 and not rest.select_one("nav.next-page")
    plain = soup(await client.get(link["href"]))
    assert len(plain.select(".post-card")) == 5


async def test_filters_on_the_page_keep_their_values(client, db):
    await login_as(client, await make_user(db))
    page = soup(await client.get("/", params={"q": "感謝", "kind": "praise", "from": "", "to": ""}))
    assert page.select_one("input[name=q]")["value"] == "感謝"
    assert page.select_one("select[name=kind] option[selected]")["value"] == "praise"


async def test_user_page_shows_praise_received(client, db):
    shop = await make_unit(db)
    author = await make_user(db, unit=shop)
    colleague = await make_user(db, unit=shop, name="褒められ 太郎")
    csrf = await login_as(client, author)
    await client.post("/posts", data={**PRAISE_FORM, "praised": colleague.code, "csrf_token": csrf})
    page = soup(await client.get(f"/users/{colleague.code}?tab=praised"))
    assert page.select_one("[data-testid=praised-count]").text == "1"
    assert len(page.select(".post-card")) == 1


async def test_unit_page_counts_this_years_praise(client, db):
    shop = await make_unit(db, code="SHOP-X")
    author = await make_user(db, unit=shop)
    csrf = await login_as(client, author)
    await client.post("/posts", data={**PRAISE_FORM, "csrf_token": csrf})
    page = soup(await client.get("/units/SHOP-X"))
    total = page.select("table.month-counts td")[-1].text.strip()
    assert total == "1"


async def test_suggestions_for_the_type_ahead(client, db):
    await make_user(db, code="E5555", name="鈴木 花子")
    await login_as(client, await make_user(db))
    r = soup(await client.get("/users/suggest", params={"praised_q": "鈴木"}))
    assert [li["data-code"] for li in r.select("li[data-code]")] == ["E5555"]
    r = soup(await client.get("/users/suggest", params={"q": "@E55"}))
    assert [li["data-code"] for li in r.select("li[data-code]")] == ["E5555"]


async def test_plain_form_error_renders_the_full_page(client, db):
    csrf = await login_as(client, await make_user(db, name="表示 確認"))
    r = await client.post("/posts", data={**PRAISE_FORM, "title": "", "csrf_token": csrf})
    assert r.status_code == 422
    page = soup(r)
    assert page.select_one("[data-testid=user-name]").text == "表示 確認"
    assert page.select_one("#err-title")
