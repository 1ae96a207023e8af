"""A curator's scope (issue 17 §1, docs/compliance.md "Curators with a scope"): the one
place that says which units a curator oversees.

A curator may have a scope, a unit (`users.scope_unit_id`): they oversee that unit's subtree
and nothing else — the moderation queue, flags, hidden posts, complaints, engagement,
bulletin read rates and audit entries of those units. A curator without a scope (head
office) and an administrator oversee everything. Staff oversee nothing, but they never
reach a curator's page (app/deps.py), so for them the question is never asked.

- `overseen_unit_ids(db, user)` — the unit ids the caller may oversee, or None for all:
  the question every caller asks first (and the one later features call).
- `overseen(user, column)` — the same as a clause to put inside a caller's statement
  (`column` holds a unit id): no extra round trip, TRUE for an unscoped caller.
- `oversees(db, user, unit_id)` / `ensure_oversees(...)` — one unit; something outside the
  scope is a 404, exactly as if it did not exist (its existence is not revealed).
- `oversees_post(db, user, post_id)` — a post is overseen when the unit it was written for
  is (a comment and a report go with their post).
- `tree_top(tree, user)` / `in_tree(tree, user, node)` / `clip(tree, user, tops)` — the same
  on a loaded tree (reports start from a unit of the tree: for a scoped curator, the top of
  the scope; a bulletin's read rates cover the part of its audience inside the scope).
- `bulletin_within(user)` — a clause on `bulletins`: its audience lies inside the scope (the
  bulletins a scoped curator drafts, sends and manages); `bulletin_touches(user)` — it reaches
  some unit of the scope (those whose read rates they may see, for their units).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Role, User
from app.models.tables import bulletin_audience, bulletins, posts, units
from app.services import org
from app.services.errors import NotFound


def scope_top(user: User) -> int | None:
    """The unit at the top of the caller's scope; None when they oversee everything."""
    if user.role != Role.curator:
        return None
    return user.scope_unit_id


def is_scoped(user: User) -> bool:
    return scope_top(user) is not None


Within = Callable[[sa.ColumnElement[Any]], ColumnElement[bool]]


def overseer(user: User) -> Within:
    """`overseen` for several columns of one statement: they share one subtree CTE."""
    top = scope_top(user)
    if top is None:
        return lambda _column: sa.true()
    ids = org.subtree(units.c.id == top, "scope_tree")
    return lambda column: column.in_(ids)


def overseen(user: User, column: sa.ColumnElement[Any]) -> ColumnElement[bool]:
    """A clause: the unit in `column` lies in the caller's scope (always true unscoped)."""
    return overseer(user)(column)


async def overseen_unit_ids(db: AsyncSession, user: User) -> frozenset[int] | None:
    """The unit ids this caller may oversee, or None for all (no scope, or not a curator)."""
    top = scope_top(user)
    if top is None:
        return None
    return frozenset(await org.subtree_ids(db, top))


def covers(scope: frozenset[int] | None, unit_ids: Iterable[int]) -> bool:
    """Whether every one of these units lies in the scope (`overseen_unit_ids`)."""
    return scope is None or all(u in scope for u in unit_ids)


async def oversees(db: AsyncSession, user: User, unit_id: int) -> bool:
    return covers(await overseen_unit_ids(db, user), (unit_id,))


async def ensure_oversees(db: AsyncSession, user: User, unit_id: int, missing: NotFound) -> None:
    """Raise `missing` (the 404 the caller gives for something that does not exist) unless
    the unit lies in the caller's scope."""
    if not await oversees(db, user, unit_id):
        raise missing


async def oversees_post(db: AsyncSession, user: User, post_id: int) -> bool:
    """Whether the post's unit lies in the caller's scope (no query when unscoped)."""
    return post_id in await overseen_posts(db, user, {post_id})


async def overseen_posts(db: AsyncSession, user: User, post_ids: Iterable[int]) -> set[int]:
    """Those of these posts whose unit lies in the caller's scope: one query, none when
    unscoped (all of them)."""
    post_ids = set(post_ids)
    if not is_scoped(user) or not post_ids:
        return post_ids
    found = await db.execute(
        sa.select(posts.c.id).where(posts.c.id.in_(post_ids), overseen(user, posts.c.unit_id))
    )
    return set(found.scalars())


def tree_top(tree: org.Tree, user: User) -> org.Unit | None:
    """The node at the top of the caller's scope in a loaded tree; None when unscoped."""
    top = scope_top(user)
    return tree.by_id.get(top) if top is not None else None


def in_tree(tree: org.Tree, user: User, node: org.Unit) -> bool:
    """Whether a node of a loaded tree lies in the caller's scope."""
    top = tree_top(tree, user)
    return top is None or node is top or top in node.ancestors()


def clip(tree: org.Tree, user: User, tops: Iterable[org.Unit]) -> list[org.Unit]:
    """The part of these subtrees (tops, as org.audience_tops gives them) inside the
    caller's scope: a top above the scope becomes the scope's top, one outside drops out."""
    top = tree_top(tree, user)
    if top is None:
        return list(tops)
    chosen = list(tops)
    if any(t is top or t in top.ancestors() or t.virtual for t in chosen):
        return [top]
    return [t for t in chosen if in_tree(tree, user, t)]


def bulletin_within(user: User, within: Within | None = None) -> ColumnElement[bool]:
    """A clause on `bulletins`: its audience lies inside the caller's scope (not everyone,
    and every chosen unit in the scope). Always true unscoped."""
    if not is_scoped(user):
        return sa.true()
    within = within or overseer(user)
    chosen = sa.and_(bulletin_audience.c.bulletin_id == bulletins.c.id)
    return sa.and_(
        bulletins.c.audience_all.is_(False),
        sa.exists().where(chosen),
        ~sa.exists().where(chosen, ~within(bulletin_audience.c.unit_id)),
    )


def bulletin_touches(user: User, within: Within | None = None) -> ColumnElement[bool]:
    """A clause on `bulletins`: its audience reaches a unit of the caller's scope (everyone,
    a unit at or above the scope's top, or a unit inside it). Always true unscoped."""
    top = scope_top(user)
    if top is None:
        return sa.true()
    within = within or overseer(user)
    return sa.or_(
        org.in_audience(top, "scope_ancestors"),
        sa.exists().where(
            bulletin_audience.c.bulletin_id == bulletins.c.id,
            within(bulletin_audience.c.unit_id),
        ),
    )


async def audience_within(db: AsyncSession, user: User, unit_ids: list[int] | None) -> bool:
    """Whether a bulletin for these units (None: everyone) lies inside the caller's scope."""
    scope = await overseen_unit_ids(db, user)
    if scope is None:
        return True
    return unit_ids is not None and covers(scope, unit_ids)


async def top_code(db: AsyncSession, user: User) -> str | None:
    """The code of the unit at the top of the caller's scope; None when unscoped."""
    top = scope_top(user)
    if top is None:
        return None
    code = (await db.execute(sa.select(units.c.code).where(units.c.id == top))).scalar_one()
    return str(code)
