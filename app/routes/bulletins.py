"""Bulletin pages (好取組情報) and their HTMX fragments: list, view with 横展開 answers,
print view, the curator editor (search and add posts, reorder, comment, audience,
schedule, publish); the statistics page and the read follow-up are in bulletin_stats.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from app import i18n
from app.deps import CuratorUser, CurrentUser, SessionDep
from app.i18n import _
from app.inputs import PathId, parse_id
from app.models import Bulletin, User
from app.permissions import is_curator
from app.services import bulletins as service
from app.services import feed as feed_service
from app.services import scope
from app.services.errors import Conflict, InvalidInput
from app.services.inputs import BulletinCreate, BulletinUpdate
from app.templating import is_htmx, render
from app.web.forms import FormData, form_input, form_model, read_form

router = APIRouter(include_in_schema=False)

# Helpers -------------------------------------------------------------------------------------


def _url(request: Request, name: str, **params: Any) -> str:
    return str(request.app.url_path_for(name, **params))


def _local_input(value: datetime | None) -> str:
    """An aware time as the value of <input type="datetime-local"> (Asia/Tokyo)."""
    return value.astimezone(i18n.zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


# The title / lead / audience form has the input model's title and lead; its audience is a
# radio, checkboxes and a field of typed codes (to_service makes the model's audience of them).
# Items and the publication time have forms of their own.
NOT_ON_FORM = ("audience", "items", "publish_at")


def meta_values(form: FormData) -> dict[str, Any]:
    """What the user typed in the title / lead / audience form (kept on every error)."""
    values = form_input(form, BulletinCreate, skip=NOT_ON_FORM)
    values["audience_mode"] = "units" if form.get("audience_mode") == "units" else "all"
    values["units"] = [c for c in form.getlist("units") if c.strip()]
    values["other_units"] = form.get("other_units")
    return values


def to_service(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the JSON body sends them."""
    audience: Any = "all"
    if values["audience_mode"] == "units":
        typed = service.split_codes(values["other_units"])
        audience = list(dict.fromkeys([*values["units"], *typed]))
    return {
        "title": values["title"],
        "lead": values["lead"],
        "audience": audience,
        "confirm_by": values.get("confirm_by") or None,  # a blank date field: no deadline
    }


async def _meta_values(db: SessionDep, bulletin: Bulletin) -> dict[str, Any]:
    assert bulletin.id is not None
    codes = [c for c, _n in await service.audience_codes(db, bulletin.id)]
    offered = {c for c, _n, _k in await service.audience_choices(db)}
    return {
        "title": bulletin.title,
        "lead": bulletin.lead,
        "audience_mode": "all" if bulletin.audience_all else "units",
        "units": [c for c in codes if c in offered],
        "other_units": " ".join(c for c in codes if c not in offered),
        "confirm_by": bulletin.confirm_by.isoformat() if bulletin.confirm_by else "",
    }


async def _meta(
    request: Request,
    db: SessionDep,
    bulletin: Bulletin | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    flash: str | None = None,
) -> dict[str, Any]:
    action = (
        _url(request, "update_bulletin", bulletin_id=bulletin.id)
        if bulletin is not None
        else _url(request, "create_bulletin")
    )
    return {
        "action": action,
        "htmx": bulletin is not None,
        "data": values,
        "errors": errors or {},
        "flash": flash,
        "choices": await service.audience_choices(db),
    }


async def _editor(
    request: Request,
    db: SessionDep,
    user: User,
    bulletin: Bulletin,
    *,
    meta: dict[str, Any] | None = None,
    q: str | None = None,
    items_error: str | None = None,
    item_errors: dict[int, tuple[str, str]] | None = None,
    panel_error: str | None = None,
    panel_value: str | None = None,
    search: bool = True,
) -> dict[str, Any]:
    """Everything the editor page and its partials show (`search=False`: a partial that
    shows no search results, so the search is not run)."""
    view = await service.view(db, user, bulletin)
    return {
        "bulletin": bulletin,
        "view": view,
        "meta": meta or await _meta(request, db, bulletin, await _meta_values(db, bulletin)),
        "q": q or "",
        "hits": await service.search_posts(db, user, bulletin, q) if search else [],
        "items_error": items_error,
        "item_errors": item_errors or {},
        "panel_error": panel_error,
        "publish_at_value": panel_value
        if panel_value is not None
        else _local_input(bulletin.publish_at),
        "frozen": bulletin.status == service.PUBLISHED,
    }


