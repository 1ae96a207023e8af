"""What the people services share: the audit actions of administration, field checks that
report every wrong field at once, and the UNSET marker of partial updates."""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.services.errors import Conflict, InvalidInput

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_MAX = 120
EMAIL_MAX = 254


class Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


class Actions:
    """The audit log's action names for administration (labelled in app/labels.py)."""

    unit_create = "unit.create"
    unit_rename = "unit.rename"
    unit_kind = "unit.kind"
    unit_move = "unit.move"
    unit_deactivate = "unit.deactivate"
    unit_reactivate = "unit.reactivate"
    user_create = "user.create"
    user_update = "user.update"
    user_role = "user.role"
    user_unit = "user.unit"
    user_scope = "user.scope"
    user_deactivate = "user.deactivate"
    user_reactivate = "user.reactivate"
    user_password_reset = "user.password_reset"
    user_revoke_access = "user.revoke_access"
    token_revoke = "token.revoke"
    scim_token_issue = "scim.token_issue"


def field_error(field: str, msg: str, type_: str = "value_error", **ctx: Any) -> dict[str, Any]:
    """One error of a form or JSON body field, shaped as FastAPI's own."""
    error: dict[str, Any] = {"loc": ["body", field], "msg": msg, "type": type_}
    if ctx:
        error["ctx"] = ctx
    return error


class Problems:
    """Collects field errors so that every wrong field is reported at once."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self.fields: set[str] = set()

    def add(self, name: str, msg: str) -> None:
        if name not in self.fields:
            self.fields.add(name)
            self.errors.append({"loc": ["body", name], "msg": msg, "type": "value_error"})

    def check(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def code_problem(code: str) -> str | None:
    if not CODE_RE.match(code):
        return _("Use 1–32 letters, digits, '-', '_' or '.' (starting with a letter or digit).")
    return None


def name_problem(name: str) -> str | None:
    if not name.strip() or len(name.strip()) > NAME_MAX:
        return _("Enter a name of at most %(max)s characters.") % {"max": NAME_MAX}
    return None


def email_problem(email: str) -> str | None:
    if email and (len(email) > EMAIL_MAX or not EMAIL_RE.match(email)):
        return _("Enter an e-mail address such as name@example.jp, or leave it empty.")
    return None


async def commit_or_conflict(db: AsyncSession, duplicate_msg: str) -> None:
    """Commit; a unique-code race with another admin becomes the same 409 as the check."""
    try:
        await db.commit()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict(duplicate_msg, "code") from exc
