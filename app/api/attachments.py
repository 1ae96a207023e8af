"""Attachments of a post: upload (multipart, one file in `file`) and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from app.api.schemas import AttachmentUploaded
from app.deps import CurrentUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.models import Attachment, ImageCheck
from app.permissions import get_post_for_edit
from app.services import attachments as attachment_service
from app.services.uploads import FILE_BODY_OPENAPI, read_multipart
from app.storage import StorageDep

router = APIRouter(tags=["attachments"])


def _public(request: Request, att: Attachment) -> AttachmentUploaded:
    """The upload's answer; its urls are those of the page routes that serve the file."""
    assert att.id is not None
    return AttachmentUploaded(
        id=att.id,
        filename=att.filename,
        content_type=att.content_type,
        size=att.size,
        width=att.width,
        height=att.height,
        image_check=ImageCheck(att.image_check) if att.image_check else None,
        url=str(request.app.url_path_for("attachment_file", attachment_id=str(att.id))),
        thumbnail_url=(
            str(request.app.url_path_for("attachment_thumbnail", attachment_id=str(att.id)))
            if att.thumbnail_key
            else None
        ),
    )


@router.post(
    "/posts/{post_id}/attachments",
    name="upload_attachment",
    status_code=201,
    openapi_extra=FILE_BODY_OPENAPI,
    responses={
        413: {"description": "The file is too large"},
        415: {"description": "The file type is not supported"},
        409: {"description": "The post has the most attachments it may have"},
    },
)
async def upload_attachment(
    post_id: PathId, request: Request, db: SessionDep, user: CurrentUser, storage: StorageDep
) -> AttachmentUploaded:
    # Check the right to edit (and the room left) before reading a byte of the body, then
    # end the read transaction so that no connection is held while a slow client sends.
    post = await get_post_for_edit(db, user, post_id)
    await attachment_service.ensure_room(db, post_id)
    await db.commit()
    form = await read_multipart(request, max_file_bytes=attachment_service.UPLOAD_MAX, max_files=1)
    try:
        upload = form.file("file")
        if upload is None:
            raise RequestValidationError(
                [
                    {
                        "type": "missing",
                        "loc": ("body", "file"),
                        "msg": _("Choose a file to attach."),
                        "input": None,
                    }
                ]
            )
        attachment = await attachment_service.add_attachment(
            db, storage, post=post, uploader=user, upload=upload
        )
    finally:
        await form.aclose()
    return _public(request, attachment)


@router.delete("/attachments/{attachment_id}", name="delete_attachment", status_code=204)
async def delete_attachment(
    attachment_id: PathId, db: SessionDep, user: CurrentUser, storage: StorageDep
) -> Response:
    await attachment_service.delete_attachment(db, storage, user=user, attachment_id=attachment_id)
    return Response(status_code=204)
