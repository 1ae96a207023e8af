"""Dismissing the open flags (reports) on a target that needs no action."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import User
from app.models.tables import comments, posts
from app.services import audit, scope
from app.services.errors import Conflict
from app.services.moderation.rules import Actions, clean_reason, parse_target, resolve_flags


async def target_exists(db: AsyncSession, target: str, viewer: User) -> bool:
    """Whether the post or comment exists and lies in the viewer's scope (services/scope)."""
    parsed = parse_target(target)
    if parsed is None:
        return False
    if parsed[0] == "post":
        stmt = sa.select(posts.c.id).where(posts.c.id == parsed[1])
    else:
        stmt = (
            sa.select(comments.c.id)
            .join(posts, posts.c.id == comments.c.post_id)
            .where(comments.c.id == parsed[1])
        )
    found = await db.execute(stmt.where(scope.overseen(viewer, posts.c.unit_id)))
    return found.first() is not None


async def dismiss_flags(
    db: AsyncSession, curator: User, target: str, reason: str | None = None
) -> int:
    """Close every open flag on a target as "dismissed" (nothing to act on). Returns how many."""
    parsed = parse_target(target)
    assert parsed is not None, "check the target with target_exists first"
    why = clean_reason(reason, required=False)
    count = await resolve_flags(db, curator, target, "dismissed")
    if count == 0:
        raise Conflict(_("There are no open reports on this."))
    audit.record(
        db,
        curator,
        Actions.dismiss_flags,
        parsed[0],
        parsed[1],
        reason=why,
        after={"flags_dismissed": count},
    )
    await db.commit()
    return count
