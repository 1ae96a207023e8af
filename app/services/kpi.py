"""The praise KPI (SPEC §6): unit × month counts rolled up the org tree, year on year, month
close with frozen snapshots and corrections, engagement, and the お客さまの声 受付状況 table.

One grouped query reads the live counts (GROUP BY unit, month: an index-only scan of
ix_posts_kpi_unit); the unit tree is loaded once and the roll-up is done here. A closed month
shows its frozen figure; the live figure minus the frozen one is a separate correction, so a
closed figure never moves silently.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.fiscal import fiscal_year_bounds, fiscal_year_months, fiscal_year_of, month_index
from app.i18n import _
from app.models import ComplaintCategory, PostKind, PostStatus, User
from app.models.tables import (
    comments,
    complaint_voices,
    kpi_month_closes,
    kpi_snapshot_counts,
    kpi_version,
    likes,
    posts,
    users,
)
from app.models.tables import (
    kpi_praise_monthly as rollup,
)
from app.services import audit, org
from app.services.errors import Conflict, NotFound
from app.services.org import Tree, Unit

MAX_DEPTH = 5
ONE_DECIMAL = Decimal("0.1")
HUNDRED = Decimal("100.0")


class Actions:
    """The audit log's action names for the KPI."""

    close = "kpi.close"
    reopen = "kpi.reopen"


# Numbers -------------------------------------------------------------------------------------


def percent(part: int, whole: int) -> Decimal:
    """part ÷ whole × 100, rounded half up to one decimal (as the published report does);
    0.0 when there is nothing to divide by."""
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def month_key(month: date) -> str:
    return f"{month.year}-{month.month:02d}"


