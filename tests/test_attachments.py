"""Attachments end to end: real files on disk, type by content, metadata stripped, access."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.routing import NoMatchFound

from app.api.attachments import router as api_router
from app.downloads import content_disposition
from app.models import Attachment, Post, User
from app.routes.attachments import router as page_router
from app.services import attachments as svc
from app.services.errors import DomainError
from app.services.uploads import TEMP_PREFIX, UploadedFile, read_multipart
from app.storage import LocalStorage, check_key, get_storage, new_key
from tests.factories import image_checker, login_as, make_post, make_user

MiB = 1024 * 1024


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """conftest's app, plus the attachment routers until the lead wires them in."""
    try:
        app.url_path_for("upload_attachment", post_id="1")
    except NoMatchFound:
        app.include_router(api_router, prefix="/api/v1")
    try:
        app.url_path_for("attachment_file", attachment_id="1")
    except NoMatchFound:
        app.include_router(page_router)
    return app


@pytest.fixture
def upload_dir(settings: Any) -> Path:
    path = Path(settings.upload_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def temp_files() -> set[str]:
    tmp = Path(tempfile.gettempdir())
    return {p.name for p in tmp.iterdir() if p.name.startswith((TEMP_PREFIX, "arigato-image-"))}


# ---------------------------------------------------------------------------------------
# Sample files


def jpeg_with_gps() -> bytes:
    """64×32, left half red, right half blue, EXIF orientation 6 (turn 90° clockwise), GPS,
    camera model, a comment and an ICC profile."""
    img = Image.new("RGB", (64, 32), (255, 0, 0))
    img.paste((0, 0, 255), (32, 0, 64, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (35.0, 41.0, 22.2), "E", (139.0, 41.0, 30.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, comment=b"customer: Yamada", icc_profile=icc)
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "sample must carry GPS"
    return data


def png_with_text(size: tuple[int, int] = (600, 300)) -> bytes:
    img = Image.new("RGBA", size, (0, 128, 0, 128))
    info = PngInfo()
    info.add_text("Comment", "顧客 山田様 090-1234-5678")
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def webp_image(size: tuple[int, int] = (1000, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 20, 200)).save(buf, "WEBP")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def xlsx_file() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = "お褒めの声"
    ws["B1"] = 12
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def office_zip(part: str, main_type: str, extra: dict[str, bytes] | None = None) -> bytes:
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type}"/>'
        "</Types>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", content_types)
        zf.writestr(part, "<doc/>")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

NOT_ALLOWED = {
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200,
    "html": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "fake_jpeg": b"\xff\xd8\xff\xe0" + os.urandom(2000),
    "xlsm": office_zip("xl/workbook.xml", XLSM_MAIN, {"xl/vbaProject.bin": b"\x00" * 10}),
    "plain_zip": b"",  # filled below: a zip without [Content_Types].xml
    "docx_without_main_part": b"",
}


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return buf.getvalue()


def _docx_without_main() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            f'<Types><Override PartName="/word/document.xml" ContentType="{DOCX_MAIN}"/></Types>',
        )
    return buf.getvalue()


NOT_ALLOWED["plain_zip"] = _plain_zip()
NOT_ALLOWED["docx_without_main_part"] = _docx_without_main()


# ---------------------------------------------------------------------------------------
# Helpers


async def upload(
    client: httpx.AsyncClient,
    csrf: str | None,
    post_id: int | None,
    filename: str,
    data: bytes,
    declared: str = "image/jpeg",
) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return await client.post(
        f"/api/v1/posts/{post_id}/attachments",
        files={"file": (filename, io.BytesIO(data), declared)},
        headers=headers,
    )


@pytest.fixture
async def author(db: AsyncSession) -> User:
    return await make_user(db)


@pytest.fixture
async def post(db: AsyncSession, author: User) -> Post:
    return await make_post(db, author)


