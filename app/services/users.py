"""Users: creation, the directory, locale, and the all-or-nothing CSV import."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import OrgUnit, Role, User
from app.models.tables import users as users_table
from app.security import MIN_PASSWORD_LENGTH, hash_password
from app.services import audit
from app.services.csvimport import (
    ImportRejected,
    ImportReport,
    RowError,
    by_line,
    read_table,
    write_or_refuse,
)
from app.services.errors import InvalidInput

USER_COLUMNS = ("code", "name", "email", "unit", "role")
IMPORT_ACTION = "users.import"  # the audit log's action for a CSV import
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserInvalid(InvalidInput, ValueError):
    """A user that cannot be created; `str()` says every problem (422)."""

    def __init__(self, message: str) -> None:
        super().__init__([{"loc": ["body"], "msg": message, "type": "value_error"}])


async def get_by_code(db: AsyncSession, code: str) -> User | None:
    return (await db.exec(select(User).where(User.code == code))).first()


def validate_fields(code: str, name: str, email: str, role: str) -> list[str]:
    problems = []
    if not CODE_RE.match(code):
        problems.append(_("code must be 1–32 letters, digits, '-', '_' or '.'"))
    if not name.strip() or len(name) > 120:
        problems.append(_("name is required (at most %(n)s characters)") % {"n": 120})
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        problems.append(_("email %(email)s is not an e-mail address") % {"email": repr(email)})
    roles = ", ".join(r.value for r in Role)
    if not role:
        problems.append(_("role is required (one of %(values)s)") % {"values": roles})
    elif role not in {r.value for r in Role}:
        problems.append(
            _("role must be one of %(values)s, not %(role)s") % {"values": roles, "role": role}
        )
    return problems


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInvalid(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


async def add_user(
    db: AsyncSession,
    *,
    code: str,
    name: str,
    unit_code: str,
    role: str = Role.staff.value,
    email: str = "",
    password: str | None = None,
    locale: str = "ja",
) -> User:
    problems = validate_fields(code, name, email, role)
    unit = (await db.exec(select(OrgUnit).where(OrgUnit.code == unit_code))).first()
    if unit is None:
        problems.append(f"unknown unit {unit_code}")
    if await get_by_code(db, code) is not None:
        problems.append(f"user {code} already exists")
    if password is not None:
        try:
            validate_password(password)
        except UserInvalid as exc:
            problems.append(str(exc))
    if problems:
        raise UserInvalid("; ".join(problems))
    assert unit is not None and unit.id is not None
    user = User(
        code=code,
        name=name.strip(),
        email=email or None,
        unit_id=unit.id,
        role=role,
        locale=locale,
        password_hash=hash_password(password) if password else None,
    )
    db.add(user)
    await db.commit()
    await db.refresh(user)
    return user


async def set_locale(db: AsyncSession, user: User, locale: str) -> None:
    user.locale = locale
    db.add(user)
    await db.commit()


async def directory(db: AsyncSession, q: str = "", limit: int = 20) -> list[tuple[User, OrgUnit]]:
    """Active users matching a code prefix or a name substring, for type-ahead."""
    stmt = (
        select(User, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
        .where(col(User.active).is_(True))
        .order_by(col(User.code))
        .limit(limit)
    )
    if q := q.strip():
        like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            or_(col(User.code).ilike(f"{like}%", escape="\\"), col(User.name).contains(q))
        )
    return list((await db.exec(stmt)).all())


async def check_users(db: AsyncSession, data: bytes | str) -> ImportReport:
    """Check a users CSV `code,name,email,unit,role` and write nothing: every bad row with its
    reasons, and the users the import would create. Units must already exist and be active
    (import the units file first); other columns (a password, say) are ignored: imported users
    sign in by SSO or get a one-time password from an admin."""
    try:
        table = read_table(data, USER_COLUMNS)
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
            problems.append(_("unit is required (a unit code)"))
        elif unit is None:
            problems.append(_("unknown unit %(code)s") % {"code": unit_code})
        elif not unit.active:
            problems.append(_("unit %(code)s is deactivated") % {"code": unit_code})
        if code in taken:
            problems.append(_("user %(code)s already exists") % {"code": code})
        elif code in first:
            problems.append(
                _("code %(code)s is repeated (first on line %(line)s)")
                % {"code": code, "line": first[code]}
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
        unit_ids: dict[str, int] = dict(
            (
                await db.exec(
                    sa.select(OrgUnit.code, OrgUnit.id).where(  # type: ignore[call-overload]
                        col(OrgUnit.code).in_({r["unit"] for r in report.rows})
                    )
                )
            ).all()
        )
        users = [
            User(
                code=r["code"],
                name=r["name"],
                email=r["email"],
                unit_id=unit_ids[r["unit"]],
                role=r["role"],
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
            after={"imported": len(report.rows), "codes": [r["code"] for r in report.rows]},
        )

    await write_or_refuse(db, write, lambda: check_users(db, data))
    report.created = len(report.rows)
    return report


async def count_users(db: AsyncSession) -> int:
    return int((await db.exec(sa.select(sa.func.count()).select_from(User))).one()[0])  # type: ignore[call-overload]
