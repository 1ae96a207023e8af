"""Engagement (SPEC §6, curators): posts, likes, reactions (スタンプ), comments, active posters
and active users per unit for one month, in the same rows as the praise matrix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.i18n import _
from app.models import PostStatus, User
from app.models.tables import comments, likes, posts, reactions, users
from app.services import scope
from app.services.errors import NotFound
from app.services.kpi.rollup import MAX_DEPTH, load_tree, next_month, percent, row_specs, unit_at
from app.services.org import Tree, Unit


@dataclass(slots=True)
class EngagementRow:
    code: str
    name: str
    direct: bool
    path: list[str]
    posts: int
    likes: int
    reactions: int
    comments: int
    posters: int
    heads: int

    def per_head(self, value: int) -> Decimal | None:
        if not self.heads:
            return None
        return (Decimal(value) / Decimal(self.heads)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    @property
    def posters_rate(self) -> Decimal | None:
        return percent(self.posters, self.heads) if self.heads else None


@dataclass(slots=True)
class Engagement:
    month: date
    base: Unit
    rows: list[EngagementRow]
    total: EngagementRow


def _utc_bounds(month: date) -> tuple[datetime, datetime]:
    zone = i18n.zone()
    return (
        datetime.combine(month, time(), zone),
        datetime.combine(next_month(month), time(), zone),
    )


async def engagement(
    db: AsyncSession,
    month: date,
    viewer: User,
    *,
    unit: str | None = None,
    depth: int = 1,
    tree: Tree | None = None,
) -> Engagement:
    """Posts (both kinds, published, by the post's unit), likes and reactions given and
    comments written (by the member's unit), active posters and active users, for one month
    (Asia/Tokyo). From the unit asked for, or the top of the viewer's scope (services/scope):
    a unit outside it is a 404."""
    tree = tree or await load_tree(db)
    top = scope.tree_top(tree, viewer)
    base = unit_at(tree, unit) if unit or top is None else top
    if not scope.in_tree(tree, viewer, base):
        raise NotFound(_("No such unit."))
    depth = max(1, min(depth, MAX_DEPTH))
    start, end = _utc_bounds(month)
    own_posts: dict[int, int] = {}
    own_posters: dict[int, set[int]] = {}
    rows = await db.execute(
        sa.select(posts.c.unit_id, posts.c.author_id, sa.func.count())
        .where(
            posts.c.status == PostStatus.published,
            posts.c.created_at >= start,
            posts.c.created_at < end,
        )
        .group_by(posts.c.unit_id, posts.c.author_id)
    )
    for unit_id, author_id, n in rows:
        own_posts[unit_id] = own_posts.get(unit_id, 0) + int(n)
        own_posters.setdefault(unit_id, set()).add(author_id)

    async def by_member_unit(stmt: sa.Select[Any]) -> dict[int, int]:
        return {uid: int(n) for uid, n in await db.execute(stmt)}

    own_likes = await by_member_unit(
        sa.select(users.c.unit_id, sa.func.count())
        .select_from(likes.join(users, users.c.id == likes.c.user_id))
        .where(likes.c.created_at >= start, likes.c.created_at < end)
        .group_by(users.c.unit_id)
    )
    own_reactions = await by_member_unit(
        sa.select(users.c.unit_id, sa.func.count())
        .select_from(reactions.join(users, users.c.id == reactions.c.user_id))
        .where(reactions.c.created_at >= start, reactions.c.created_at < end)
        .group_by(users.c.unit_id)
    )
    own_comments = await by_member_unit(
        sa.select(users.c.unit_id, sa.func.count())
        .select_from(comments.join(users, users.c.id == comments.c.author_id))
        .where(
            comments.c.created_at >= start,
            comments.c.created_at < end,
            comments.c.status == "published",
        )
        .group_by(users.c.unit_id)
    )
    own_heads = await by_member_unit(
        sa.select(users.c.unit_id, sa.func.count())
        .where(users.c.active.is_(True))
        .group_by(users.c.unit_id)
    )

    def line(node: Unit, direct: bool, path: list[Unit]) -> EngagementRow:
        nodes = [node] if direct else list(node.walk())
        who: set[int] = set()
        for n in nodes:
            who |= own_posters.get(n.id, set())

        def total(own: dict[int, int]) -> int:
            return sum(own.get(n.id, 0) for n in nodes)

        return EngagementRow(
            code=node.code,
            name=node.name,
            direct=direct,
            path=[x.name for x in path],
            posts=total(own_posts),
            likes=total(own_likes),
            reactions=total(own_reactions),
            comments=total(own_comments),
            posters=len(who),
            heads=total(own_heads),
        )

    out = []
    for spec in row_specs(base, depth):
        row = line(spec.node, spec.direct, spec.path)
        empty = not (row.posts or row.likes or row.reactions or row.comments or row.heads)
        if empty and (spec.direct or not spec.node.active):
            continue
        out.append(row)
    return Engagement(month, base, out, line(base, False, []))