@pytest.fixture
async def author_client(
    client: httpx.AsyncClient, author: User
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    csrf = await login_as(client, author)
    yield client, csrf


async def attachment_rows(db: AsyncSession, post_id: int | None) -> list[Attachment]:
    return list((await db.exec(select(Attachment).where(Attachment.post_id == post_id))).all())


# ---------------------------------------------------------------------------------------
# Sniffing and names (pure)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(jpeg_with_gps(), ("image/jpeg", "image"), id="jpeg"),
        pytest.param(png_with_text(), ("image/png", "image"), id="png"),
        pytest.param(webp_image(), ("image/webp", "image"), id="webp"),
        pytest.param(PDF, ("application/pdf", "document"), id="pdf"),
        pytest.param(xlsx_file(), (svc.XLSX.content_type, "document"), id="xlsx"),
        pytest.param(
            office_zip("word/document.xml", DOCX_MAIN),
            (svc.DOCX.content_type, "document"),
            id="docx",
        ),
        pytest.param(
            office_zip("ppt/presentation.xml", PPTX_MAIN),
            (svc.PPTX.content_type, "document"),
            id="pptx",
        ),
        # A JPEG header on garbage passes the sniff; decoding refuses it (see the HTTP test).
        *[pytest.param(data, None, id=k) for k, data in NOT_ALLOWED.items() if k != "fake_jpeg"],
        pytest.param(b"", None, id="empty"),
    ],
)
def test_sniff_by_content(tmp_path: Path, data: bytes, expected: tuple[str, str] | None) -> None:
    path = tmp_path / "upload.jpg"  # the name never matters
    path.write_bytes(data)
    assert svc.sniff(path) == expected


