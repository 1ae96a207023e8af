"""Flags: a user reports a post or a comment; one open flag per user and target."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import Comment, Flag, FlagReason, Post, User

__all__ = ["AlreadyFlagged", "Flag", "flag", "validate"]
from app.services.errors import Conflict, InvalidInput
from app.services.inputs import NOTE_MAX as NOTE_MAX


class AlreadyFlagged(Conflict):
    """The caller already has an open flag on this target (409)."""

    def __init__(self) -> None:
        super().__init__(_("You have already reported this. Head office will look at it."))


def validate(reason: str | None, note: str | None) -> tuple[str, str | None]:
    if reason not in {r.value for r in FlagReason}:
        raise InvalidInput.field("reason", _("Choose a reason."))
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise InvalidInput.field(
            "note", _("The note can be at most %(n)s characters.") % {"n": NOTE_MAX}
        )
    return reason, text or None


async def flag(
    db: AsyncSession,
    reporter: User,
    post: Post,
    comment: Comment | None,
    reason: str | None,
    note: str | None,
) -> Flag:
    reason_ok, note_ok = validate(reason, note)
    assert reporter.id is not None and post.id is not None
    target = f"comment:{comment.id}" if comment is not None else f"post:{post.id}"
    open_flag = await db.execute(
        sa.select(Flag.id).where(  # type: ignore[call-overload]
            Flag.reporter_id == reporter.id,
            Flag.target == target,
            Flag.resolved_at.is_(None),  # type: ignore[union-attr]
        )
    )
    if open_flag.first() is not None:
        raise AlreadyFlagged()
    row = Flag(
        reporter_id=reporter.id,
        post_id=post.id,
        comment_id=comment.id if comment else None,
        target=target,
        reason=reason_ok,
        note=note_ok,
    )
    db.add(row)
    try:
        await db.commit()
    except IntegrityError as exc:  # a parallel request won the race: same answer
        await db.rollback()
        raise AlreadyFlagged() from exc
    await db.refresh(row)
    return row
