"""The two-person rule over JSON (curators and admins): pending requests, asking for a closed
month to be reopened or a post hidden for personal data to be shown again, approving
(anyone but the requester; an admin for a month) and rejecting (docs/compliance.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.docs import conflict, not_found
from app.api.schemas import PersonRef
from app.deps import CuratorUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.permissions import get_post_for_moderation
from app.services import approvals, kpi
from app.services.errors import InvalidInput
from app.services.inputs import ApprovalIn

router = APIRouter(tags=["approvals"])


class ApprovalPublic(BaseModel):
    id: int
    action: str  # kpi.reopen | post.restore
    status: str  # pending | approved | rejected
    month: str | None  # kpi.reopen: YYYY-MM
    post_id: int | None  # post.restore
    reason: str | None
    requested_by: PersonRef
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None


def approval_public(a: approvals.Approval) -> ApprovalPublic:
    return ApprovalPublic(
        id=a.id,
        action=a.action,
        status=a.status,
        month=kpi.month_key(a.month) if a.month else None,
        post_id=a.post_id,
        reason=a.reason,
        requested_by=PersonRef(code=a.requested_by_code, name=a.requested_by),
        requested_at=a.requested_at,
        decided_by=a.decided_by,
        decided_at=a.decided_at,
    )


@router.get("/approvals", name="api_list_approvals")
async def list_approvals(
    db: SessionDep,
    user: CuratorUser,
    status: Annotated[Literal["pending", "decided"], Query()] = "pending",
) -> list[ApprovalPublic]:
    """Pending requests (oldest first), or the 20 latest decided ones."""
    found = await approvals.list_requests(db, user, pending=status == "pending")
    return [approval_public(a) for a in found]


def _month(month: str | None) -> date:
    found = kpi.month_or_none(month)
    if found is None:
        raise InvalidInput.field("month", _("Name the month (YYYY-MM)."))
    return found


@router.post(
    "/approvals",
    name="api_request_approval",
    status_code=201,
    responses={
        **not_found("No such post (or not one head office acts on)."),
        **conflict("Not closed / not hidden for personal data, or already requested."),
    },
)
async def request_approval(db: SessionDep, user: CuratorUser, body: ApprovalIn) -> ApprovalPublic:
    """Ask for `kpi.reopen` (`month`) or `post.restore` (`post_id`, optional `reason`); nothing
    changes until another curator or admin approves."""
    if body.action == approvals.REOPEN_MONTH:
        return approval_public(await approvals.request_reopen(db, user, _month(body.month)))
    if body.post_id is None:
        raise InvalidInput.field("post_id", _("Name the post."))
    post = await get_post_for_moderation(db, user, body.post_id)
    return approval_public(await approvals.request_restore(db, user, post, body.reason))


@router.post(
    "/approvals/{request_id}/approve",
    name="api_approve_request",
    responses={
        403: {"description": "The requester themselves, or a curator approving a month."},
        **not_found("No such request."),
        **conflict("Already decided, or the target changed meanwhile."),
    },
)
async def approve_request(db: SessionDep, user: CuratorUser, request_id: PathId) -> ApprovalPublic:
    """Approve and carry out the action (a month reopened, a post shown again)."""
    return approval_public(await approvals.approve(db, user, request_id))


@router.post(
    "/approvals/{request_id}/reject",
    name="api_reject_request",
    responses={**not_found("No such request."), **conflict("Already decided.")},
)
async def reject_request(db: SessionDep, user: CuratorUser, request_id: PathId) -> ApprovalPublic:
    """Turn the request down (the requester may withdraw their own); nothing else changes."""
    return approval_public(await approvals.reject(db, user, request_id))
