"""The check's state for the administration page: is Tesseract there (with its Japanese
data), and how many images wait — for the check, or for a person."""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import ImageCheck, PostStatus, User
from app.models.tables import attachments, posts, users
from app.services import scope
from app.services.ocr import reader


@dataclass(frozen=True)
class CheckStatus:
    available: bool
    version: str
    problem: str
    pending: int  # waiting for the check
    found: int  # personal data found: waiting for the author's mask or a curator
    unchecked: int  # the check was unavailable: waiting for a curator


async def overview(db: AsyncSession, tesseract_cmd: str) -> CheckStatus:
    found = await anyio.to_thread.run_sync(reader.availability, tesseract_cmd)
    rows = await db.execute(
        sa.select(attachments.c.image_check, sa.func.count())
        .where(
            attachments.c.image_check.in_(
                [ImageCheck.pending.value, ImageCheck.found.value, ImageCheck.unchecked.value]
            )
        )
        .group_by(attachments.c.image_check)
    )
    counts = {str(check): int(n) for check, n in rows}
    return CheckStatus(
        found.ok,
        found.version,
        found.problem,
        counts.get(ImageCheck.pending, 0),
        counts.get(ImageCheck.found, 0),
        counts.get(ImageCheck.unchecked, 0),
    )


@dataclass(frozen=True)
class HeldImage:
    attachment_id: int
    filename: str
    image_check: str  # found | unchecked
    post_id: int
    post_title: str
    author_name: str


HELD_LIST_MAX = 50


async def waiting_for_people(db: AsyncSession, viewer: User) -> list[HeldImage]:
    """The images a person must act on (personal data found, or not checked), on posts that
    curators can act on, oldest first: for the moderation page (of the viewer's scope)."""
    rows = await db.execute(
        sa.select(
            attachments.c.id,
            attachments.c.filename,
            attachments.c.image_check,
            posts.c.id,
            posts.c.title,
            users.c.name,
        )
        .join(posts, posts.c.id == attachments.c.post_id)
        .join(users, users.c.id == posts.c.author_id)
        .where(
            attachments.c.image_check.in_([ImageCheck.found.value, ImageCheck.unchecked.value]),
            posts.c.status.in_([PostStatus.published.value, PostStatus.hidden.value]),
            scope.overseen(viewer, posts.c.unit_id),
        )
        .order_by(attachments.c.id)
        .limit(HELD_LIST_MAX)
    )
    return [HeldImage(*row) for row in rows]
