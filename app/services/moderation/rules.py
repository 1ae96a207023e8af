"""Moderation's shared ground: the audit action names, the reason and note rules, the target
names ("post:12"), and the conditional writes every action is built from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.i18n import _
from app.inputs import parse_id
from app.models import Comment, Post, PostStatus, User
from app.models.tables import flags as flags_t
from app.models.tables import posts
from app.services.errors import InvalidInput
from app.services.inputs import FEATURE_NOTE_MAX as FEATURE_NOTE_MAX
from app.services.inputs import REASON_MAX as REASON_MAX
from app.services.inputs import clean_text

PUBLISHED = PostStatus.published
HIDDEN = PostStatus.hidden


class Actions:
    """The audit log's action names for moderation and curation."""

    hide_post = "post.hide"
    restore_post = "post.restore"
    redact_post = "post.redact"
    feature_post = "post.feature"
    unfeature_post = "post.unfeature"
    hide_comment = "comment.hide"
    restore_comment = "comment.restore"
    redact_comment = "comment.redact"
    dismiss_flags = "flags.dismiss"


# -- input ---------------------------------------------------------------------------------


def clean_reason(reason: str | None, *, required: bool = True) -> str | None:
    text = clean_text(reason)
    if not text:
        if required:
            raise InvalidInput.field("reason", _("Enter the reason."))
        return None
    if len(text) > REASON_MAX:
        raise InvalidInput.field(
            "reason", _("The reason can be at most %(n)s characters.") % {"n": REASON_MAX}
        )
    return text


def clean_note(note: str | None) -> str | None:
    text = clean_text(note)
    if len(text) > FEATURE_NOTE_MAX:
        raise InvalidInput.field(
            "note", _("The note can be at most %(n)s characters.") % {"n": FEATURE_NOTE_MAX}
        )
    return text or None


def parse_target(target: str | None) -> tuple[str, int] | None:
    """ "post:12" -> ("post", 12); anything else -> None."""
    kind, _sep, raw = (target or "").partition(":")
    target_id = parse_id(raw)
    if kind not in ("post", "comment") or target_id is None:
        return None
    return kind, target_id


async def resolve_flags(db: AsyncSession, curator: User, target: str, resolution: str) -> int:
    """Close the target's open flags with `resolution`; how many were open."""
    result = await db.execute(
        sa.update(flags_t)
        .where(flags_t.c.target == target, flags_t.c.resolved_at.is_(None))
        .values(resolved_at=clock.now(), resolved_by_id=curator.id, resolution=resolution)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def update_post(db: AsyncSession, post: Post, where: Any, values: dict[str, Any]) -> bool:
    """The conditional UPDATE of one post: True if `where` still held and the row changed."""
    result = await db.execute(sa.update(posts).where(posts.c.id == post.id, where).values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def finish(db: AsyncSession, row: Post | Comment) -> None:
    """Commit the action and its audit row together, and reload the row for the caller."""
    await db.commit()
    await db.refresh(row)
