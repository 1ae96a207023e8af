"""The personal-data check of photos, end to end: real Tesseract (with its Japanese data)
reads a generated postcard, the same guard as a post's text finds the name, address, phone
number and postal code, the image is held from everyone but its author and curators, the
author blacks the regions out (the stored bytes change there, the original file is gone) or
a curator releases it, both audited; a clean image passes; without Tesseract images wait for
a curator. The drainer is run step by step, in the test's database transaction."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.models import Attachment, AuditEntry, ImageCheck
from app.models.tables import image_check_jobs
from app.services.ocr import reader, regions
from app.services.ocr.drainer import Drainer
from tests.factories import (
    HX,
    image_checker,
    login_as,
    make_post,
    make_user,
    soup,
    stopped_clock,
)

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
MISSING_TESSERACT = "/nonexistent/bin/tesseract"
NOON = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def card_png(lines: list[str], size: tuple[int, int] = (1400, 700)) -> bytes:
    """A white card with large, clear black text (the CJK font), as a photo of a postcard."""
    font = ImageFont.truetype(CJK_FONT, 56, index=0)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((80, 60 + i * 120), line, fill="black", font=font)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


POSTCARD = [
    "〒150-0001",
    "東京都渋谷区神宮前1-2-3",
    "山田 花子 様",
    "電話 03-1234-5678",
    "いつもありがとうございます",
]


def clean_photo() -> bytes:
    """A photo with no text at all: coloured shapes."""
    img = Image.new("RGB", (800, 600), (120, 170, 220))
    draw = ImageDraw.Draw(img)
    draw.ellipse((200, 150, 600, 450), fill=(240, 200, 60))
    draw.rectangle((0, 480, 800, 600), fill=(60, 140, 60))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def drainer(db: AsyncSession, settings: Any) -> Drainer:
    return image_checker(db, settings)


@pytest.fixture
def no_tesseract(db: AsyncSession, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Drainer:
    """The tesseract command setting pointed at a path that does not exist (for the app's
    pages too), and a drainer under it."""
    # The settings the app reads now: another test may have cleared get_settings' cache,
    # leaving the session's `settings` fixture an older copy the pages no longer read.
    current = get_settings()
    monkeypatch.setattr(current, "tesseract_cmd", MISSING_TESSERACT)
    return image_checker(db, current)


async def _upload(client: httpx.AsyncClient, csrf: str, post_id: int, data: bytes, name: str):  # type: ignore[no-untyped-def]
    response = await client.post(
        f"/api/v1/posts/{post_id}/attachments",
        files={"file": (name, io.BytesIO(data), "image/png")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _row(db: AsyncSession, attachment_id: int) -> Attachment:
    att = await db.get(Attachment, attachment_id)
    assert att is not None
    await db.refresh(att)
    return att


async def _audit(db: AsyncSession, action: str) -> list[AuditEntry]:
    rows = await db.execute(sa.select(AuditEntry).where(AuditEntry.action == action))  # type: ignore[arg-type]
    return list(rows.scalars())


async def _people(
    db: AsyncSession, make_client: Any
) -> dict[str, tuple[httpx.AsyncClient, str, Any]]:
    """The post's author, a colleague, a curator and an admin, each with a browser."""
    people = {}
    for i, (who, role) in enumerate(
        (("author", "staff"), ("colleague", "staff"), ("curator", "curator"), ("admin", "admin"))
    ):
        user = await make_user(db, role=role, name=f"{who} 次郎")
        client = make_client(f"10.0.9.{i + 1}")
        people[who] = (client, await login_as(client, user), user)
    return people


def _listed(page: httpx.Response, attachment_id: int) -> bool:
    return soup(page).select_one(f"#attachment-{attachment_id}") is not None


