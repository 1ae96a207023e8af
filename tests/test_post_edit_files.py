"""Attachments on the edit page: add and remove them with the same checks as the composer;
a refused file, a full post or a stranger's attachment changes nothing at all."""

from __future__ import annotations

import sqlalchemy as sa

from app.services.attachments import ATTACHMENTS_PER_POST
from tests.factories import login_as, make_post, make_user, soup
from tests.test_post_pages import PRAISE_FORM, jpeg_bytes

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
HX = {"HX-Request": "true"}


async def _attachments(db, post_id: int) -> list[str]:
    rows = await db.execute(
        sa.text("SELECT filename FROM attachments WHERE post_id = :p ORDER BY id"), {"p": post_id}
    )
    return [r[0] for r in rows]


async def _posted_with(client, csrf: str, *names: str) -> int:
    """A post made through the composer with these files (JPEG or PDF by the name's end)."""
    files = [
        ("files", (n, PDF if n.endswith(".pdf") else jpeg_bytes(), "application/octet-stream"))
        for n in names
    ]
    r = await client.post(
        f"/posts?csrf_token={csrf}", data={**PRAISE_FORM, "csrf_token": csrf}, files=files or None
    )
    assert r.status_code == 303, r.text[:300]
    return int(r.headers["location"].rsplit("/", 1)[1])


async def _edit(client, csrf: str, post_id: int, data: dict, files=None, headers=None):
    return await client.post(
        f"/posts/{post_id}/edit?csrf_token={csrf}",
        data={**PRAISE_FORM, "csrf_token": csrf, **data},
        files=files,
        headers=headers,
    )


async def test_the_edit_page_lists_attachments_and_offers_a_file_input(client, db):
    csrf = await login_as(client, await make_user(db))
    post_id = await _posted_with(client, csrf, "写真.jpg", "資料.pdf")
    page = soup(await client.get(f"/posts/{post_id}/edit"))
    items = page.select(".attachment-edit-list li")
    assert [li.select_one(".attachment-name").get_text() for li in items] == [
        "写真.jpg",
        "資料.pdf",
    ]
    boxes = page.select("input[type=checkbox][name=remove_attachment]")
    assert len(boxes) == 2 and not any(b.has_attr("checked") for b in boxes)
    assert page.select_one("form#composer input#files[type=file][multiple]")
    assert "あと8件" in page.select_one("label[for=files]").get_text()


async def test_edit_adds_and_removes_attachments_in_one_save(client, db):
    csrf = await login_as(client, await make_user(db))
    post_id = await _posted_with(client, csrf, "古い写真.jpg", "残す資料.pdf")
    page = soup(await client.get(f"/posts/{post_id}/edit"))
    old = page.select_one("li:has(.attachment-name:-soup-contains('古い写真.jpg')) input")["value"]
    r = await _edit(
        client,
        csrf,
        post_id,
        {"title": "写真を差し替えました", "remove_attachment": old},
        files=[("files", ("新しい写真.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    assert r.status_code == 303, r.text[:500]
    assert await _attachments(db, post_id) == ["残す資料.pdf", "新しい写真.jpg"]
    shown = soup(await client.get(f"/posts/{post_id}"))
    assert shown.select_one(".post-title").get_text(strip=True) == "写真を差し替えました"
    assert {img["alt"] for img in shown.select(".attachments img")} == {"新しい写真.jpg"}


async def test_a_bad_file_on_edit_changes_nothing(client, db):
    csrf = await login_as(client, await make_user(db))
    post_id = await _posted_with(client, csrf, "写真.jpg")
    page = soup(await client.get(f"/posts/{post_id}/edit"))
    keep = page.select_one("input[name=remove_attachment]")["value"]
    r = await _edit(
        client,
        csrf,
        post_id,
        {"title": "変えたつもりのタイトル", "remove_attachment": keep},
        files=[("files", ("evil.jpg", b"<script>alert(1)</script>", "image/jpeg"))],
        headers=HX,
    )
    assert r.status_code == 422
    form = soup(r)
    assert "evil.jpg" in form.select_one("#err-files").get_text()
    assert form.select_one("#files")["aria-invalid"] == "true"
    # What was typed and ticked is kept; nothing was written.
    assert form.select_one("input[name=title]")["value"] == "変えたつもりのタイトル"
    assert form.select_one(f"input[name=remove_attachment][value='{keep}']").has_attr("checked")
    assert await _attachments(db, post_id) == ["写真.jpg"]
    title = await db.execute(sa.text("SELECT title FROM posts WHERE id = :p"), {"p": post_id})
    assert title.scalar_one() == PRAISE_FORM["title"]


async def test_more_than_the_room_left_is_refused_before_anything_is_written(client, db):
    csrf = await login_as(client, await make_user(db))
    names = [f"写真{i}.jpg" for i in range(ATTACHMENTS_PER_POST - 1)]
    post_id = await _posted_with(client, csrf, *names)
    two = [("files", (f"追加{i}.jpg", jpeg_bytes(), "image/jpeg")) for i in range(2)]
    r = await _edit(client, csrf, post_id, {"title": "二枚追加"}, files=two, headers=HX)
    assert r.status_code == 422
    assert "あと1件" in soup(r).select_one("#err-files").get_text()
    assert await _attachments(db, post_id) == names
    # Removing one first makes room for both.
    first = soup(await client.get(f"/posts/{post_id}/edit")).select_one(
        "input[name=remove_attachment]"
    )["value"]
    r = await _edit(client, csrf, post_id, {"remove_attachment": first}, files=two)
    assert r.status_code == 303
    assert await _attachments(db, post_id) == [*names[1:], "追加0.jpg", "追加1.jpg"]


async def test_another_posts_attachment_cannot_be_removed_from_this_form(client, db):
    author = await make_user(db)
    csrf = await login_as(client, author)
    theirs = await _posted_with(client, csrf, "向こうの写真.jpg")
    mine = await _posted_with(client, csrf)
    other_id = (
        await db.execute(sa.text("SELECT id FROM attachments WHERE post_id = :p"), {"p": theirs})
    ).scalar_one()
    r = await _edit(client, csrf, mine, {"remove_attachment": str(other_id)}, headers=HX)
    assert r.status_code == 422
    assert soup(r).select_one("#err-files")
    assert await _attachments(db, theirs) == ["向こうの写真.jpg"]


async def test_only_the_author_edits_the_files(client, db):
    author = await make_user(db)
    post = await make_post(db, author)
    csrf = await login_as(client, await make_user(db))
    r = await _edit(
        client, csrf, post.id, {}, files=[("files", ("a.jpg", jpeg_bytes(), "image/jpeg"))]
    )
    assert r.status_code in (403, 404)
    assert await _attachments(db, post.id) == []


async def test_a_refused_form_says_to_choose_the_files_again(client, db):
    csrf = await login_as(client, await make_user(db))
    files = [("files", ("写真.jpg", jpeg_bytes(), "image/jpeg"))]
    r = await client.post(
        f"/posts?csrf_token={csrf}", data={**PRAISE_FORM, "title": ""}, files=files, headers=HX
    )
    assert r.status_code == 422
    note = soup(r).select_one(".field-note")
    assert note and "もう一度" in note.get_text()