def parse_month(text: str) -> date:
    """'2025-04' -> date(2025, 4, 1); anything else is a 404 (it is a path segment)."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(text)
        return date(int(year), int(month), 1)
    except ValueError:
        raise NotFound(_("No such month (use YYYY-MM).")) from None


def _next_month(month: date) -> date:
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
    if version is not None and (hit := _cache_get(version, key)) is not None:
        return hit  # type: ignore[no-any-return]
    tree = await org.load_tree(db, company=_("Whole company"))
    if version is not None:
        _cache_put(version, key, tree)
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


def _cache_get(version: int, key: tuple[Any, ...]) -> Any:
    if version != _cache_version[0]:
        return None
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
    return hit


def _cache_put(version: int, key: tuple[Any, ...], value: Any) -> None:
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


# Month closes --------------------------------------------------------------------------------


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


def _praise_filter(start: date, end: date) -> list[sa.ColumnElement[bool]]:
    return [
        posts.c.kind == PostKind.praise.value,
        posts.c.status == PostStatus.published.value,
        posts.c.received_on >= start,
        posts.c.received_on < end,
    ]


def _runs(months: Sequence[date]) -> list[tuple[int, list[date]]]:
    """Split sorted month starts into runs of consecutive months: (index of the first, run)."""
    runs: list[tuple[int, list[date]]] = []
    for i, m in enumerate(months):
        if runs and _next_month(runs[-1][1][-1]) == m:
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
                *_praise_filter(run[0], _next_month(run[-1]))
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


@dataclass(slots=True)
class MonthClose:
    month: date
    closed: bool
    closed_at: datetime | None
    closed_by: str | None
    reopened_at: datetime | None
    reopened_by: str | None
    company_total: int | None = None

    @property
    def key(self) -> str:
        return month_key(self.month)


async def month_status(db: AsyncSession, months: Sequence[date]) -> dict[date, MonthClose]:
    closer = users.alias("closer")
    reopener = users.alias("reopener")
    rows = await db.execute(
        sa.select(
            kpi_month_closes.c.month,
            kpi_month_closes.c.closed_at,
            kpi_month_closes.c.reopened_at,
            closer.c.name,
            reopener.c.name,
        )
        .join(closer, closer.c.id == kpi_month_closes.c.closed_by_id)
        .outerjoin(reopener, reopener.c.id == kpi_month_closes.c.reopened_by_id)
        .where(kpi_month_closes.c.month.in_(list(months)))
    )
    found = {r[0]: MonthClose(r[0], r[2] is None, r[1], r[3], r[2], r[4]) for r in rows}
    return {m: found.get(m) or MonthClose(m, False, None, None, None, None) for m in months}


def _month_end(month: date) -> date:
    return _next_month(month)


async def _lock_close_row(db: AsyncSession, month: date) -> Any:
    stmt = sa.select(kpi_month_closes).where(kpi_month_closes.c.month == month)
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).first()


async def close_month(db: AsyncSession, user: User, month: date) -> MonthClose:
    """Freeze the month's counts for every unit; 409 if it is closed or not over yet."""
    if _month_end(month) > i18n.today():
        raise Conflict(_("A month can be closed only after it has ended."))
    row = await _lock_close_row(db, month)
    if row is not None and row.reopened_at is None:
        raise Conflict(_("This month is already closed."))
    # Claim the month first: a second curator closing it at the same moment stops here.
    now = clock.now()
    if row is None:
        try:
            close_id = (
                await db.execute(
                    sa.insert(kpi_month_closes)
                    .values(month=month, closed_by_id=user.id, closed_at=now)
                    .returning(kpi_month_closes.c.id)
                )
            ).scalar_one()
        except IntegrityError:
            await db.rollback()
            raise Conflict(_("This month is already closed.")) from None
    else:
        close_id = row.id
        await db.execute(
            sa.update(kpi_month_closes)
            .where(kpi_month_closes.c.id == row.id)
            .values(closed_by_id=user.id, closed_at=now, reopened_at=None, reopened_by_id=None)
        )
    tree = await load_tree(db)
    own = {uid: counts[0] for uid, counts in (await live_counts(db, [month])).items()}
    subtree = tree.rollup({uid: [n] for uid, n in own.items()}, 1)
    await db.execute(sa.delete(kpi_snapshot_counts).where(kpi_snapshot_counts.c.month == month))
    snapshot = [
        {"month": month, "unit_id": uid, "praise": own.get(uid, 0), "praise_subtree": sub[0]}
        for uid, sub in subtree.items()
        if uid in tree.by_id  # not the virtual root
    ]
    if snapshot:
        await db.execute(sa.insert(kpi_snapshot_counts), snapshot)
    total = sum(own.values())
    audit.record(
        db,
        user,
        Actions.close,
        "kpi_month",
        close_id,
        after={"month": month_key(month), "praise": total},
    )
    await db.commit()
    return MonthClose(month, True, now, user.name, None, None, total)


async def reopen_month(db: AsyncSession, user: User, month: date) -> MonthClose:
    """Admins only (checked by the caller): the month shows live figures again."""
    row = await _lock_close_row(db, month)
    if row is None or row.reopened_at is not None:
        raise Conflict(_("This month is not closed."))
    frozen_total = (
        await db.execute(
            sa.select(sa.func.coalesce(sa.func.sum(kpi_snapshot_counts.c.praise), 0)).where(
                kpi_snapshot_counts.c.month == month
            )
        )
    ).scalar_one()
    now = clock.now()
    await db.execute(sa.delete(kpi_snapshot_counts).where(kpi_snapshot_counts.c.month == month))
    await db.execute(
        sa.update(kpi_month_closes)
        .where(kpi_month_closes.c.id == row.id)
        .values(reopened_at=now, reopened_by_id=user.id)
    )
    audit.record(
        db,
        user,
        Actions.reopen,
        "kpi_month",
        row.id,
        before={"month": month_key(month), "closed_at": row.closed_at, "praise": int(frozen_total)},
    )
    await db.commit()
    return MonthClose(month, False, row.closed_at, None, now, user.name)


# The praise matrix ---------------------------------------------------------------------------


