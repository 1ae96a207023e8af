"""Finding users and units: the admin's filtered list, one user by code, the type-ahead
directories (colleagues, units), the unit a person typed into a filter, and the numbers of the
admin landing page."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
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
        stmt = stmt.where(_code_or_name(User.code, User.name, q))
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


async def directory(
    db: AsyncSession, q: str = "", limit: int = 20, *, excluding: int | None = None
) -> list[tuple[User, OrgUnit]]:
    """Active users matching a code prefix or a name substring, for type-ahead; `excluding`
    leaves one user out (the one typing: nobody mentions or thanks themself)."""
    stmt = (
        select(User, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
        .where(col(User.active).is_(True))
        .order_by(col(User.code))
        .limit(limit)
    )
    if excluding is not None:
        stmt = stmt.where(col(User.id) != excluding)
    if q := q.strip():
        stmt = stmt.where(_code_or_name(User.code, User.name, q))
    return list((await db.exec(stmt)).all())


async def names_by_code(db: AsyncSession, codes: list[str]) -> dict[str, str]:
    """The names of these employee numbers (unknown ones are left out)."""
    if not codes:
        return {}
    rows = await db.execute(
        sa.select(users.c.code, users.c.name).where(users.c.code.in_(set(codes[:100])))
    )
    return {code: name for code, name in rows}


# The spaces a name may be written with, between family and given name: ignored on both
# sides, so 田中太郎 finds 田中　太郎 and 田中 太郎 finds 田中太郎.
NAME_SPACES = (" ", "\u3000", "\u00a0", "\t")


def _without_spaces(column: Any) -> Any:
    for space in NAME_SPACES:
        column = sa.func.replace(column, space, "")
    return column


def _code_or_name(code: Any, name: Any, q: str) -> Any:
    """A code that starts with q (any case; typed full-width, Ｅ１００１, too) or a name that
    holds it, spaces of any width ignored: what type-ahead matches. docs/search.md."""
    typed = "".join(q.split())
    code_prefix = unicodedata.normalize("NFKC", typed)
    like = code_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(
        col(code).ilike(f"{like}%", escape="\\"),
        _without_spaces(col(name)).contains(typed, autoescape=True),
    )


# A unit as the pickers show it, "新宿店 (TKY-001)": the code is in the last brackets.
_UNIT_LABEL = re.compile(r"[(（]\s*([^()（）]+?)\s*[)）]\s*$")


def unit_label(unit: OrgUnit) -> str:
    """How a unit picker shows a unit and what it sends back: "name (code)"."""
    return f"{unit.name} ({unit.code})"


async def unit_choices(db: AsyncSession, q: str = "", limit: int = 20) -> list[OrgUnit]:
    """Units for a type-ahead, by code: the code starts with what was typed or the name holds
    it (deactivated ones too: their old posts are still on the board)."""
    stmt = select(OrgUnit).order_by(col(OrgUnit.code)).limit(limit)
    if q := q.strip():
        picked = _UNIT_LABEL.search(q)
        stmt = stmt.where(_code_or_name(OrgUnit.code, OrgUnit.name, picked[1] if picked else q))
    return list((await db.exec(stmt)).all())


async def find_unit(db: AsyncSession, typed: str) -> OrgUnit:
    """The unit a person typed into a filter: its code (any case), "name (code)" as the picker
    offers it, its full name, or a part of its name that fits no other unit. InvalidInput
    naming what was typed when there is none, or more than one."""
    text = typed.strip()
    picked = _UNIT_LABEL.search(text)
    code = picked[1] if picked else text
    exact = select(OrgUnit).where(
        or_(sa.func.upper(OrgUnit.code) == code.upper(), col(OrgUnit.name) == text)
    )
    found = list((await db.exec(exact.limit(2))).all())
    if not found and not picked:
        found = list(
            (
                await db.exec(
                    select(OrgUnit)
                    .where(col(OrgUnit.name).contains(text, autoescape=True))
                    .limit(2)
                )
            ).all()
        )
    if len(found) == 1:
        return found[0]
    if found:
        msg = _("“%(unit)s” fits more than one unit: pick one from the list.")
    else:
        msg = _("There is no unit “%(unit)s”: pick one from the list, or type its code or name.")
    raise InvalidInput.field("unit", msg % {"unit": text})


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
