"""Finding users: the admin's filtered list, one user by code, the type-ahead directory, and
the numbers of the admin landing page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import OrgUnit, Role, User
from app.models.tables import units, users
from app.services import org
from app.services.errors import InvalidInput, NotFound
from app.services.people.units import get_unit

PAGE_SIZE = 50


@dataclass
class UserFilters:
    q: str = ""  # employee number prefix or name substring
    unit: str = ""  # unit code: that unit and every unit below it
    role: str = ""
    active: str = ""  # "" (all) | "active" | "inactive"

    @classmethod
    def of(cls, q: str, unit: str, role: str, active: str) -> UserFilters:
        """Filters from a query string: an unknown role or state filters nothing."""
        return cls(
            q=q.strip(),
            unit=unit.strip(),
            role=role if role in {r.value for r in Role} else "",
            active=active if active in ("active", "inactive") else "",
        )

    def query_params(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}

    def any(self) -> bool:
        return bool(self.query_params())


def _encode_code_cursor(code: str) -> str:
    return base64.urlsafe_b64encode(code.encode()).decode().rstrip("=")


def _decode_code_cursor(cursor: str) -> str:
    try:
        code = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [{"loc": ["query", "cursor"], "msg": _("Invalid cursor."), "type": "value_error"}]
        ) from exc
    if not code or len(code) > 64:
        raise InvalidInput(
            [{"loc": ["query", "cursor"], "msg": _("Invalid cursor."), "type": "value_error"}]
        )
    return code


async def _filtered(db: AsyncSession, filters: UserFilters) -> Any:
    stmt = select(User, OrgUnit).join(OrgUnit, col(OrgUnit.id) == User.unit_id)
    if q := filters.q.strip():
        like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            or_(
                col(User.code).ilike(f"{like}%", escape="\\"),
                col(User.name).contains(q, autoescape=True),
            )
        )
    if filters.unit:
        unit = await get_unit(db, filters.unit)
        if unit is None or unit.id is None:
            raise InvalidInput(
                [
                    {
                        "loc": ["query", "unit"],
                        "msg": _("There is no unit with this code."),
                        "type": "value_error",
                    }
                ]
            )
        stmt = stmt.where(col(User.unit_id).in_(await org.subtree_ids(db, unit.id)))
    if filters.role:
        stmt = stmt.where(col(User.role) == filters.role)
    if filters.active in ("active", "inactive"):
        stmt = stmt.where(col(User.active).is_(filters.active == "active"))
    return stmt


async def list_users(
    db: AsyncSession, filters: UserFilters, *, cursor: str | None = None, limit: int = PAGE_SIZE
) -> tuple[list[tuple[User, OrgUnit]], str | None]:
    """Users by employee number (keyset paging on the unique code)."""
    stmt = await _filtered(db, filters)
    if cursor:
        stmt = stmt.where(col(User.code) > _decode_code_cursor(cursor))
    rows = list((await db.exec(stmt.order_by(col(User.code)).limit(limit + 1))).all())
    next_cursor = _encode_code_cursor(rows[limit - 1][0].code) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def count_users(db: AsyncSession, filters: UserFilters) -> int:
    stmt = await _filtered(db, filters)
    counted = sa.select(sa.func.count()).select_from(stmt.subquery())
    return int((await db.execute(counted)).scalar_one())


async def get_user(db: AsyncSession, code: str) -> tuple[User, OrgUnit]:
    """The user with this employee number and their unit, or NotFound."""
    row = (
        await db.exec(
            select(User, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
            .where(User.code == code)
        )
    ).first()
    if row is None:
        raise NotFound(_("There is no user with this employee number."))
    return row[0], row[1]


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


async def overview(db: AsyncSession) -> dict[str, int]:
    """Numbers for the /admin landing page."""
    unit_rows = (
        await db.execute(sa.select(units.c.active, sa.func.count()).group_by(units.c.active))
    ).all()
    user_rows = (
        await db.execute(
            sa.select(users.c.role, users.c.active, sa.func.count()).group_by(
                users.c.role, users.c.active
            )
        )
    ).all()
    out = {"units_active": 0, "units_inactive": 0, "users_active": 0, "users_inactive": 0}
    for active, n in unit_rows:
        out["units_active" if active else "units_inactive"] += int(n)
    for role, active, n in user_rows:
        out["users_active" if active else "users_inactive"] += int(n)
        if active:
            out[f"role_{role}"] = out.get(f"role_{role}", 0) + int(n)
    return out
