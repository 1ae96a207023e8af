"""Post pages and their HTMX fragments: composer, post page, edit, delete, like, reactions,
flag."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import i18n
from app.deps import CurrentUser, SessionDep
from app.events import HxEvents, hx_trigger
from app.i18n import _
from app.inputs import PathId
from app.models import IdempotencyKey, Post, PostStatus, ReactionKind, User
from app.permissions import (
    get_post_for_edit,
    get_post_for_interaction,
    get_post_for_view,
)
from app.routes import post_complaint, terminal
from app.routes.auth import safe_next
from app.services import (
    feed,
    flags,
    idempotency,
    likes,
    post_files,
    reactions,
)
from app.services import posts as post_service
from app.services.attachments import ATTACHMENTS_PER_POST
from app.services.errors import DomainError, InvalidInput
from app.services.inputs import FlagIn, PostCreate, PostUpdate
from app.services.people import directory
from app.services.pii import find_personal_data
from app.storage import get_storage
from app.templating import is_htmx, render, url_path
from app.web.forms import FormData, form_input, form_model, given, read_form, read_model

router = APIRouter(include_in_schema=False)

# The composer has no unit field (a post is for the author's own unit), asks about
# personal data with its own buttons (pii_action) and about a complaint with its own fields
# (routes/post_complaint.py).
NOT_ON_FORM = ("unit", "confirm_personal_data", "complaint")
LIKERS_SHOWN = 100  # names in the post page's liked-by list


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


async def composer_context(
    request: Request,
    db: SessionDep,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    pii: bool = False,
    post: Post | None = None,
    flash: str | None = None,
    files_dropped: bool = False,
    ask: list[str] | None = None,
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
    current = []
    if post is not None and post.id is not None:
        card = await feed.get_card(db, request.state.user, post.id)
        current = card.attachments if card else []
    return {
        "action": action,
        "mode": "edit" if post else "create",
        "data": values,
        "errors": errors or {},
        "pii": pii_items,
        "today": i18n.today().isoformat(),
        "kind_locked": post is not None,
        "flash": flash,
        # The praised colleagues' names: a chip shows the name, the code is the detail.
        "names": await directory.names_by_code(db, list(values.get("praised") or [])),
        "attachments": current,
        "removing": {int(i) for i in values.get(post_files.REMOVE_FIELD) or [] if i.isdigit()},
        "room": ATTACHMENTS_PER_POST - len(current),
        # Files cannot be put back into a file input: a form shown again says so.
        "files_dropped": files_dropped,
        # One key per rendered form: a double submit or a retry of it is one post.
        "idempotency_key": secrets.token_urlsafe(18),
        "focus_title": False,
        "posted_url": None,
        "complaint": post_complaint.question(values, ask or []),
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


@dataclass
class Submitted:
    """What a post form's submit made: the post, or the error and what was typed."""

    post: Post | None
    values: dict[str, Any]
    error: InvalidInput | None = None
    pii: bool = False
    files_dropped: bool = False
    signout: bool = False  # a shared terminal: end the session once the post is published
    ask: list[str] | None = None  # a complaint's signs: the form asks about them first


async def _submit(request: Request, db: SessionDep, user: User, post: Post | None) -> Submitted:
    """Shared by create and edit: read, maybe mask, validate, write. A refused field writes
    nothing; so does a refused file (checked before the post is written)."""
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
                signout = form.get("signout_after") == "1"
                values["signout_after"] = signout
                if ask := post_complaint.read_answer(form, values, data):
                    error = None
                    try:  # asked with every field's error at once
                        post_service.validate_fields(form_model(PostCreate, data).model_dump())
                    except InvalidInput as exc:
                        error = exc
                    return Submitted(None, values, error, files_dropped=bool(form.files), ask=ask)
                claimed = await _claim_form(request, db, user, form, values)
                if isinstance(claimed, Post):
                    return Submitted(claimed, values, signout=signout)
                await post_files.check_uploads(form.files)
                body = form_model(PostCreate, data)
                saved = await post_service.create_post(
                    db, user, body.model_dump(exclude_unset=True)
                )
                await post_files.add_files(
                    db, get_storage(), post=saved, user=user, uploads=form.files
                )
                if claimed is not None:
                    assert claimed.id is not None and saved.id is not None
                    done = idempotency.Answer(303, str(saved.id), "text/plain")
                    await idempotency.remember(db, claimed.id, done)
                return Submitted(saved, values, signout=signout)
            values[post_files.REMOVE_FIELD] = form.getlist(post_files.REMOVE_FIELD)
            assert post.id is not None
            card = await feed.get_card(db, user, post.id)
            removing = await post_files.check_edit(
                [a.id for a in card.attachments] if card else [],
                form.files,
                values[post_files.REMOVE_FIELD],
            )
            data.pop("kind")  # fixed, and shown to the form only to pick its fields
            changes = form_model(PostUpdate, data)
            saved = await post_service.update_post(
                db, user, post, changes.model_dump(exclude_unset=True)
            )
        except InvalidInput as exc:
            # The services validate before they write, so there is nothing to roll back
            # (and a rollback would expire the logged-in user the page still shows).
            pii = any(err.get("type") == "personal_data" for err in exc.errors)
            return Submitted(None, values, exc, pii, files_dropped=bool(form.files))
        try:
            await post_files.apply_edit(
                db, get_storage(), post=saved, user=user, uploads=form.files, removing=removing
            )
        except DomainError as exc:  # a file that passed the checks but cannot be processed
            values.pop(post_files.REMOVE_FIELD)
            return Submitted(None, values, _saved_but(exc), files_dropped=True)
        return Submitted(saved, values)
    finally:
        await form.aclose()