@dataclass(slots=True)
class MatrixRow:
    code: str
    name: str
    kind: str
    direct: bool
    drillable: bool
    path: list[str]
    counts: list[int]  # the official figure: frozen for closed months, live otherwise
    corrections: list[int]  # live minus frozen, closed months only
    previous: int  # last year's official figure over the comparable months
    live: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def corrections_total(self) -> int:
        return sum(self.corrections)

    @property
    def has_corrections(self) -> bool:
        return any(self.corrections)

    @property
    def yoy(self) -> Decimal | None:
        """前年比: this year ÷ last year × 100 over the comparable months (None: no base)."""
        return percent(self.total, self.previous) if self.previous else None

    @property
    def yoy_change(self) -> int:
        return self.total - self.previous


@dataclass(slots=True)
class PraiseMatrix:
    fiscal_year: int
    months: list[date]
    base: Unit
    depth: int
    rows: list[MatrixRow]
    total: MatrixRow
    closed: list[bool]
    comparable_months: int  # months of last year the year-on-year figures compare
    previous_counts: list[int | None]  # last year's company line, None past comparable months
    month: date  # the month of the "no praise" list and the engagement figures
    no_praise: list[Unit]

    @property
    def month_keys(self) -> list[str]:
        return [month_key(m) for m in self.months]

    @property
    def closed_keys(self) -> list[str]:
        return [month_key(m) for m, c in zip(self.months, self.closed, strict=True) if c]

    @property
    def breadcrumbs(self) -> list[Unit]:
        return [*self.base.ancestors(), self.base]

    @property
    def has_corrections(self) -> bool:
        return self.total.has_corrections or any(r.has_corrections for r in self.rows)


def comparable_months(fy: int, today: date) -> int:
    """How many months of `fy` have begun: the span year-on-year figures compare."""
    current = fiscal_year_of(today)
    if fy < current:
        return 12
    if fy > current:
        return 0
    months = fiscal_year_months(fy)
    return sum(1 for m in months if m <= today)


def default_month(fy: int, today: date) -> date:
    months = fiscal_year_months(fy)
    this_month = date(today.year, today.month, 1)
    if this_month in months:
        return this_month
    return months[0] if this_month < months[0] else months[-1]


async def praise_matrix(
    db: AsyncSession,
    fy: int,
    *,
    unit: str | None = None,
    depth: int = 1,
    month: date | None = None,
    tree: Tree | None = None,
) -> PraiseMatrix:
    today = i18n.today()
    depth = max(1, min(depth, MAX_DEPTH))
    months = fiscal_year_months(fy)
    version = await data_version(db)  # before any data is read: see the cache note above
    locale = i18n.current_locale.get()
    key = ("matrix", locale, today, months[0], unit or "", depth, month)
    if version is not None and (hit := _cache_get(version, key)) is not None:
        return hit  # type: ignore[no-any-return]
    tree = tree or await load_tree(db)
    base = unit_at(tree, unit)
    prev_months = fiscal_year_months(fy - 1)
    n_cmp = comparable_months(fy, today)
    frozen = await load_frozen(db, [*prev_months, *months])
    # Live figures: the whole year, plus last year's comparable months that are not closed.
    live_months = [m for m in prev_months[:n_cmp] if m not in frozen.months] + months
    own = await live_counts(db, live_months)
    live = tree.rollup(own, len(live_months))
    offset = len(live_months) - 12
    width = len(live_months)
    zero = [0] * width

    def line(node: Unit, direct: bool, path: list[Unit]) -> MatrixRow:
        figures = (own.get(node.id) or zero) if direct else live[node.id]
        counts, corrections = [], []
        for i, m in enumerate(months):
            now_n = figures[offset + i]
            if m in frozen.months:
                was = frozen.figure(node, direct, m)
                counts.append(was)
                corrections.append(now_n - was)
            else:
                counts.append(now_n)
                corrections.append(0)
        previous = 0
        for m in prev_months[:n_cmp]:
            if m in frozen.months:
                previous += frozen.figure(node, direct, m)
            else:
                previous += figures[live_months.index(m)]
        return MatrixRow(
            code=node.code,
            name=node.name,
            kind=node.kind,
            direct=direct,
            drillable=not direct and bool(node.children),
            path=[p.name for p in path],
            counts=counts,
            corrections=corrections,
            previous=previous,
            live=list(figures[offset:]),
        )

    rows = []
    for spec in row_specs(base, depth):
        row = line(spec.node, spec.direct, spec.path)
        quiet = not (row.total or row.previous or row.has_corrections)
        if quiet and (spec.direct or not spec.node.active):
            continue  # no own posts, or a closed-down unit with nothing this year
        rows.append(row)
    total = line(base, False, [])
    total_prev: list[int | None] = []
    for i, m in enumerate(prev_months):
        if i >= n_cmp:
            total_prev.append(None)
        elif m in frozen.months:
            total_prev.append(frozen.figure(base, False, m))
        else:
            total_prev.append(live[base.id][live_months.index(m)])

    chosen = month if month in months else default_month(fy, today)
    idx = offset + months.index(chosen)
    no_praise = [
        n
        for n in base.walk()
        if not n.children and n.active and not n.virtual and (own.get(n.id) or zero)[idx] == 0
    ]
    matrix = PraiseMatrix(
        fiscal_year=fy,
        months=months,
        base=base,
        depth=depth,
        rows=rows,
        total=total,
        closed=[m in frozen.months for m in months],
        comparable_months=n_cmp,
        previous_counts=total_prev,
        month=chosen,
        no_praise=no_praise,
    )
    if version is not None:
        _cache_put(version, key, matrix)
    return matrix


