"""Org units: look-up by code and the all-or-nothing CSV import (the tree: services/org.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import OrgUnit, UnitKind, User
from app.services import audit
from app.services.csvimport import (
    ImportRejected,
    ImportReport,
    RowError,
    by_line,
    read_table,
    write_or_refuse,
)
from app.services.users import CODE_RE

UNIT_COLUMNS = ("code", "name", "kind", "parent")
UNIT_NAME_MAX = 120
IMPORT_ACTION = "units.import"  # the audit log's action for a CSV import


async def get_by_code(db: AsyncSession, code: str) -> OrgUnit | None:
    return (await db.exec(select(OrgUnit).where(OrgUnit.code == code))).first()


async def check_units(db: AsyncSession, data: bytes | str) -> ImportReport:
    """Check a units CSV `code,name,kind,parent` and write nothing: every bad row with its
    reasons, and the units the import would create. A parent is named by code: an active unit
    that exists, or a unit created by the same file (in any order)."""
    try:
        table = read_table(data, UNIT_COLUMNS)
    except ImportRejected as exc:
        return exc.report
    existing: dict[str, bool] = {}
    root: str | None = None  # the unit without a parent; the tree has one (SPEC §2)
    for code, active, parent_id in (
        await db.exec(
            sa.select(OrgUnit.code, OrgUnit.active, OrgUnit.parent_id).order_by(OrgUnit.id)  # type: ignore[call-overload]
        )
    ).all():
        existing[code] = active
        if parent_id is None and root is None:
            root = code
    kinds = ", ".join(k.value for k in UnitKind)
    first: dict[str, int] = {}  # a new code -> the line that creates it
    parents: dict[str, str] = {}  # a new code -> its parent's code
    for line, row in table.rows:
        code = row["code"]
        if code and code not in existing and code not in first:
            first[code] = line
            parents[code] = row["parent"]
    errors = list(table.errors)
    rows: list[dict[str, Any]] = []
    for line, row in table.rows:
        code, name, kind, parent = (row[c] for c in UNIT_COLUMNS)
        problems = []
        if not CODE_RE.match(code):  # the rule of user codes and of the admin's unit form
            problems.append(_("code must be 1–32 letters, digits, '-', '_' or '.'"))
        elif code in existing:
            problems.append(_("unit %(code)s already exists") % {"code": code})
        elif first[code] != line:
            problems.append(
                _("code %(code)s is repeated (first on line %(line)s)")
                % {"code": code, "line": first[code]}
            )
        if not name or len(name) > UNIT_NAME_MAX:
            problems.append(_("name is required (at most %(n)s characters)") % {"n": UNIT_NAME_MAX})
        if not kind:
            problems.append(_("kind is required (one of %(values)s)") % {"values": kinds})
        elif kind not in UnitKind.__members__:
            problems.append(
                _("kind must be one of %(values)s, not %(kind)s") % {"values": kinds, "kind": kind}
            )
        new_code = bool(code) and code not in existing
        if not parent and new_code and root is not None and root != code:
            # Another root would split every KPI view in two (and a short row used to
            # come in as one): only the first unit of all may go without a parent.
            problems.append(
                _("parent is required: %(root)s is the root unit, there can be only one")
                % {"root": root}
            )
        elif not parent and new_code:
            root = code
        if parent and parent == code:
            problems.append(_("a unit cannot be its own parent"))
        elif parent and parent in existing:
            if not existing[parent]:
                problems.append(_("parent unit %(code)s is deactivated") % {"code": parent})
        elif parent and parent not in first:
            problems.append(_("unknown parent unit %(code)s") % {"code": parent})
        elif parent and first.get(code) == line and (chain := _loop(code, parents)):
            problems.append(
                _("the parent chain loops back to this unit (%(chain)s)")
                % {"chain": " → ".join(chain)}
            )
        errors.extend(RowError(line, p, code) for p in problems)
        if not problems:
            rows.append(
                {"line": line, "code": code, "name": name, "kind": kind, "parent": parent or None}
            )
    return ImportReport(
        rows_read=len(table.rows) + len(table.errors), rows=rows, errors=by_line(errors)
    )


def _loop(code: str, parents: dict[str, str]) -> list[str] | None:
    """The chain code → parent → … → code when the file's parents lead back to `code`."""
    chain = [code]
    parent = parents.get(code, "")
    while parent in parents and parent not in chain:
        chain.append(parent)
        parent = parents[parent]
    return [*chain, code] if parent == code else None


async def import_units(
    db: AsyncSession, data: bytes | str, actor: User | None = None
) -> ImportReport:
    """Check the file (check_units) and create every unit in one transaction, or none:
    ImportRejected lists every bad row. One audit row records the count and the codes."""
    report = await check_units(db, data)
    if not report.ok:
        raise ImportRejected(report.errors, report)
    new = {r["code"]: r for r in report.rows}

    def depth(code: str) -> int:
        steps = 0
        while (parent := new[code]["parent"]) in new:
            code, steps = parent, steps + 1
        return steps

    async def write() -> None:
        parent_codes = {r["parent"] for r in report.rows if r["parent"]} - set(new)
        ids: dict[str, int | None] = dict(
            (
                await db.exec(
                    sa.select(OrgUnit.code, OrgUnit.id).where(  # type: ignore[call-overload]
                        col(OrgUnit.code).in_(parent_codes)
                    )
                )
            ).all()
        )
        levels: dict[int, list[dict[str, Any]]] = {}
        for r in report.rows:
            levels.setdefault(depth(r["code"]), []).append(r)
        for level in sorted(levels):  # parents before children, one flush per level
            units = [
                OrgUnit(
                    code=r["code"],
                    name=r["name"],
                    kind=r["kind"],
                    parent_id=ids[r["parent"]] if r["parent"] else None,
                )
                for r in levels[level]
            ]
            db.add_all(units)
            await db.flush()
            ids.update({u.code: u.id for u in units})
        audit.record(
            db,
            actor,
            IMPORT_ACTION,
            "unit",
            None,
            after={"imported": len(report.rows), "codes": [r["code"] for r in report.rows]},
        )

    await write_or_refuse(db, write, lambda: check_units(db, data))
    report.created = len(report.rows)
    return report