def test_sniff_refuses_oversized_content_types_member(tmp_path: Path) -> None:
    """A zip bomb in [Content_Types].xml is never inflated past the cap."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b" " * (svc.CONTENT_TYPES_MAX + 10))
        zf.writestr("word/document.xml", "<doc/>")
    path = tmp_path / "bomb.docx"
    path.write_bytes(buf.getvalue())
    assert svc.sniff(path) is None


@pytest.mark.parametrize(
    ("raw", "ctype", "expected"),
    [
        ("お客さまの写真.jpg", "image/jpeg", "お客さまの写真.jpg"),
        ("C:\\fakepath\\報告書.pdf", "application/pdf", "報告書.pdf"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("<script>alert(1)<script>.png", "image/png", "_script_alert(1)_script_.png"),
        ("invoice.html", "application/pdf", "invoice.html.pdf"),
        ("photo", "image/webp", "photo.webp"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("evil\u202egpj.exe", "image/jpeg", "evilgpj.exe.jpg"),
        ("a\x00b\r\nc.pdf", "application/pdf", "abc.pdf"),
        ("...", "application/pdf", "file.pdf"),
        ("", "image/png", "file.png"),
        ("　資料　.pdf", "application/pdf", "資料.pdf"),
    ],
)
def test_sanitize_filename(raw: str, ctype: str, expected: str) -> None:
    assert svc.sanitize_filename(raw, ctype) == expected


def test_sanitize_filename_caps_length_and_keeps_extension() -> None:
    name = svc.sanitize_filename("あ" * 400 + ".xlsx", svc.XLSX.content_type)
    assert len(name) == 255
    assert name.endswith("あ.xlsx")


def test_content_disposition_is_rfc5987() -> None:
    header = content_disposition('報告 "最終".pdf')
    assert header == (
        "attachment; filename=\"__ ____.pdf\"; filename*=UTF-8''"
        "%E5%A0%B1%E5%91%8A%20%22%E6%9C%80%E7%B5%82%22.pdf"
    )
    assert header.isascii()


def test_storage_keys_are_ours_only(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = new_key("jpg")
    assert check_key(key) == key
    assert storage.path(key).is_relative_to(tmp_path.resolve())
    for bad in ("../x.jpg", "ab/cd/../../../etc/passwd", "/etc/passwd", "ab/cd/x.jpg", ""):
        with pytest.raises(ValueError):
            storage.path(bad)
    with pytest.raises(ValueError):
        new_key("../jpg")


async def test_local_storage_save_and_delete(tmp_path: Path) -> None:
    source = tmp_path / "src.pdf"
    source.write_bytes(PDF)
    storage = LocalStorage(tmp_path / "store")
    key = new_key("pdf")
    await storage.save(key, source)
    assert storage.path(key).read_bytes() == PDF
    assert source.exists()  # copied, not moved: the caller still owns its temp file
    await storage.delete(key)
    await storage.delete(key)  # twice is fine
    assert stored_files(tmp_path / "store") == set()


# ---------------------------------------------------------------------------------------
# Streaming multipart parser


def _request(body_chunks: list[bytes], content_type: str, length: int | None = None) -> tuple:
    sent: list[int] = []
    headers = [(b"content-type", content_type.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))

    async def receive() -> dict[str, Any]:
        index = len(sent)
        sent.append(index)
        if index < len(body_chunks):
            return {
                "type": "http.request",
                "body": body_chunks[index],
                "more_body": index + 1 < len(body_chunks),
            }
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    return Request(scope, receive), sent


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def _chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_read_multipart_fields_files_and_empty_file_input() -> None:
    body = _multipart(
        [
            ("title", None, "ありがとう".encode()),
            ("file", "写真.png", b"A" * 5000),
            ("other", "", b""),  # a file input left empty
            ("title", None, b"second"),
        ]
    )
    request, _sent = _request(_chunks(body, 777), "multipart/form-data; boundary=XyZ")
    form = await read_multipart(request, max_file_bytes=10_000)
    try:
        assert form.fields == {"title": ["ありがとう", "second"]}
        assert len(form.files) == 1
        uploaded = form.files[0]
        assert (uploaded.field_name, uploaded.filename, uploaded.size) == ("file", "写真.png", 5000)
        assert uploaded.declared_type == "application/octet-stream"
        assert uploaded.path.read_bytes() == b"A" * 5000
    finally:
        form.cleanup()
    assert not uploaded.path.exists()


async def test_read_multipart_stops_reading_at_the_limit() -> None:
    before = temp_files()
    body = _multipart([("file", "big.pdf", b"B" * 100_000)])
    chunks = _chunks(body, 1000)
    request, sent = _request(chunks, "multipart/form-data; boundary=XyZ")  # no length
    with pytest.raises(DomainError) as info:
        await read_multipart(request, max_file_bytes=10_000)
    assert info.value.status_code == 413
    assert len(sent) < 15 < len(chunks)  # stopped soon after 10 kB, not at the end
    assert temp_files() == before


async def test_read_multipart_refuses_by_content_length_before_reading() -> None:
    body = _multipart([("file", "big.pdf", b"B" * 100_000)])
    request, sent = _request([body], "multipart/form-data; boundary=XyZ", length=svc.UPLOAD_MAX * 3)
    with pytest.raises(DomainError) as info:
        await read_multipart(request, max_file_bytes=svc.UPLOAD_MAX, max_files=1)
    assert info.value.status_code == 413
    assert sent == []


async def test_read_multipart_limits_and_errors() -> None:
    ctype = "multipart/form-data; boundary=XyZ"
    too_many = _multipart([("file", "a.pdf", b"1"), ("file", "b.pdf", b"2")])
    request, _ = _request([too_many], ctype)
    with pytest.raises(DomainError) as info:
        await read_multipart(request, max_file_bytes=100, max_files=1)
    assert info.value.status_code == 413

    long_field = _multipart([("note", None, b"x" * 200)])
    request, _ = _request([long_field], ctype)
    with pytest.raises(DomainError) as info:
        await read_multipart(request, max_file_bytes=100, max_field_bytes=100)
    assert info.value.status_code == 413

    request, _ = _request([b"{}"], "application/json")
    with pytest.raises(DomainError) as info:
        await read_multipart(request, max_file_bytes=100)
    assert info.value.status_code == 415

    before = temp_files()
    truncated = _multipart([("file", "a.pdf", b"x" * 500)])[:300]
    request, _ = _request([truncated], ctype)
    with pytest.raises(DomainError) as info:
        await read_multipart(request, max_file_bytes=1000)
    assert info.value.status_code == 400
    assert temp_files() == before


# ---------------------------------------------------------------------------------------
# Upload over HTTP


async def test_upload_jpeg_strips_exif_and_gps_and_applies_orientation(
    author_client: tuple[httpx.AsyncClient, str], post: Post, db: AsyncSession
) -> None:
    client, csrf = author_client
    response = await upload(client, csrf, post.id, "お客さまの写真.jpg", jpeg_with_gps())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "お客さまの写真.jpg"
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (32, 64)  # turned upright
    assert body["url"] == f"/attachments/{body['id']}/file"
    assert body["thumbnail_url"] == f"/attachments/{body['id']}/thumbnail"

    row = await db.get(Attachment, body["id"])
    assert row is not None
    stored = get_storage().path(row.storage_key).read_bytes()
    file = await client.get(body["url"])
    assert file.status_code == 200
    assert file.content == stored
    assert body["size"] == len(stored)
    assert file.headers["content-type"] == "image/jpeg"
    assert file.headers["x-content-type-options"] == "nosniff"
    assert file.headers["cache-control"] == "private, max-age=3600"
    assert file.headers["content-disposition"] == (
        "inline; filename=\"_______.jpg\"; filename*=UTF-8''" + quote("お客さまの写真.jpg")
    )
    img = Image.open(io.BytesIO(file.content))
    assert img.format == "JPEG"
    assert img.size == (32, 64)
    assert len(img.getexif()) == 0
    assert not img.getexif().get_ifd(0x8825)
    assert b"Exif" not in file.content and b"TestCam" not in file.content
    assert b"Yamada" not in file.content
    for key in ("exif", "icc_profile", "comment", "xmp"):
        assert key not in img.info
    rgb = img.convert("RGB")
    top, bottom = rgb.getpixel((16, 5)), rgb.getpixel((16, 58))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # red on top: the EXIF rotation was applied
    assert bottom[2] > 200 and bottom[0] < 60

    thumb = await client.get(body["thumbnail_url"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    thumb_img = Image.open(io.BytesIO(thumb.content))
    assert max(thumb_img.size) <= 480
    assert len(thumb_img.getexif()) == 0


async def test_upload_png_keeps_format_drops_text_and_makes_webp_thumbnail(
    author_client: tuple[httpx.AsyncClient, str], post: Post
) -> None:
    client, csrf = author_client
    response = await upload(client, csrf, post.id, "screen.png", png_with_text((1200, 300)))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["content_type"], body["width"], body["height"]) == ("image/png", 1200, 300)
    file = await client.get(body["url"])
    img = Image.open(io.BytesIO(file.content))
    assert img.format == "PNG" and img.mode == "RGBA"
    assert "Comment" not in img.info and "山田".encode() not in file.content
    thumb = await client.get(body["thumbnail_url"])
    assert thumb.headers["content-type"] == "image/webp"
    thumb_img = Image.open(io.BytesIO(thumb.content))
    assert thumb_img.format == "WEBP"
    assert thumb_img.size == (480, 120)


async def test_upload_webp(author_client: tuple[httpx.AsyncClient, str], post: Post) -> None:
    client, csrf = author_client
    response = await upload(client, csrf, post.id, "photo.webp", webp_image(), "image/webp")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["content_type"], body["width"], body["height"]) == ("image/webp", 1000, 600)
    file = await client.get(body["url"])
    assert Image.open(io.BytesIO(file.content)).format == "WEBP"
    thumb = Image.open(io.BytesIO((await client.get(body["thumbnail_url"])).content))
    assert thumb.size == (480, 288)


@pytest.mark.parametrize(
    ("name", "data", "ctype"),
    [
        ("報告書.pdf", PDF, "application/pdf"),
        ("集計.xlsx", xlsx_file(), svc.XLSX.content_type),
        ("手順.docx", office_zip("word/document.xml", DOCX_MAIN), svc.DOCX.content_type),
        ("朝礼.pptx", office_zip("ppt/presentation.xml", PPTX_MAIN), svc.PPTX.content_type),
    ],
    ids=["pdf", "xlsx", "docx", "pptx"],  # stable ids: the zip bytes carry the build time
)
async def test_upload_documents_stored_as_is(
    author_client: tuple[httpx.AsyncClient, str],
    post: Post,
    name: str,
    data: bytes,
    ctype: str,
) -> None:
    client, csrf = author_client
    # The declared type is ignored: the content decides.
    response = await upload(client, csrf, post.id, name, data, "text/html")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == ctype
    assert body["filename"] == name
    assert body["size"] == len(data)
    assert body["thumbnail_url"] is None
    file = await client.get(body["url"])
    assert file.status_code == 200
    assert file.content == data
    assert file.headers["content-type"] == ctype
    assert file.headers["content-disposition"].startswith('attachment; filename="')
    assert file.headers["content-disposition"].endswith("filename*=UTF-8''" + quote(name))
    assert file.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(f"/attachments/{body['id']}/thumbnail")).status_code == 404


@pytest.mark.parametrize("kind", sorted(NOT_ALLOWED))
async def test_upload_refuses_other_types_whatever_the_name(
    author_client: tuple[httpx.AsyncClient, str],
    post: Post,
    db: AsyncSession,
    upload_dir: Path,
    kind: str,
) -> None:
    client, csrf = author_client
    before, temps = stored_files(upload_dir), temp_files()
    response = await upload(client, csrf, post.id, "photo.jpg", NOT_ALLOWED[kind])
    assert response.status_code == 415, response.text
    assert await attachment_rows(db, post.id) == []
    assert stored_files(upload_dir) == before
    assert temp_files() == temps


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_upload_refuses_decompression_bomb(
    author_client: tuple[httpx.AsyncClient, str], post: Post, upload_dir: Path
) -> None:
    client, csrf = author_client
    buf = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(buf, "PNG")  # 50 Mpx in a few kB
    assert len(buf.getvalue()) < 100_000
    before = stored_files(upload_dir)
    response = await upload(client, csrf, post.id, "bomb.png", buf.getvalue(), "image/png")
    assert response.status_code == 413
    assert "10000 × 5000" in response.json()["detail"]
    assert stored_files(upload_dir) == before


async def test_too_large_image_is_refused_and_nothing_is_kept(
    author_client: tuple[httpx.AsyncClient, str],
    post: Post,
    db: AsyncSession,
    upload_dir: Path,
) -> None:
    client, csrf = author_client
    before, temps = stored_files(upload_dir), temp_files()
    big = jpeg_with_gps() + os.urandom(svc.IMAGE_MAX)  # a JPEG header, then > 10 MiB
    response = await upload(client, csrf, post.id, "big.jpg", big)
    assert response.status_code == 413, response.text
    assert "10" in response.json()["detail"]
    assert await attachment_rows(db, post.id) == []
    assert stored_files(upload_dir) == before
    assert temp_files() == temps


async def test_too_large_document_is_refused_while_streaming(
    author_client: tuple[httpx.AsyncClient, str],
    post: Post,
    db: AsyncSession,
    upload_dir: Path,
) -> None:
    client, csrf = author_client
    before, temps = stored_files(upload_dir), temp_files()
    # Just over the limit: Content-Length passes (it allows for the overhead), the stream
    # does not.
    big = PDF + b"0" * svc.DOCUMENT_MAX
    response = await upload(client, csrf, post.id, "big.pdf", big, "application/pdf")
    assert response.status_code == 413
    # Far over: refused from Content-Length alone.
    huge = PDF + b"0" * (svc.DOCUMENT_MAX + 2 * MiB)
    response = await upload(client, csrf, post.id, "huge.pdf", huge, "application/pdf")
    assert response.status_code == 413
    assert await attachment_rows(db, post.id) == []
    assert stored_files(upload_dir) == before
    assert temp_files() == temps


async def test_upload_needs_multipart_and_a_file(
    author_client: tuple[httpx.AsyncClient, str], post: Post
) -> None:
    client, csrf = author_client
    url = f"/api/v1/posts/{post.id}/attachments"
    response = await client.post(url, json={"file": "x"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 415
    response = await client.post(
        url,
        files={"file": ("", io.BytesIO(b""), "application/octet-stream")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    response = await client.post(
        url,
        data={"note": "x"},
        files={"other": ("a.pdf", io.BytesIO(PDF), "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422


async def test_at_most_ten_attachments_per_post(
    author_client: tuple[httpx.AsyncClient, str],
    post: Post,
    author: User,
    db: AsyncSession,
    upload_dir: Path,
) -> None:
    client, csrf = author_client
    for i in range(svc.ATTACHMENTS_PER_POST):
        db.add(
            Attachment(
                post_id=post.id,
                uploader_id=author.id,
                filename=f"{i}.pdf",
                content_type="application/pdf",
                size=1,
                storage_key=new_key("pdf"),
            )
        )
    await db.commit()
    before = stored_files(upload_dir)
    response = await upload(client, csrf, post.id, "11.pdf", PDF, "application/pdf")
    assert response.status_code == 409
    assert "10" in response.json()["detail"]
    assert stored_files(upload_dir) == before


async def test_sanitised_filename_in_json_and_header(
    author_client: tuple[httpx.AsyncClient, str], post: Post
) -> None:
    client, csrf = author_client
    name = '..\\..\\<script>alert("x")<\\script>写真.pdf'
    response = await upload(client, csrf, post.id, name, PDF, "application/pdf")
    assert response.status_code == 201, response.text
    filename = response.json()["filename"]
    assert filename == "script>写真.pdf".replace(">", "_")
    for bad in ("<", ">", "/", "\\", '"', ".."):
        assert bad not in filename
    response = await upload(client, csrf, post.id, "<script>alert(1)</script>.png", PDF)
    filename = response.json()["filename"]
    assert "<" not in filename and "/" not in filename
    assert filename.endswith(".png.pdf")
    file = await client.get(response.json()["url"])
    header = file.headers["content-disposition"]
    assert "<" not in header and ">" not in header
    assert header.endswith("filename*=UTF-8''" + quote(filename, safe=""))


# ---------------------------------------------------------------------------------------
# Who may do what


async def test_only_the_author_may_upload(
    client: httpx.AsyncClient, db: AsyncSession, author: User, post: Post, upload_dir: Path
) -> None:
    other = await make_user(db)
    csrf = await login_as(client, other)
    before = stored_files(upload_dir)
    response = await upload(client, csrf, post.id, "a.pdf", PDF, "application/pdf")
    assert response.status_code == 403
    draft = await make_post(db, author, status="draft", published_at=None)
    response = await upload(client, csrf, draft.id, "a.pdf", PDF, "application/pdf")
    assert response.status_code == 404
    response = await upload(client, csrf, 999_999, "a.pdf", PDF, "application/pdf")
    assert response.status_code == 404
    assert stored_files(upload_dir) == before


async def test_upload_needs_login_and_csrf(
    client: httpx.AsyncClient, post: Post, author: User
) -> None:
    response = await upload(client, None, post.id, "a.pdf", PDF, "application/pdf")
    assert response.status_code in (401, 403)
    await login_as(client, author)
    response = await upload(client, None, post.id, "a.pdf", PDF, "application/pdf")
    assert response.status_code == 403


async def test_download_access(make_client: Any, db: AsyncSession, author: User) -> None:
    published = await make_post(db, author)
    draft = await make_post(db, author, status="draft", published_at=None)
    author_browser = make_client("10.0.1.1")
    csrf = await login_as(author_browser, author)
    urls = {}
    for post in (published, draft):
        response = await upload(author_browser, csrf, post.id, "p.jpg", jpeg_with_gps())
        assert response.status_code == 201, response.text
        urls[post.status] = response.json()
    for body in urls.values():  # the author sees both
        assert (await author_browser.get(body["url"])).status_code == 200
    # Others see an image once its personal-data check passed (tests/test_image_check.py).
    assert await image_checker(db).drain_once() == 2

    anonymous = make_client("10.0.1.2")
    response = await anonymous.get(urls["published"]["url"])
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert (await anonymous.get(urls["published"]["thumbnail_url"])).status_code == 303

    colleague = make_client("10.0.1.3")
    await login_as(colleague, await make_user(db))
    assert (await colleague.get(urls["published"]["url"])).status_code == 200
    assert (await colleague.get(urls["published"]["thumbnail_url"])).status_code == 200
    assert (await colleague.get(urls["draft"]["url"])).status_code == 404
    assert (await colleague.get(urls["draft"]["thumbnail_url"])).status_code == 404
    assert (await colleague.get("/attachments/999999/file")).status_code == 404

    # Hidden: the author and curators still see it, colleagues do not.
    published.status = "hidden"
    db.add(published)
    await db.commit()
    assert (await colleague.get(urls["published"]["url"])).status_code == 404
    curator = make_client("10.0.1.4")
    await login_as(curator, await make_user(db, role="curator"))
    assert (await curator.get(urls["published"]["url"])).status_code == 200


async def test_delete_attachment(
    make_client: Any, db: AsyncSession, author: User, post: Post
) -> None:
    author_browser = make_client("10.0.2.1")
    csrf = await login_as(author_browser, author)
    body = (await upload(author_browser, csrf, post.id, "p.jpg", jpeg_with_gps())).json()
    row = await db.get(Attachment, body["id"])
    assert row is not None
    storage = get_storage()
    paths = [storage.path(row.storage_key), storage.path(row.thumbnail_key or "")]
    assert all(p.exists() for p in paths)
    assert await image_checker(db).drain_once() == 1  # checked: shown to colleagues
    await db.refresh(row)  # (the app shares this test's session: forget the row read above)

    colleague = make_client("10.0.2.2")
    other_csrf = await login_as(colleague, await make_user(db))
    response = await colleague.delete(
        f"/api/v1/attachments/{body['id']}", headers={"X-CSRF-Token": other_csrf}
    )
    assert response.status_code == 403

    response = await author_browser.delete(
        f"/api/v1/attachments/{body['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 204
    assert not any(p.exists() for p in paths)
    db.expunge_all()
    assert await db.get(Attachment, body["id"]) is None
    assert (await author_browser.get(body["url"])).status_code == 404
    response = await author_browser.delete(
        f"/api/v1/attachments/{body['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------
# All or nothing (service level)


class BrokenThumbnailStorage(LocalStorage):
    """A real local storage whose second save fails, as a full disk would."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.saves = 0

    async def save(self, key: str, source_path: Path) -> None:
        self.saves += 1
        if self.saves == 2:
            raise OSError(28, "No space left on device")
        await super().save(key, source_path)


