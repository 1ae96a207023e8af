"""User accounts: the one `create_user`, and the changes an admin makes; every change goes to
the audit log.

Users come from four doors, each checking its input in its own words and then calling
`create_user`: the admin page and API (`add_by_admin`), the CLI (`add_from_cli`), single
sign-on (people/sso.py) and the CSV import (people/user_import.py, which builds the same rows
with `new_user` and writes them in one statement).

Deactivating a user ends all their sessions and API tokens in the same transaction, so a
later reactivation does not bring old logins back; what they wrote stays on the board.
An admin cannot deactivate, demote, reset or sign out themselves here, so there is always
at least one active admin (the one acting).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.i18n import _
from app.labels import csv_column
from app.models import OrgUnit, Role, User
from app.security import MIN_PASSWORD_LENGTH, hash_password
from app.services import audit
from app.services.errors import Conflict, InvalidInput
from app.services.people import sessions, tokens
from app.services.people.rules import (
    CODE_RE,
    EMAIL_RE,
    UNSET,
    Actions,
    Problems,
    Unset,
    code_problem,
    email_problem,
    name_problem,
)
from app.services.people.scopes import scope_problem
from app.services.people.units import get_unit

# One-time passwords: no look-alike characters (0/O, 1/l/I), read aloud or typed from paper.
OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
OTP_GROUPS, OTP_GROUP_LEN = 3, 4


class UserInvalid(InvalidInput, ValueError):
    """A user that cannot be created; `str()` says every problem (422)."""

    def __init__(self, message: str) -> None:
        super().__init__([{"loc": ["body"], "msg": message, "type": "value_error"}])


async def get_by_code(db: AsyncSession, code: str) -> User | None:
    return (await db.exec(select(User).where(User.code == code))).first()


def validate_fields(code: str, name: str, email: str, role: str) -> list[str]:
    problems = []
    if not CODE_RE.match(code):
        problems.append(
            _("%(column)s must be 1–32 letters, digits, '-', '_' or '.'")
            % {"column": csv_column("code")}
        )
    if not name.strip() or len(name) > 120:
        problems.append(
            _("%(column)s is required (at most %(n)s characters)")
            % {"column": csv_column("name"), "n": 120}
        )
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        problems.append(
            _("%(column)s %(email)s is not an e-mail address")
            % {"column": csv_column("email"), "email": repr(email)}
        )
    roles = ", ".join(r.value for r in Role)
    if not role:
        problems.append(
            _("%(column)s is required (one of %(values)s)")
            % {"column": csv_column("role"), "values": roles}
        )
    elif role not in {r.value for r in Role}:
        problems.append(
            _("%(column)s must be one of %(values)s, not %(value)s")
            % {"column": csv_column("role"), "values": roles, "value": role}
        )
    return problems


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInvalid(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


def new_user(
    *,
    code: str,
    name: str,
    unit_id: int,
    role: str,
    email: str | None = None,
    password: str | None = None,
    must_change_password: bool = False,
    locale: str | None = None,
    sso_subject: str | None = None,
    scope_unit_id: int | None = None,
) -> User:
    """A user row as every door builds it: the password is kept only as its hash."""
    user = User(
        code=code,
        name=name,
        email=email or None,
        unit_id=unit_id,
        role=role,
        password_hash=hash_password(password) if password else None,
        must_change_password=must_change_password,
        sso_subject=sso_subject,
        scope_unit_id=scope_unit_id,
    )
    if locale is not None:
        user.locale = locale
    return user


async def create_user(
    db: AsyncSession,
    *,
    code: str,
    name: str,
    unit: OrgUnit,
    role: str,
    email: str | None = None,
    password: str | None = None,
    must_change_password: bool = False,
    locale: str | None = None,
    sso_subject: str | None = None,
    scope: OrgUnit | None = None,
    record: Callable[[User], None] | None = None,
) -> User:
    """Add one (checked) user and commit; `record` writes the door's audit row in the same
    transaction. Another request adding the same code at once: Conflict on "code"."""
    assert unit.id is not None
    user = new_user(
        code=code,
        name=name,
        email=email,
        unit_id=unit.id,
        role=role,
        password=password,
        must_change_password=must_change_password,
        locale=locale,
        sso_subject=sso_subject,
        scope_unit_id=scope.id if scope is not None else None,
    )
    db.add(user)
    try:
        await db.flush()
        if record is not None:
            record(user)
        await db.commit()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict(_("A user with this employee number already exists."), "code") from exc
    await db.refresh(user)
    return user


async def add_from_cli(
    db: AsyncSession,
    *,
    code: str,
    name: str,
    unit_code: str,
    role: str = Role.staff,
    email: str = "",
    password: str | None = None,
    locale: str = "ja",
) -> User:
    """The CLI's `users add`: every problem in one UserInvalid message; not audited."""
    problems = validate_fields(code, name, email, role)
    unit = await get_unit(db, unit_code)
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
    assert unit is not None
    return await create_user(
        db,
        code=code,
        name=name.strip(),
        email=email,
        unit=unit,
        role=role,
        password=password,
        locale=locale,
    )


