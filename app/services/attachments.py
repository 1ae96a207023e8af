"""Attachments: type checked by content, images re-encoded without metadata, stored safely."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import events
from app.i18n import _
from app.models import Attachment, ImageCheck, Post, User
from app.permissions import can_view_attachment, get_post_for_edit, get_post_for_view
from app.services import images, scope
from app.services.errors import (
    Conflict,
    DomainError,
    InsufficientStorage,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from app.services.ocr import queue as ocr_queue
from app.services.uploads import UploadedFile, too_large
from app.storage import Storage, disk_full, new_key

log = logging.getLogger("arigato.attachments")

MiB = 1024 * 1024
IMAGE_MAX = 10 * MiB
DOCUMENT_MAX = 20 * MiB
UPLOAD_MAX = max(IMAGE_MAX, DOCUMENT_MAX)  # the streaming limit, before the type is known
ATTACHMENTS_PER_POST = 10
FILENAME_MAX = 255


# Zip-based Office files: only the entry list and [Content_Types].xml are ever read.
ZIP_MAX_ENTRIES = 10_000
CONTENT_TYPES_MAX = 256 * 1024

IMAGE = "image"
DOCUMENT = "document"


@dataclass(frozen=True)
class FileType:
    content_type: str
    kind: str
    extensions: tuple[str, ...]  # the first is the one given to a name without a fitting one
    pil_format: str | None = None


JPEG = FileType("image/jpeg", IMAGE, ("jpg", "jpeg", "jpe"), "JPEG")
PNG = FileType("image/png", IMAGE, ("png",), "PNG")
WEBP = FileType("image/webp", IMAGE, ("webp",), "WEBP")
PDF = FileType("application/pdf", DOCUMENT, ("pdf",))
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", DOCUMENT, ("xlsx",)
)
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", DOCUMENT, ("docx",)
)
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    DOCUMENT,
    ("pptx",),
)
FILE_TYPES = {t.content_type: t for t in (JPEG, PNG, WEBP, PDF, XLSX, DOCX, PPTX)}

# The main part each Office format must declare (macro-enabled and template variants have
# other content types, so they are refused).
_OOXML_MAIN = (
    (
        XLSX,
        "/xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    (
        DOCX,
        "/word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    (
        PPTX,
        "/ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    ),
)


def unsupported_type() -> UnsupportedMedia:
    return UnsupportedMedia(
        _(
            "This file type is not supported. Attach a JPEG, PNG or WebP image, "
            "or a PDF, Excel (XLSX), Word (DOCX) or PowerPoint (PPTX) file."
        ),
    )


# ---------------------------------------------------------------------------------------
# Type detection by content


def sniff(path: Path) -> tuple[str, str] | None:
    """(content type, "image" | "document") from the file's bytes, or None if not allowed."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(b"\xff\xd8\xff"):
        found: FileType | None = JPEG
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        found = PNG
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = WEBP
    elif head.startswith(b"%PDF-"):
        found = PDF
    elif head.startswith(b"PK\x03\x04"):
        found = _sniff_ooxml(path)
    else:
        found = None
    return (found.content_type, found.kind) if found else None


def _xml_attr(tag: str, name: str) -> str | None:
    match = re.search(rf"\b{name}\s*=\s*([\"'])(.*?)\1", tag)
    return match.group(2) if match else None


def _sniff_ooxml(path: Path) -> FileType | None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_ENTRIES:
                return None
            names = {info.filename for info in infos}
            info = zf.getinfo("[Content_Types].xml")
            if info.file_size > CONTENT_TYPES_MAX:
                return None
            with zf.open(info) as member:
                # The declared size may lie: never read past the cap.
                data = member.read(CONTENT_TYPES_MAX + 1)
    except Exception:  # not a readable zip, no [Content_Types].xml, encrypted, corrupt
        return None
    if len(data) > CONTENT_TYPES_MAX:
        return None
    text = data.decode("utf-8", errors="replace")
    overrides = {}
    for tag in re.findall(r"<(?:\w+:)?Override\b[^>]*>", text):
        part, ctype = _xml_attr(tag, "PartName"), _xml_attr(tag, "ContentType")
        if part and ctype:
            overrides[part.lower()] = ctype.strip().lower()
    for file_type, part_name, main_type in _OOXML_MAIN:
        if overrides.get(part_name) == main_type and part_name[1:] in names:
            return file_type
    return None


# ---------------------------------------------------------------------------------------
# Display file names


_RESERVED = frozenset('<>:"/\\|?*')