def _uploaded(tmp_path: Path, name: str, data: bytes) -> UploadedFile:
    path = tmp_path / "incoming"
    path.write_bytes(data)
    return UploadedFile("file", name, "image/jpeg", path, len(data))


async def test_storage_failure_leaves_no_row_and_no_file(
    db: AsyncSession, tmp_path: Path, author: User, post: Post
) -> None:
    storage = BrokenThumbnailStorage(tmp_path / "store")
    post_id = post.id  # the failed transaction expires the loaded objects
    upload = _uploaded(tmp_path, "a.jpg", jpeg_with_gps())
    with pytest.raises(OSError):
        await svc.add_attachment(db, storage, post=post, uploader=author, upload=upload)
    assert storage.saves == 2
    assert stored_files(tmp_path / "store") == set()
    assert await attachment_rows(db, post_id) == []


async def test_row_failure_deletes_the_stored_files(
    db: AsyncSession, tmp_path: Path, author: User, post: Post
) -> None:
    storage = LocalStorage(tmp_path / "store")
    ghost = User(id=987_654_321, code="GHOST", name="ghost", unit_id=author.unit_id, role="staff")
    post_id = post.id  # the failed transaction expires the loaded objects
    upload = _uploaded(tmp_path, "a.jpg", jpeg_with_gps())
    with pytest.raises(IntegrityError):
        await svc.add_attachment(db, storage, post=post, uploader=ghost, upload=upload)
    assert stored_files(tmp_path / "store") == set()
    assert await attachment_rows(db, post_id) == []


async def test_service_limits_are_parameters(
    db: AsyncSession, tmp_path: Path, author: User, post: Post
) -> None:
    storage = LocalStorage(tmp_path / "store")
    with pytest.raises(DomainError) as info:
        await svc.add_attachment(
            db,
            storage,
            post=post,
            uploader=author,
            upload=_uploaded(tmp_path, "a.pdf", PDF),
            document_max=10,
        )
    assert info.value.status_code == 413
    attachment = await svc.add_attachment(
        db, storage, post=post, uploader=author, upload=_uploaded(tmp_path, "a.pdf", PDF)
    )
    assert attachment.id is not None and attachment.post_id == post.id
    assert storage.path(attachment.storage_key).read_bytes() == PDF
    rows = (await db.exec(select(Attachment).where(col(Attachment.post_id) == post.id))).all()
    assert [r.id for r in rows] == [attachment.id]


async def test_the_upload_is_documented_as_one_multipart_file(client) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    body = spec["paths"]["/api/v1/posts/{post_id}/attachments"]["post"]["requestBody"]
    assert set(body["content"]) == {"multipart/form-data"}
    assert body["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
