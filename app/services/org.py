"""The org unit tree (SPEC §2): the one home for walking it, in Python and in SQL.

In Python: the whole tree loaded with one query (`load_tree`), each unit with its parent,
its children in display order (by code) and its depth; ancestors, subtrees, the region of a
unit, roll-ups of per-unit figures, and the tops of a bulletin's audience.

In SQL: subtrees and ancestors as recursive CTEs, and "is this unit in the bulletin's
audience" / "the users in a bulletin's audience" as clauses, to be put *inside* the caller's
statement (the feed and the notifications are hot paths: never an extra round trip). The
`is_…` / `…_ids` functions fetch the same thing on their own.

A bulletin's audience is everyone, or the subtrees of the units chosen for it; a user is in
it when their unit is one of those units or lies below one (SPEC §8).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import UnitKind, User
from app.models.tables import bulletin_audience, bulletins, units, users

VIRTUAL_ID = 0  # the "whole company" unit of a tree built with `company` (never a real id)


# The tree in Python --------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Unit:
    id: int
    code: str
    name: str
    kind: str
    active: bool
    parent: Unit | None = None
    children: list[Unit] = field(default_factory=list)  # by code
    depth: int = 0  # 0 at the top of the tree

    @property
    def virtual(self) -> bool:
        return self.id == VIRTUAL_ID

    @property
    def parent_code(self) -> str | None:
        return self.parent.code if self.parent is not None and not self.parent.virtual else None

    def walk(self) -> Iterator[Unit]:
        """This unit and everything below it, parents before children (pre-order)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def ancestors(self) -> list[Unit]:
        """From the top of the tree down to the parent of this unit."""
        out = []
        node = self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out[::-1]

    def region(self) -> Unit | None:
        """The region this unit is in: itself or the nearest unit above it of kind region."""
        node: Unit | None = self
        while node is not None and node.kind != UnitKind.region:
            node = node.parent
        return node


class Tree:
    """Every unit, active or not (old posts keep counting), from rows of org_units.

    With `company` (a name), a tree whose units do not have exactly one top gets a virtual
    top (id 0, kind "company") holding the top-level units, so that one line covers every
    unit; it is in `roots` but not in `by_id` / `by_code`.
    """

    def __init__(self, rows: Iterable[Any], *, company: str | None = None) -> None:
        self.by_id: dict[int, Unit] = {}
        parents: dict[int, int | None] = {}
        for r in rows:
            self.by_id[r.id] = Unit(r.id, r.code, r.name, r.kind, bool(r.active))
            parents[r.id] = r.parent_id
        tops: list[Unit] = []
        for uid, node in self.by_id.items():
            parent_id = parents[uid]
            parent = self.by_id.get(parent_id) if parent_id is not None else None
            if parent is None:
                tops.append(node)
            else:
                node.parent = parent
                parent.children.append(node)
        for node in self.by_id.values():
            node.children.sort(key=lambda n: n.code)
        tops.sort(key=lambda n: n.code)
        if company is not None and len(tops) != 1:
            virtual = Unit(VIRTUAL_ID, "", company, "company", True, None, tops)
            for top in tops:
                top.parent = virtual
            tops = [virtual]
        self.roots = tops
        self.by_code = {n.code: n for n in self.by_id.values()}
        self.nodes = [n for top in tops for n in top.walk()]  # pre-order, in display order
        for node in self.nodes:
            node.depth = node.parent.depth + 1 if node.parent is not None else 0

    @property
    def root(self) -> Unit:
        """The one top of a tree built with `company`."""
        return self.roots[0]

    def rollup(self, own: dict[int, list[int]], width: int) -> dict[int, list[int]]:
        """Subtree sums: each unit's own figures plus those of everything below it."""
        sums: dict[int, list[int]] = {}
        for node in reversed(self.nodes):  # children before parents
            total = list(own.get(node.id) or [0] * width)
            for child in node.children:
                for i, n in enumerate(sums[child.id]):
                    total[i] += n
            sums[node.id] = total
        return sums

    def tops_of(self, chosen: Iterable[int]) -> list[Unit]:
        """The tops of the subtrees of the chosen units, by code: a unit below another
        chosen one drops out."""
        picked = set(chosen)
        return [
            node
            for node in sorted((self.by_id[i] for i in picked), key=lambda n: n.code)
            if not any(a.id in picked for a in node.ancestors())
        ]


async def load_tree(db: AsyncSession, *, company: str | None = None) -> Tree:
    """The whole tree, with one query."""
    rows = await db.execute(
        sa.select(
            units.c.id, units.c.code, units.c.name, units.c.kind, units.c.parent_id, units.c.active
        )
    )
    return Tree(rows.all(), company=company)


