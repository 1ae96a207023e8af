"""The praise matrix (SPEC §6): published praise per unit and month, rolled up the org tree,
closed months at their frozen figure with the corrections beside it, year on year; kept per
data version (the cache in `rollup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.fiscal import fiscal_year_months, fiscal_year_of
from app.services.kpi.rollup import (
    MAX_DEPTH,
    cache_get,
    cache_put,
    data_version,
    live_counts,
    load_frozen,
    load_tree,
    month_key,
    percent,
    row_specs,
    unit_at,
)
from app.services.org import Tree, Unit


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


def chosen_month(fy: int, month: date | None, today: date) -> date:
    """The month the "no praise" list and the engagement figures show: the one asked for when
    it is in the year, else `default_month`."""
    return (
        month if month is not None and month in fiscal_year_months(fy) else default_month(fy, today)
    )


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
    if version is not None and (hit := cache_get(version, key)) is not None:
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

    chosen = chosen_month(fy, month, today)
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
        cache_put(version, key, matrix)
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


def fiscal_years_offered(today: date, chosen: int | None = None) -> list[int]:
    """The selector: this fiscal year and the five before it, and the one chosen if it is
    another, newest first."""
    current = fiscal_year_of(today)
    offered = set(range(current, current - 6, -1))
    if chosen is not None:
        offered.add(chosen)
    return sorted(offered, reverse=True)
