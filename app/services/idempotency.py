"""Idempotency-Key for creates a client may retry (IETF draft "The Idempotency-Key HTTP
Header Field"): the same key from the same user within 24 h gets the first answer again and
writes nothing; the same key with other content is a 422; one still being answered, a 409.

The key's row is inserted (in a SAVEPOINT, before the create) into the create's own
transaction, so it is committed exactly when the created row is; the unique (user, key)
constraint makes a concurrent duplicate wait for the first and then replay its answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.responses import Response
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.models import IdempotencyKey
from app.models.base import utcnow
from app.services.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"  # the same, from a browser form
KEPT = timedelta(hours=24)
# An sf-string's characters (RFC 8941 §3.3.3), without the quotes; a UUID fits easily.
_KEY = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,255}")
_table = IdempotencyKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Answer:
    """The first answer to a key, as it is sent again."""

    status_code: int
    body: str
    media_type: str
    location: str | None = None

    @classmethod
    def created(cls, body: str) -> Answer:
        return cls(201, body, "application/json")

    def response(self) -> Response:
        headers = {"Location": self.location} if self.location else None
        return Response(self.body, self.status_code, headers=headers, media_type=self.media_type)


def parse_key(raw: str | None) -> str | None:
    """The key of a header or form field (an sf-string, quoted or not); None when absent."""
    if raw is None or raw == "":
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _KEY.fullmatch(value):
        raise InvalidInput(
            [
                {
                    "loc": ["header", HEADER],
                    "msg": _("The Idempotency-Key must be 1 to 255 printable ASCII characters."),
                    "type": "value_error",
                }
            ]
        )
    return value


def fingerprint(method: str, path: str, content: Any) -> str:
    text = json.dumps([method, path, content], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Made:
    """The create committed but its answer was lost (the database went away in between):
    the caller answers again from the row it made."""

    resource_id: int
    key_id: int


async def _stored(db: AsyncSession, user_id: int, key: str, fp: str) -> Answer | Made | None:
    row = (
        await db.execute(
            sa.select(
                _table.c.id,
                _table.c.resource_id,
                _table.c.fingerprint,
                _table.c.status_code,
                _table.c.body,
                _table.c.media_type,
                _table.c.location,
            ).where(
                _table.c.user_id == user_id,
                _table.c.key == key,
                _table.c.created_at > utcnow() - KEPT,
            )
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != fp:
        raise InvalidInput(
            [
                {
                    "loc": ["header", HEADER],
                    "msg": _("This Idempotency-Key was already used for another request."),
                    "type": "idempotency_key_reused",
                }
            ]
        )
    if row.status_code is None and row.resource_id is not None:
        return Made(row.resource_id, row.id)
    if row.status_code is None:
        raise Conflict(_("A request with this Idempotency-Key is still being processed."))
    return Answer(row.status_code, row.body or "", row.media_type or "", row.location)


async def begin(
    db: AsyncSession, user_id: int, key: str, fp: str, creates: type[Any]
) -> Answer | Made | IdempotencyKey:
    """The first answer to replay, or the claimed key: committed with the create, and
    naming the first `creates` row (Post, Comment) the session inserts."""
    # Old keys go lazily, this user's only: a key may be used again after 24 hours.
    await db.execute(
        sa.delete(_table).where(_table.c.user_id == user_id, _table.c.created_at <= utcnow() - KEPT)
    )
    found = await _stored(db, user_id, key, fp)
    if found is not None:
        return found
    claimed = IdempotencyKey(user_id=user_id, key=key, fingerprint=fp)
    try:
        async with db.begin_nested():
            db.add(claimed)
            await db.flush()  # on PostgreSQL, waits here for a concurrent first request
    except sa.exc.IntegrityError:
        found = await _stored(db, user_id, key, fp)
        if found is None:  # the other request rolled back in between: the key is free
            raise Conflict(
                _("A request with this Idempotency-Key is still being processed.")
            ) from None
        return found

    def note_created(session: Any, _context: Any) -> None:
        if claimed.resource_id is None:
            made = [obj for obj in session.new if isinstance(obj, creates)]
            if made:
                # Written in the flush's own transaction (an attribute set here is not saved).
                set_committed_value(claimed, "resource_id", made[0].id)
                session.connection().execute(
                    sa.update(_table)
                    .where(_table.c.id == claimed.id)
                    .values(resource_id=claimed.resource_id)
                )

    sa.event.listen(db.sync_session, "after_flush", note_created)
    return claimed


async def remember(db: AsyncSession, key_id: int, answer: Answer) -> None:
    """Keep the answer of the create that committed with the key."""
    await db.execute(
        sa.update(_table)
        .where(_table.c.id == key_id)
        .values(
            status_code=answer.status_code,
            body=answer.body,
            media_type=answer.media_type,
            location=answer.location,
        )
    )
    await db.commit()
