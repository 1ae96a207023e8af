"""The all-or-nothing CSV import of users: check every row, then create them all or none."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.labels import csv_column
from app.models import OrgUnit, User
from app.models.tables import users as users_table
from app.services import audit
from app.services.csvimport import (
    ImportRejected,
    ImportReport,
    RowError,
    by_line,
    read_table,
    write_or_refuse,
)
from app.services.people.scopes import scope_problem
from app.services.people.users import new_user, validate_fields

USER_COLUMNS = ("code", "name", "email", "unit", "role")
OPTIONAL_COLUMNS = ("scope",)  # a curator's scope: a unit code (docs/compliance.md)
IMPORT_ACTION = "users.import"  # the audit log's action for a CSV import


async def check_users(db: AsyncSession, data: bytes | str) -> ImportReport:
    """Check a users CSV `code,name,email,unit,role[,scope]` and write nothing: every bad row
    with its reasons, and the users the import would create. Units must already exist and be
    active (import the units file first); `scope`, optional, is a curator's scope (a unit
    code; empty for none); other columns (a password, say) are ignored: imported users sign
    in by SSO or get a one-time password from an admin."""
    try:
        table = read_table(data, USER_COLUMNS, optional=OPTIONAL_COLUMNS)
    except ImportRejected as exc:
        return exc.report
    units = {u.code: u for u in (await db.exec(select(OrgUnit))).all()}
    codes = sorted({row["code"] for _line, row in table.rows if row["code"]})
    taken: set[str] = set()
    for i in range(0, len(codes), 500):  # well under every driver's limit of bound values
        chunk = codes[i : i + 500]
        taken.update((await db.exec(select(User.code).where(col(User.code).in_(chunk)))).all())
    errors = list(table.errors)
    rows: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for line, row in table.rows:
        code, name, email, unit_code, role = (row[c] for c in USER_COLUMNS)
        problems = validate_fields(code, name, email, role)
        unit = units.get(unit_code)
        if not unit_code:
            problems.append(
                _("%(column)s is required (a unit code)") % {"column": csv_column("unit")}
            )
        elif unit is None:
            problems.append(_("unknown unit %(code)s") % {"code": unit_code})
        elif not unit.active:
            problems.append(_("unit %(code)s is deactivated") % {"code": unit_code})
        scope = row["scope"]
        if msg := scope_problem(role, scope, units.get(scope)):
            problems.append(f"{csv_column('scope')}: {msg}")
        if code in taken:
            problems.append(_("user %(code)s already exists") % {"code": code})
        elif code in first:
            problems.append(
                _("%(column)s %(code)s is repeated (first on line %(line)s)")
                % {"column": csv_column("code"), "code": code, "line": first[code]}
            )
        first.setdefault(code, line)
        errors.extend(RowError(line, p, code) for p in problems)
        if not problems:
            assert unit is not None
            rows.append(
                {
                    "line": line,
                    "code": code,
                    "name": name,
                    "email": email or None,
                    "unit": unit_code,
                    "unit_name": unit.name,
                    "role": role,
                    "scope": scope or None,
                }
            )
    return ImportReport(
        rows_read=len(table.rows) + len(table.errors), rows=rows, errors=by_line(errors)
    )


async def import_users(
    db: AsyncSession, data: bytes | str, actor: User | None = None
) -> ImportReport:
    """Check the file (check_users) and create every user in one transaction, or none:
    ImportRejected lists every bad row. One audit row records the count and the codes."""
    report = await check_users(db, data)
    if not report.ok:
        raise ImportRejected(report.errors, report)

    async def write() -> None:
        wanted = {r["unit"] for r in report.rows} | {r["scope"] for r in report.rows if r["scope"]}
        unit_ids: dict[str, int] = dict(
            (
                await db.exec(
                    sa.select(OrgUnit.code, OrgUnit.id).where(  # type: ignore[call-overload]
                        col(OrgUnit.code).in_(wanted)
                    )
                )
            ).all()
        )
        # The rows create_user would add, built the same way.
        users = [
            new_user(
                code=r["code"],
                name=r["name"],
                email=r["email"],
                unit_id=unit_ids[r["unit"]],
                role=r["role"],
                scope_unit_id=unit_ids[r["scope"]] if r["scope"] else None,
            )
            for r in report.rows
        ]
        # A Core executemany (the models fill in their defaults): the ORM would insert the
        # objects one by one, some ten times slower for a file of 3,000 users.
        await db.execute(sa.insert(users_table), [u.model_dump(exclude={"id"}) for u in users])
        audit.record(
            db,
            actor,
            IMPORT_ACTION,
            "user",
            None,
            after={
                "imported": len(report.rows),
                "codes": [r["code"] for r in report.rows],
                "scopes": {r["code"]: r["scope"] for r in report.rows if r["scope"]},
            },
        )

    await write_or_refuse(db, write, lambda: check_users(db, data))
    report.created = len(report.rows)
    return report
