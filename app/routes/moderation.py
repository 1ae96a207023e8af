"""Head office moderation: the `/moderation` page and the curator actions on posts and comments.

Every action works three ways. From the flags queue or the recent posts list on /moderation,
HTMX swaps in the updated group or row partial. From the curator panel on the post page, it
swaps the page's <main> (the card, likes and comments all change). Without JavaScript it is
a plain form: success redirects back; an error renders the page again with the message next
to the field and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from app import links
from app.deps import CuratorUser, SessionDep
from app.events import Counts, hx_trigger
from app.i18n import _
from app.inputs import PathId
from app.models import Comment, FlagReason, User
from app.permissions import get_comment_for_moderation, get_post_for_moderation
from app.routes.post_page import post_page_context
from app.routes.posts import highlight
from app.services import approvals, moderation
from app.services import comments as comment_service
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.inputs import (
    DismissIn,
    FeatureIn,
    OptionalReasonIn,
    ReasonIn,
    RedactCommentIn,
    RedactPostIn,
)
from app.services.ocr import status as image_check
from app.services.pii import find_personal_data, mask_personal_data
from app.templating import is_htmx, render
from app.web.forms import read_form, read_model

router = APIRouter(include_in_schema=False)

ORIGINS = ("queue", "recent", "post")

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Sent:
    """Where an action's form was: the list it is in (`from`: the queue, the recent posts or
    the post page), its target ("post:12", "comment:3"), the action, the post it is on."""

    origin: str
    target: str
    action: str
    post_id: int


@dataclass(slots=True)
class Failed:
    """An action that did not happen: where its form was, and what to show in it."""

    origin: str
    target: str
    action: str
    error: str
    value: str

    def at(self, origin: str, target: str, action: str) -> Failed | None:
        """This failure if it belongs to that form (templates: `failed.at(...)`)."""
        return self if (origin, target, action) == (self.origin, self.target, self.action) else None


async def _read(request: Request, model: type[M], default: str = "post") -> tuple[M, str]:
    """The action's form as its input model (services/inputs.py, the API's body too), and
    the list it was sent from (`from`: the queue, the recent posts, or the post page)."""
    typed, extra = await read_model(request, model, "from")
    return typed, extra["from"] if extra["from"] in ORIGINS else default


def _reason_filter(reason: str | None) -> str | None:
    return reason if reason in {r.value for r in FlagReason} else None


# -- the page --------------------------------------------------------------------------------


async def _moderation_page(
    request: Request,
    db: SessionDep,
    user: User,
    *,
    reason: str | None = None,
    cursor: str | None = None,
    recent_cursor: str | None = None,
    failed: Failed | None = None,
    status: int = 200,
) -> Response:
    groups, next_cursor = await moderation.open_flags(db, user, reason, cursor=cursor)
    recent, recent_next = await moderation.recent_posts(db, user, cursor=recent_cursor)
    base = str(request.app.url_path_for("moderation"))
    query = f"reason={reason}&" if reason else ""
    return render(
        request,
        "moderation/index.html",
        {
            "groups": groups,
            "reason": reason,
            "open_count": await moderation.open_flag_count(db, user),
            "next_url": f"{base}?{query}cursor={next_cursor}" if next_cursor else None,
            "recent": recent,
            "recent_next_url": f"{base}?recent={recent_next}#recent-posts" if recent_next else None,
            "failed": failed,
            "held_images": await image_check.waiting_for_people(db, user),
            "approvals_pending": await approvals.pending_count(db, user),
        },
        status_code=status,
    )


@router.get("/moderation", name="moderation")
async def moderation_page(
    request: Request,
    db: SessionDep,
    user: CuratorUser,
    reason: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    recent: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Open flags grouped by target (oldest first, filter by reason) and recent posts."""
    return await _moderation_page(
        request, db, user, reason=_reason_filter(reason), cursor=cursor, recent_cursor=recent
    )


# -- answering an action -------------------------------------------------------------------


def _back(request: Request, sent: Sent) -> str:
    if sent.origin == "post":
        url = str(request.app.url_path_for("show_post", post_id=sent.post_id))
        parsed = moderation.parse_target(sent.target)
        return url + links.one_comment(parsed[1]) if parsed and parsed[0] == "comment" else url
    parsed = moderation.parse_target(sent.target)
    assert parsed is not None
    anchor = (
        f"flag-group-{parsed[0]}-{parsed[1]}"
        if sent.origin == "queue"
        else f"mod-post-{sent.post_id}"
    )
    return f"{request.app.url_path_for('moderation')}#{anchor}"


async def _post_page(
    request: Request, db: SessionDep, user: User, post_id: int, failed: Failed | None, status: int
) -> Response:
    # Every comment: the action's target (one of them) is picked out of this page by HTMX.
    ctx = await post_page_context(db, user, post_id, all_comments=True)
    ctx["failed"] = failed
    return render(request, "posts/detail.html", ctx, status_code=status)


