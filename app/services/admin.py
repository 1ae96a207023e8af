"""Administration rules: the unit tree and user accounts; every change goes to the audit log.

Deactivating a unit (docs/admin.md): it is no longer offered for new users, moves or new
units below it, and the directory API leaves it out; it stays in the tree, on its page, in
old posts and in the KPI (its posts keep counting). It is refused while the unit still has
active users or active units below it. Units are never deleted.

Deactivating a user ends all their sessions and API tokens in the same transaction, so a
later reactivation does not bring old logins back; what they wrote stays on the board.
An admin cannot deactivate, demote, reset or sign out themselves here, so there is always
at least one active admin (the one acting).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.i18n import _
from app.models import ApiToken, OrgUnit, PostStatus, Role, UnitKind, User, UserSession
from app.models.base import utcnow
from app.models.tables import posts, units, users
from app.security import hash_password
from app.services import audit, org
from app.services.errors import Conflict, InvalidInput
from app.services.users import CODE_RE, EMAIL_RE

NAME_MAX = 120
EMAIL_MAX = 254
PAGE_SIZE = 50
# One-time passwords: no look-alike characters (0/O, 1/l/I), read aloud or typed from paper.
OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
OTP_GROUPS, OTP_GROUP_LEN = 3, 4


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class Actions:
    """The audit log's action names for administration."""

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
    user_deactivate = "user.deactivate"
    user_reactivate = "user.reactivate"
    user_password_reset = "user.password_reset"
    user_revoke_access = "user.revoke_access"
    token_revoke = "token.revoke"


def action_labels() -> dict[str, str]:
    """Human names of the administration actions, for the audit log page."""
    return {
        Actions.unit_create: _("Add unit"),
        Actions.unit_rename: _("Rename unit"),
        Actions.unit_kind: _("Change unit kind"),
        Actions.unit_move: _("Move unit"),
        Actions.unit_deactivate: _("Deactivate unit"),
        Actions.unit_reactivate: _("Reactivate unit"),
        Actions.user_create: _("Add user"),
        Actions.user_update: _("Change user details"),
        Actions.user_role: _("Change role"),
        Actions.user_unit: _("Change user's unit"),
        Actions.user_deactivate: _("Deactivate user"),
        Actions.user_reactivate: _("Reactivate user"),
        Actions.user_password_reset: _("Set one-time password"),
        Actions.user_revoke_access: _("End sessions and tokens"),
        Actions.token_revoke: _("Revoke API token"),
    }


class _Problems:
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


def _code_problem(code: str) -> str | None:
    if not CODE_RE.match(code):
        return _("Use 1–32 letters, digits, '-', '_' or '.' (starting with a letter or digit).")
    return None


def _name_problem(name: str) -> str | None:
    if not name.strip() or len(name.strip()) > NAME_MAX:
        return _("Enter a name of at most %(max)s characters.") % {"max": NAME_MAX}
    return None


def _email_problem(email: str) -> str | None:
    if email and (len(email) > EMAIL_MAX or not EMAIL_RE.match(email)):
        return _("Enter an e-mail address such as name@example.jp, or leave it empty.")
    return None


async def _commit(db: AsyncSession, duplicate_msg: str) -> None:
    """Commit; a unique-code race with another admin becomes the same 409 as the check."""
    try:
        await db.commit()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict(duplicate_msg, "code") from exc


# -- units -----------------------------------------------------------------------------------


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
            .where(posts.c.status != PostStatus.deleted.value)
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


def unit_snapshot(unit: OrgUnit, parent_code: str | None) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "parent": parent_code,
        "active": unit.active,
    }


