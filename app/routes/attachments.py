"""Attachment files and thumbnails, served only to those who may see the post."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from app.deps import CurrentUser, SessionDep
from app.downloads import Disposition, content_disposition
from app.inputs import PathId
from app.models import Attachment
from app.services.attachments import FILE_TYPES, IMAGE, attachment_not_found
from app.services.attachments import get_attachment_for_view as _for_view
from app.storage import StorageDep

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
