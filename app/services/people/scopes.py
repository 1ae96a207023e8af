"""Setting a curator's scope (docs/compliance.md "Curators with a scope"): the checks every
door shares (the admin page and API, the CSV import, SCIM), and the codes shown for it.

Only a curator has a scope: a scope given with another role is refused on the "scope" field
(422); a curator whose role changes to staff or admin loses their scope in the same change
(audited as `user.scope`). What a scope lets a curator see and do is services/scope.py.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import OrgUnit, Role
from app.models.tables import units


def only_curators() -> str:
    return _("Only a curator can have a scope: choose the curator role, or leave the scope empty.")


def scope_problem(role: str, scope: str, unit: OrgUnit | None) -> str | None:
    """What is wrong with giving `scope` (a unit code, "" for none) to a user of `role`,
    `unit` being the unit of that code if there is one; None when it may be given."""
    if not scope:
        return None
    if role != Role.curator:
        return only_curators()
    if unit is None:
        return _("There is no unit with this code.")
    if not unit.active:
        return _("This unit is deactivated; choose an active one.")
    return None


async def scope_codes(db: AsyncSession, unit_ids: Iterable[int | None]) -> dict[int, str]:
    """The codes of these scope units, by id, in one query (for a page of users)."""
    wanted = {i for i in unit_ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(sa.select(units.c.id, units.c.code).where(units.c.id.in_(wanted)))
    return {int(i): str(c) for i, c in rows}
