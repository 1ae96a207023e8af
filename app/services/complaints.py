"""Complaint voices (ご不満の声; curators only, never on the board): record one, change it,
import a CSV file all or nothing. Every change is audited in the same transaction; the
private summary is never copied into the audit log. A curator with a scope (services/scope)
sees and records only the complaints of the units in it: another unit is refused on the
"unit" field (422), another unit's complaint is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.fiscal import fiscal_year_bounds, fiscal_year_of
from app.i18n import _
from app.labels import complaint_category_labels, complaint_status_labels, csv_column
from app.models import ComplaintCategory, ComplaintStatus, ComplaintVoice, Post, User
from app.models.tables import complaint_voices, posts, units
from app.services import audit, scope
from app.services.csvimport import ImportRejected, RowError, read_rows
from app.services.errors import InvalidInput, NotFound
from app.services.inputs import COMPLAINT_SUMMARY_MAX, PostComplaintIn

COLUMNS = ("received_on", "unit", "category", "status", "summary")
SUMMARY_MAX = COMPLAINT_SUMMARY_MAX
LIST_LIMIT = 200
IMPORT_MAX = 5 * 1024 * 1024  # the CSV import, from the page or the API


class Actions:
    create = "complaint.create"
    update = "complaint.update"
    import_ = "complaint.import"


class ComplaintFields(BaseModel):
    """What a complaint is made of; units by code."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    received_on: date
    unit: str = Field(min_length=1, max_length=32)
    category: ComplaintCategory
    status: ComplaintStatus = ComplaintStatus.received
    summary: str = Field(default="", max_length=SUMMARY_MAX)

    @field_validator("received_on")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > i18n.today():
            raise ValueError(_("The date cannot be in the future."))
        return value


def _validate(data: dict[str, Any]) -> ComplaintFields:
    try:
        return ComplaintFields.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


async def _unit_id(db: AsyncSession, user: User, code: str) -> int:
    """The unit of this code, within the user's scope; a 422 on "unit" otherwise."""
    unit_id: int | None = (
        await db.execute(sa.select(units.c.id).where(units.c.code == code))
    ).scalar_one_or_none()
    if unit_id is None:
        raise InvalidInput.field("unit", _("No unit has this code."))
    if not await scope.oversees(db, user, unit_id):
        raise InvalidInput.field("unit", outside_scope())
    return unit_id


def outside_scope() -> str:
    return _("This unit is outside your scope: choose a unit in it.")


def _public_fields(c: ComplaintVoice, unit_code: str) -> dict[str, Any]:
    """What the audit log may hold: everything but the private summary."""
    return {
        "received_on": c.received_on.isoformat(),
        "unit": unit_code,
        "category": c.category,
        "status": c.status,
    }


async def create_complaint(db: AsyncSession, user: User, data: dict[str, Any]) -> ComplaintVoice:
    fields = _validate(data)
    unit_id = await _unit_id(db, user, fields.unit)
    now = clock.now()
    complaint = ComplaintVoice(
        received_on=fields.received_on,
        unit_id=unit_id,
        category=fields.category.value,
        status=fields.status.value,
        summary=fields.summary,
        created_by_id=user.id or 0,
        created_at=now,
        updated_at=now,
    )
    db.add(complaint)
    await db.flush()
    audit.record(
        db,
        user,
        Actions.create,
        "complaint",
        complaint.id,
        after=_public_fields(complaint, fields.unit),
    )
    await db.commit()
    return complaint


async def record_for_post(
    db: AsyncSession, author: User, post: Post, given: PostComplaintIn
) -> ComplaintVoice:
    """A complaint the author of a thanks post said the customer's voice also held: the
    post's unit and received_on, linked to the post, in the caller's transaction (the post's;
    the caller commits). Audited like any other, with the post named."""
    assert post.id is not None and post.received_on is not None
    now = clock.now()
    complaint = ComplaintVoice(
        received_on=post.received_on,
        unit_id=post.unit_id,
        category=given.category,
        status=ComplaintStatus.received.value,
        summary=given.summary,
        post_id=post.id,
        created_by_id=author.id or 0,
        created_at=now,
        updated_at=now,
    )
    db.add(complaint)
    await db.flush()
    after = _public_fields(complaint, await unit_code(db, post.unit_id))
    audit.record(
        db, author, Actions.create, "complaint", complaint.id, after={**after, "post": post.id}
    )
    return complaint


