"""The two-person rule: an action that undoes a protection is requested by one curator or
admin and carried out only when another approves (docs/compliance.md "Two-person rule").

The actions: reopening a closed KPI month (`kpi.reopen`; approved by an administrator, as
reopening was admins' alone before) and showing again a post hidden for personal data
(`post.restore`; approved by any other curator or admin). Until approved nothing changes;
the request, the approval or rejection and the action itself are each audited. The
decision is a guarded `UPDATE ... WHERE status = 'pending'`, so of two people deciding at
once one wins and the other gets a 409; a partial unique index keeps one pending request per
action and target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.i18n import _
from app.models import ApprovalStatus, Post, Role, User
from app.models.tables import approval_requests, kpi_month_closes, posts, users
from app.services import audit, kpi, moderation, scope
from app.services.errors import Conflict, Forbidden, NotFound

REOPEN_MONTH = "kpi.reopen"
RESTORE_POST = "post.restore"
KINDS = (REOPEN_MONTH, RESTORE_POST)
RECENT_DECIDED = 20


class Actions:
    """The audit log's action names of the rule itself (the approved action adds its own)."""

    request = "approval.request"
    approve = "approval.approve"
    reject = "approval.reject"


@dataclass(slots=True)
class Approval:
    """A request as the pages and the API show it."""

    id: int
    action: str
    target_type: str
    target_id: int
    status: str
    reason: str | None
    requested_by_id: int
    requested_by: str
    requested_by_code: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    month: date | None  # kpi.reopen: the month
    post_title: str | None  # post.restore: the post
    post_id: int | None

    def may_decide(self, user: User) -> bool:
        """Whether `user` may approve it (anyone but the requester; an admin for a month)."""
        return (
            self.status == ApprovalStatus.pending
            and user.id != self.requested_by_id
            and (self.action != REOPEN_MONTH or user.role == Role.admin)
        )


_requester = users.alias("requester")
_decider = users.alias("decider")


def _select() -> sa.Select[Any]:
    r = approval_requests
    return (
        sa.select(
            r.c.id,
            r.c.action,
            r.c.target_type,
            r.c.target_id,
            r.c.status,
            r.c.reason,
            r.c.requested_by_id,
            _requester.c.name,
            _requester.c.code,
            r.c.requested_at,
            _decider.c.name,
            r.c.decided_at,
            kpi_month_closes.c.month,
            posts.c.title,
            posts.c.id,
        )
        .join(_requester, _requester.c.id == r.c.requested_by_id)
        .outerjoin(_decider, _decider.c.id == r.c.decided_by_id)
        .outerjoin(
            kpi_month_closes,
            sa.and_(r.c.target_type == "kpi_month", kpi_month_closes.c.id == r.c.target_id),
        )
        .outerjoin(posts, sa.and_(r.c.target_type == "post", posts.c.id == r.c.target_id))
    )


def _seen_by(viewer: User) -> ColumnElement[bool]:
    """The requests a viewer may see: all for head office; for a curator with a scope, those
    about a post in it (a month is the whole company's: head office's alone)."""
    if not scope.is_scoped(viewer):
        return sa.true()
    return sa.and_(
        approval_requests.c.target_type == "post", scope.overseen(viewer, posts.c.unit_id)
    )


async def list_requests(db: AsyncSession, viewer: User, *, pending: bool) -> list[Approval]:
    """Pending requests oldest first, or the latest decided ones newest first (of what the
    viewer may see)."""
    r = approval_requests
    if pending:
        stmt = _select().where(r.c.status == ApprovalStatus.pending, _seen_by(viewer))
        stmt = stmt.order_by(r.c.id)
    else:
        stmt = (
            _select()
            .where(r.c.status != ApprovalStatus.pending, _seen_by(viewer))
            .order_by(r.c.decided_at.desc(), r.c.id.desc())
            .limit(RECENT_DECIDED)
        )
    return [Approval(*row) for row in await db.execute(stmt)]


async def get_request(db: AsyncSession, request_id: int, viewer: User | None = None) -> Approval:
    """The request (404 when it does not exist, or the viewer's scope does not cover it)."""
    seen = _seen_by(viewer) if viewer is not None else sa.true()
    stmt = _select().where(approval_requests.c.id == request_id, seen)
    row = (await db.execute(stmt)).first()
    if row is None:
        raise NotFound(_("This request does not exist."))
    return Approval(*row)


async def pending_for(db: AsyncSession, action: str, target_id: int) -> Approval | None:
    r = approval_requests
    row = (
        await db.execute(
            _select().where(
                r.c.action == action,
                r.c.target_id == target_id,
                r.c.status == ApprovalStatus.pending,
            )
        )
    ).first()
    return Approval(*row) if row else None


async def pending_reopens(db: AsyncSession, viewer: User) -> dict[date, Approval]:
    """The months someone asked to reopen, for the KPI page's close list."""
    found = await list_requests(db, viewer, pending=True)
    return {a.month: a for a in found if a.action == REOPEN_MONTH and a.month is not None}


@dataclass(slots=True)
class PostRestore:
    """A hidden post's panel: showing it again takes two people; the request, if made."""

    pending: Approval | None


async def post_restore(db: AsyncSession, post_id: int) -> PostRestore | None:
    """None when the post can be shown again directly (not hidden for personal data)."""
    if not await moderation.hidden_for_personal_data(db, post_id):
        return None
    return PostRestore(await pending_for(db, RESTORE_POST, post_id))