def _saved_but(exc: DomainError) -> InvalidInput:
    return InvalidInput.field(
        post_files.FIELD,
        _("The text was saved, but a file could not be attached: %(reason)s")
        % {"reason": exc.message},
    )


async def _form_again(
    request: Request, db: SessionDep, done: Submitted, post: Post | None = None
) -> Response:
    """The form shown again (422) with what was typed and why it was refused (or what it
    asks)."""
    errors = done.error.by_field() if done.error else {}
    if done.pii:  # the warning above the form says it, with the parts highlighted
        errors.pop("title", None)
        errors.pop("body", None)
    ctx = await composer_context(
        request,
        db,
        values=done.values,
        errors=errors,
        pii=done.pii,
        post=post,
        files_dropped=done.files_dropped,
        ask=done.ask,
    )
    page = "posts/edit.html" if post else "posts/new.html"
    return render(
        request,
        "posts/_composer.html" if is_htmx(request) else page,
        {"composer": ctx, "post_id": post.id if post else None},
        status_code=422,
    )


@router.post("/posts", name="create_post")
async def create_post(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    done = await _submit(request, db, user, None)
    if done.error is not None or done.ask:
        return await _form_again(request, db, done)
    saved = done.post
    assert saved is not None and saved.id is not None
    on_terminal = getattr(request.state, "terminal", False)
    if done.signout and saved.status == PostStatus.published and on_terminal:
        return await terminal.sign_out_after_post(request, db)
    if not is_htmx(request):
        return RedirectResponse(request.app.url_path_for("show_post", post_id=saved.id), 303)
    flash = _("Saved as a draft.") if saved.status == "draft" else _("Posted. Thank you!")
    composer = await composer_context(request, db, values={"kind": saved.kind}, flash=flash)
    composer["posted_url"] = str(request.app.url_path_for("show_post", post_id=saved.id))
    done_ctx: dict[str, Any] = {"composer": composer}
    if saved.status == PostStatus.published and _sent_from_feed(request):
        done_ctx["new_card"] = await feed.get_card(db, user, saved.id)
    return render(request, "posts/_composer_done.html", done_ctx)


def _sent_from_feed(request: Request) -> bool:
    """The composer was on the feed (htmx names its page in HX-Current-URL), so the new card
    goes on top of it; /posts/new has no feed to put it in."""
    page = urlsplit(request.headers.get("HX-Current-URL", "")).path
    return page == str(request.app.url_path_for("feed"))


@router.get("/posts/composer", name="composer_form")
async def composer_form(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    """The full composer, swapped into the feed when someone starts to post: the title
    takes the focus (the link that opened it is gone)."""
    ctx = await composer_context(request, db)
    ctx["focus_title"] = True
    return render(request, "posts/_composer.html", {"composer": ctx})


@router.get("/posts/new", name="new_post")
async def new_post(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    return render(request, "posts/new.html", {"composer": await composer_context(request, db)})


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
            "composer": await composer_context(request, db, values=values, post=post),
            "post_id": post.id,
        },
    )


@router.post("/posts/{post_id}/edit", name="update_post")
async def update_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    post = await get_post_for_edit(db, user, post_id)
    done = await _submit(request, db, user, post)
    if done.error is not None:
        return await _form_again(request, db, done, post)
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
    headers = hx_trigger(HxEvents.likes_changed(post_id))  # the post page's liked-by list
    return render(request, "posts/_like_button.html", {"post": card}, headers=headers)


@router.get("/posts/{post_id}/likers", name="list_likers")
async def list_likers(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> Response:
    """The post page's liked-by list (it fetches itself again after a like on the page)."""
    await get_post_for_view(db, user, post_id)
    if not is_htmx(request):
        url = request.app.url_path_for("show_post", post_id=post_id)
        return RedirectResponse(f"{url}#likers", 303)
    likers = await feed.likers(db, post_id, limit=LIKERS_SHOWN)
    return render(request, "posts/_likers.html", {"post_id": post_id, "likers": likers})


@router.post("/posts/{post_id}/reactions/{kind}", name="toggle_reaction")
async def toggle_reaction(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId, kind: ReactionKind
) -> Response:
    """Like the like button: the form sends the state it wants (reacted=1/0). From the post
    page (full=1) the answer also carries its "who reacted" list, out of band."""
    form = await request.form()
    want = form.get("reacted") != "0"
    post = await (get_post_for_interaction if want else get_post_for_view)(db, user, post_id)
    await reactions.set_reaction(db, user, post, kind, want)
    if not is_htmx(request):
        post_url = str(request.app.url_path_for("show_post", post_id=post_id))
        return RedirectResponse(_back_path(request, post_url), 303)
    card = await feed.get_card(db, user, post_id)
    full = form.get("full") == "1"
    context: dict[str, Any] = {"post": card, "full": full, "oob": True}
    if full:
        context["reactors"] = await reactions.reactors(db, post_id)
    return render(request, "posts/_reaction_swap.html", context)


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
    app = request.app
    return f"{url_path(app, 'feed')}?{query}", f"{url_path(app, 'feed_page')}?{query}"
