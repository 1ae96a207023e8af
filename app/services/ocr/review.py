"""What happens to a held image: its author blacks out the regions OCR found (the image is
re-encoded with the boxes drawn over it and the original is deleted from storage), or a
curator releases it as it is. Both are audited; both move the state by a guarded update, so
a double click or two people at once change it once (the other gets 409)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import anyio
import anyio.to_thread
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import HELD_CHECKS, Attachment, ImageCheck, User
from app.models.tables import attachments as attachments_t
from app.permissions import get_post_for_edit, get_post_for_moderation
from app.services import audit, images
from app.services.attachments import FILE_TYPES, get_attachment_for_view, store_image
from app.services.errors import Conflict, InsufficientStorage
from app.services.ocr import regions
from app.storage import Storage, disk_full


class Actions:
    mask = "attachment.mask"
    release = "attachment.release"


def _changed_meanwhile() -> Conflict:
    return Conflict(_("This image was changed meanwhile. Reload the page."))


async def mask_attachment(
    db: AsyncSession, storage: Storage, *, user: User, attachment_id: int
) -> Attachment:
    """The post's author blacks out every region OCR found; the stored file and thumbnail
    are replaced and the original ones deleted. Commits."""
    att = await get_attachment_for_view(db, user, attachment_id)
    if att.post_id is not None:
        await get_post_for_edit(db, user, att.post_id)
    if att.image_check != ImageCheck.found:
        raise Conflict(_("There is nothing to mask on this image."))
    file_type = FILE_TYPES[att.content_type]
    assert file_type.pil_format is not None and att.width and att.height
    found = regions.load(att.check_regions)
    boxes = [r.padded(att.width, att.height) for r in found]
    old_keys = [k for k in (att.storage_key, att.thumbnail_key) if k]
    source = storage.path(att.storage_key)
    await db.commit()  # no transaction held while the image is redrawn

    workdir = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, None, "arigato-image-"))
    stored: list[str] = []
    try:
        try:
            processed = await anyio.to_thread.run_sync(
                images.mask_image,
                source,
                file_type.pil_format,
                file_type.extensions[0],
                workdir,
                boxes,
                limiter=images.DECODE_LIMITER,
            )
        except images.Refused:
            # The stored file is gone: another mask of it won the race and removed it.
            raise _changed_meanwhile() from None
        except OSError as exc:
            if disk_full(exc):
                raise InsufficientStorage() from exc
            raise
        key, thumbnail_key = await store_image(storage, processed, file_type, stored)
        result = await db.execute(
            sa.update(attachments_t)
            .where(
                attachments_t.c.id == attachment_id,
                attachments_t.c.image_check == ImageCheck.found.value,
                attachments_t.c.storage_key == old_keys[0],
            )
            .values(
                image_check=ImageCheck.masked.value,
                check_regions=None,
                storage_key=key,
                thumbnail_key=thumbnail_key,
                size=processed.size,
                width=processed.width,
                height=processed.height,
            )
        )
        if not getattr(result, "rowcount", 0):
            raise _changed_meanwhile()
        audit.record(
            db,
            user,
            Actions.mask,
            "attachment",
            attachment_id,
            before={"image_check": ImageCheck.found.value},
            after={"image_check": ImageCheck.masked.value, "regions": len(found)},
        )
        await db.commit()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await db.rollback()
            for done in stored:
                await storage.delete(done)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, workdir, True)
    # The original is discarded: only the masked image remains.
    with anyio.CancelScope(shield=True):
        for old in old_keys:
            await storage.delete(old)
    await db.refresh(att)
    return att


async def release_attachment(db: AsyncSession, *, user: User, attachment_id: int) -> Attachment:
    """A curator lets a held image be shown as it is (findings judged harmless, or looked
    at when OCR was unavailable). Commits."""
    att = await get_attachment_for_view(db, user, attachment_id)
    if att.post_id is None:
        raise Conflict(_("This image is not on a post yet."))
    await get_post_for_moderation(db, user, att.post_id)
    before = att.image_check
    if before not in HELD_CHECKS:
        raise Conflict(_("This image is not held."))
    result = await db.execute(
        sa.update(attachments_t)
        .where(attachments_t.c.id == attachment_id, attachments_t.c.image_check == before)
        .values(image_check=ImageCheck.released.value)
    )
    if not getattr(result, "rowcount", 0):
        raise _changed_meanwhile()
    audit.record(
        db,
        user,
        Actions.release,
        "attachment",
        attachment_id,
        before={"image_check": before},
        after={"image_check": ImageCheck.released.value},
    )
    await db.commit()
    await db.refresh(att)
    return att
