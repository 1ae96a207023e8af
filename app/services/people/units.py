"""Org units: adding, changing and (de)activating them, look-up by code and the
all-or-nothing CSV import; every change goes to the audit log. The tree itself is
services/org.py.

Deactivating a unit (docs/admin.md): it is no longer offered for new users, moves or new
units below it, and the directory API leaves it out; it stays in the tree, on its page, in
old posts and in the KPI (its posts keep counting). It is refused while the unit still has
active users or active units below it. Units are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.labels import unit_csv_column
from app.models import OrgUnit, PostStatus, UnitKind, User
from app.models.tables import posts, units, users
from app.services import audit, org
from app.services.csvimport import (
    ImportRejected,
    ImportReport,
    RowError,
    by_line,
    read_table,
    write_or_refuse,
)
from app.services.errors import Conflict, NotFound
from app.services.people.rules import (
    CODE_RE,
    NAME_MAX,
    UNSET,
    Actions,
    Problems,
    Unset,
    code_problem,
    commit_or_conflict,
    name_problem,
)

UNIT_COLUMNS = ("code", "name", "kind", "parent")
IMPORT_ACTION = "units.import"  # the audit log's action for a CSV import


@dataclass(slots=True)
class UnitNode:
    """A unit of the tree with its counts (own, and rolled up its subtree)."""

    unit: org.Unit
    users: int = 0  # active users in the unit itself
    posts: int = 0  # posts of the unit itself (any status but deleted)
    total_users: int = 0
    total_posts: int = 0

    @property
    def depth(self) -> int:
        return self.unit.depth

    @property
    def parent_code(self) -> str | None:
        return self.unit.parent_code

    @property
    def children(self) -> list[org.Unit]:
        return self.unit.children

    @property
    def active_children(self) -> int:
        return sum(1 for c in self.children if c.active)


@dataclass(slots=True)
class UnitTree:
    nodes: list[UnitNode]  # pre-order: parents before children, siblings by code
    by_code: dict[str, UnitNode]

    def subtree_codes(self, code: str) -> set[str]:
        return {u.code for u in self.by_code[code].unit.walk()}

    def options(self, *, exclude: set[str] | None = None) -> list[UnitNode]:
        """Active units to offer in a select (a deactivated unit takes nothing new)."""
        skip = exclude or set()
        return [n for n in self.nodes if n.unit.active and n.unit.code not in skip]


async def _counts(stmt: sa.Select[Any], db: AsyncSession) -> dict[int, int]:
    return {int(key): int(n) for key, n in (await db.execute(stmt)).all()}


async def _count(db: AsyncSession, stmt: sa.Select[Any]) -> int:
    return int((await db.execute(stmt)).scalar_one())


async def unit_tree(db: AsyncSession, *, counts: bool = True) -> UnitTree:
    """Every unit in pre-order; `counts=False` skips counting posts (for pickers only)."""
    tree = await org.load_tree(db)
    user_counts: dict[int, int] = {}
    post_counts: dict[int, int] = {}
    if counts:
        user_counts = await _counts(
            sa.select(users.c.unit_id, sa.func.count())
            .where(users.c.active.is_(True))
            .group_by(users.c.unit_id),
            db,
        )
        post_counts = await _counts(
            sa.select(posts.c.unit_id, sa.func.count())
            .where(posts.c.status != PostStatus.deleted)
            .group_by(posts.c.unit_id),
            db,
        )
    totals = tree.rollup(
        {uid: [user_counts.get(uid, 0), post_counts.get(uid, 0)] for uid in tree.by_id}, 2
    )
    nodes = [
        UnitNode(u, user_counts.get(u.id, 0), post_counts.get(u.id, 0), *totals[u.id])
        for u in tree.nodes
    ]
    return UnitTree(nodes, {n.unit.code: n for n in nodes})


async def get_unit(db: AsyncSession, code: str) -> OrgUnit | None:
    return (await db.exec(select(OrgUnit).where(OrgUnit.code == code))).first()


async def unit_by_code(db: AsyncSession, code: str) -> OrgUnit:
    """The unit with this code, or NotFound."""
    unit = await get_unit(db, code)
    if unit is None:
        raise NotFound(_("There is no unit with this code."))
    return unit


def unit_snapshot(unit: OrgUnit, parent_code: str | None) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "parent": parent_code,
        "active": unit.active,
    }


async def _parent_for(
    db: AsyncSession, problems: Problems, parent_code: str, *, moving: OrgUnit | None = None
) -> OrgUnit | None:
    """The new parent by code, or a field error (unknown, deactivated, inside the moved unit)."""
    parent = await get_unit(db, parent_code)
    if parent is None:
        problems.add("parent", _("There is no unit with this code."))
        return None
    if not parent.active:
        problems.add("parent", _("This unit is deactivated; choose an active one."))
        return None
    if moving is not None:
        assert moving.id is not None
        # Two admins moving A under B and B under A at once would each see no cycle: moves
        # take the units' row locks first, so they run one after the other (PostgreSQL;
        # SQLite has one writer anyway).
        await db.execute(sa.select(units.c.id).with_for_update())
        if parent.id in await org.subtree_ids(db, moving.id):
            problems.add(
                "parent",
                _("A unit cannot be moved under itself or under one of the units below it."),
            )
            return None
    return parent


async def create_unit(
    db: AsyncSession, actor: User, *, code: str, name: str, kind: str, parent: str
) -> OrgUnit:
    """Add a unit under an active parent (only the very first unit may have none)."""
    code, name, parent = code.strip(), name.strip(), parent.strip()
    problems = Problems()
    if msg := code_problem(code):
        problems.add("code", msg)
    if msg := name_problem(name):
        problems.add("name", msg)
    if kind not in {k.value for k in UnitKind}:
        problems.add("kind", _("Choose one of the options."))
    parent_unit = None
    if parent:
        parent_unit = await _parent_for(db, problems, parent)
    elif (await db.exec(select(OrgUnit.id).limit(1))).first() is not None:
        problems.add("parent", _("Choose the unit this one belongs to."))
    problems.check()
    duplicate = _("A unit with this code already exists.")
    if await get_unit(db, code) is not None:
        raise Conflict(duplicate, "code")
    unit = OrgUnit(
        code=code, name=name, kind=kind, parent_id=parent_unit.id if parent_unit else None
    )
    db.add(unit)
    await db.flush()
    audit.record(
        db,
        actor,
        Actions.unit_create,
        "unit",
        unit.id,
        after=unit_snapshot(unit, parent_unit.code if parent_unit else None),
    )
    await commit_or_conflict(db, duplicate)
    return unit


async def update_unit(
    db: AsyncSession,
    actor: User,
    unit: OrgUnit,
    *,
    name: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    parent: str | Unset | None = UNSET,
    active: bool | Unset = UNSET,
) -> OrgUnit:
    """Rename, change kind, move and (de)activate in one go: all the changes or none."""
    assert unit.id is not None
    problems = Problems()
    old_parent = await db.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    old_parent_code = old_parent.code if old_parent else None
    if isinstance(name, str):
        name = name.strip()
        if msg := name_problem(name):
            problems.add("name", msg)
    if isinstance(kind, str) and kind not in {k.value for k in UnitKind}:
        problems.add("kind", _("Choose one of the options."))
    new_parent: OrgUnit | None = old_parent
    if not isinstance(parent, Unset):
        parent = (parent or "").strip() or None
        if parent is None:
            if old_parent is not None:
                problems.add("parent", _("Choose the unit this one belongs to."))
        elif parent != old_parent_code:
            new_parent = await _parent_for(db, problems, parent, moving=unit)
    problems.check()
    if active is False and unit.active:
        await _check_can_deactivate(db, unit)
    if active is True and not unit.active and new_parent is not None and not new_parent.active:
        raise Conflict(_("Reactivate the unit above it first."), "active")

    def change(action: str, key: str, before: Any, after: Any) -> None:
        audit.record(
            db,
            actor,
            action,
            "unit",
            unit.id,
            before={"code": unit.code, key: before},
            after={"code": unit.code, key: after},
        )

    if isinstance(name, str) and name != unit.name:
        change(Actions.unit_rename, "name", unit.name, name)
        unit.name = name
    if isinstance(kind, str) and kind != unit.kind:
        change(Actions.unit_kind, "kind", unit.kind, kind)
        unit.kind = kind
    if new_parent is not old_parent and new_parent is not None:
        change(Actions.unit_move, "parent", old_parent_code, new_parent.code)
        unit.parent_id = new_parent.id
    if isinstance(active, bool) and active != unit.active:
        action = Actions.unit_reactivate if active else Actions.unit_deactivate
        change(action, "active", unit.active, active)
        unit.active = active
    db.add(unit)
    await db.commit()
    return unit


async def _check_can_deactivate(db: AsyncSession, unit: OrgUnit) -> None:
    users_left = await _count(
        db,
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.unit_id == unit.id, users.c.active.is_(True)),
    )
    if users_left:
        raise Conflict(
            _("%(count)s active users still belong to this unit: move or deactivate them first.")
            % {"count": users_left},
            "active",
        )
    children = await _count(
        db,
        sa.select(sa.func.count())
        .select_from(units)
        .where(units.c.parent_id == unit.id, units.c.active.is_(True)),
    )
    if children:
        raise Conflict(
            _("%(count)s active units are below this unit: move or deactivate them first.")
            % {"count": children},
            "active",
        )


async def check_units(db: AsyncSession, data: bytes | str) -> ImportReport:
    """Check a units CSV `code,name,kind,parent` and write nothing: every bad row with its
    reasons, and the units the import would create. A parent is named by code: an active unit
    that exists, or a unit created by the same file (in any order)."""
    try:
        table = read_table(data, UNIT_COLUMNS, column=unit_csv_column)
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
            problems.append(
                _("%(column)s must be 1–32 letters, digits, '-', '_' or '.'")
                % {"column": unit_csv_column("code")}
            )
        elif code in existing:
            problems.append(_("unit %(code)s already exists") % {"code": code})
        elif first[code] != line:
            problems.append(
                _("%(column)s %(code)s is repeated (first on line %(line)s)")
                % {"column": unit_csv_column("code"), "code": code, "line": first[code]}
            )
        if not name or len(name) > NAME_MAX:
            problems.append(
                _("%(column)s is required (at most %(n)s characters)")
                % {"column": unit_csv_column("name"), "n": NAME_MAX}
            )
        if not kind:
            problems.append(
                _("%(column)s is required (one of %(values)s)")
                % {"column": unit_csv_column("kind"), "values": kinds}
            )
        elif kind not in UnitKind.__members__:
            problems.append(
                _("%(column)s must be one of %(values)s, not %(value)s")
                % {"column": unit_csv_column("kind"), "values": kinds, "value": kind}
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
