"""A post's files on the post form (create and edit): the checks of services/attachments.py
said by the form's `files` field, and an edit's removals and additions, checked first.

The limits and checks themselves live in services/attachments.py (check_file, the room a
post has); this module only asks them before anything is written, so that a refused file
changes nothing, and then calls the same add_attachment and delete_attachment the API does.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import Post, User
from app.services import attachments
from app.services.errors import InvalidInput
from app.services.uploads import UploadedFile
from app.storage import Storage

FIELD = "files"  # the form's file input (and the field its errors are said by)
REMOVE_FIELD = "remove_attachment"  # the edit form's ticked "remove" boxes (attachment ids)


def _refusal(check: attachments.FileCheck, filename: str) -> str | None:
    if check.refused == "type":
        message = _(
            "%(name)s: only JPEG, PNG, WebP images and PDF, Excel, Word, "
            "PowerPoint files can be attached."
        )
    elif check.refused == "size":
        message = _("%(name)s is too large.")
    elif check.refused == "pixels":
        # Checked here, from the header, so that the post is not saved without its image.
        message = _("%(name)s has too many pixels to process. Make it smaller and try again.")
    else:
        return None
    return message % {"name": filename}


async def check_uploads(uploads: Sequence[UploadedFile]) -> None:
    """Refuse a file before anything is written, by the one check the API's upload makes
    (attachments.check_file), said by the field and naming the file. Too many files in one
    form: the form reader refuses the file past ATTACHMENTS_PER_POST (413), as for the API."""
    for upload in uploads:
        check = await anyio.to_thread.run_sync(attachments.check_file, upload.path, upload.size)
        if message := _refusal(check, upload.filename):
            raise InvalidInput.field(FIELD, message)


def _removal_ids(raw: Sequence[str], own: set[int]) -> list[int]:
    ids: list[int] = []
    for value in raw:
        try:
            found = int(value)
        except ValueError:
            found = -1
        if found not in own:
            raise InvalidInput.field(FIELD, _("This attachment is not on this post any more."))
        ids.append(found)
    return list(dict.fromkeys(ids))


async def check_edit(
    current: Sequence[int], uploads: Sequence[UploadedFile], remove: Sequence[str]
) -> list[int]:
    """Everything an edit's files must pass, before anything is written: each new file (type,
    size, pixels), the ids to remove (this post's), and the room: what stays plus what comes
    may be at most ATTACHMENTS_PER_POST. Answers the ids to remove."""
    removing = _removal_ids(remove, set(current))
    await check_uploads(uploads)
    room = attachments.ATTACHMENTS_PER_POST - (len(current) - len(removing))
    if len(uploads) > room:
        raise InvalidInput.field(
            FIELD,
            _(
                "A post can have at most %(max)s attachments: this one keeps %(kept)s, so add "
                "at most %(room)s (or remove some first)."
            )
            % {
                "max": attachments.ATTACHMENTS_PER_POST,
                "kept": len(current) - len(removing),
                "room": max(room, 0),
            },
        )
    return removing


async def add_files(
    db: AsyncSession,
    storage: Storage,
    *,
    post: Post,
    user: User,
    uploads: Sequence[UploadedFile],
) -> None:
    for upload in uploads:
        await attachments.add_attachment(db, storage, post=post, uploader=user, upload=upload)


async def apply_edit(
    db: AsyncSession,
    storage: Storage,
    *,
    post: Post,
    user: User,
    uploads: Sequence[UploadedFile],
    removing: Sequence[int],
) -> None:
    """Remove first (so that the room check of each addition counts what stays), then add."""
    for attachment_id in removing:
        await attachments.delete_attachment(db, storage, user=user, attachment_id=attachment_id)
    await add_files(db, storage, post=post, user=user, uploads=uploads)
