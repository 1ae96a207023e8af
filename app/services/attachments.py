"""Attachments: type checked by content, images re-encoded without metadata, stored safely."""

from __future__ import annotations

import io
import logging
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import HTTPException
from PIL import Image, ImageCms, ImageOps
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import Attachment, Post, User
from app.permissions import get_post_for_edit, get_post_for_view
from app.services.uploads import UploadedFile
from app.storage import Storage, new_key

log = logging.getLogger("arigato.attachments")

MiB = 1024 * 1024
IMAGE_MAX = 10 * MiB
DOCUMENT_MAX = 20 * MiB
UPLOAD_MAX = max(IMAGE_MAX, DOCUMENT_MAX)  # the streaming limit, before the type is known
ATTACHMENTS_PER_POST = 10
FILENAME_MAX = 255

# Decompression bombs: a small file that decodes to gigabytes. Pillow refuses twice this
# outright; between this and twice it only warns, so `_open_image` also checks explicitly.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
JPEG_QUALITY = 85
WEBP_QUALITY = 85
THUMBNAIL_SIZE = 480

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


def unsupported_type() -> HTTPException:
    return HTTPException(
        415,
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
# Images


class _Refused(Exception):
    """The image cannot be decoded safely; answered with 415."""


@dataclass
class _Processed:
    main: Path
    thumbnail: Path
    thumbnail_ext: str
    width: int
    height: int
    size: int


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(img: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (e.g. Display P3 from phones), so dropping it keeps
    the colours; an unusable profile is just dropped."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        converted = ImageCms.profileToProfile(
            img,
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            _SRGB,
            outputMode="RGBA" if img.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img
    return converted if converted is not None else img


def _normalise_mode(img: Image.Image, pil_format: str) -> Image.Image:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    if pil_format == "JPEG":
        return img if img.mode in ("RGB", "L") else img.convert("RGB")
    if pil_format == "PNG":
        if has_alpha and img.mode not in ("RGBA", "LA"):
            return img.convert("RGBA")  # palette or colour-key transparency lives in info
        if img.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            return img
        return img.convert("RGB")
    return img.convert("RGBA" if has_alpha else "RGB")  # WebP


def _process_image(source: Path, file_type: FileType, workdir: Path) -> _Processed:
    """Decode, rotate upright, and write a fresh file and a thumbnail with no metadata."""
    assert file_type.pil_format is not None
    fmt = file_type.pil_format
    try:
        with Image.open(source, formats=[fmt]) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS or opened.format != fmt:
                raise _Refused()
            try:
                img = ImageOps.exif_transpose(opened)
            except (SyntaxError, ValueError, KeyError, TypeError):  # unreadable EXIF
                img = opened.copy()
        img = _normalise_mode(_to_srgb(img), fmt)
        # Nothing of the original's metadata survives: EXIF (with GPS), XMP, ICC, comments,
        # PNG text chunks. Pillow only writes what is in `info` or passed to save().
        img.info.clear()
        main = workdir / f"main.{file_type.extensions[0]}"
        if fmt == "JPEG":
            img.save(main, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        elif fmt == "PNG":
            img.save(main, "PNG")
        else:
            img.save(main, "WEBP", quality=WEBP_QUALITY, method=4)
        width, height = img.size

        thumb = img
        if max(width, height) > THUMBNAIL_SIZE:
            scale = THUMBNAIL_SIZE / max(width, height)
            box = (max(1, round(width * scale)), max(1, round(height * scale)))
            thumb = img.resize(box, Image.Resampling.LANCZOS, reducing_gap=3.0)
        # Transparent images get a WebP thumbnail (keeps the alpha), the rest a JPEG.
        if thumb.mode in ("RGBA", "LA"):
            thumb_ext = "webp"
            thumb = thumb.convert("RGBA")
            thumb.info.clear()
            thumb_path = workdir / "thumb.webp"
            thumb.save(thumb_path, "WEBP", quality=80, method=4)
        else:
            thumb_ext = "jpg"
            thumb = thumb.convert("RGB")
            thumb.info.clear()
            thumb_path = workdir / "thumb.jpg"
            thumb.save(thumb_path, "JPEG", quality=80, optimize=True)
        return _Processed(main, thumb_path, thumb_ext, width, height, main.stat().st_size)
    except _Refused:
        raise
    except Exception as exc:  # DecompressionBombError, UnidentifiedImageError, truncated...
        log.info("image refused: %s: %s", type(exc).__name__, exc)
        raise _Refused() from exc


# ---------------------------------------------------------------------------------------
# Adding and removing


async def count_attachments(db: AsyncSession, post_id: int) -> int:
    result = await db.exec(
        select(func.count()).select_from(Attachment).where(col(Attachment.post_id) == post_id)
    )
    return int(result.one())


def too_many_attachments() -> HTTPException:
    return HTTPException(
        409,
        _("A post can have at most %(count)s attachments.") % {"count": ATTACHMENTS_PER_POST},
    )


async def _delete_quietly(storage: Storage, keys: list[str]) -> None:
    with anyio.CancelScope(shield=True):
        for key in keys:
            try:
                await storage.delete(key)
            except Exception:
                log.exception("could not delete stored file %s", key)


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
    sniffed = await anyio.to_thread.run_sync(sniff, upload.path)
    if sniffed is None:
        raise unsupported_type()
    file_type = FILE_TYPES[sniffed[0]]
    limit = image_max if file_type.kind == IMAGE else document_max
    if upload.size > limit:
        raise HTTPException(
            413,
            _("The file is too large (at most %(size)s MB).") % {"size": f"{limit / MiB:g}"},
        )
    if await count_attachments(db, post_id) >= ATTACHMENTS_PER_POST:
        raise too_many_attachments()
    # End the read transaction: no connection is held while the file is converted and stored.
    await db.commit()

    filename = sanitize_filename(upload.filename, file_type.content_type)
    stored: list[str] = []
    workdir = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, None, "arigato-image-"))
    try:
        thumbnail_key: str | None = None
        width = height = None
        if file_type.kind == IMAGE:
            try:
                processed = await anyio.to_thread.run_sync(
                    _process_image, upload.path, file_type, workdir
                )
            except _Refused:
                raise unsupported_type() from None
            key = new_key(file_type.extensions[0])
            await storage.save(key, processed.main)
            stored.append(key)
            thumbnail_key = new_key(processed.thumbnail_ext)
            await storage.save(thumbnail_key, processed.thumbnail)
            stored.append(thumbnail_key)
            size, width, height = processed.size, processed.width, processed.height
        else:
            key = new_key(file_type.extensions[0])
            await storage.save(key, upload.path)
            stored.append(key)
            size = upload.size

        # Lock the post row (PostgreSQL; SQLite serialises writers) and count again, so
        # that two uploads at once cannot pass the limit together.
        await db.exec(select(Post.id).where(col(Post.id) == post_id).with_for_update())
        if await count_attachments(db, post_id) >= ATTACHMENTS_PER_POST:
            raise too_many_attachments()
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
        )
        db.add(attachment)
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
    return attachment


def attachment_not_found() -> HTTPException:
    return HTTPException(404, _("This attachment does not exist or is not visible to you."))


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
        await get_post_for_view(db, user, attachment.post_id)
    except HTTPException:
        raise attachment_not_found() from None
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
