"""`/admin/scim` (admins): the SCIM tokens the identity provider (Entra ID, Okta) calls
/scim/v2 with — issue one (shown once, on the answer page, never in a URL), see each one's
status and last use, revoke one. docs/scim.md has the set-up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import AdminUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.models import TokenScope
from app.routes.admin import render
from app.routing import SCIM_PREFIX
from app.services.errors import InvalidInput, NotFound
from app.services.people import tokens as token_service

router = APIRouter(include_in_schema=False)

DAY_CHOICES = (30, 90, 365, 730)


async def _context(
    request: Request,
    db: SessionDep,
    *,
    token: str = "",
    errors: dict[str, str] | None = None,
    days: str = "365",
    done: str = "",
) -> dict[str, Any]:
    return {
        "admin_section": "scim",
        "tokens": await token_service.list_scim_tokens(db),
        "scim_url": str(request.base_url).rstrip("/") + SCIM_PREFIX,
        "new_token": token,
        "day_choices": DAY_CHOICES,
        "days": days,
        "errors": errors or {},
        "done_message": _("The SCIM token was revoked.") if done == "revoked" else "",
    }


@router.get("/admin/scim", name="admin_scim")
async def admin_scim(request: Request, db: SessionDep, user: AdminUser, done: str = "") -> Response:
    return render(request, "admin/scim.html", await _context(request, db, done=done))


@router.post("/admin/scim/tokens", name="issue_scim_token")
async def issue_scim_token(request: Request, db: SessionDep, user: AdminUser) -> Response:
    days = (await request.form()).get("days")
    days_text = days if isinstance(days, str) else ""
    try:
        _row, token = await token_service.issue_scim_token(
            db, user, days=int(days_text) if days_text.isdigit() else -1
        )
    except InvalidInput as exc:
        ctx = await _context(request, db, errors=exc.by_field(), days=days_text)
        return render(request, "admin/scim.html", ctx, status_code=422)
    return render(request, "admin/scim.html", await _context(request, db, token=token))


@router.get("/admin/scim/tokens", name="admin_scim_tokens")
async def admin_scim_tokens(request: Request, user: AdminUser) -> Response:
    """Where the page that showed a new token goes when reloaded (or its language changed):
    back to the list, the token not shown again."""
    return RedirectResponse(request.app.url_path_for("admin_scim"), status_code=303)


@router.post("/admin/scim/tokens/{token_id}/revoke", name="revoke_scim_token")
async def revoke_scim_token(
    request: Request, db: SessionDep, user: AdminUser, token_id: PathId
) -> Response:
    token, owner = await token_service.get_token(db, token_id)
    if token.scope != TokenScope.scim:
        raise NotFound(_("There is no such SCIM token."))
    await token_service.revoke_token(db, token, owner, actor=user)
    url = request.app.url_path_for("admin_scim") + "?done=revoked"
    return RedirectResponse(url, status_code=303)