# Subtrees and ancestors in SQL ---------------------------------------------------------------


def subtree(top: ColumnElement[bool], name: str = "subtree") -> sa.Select[Any]:
    """Ids of the units that `top` (a condition on org_units) picks and of every unit below
    them: a recursive CTE to use inside a query, e.g.
    `posts.c.unit_id.in_(subtree(units.c.code == code))`."""
    tree = sa.select(units.c.id).where(top).cte(name, recursive=True)
    tree = tree.union_all(sa.select(units.c.id).where(units.c.parent_id == tree.c.id))
    return sa.select(tree.c.id)


async def subtree_ids(db: AsyncSession, unit_id: int) -> list[int]:
    """The unit and all its descendants."""
    return list((await db.execute(subtree(units.c.id == unit_id))).scalars())


def ancestors(unit_id: int | sa.BindParameter[int], name: str = "unit_ancestors") -> sa.Select[Any]:
    """Ids of a unit and every unit above it (a recursive CTE walking up the tree; `name`
    tells two of them in one statement apart)."""
    up = (
        sa.select(units.c.id, units.c.parent_id)
        .where(units.c.id == unit_id)
        .cte(name, recursive=True)
    )
    up = up.union_all(sa.select(units.c.id, units.c.parent_id).where(units.c.id == up.c.parent_id))
    return sa.select(up.c.id)


# Bulletin audiences --------------------------------------------------------------------------


def in_audience(
    unit_id: int | sa.BindParameter[int], name: str = "unit_ancestors"
) -> ColumnElement[bool]:
    """A clause on `bulletins`: the bulletin is for everyone, or for a subtree that holds
    this unit."""
    return sa.or_(
        bulletins.c.audience_all.is_(True),
        sa.exists().where(
            bulletin_audience.c.bulletin_id == bulletins.c.id,
            bulletin_audience.c.unit_id.in_(ancestors(unit_id, name)),
        ),
    )


async def is_in_audience(db: AsyncSession, user: User, bulletin_id: int) -> bool:
    """Whether the user's unit is in the bulletin's audience (whatever its status)."""
    found = await db.execute(
        sa.select(bulletins.c.id).where(bulletins.c.id == bulletin_id, in_audience(user.unit_id))
    )
    return found.first() is not None


def audience_users(bulletin_id: int, audience_all: bool) -> sa.Select[Any]:
    """Ids of the active users in the bulletin's audience: everyone, or the users of the
    chosen units' subtrees (a recursive CTE, to use inside a query)."""
    stmt = sa.select(users.c.id).where(users.c.active.is_(True))
    if audience_all:
        return stmt
    chosen = sa.select(bulletin_audience.c.unit_id).where(
        bulletin_audience.c.bulletin_id == bulletin_id
    )
    return stmt.where(users.c.unit_id.in_(subtree(units.c.id.in_(chosen), "audience_tree")))


async def audience_user_ids(db: AsyncSession, bulletin_id: int, audience_all: bool) -> list[int]:
    """The active users in the bulletin's audience, by id."""
    stmt = audience_users(bulletin_id, audience_all).order_by(users.c.id)
    return list((await db.execute(stmt)).scalars())


async def audience_tops(
    db: AsyncSession, tree: Tree, bulletin_id: int, audience_all: bool
) -> list[Unit]:
    """The tops of the audience's subtrees, by code: the tops of the tree for everyone."""
    return (await audiences_tops(db, tree, [(bulletin_id, audience_all)]))[bulletin_id]


async def audiences_tops(
    db: AsyncSession, tree: Tree, audiences: Iterable[tuple[int, bool]]
) -> dict[int, list[Unit]]:
    """`audience_tops` of several bulletins (id, audience_all) in one statement at most."""
    audiences = list(audiences)
    chosen: dict[int, list[int]] = {bulletin_id: [] for bulletin_id, _ in audiences}
    some = [bulletin_id for bulletin_id, everyone in audiences if not everyone]
    if some:
        for bulletin_id, unit_id in await db.execute(
            sa.select(bulletin_audience.c.bulletin_id, bulletin_audience.c.unit_id).where(
                bulletin_audience.c.bulletin_id.in_(some)
            )
        ):
            chosen[bulletin_id].append(unit_id)
    return {
        bulletin_id: list(tree.roots) if everyone else tree.tops_of(chosen[bulletin_id])
        for bulletin_id, everyone in audiences
    }
