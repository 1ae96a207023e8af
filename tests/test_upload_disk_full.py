"""A full upload disk (a real 2 MB tmpfs, filled up): 507 with a message, nothing kept,
and /admin shows the free space."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.models import Attachment
from tests.factories import login_as, make_post, make_user
from tests.test_attachments import PDF, jpeg_with_gps


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    mount = tmp_path / "uploads"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        with (mount / "filler").open("wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        # The settings the app reads now (other tests may have built them again).
        monkeypatch.setattr(get_settings(), "upload_dir", mount)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def files_in(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("name", "data", "ctype"),
    [("report.pdf", PDF * 2000, "application/pdf"), ("photo.jpg", jpeg_with_gps(), "image/jpeg")],
    ids=["document", "image"],
)
async def test_a_full_disk_answers_507_and_keeps_nothing(
    client: httpx.AsyncClient, db: AsyncSession, full_disk: Path, name: str, data: bytes, ctype: str
) -> None:
    user = await make_user(db)
    post = await make_post(db, user)
    csrf = await login_as(client, user)
    r = await client.post(
        f"/api/v1/posts/{post.id}/attachments",
        files={"file": (name, io.BytesIO(data), ctype)},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 507, r.text
    assert "空き容量" in r.json()["detail"]
    rows = (await db.exec(select(Attachment).where(Attachment.post_id == post.id))).all()
    assert rows == []
    assert files_in(full_disk) == {"filler"}  # no partial file, no .incoming- leftover


async def test_the_browser_gets_a_507_page(
    client: httpx.AsyncClient, db: AsyncSession, full_disk: Path
) -> None:
    user = await make_user(db)
    csrf = await login_as(client, user)
    r = await client.post(
        "/posts",
        data={
            "csrf_token": csrf,
            "kind": "praise",
            "title": "ありがとう",
            "body": "丁寧な説明に感謝されました。",
            "channel": "counter",
        },
        files={"files": ("report.pdf", io.BytesIO(PDF * 2000), "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 507
    assert "空き容量" in BeautifulSoup(r.text, "html.parser").get_text()
    assert files_in(full_disk) == {"filler"}


async def test_admin_shows_the_upload_disk_free_space(
    client: httpx.AsyncClient, db: AsyncSession, full_disk: Path
) -> None:
    admin = await make_user(db, role="admin")
    await login_as(client, admin)
    card = BeautifulSoup((await client.get("/admin")).text, "html.parser").select_one(
        "[data-testid=upload-space]"
    )
    assert card is not None
    assert card.select_one("[role=alert]") is not None  # full: shown as a warning
    (full_disk / "filler").unlink()
    card = BeautifulSoup((await client.get("/admin")).text, "html.parser").select_one(
        "[data-testid=upload-space]"
    )
    assert card is not None and card.select_one("[role=alert]") is None
    assert "GB" in card.get_text()