def _back_to_editor(request: Request, bulletin_id: int, anchor: str = "", q: str = "") -> Response:
    url = _url(request, "edit_bulletin", bulletin_id=bulletin_id)
    if q:
        url += "?" + urlencode({"q": q})
    return RedirectResponse(url + (f"#{anchor}" if anchor else ""), 303)


def _when_frozen(request: Request, bulletin: Bulletin) -> Response | None:
    """Editor actions on a published bulletin: HTMX reloads the editor, which says why."""
    if bulletin.status != service.PUBLISHED:
        return None
    if is_htmx(request):
        url = _url(request, "edit_bulletin", bulletin_id=bulletin.id)
        return Response(status_code=204, headers={"HX-Redirect": url})
    raise service.frozen()


async def _items_response(
    request: Request,
    db: SessionDep,
    user: User,
    bulletin: Bulletin,
    *,
    error: str | None = None,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    if not is_htmx(request):
        if error:
            ctx = await _editor(request, db, user, bulletin, items_error=error)
            return render(request, "bulletins/edit.html", ctx, status_code=status_code)
        return _back_to_editor(request, bulletin.id or 0, "items")
    ctx = await _editor(request, db, user, bulletin, items_error=error, search=False)
    ctx.update(extra or {})
    return render(request, "bulletins/_items.html", ctx, status_code=status_code)


# Reading -------------------------------------------------------------------------------------


@router.get("/bulletins", name="list_bulletins")
async def list_bulletins(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    found, next_cursor = await service.list_bulletins(db, user, cursor=cursor, published_only=True)
    curator = is_curator(user)
    unpublished = await service.list_unpublished(db, user) if curator and not cursor else []
    return render(
        request,
        "bulletins/index.html",
        {
            "published": await service.views(db, user, found),
            "unpublished": await service.views(db, user, unpublished),
            "next_url": f"{_url(request, 'list_bulletins')}?cursor={next_cursor}"
            if next_cursor
            else None,
            "can_edit": curator,
        },
    )


@router.get("/bulletins/new", name="new_bulletin")
async def new_bulletin(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    values = {
        "title": "",
        "lead": "",
        "audience_mode": "all",
        "units": [],
        "other_units": "",
        "confirm_by": "",
    }
    if top := await scope.top_code(db, user):  # a curator with a scope sends inside it
        offered = {c for c, _n, _k in await service.audience_choices(db)}
        values |= {"audience_mode": "units"}
        values |= {"units": [top]} if top in offered else {"other_units": top}
    return render(request, "bulletins/new.html", {"meta": await _meta(request, db, None, values)})


@router.post("/bulletins/new", name="create_bulletin")
async def create_bulletin(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    form = await read_form(request)
    values = meta_values(form)
    try:
        body = form_model(BulletinCreate, to_service(values))
        bulletin = await service.create_bulletin(db, user, body.model_dump(exclude_unset=True))
    except InvalidInput as exc:
        meta = await _meta(request, db, None, values, exc.by_field())
        return render(request, "bulletins/new.html", {"meta": meta}, status_code=422)
    assert bulletin.id is not None
    return RedirectResponse(_url(request, "edit_bulletin", bulletin_id=bulletin.id), 303)


@router.get("/bulletins/{bulletin_id}", name="show_bulletin")
async def show_bulletin(
    request: Request, db: SessionDep, user: CurrentUser, bulletin_id: PathId
) -> Response:
    """The bulletin; opening it records the reader's first read."""
    bulletin = await service.get_bulletin_for_view(db, user, bulletin_id)
    await service.mark_read(db, user, bulletin)
    return render(
        request,
        "bulletins/detail.html",
        {"view": await service.view(db, user, bulletin), "can_edit": is_curator(user)},
    )


@router.get("/bulletins/{bulletin_id}/print", name="print_bulletin")
async def print_bulletin(
    request: Request, db: SessionDep, user: CurrentUser, bulletin_id: PathId
) -> Response:
    bulletin = await service.get_bulletin_for_view(db, user, bulletin_id)
    return render(request, "bulletins/print.html", {"view": await service.view(db, user, bulletin)})


@router.post("/bulletins/{bulletin_id}/items/{item_id}/rollout", name="answer_rollout")
async def answer_rollout(
    request: Request, db: SessionDep, user: CurrentUser, bulletin_id: PathId, item_id: PathId
) -> Response:
    form = await read_form(request)
    bulletin = await service.get_bulletin_for_view(db, user, bulletin_id)
    try:
        await service.answer_rollout(db, user, bulletin, item_id, form.get("answer"))
    except InvalidInput as exc:
        raise HTTPException(422, next(iter(exc.by_field().values()))) from exc
    if not is_htmx(request):
        url = _url(request, "show_bulletin", bulletin_id=bulletin_id)
        return RedirectResponse(f"{url}#item-{item_id}", 303)
    view = await service.view(db, user, bulletin)
    item = next(i for i in view.items if i.id == item_id)
    return render(request, "bulletins/_rollout.html", {"view": view, "item": item, "saved": True})


# The editor (curators) -------------------------------------------------------------------------


@router.get("/bulletins/{bulletin_id}/edit", name="edit_bulletin")
async def edit_bulletin(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    bulletin_id: PathId,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    return render(request, "bulletins/edit.html", await _editor(request, db, user, bulletin, q=q))


@router.post("/bulletins/{bulletin_id}/edit", name="update_bulletin")
async def update_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    form = await read_form(request)
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    values = meta_values(form)
    try:
        changes = form_model(BulletinUpdate, to_service(values))
        await service.update_bulletin(db, user, bulletin, changes.model_dump(exclude_unset=True))
    except InvalidInput as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        meta = await _meta(request, db, bulletin, values, exc.by_field())
        if is_htmx(request):
            return render(request, "bulletins/_meta_form.html", {"meta": meta}, status_code=422)
        ctx = await _editor(request, db, user, bulletin, meta=meta)
        return render(request, "bulletins/edit.html", ctx, status_code=422)
    if not is_htmx(request):
        return _back_to_editor(request, bulletin_id)
    meta = await _meta(request, db, bulletin, await _meta_values(db, bulletin), flash=_("Saved."))
    return render(request, "bulletins/_meta_form.html", {"meta": meta})


@router.get("/bulletins/{bulletin_id}/search", name="search_bulletin_posts")
async def search_bulletin_posts(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    bulletin_id: PathId,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Type-ahead results for the editor; without HTMX, the editor page with them."""
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    ctx = await _editor(request, db, user, bulletin, q=q)
    return render(
        request,
        "bulletins/_search_results.html" if is_htmx(request) else "bulletins/edit.html",
        ctx,
    )


@router.post("/bulletins/{bulletin_id}/items", name="add_bulletin_item")
async def add_bulletin_item(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    form = await read_form(request)
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    post_id = parse_id(form.get("post_id"))
    q = form.get("q")
    try:
        await service.add_item(db, user, bulletin, post_id, form.get("comment"))
    except InvalidInput as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        return await _items_response(
            request, db, user, bulletin, error=next(iter(exc.by_field().values())), status_code=422
        )
    except Conflict as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        return await _items_response(request, db, user, bulletin, error=str(exc), status_code=409)
    if not is_htmx(request):
        return _back_to_editor(request, bulletin_id, "items", q)
    # The search result's button turns into "added" (an out-of-band swap).
    assert post_id is not None
    card = await feed_service.get_card(db, user, post_id)
    hit = service.SearchHit(card, added=True) if card is not None else None
    return await _items_response(request, db, user, bulletin, extra={"oob_hit": hit, "q": q})


@router.post("/bulletins/{bulletin_id}/items/{item_id}/remove", name="remove_bulletin_item")
async def remove_bulletin_item(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId, item_id: PathId
) -> Response:
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    await service.remove_item(db, user, bulletin, item_id)
    return await _items_response(request, db, user, bulletin)


@router.post("/bulletins/{bulletin_id}/items/{item_id}/move", name="move_bulletin_item")
async def move_bulletin_item(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId, item_id: PathId
) -> Response:
    form = await read_form(request)
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    try:
        await service.move_item(db, user, bulletin, item_id, form.get("direction"))
    except InvalidInput as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        return await _items_response(
            request, db, user, bulletin, error=next(iter(exc.by_field().values())), status_code=422
        )
    return await _items_response(request, db, user, bulletin)


@router.post("/bulletins/{bulletin_id}/items/{item_id}/comment", name="comment_bulletin_item")
async def comment_bulletin_item(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId, item_id: PathId
) -> Response:
    form = await read_form(request)
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    typed = form.get("comment")
    error: str | None = None
    try:
        await service.set_item_comment(db, user, bulletin, item_id, typed)
    except InvalidInput as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        error = next(iter(exc.by_field().values()))
    status = 422 if error else 200
    if not is_htmx(request):
        if error is None:
            return _back_to_editor(request, bulletin_id, f"edit-item-{item_id}")
        ctx = await _editor(request, db, user, bulletin, item_errors={item_id: (error, typed)})
        return render(request, "bulletins/edit.html", ctx, status_code=status)
    ctx = await _editor(
        request,
        db,
        user,
        bulletin,
        item_errors={item_id: (error, typed)} if error else None,
        search=False,
    )
    items = ctx["view"].items
    ctx["item"] = next(i for i in items if i.id == item_id)
    ctx["loop_first"] = items[0].id == item_id
    ctx["loop_last"] = items[-1].id == item_id
    ctx["saved"] = error is None
    return render(request, "bulletins/_item_editor.html", ctx, status_code=status)


async def _panel_response(
    request: Request,
    db: SessionDep,
    user: User,
    bulletin: Bulletin,
    *,
    error: str | None = None,
    typed: str | None = None,
) -> Response:
    status = 422 if error else 200
    if not is_htmx(request) and error is None:
        return _back_to_editor(request, bulletin.id or 0, "publish")
    htmx = is_htmx(request)
    ctx = await _editor(
        request, db, user, bulletin, panel_error=error, panel_value=typed, search=not htmx
    )
    name = "bulletins/_panel.html" if htmx else "bulletins/edit.html"
    return render(request, name, ctx, status_code=status)


@router.post("/bulletins/{bulletin_id}/schedule", name="schedule_bulletin")
async def schedule_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    form = await read_form(request)
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    typed = form.get("publish_at")
    try:
        await service.schedule(db, user, bulletin, service.local_time(typed))
    except InvalidInput as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        error = next(iter(exc.by_field().values()))
        return await _panel_response(request, db, user, bulletin, error=error, typed=typed)
    return await _panel_response(request, db, user, bulletin)


@router.post("/bulletins/{bulletin_id}/unschedule", name="unschedule_bulletin")
async def unschedule_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    await service.unschedule(db, user, bulletin)
    return await _panel_response(request, db, user, bulletin)


@router.post("/bulletins/{bulletin_id}/publish", name="publish_bulletin")
async def publish_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> Response:
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    if (frozen := _when_frozen(request, bulletin)) is not None:
        return frozen
    try:
        await service.publish_now(db, user, bulletin)
    except InvalidInput as exc:
        bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
        error = next(iter(exc.by_field().values()))
        return await _panel_response(request, db, user, bulletin, error=error)
    url = _url(request, "show_bulletin", bulletin_id=bulletin_id)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, 303)
