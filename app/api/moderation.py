"""Moderation, curation and the audit log over JSON (SPEC §4), for curators only.

Errors: 403 for staff, 404 for an unknown (or draft/deleted) target, 409 when the target is
not in the state the action needs (restoring what is not hidden, ...), 422 for a missing or
empty reason.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from app.api.changes import TO_EXPORT, UpdatedSince, to_export
from app.api.docs import conflict, not_found
from app.api.posts import comment_public, post_public
from app.api.schemas import CommentPublic, Page, PersonRef, PostPublic
from app.deps import CuratorUser, SessionDep
from app.i18n import _
from app.inputs import Day, PathId
from app.models import FlagReason
from app.permissions import get_comment_for_moderation, get_post_for_moderation
from app.services import audit_log, feed, moderation
from app.services import comments as comment_service
from app.services.audit_log import AuditFilters
from app.services.inputs import (
    DismissIn,
    FeatureIn,
    OptionalReasonIn,
    ReasonIn,
    RedactCommentIn,
    RedactPostIn,
)

router = APIRouter(tags=["moderation"])


class DismissResult(BaseModel):
    target: str
    dismissed: int


class FlagReport(BaseModel):
    id: int
    reason: str
    note: str | None
    reporter: PersonRef | None  # None when the system opened it (by_system)
    by_system: bool = False
    created_at: datetime


class FlagGroupPublic(BaseModel):
    target: str
    target_type: str
    target_id: int
    post_id: int
    count: int
    reasons: dict[str, int]
    oldest_at: datetime
    flags: list[FlagReport]
    post: PostPublic
    comment: CommentPublic | None = None


class AuditEntryPublic(BaseModel):
    id: int
    created_at: datetime
    actor: PersonRef | None
    action: str
    target_type: str
    target_id: int | None
    reason: str | None
    changes: dict[str, Any] | None
    prev_hash: str = Field(description="The previous row's hash (64 zeros for the first row)")
    hash: str = Field(description="SHA-256 of this row's canonical content (docs/compliance.md)")


async def _post_answer(
    request: Request, db: SessionDep, user: CuratorUser, post_id: int
) -> PostPublic:
    card = await feed.get_card(db, user, post_id)
    assert card is not None
    return post_public(request, card)


async def _comment_answer(db: SessionDep, comment_id: int) -> CommentPublic:
    return comment_public(await comment_service.comment_view(db, comment_id))


@router.get("/moderation/flags", name="api_moderation_flags")
async def list_flags(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    reason: FlagReason | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[FlagGroupPublic]:
    """Open flags grouped by target, the group with the oldest flag first."""
    groups, next_cursor = await moderation.open_flags(
        db, user, reason.value if reason else None, cursor=cursor, limit=limit
    )
    items = []
    for g in groups:
        items.append(
            FlagGroupPublic(
                target=g.target,
                target_type=g.target_type,
                target_id=g.target_id,
                post_id=g.post.id,
                count=g.count,
                reasons=dict(g.reasons),
                oldest_at=g.oldest,
                flags=[
                    FlagReport(
                        id=f.id,
                        reason=f.reason,
                        note=f.note,
                        reporter=(
                            None
                            if f.reporter_code is None or f.reporter_name is None
                            else PersonRef(code=f.reporter_code, name=f.reporter_name)
                        ),
                        by_system=f.by_system,
                        created_at=f.created_at,
                    )
                    for f in g.flags
                ],
                post=await _post_answer(request, db, user, g.post.id),
                comment=await _comment_answer(db, g.comment.id) if g.comment else None,
            )
        )
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/posts/{post_id}/hide", name="api_hide_post", responses=conflict("Already hidden, or deleted.")
)
async def hide_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId, body: ReasonIn
) -> PostPublic:
    post = await get_post_for_moderation(db, user, post_id)
    await moderation.hide_post(db, user, post, body.reason)
    return await _post_answer(request, db, user, post_id)


@router.post("/posts/{post_id}/restore", name="api_restore_post", responses=conflict("Not hidden."))
async def restore_post(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    post_id: PathId,
    body: OptionalReasonIn | None = None,
) -> PostPublic:
    post = await get_post_for_moderation(db, user, post_id)
    await moderation.restore_post(db, user, post, body.reason if body else None)
    return await _post_answer(request, db, user, post_id)


@router.post(
    "/posts/{post_id}/redact",
    name="api_redact_post",
    responses=conflict("The post can no longer be changed."),
)
async def redact_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId, body: RedactPostIn
) -> PostPublic:
    """Replace title and/or body to remove personal data; the removed text is kept nowhere."""
    post = await get_post_for_moderation(db, user, post_id)
    await moderation.redact_post(db, user, post, body.title, body.body, body.reason)
    return await _post_answer(request, db, user, post_id)


@router.put(
    "/posts/{post_id}/feature", name="api_feature_post", responses=conflict("Not published.")
)
async def feature_post(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    post_id: PathId,
    body: FeatureIn | None = None,
) -> PostPublic:
    """Mark as good practice (好取組); again replaces the note."""
    post = await get_post_for_moderation(db, user, post_id)
    await moderation.feature_post(db, user, post, body.note if body else None)
    return await _post_answer(request, db, user, post_id)


@router.delete(
    "/posts/{post_id}/feature",
    name="api_unfeature_post",
    responses=conflict("Not marked as good practice."),
)
async def unfeature_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> PostPublic:
    post = await get_post_for_moderation(db, user, post_id)
    await moderation.unfeature_post(db, user, post)
    return await _post_answer(request, db, user, post_id)


@router.post(
    "/comments/{comment_id}/hide",
    name="api_hide_comment",
    responses=conflict("Already hidden, or deleted."),
)
async def hide_comment(
    db: SessionDep, user: CuratorUser, comment_id: PathId, body: ReasonIn
) -> CommentPublic:
    comment = await get_comment_for_moderation(db, user, comment_id)
    await moderation.hide_comment(db, user, comment, body.reason)
    return await _comment_answer(db, comment_id)


@router.post(
    "/comments/{comment_id}/restore", name="api_restore_comment", responses=conflict("Not hidden.")
)
async def restore_comment(
    db: SessionDep, user: CuratorUser, comment_id: PathId, body: OptionalReasonIn | None = None
) -> CommentPublic:
    comment = await get_comment_for_moderation(db, user, comment_id)
    await moderation.restore_comment(db, user, comment, body.reason if body else None)
    return await _comment_answer(db, comment_id)


@router.post(
    "/comments/{comment_id}/redact",
    name="api_redact_comment",
    responses=conflict("The comment can no longer be changed."),
)
async def redact_comment(
    db: SessionDep, user: CuratorUser, comment_id: PathId, body: RedactCommentIn
) -> CommentPublic:
    comment = await get_comment_for_moderation(db, user, comment_id)
    await moderation.redact_comment(db, user, comment, body.body, body.reason)
    return await _comment_answer(db, comment_id)


@router.post(
    "/flags/dismiss",
    name="api_dismiss_flags",
    responses={**conflict("No open reports on the target."), **not_found("No such target.")},
)
async def dismiss_flags(db: SessionDep, user: CuratorUser, body: DismissIn) -> DismissResult:
    """Close every open flag on one target as "dismissed"."""
    if not await moderation.target_exists(db, body.target, user):
        raise HTTPException(404, _("There is nothing to act on here."))
    count = await moderation.dismiss_flags(db, user, body.target, body.reason)
    return DismissResult(target=body.target, dismissed=count)


def _entry(row: audit_log.AuditRow) -> AuditEntryPublic:
    actor = (
        PersonRef(code=row.actor_code, name=row.actor_name or "")
        if row.actor_code is not None
        else None
    )
    changes = None
    if row.changes:
        try:
            changes = json.loads(row.changes)
        except ValueError:
            changes = None
    return AuditEntryPublic(
        id=row.id,
        created_at=row.created_at,
        actor=actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        reason=row.reason,
        changes=changes if isinstance(changes, dict) else None,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@router.get(
    "/audit",
    name="api_audit",
    response_model=Page[AuditEntryPublic],
    responses=TO_EXPORT,  # type: ignore[arg-type]
)
async def list_audit(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    actor: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    date_from: Annotated[Day | None, Query(alias="from")] = None,
    date_to: Annotated[Day | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    updated_since: UpdatedSince = None,
) -> Any:
    """The audit log, newest first; `from`/`to` are days in the configured time zone. With
    `updated_since`: 307 to the export (`/api/v1/changes/audit`)."""
    if updated_since is not None:
        return to_export(request, "audit", updated_since, cursor, limit)
    filters = AuditFilters(actor or None, action or None, date_from, date_to)
    rows, next_cursor = await audit_log.list_entries(db, filters, user, cursor=cursor, limit=limit)
    return Page(items=[_entry(r) for r in rows], next_cursor=next_cursor)
