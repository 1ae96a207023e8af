"""Opaque keyset cursors for newest-first lists: (created_at, id) of the last item shown."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from app.inputs import MAX_ID
from app.services.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, item_id: int) -> str:
    micros = (created_at - EPOCH) // MICRO  # integer arithmetic: no float rounding
    raw = f"{micros}.{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Raise a 422 for anything that is not a cursor this app made."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        micros_s, _sep, id_s = base64.urlsafe_b64decode(padded.encode()).decode().partition(".")
        micros, item_id = int(micros_s), int(id_s)
        if not 0 <= item_id <= MAX_ID or micros < 0:  # an id no row can have
            raise ValueError
        return EPOCH + micros * MICRO, item_id
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError, OSError) as exc:
        raise InvalidInput(
            [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
        ) from exc
