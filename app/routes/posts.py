"""Post pages and their HTMX fragments: composer, post page, edit, delete, like, flag."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import i18n
from app.deps import CurrentUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.models import IdempotencyKey, Post, PostStatus, User
from app.permissions import (
    ensure_visible,
    get_post_for_edit,
    get_post_for_interaction,
    get_post_for_view,
    is_curator,
)
from app.routes.auth import safe_next
from app.services import attachments as attachment_service
from app.services import comments as comment_service
from app.services import feed, flags, idempotency, likes
from app.services import posts as post_service
from app.services.errors import InvalidInput
from app.services.inputs import FlagIn, PostCreate, PostUpdate
from app.services.pii import find_personal_data
from app.storage import get_storage
from app.templating import is_htmx, render
from app.web.forms import FormData, form_input, form_model, given, read_form, read_model

router = APIRouter(include_in_schema=False)

# The composer has no unit field (a post is for the author's own unit), and asks about
# personal data with its own buttons (pii_action).
NOT_ON_FORM = ("unit", "confirm_personal_data")


def form_values(form: FormData) -> dict[str, Any]:
    """What the user typed, as the input model's fields (kept on every error)."""
    values = form_input(form, PostCreate, skip=NOT_ON_FORM)
    values["status"] = values["status"] or PostStatus.published
    return values