async def _parent_for(
    db: AsyncSession, problems: _Problems, parent_code: str, *, moving: OrgUnit | None = None
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
    problems = _Problems()
    if msg := _code_problem(code):
        problems.add("code", msg)
    if msg := _name_problem(name):
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
    await _commit(db, duplicate)
    return unit


async def update_unit(
    db: AsyncSession,
    actor: User,
    unit: OrgUnit,
    *,
    name: str | _Unset = UNSET,
    kind: str | _Unset = UNSET,
    parent: str | _Unset | None = UNSET,
    active: bool | _Unset = UNSET,
) -> OrgUnit:
    """Rename, change kind, move and (de)activate in one go: all the changes or none."""
    assert unit.id is not None
    problems = _Problems()
    old_parent = await db.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    old_parent_code = old_parent.code if old_parent else None
    if isinstance(name, str):
        name = name.strip()
        if msg := _name_problem(name):
            problems.add("name", msg)
    if isinstance(kind, str) and kind not in {k.value for k in UnitKind}:
        problems.add("kind", _("Choose one of the options."))
    new_parent: OrgUnit | None = old_parent
    if not isinstance(parent, _Unset):
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


# -- users: the list -------------------------------------------------------------------------


@dataclass
class UserFilters:
    q: str = ""  # employee number prefix or name substring
    unit: str = ""  # unit code: that unit and every unit below it
    role: str = ""
    active: str = ""  # "" (all) | "active" | "inactive"

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


async def get_user(db: AsyncSession, code: str) -> tuple[User, OrgUnit] | None:
    row = (
        await db.exec(
            select(User, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == User.unit_id)
            .where(User.code == code)
        )
    ).first()
    return (row[0], row[1]) if row else None


# -- users: changes --------------------------------------------------------------------------


def new_one_time_password() -> str:
    raw = "".join(secrets.choice(OTP_ALPHABET) for _i in range(OTP_GROUPS * OTP_GROUP_LEN))
    return "-".join(raw[i : i + OTP_GROUP_LEN] for i in range(0, len(raw), OTP_GROUP_LEN))


def user_snapshot(user: User, unit_code: str) -> dict[str, Any]:
    """What the audit log keeps of a user: never a password or its hash."""
    return {
        "code": user.code,
        "name": user.name,
        "email": user.email,
        "unit": unit_code,
        "role": user.role,
        "active": user.active,
    }


async def _unit_for_user(db: AsyncSession, problems: _Problems, code: str) -> OrgUnit | None:
    unit = await get_unit(db, code.strip()) if code.strip() else None
    if unit is None:
        problems.add("unit", _("There is no unit with this code."))
    elif not unit.active:
        problems.add("unit", _("This unit is deactivated; choose an active one."))
        return None
    return unit


def _role_ok(role: str) -> bool:
    return role in {r.value for r in Role}


async def create_user(
    db: AsyncSession,
    actor: User,
    *,
    code: str,
    name: str,
    email: str,
    unit: str,
    role: str,
    one_time_password: bool = False,
) -> tuple[User, str | None]:
    """Add a user; with `one_time_password` also answer a password they must change first."""
    code, name, email = code.strip(), name.strip(), email.strip()
    problems = _Problems()
    if msg := _code_problem(code):
        problems.add("code", msg)
    if msg := _name_problem(name):
        problems.add("name", msg)
    if msg := _email_problem(email):
        problems.add("email", msg)
    unit_row = await _unit_for_user(db, problems, unit)
    if not _role_ok(role):
        problems.add("role", _("Choose one of the options."))
    problems.check()
    assert unit_row is not None and unit_row.id is not None
    duplicate = _("A user with this employee number already exists.")
    if (await db.exec(select(User.id).where(User.code == code))).first() is not None:
        raise Conflict(duplicate, "code")
    if one_time_password:
        _passwords_in_use("one_time_password")
    password = new_one_time_password() if one_time_password else None
    user = User(
        code=code,
        name=name,
        email=email or None,
        unit_id=unit_row.id,
        role=role,
        password_hash=hash_password(password) if password else None,
        must_change_password=password is not None,
    )
    db.add(user)
    await db.flush()
    after = user_snapshot(user, unit_row.code)
    after["one_time_password"] = password is not None  # that one was set, never which
    audit.record(db, actor, Actions.user_create, "user", user.id, after=after)
    await _commit(db, duplicate)
    return user, password


async def _revoke_all(db: AsyncSession, user_id: int) -> tuple[int, int]:
    """Revoke every live session and API token of the user (in the caller's transaction)."""
    now = utcnow()
    sessions = await db.exec(
        sa.update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    tokens = await db.exec(
        sa.update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(sessions.rowcount or 0), int(tokens.rowcount or 0)


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
    name: str | _Unset = UNSET,
    email: str | _Unset | None = UNSET,
    role: str | _Unset = UNSET,
    unit: str | _Unset = UNSET,
    active: bool | _Unset = UNSET,
) -> User:
    """Change details, role, unit and active state in one go: all the changes or none."""
    assert user.id is not None
    problems = _Problems()
    old_unit = await db.get(OrgUnit, user.unit_id)
    assert old_unit is not None
    if isinstance(name, str):
        name = name.strip()
        if msg := _name_problem(name):
            problems.add("name", msg)
    if not isinstance(email, _Unset):
        email = (email or "").strip()
        if msg := _email_problem(email):
            problems.add("email", msg)
    if isinstance(role, str) and not _role_ok(role):
        problems.add("role", _("Choose one of the options."))
    new_unit = old_unit
    if isinstance(unit, str) and unit.strip() != old_unit.code:
        new_unit = await _unit_for_user(db, problems, unit) or old_unit
    problems.check()
    if isinstance(role, str) and role != Role.admin.value and user.role == Role.admin.value:
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
    if active is False and user.active:
        user.active = False
        sessions, tokens = await _revoke_all(db, user.id)
        change(
            Actions.user_deactivate,
            {"active": True},
            {"active": False, "sessions_ended": sessions, "tokens_revoked": tokens},
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
    now = utcnow()
    ended = await db.exec(
        sa.update(UserSession)
        .where(col(UserSession.user_id) == user.id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    audit.record(
        db,
        actor,
        Actions.user_password_reset,
        "user",
        user.id,
        after={"code": user.code, "must_change_password": True, "sessions_ended": ended.rowcount},
    )
    await db.commit()
    return password


async def revoke_access(db: AsyncSession, actor: User, user: User) -> tuple[int, int]:
    """End every session and revoke every API token of the user: (sessions, tokens)."""
    assert user.id is not None
    _not_yourself(actor, user, "access", _("You cannot sign yourself out here; use Log out."))
    sessions, tokens = await _revoke_all(db, user.id)
    audit.record(
        db,
        actor,
        Actions.user_revoke_access,
        "user",
        user.id,
        after={"code": user.code, "sessions_ended": sessions, "tokens_revoked": tokens},
    )
    await db.commit()
    return sessions, tokens


async def get_token(db: AsyncSession, token_id: int) -> tuple[ApiToken, User] | None:
    row = (
        await db.exec(
            select(ApiToken, User)
            .join(User, col(User.id) == ApiToken.user_id)
            .where(ApiToken.id == token_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def revoke_token(db: AsyncSession, actor: User, token: ApiToken, owner: User) -> bool:
    """Revoke one API token of anyone; False (and nothing logged) if it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.add(token)
    audit.record(
        db,
        actor,
        Actions.token_revoke,
        "api_token",
        token.id,
        before={"user": owner.code, "name": token.name, "prefix": token.prefix, "revoked": False},
        after={"revoked": True},
    )
    await db.commit()
    return True


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