def matrix_json(matrix: PraiseMatrix) -> dict[str, Any]:
    """The API shape of SPEC §4, plus corrections, closed months and year on year."""

    def yoy(row: MatrixRow) -> dict[str, Any]:
        ratio = row.yoy
        return {
            "previous_total": row.previous,
            "change": row.yoy_change,
            "ratio": float(ratio) if ratio is not None else None,
        }

    return {
        "fiscal_year": matrix.fiscal_year,
        "months": matrix.month_keys,
        "unit": {"code": matrix.base.code or None, "name": matrix.base.name},
        "depth": matrix.depth,
        "rows": [
            {
                "unit": {"code": r.code, "name": r.name},
                "direct": r.direct,
                "counts": r.counts,
                "total": r.total,
                "corrections": r.corrections,
                "corrections_total": r.corrections_total,
                "yoy": yoy(r),
            }
            for r in matrix.rows
        ],
        "total": {
            "counts": matrix.total.counts,
            "total": matrix.total.total,
            "corrections": matrix.total.corrections,
            "corrections_total": matrix.total.corrections_total,
            "yoy": yoy(matrix.total),
        },
        "closed_months": matrix.closed_keys,
        "yoy_months": matrix.comparable_months,
    }


# Engagement ----------------------------------------------------------------------------------


@dataclass(slots=True)
class EngagementRow:
    code: str
    name: str
    direct: bool
    path: list[str]
    posts: int
    likes: int
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
        datetime.combine(_next_month(month), time(), zone),
    )