@dataclass(slots=True)
class PostLink:
    """The complaint recorded from a post, as the post page shows it to curators."""

    id: int
    category: str
    received_on: date

    @property
    def fiscal_year(self) -> int:  # the year whose complaint list holds it
        return fiscal_year_of(self.received_on)


async def linked_to_post(db: AsyncSession, viewer: User, post_id: int) -> PostLink | None:
    """The complaint recorded from the post, if its unit is within the viewer's scope."""
    c = complaint_voices.c
    row = (
        await db.execute(
            sa.select(c.id, c.category, c.received_on).where(
                c.post_id == post_id, scope.overseen(viewer, c.unit_id)
            )
        )
    ).first()
    return PostLink(*row) if row else None


async def get_complaint(db: AsyncSession, viewer: User, complaint_id: int) -> ComplaintVoice:
    """The complaint, if it exists within the viewer's scope; NotFound otherwise."""
    complaint = await db.get(ComplaintVoice, complaint_id)
    if complaint is None:
        raise NotFound(_("No such complaint."))
    await scope.ensure_oversees(db, viewer, complaint.unit_id, NotFound(_("No such complaint.")))
    return complaint


async def unit_code(db: AsyncSession, unit_id: int) -> str:
    code = (await db.execute(sa.select(units.c.code).where(units.c.id == unit_id))).scalar_one()
    return str(code)


async def update_complaint(
    db: AsyncSession, user: User, complaint: ComplaintVoice, data: dict[str, Any]
) -> ComplaintVoice:
    """Change any of the fields given (the status above all); the rest stay."""
    old_code = await unit_code(db, complaint.unit_id)
    current = {
        "received_on": complaint.received_on,
        "unit": old_code,
        "category": complaint.category,
        "status": complaint.status,
        "summary": complaint.summary,
    }
    fields = _validate({**current, **data})
    before = _public_fields(complaint, old_code)
    if fields.unit != old_code:
        complaint.unit_id = await _unit_id(db, user, fields.unit)
    summary_changed = fields.summary != complaint.summary
    complaint.received_on = fields.received_on
    complaint.category = fields.category.value
    complaint.status = fields.status.value
    complaint.summary = fields.summary
    after = _public_fields(complaint, fields.unit)
    changed_before = {k: v for k, v in before.items() if after[k] != v}
    changed_after = {k: after[k] for k in changed_before}
    if summary_changed:
        changed_before["summary"] = "…"
        changed_after["summary"] = "changed"
    if not changed_after:
        return complaint
    complaint.updated_at = clock.now()
    db.add(complaint)
    audit.record(
        db,
        user,
        Actions.update,
        "complaint",
        complaint.id,
        before=changed_before,
        after=changed_after,
    )
    await db.commit()
    return complaint


@dataclass(slots=True)
class ComplaintRow:
    id: int
    received_on: date
    unit_code: str
    unit_name: str
    category: str
    status: str
    summary: str
    updated_at: datetime
    post_id: int | None  # the praise post it was found in
    post_status: str | None  # a curator can open it when published or hidden


_ROW_COLUMNS = (
    complaint_voices.c.id,
    complaint_voices.c.received_on,
    units.c.code,
    units.c.name,
    complaint_voices.c.category,
    complaint_voices.c.status,
    complaint_voices.c.summary,
    complaint_voices.c.updated_at,
    complaint_voices.c.post_id,
    posts.c.status,
)
# Each complaint with its unit and, when it was found in a thanks post, that post.
_ROWS_FROM = complaint_voices.join(units, units.c.id == complaint_voices.c.unit_id).outerjoin(
    posts, posts.c.id == complaint_voices.c.post_id
)


async def complaint_row(db: AsyncSession, complaint_id: int) -> ComplaintRow:
    row = (
        await db.execute(
            sa.select(*_ROW_COLUMNS)
            .select_from(_ROWS_FROM)
            .where(complaint_voices.c.id == complaint_id)
        )
    ).first()
    if row is None:
        raise NotFound(_("No such complaint."))
    return ComplaintRow(*row)


