"""Flags: a user reports a post or a comment; one open flag per user and target. The system
opens one of its own (no reporter) on a post whose author confirmed that what looked like
personal data is none, so that head office still looks at it: one open per post."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.db import upsert
from app.i18n import _
from app.models import Comment, Flag, FlagReason, Post, User
from app.models.tables import flags as flags_t

__all__ = ["AlreadyFlagged", "Flag", "flag", "open_system_flag", "validate"]
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


async def open_system_flag(db: AsyncSession, post_id: int) -> None:
    """In the caller's transaction: a `personal_info` flag of the system's own on the post,
    unless one is open already (the partial unique index uq_flags_open_system makes two
    requests at once write one)."""
    stmt = upsert(db, flags_t).values(
        reporter_id=None,
        post_id=post_id,
        comment_id=None,
        target=f"post:{post_id}",
        reason=FlagReason.personal_info.value,
        note=None,
        created_at=clock.now(),
    )
    await db.execute(
        stmt.on_conflict_do_nothing(
            index_elements=["target"],
            index_where=sa.and_(flags_t.c.reporter_id.is_(None), flags_t.c.resolved_at.is_(None)),
        )
    )
