"""Org units: the tree, subtree look-ups, and the all-or-nothing CSV import."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import OrgUnit, UnitKind
from app.services.csvimport import ImportRejected, RowError, read_rows

UNIT_COLUMNS = ("code", "name", "kind", "parent")


async def get_by_code(db: AsyncSession, code: str) -> OrgUnit | None:
    return (await db.exec(select(OrgUnit).where(OrgUnit.code == code))).first()


async def subtree_ids(db: AsyncSession, unit_id: int) -> list[int]:
    """The unit and all its descendants (a recursive CTE; works on both databases)."""
    tree = (
        sa.select(OrgUnit.id)  # type: ignore[call-overload]
        .where(col(OrgUnit.id) == unit_id)
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(sa.select(OrgUnit.id).where(col(OrgUnit.parent_id) == tree.c.id))  # type: ignore[call-overload]
    return list((await db.exec(sa.select(tree.c.id))).scalars())  # type: ignore[call-overload]


async def import_units(db: AsyncSession, data: bytes | str) -> int:
    """Create units from CSV `code,name,kind,parent`; all rows or none."""
    rows = read_rows(data, UNIT_COLUMNS)
    existing = {u.code: u for u in (await db.exec(select(OrgUnit))).all()}
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    parents: dict[str, str] = {}
    kinds = {k.value for k in UnitKind}
    for line, row in rows:
        code, name, kind, parent = (row[c] for c in UNIT_COLUMNS)
        problems = []
        if not code or len(code) > 32:
            problems.append("code is required (at most 32 characters)")
        elif code in existing:
            problems.append(f"unit {code} already exists")
        elif code in seen:
            problems.append(f"code {code} is repeated (first on line {seen[code]})")
        if not name or len(name) > 120:
            problems.append("name is required (at most 120 characters)")
        if kind not in kinds:
            problems.append(f"kind must be one of {', '.join(sorted(kinds))}")
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
        if code:
            seen.setdefault(code, line)
            parents[code] = parent
    file_codes = set(seen)
    for line, row in rows:
        code, parent = row["code"], row["parent"]
        if parent and parent not in existing and parent not in file_codes:
            errors.append(RowError(line, f"unknown parent unit {parent}"))
        elif parent == code and code:
            errors.append(RowError(line, "a unit cannot be its own parent"))
    # A cycle inside the file (A under B under A) would leave the tree unrooted.
    for line, row in rows:
        walk, code = set(), row["code"]
        while code in parents and code not in walk:
            walk.add(code)
            code = parents[code]
        if code in walk and parents.get(row["code"]) != row["code"]:
            errors.append(RowError(line, "the parent chain loops back to this unit"))
    if errors:
        raise ImportRejected(sorted(set(errors), key=lambda e: e.line))
    created: dict[str, OrgUnit] = {}
    pending = [row for _line, row in rows]
    while pending:  # parents before children, so that every parent id is known
        later = []
        for row in pending:
            parent = row["parent"]
            parent_unit = existing.get(parent) or created.get(parent) if parent else None
            if parent and parent_unit is None:
                later.append(row)
                continue
            unit = OrgUnit(
                code=row["code"],
                name=row["name"],
                kind=row["kind"],
                parent_id=parent_unit.id if parent_unit else None,
            )
            db.add(unit)
            await db.flush()
            created[unit.code] = unit
        pending = later
    await db.commit()
    return len(created)