def sanitize_filename(raw: str, content_type: str) -> str:
    """A display name: no path parts, control or format characters, or characters that no
    file system accepts; Japanese kept; an extension matching the real type; ≤ 255 chars."""
    file_type = FILE_TYPES[content_type]
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category[0] == "C" or category in ("Zl", "Zp"):
            continue  # controls, bidi overrides, private use, unassigned
        kept.append("_" if ch in _RESERVED else ch)
    name = "".join(kept).strip(" .\u3000")
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem and ext.lower() in file_type.extensions):
        # No extension, or one that does not match the content: the browser and the
        # desktop decide how to open a download by its name, so make it tell the truth.
        stem, ext = (name or "file"), file_type.extensions[0]
    stem = stem[: FILENAME_MAX - len(ext) - 1].rstrip(" .\u3000") or "file"
    return f"{stem}.{ext}"


# ---------------------------------------------------------------------------------------
# Adding and removing


def too_many_pixels(width: int, height: int) -> TooLarge:
    size = _(" (%(width)s × %(height)s)") % {"width": width, "height": height} if width else ""
    return TooLarge(
        _("This image has too many pixels to process%(size)s. Make it smaller and try again.")
        % {"size": size},
    )


def image_too_large(path: Path, content_type: str) -> tuple[int, int] | None:
    """(width, height) of an image whose decode would pass the memory budget, read from its
    header alone; None when it can be taken (or is not an image of ours)."""
    file_type = FILE_TYPES.get(content_type)
    if file_type is None or file_type.pil_format is None:
        return None
    try:
        images.check_decodable(path, file_type.pil_format)
    except images.TooManyPixels as exc:
        return exc.width, exc.height
    except (images.Refused, OSError, SyntaxError, ValueError):
        return None  # refused with its own message when it is processed
    return None


async def _process_image(source: Path, file_type: FileType, workdir: Path) -> images.Processed:
    assert file_type.pil_format is not None
    try:
        return await anyio.to_thread.run_sync(
            images.process_image,
            source,
            file_type.pil_format,
            file_type.extensions[0],
            workdir,
            limiter=images.DECODE_LIMITER,
        )
    except images.Refused:
        raise unsupported_type() from None
    except images.TooManyPixels as exc:
        raise too_many_pixels(exc.width, exc.height) from None
    except OSError as exc:
        if disk_full(exc):
            raise InsufficientStorage() from exc
        raise


async def count_attachments(db: AsyncSession, post_id: int) -> int:
    result = await db.exec(
        select(func.count()).select_from(Attachment).where(col(Attachment.post_id) == post_id)
    )
    return int(result.one())


def too_many_attachments() -> Conflict:
    return Conflict(
        _("A post can have at most %(count)s attachments.") % {"count": ATTACHMENTS_PER_POST},
    )


async def ensure_room(db: AsyncSession, post_id: int) -> None:
    """The one check of the attachments a post may have: 409 when it has them all (SPEC §4,
    a conflict with the post's state). The API checks it before reading the body, and
    add_attachment before storing and again under the post's lock."""
    if await count_attachments(db, post_id) >= ATTACHMENTS_PER_POST:
        raise too_many_attachments()


@dataclass(frozen=True)
class FileCheck:
    """The one check of an uploaded file against SPEC §2's limits: its type (by content), its
    size (by kind) and an image's pixels (from its header). `refused` says which failed;
    the API answers `error()` (SPEC §4: 415 type, 413 size or pixels), a form shows its
    own message by the field."""

    file_type: FileType | None
    refused: Literal["type", "size", "pixels"] | None = None
    limit: int = 0
    pixels: tuple[int, int] = (0, 0)

    def error(self) -> DomainError:
        if self.refused == "type":
            return unsupported_type()
        if self.refused == "pixels":
            return too_many_pixels(*self.pixels)
        return too_large(self.limit)


def check_file(
    path: Path, size: int, *, image_max: int = IMAGE_MAX, document_max: int = DOCUMENT_MAX
) -> FileCheck:
    """Reads the file's first bytes (and an image's header): run it off the event loop."""
    sniffed = sniff(path)
    if sniffed is None:
        return FileCheck(None, "type")
    file_type = FILE_TYPES[sniffed[0]]
    limit = image_max if file_type.kind == IMAGE else document_max
    if size > limit:
        return FileCheck(file_type, "size", limit=limit)
    if file_type.kind == IMAGE and (pixels := image_too_large(path, file_type.content_type)):
        return FileCheck(file_type, "pixels", pixels=pixels)
    return FileCheck(file_type)


async def _delete_quietly(storage: Storage, keys: list[str]) -> None:
    with anyio.CancelScope(shield=True):
        for key in keys:
            try:
                await storage.delete(key)
            except Exception:
                log.exception("could not delete stored file %s", key)


