"""The statistics page of a bulletin (curators): read rate per unit, 横展開 per region, and
the read follow-up — who and which shops have not read it or not answered, as CSV too, and
the "remind" action."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import CuratorUser, SessionDep
from app.downloads import export_headers
from app.i18n import ngettext
from app.inputs import CsvEncodingQuery, PathId
from app.models import Bulletin
from app.services import bulletins as service
from app.services.errors import Conflict
from app.services.spreadsheet import CSV_MEDIA_TYPES, CsvEncoding
from app.templating import is_htmx, render

router = APIRouter(include_in_schema=False)


async def _remind_panel(
    db: SessionDep,
    user: CuratorUser,
    bulletin: Bulletin,
    *,
    flash: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "bulletin": bulletin,
        "follow": await service.follow_up(db, bulletin, user),
        "reminded_today": service.reminded_today(bulletin),
        "can_remind": await service.may_manage(db, user, bulletin),
        "remind_flash": flash,
        "remind_error": error,
    }


@router.get("/bulletins/{bulletin_id}/stats", name="show_bulletin_stats")
async def show_bulletin_stats(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    bulletin = await service.get_bulletin_for_stats(db, user, bulletin_id)
    ctx = await _remind_panel(db, user, bulletin)
    ctx["reads"] = await service.read_rates(db, bulletin, user)
    ctx["adoption"] = await service.adoption_by_region(db, bulletin, user)
    return render(request, "bulletins/stats.html", ctx)


@router.post("/bulletins/{bulletin_id}/remind", name="remind_bulletin")
async def remind_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    """Notify the people who have not opened it; a second press the same day is a 409 that
    says so beside the button (nothing is sent)."""
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    try:
        reminded = await service.remind(db, user, bulletin)
    except Conflict as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        if not is_htmx(request):
            raise
        ctx = await _remind_panel(db, user, bulletin, error=str(exc))
        return render(request, "bulletins/_remind.html", ctx, status_code=409)
    if not is_htmx(request):
        url = request.app.url_path_for("show_bulletin_stats", bulletin_id=bulletin_id)
        return RedirectResponse(f"{url}#followup", 303)
    n = len(reminded)
    flash = ngettext(
        "A reminder was sent to %(n)s person.", "A reminder was sent to %(n)s people.", n
    ) % {"n": n}
    return render(
        request, "bulletins/_remind.html", await _remind_panel(db, user, bulletin, flash=flash)
    )


async def _csv(
    db: SessionDep, user: CuratorUser, bulletin_id: int, which: str, encoding: CsvEncoding
) -> Response:
    bulletin = await service.get_bulletin_for_stats(db, user, bulletin_id)
    follow = await service.follow_up(db, bulletin, user)
    write = service.people_csv if which == "unread-people" else service.shops_csv
    return Response(
        write(follow, encoding),
        media_type=CSV_MEDIA_TYPES[encoding],
        headers=export_headers(service.csv_name(bulletin, which)),
    )


@router.get("/bulletins/{bulletin_id}/unread-people.csv", name="export_bulletin_unread_people")
async def export_unread_people(
    db: SessionDep, user: CuratorUser, bulletin_id: PathId, encoding: CsvEncodingQuery = "utf-8"
) -> Response:
    """The people in the audience who have not opened the bulletin, by unit."""
    return await _csv(db, user, bulletin_id, "unread-people", encoding)


@router.get("/bulletins/{bulletin_id}/shops.csv", name="export_bulletin_shops")
async def export_shops(
    db: SessionDep, user: CuratorUser, bulletin_id: PathId, encoding: CsvEncodingQuery = "utf-8"
) -> Response:
    """The shops that have not read it (someone has not opened it) or not answered 横展開."""
    return await _csv(db, user, bulletin_id, "shops", encoding)