async def test_a_postcard_with_personal_data_is_found_held_and_masked_by_its_author(
    db: AsyncSession, make_client: Any, drainer: Drainer, settings: Any
) -> None:
    people = await _people(db, make_client)
    author, csrf, author_user = people["author"]
    post = await make_post(db, author_user, title="はがきでお礼", channel="letter")
    body = await _upload(author, csrf, post.id, card_png(POSTCARD), "はがき.png")
    att_id = body["id"]
    file_url, thumb_url = body["url"], body["thumbnail_url"]
    assert body["image_check"] == "pending"

    # Before the check has run: held like a finding.
    colleague = people["colleague"][0]
    assert (await colleague.get(file_url)).status_code == 404
    assert (await colleague.get(thumb_url)).status_code == 404
    assert not _listed(await colleague.get(f"/posts/{post.id}"), att_id)
    assert not _listed(await colleague.get("/"), att_id)
    api_post = await colleague.get(f"/api/v1/posts/{post.id}")
    assert api_post.json()["attachments"] == []
    own = soup(await author.get(f"/posts/{post.id}"))
    assert "確認中" in own.select_one("[data-testid=image-check-notice]").get_text()

    assert await drainer.drain_once() == 1
    assert await drainer.drain_once() == 0  # checked once
    att = await _row(db, att_id)
    assert att.image_check == ImageCheck.found
    found = regions.load(att.check_regions)
    assert {r.kind for r in found} == {"address", "customer_name", "phone", "postal_code"}
    assert "03-1234-5678" not in (att.check_regions or "")  # boxes and kinds, never the text

    own_api = (await author.get(f"/api/v1/posts/{post.id}")).json()["attachments"]
    assert [(a["id"], a["image_check"]) for a in own_api] == [(att_id, "found")]
    assert (await colleague.get(f"/api/v1/posts/{post.id}")).json()["attachments"] == []
    # Held: the colleague sees nothing of it; author, curator and admin see it with the notice.
    assert (await colleague.get(file_url)).status_code == 404
    assert (await colleague.get(thumb_url)).status_code == 404
    assert not _listed(await colleague.get(f"/posts/{post.id}"), att_id)
    assert not _listed(await colleague.get("/"), att_id)
    for who in ("author", "curator", "admin"):
        client = people[who][0]
        assert (await client.get(file_url)).status_code == 200
        page = soup(await client.get(f"/posts/{post.id}"))
        notice = page.select_one(f"#attachment-{att_id} [data-testid=image-check-notice]")
        assert notice is not None and "個人情報の可能性があります" in notice.get_text()
        actions = page.select_one(f"[data-testid=image-check-{att_id}]")
        assert (actions.select_one("[data-testid=mask-image]") is not None) == (who == "author")
        assert (actions.select_one("[data-testid=release-image]") is not None) == (who != "author")
        assert _listed(await client.get("/"), att_id)

    # Nobody but the author masks: a colleague cannot see it (404), a curator may not (403).
    assert (
        await colleague.post(
            f"/attachments/{att_id}/mask", headers={"X-CSRF-Token": people["colleague"][1]}
        )
    ).status_code == 404
    curator, curator_csrf, _c = people["curator"]
    assert (
        await curator.post(f"/attachments/{att_id}/mask", headers={"X-CSRF-Token": curator_csrf})
    ).status_code == 403

    upload_dir = Path(settings.upload_dir)
    original = upload_dir / att.storage_key
    original_thumb = upload_dir / str(att.thumbnail_key)
    before = Image.open(original).convert("L")
    response = await author.post(f"/attachments/{att_id}/mask", data={"csrf_token": csrf})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/posts/{post.id}#attachment-{att_id}"
    page = soup(await author.get(f"/posts/{post.id}"))
    assert page.select_one("[data-testid=image-check-notice]") is None
    assert page.select_one("[data-testid=image-checks]") is None

    masked = await _row(db, att_id)
    assert masked.image_check == ImageCheck.masked and masked.check_regions is None
    assert not original.exists() and not original_thumb.exists()  # the original is gone
    after = Image.open(upload_dir / masked.storage_key).convert("L")
    assert after.size == before.size
    for region in found:
        x0, y0, x1, y1 = region.padded(*after.size)
        box = (region.left, region.top, region.left + region.width, region.top + region.height)
        assert after.crop(box).getextrema()[1] < 40  # black where the text was
        assert before.crop(box).getextrema()[1] > 200  # (white paper around the text before)
        assert x0 <= box[0] and y0 <= box[1] and x1 >= box[2] and y1 >= box[3]
    # OCR reads none of it any more.
    words = reader.read_words(settings.tesseract_cmd, upload_dir / masked.storage_key)
    assert regions.find_regions(words) == []

    [entry] = await _audit(db, "attachment.mask")
    assert entry.actor_id == author_user.id and entry.target_id == att_id
    assert json.loads(entry.changes or "{}")["after"] == {
        "image_check": "masked",
        "regions": len(found),
    }

    # Now everyone who sees the post sees the masked image.
    assert (await colleague.get(file_url)).status_code == 200
    assert _listed(await colleague.get(f"/posts/{post.id}"), att_id)
    # Masking twice: nothing left to mask.
    again = await author.post(f"/attachments/{att_id}/mask", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409


async def test_a_curator_releases_a_held_image(
    db: AsyncSession, make_client: Any, drainer: Drainer
) -> None:
    people = await _people(db, make_client)
    author, csrf, author_user = people["author"]
    post = await make_post(db, author_user)
    att_id = (await _upload(author, csrf, post.id, card_png(POSTCARD), "card.png"))["id"]
    assert await drainer.drain_once() == 1

    for who, status in (("colleague", 403), ("author", 403)):
        client, client_csrf, _u = people[who]
        response = await client.post(
            f"/attachments/{att_id}/release", headers={"X-CSRF-Token": client_csrf}
        )
        assert response.status_code == status, who
    assert (await _row(db, att_id)).image_check == ImageCheck.found

    curator, curator_csrf, curator_user = people["curator"]
    # Curators find it on the moderation page, linked to the post's held images.
    held = soup(await curator.get("/moderation")).select_one("[data-testid=held-images]")
    assert held is not None and "card.png" in held.get_text()
    assert held.select_one(f"a[href='/posts/{post.id}#image-checks']") is not None
    response = await curator.post(
        f"/attachments/{att_id}/release", headers={"X-CSRF-Token": curator_csrf, **HX}
    )
    assert response.status_code == 204, response.text
    assert response.headers["HX-Redirect"] == f"/posts/{post.id}#attachment-{att_id}"
    assert (await _row(db, att_id)).image_check == ImageCheck.released
    [entry] = await _audit(db, "attachment.release")
    assert entry.actor_id == curator_user.id and entry.target_id == att_id
    assert json.loads(entry.changes or "{}")["before"] == {"image_check": "found"}

    colleague = people["colleague"][0]
    assert (await colleague.get(f"/attachments/{att_id}/file")).status_code == 200
    assert _listed(await colleague.get("/"), att_id)
    held = soup(await curator.get("/moderation")).select_one("[data-testid=held-images]")
    assert "card.png" not in held.get_text()
    # A second release (a double click, another curator) changes nothing.
    again = await curator.post(
        f"/attachments/{att_id}/release", headers={"X-CSRF-Token": curator_csrf}
    )
    assert again.status_code == 409
    assert len(await _audit(db, "attachment.release")) == 1


@pytest.mark.parametrize(
    "data", [clean_photo(), card_png(["いつもありがとうございます", "またお願いします"])]
)
async def test_an_image_without_personal_data_passes(
    db: AsyncSession, make_client: Any, drainer: Drainer, data: bytes
) -> None:
    author_user = await make_user(db)
    author = make_client("10.0.8.1")
    csrf = await login_as(author, author_user)
    post = await make_post(db, author_user)
    att_id = (await _upload(author, csrf, post.id, data, "photo.png"))["id"]
    assert await drainer.drain_once() == 1
    assert (await _row(db, att_id)).image_check == ImageCheck.clean
    colleague = make_client("10.0.8.2")
    await login_as(colleague, await make_user(db))
    assert (await colleague.get(f"/attachments/{att_id}/file")).status_code == 200
    page = soup(await colleague.get(f"/posts/{post.id}"))
    item = page.select_one(f"#attachment-{att_id}")
    assert item is not None and item.select_one("[data-testid=image-check-notice]") is None


async def test_without_tesseract_images_wait_for_a_curator_and_admin_says_so(
    db: AsyncSession, make_client: Any, no_tesseract: Drainer
) -> None:
    people = await _people(db, make_client)
    author, csrf, author_user = people["author"]
    post = await make_post(db, author_user)
    att_id = (await _upload(author, csrf, post.id, clean_photo(), "photo.jpg"))["id"]

    assert await no_tesseract.drain_once() == 1
    assert (await _row(db, att_id)).image_check == ImageCheck.unchecked  # never passed
    [outcome] = (await db.execute(sa.select(image_check_jobs.c.outcome))).scalars().all()
    assert outcome == "unavailable"

    colleague = people["colleague"][0]
    assert (await colleague.get(f"/attachments/{att_id}/file")).status_code == 404
    assert not _listed(await colleague.get(f"/posts/{post.id}"), att_id)
    page = soup(await author.get(f"/posts/{post.id}"))
    assert (
        "自動チェックができませんでした"
        in page.select_one("[data-testid=image-check-notice]").get_text()
    )
    assert page.select_one("[data-testid=image-checks]") is not None
    assert page.select_one("[data-testid=mask-image]") is None  # no boxes to black out
    assert (
        await author.post(f"/attachments/{att_id}/mask", headers={"X-CSRF-Token": csrf})
    ).status_code == 409

    admin = people["admin"][0]
    status = soup(await admin.get("/admin")).select_one("[data-testid=image-check-status]")
    assert status is not None
    assert "利用できません" in status.get_text() and MISSING_TESSERACT in status.get_text()
    assert status.select_one("[role=alert]") is not None

    curator, curator_csrf, _u = people["curator"]
    response = await curator.post(
        f"/attachments/{att_id}/release", headers={"X-CSRF-Token": curator_csrf}
    )
    assert response.status_code == 303
    assert (await colleague.get(f"/attachments/{att_id}/file")).status_code == 200


async def test_admin_shows_the_check_available(db: AsyncSession, client: httpx.AsyncClient) -> None:
    await login_as(client, await make_user(db, role="admin"))
    status = soup(await client.get("/admin")).select_one("[data-testid=image-check-status]")
    assert status is not None and "利用できます" in status.get_text()
    assert status.select_one("[role=alert]") is None


async def test_each_check_is_claimed_by_one_drainer_and_decided_once(
    db: AsyncSession, make_client: Any, drainer: Drainer, settings: Any
) -> None:
    """Two instances: a claimed row is not taken by another until its lease runs out; a
    check run again after that decides nothing a second time."""
    author_user = await make_user(db)
    author = make_client("10.0.7.1")
    csrf = await login_as(author, author_user)
    post = await make_post(db, author_user)
    att_id = (await _upload(author, csrf, post.id, card_png(POSTCARD), "c.png"))["id"]
    other = Drainer(drainer.maker, settings)
    with stopped_clock(NOON + timedelta(days=365)) as at:
        async with drainer.maker() as session:
            [claimed] = await drainer.claim(session, NOON + timedelta(days=365))
        assert await other.drain_once() == 0  # leased to the first
        at(NOON + timedelta(days=365, minutes=6))  # the first died: its lease ran out
        assert await other.drain_once() == 1
        assert await drainer.send_one(None, claimed) == 0  # type: ignore[arg-type]
    assert (await _row(db, att_id)).image_check == ImageCheck.found
    outcomes = (await db.execute(sa.select(image_check_jobs.c.outcome))).scalars().all()
    assert outcomes == ["found"]