async def set_locale(db: AsyncSession, user: User, locale: str) -> None:
    user.locale = locale
    db.add(user)
    await db.commit()


def new_one_time_password() -> str:
    raw = "".join(secrets.choice(OTP_ALPHABET) for _i in range(OTP_GROUPS * OTP_GROUP_LEN))
    return "-".join(raw[i : i + OTP_GROUP_LEN] for i in range(0, len(raw), OTP_GROUP_LEN))


def user_snapshot(user: User, unit_code: str, scope_code: str | None = None) -> dict[str, Any]:
    """What the audit log keeps of a user: never a password or its hash."""
    return {
        "code": user.code,
        "name": user.name,
        "email": user.email,
        "unit": unit_code,
        "role": user.role,
        "scope": scope_code,  # a curator's scope (a unit code), None for none
        "active": user.active,
    }


async def _unit_for_user(db: AsyncSession, problems: Problems, code: str) -> OrgUnit | None:
    unit = await get_unit(db, code.strip()) if code.strip() else None
    if unit is None:
        problems.add("unit", _("There is no unit with this code."))
    elif not unit.active:
        problems.add("unit", _("This unit is deactivated; choose an active one."))
        return None
    return unit


def _role_ok(role: str) -> bool:
    return role in {r.value for r in Role}


async def _scope_for_user(
    db: AsyncSession, problems: Problems, role: str, code: str
) -> OrgUnit | None:
    """The unit of a curator's scope (None: no scope); a problem on "scope" otherwise."""
    code = code.strip()
    unit = await get_unit(db, code) if code else None
    if msg := scope_problem(role, code, unit):
        problems.add("scope", msg)
        return None
    return unit


async def check_new_user(
    db: AsyncSession, *, code: str, name: str, email: str, unit: str, role: str, scope: str = ""
) -> tuple[OrgUnit, OrgUnit | None]:
    """The rules for a new user's (stripped) fields, every wrong field at once (InvalidInput),
    then a taken employee number (Conflict on "code"); answers the (active) unit and the
    scope's unit (a curator's, or None)."""
    problems = Problems()
    if msg := code_problem(code):
        problems.add("code", msg)
    if msg := name_problem(name):
        problems.add("name", msg)
    if msg := email_problem(email):
        problems.add("email", msg)
    unit_row = await _unit_for_user(db, problems, unit)
    if not _role_ok(role):
        problems.add("role", _("Choose one of the options."))
    scope_row = await _scope_for_user(db, problems, role, scope)
    problems.check()
    assert unit_row is not None and unit_row.id is not None
    if await get_by_code(db, code) is not None:
        raise Conflict(_("A user with this employee number already exists."), "code")
    return unit_row, scope_row


async def add_by_admin(
    db: AsyncSession,
    actor: User,
    *,
    code: str,
    name: str,
    email: str,
    unit: str,
    role: str,
    one_time_password: bool = False,
    scope: str | None = None,
) -> tuple[User, str | None]:
    """Add a user; with `one_time_password` also answer a password they must change first;
    `scope`: a curator's scope (a unit code)."""
    code, name, email = code.strip(), name.strip(), email.strip()
    unit_row, scope_row = await check_new_user(
        db, code=code, name=name, email=email, unit=unit, role=role, scope=scope or ""
    )
    if one_time_password:
        _passwords_in_use("one_time_password")
    password = new_one_time_password() if one_time_password else None

    def record(user: User) -> None:
        after = user_snapshot(user, unit_row.code, scope_row.code if scope_row else None)
        after["one_time_password"] = password is not None  # that one was set, never which
        audit.record(db, actor, Actions.user_create, "user", user.id, after=after)

    user = await create_user(
        db,
        code=code,
        name=name,
        email=email,
        unit=unit_row,
        role=role,
        password=password,
        must_change_password=password is not None,
        scope=scope_row,
        record=record,
    )
    return user, password


async def _end_access(db: AsyncSession, user_id: int) -> tuple[int, int]:
    """End every live session and revoke every API token (in the caller's transaction)."""
    return await sessions.end_sessions(db, user_id), await tokens.revoke_all(db, user_id)


def _passwords_in_use(field: str) -> None:
    """One-time passwords only make sense while password login is on."""
    if not get_settings().password_login:
        raise Conflict(
            _("Password login is switched off: everyone signs in through single sign-on."), field
        )


def _not_yourself(actor: User, user: User, field: str, message: str) -> None:
    if actor.id == user.id:
        raise Conflict(message, field)