async def engagement(
    db: AsyncSession,
    month: date,
    *,
    unit: str | None = None,
    depth: int = 1,
    tree: Tree | None = None,
) -> Engagement:
    """Posts (both kinds, published, by the post's unit), likes given and comments written
    (by the member's unit), active posters and active users, for one month (Asia/Tokyo)."""
    tree = tree or await load_tree(db)
    base = unit_at(tree, unit)
    depth = max(1, min(depth, MAX_DEPTH))
    start, end = _utc_bounds(month)
    own_posts: dict[int, int] = {}
    own_posters: dict[int, set[int]] = {}
    rows = await db.execute(
        sa.select(posts.c.unit_id, posts.c.author_id, sa.func.count())
        .where(
            posts.c.status == PostStatus.published.value,
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

    def gather(node: Unit, direct: bool) -> tuple[int, int, int, set[int], int]:
        nodes = [node] if direct else list(node.walk())
        p = sum(own_posts.get(n.id, 0) for n in nodes)
        lk = sum(own_likes.get(n.id, 0) for n in nodes)
        c = sum(own_comments.get(n.id, 0) for n in nodes)
        who: set[int] = set()
        for n in nodes:
            who |= own_posters.get(n.id, set())
        h = sum(own_heads.get(n.id, 0) for n in nodes)
        return p, lk, c, who, h

    def line(node: Unit, direct: bool, path: list[Unit]) -> EngagementRow:
        p, lk, c, who, h = gather(node, direct)
        return EngagementRow(
            node.code, node.name, direct, [x.name for x in path], p, lk, c, len(who), h
        )

    out = []
    for spec in row_specs(base, depth):
        row = line(spec.node, spec.direct, spec.path)
        empty = not (row.posts or row.likes or row.comments or row.heads)
        if empty and (spec.direct or not spec.node.active):
            continue
        out.append(row)
    return Engagement(month, base, out, line(base, False, []))


# お客さまの声 受付状況 -------------------------------------------------------------------------


def complaint_category_labels() -> dict[str, str]:
    """In the order of SPEC §2."""
    return {
        ComplaintCategory.renewal_contract.value: _("Renewal notices and contract procedures"),
        ComplaintCategory.change_cancel.value: _("Changes, cancellations and policy servicing"),
        ComplaintCategory.premium.value: _("Premium collection"),
        ComplaintCategory.claim.value: _("Claim payments"),
        ComplaintCategory.personal_info.value: _("Personal information"),
        ComplaintCategory.other.value: _("Other"),
    }


@dataclass(slots=True)
class CategoryShare:
    category: str
    label: str
    count: int
    share: Decimal


@dataclass(slots=True)
class VoicesTable:
    fiscal_year: int
    praise: int
    complaints: int
    categories: list[CategoryShare]

    @property
    def total(self) -> int:
        return self.praise + self.complaints

    @property
    def total_share(self) -> Decimal:
        """The 合計 row is 100.0 by definition, whatever the rounded shares add up to."""
        return HUNDRED if self.complaints else Decimal("0.0")


async def praise_total(db: AsyncSession, fy: int) -> int:
    """The company's official praise count for the year (closed months from the snapshot)."""
    months = fiscal_year_months(fy)
    frozen = await load_frozen(db, months)
    dialect = db.get_bind().dialect.name
    bucket = month_index(posts.c.received_on, dialect, months)
    start, end = fiscal_year_bounds(fy)
    inner = sa.select(bucket.label("m")).where(*_praise_filter(start, end)).subquery()
    rows = await db.execute(sa.select(inner.c.m, sa.func.count()).group_by(inner.c.m))
    live = dict.fromkeys(range(12), 0)
    for m, n in rows:
        live[int(m)] = int(n)
    return sum(
        frozen.company.get(m, 0) if m in frozen.months else live[i] for i, m in enumerate(months)
    )


async def voices_table(db: AsyncSession, fy: int) -> VoicesTable:
    start, end = fiscal_year_bounds(fy)
    rows = await db.execute(
        sa.select(complaint_voices.c.category, sa.func.count())
        .where(complaint_voices.c.received_on >= start, complaint_voices.c.received_on < end)
        .group_by(complaint_voices.c.category)
    )
    counts = {c: int(n) for c, n in rows}
    complaints = sum(counts.values())
    categories = [
        CategoryShare(code, name, counts.get(code, 0), percent(counts.get(code, 0), complaints))
        for code, name in complaint_category_labels().items()
    ]
    return VoicesTable(fy, await praise_total(db, fy), complaints, categories)


def voices_json(table: VoicesTable) -> dict[str, Any]:
    return {
        "fiscal_year": table.fiscal_year,
        "praise": table.praise,
        "complaints": table.complaints,
        "total": table.total,
        "categories": [
            {"category": c.category, "label": c.label, "count": c.count, "share": float(c.share)}
            for c in table.categories
        ],
        "total_share": float(table.total_share),
    }


def fiscal_years_offered(today: date) -> list[int]:
    """The selector: this fiscal year and the five before it, newest first."""
    current = fiscal_year_of(today)
    return list(range(current, current - 6, -1))