async def pending_count(db: AsyncSession, viewer: User) -> int:
    stmt = sa.select(sa.func.count()).select_from(
        _select()
        .where(approval_requests.c.status == ApprovalStatus.pending, _seen_by(viewer))
        .subquery()
    )
    return int((await db.execute(stmt)).scalar_one())


# -- requesting --------------------------------------------------------------------------------


async def _open(
    db: AsyncSession,
    user: User,
    action: str,
    target: tuple[str, int],
    reason: str | None,
    month: str | None = None,
) -> Approval:
    already = _("This has already been requested and is waiting for approval.")
    if await pending_for(db, action, target[1]) is not None:
        raise Conflict(already)
    try:
        # A savepoint: losing a race to the unique index undoes this insert alone.
        async with db.begin_nested():
            request_id = (
                await db.execute(
                    sa.insert(approval_requests)
                    .values(
                        action=action,
                        target_type=target[0],
                        target_id=target[1],
                        reason=reason,
                        status=ApprovalStatus.pending,
                        requested_by_id=user.id,
                        requested_at=clock.now(),
                    )
                    .returning(approval_requests.c.id)
                )
            ).scalar_one()
    except IntegrityError:
        raise Conflict(already) from None
    audit.record(
        db,
        user,
        Actions.request,
        target[0],
        target[1],
        reason=reason,
        after={"request_id": request_id, "requested": action, "month": month},
    )
    await db.commit()
    return await get_request(db, request_id)


async def request_reopen(db: AsyncSession, user: User, month: date) -> Approval:
    """Ask for a closed month to be reopened (409 if it is not closed or already asked; 403
    for a curator with a scope: a month is the whole company's)."""
    if scope.is_scoped(user):
        raise Forbidden(_("Only head office can do this: your scope covers some units."))
    row = (
        await db.execute(
            sa.select(kpi_month_closes.c.id).where(
                kpi_month_closes.c.month == month, kpi_month_closes.c.reopened_at.is_(None)
            )
        )
    ).first()
    if row is None:
        raise Conflict(_("This month is not closed."))
    target = ("kpi_month", row[0])
    return await _open(db, user, REOPEN_MONTH, target, None, kpi.month_key(month))


async def request_restore(
    db: AsyncSession, user: User, post: Post, reason: str | None = None
) -> Approval:
    """Ask for a post hidden for personal data to be shown again (a post hidden for another
    reason is restored directly: 409 here)."""
    why = moderation.clean_reason(reason, required=False)
    assert post.id is not None
    missing = NotFound(_("This post does not exist or is not visible to you."))
    await scope.ensure_oversees(db, user, post.unit_id, missing)
    if not await moderation.hidden_for_personal_data(db, post.id):
        raise Conflict(
            _("Only a post hidden for personal data needs a second person to show it again.")
        )
    return await _open(db, user, RESTORE_POST, ("post", post.id), why)


# -- deciding ----------------------------------------------------------------------------------


async def _decide(db: AsyncSession, user: User, request: Approval, status: str) -> None:
    """Claim the pending request for this decision (409 if someone decided first)."""
    result = await db.execute(
        sa.update(approval_requests)
        .where(
            approval_requests.c.id == request.id,
            approval_requests.c.status == ApprovalStatus.pending,
        )
        .values(status=status, decided_by_id=user.id, decided_at=clock.now())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("This request has already been decided."))
    action = Actions.approve if status == ApprovalStatus.approved else Actions.reject
    audit.record(
        db,
        user,
        action,
        request.target_type,
        request.target_id,
        after={"request_id": request.id, "requested": request.action},
    )


async def approve(db: AsyncSession, user: User, request_id: int) -> Approval:
    """Approve and carry out the action, in one transaction (403 for the requester)."""
    request = await get_request(db, request_id, user)
    if request.status != ApprovalStatus.pending:
        raise Conflict(_("This request has already been decided."))
    if user.id == request.requested_by_id:
        raise Forbidden(
            _("You asked for this yourself: another curator or administrator must approve it.")
        )
    if request.action == REOPEN_MONTH and user.role != Role.admin:
        raise Forbidden(_("Only an administrator can approve reopening a month."))
    await _decide(db, user, request, ApprovalStatus.approved)
    try:
        if request.action == REOPEN_MONTH:
            assert request.month is not None
            await kpi.reopen_month(db, user, request.month, approved=True)
        else:
            post = await db.get(Post, request.target_id)
            if post is None:
                raise NotFound(_("This post does not exist or is not visible to you."))
            await moderation.restore_post(db, user, post, request.reason, approved=True)
    except (Conflict, NotFound):
        await db.rollback()  # the claim and its audit row go too: nothing changed
        raise
    return await get_request(db, request_id)


async def reject(db: AsyncSession, user: User, request_id: int) -> Approval:
    """Turn the request down (the requester may withdraw their own); nothing else changes."""
    request = await get_request(db, request_id, user)
    if request.status != ApprovalStatus.pending:
        raise Conflict(_("This request has already been decided."))
    if user.id != request.requested_by_id and not request.may_decide(user):
        raise Forbidden(_("Only an administrator can approve reopening a month."))
    await _decide(db, user, request, ApprovalStatus.rejected)
    await db.commit()
    return await get_request(db, request_id)
