"""How fast an identity provider may call: a sliding minute per token, in this process.

Entra ID and Okta send bursts at the first sync (thousands of users); the limit is far
above that pace and is there to stop a runaway client, not to shape traffic, so a count per
instance is enough (the login throttle, which must hold across instances, is in the database).
"""

from __future__ import annotations

import math
import time
from collections import deque

from app.i18n import _
from app.services.errors import TooManyRequests

REQUESTS_PER_MINUTE = 1200
WINDOW_S = 60.0
_KEYS_MAX = 1000

_seen: dict[str, deque[float]] = {}


class ScimThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        message = _("Too many SCIM requests. Try again in %(seconds)s seconds.")
        super().__init__(message % {"seconds": retry_after}, retry_after)


def check(key: str, *, limit: int | None = None, now: float | None = None) -> None:
    """Count one request for `key`; ScimThrottled (429, Retry-After) when over the limit."""
    limit = REQUESTS_PER_MINUTE if limit is None else limit
    now = time.monotonic() if now is None else now
    if key not in _seen and len(_seen) >= _KEYS_MAX:
        _seen.clear()  # only a flood of distinct tokens gets here; forgetting is harmless
    times = _seen.setdefault(key, deque())
    while times and times[0] <= now - WINDOW_S:
        times.popleft()
    if len(times) >= limit:
        raise ScimThrottled(max(1, math.ceil(times[0] + WINDOW_S - now)))
    times.append(now)


def reset() -> None:
    _seen.clear()
