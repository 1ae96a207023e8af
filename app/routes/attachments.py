"""Attachment files and thumbnails, served only to those who may see the post."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.deps import CuratorUser, CurrentUser, SessionDep
from app.downloads import Disposition, content_disposition
from app.inputs import PathId
from app.models import Attachment
from app.services.attachments import FILE_TYPES, IMAGE, attachment_not_found
from app.services.attachments import get_attachment_for_view as _for_view
from app.services.ocr import review
from app.storage import StorageDep
from app.templating import is_htmx

router = APIRouter(include_in_schema=False)

THUMBNAIL_TYPES = {"jpg": "image/jpeg", "webp": "image/webp"}
# The file itself may never run anything, even when opened directly in a tab.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


async def _serve(path: Path, media_type: str, disposition: Disposition, filename: str) -> Response:
    if not await anyio.to_thread.run_sync(path.is_file):
        raise attachment_not_found()
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename, disposition),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": FILE_CSP,
        },
    )


def _is_image(att: Attachment) -> bool:
    file_type = FILE_TYPES.get(att.content_type)
    return file_type is not None and file_type.kind == IMAGE


@router.get("/attachments/{attachment_id}/file", name="attachment_file")
async def attachment_file(
    attachment_id: PathId, db: SessionDep, user: CurrentUser, storage: StorageDep
) -> Response:
    att = await _for_view(db, user, attachment_id)
    # Images were re-encoded by us and may show in the browser; documents always download.
    disposition: Disposition = "inline" if _is_image(att) else "attachment"
    return await _serve(storage.path(att.storage_key), att.content_type, disposition, att.filename)


@router.get("/attachments/{attachment_id}/thumbnail", name="attachment_thumbnail")
async def attachment_thumbnail(
    attachment_id: PathId, db: SessionDep, user: CurrentUser, storage: StorageDep
) -> Response:
    att = await _for_view(db, user, attachment_id)
    if not att.thumbnail_key:
        raise attachment_not_found()
    ext = att.thumbnail_key.rsplit(".", 1)[-1]
    stem = att.filename.rsplit(".", 1)[0]
    return await _serve(
        storage.path(att.thumbnail_key),
        THUMBNAIL_TYPES.get(ext, "application/octet-stream"),
        "inline",
        f"{stem}.thumb.{ext}",
    )


def _back_to_post(request: Request, att: Attachment) -> Response:
    """The post's page, at the image (an HTMX request is sent there too)."""
    url = request.app.url_path_for("show_post", post_id=str(att.post_id))
    target = f"{url}#attachment-{att.id}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/attachments/{attachment_id}/mask", name="mask_attachment")
async def mask_attachment(
    request: Request,
    attachment_id: PathId,
    db: SessionDep,
    user: CurrentUser,
    storage: StorageDep,
) -> Response:
    """The post's author blacks out what the personal-data check of the image found."""
    att = await review.mask_attachment(db, storage, user=user, attachment_id=attachment_id)
    return _back_to_post(request, att)


@router.post("/attachments/{attachment_id}/release", name="release_attachment")
async def release_attachment(
    request: Request, attachment_id: PathId, db: SessionDep, user: CuratorUser
) -> Response:
    """A curator lets a held image be shown to everyone who sees the post."""
    att = await review.release_attachment(db, user=user, attachment_id=attachment_id)
    return _back_to_post(request, att)
