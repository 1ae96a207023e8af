"""@CODE mentions in a comment: who is named (active users only). Read by the comment
rules and by the notifications they send, so that neither imports the other."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.tables import users

MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_.-]{0,31})")


async def mentioned_users(db: AsyncSession, text: str) -> list[tuple[int, str]]:
    codes = list(dict.fromkeys(MENTION_RE.findall(text)))[:20]
    if not codes:
        return []
    rows = await db.execute(
        sa.select(users.c.id, users.c.code).where(users.c.code.in_(codes), users.c.active.is_(True))
    )
    return [(r.id, r.code) for r in rows]
