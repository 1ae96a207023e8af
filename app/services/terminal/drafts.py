"""A post that was being written when the terminal signed itself out becomes a draft of its
author: nothing typed on a shared device is kept on the device, and nothing is lost."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import Post, PostKind, PostStatus, User
from app.services import posts as post_service
from app.services.errors import InvalidInput
from app.services.inputs import BODY_MAX, TITLE_MAX, cleaned

REQUIRED_DEFAULTS: dict[str, dict[str, str]] = {
    "praise": {"channel": "other"},
    "knowhow": {"category": "knowledge"},
}
OPTIONAL = ("unit", "received_on", "channel", "product", "category")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def save_interrupted(db: AsyncSession, author: User, data: dict[str, Any]) -> Post | None:
    """Keep what the composer held as a draft; None when nothing was typed.

    The draft is saved as typed, made to fit: a missing title becomes the start of the
    text (or "Unfinished post"), an empty text the title, overlong ones are cut; the
    personal-data check runs when the draft is published, as for every draft. What the
    draft rules still refuse (an unknown unit, a bad date) is dropped, not the text.
    """
    title = cleaned(data.get("title")) or ""
    body = cleaned(data.get("body")) or ""
    if not isinstance(title, str) or not isinstance(body, str) or not (title or body):
        return None
    kind = str(data.get("kind")) if data.get("kind") in {k.value for k in PostKind} else "praise"
    first_line = body.strip().splitlines()[0] if body.strip() else ""
    fields: dict[str, Any] = {
        "kind": kind,
        "title": _fit(title or first_line or _("Unfinished post"), TITLE_MAX),
        "body": _fit(body or title, BODY_MAX),
        "status": PostStatus.draft.value,
        "tags": [],
        # A draft is not shown to anyone; the guard asks again when it is published.
        "confirm_personal_data": True,
    }
    # What a post of the kind must name, when it was not chosen yet (the author sees it in
    # the draft before publishing it).
    fields.update(REQUIRED_DEFAULTS[kind])
    optional = {k: v for k in OPTIONAL if isinstance(v := data.get(k), str) and v}
    try:
        return await post_service.create_post(db, author, {**fields, **optional})
    except InvalidInput:
        return await post_service.create_post(db, author, fields)