async def update_user(
    db: AsyncSession,
    actor: User,
    user: User,
    *,
    name: str | Unset = UNSET,
    email: str | Unset | None = UNSET,
    role: str | Unset = UNSET,
    unit: str | Unset = UNSET,
    active: bool | Unset = UNSET,
    scope: str | Unset | None = UNSET,
    reason: str | None = None,
) -> User:
    """Change details, role, unit, scope and active state in one go: all the changes or none.
    `reason` goes on the audit rows (such as "SCIM" for the identity provider's changes).
    A role other than curator takes the scope away unless `scope` names one (then 422)."""
    assert user.id is not None
    problems = Problems()
    old_unit = await db.get(OrgUnit, user.unit_id)
    assert old_unit is not None
    if isinstance(name, str):
        name = name.strip()
        if msg := name_problem(name):
            problems.add("name", msg)
    if not isinstance(email, Unset):
        email = (email or "").strip()
        if msg := email_problem(email):
            problems.add("email", msg)
    if isinstance(role, str) and not _role_ok(role):
        problems.add("role", _("Choose one of the options."))
    new_unit = old_unit
    if isinstance(unit, str) and unit.strip() != old_unit.code:
        new_unit = await _unit_for_user(db, problems, unit) or old_unit
    old_scope = await db.get(OrgUnit, user.scope_unit_id) if user.scope_unit_id else None
    new_role = role if isinstance(role, str) else user.role
    new_scope = old_scope if new_role == Role.curator else None
    if not isinstance(scope, Unset):
        new_scope = await _scope_for_user(db, problems, new_role, scope or "")
    problems.check()
    if isinstance(role, str) and role != Role.admin and user.role == Role.admin:
        _not_yourself(
            actor,
            user,
            "role",
            _("You cannot take the admin role from yourself; ask another admin."),
        )
    if active is False:
        _not_yourself(
            actor, user, "active", _("You cannot deactivate yourself; ask another admin.")
        )
    if active is True and not user.active and not new_unit.active:
        raise Conflict(
            _("The user's unit is deactivated: move the user to an active unit first."), "unit"
        )

    def change(action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        audit.record(
            db,
            actor,
            action,
            "user",
            user.id,
            reason=reason,
            before={"code": user.code, **before},
            after={"code": user.code, **after},
        )

    details_before: dict[str, Any] = {}
    details_after: dict[str, Any] = {}
    if isinstance(name, str) and name != user.name:
        details_before["name"], details_after["name"] = user.name, name
        user.name = name
    if isinstance(email, str) and (email or None) != user.email:
        details_before["email"], details_after["email"] = user.email, email or None
        user.email = email or None
    if details_after:
        change(Actions.user_update, details_before, details_after)
    if isinstance(role, str) and role != user.role:
        change(Actions.user_role, {"role": user.role}, {"role": role})
        user.role = role
    if new_unit is not old_unit:
        change(Actions.user_unit, {"unit": old_unit.code}, {"unit": new_unit.code})
        assert new_unit.id is not None
        user.unit_id = new_unit.id
    if (new_scope.id if new_scope else None) != user.scope_unit_id:
        change(
            Actions.user_scope,
            {"scope": old_scope.code if old_scope else None},
            {"scope": new_scope.code if new_scope else None},
        )
        user.scope_unit_id = new_scope.id if new_scope else None
    if active is False and user.active:
        user.active = False
        ended, revoked = await _end_access(db, user.id)
        change(
            Actions.user_deactivate,
            {"active": True},
            {"active": False, "sessions_ended": ended, "tokens_revoked": revoked},
        )
    elif active is True and not user.active:
        user.active = True
        change(Actions.user_reactivate, {"active": False}, {"active": True})
    db.add(user)
    await db.commit()
    return user


async def set_one_time_password(db: AsyncSession, actor: User, user: User) -> str:
    """A new random password, answered once; the user must change it at the next login.

    Their open sessions end (they could not answer the change form's "current password");
    API tokens stay but are refused until the user has chosen a new password (deps.py).
    """
    assert user.id is not None
    _not_yourself(actor, user, "password", _("Change your own password in your settings instead."))
    _passwords_in_use("password")
    password = new_one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    db.add(user)
    ended = await sessions.end_sessions(db, user.id)
    audit.record(
        db,
        actor,
        Actions.user_password_reset,
        "user",
        user.id,
        after={"code": user.code, "must_change_password": True, "sessions_ended": ended},
    )
    await db.commit()
    return password


async def revoke_access(db: AsyncSession, actor: User, user: User) -> tuple[int, int]:
    """End every session and revoke every API token of the user: (sessions, tokens)."""
    assert user.id is not None
    _not_yourself(actor, user, "access", _("You cannot sign yourself out here; use Log out."))
    ended, revoked = await _end_access(db, user.id)
    audit.record(
        db,
        actor,
        Actions.user_revoke_access,
        "user",
        user.id,
        after={"code": user.code, "sessions_ended": ended, "tokens_revoked": revoked},
    )
    await db.commit()
    return ended, revoked
