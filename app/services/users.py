"""Users: creation, the directory, locale, and the all-or-nothing CSV import."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import OrgUnit, Role, User
from app.security import MIN_PASSWORD_LENGTH, hash_password
from app.services.csvimport import ImportRejected, RowError, read_rows

USER_COLUMNS = ("code", "name", "email", "unit", "role")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserInvalid(ValueError):
    pass


async def get_by_code(db: AsyncSession, code: str) -> User | None:
    return (await db.exec(select(User).where(User.code == code))).first()


def validate_fields(code: str, name: str, email: str, role: str) -> list[str]:
    problems = []
    if not CODE_RE.match(code):
        problems.append("code must be 1–32 letters, digits, '-', '_' or '.'")
    if not name.strip() or len(name) > 120:
        problems.append("name is required (at most 120 characters)")
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        problems.append(f"email {email!r} is not an e-mail address")
    if role not in {r.value for r in Role}:
        problems.append(f"role must be one of {', '.join(r.value for r in Role)}")
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


async def import_users(db: AsyncSession, data: bytes | str) -> int:
    """Create users from CSV `code,name,email,unit,role`; all rows or none."""
    rows = read_rows(data, USER_COLUMNS)
    units = {u.code: u for u in (await db.exec(select(OrgUnit))).all()}
    codes = [row["code"] for _l, row in rows]
    taken = set((await db.exec(select(User.code).where(col(User.code).in_(codes)))).all())
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        problems = validate_fields(row["code"], row["name"], row["email"], row["role"])
        if row["unit"] not in units:
            problems.append(f"unknown unit {row['unit']}")
        if row["code"] in taken:
            problems.append(f"user {row['code']} already exists")
        elif row["code"] in seen:
            problems.append(f"code {row['code']} is repeated (first on line {seen[row['code']]})")
        seen.setdefault(row["code"], line)
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
    if errors:
        raise ImportRejected(errors)
    for _line, row in rows:
        unit_id = units[row["unit"]].id
        assert unit_id is not None
        db.add(
            User(
                code=row["code"],
                name=row["name"],
                email=row["email"] or None,
                unit_id=unit_id,
                role=row["role"],
            )
        )
    await db.commit()
    return len(rows)


async def count_users(db: AsyncSession) -> int:
    return int((await db.exec(sa.select(sa.func.count()).select_from(User))).one()[0])  # type: ignore[call-overload]