def to_service(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the JSON body sends them: the other kind's fields left out."""
    data = given(values)
    if data.get("kind") == "knowhow":
        for name in post_service.PRAISE_ONLY:
            data.pop(name, None)
    else:
        data.pop("category", None)
    data.setdefault("tags", [])
    return data


def highlight(text: str) -> list[tuple[str, bool]]:
    segments: list[tuple[str, bool]] = []
    pos = 0
    for span in find_personal_data(text):
        if span.start > pos:
            segments.append((text[pos : span.start], False))
        segments.append((text[span.start : span.end], True))
        pos = span.end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def composer_context(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    pii: bool = False,
    post: Post | None = None,
    flash: str | None = None,
) -> dict[str, Any]:
    values = values or {"kind": request.query_params.get("kind", "praise")}
    action = (
        str(request.app.url_path_for("update_post", post_id=post.id))
        if post
        else str(request.app.url_path_for("create_post"))
    )
    pii_items = []
    if pii:
        for name in ("title", "body"):
            text = values.get(name) or ""
            if find_personal_data(text):
                pii_items.append({"field": name, "segments": highlight(text)})
    return {
        "action": action,
        "mode": "edit" if post else "create",
        "data": values,
        "errors": errors or {},
        "pii": pii_items,
        "today": i18n.today().isoformat(),
        "kind_locked": post is not None,
        "flash": flash,
        # One key per rendered form: a double submit or a retry of it is one post.
        "idempotency_key": secrets.token_urlsafe(18),
    }


async def _claim_form(
    request: Request, db: SessionDep, user: User, form: FormData, values: dict[str, Any]
) -> Post | IdempotencyKey | None:
    """The post a second submit of the same form made already, or the claimed key."""
    key = idempotency.parse_key(form.get(idempotency.FORM_FIELD) or None)
    if key is None:
        return None
    assert user.id is not None
    fp = idempotency.fingerprint(request.method, request.url.path, values)
    claimed = await idempotency.begin(db, user.id, key, fp, Post)
    if isinstance(claimed, IdempotencyKey):
        return claimed
    made = claimed.resource_id if isinstance(claimed, idempotency.Made) else int(claimed.body)
    return await db.get(Post, made)


async def _attach_files(db: SessionDep, user: User, post: Post, form: FormData) -> None:
    storage = get_storage()
    for upload in form.files:
        await attachment_service.add_attachment(
            db, storage, post=post, uploader=user, upload=upload
        )


def _check_files(form: FormData) -> None:
    """Refuse a file before anything is written, by the one check the API's upload makes
    (attachments.check_file), said by the field and naming the file. Too many files: the
    form reader refuses the file past ATTACHMENTS_PER_POST (413), as for the API."""
    for upload in form.files:
        check = attachment_service.check_file(upload.path, upload.size)
        if check.refused == "type":
            message = _(
                "%(name)s: only JPEG, PNG, WebP images and PDF, Excel, Word, "
                "PowerPoint files can be attached."
            )
        elif check.refused == "size":
            message = _("%(name)s is too large.")
        elif check.refused == "pixels":
            # Checked here, from the header, so that the post is not saved without its image.
            message = _("%(name)s has too many pixels to process. Make it smaller and try again.")
        else:
            continue
        raise InvalidInput.field("files", message % {"name": upload.filename})


async def _submit(
    request: Request, db: SessionDep, user: User, post: Post | None
) -> tuple[Post | None, dict[str, Any], InvalidInput | None, bool]:
    """Shared by create and edit: read, maybe mask, validate, write. Nothing half-written."""
    form = await read_form(request)
    try:
        values = form_values(form)
        if post is not None:
            values["kind"] = post.kind
        action = form.get("pii_action")
        data = to_service(values)
        if action == "mask":
            data = post_service.mask_fields(data)
            values.update({k: data[k] for k in ("title", "body") if k in data})
        elif action == "confirm":
            data["confirm_personal_data"] = True
        try:
            if post is None:
                claimed = await _claim_form(request, db, user, form, values)
                if isinstance(claimed, Post):
                    return claimed, values, None, False
                _check_files(form)
                body = form_model(PostCreate, data)
                saved = await post_service.create_post(
                    db, user, body.model_dump(exclude_unset=True)
                )
                await _attach_files(db, user, saved, form)
                if claimed is not None:
                    assert claimed.id is not None and saved.id is not None
                    done = idempotency.Answer(303, str(saved.id), "text/plain")
                    await idempotency.remember(db, claimed.id, done)
            else:
                data.pop("kind")  # fixed, and shown to the form only to pick its fields
                changes = form_model(PostUpdate, data)
                saved = await post_service.update_post(
                    db, user, post, changes.model_dump(exclude_unset=True)
                )
            return saved, values, None, False
        except InvalidInput as exc:
            # The services validate before they write, so there is nothing to roll back
            # (and a rollback would expire the logged-in user the page still shows).
            pii = any(err.get("type") == "personal_data" for err in exc.errors)
            return None, values, exc, pii
    finally:
        await form.aclose()


@router.post("/posts", name="create_post")
async def create_post(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    saved, values, error, pii = await _submit(request, db, user, None)
    if error is not None:
        ctx = composer_context(request, values=values, errors=error.by_field(), pii=pii)
        if pii:
            ctx["errors"].pop("title", None)
            ctx["errors"].pop("body", None)
        return render(
            request,
            "posts/_composer.html" if is_htmx(request) else "posts/new.html",
            {"composer": ctx},
            status_code=422,
        )
    assert saved is not None and saved.id is not None
    if not is_htmx(request):
        return RedirectResponse(request.app.url_path_for("show_post", post_id=saved.id), 303)
    flash = _("Saved as a draft.") if saved.status == "draft" else _("Posted. Thank you!")
    done: dict[str, Any] = {
        "composer": composer_context(request, values={"kind": saved.kind}, flash=flash)
    }
    if saved.status == PostStatus.published:
        done["new_card"] = await feed.get_card(db, user, saved.id)
    return render(request, "posts/_composer_done.html", done)


@router.get("/posts/composer", name="composer_form")
async def composer_form(request: Request, user: CurrentUser) -> Response:
    """The full composer, swapped into the feed when someone starts to post."""
    return render(request, "posts/_composer.html", {"composer": composer_context(request)})


@router.get("/posts/new", name="new_post")
async def new_post(request: Request, user: CurrentUser) -> Response:
    return render(request, "posts/new.html", {"composer": composer_context(request)})


async def post_page_context(db: SessionDep, user: User, post_id: int) -> dict[str, Any]:
    """What posts/detail.html needs (also rendered by the curator actions on that page)."""
    card = await feed.get_card(db, user, post_id)
    ensure_visible(user, card)  # the card has what visibility needs: no second read
    comment_rows = await comment_service.list_comments(
        db, user, post_id, include_hidden=is_curator(user)
    )
    return {
        "post": card,
        "full": True,
        "comments": comment_rows,
        "likers": await feed.likers(db, post_id, limit=100),
        "is_author": card is not None and card.author_id == user.id,
    }


@router.get("/posts/{post_id}", name="show_post")
async def show_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    return render(request, "posts/detail.html", await post_page_context(db, user, post_id))


@router.get("/posts/{post_id}/edit", name="edit_post")
async def edit_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    post = await get_post_for_edit(db, user, post_id)
    values = post_service.fields_of(post, *await post_service.current_links(db, post))
    return render(
        request,
        "posts/edit.html",
        {
            "composer": composer_context(request, values=values, post=post),
            "post_id": post.id,
        },
    )


@router.post("/posts/{post_id}/edit", name="update_post")
async def update_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    post = await get_post_for_edit(db, user, post_id)
    _saved, values, error, pii = await _submit(request, db, user, post)
    if error is not None:
        ctx = composer_context(request, values=values, errors=error.by_field(), pii=pii, post=post)
        return render(
            request,
            "posts/_composer.html" if is_htmx(request) else "posts/edit.html",
            {"composer": ctx, "post_id": post_id},
            status_code=422,
        )
    url = str(request.app.url_path_for("show_post", post_id=post_id))
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, 303)


@router.post("/posts/{post_id}/delete", name="delete_post")
async def delete_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    post = await get_post_for_edit(db, user, post_id)
    await post_service.delete_post(db, post)
    url = str(request.app.url_path_for("feed"))
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, 303)