async def _answer(
    request: Request,
    db: SessionDep,
    user: User,
    sent: Sent,
    *,
    failed: Failed | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    htmx = is_htmx(request)
    if failed is None and not htmx:
        return RedirectResponse(_back(request, sent), 303)
    if not htmx:
        if sent.origin == "post":
            return await _post_page(request, db, user, sent.post_id, failed, status)
        return await _moderation_page(request, db, user, failed=failed, status=status)
    # An action may close reports (hiding does) or change what a post counts: the page sets
    # these numbers wherever it shows them (the queue's heading, the post's card).
    row = await moderation.post_row(db, sent.post_id)
    counts = {
        Counts.open_flags: await moderation.open_flag_count(db, user),
        Counts.comments(sent.post_id): row.comment_count if row else 0,
    }
    headers = hx_trigger(counts=counts)
    if sent.origin == "post":
        if sent.target.startswith("comment:"):
            comment_id = int(sent.target.partition(":")[2])
            return render(
                request,
                "moderation/_comment_swap.html",
                {"comment": await comment_service.comment_view(db, comment_id), "failed": failed},
                status_code=status,
                headers=headers,
            )
        return await _post_page(request, db, user, sent.post_id, failed, status)
    if sent.origin == "queue":
        group = await moderation.flag_group(db, sent.target)
        if group is None:
            raise NotFound(_("This post does not exist or is not visible to you."))
        group.resolved = done
        return render(
            request,
            "moderation/_flag_group.html",
            {"group": group, "failed": failed},
            status_code=status,
            headers=headers,
        )
    return render(
        request,
        "moderation/_post_row.html",
        {"row": row, "failed": failed, "done": done},
        status_code=status,
        headers=headers,
    )


async def _run(
    request: Request,
    db: SessionDep,
    user: User,
    call: Awaitable[Any],
    sent: Sent,
    typed: str | None,
    done: str,
) -> Response:
    """Do one action (`call`) and answer for the form it was sent from; `typed` is the text
    that form keeps when the action is refused."""
    try:
        await call
    except (InvalidInput, Conflict) as exc:
        if isinstance(exc, Conflict) and not is_htmx(request):
            raise  # the error page (app/errors.py): no form in place to show it in
        status, message = (
            (422, next(iter(exc.by_field().values()), ""))
            if isinstance(exc, InvalidInput)
            else (409, str(exc))
        )
        failed = Failed(sent.origin, sent.target, sent.action, message, typed or "")
        return await _answer(request, db, user, sent, failed=failed, status=status)
    return await _answer(request, db, user, sent, done=done)


# -- posts -----------------------------------------------------------------------------------


@router.post("/posts/{post_id}/hide", name="hide_post")
async def hide_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    post = await get_post_for_moderation(db, user, post_id)
    typed, origin = await _read(request, ReasonIn)
    call = moderation.hide_post(db, user, post, typed.reason)
    sent = Sent(origin, f"post:{post_id}", "hide", post_id)
    return await _run(request, db, user, call, sent, typed.reason, _("The post was hidden."))


@router.post("/posts/{post_id}/restore", name="restore_post")
async def restore_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    post = await get_post_for_moderation(db, user, post_id)
    typed, origin = await _read(request, OptionalReasonIn)
    call = moderation.restore_post(db, user, post, typed.reason or None)
    sent = Sent(origin, f"post:{post_id}", "restore", post_id)
    return await _run(request, db, user, call, sent, typed.reason, _("The post is shown again."))


@router.post("/posts/{post_id}/restore-request", name="request_restore_post")
async def request_restore_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    """A post hidden for personal data: ask for it to be shown again (another curator or
    admin approves on /approvals)."""
    post = await get_post_for_moderation(db, user, post_id)
    typed, origin = await _read(request, OptionalReasonIn)
    call = approvals.request_restore(db, user, post, typed.reason or None)
    sent = Sent(origin, f"post:{post_id}", "restore", post_id)
    done = _("Requested: another curator or administrator approves it.")
    return await _run(request, db, user, call, sent, typed.reason, done)


@router.post("/posts/{post_id}/feature", name="feature_post")
async def feature_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    post = await get_post_for_moderation(db, user, post_id)
    typed, origin = await _read(request, FeatureIn)
    call = moderation.feature_post(db, user, post, typed.note)
    sent = Sent(origin, f"post:{post_id}", "feature", post_id)
    return await _run(request, db, user, call, sent, typed.note, _("Marked as good practice."))


@router.post("/posts/{post_id}/unfeature", name="unfeature_post")
async def unfeature_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    post = await get_post_for_moderation(db, user, post_id)
    form = await read_form(request)  # no input, only where the form was
    await form.aclose()
    origin = form.get("from") if form.get("from") in ORIGINS else "post"
    call = moderation.unfeature_post(db, user, post)
    sent = Sent(origin, f"post:{post_id}", "unfeature", post_id)
    done = _("The good practice mark was removed.")
    return await _run(request, db, user, call, sent, None, done)


# -- comments --------------------------------------------------------------------------------


@router.post("/comments/{comment_id}/hide", name="hide_comment")
async def hide_comment(
    request: Request, db: SessionDep, user: CuratorUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_moderation(db, user, comment_id)
    typed, origin = await _read(request, ReasonIn)
    call = moderation.hide_comment(db, user, comment, typed.reason)
    sent = Sent(origin, f"comment:{comment_id}", "hide", comment.post_id)
    return await _run(request, db, user, call, sent, typed.reason, _("The comment was hidden."))


@router.post("/comments/{comment_id}/restore", name="restore_comment")
async def restore_comment(
    request: Request, db: SessionDep, user: CuratorUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_moderation(db, user, comment_id)
    typed, origin = await _read(request, OptionalReasonIn)
    call = moderation.restore_comment(db, user, comment, typed.reason or None)
    sent = Sent(origin, f"comment:{comment_id}", "restore", comment.post_id)
    done = _("The comment is shown again.")
    return await _run(request, db, user, call, sent, typed.reason, done)


# -- flags -----------------------------------------------------------------------------------


@router.post("/moderation/flags/dismiss", name="dismiss_flags")
async def dismiss_flags(request: Request, db: SessionDep, user: CuratorUser) -> Response:
    typed, origin = await _read(request, DismissIn, default="queue")
    target = typed.target
    parsed = moderation.parse_target(target)
    if parsed is None or not await moderation.target_exists(db, target, user):
        raise NotFound(_("There is nothing to act on here."))
    if parsed[0] == "post":
        post_id = parsed[1]
    else:
        comment = await db.get(Comment, parsed[1])
        assert comment is not None
        post_id = comment.post_id
    call = moderation.dismiss_flags(db, user, target, typed.reason or None)
    sent = Sent(origin, target, "dismiss", post_id)
    done = _("The reports were dismissed.")
    return await _run(request, db, user, call, sent, typed.reason, done)


# -- redaction -------------------------------------------------------------------------------


def _redact_page(
    request: Request,
    *,
    template: str,
    subject: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    masked: bool = False,
    status: int = 200,
) -> Response:
    candidates = [
        {"field": name, "segments": highlight(values[name])}
        for name in ("title", "body")
        if values.get(name) and find_personal_data(values[name])
    ]
    return render(
        request,
        template,
        {
            **subject,
            "values": values,
            "errors": errors or {},
            "candidates": candidates,
            "masked": masked,
        },
        status_code=status,
    )


@router.get("/posts/{post_id}/redact", name="redact_post_form")
async def redact_post_form(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    post = await get_post_for_moderation(db, user, post_id)
    return _redact_page(
        request,
        template="moderation/redact.html",
        subject={"post": post},
        values={"title": post.title, "body": post.body, "reason": ""},
    )


@router.post("/posts/{post_id}/redact", name="redact_post")
async def redact_post(
    request: Request, db: SessionDep, user: CuratorUser, post_id: PathId
) -> Response:
    post = await get_post_for_moderation(db, user, post_id)
    typed, extra = await read_model(request, RedactPostIn, "action")
    values = {k: v or "" for k, v in typed.model_dump().items()}
    page: dict[str, Any] = {"template": "moderation/redact.html", "subject": {"post": post}}
    if extra["action"] == "mask":
        for name in ("title", "body"):
            values[name] = mask_personal_data(values[name])
        return _redact_page(request, values=values, masked=True, **page)
    try:
        await moderation.redact_post(
            db, user, post, values["title"], values["body"], values["reason"] or None
        )
    except InvalidInput as exc:
        return _redact_page(request, values=values, errors=exc.by_field(), status=422, **page)
    return _redirect(request, str(request.app.url_path_for("show_post", post_id=post_id)))


@router.get("/comments/{comment_id}/redact", name="redact_comment_form")
async def redact_comment_form(
    request: Request, db: SessionDep, user: CuratorUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_moderation(db, user, comment_id)
    return _redact_page(
        request,
        template="moderation/redact_comment.html",
        subject={"comment": comment},
        values={"body": comment.body, "reason": ""},
    )


@router.post("/comments/{comment_id}/redact", name="redact_comment")
async def redact_comment(
    request: Request, db: SessionDep, user: CuratorUser, comment_id: PathId
) -> Response:
    comment = await get_comment_for_moderation(db, user, comment_id)
    typed, extra = await read_model(request, RedactCommentIn, "action")
    values = {k: v or "" for k, v in typed.model_dump().items()}
    page: dict[str, Any] = {
        "template": "moderation/redact_comment.html",
        "subject": {"comment": comment},
    }
    if extra["action"] == "mask":
        values["body"] = mask_personal_data(values["body"])
        return _redact_page(request, values=values, masked=True, **page)
    try:
        await moderation.redact_comment(db, user, comment, values["body"], values["reason"] or None)
    except InvalidInput as exc:
        return _redact_page(request, values=values, errors=exc.by_field(), status=422, **page)
    url = str(request.app.url_path_for("show_post", post_id=comment.post_id))
    return _redirect(request, url + links.one_comment(comment_id))


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, 303)