async def store_image(
    storage: Storage, processed: images.Processed, file_type: FileType, stored: list[str]
) -> tuple[str, str]:
    """Save a processed image and its thumbnail under new keys; each key goes into `stored`
    once its file is saved (what the caller deletes if it fails later)."""
    key = new_key(file_type.extensions[0])
    await storage.save(key, processed.main)
    stored.append(key)
    thumbnail_key = new_key(processed.thumbnail_ext)
    await storage.save(thumbnail_key, processed.thumbnail)
    stored.append(thumbnail_key)
    return key, thumbnail_key


async def add_attachment(
    db: AsyncSession,
    storage: Storage,
    *,
    post: Post,
    uploader: User,
    upload: UploadedFile,
    image_max: int = IMAGE_MAX,
    document_max: int = DOCUMENT_MAX,
) -> Attachment:
    """Check, convert and store one uploaded file, and record it on the post.

    The caller has checked that `uploader` may edit `post`. Either the row and its files
    exist afterwards, or neither: files stored before a failed insert are deleted again.
    Commits (the session must not hold other pending changes).
    """
    post_id, uploader_id = post.id, uploader.id
    assert post_id is not None and uploader_id is not None
    check = await anyio.to_thread.run_sync(
        partial(
            check_file, upload.path, upload.size, image_max=image_max, document_max=document_max
        )
    )
    if check.refused is not None:
        raise check.error()
    file_type = check.file_type
    assert file_type is not None
    await ensure_room(db, post_id)
    # End the read transaction: no connection is held while the file is converted and stored.
    await db.commit()

    filename = sanitize_filename(upload.filename, file_type.content_type)
    stored: list[str] = []
    workdir = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, None, "arigato-image-"))
    try:
        thumbnail_key: str | None = None
        width = height = None
        if file_type.kind == IMAGE:
            processed = await _process_image(upload.path, file_type, workdir)
            key, thumbnail_key = await store_image(storage, processed, file_type, stored)
            size, width, height = processed.size, processed.width, processed.height
        else:
            key = new_key(file_type.extensions[0])
            await storage.save(key, upload.path)
            stored.append(key)
            size = upload.size

        # Lock the post row (PostgreSQL; SQLite serialises writers) and count again, so
        # that two uploads at once cannot pass the limit together.
        await db.exec(select(Post.id).where(col(Post.id) == post_id).with_for_update())
        await ensure_room(db, post_id)
        attachment = Attachment(
            post_id=post_id,
            uploader_id=uploader_id,
            filename=filename,
            content_type=file_type.content_type,
            size=size,
            storage_key=key,
            thumbnail_key=thumbnail_key,
            width=width,
            height=height,
            # Every image is read for personal data in the background, held until then.
            image_check=ImageCheck.pending if file_type.kind == IMAGE else None,
        )
        db.add(attachment)
        if file_type.kind == IMAGE:
            await db.flush()
            assert attachment.id is not None
            await ocr_queue.enqueue(db, attachment.id)
        await db.commit()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await db.rollback()
        await _delete_quietly(storage, stored)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, workdir, True)
    await db.refresh(attachment)
    if attachment.image_check is not None:
        assert attachment.id is not None
        await events.image_stored(attachment.id)  # wakes a drainer in any instance
    return attachment


def attachment_not_found() -> NotFound:
    return NotFound(_("This attachment does not exist or is not visible to you."))


async def get_attachment_for_view(db: AsyncSession, user: User, attachment_id: int) -> Attachment:
    """Whoever may see the post may see its files; anything else is a 404."""
    attachment = await db.get(Attachment, attachment_id)
    if attachment is None:
        raise attachment_not_found()
    if attachment.post_id is None:
        if attachment.uploader_id != user.id:
            raise attachment_not_found()
        return attachment
    try:
        post = await get_post_for_view(db, user, attachment.post_id)
    except NotFound:
        raise attachment_not_found() from None
    overseen = not scope.is_scoped(user) or await scope.oversees_post(db, user, attachment.post_id)
    if not can_view_attachment(user, post.author_id, attachment.image_check, overseen=overseen):
        raise attachment_not_found()
    return attachment


async def delete_attachment(
    db: AsyncSession, storage: Storage, *, user: User, attachment_id: int
) -> None:
    """The post's author removes an attachment: the row first, then its files."""
    attachment = await get_attachment_for_view(db, user, attachment_id)
    if attachment.post_id is not None:
        await get_post_for_edit(db, user, attachment.post_id)
    keys = [k for k in (attachment.storage_key, attachment.thumbnail_key) if k]
    await db.delete(attachment)
    await db.commit()
    # A file left behind by a failed delete is harmless; a row without its file is not.
    await _delete_quietly(storage, keys)