@router.post("/posts/{post_id}/like", name="toggle_like")
async def toggle_like(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    """The button sends the state it wants (liked=1/0), so a double click stays correct."""
    form = await request.form()
    want = form.get("liked") != "0"
    post = await (get_post_for_interaction if want else get_post_for_view)(db, user, post_id)
    await likes.set_like(db, user, post, want)
    if not is_htmx(request):
        post_url = str(request.app.url_path_for("show_post", post_id=post_id))
        return RedirectResponse(_back_path(request, post_url), 303)
    card = await feed.get_card(db, user, post_id)
    return render(request, "posts/_like_button.html", {"post": card})


def _back_path(request: Request, fallback: str) -> str:
    """The page the form was sent from, if it is on this site (login's safe_next decides);
    otherwise `fallback`. `http://host//evil.example/` is this host's URL, but its path is not."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    if not referer.startswith(base):
        return fallback
    path = "/" + referer[len(base) :]
    return path if safe_next(path) == path else fallback


async def submit_flag(
    request: Request, db: SessionDep, user: User, post: Post, comment: Any, back: str
) -> Response:
    """Report a post or a comment from a form: a message in place (HTMX) or back to `back`."""
    report = (await read_model(request, FlagIn))[0]
    try:
        await flags.flag(db, user, post, comment, report.reason, report.note)
        message, status = _("Thank you. Head office will look at it."), 200
    except flags.AlreadyFlagged as exc:
        message, status = exc.message, exc.status_code
    except InvalidInput as exc:
        message, status = next(iter(exc.by_field().values())), 422
    if not is_htmx(request):
        if status >= 400:
            raise HTTPException(status, message)
        return RedirectResponse(back, 303)
    return render(request, "posts/_flag_result.html", {"message": message}, status_code=status)


@router.post("/posts/{post_id}/flags", name="flag_post")
async def flag_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    post = await get_post_for_interaction(db, user, post_id)
    back = str(request.app.url_path_for("show_post", post_id=post_id))
    return await submit_flag(request, db, user, post, None, back)


def page_urls(
    request: Request, filters: feed.FeedFilters, next_cursor: str | None
) -> tuple[str | None, str | None]:
    if not next_cursor:
        return None, None
    query = urlencode({**filters.query_params(), "cursor": next_cursor})
    return (
        f"{request.app.url_path_for('feed')}?{query}",
        f"{request.app.url_path_for('feed_page')}?{query}",
    )
