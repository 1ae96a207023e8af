"""The two-person rule's page `/approvals` (curators and admins): the pending requests with
their approve and reject buttons, and the latest decisions. The requests themselves are made
where the protected actions are: the KPI month close list and a hidden post's panel."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import CuratorUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.models import User
from app.services import approvals
from app.services.errors import Conflict, Forbidden
from app.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request,
    db: SessionDep,
    user: User,
    *,
    error: tuple[int, str] | None = None,
    done: str | None = None,
    status: int = 200,
) -> Response:
    template = "approvals/_lists.html" if is_htmx(request) else "approvals/index.html"
    return render(
        request,
        template,
        {
            "pending": await approvals.list_requests(db, user, pending=True),
            "decided": await approvals.list_requests(db, user, pending=False),
            "error": error,  # (request id, message)
            "done": done,
        },
        status_code=status,
    )


@router.get("/approvals", name="approvals")
async def approvals_page(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    return await _page(request, db, user)


async def _decide(
    request: Request, db: SessionDep, user: User, request_id: int, approve: bool
) -> Response:
    try:
        if approve:
            await approvals.approve(db, user, request_id)
        else:
            await approvals.reject(db, user, request_id)
    except (Forbidden, Conflict) as exc:
        return await _page(
            request, db, user, error=(request_id, exc.message), status=exc.status_code
        )
    if not is_htmx(request):
        return RedirectResponse(str(request.app.url_path_for("approvals")), 303)
    done = _("Approved and carried out.") if approve else _("The request was turned down.")
    return await _page(request, db, user, done=done)


@router.post("/approvals/{request_id}/approve", name="approve_request")
async def approve_request(
    request: Request, db: SessionDep, user: CuratorUser, request_id: PathId
) -> Response:
    return await _decide(request, db, user, request_id, approve=True)


@router.post("/approvals/{request_id}/reject", name="reject_request")
async def reject_request(
    request: Request, db: SessionDep, user: CuratorUser, request_id: PathId
) -> Response:
    return await _decide(request, db, user, request_id, approve=False)
