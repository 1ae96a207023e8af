"""Incremental export (admins and curators without a scope): what changed on the board since
a cursor or a time, with deletions and hides as tombstones (services/changes.py,
docs/export.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import AwareDatetime, BaseModel

from app.api.schemas import PersonRef, UnitRef
from app.deps import HeadOfficeUser, SessionDep
from app.services import changes as change_service

router = APIRouter(prefix="/changes", tags=["export"])

UpdatedSince = Annotated[
    AwareDatetime | None,
    Query(
        description="Only changes made at or after this time: ISO 8601 with an offset "
        "(`2026-12-01T00:00:00+09:00`). For a first copy; then follow `next_cursor`, and keep "
        "the last `cursor` for the next day's copy. A time without an offset is a 422.",
    ),
]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`cursor` or `next_cursor` of an earlier answer"),
]
Limit = Annotated[int, Query(ge=1, le=change_service.MAX_LIMIT)]


class ChangeItem(BaseModel):
    deleted: bool  # true: a tombstone; remove the thing from the copy
    changed_at: datetime  # the last change of the thing in this page (the database's clock)


class PostChange(ChangeItem):
    id: int
    status: str  # published; or, with deleted, hidden, deleted or draft
    kind: str | None = None
    title: str | None = None
    body: str | None = None
    author: PersonRef | None = None
    unit: UnitRef | None = None
    tags: list[str] | None = None
    praised: list[str] | None = None  # employee codes
    featured: bool | None = None
    feature_note: str | None = None
    received_on: date | None = None
    channel: str | None = None
    product: str | None = None
    category: str | None = None
    created_at: datetime | None = None
    published_at: datetime | None = None
    edited_at: datetime | None = None


class CommentChange(ChangeItem):
    id: int
    status: str  # published; or, with deleted, hidden or deleted
    post_id: int | None = None
    author: PersonRef | None = None
    body: str | None = None
    created_at: datetime | None = None
    edited_at: datetime | None = None


class LikeChange(ChangeItem):
    post_id: int
    user: str | None  # the employee code
    created_at: datetime | None = None


class ReactionChange(LikeChange):
    kind: str


class AuditChange(ChangeItem):
    id: int
    created_at: datetime | None = None
    actor: PersonRef | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    reason: str | None = None
    changes: str | None = None  # JSON text {"before": {...}, "after": {...}}
    # The chain (docs/compliance.md "The audit chain"): a warehouse copy can be verified too.
    prev_hash: str | None = None
    hash: str | None = None


T = TypeVar("T", bound=ChangeItem)


class ChangesPage(BaseModel, Generic[T]):
    items: list[T]
    cursor: str  # where the next read starts: store it after applying `items`
    next_cursor: str | None  # more to read now; None: up to date (read again with `cursor`)


_ABOUT = (
    " in the order they were committed, `limit` at a time; each thing at most once per page, "
    "as it is when read. Apply the items in order (insert or replace; `deleted: true` "
    "removes), store `cursor`, and read on with `next_cursor` until it is null. See "
    "docs/export.md."
)


def _route(entity: change_service.Entity, path: str, model: type[ChangeItem], about: str) -> None:
    """One GET endpoint per kind of thing: the same parameters, paging and answer."""

    async def read(
        db: SessionDep,
        user: HeadOfficeUser,
        updated_since: UpdatedSince = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Any:
        page = await change_service.read_changes(
            db, entity, since=updated_since, cursor=cursor, limit=limit
        )
        return {"items": page.items, "cursor": page.cursor, "next_cursor": page.next_cursor}

    router.add_api_route(
        path,
        read,
        methods=["GET"],
        name=f"api_{entity}_changes",
        response_model=ChangesPage[model],  # type: ignore[valid-type]
        response_model_exclude_unset=True,
        summary=f"Changes of {path.strip('/')}",
        description=about,
    )


_route(
    "post",
    "/posts",
    PostChange,
    "Posts created, edited, hidden, shown again, redacted, featured or deleted"
    + _ABOUT
    + " Only published posts carry their content: a hidden, deleted or draft post is a "
    "tombstone with its status. Like and reaction counts are not sent: count the likes and "
    "reactions.",
)
_route(
    "comment",
    "/comments",
    CommentChange,
    "Comments written, edited, hidden, redacted or deleted"
    + _ABOUT
    + " A hidden or deleted comment is a tombstone with its status.",
)
_route(
    "like",
    "/likes",
    LikeChange,
    "Likes given and taken back (a tombstone: `deleted: true`), keyed by (post_id, user)" + _ABOUT,
)
_route(
    "reaction",
    "/reactions",
    ReactionChange,
    "Reactions given and taken back (a tombstone: `deleted: true`), keyed by "
    "(post_id, user, kind)" + _ABOUT,
)
_route("audit", "/audit", AuditChange, "New audit log entries (the log is append-only)" + _ABOUT)


# The export's form on the lists (`GET /api/v1/posts?updated_since=…`, the spelling) --

TO_EXPORT = {
    307: {
        "description": "With `updated_since`: the incremental export, "
        "`GET /api/v1/changes/…` of the same things, with the same `updated_since`, `cursor` "
        "and `limit` (curators without a scope and admins; docs/export.md)."
    }
}


def to_export(
    request: Request,
    entity: change_service.Entity,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> RedirectResponse:
    """307 to the export of `entity` with these parameters."""
    path = request.app.url_path_for(f"api_{entity}_changes")
    query: dict[str, Any] = {"updated_since": updated_since.isoformat()} if updated_since else {}
    query |= {"limit": limit} | ({"cursor": cursor} if cursor else {})
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=307)


# Comments, likes and reactions have no list of their own: these paths are the export's only.
aliases = APIRouter(tags=["export"])


def _alias(entity: change_service.Entity, path: str) -> None:
    async def alias(
        request: Request,
        user: HeadOfficeUser,
        updated_since: UpdatedSince = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> RedirectResponse:
        return to_export(request, entity, updated_since, cursor, limit)

    aliases.add_api_route(
        path,
        alias,
        methods=["GET"],
        name=f"api_{entity}_export",
        status_code=307,
        response_class=RedirectResponse,
        summary=f"The export of {path[1:]} (307 to /api/v1/changes{path})",
    )


for _entity, _path in (("comment", "/comments"), ("like", "/likes"), ("reaction", "/reactions")):
    _alias(_entity, _path)  # type: ignore[arg-type]