async def list_complaints(
    db: AsyncSession,
    viewer: User,
    fy: int,
    *,
    status: str | None = None,
    limit: int = LIST_LIMIT,
) -> list[ComplaintRow]:
    """The fiscal year's complaints of the viewer's scope, newest first (at most `limit`)."""
    start, end = fiscal_year_bounds(fy)
    stmt = (
        sa.select(*_ROW_COLUMNS)
        .select_from(_ROWS_FROM)
        .where(
            complaint_voices.c.received_on >= start,
            complaint_voices.c.received_on < end,
            scope.overseen(viewer, complaint_voices.c.unit_id),
        )
        .order_by(complaint_voices.c.received_on.desc(), complaint_voices.c.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(complaint_voices.c.status == status)
    return [ComplaintRow(*r) for r in await db.execute(stmt)]


def _aliases(labels: Any, enum: type[ComplaintCategory] | type[ComplaintStatus]) -> dict[str, str]:
    """Codes and their labels in every language, so that a file typed in Excel with 保険金関連
    or 対応中 imports as well as one with the codes."""
    found = {e.value: e.value for e in enum}
    for locale in i18n.LOCALES:
        token = i18n.current_locale.set(locale)
        try:
            found.update({label: code for code, label in labels().items()})
        finally:
            i18n.current_locale.reset(token)
    return found


async def import_complaints(
    db: AsyncSession, user: User, data: bytes | str, encoding: str = "auto"
) -> int:
    """Create a complaint per CSV row; all rows or none (ImportRejected names each bad row).
    `encoding` is the file's (csvimport.ENCODINGS; "auto" detects UTF-8 or CP932)."""
    rows = read_rows(data, COLUMNS, encoding=encoding)
    unit_ids = {code: uid for uid, code in await db.execute(sa.select(units.c.id, units.c.code))}
    overseen = await scope.overseen_unit_ids(db, user)
    categories = _aliases(complaint_category_labels, ComplaintCategory)
    statuses = _aliases(complaint_status_labels, ComplaintStatus)
    today = i18n.today()
    errors: list[RowError] = []
    good: list[dict[str, Any]] = []
    for line, row in rows:
        problems = []
        try:
            received_on = date.fromisoformat(row["received_on"])
        except ValueError:
            received_on = None
            problems.append(
                _("%(column)s must be a date (YYYY-MM-DD)") % {"column": csv_column("received_on")}
            )
        if received_on is not None and received_on > today:
            problems.append(
                _("%(column)s cannot be in the future") % {"column": csv_column("received_on")}
            )
        unit_id = unit_ids.get(row["unit"])
        if unit_id is None:
            problems.append(_("unknown unit %(code)s") % {"code": row["unit"] or "''"})
        elif not scope.covers(overseen, (unit_id,)):
            problems.append(outside_scope())
        category = categories.get(row["category"])
        if category is None:
            problems.append(
                _("%(column)s must be one of %(values)s")
                % {
                    "column": csv_column("category"),
                    "values": ", ".join(c.value for c in ComplaintCategory),
                }
            )
        status = statuses.get(row["status"] or ComplaintStatus.received)
        if status is None:
            problems.append(
                _("%(column)s must be one of %(values)s")
                % {
                    "column": csv_column("status"),
                    "values": ", ".join(s.value for s in ComplaintStatus),
                }
            )
        if len(row["summary"]) > SUMMARY_MAX:
            problems.append(
                _("%(column)s is longer than %(n)s characters")
                % {"column": csv_column("summary"), "n": SUMMARY_MAX}
            )
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        good.append(
            {
                "received_on": received_on,
                "unit_id": unit_id,
                "category": category,
                "status": status,
                "summary": row["summary"],
            }
        )
    if errors:
        raise ImportRejected(errors)
    now = clock.now()
    await db.execute(
        sa.insert(complaint_voices),
        [{**g, "created_by_id": user.id, "created_at": now, "updated_at": now} for g in good],
    )
    audit.record(db, user, Actions.import_, "complaint", None, after={"imported": len(good)})
    await db.commit()
    return len(good)
