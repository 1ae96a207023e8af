"""The shop's shared terminal in the browser: keeping an active session alive, the idle
sign-out (which saves an unsent post as a draft of its author), and the morning meeting.

static/js/terminal.js drives the first two: it posts to keepalive (at most every few seconds,
and only after input) and, when the countdown ends, posts what the composer holds to
terminal_idle_sign_out. Without JavaScript the server's own expiry still signs the terminal
out (services/people/sessions.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import (
    CurrentUser,
    DeviceDep,
    OptionalUser,
    SessionCookie,
    SessionDep,
    TerminalSession,
)
from app.i18n import _
from app.inputs import PathId
from app.services import bulletins as bulletin_service
from app.services.errors import Forbidden, InvalidInput
from app.services.people import sessions
from app.services.terminal import drafts
from app.templating import render
from app.web import SESSION_COOKIE

router = APIRouter(include_in_schema=False)

COMPOSER_FIELDS = ("kind", "title", "body", *drafts.OPTIONAL)


@router.post("/terminal/keepalive", name="terminal_keepalive")
async def terminal_keepalive(user: CurrentUser) -> Response:
    """Someone is using the terminal: the request itself moved the session's expiry on."""
    return Response(status_code=204)


def _signed_out(request: Request, reason: str) -> Response:
    url = request.app.url_path_for("login_form") + f"?signed_out={reason}"
    response = RedirectResponse(url, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def sign_out_after_post(request: Request, db: SessionDep) -> Response:
    """ "Sign out after posting" on a terminal: the post is published, the session ends."""
    token = request.state.auth.session_token
    if token:
        await sessions.end_session(db, token)
    response = _signed_out(request, "posted")
    if request.headers.get("HX-Request") == "true":
        url = response.headers["location"]
        response = Response(status_code=204, headers={"HX-Redirect": url})
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/terminal/idle", name="terminal_idle_sign_out")
async def terminal_idle_sign_out(
    request: Request, db: SessionDep, auth: OptionalUser, token: SessionCookie
) -> Response:
    """The countdown ended: keep an unsent post as a draft, then end the session.

    When the server's expiry came first (a terminal whose screen slept through it), the
    session's user still gets the draft for a few minutes (sessions.LATE_DRAFT_WINDOW)."""
    if auth is not None and not auth.terminal:
        raise Forbidden(_("This works only on the shop's registered terminal."))
    author = auth.user if auth is not None else None
    if author is None and token:
        author = await sessions.lapsed_terminal_user(db, token)
    if author is None:  # already over: nothing left to save
        return _signed_out(request, "idle")
    form = await request.form()
    data = {k: v for k in COMPOSER_FIELDS if isinstance(v := form.get(k), str)}
    saved = await drafts.save_interrupted(db, author, data)
    if token:
        await sessions.end_session(db, token)
    return _signed_out(request, "draft" if saved else "idle")


# The morning meeting (朝礼) ----------------------------------------------------------------


def _meeting_bulletin(bulletin_id: PathId) -> int:
    return bulletin_id


# The bulletin's id as a dependency declared before the terminal check: FastAPI solves
# dependencies before a route's own parameters, and an id that cannot exist is a 404 for
# everyone (docs/hardening.md), not "only on the shop's terminal".
MeetingBulletinId = Annotated[int, Depends(_meeting_bulletin)]


async def _meeting_page(
    request: Request,
    db: SessionDep,
    auth: TerminalSession,
    device: DeviceDep,
    bulletin_id: int,
    *,
    ticked: set[str] | None = None,
    chosen: dict[int, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    assert device is not None  # TerminalSession: a session on this very device
    bulletin = await bulletin_service.get_bulletin_for_view(db, auth.user, bulletin_id)
    meeting = await bulletin_service.meeting_view(db, auth.user, bulletin, device.unit)
    ctx: dict[str, Any] = {
        "meeting": meeting,
        "ticked": ticked if ticked is not None else set(),
        "chosen": chosen if chosen is not None else meeting.answers,
        "errors": errors or {},
        "done": done,
    }
    return render(request, "bulletins/meeting.html", ctx, status_code=status_code)


@router.get("/bulletins/{bulletin_id}/meeting", name="show_meeting")
async def show_meeting(
    request: Request,
    db: SessionDep,
    bulletin_id: MeetingBulletinId,
    auth: TerminalSession,
    device: DeviceDep,
    done: str = "",
) -> Response:
    """Read a bulletin together at the shop's morning meeting (the shop's terminal only)."""
    message = _("Saved: read receipts and answers are recorded.") if done else ""
    return await _meeting_page(request, db, auth, device, bulletin_id, done=message)


def _answers(form: Any) -> dict[int, str]:
    """`answer-<item id>` fields; an empty one is "not decided". A bad id is bad input."""
    out: dict[int, str] = {}
    for key, value in form.multi_items():
        if not key.startswith("answer-") or not isinstance(value, str) or not value:
            continue
        number = key.removeprefix("answer-")
        if not (number.isascii() and number.isdigit() and len(number) < 10):
            raise InvalidInput.field("answers", _("Choose one of the options."))
        out[int(number)] = value
    return out


@router.post("/bulletins/{bulletin_id}/meeting", name="record_meeting")
async def record_meeting(
    request: Request,
    db: SessionDep,
    bulletin_id: MeetingBulletinId,
    auth: TerminalSession,
    device: DeviceDep,
) -> Response:
    """Tick who was there (read receipts "at the meeting") and save the shop's answers."""
    assert device is not None
    form = await request.form()
    present = [v for v in form.getlist("present") if isinstance(v, str)]
    bulletin = await bulletin_service.get_bulletin_for_view(db, auth.user, bulletin_id)
    chosen: dict[int, str] = {}
    try:
        chosen = _answers(form)
        await bulletin_service.record_meeting(db, auth.user, bulletin, device.unit, present, chosen)
    except InvalidInput as exc:
        return await _meeting_page(
            request,
            db,
            auth,
            device,
            bulletin_id,
            ticked=set(present),
            chosen=chosen,
            errors=exc.by_field(),
            status_code=422,
        )
    url = request.app.url_path_for("show_meeting", bulletin_id=bulletin_id) + "?done=1"
    return RedirectResponse(url, status_code=303)
