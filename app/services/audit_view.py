"""The audit log as people read it: each row's target by its title or name (with the page it
links to), and each change by its field's label, with values in words (labels, names, dates).

Everything is looked up for a page of rows at once: one query per kind of target shown.
The labels themselves live in app/labels.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n, links
from app.i18n import _
from app.labels import label
from app.models.tables import (
    api_tokens,
    bulletin_items,
    bulletins,
    comments,
    complaint_voices,
    kpi_month_closes,
    posts,
    units,
    users,
)
from app.services.audit_log import AuditRow


@dataclass(slots=True)
class Shown:
    """A target or a value as the page shows it: its text, a detail in small type (a code),
    and the page it links to (a route name, its parameters and an anchor), if any."""

    text: str
    route: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    anchor: str = ""
    detail: str | None = None


@dataclass(slots=True)
class ChangeLine:
    key: str
    label: str
    before: Shown | None
    after: Shown | None


@dataclass(slots=True)
class Described:
    """One audit row with its target and changes in words."""

    row: AuditRow
    action: str  # the action's label
    target_kind: str  # the label of its target_type
    target: Shown | None
    reason: str
    lines: list[ChangeLine]


# Values that are codes of a label group: by (target type, key), or by key for any target.
_VALUE_GROUPS: dict[tuple[str | None, str], str] = {
    ("post", "status"): "status",
    ("comment", "status"): "status",
    ("bulletin", "status"): "bulletin_status",
    ("complaint", "status"): "complaint_status",
    ("complaint", "category"): "complaint_category",
    ("unit", "kind"): "unit_kind",
    (None, "role"): "role",
    (None, "direction"): "direction",
    (None, "requested"): "audit_action",  # the two-person rule: the action asked for
}
_TIMES = frozenset({"publish_at", "closed_at"})


def _ids(rows: Sequence[AuditRow], target_type: str) -> set[int]:
    return {r.target_id for r in rows if r.target_type == target_type and r.target_id is not None}


def _changed_ids(rows: Sequence[AuditRow], key: str) -> set[int]:
    """The ids a change names under `key` (post_id, item_id)."""
    found = set()
    for r in rows:
        data = r.changes_dict() or {}
        for side in ("before", "after"):
            value = (data.get(side) or {}).get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(value)
    return found


def _comment(i: int, post_id: int, title: str) -> Shown:
    text = _("A comment on “%(title)s”") % {"title": title}
    return Shown(text, "show_post", {"post_id": post_id}, anchor=links.one_comment(i))


def _token(_i: int, token: str, code: str, name: str) -> Shown:
    text = _("“%(token)s” of %(name)s") % {"token": token, "name": name}
    return Shown(text, "show_user", {"code": code}, detail=code)


def _complaint(_i: int, received_on: date, unit: str) -> Shown:
    text = _("%(unit)s, received %(date)s") % {"unit": unit, "date": i18n.format_day(received_on)}
    return Shown(text, "kpi_voices")


# Per target type (and "item", a bulletin entry a change names): the query of its rows by
# id (the id first), and how a row is shown.
_TARGETS: dict[str, tuple[Callable[[set[int]], sa.Select[Any]], Callable[..., Shown]]] = {
    "post": (
        lambda ids: sa.select(posts.c.id, posts.c.title).where(posts.c.id.in_(ids)),
        lambda i, title: Shown(title, "show_post", {"post_id": i}),
    ),
    "comment": (
        lambda ids: (
            sa.select(comments.c.id, comments.c.post_id, posts.c.title)
            .join(posts, posts.c.id == comments.c.post_id)
            .where(comments.c.id.in_(ids))
        ),
        _comment,
    ),
    "bulletin": (
        lambda ids: sa.select(bulletins.c.id, bulletins.c.title).where(bulletins.c.id.in_(ids)),
        lambda i, title: Shown(title, "show_bulletin", {"bulletin_id": i}),
    ),
    "user": (
        lambda ids: sa.select(users.c.id, users.c.code, users.c.name).where(users.c.id.in_(ids)),
        lambda _i, code, name: Shown(name, "show_user", {"code": code}, detail=code),
    ),
    "unit": (
        lambda ids: sa.select(units.c.id, units.c.code, units.c.name).where(units.c.id.in_(ids)),
        lambda _i, code, name: Shown(name, "show_unit", {"code": code}, detail=code),
    ),
    "api_token": (
        lambda ids: (
            sa.select(api_tokens.c.id, api_tokens.c.name, users.c.code, users.c.name)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.id.in_(ids))
        ),
        _token,
    ),
    # A bulletin's entry (a change's item_id): shown by its post's title.
    "item": (
        lambda ids: (
            sa.select(bulletin_items.c.id, bulletin_items.c.post_id, posts.c.title)
            .join(posts, posts.c.id == bulletin_items.c.post_id)
            .where(bulletin_items.c.id.in_(ids))
        ),
        lambda _i, post_id, title: Shown(title, "show_post", {"post_id": post_id}),
    ),
    "kpi_month": (
        lambda ids: sa.select(kpi_month_closes.c.id, kpi_month_closes.c.month).where(
            kpi_month_closes.c.id.in_(ids)
        ),
        lambda _i, month: Shown(_month(month), "kpi"),
    ),
    "complaint": (
        lambda ids: (
            sa.select(complaint_voices.c.id, complaint_voices.c.received_on, units.c.name)
            .join(units, units.c.id == complaint_voices.c.unit_id)
            .where(complaint_voices.c.id.in_(ids))
        ),
        _complaint,
    ),
}


async def _lookup(db: AsyncSession, rows: Sequence[AuditRow]) -> dict[str, dict[int, Shown]]:
    """Each target (and each post a change names) shown by its title or name."""
    out: dict[str, dict[int, Shown]] = {}
    changed = {"post": "post_id", "item": "item_id"}  # ids that changes name, by kind
    for kind, (query, show) in _TARGETS.items():
        ids = _ids(rows, kind) | (_changed_ids(rows, changed[kind]) if kind in changed else set())
        if ids:
            out[kind] = {r[0]: show(*r) for r in await db.execute(query(ids))}
    return out


def _month(value: date) -> str:
    month = i18n.format_month(f"{value:%Y-%m}")
    return _("%(month)s %(year)s") % {"month": month, "year": value.year}


def _value(
    key: str, value: Any, target_type: str, found: dict[str, dict[int, Shown]]
) -> Shown | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Shown(label("yes_no", "true" if value else "false"))
    if key in ("post_id", "item_id") and isinstance(value, int):
        kind = "post" if key == "post_id" else "item"
        return found.get(kind, {}).get(value) or Shown(f"#{value}")
    if key == "audience" and value == "all":
        return Shown(_("Whole company"))
    if isinstance(value, list):
        return Shown(", ".join(str(v) for v in value))
    text = str(value)
    group = _VALUE_GROUPS.get((target_type, key)) or _VALUE_GROUPS.get((None, key))
    if group is not None:
        return Shown(label(group, text))
    if key in _TIMES:
        try:
            return Shown(i18n.format_dt(datetime.fromisoformat(text), "short"))
        except ValueError:
            pass
    if key == "month" and len(text) == 7:
        try:
            return Shown(_month(date.fromisoformat(f"{text}-01")))
        except ValueError:
            pass
    return Shown(text)


def _field_label(target_type: str, key: str) -> str:
    """The key's label, or its more precise one for this target ("user.code": 社員番号)."""
    precise = label("audit_field", f"{target_type}.{key}")
    return precise if precise != f"{target_type}.{key}" else label("audit_field", key)


def _lines(row: AuditRow, found: dict[str, dict[int, Shown]]) -> list[ChangeLine]:
    data = row.changes_dict() or {}
    before = data.get("before") or {}
    after = data.get("after") or {}
    out = []
    for key in dict.fromkeys([*before, *after]):
        out.append(
            ChangeLine(
                key,
                _field_label(row.target_type, key),
                _value(key, before.get(key), row.target_type, found),
                _value(key, after.get(key), row.target_type, found),
            )
        )
    return out


async def describe(db: AsyncSession, rows: Sequence[AuditRow]) -> list[Described]:
    """The rows in words, in the user's language."""
    found = await _lookup(db, rows)
    out = []
    for r in rows:
        target = None
        if r.target_id is not None:
            target = found.get(r.target_type, {}).get(r.target_id) or Shown(f"#{r.target_id}")
        out.append(
            Described(
                row=r,
                action=label("audit_action", r.action),
                target_kind=label("audit_target", r.target_type),
                target=target,
                reason=label("audit_reason", r.reason) if r.reason else "",
                lines=_lines(r, found),
            )
        )
    return out
