"""@CODE mentions in a comment: who is named (active users only), and the names shown for
them. Read by the comment rules and by the notifications they send, so that neither imports
the other."""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from markupsafe import escape
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


# What services/comments.render_with_mentions stores for a mention: a link to the colleague's
# page whose text is the code. The comment is stored with codes (a name can change); the name
# is put in when it is read.
_STORED_LINK = re.compile(
    r'<a href="/users/([A-Za-z0-9][A-Za-z0-9_.-]{0,31})" rel="noopener nofollow">@\1</a>'
)


async def with_names(db: AsyncSession, htmls: Sequence[str]) -> list[str]:
    """Rendered comments with each mention shown as @name (the code as its title): one query
    for all of them, none when no comment mentions anyone."""
    codes = {code for html in htmls for code in _STORED_LINK.findall(html)}
    if not codes:
        return list(htmls)
    rows = await db.execute(sa.select(users.c.code, users.c.name).where(users.c.code.in_(codes)))
    names: dict[str, str] = {code: name for code, name in rows}

    def named(m: re.Match[str]) -> str:
        code = m.group(1)
        if code not in names:
            return m.group(0)
        return (
            f'<a href="/users/{code}" rel="noopener nofollow" class="mention" '
            f'title="{code}">@{escape(names[code])}</a>'
        )

    return [_STORED_LINK.sub(named, html) for html in htmls]
