"""What every KPI figure is built from: the number and month rules, the unit tree (loaded once
per data version), the live counts read from the maintained roll-up `kpi_praise_monthly`, and
the frozen snapshots of closed months.

One grouped query reads the live counts (GROUP BY unit, month: an index-only scan of
ix_posts_kpi_unit); the unit tree is loaded once and the roll-up is done here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.fiscal import fiscal_year_of, month_index
from app.i18n import _
from app.models import PostKind, PostStatus
from app.models.tables import (
    kpi_month_closes,
    kpi_snapshot_counts,
    kpi_version,
    posts,
)
from app.models.tables import (
    kpi_praise_monthly as rollup,
)
from app.services import org
from app.services.errors import NotFound
from app.services.org import Tree, Unit

MAX_DEPTH = 5
ONE_DECIMAL = Decimal("0.1")


# Numbers -------------------------------------------------------------------------------------


def percent(part: int, whole: int) -> Decimal:
    """part ÷ whole × 100, rounded half up to one decimal (as the published report does):
    the one rule for a percentage. 0.0 when there is nothing to divide by (a share of no
    complaints); a caller for whom no base means no figure (year on year, the posters' rate)
    checks the whole first and shows None."""
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def month_key(month: date) -> str:
    return f"{month.year}-{month.month:02d}"


def month_or_none(text: str | None) -> date | None:
    """'2025-04' -> date(2025, 4, 1); None when absent or not a month (a query filter then
    falls back to its default)."""
    if not text:
        return None
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def parse_month(text: str) -> date:
    """'2025-04' -> date(2025, 4, 1); anything else is a 404 (it is a path segment)."""
    month = month_or_none(text)
    if month is None:
        raise NotFound(_("No such month (use YYYY-MM)."))
    return month


def fiscal_year_or_current(fy: int | None) -> int:
    """The fiscal year asked for; this one when none is."""
    return fy if fy is not None else fiscal_year_of(i18n.today())


def next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


# The unit tree -------------------------------------------------------------------------------


def unit_at(tree: Tree, code: str | None) -> Unit:
    """The unit with this code, or the top of the tree when no code is given."""
    if not code:
        return tree.root
    node = tree.by_code.get(code)
    if node is None:
        raise NotFound(_("No such unit."))
    return node


async def load_tree(db: AsyncSession) -> Tree:
    version = await data_version(db)
    key = ("tree", i18n.current_locale.get())
    if version is not None and (hit := cache_get(version, key)) is not None:
        return hit  # type: ignore[no-any-return]
    tree = await org.load_tree(db, company=_("Whole company"))
    if version is not None:
        cache_put(version, key, tree)
    return tree


# Computed trees and matrices, kept per data version ---------------------------------------
#
# A KPI request would otherwise read a few thousand roll-up rows and add them up the tree
# (~20 ms of Python at 400 units), the same work for every caller until something changes.
# `kpi_version` is one row that database triggers set to a fresh random number in the same
# transaction as any change to what the matrix is computed from (posts, units, month closes,
# snapshots; migration 0010). A request reads the version *before* the data, so a result is
# stored under a version at most as new as the data it was computed from: a later request
# sees either the same version and the same data, or another version and computes afresh.
# Random versions are never reused, so a version seen inside a transaction that rolled back
# can never come back with other data behind it. Each process keeps its own small LRU; no
# instance needs another's (SPEC §9), and all of them check the one shared version.

CACHE_SIZE = 256
# Only the newest version's entries are kept: a new version empties the cache, so memory stays
# bounded by one version's worth of matrices whatever the rate of change.
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_cache_version: list[int | None] = [None]


def cache_get(version: int, key: tuple[Any, ...]) -> Any:
    if version != _cache_version[0]:
        return None
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
    return hit


def cache_put(version: int, key: tuple[Any, ...], value: Any) -> None:
    if version != _cache_version[0]:
        _cache.clear()
        _cache_version[0] = version
    _cache[key] = value
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def clear_cache() -> None:
    _cache.clear()
    _cache_version[0] = None


async def data_version(db: AsyncSession) -> int | None:
    """The current KPI data version, or None (no caching) when its row is missing."""
    row = await db.execute(sa.select(kpi_version.c.version).where(kpi_version.c.id == 1))
    return row.scalar_one_or_none()


@dataclass(slots=True)
class RowSpec:
    """A line of the matrix: a unit with its subtree, or (direct) a unit's own posts only."""

    node: Unit
    direct: bool
    path: list[Unit]  # units between the base and this one, for the label

    @property
    def drillable(self) -> bool:
        return not self.direct and bool(self.node.children)


def row_specs(base: Unit, depth: int) -> list[RowSpec]:
    """The units `depth` levels below `base`; a branch that ends earlier is a row of its own,
    and a unit above the rows that has posts of its own gets a "direct" row, so that the rows
    always add up to the base."""
    if not base.children:
        return [RowSpec(base, False, [])]
    specs = [RowSpec(base, True, [])]

    def walk(node: Unit, level: int, path: list[Unit]) -> None:
        if level >= depth or not node.children:
            specs.append(RowSpec(node, False, path))
            return
        specs.append(RowSpec(node, True, path))
        for child in node.children:
            walk(child, level + 1, [*path, node])

    for child in base.children:
        walk(child, 1, [])
    return specs


# Closed months: their frozen figures -----------------------------------------------------


@dataclass(slots=True)
class Frozen:
    """The snapshots of the closed months asked for: own and subtree counts per unit."""

    months: set[date]
    own: dict[tuple[int, date], int]
    subtree: dict[tuple[int, date], int]
    company: dict[date, int]  # every unit's own counts added up

    def figure(self, node: Unit, direct: bool, month: date) -> int:
        if node.virtual:
            return 0 if direct else self.company.get(month, 0)
        source = self.own if direct else self.subtree
        return source.get((node.id, month), 0)


async def closed_months(db: AsyncSession, months: Sequence[date]) -> set[date]:
    rows = await db.execute(
        sa.select(kpi_month_closes.c.month).where(
            kpi_month_closes.c.month.in_(list(months)), kpi_month_closes.c.reopened_at.is_(None)
        )
    )
    return {r[0] for r in rows}


async def load_frozen(db: AsyncSession, months: Sequence[date]) -> Frozen:
    closed = await closed_months(db, months)
    frozen = Frozen(closed, {}, {}, {})
    if not closed:
        return frozen
    rows = await db.execute(
        sa.select(
            kpi_snapshot_counts.c.unit_id,
            kpi_snapshot_counts.c.month,
            kpi_snapshot_counts.c.praise,
            kpi_snapshot_counts.c.praise_subtree,
        ).where(kpi_snapshot_counts.c.month.in_(sorted(closed)))
    )
    for unit_id, month, own, subtree in rows:
        frozen.own[(unit_id, month)] = own
        frozen.subtree[(unit_id, month)] = subtree
        frozen.company[month] = frozen.company.get(month, 0) + own
    return frozen


def praise_filter(start: date, end: date) -> list[sa.ColumnElement[bool]]:
    return [
        posts.c.kind == PostKind.praise,
        posts.c.status == PostStatus.published,
        posts.c.received_on >= start,
        posts.c.received_on < end,
    ]


def _runs(months: Sequence[date]) -> list[tuple[int, list[date]]]:
    """Split sorted month starts into runs of consecutive months: (index of the first, run)."""
    runs: list[tuple[int, list[date]]] = []
    for i, m in enumerate(months):
        if runs and next_month(runs[-1][1][-1]) == m:
            runs[-1][1].append(m)
        else:
            runs.append((i, [m]))
    return runs


async def live_counts(db: AsyncSession, months: Sequence[date]) -> dict[int, list[int]]:
    """Published praise per unit (own posts only) in each of `months` (sorted month starts,
    not necessarily consecutive): the one query of a KPI request.

    Read from the maintained roll-up `kpi_praise_monthly` (one row per unit and month, moved
    by triggers on posts in the same transaction as each change), so a fiscal year costs a
    few thousand rows whatever the number of posts. `recount` is the same figure from the
    posts themselves; a test holds the two equal.
    """
    index = {m: i for i, m in enumerate(months)}
    rows = await db.execute(
        sa.select(rollup.c.unit_id, rollup.c.month, rollup.c.count).where(
            rollup.c.month.in_(list(months)), rollup.c.count != 0
        )
    )
    counts: dict[int, list[int]] = {}
    width = len(months)
    for unit_id, month, n in rows:
        if month in index:
            counts.setdefault(unit_id, [0] * width)[index[month]] += int(n)
    return counts


async def recount(db: AsyncSession, months: Sequence[date]) -> dict[int, list[int]]:
    """The same figures as `live_counts`, counted from the posts (one grouped query)."""
    dialect = db.get_bind().dialect.name
    parts = []
    for first, run in _runs(months):
        if len(run) == 1:
            bucket: sa.ColumnElement[int] = sa.literal(first, sa.Integer)
        else:
            bucket = month_index(posts.c.received_on, dialect, run) + first
        parts.append(
            sa.select(posts.c.unit_id.label("unit_id"), bucket.label("m")).where(
                *praise_filter(run[0], next_month(run[-1]))
            )
        )
    # A subquery, so that GROUP BY names the bucket instead of repeating its bound array.
    inner = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()
    rows = await db.execute(
        sa.select(inner.c.unit_id, inner.c.m, sa.func.count()).group_by(inner.c.unit_id, inner.c.m)
    )
    counts: dict[int, list[int]] = {}
    width = len(months)
    for unit_id, m, n in rows:
        if 0 <= m < width:
            counts.setdefault(unit_id, [0] * width)[m] += int(n)
    return counts
