"""Sending one push (RFC 8030) with the payload encrypted for the browser (RFC 8291,
aes128gcm) and signed for the push service (VAPID, RFC 8292), through pywebpush."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from pywebpush import WebPushException, webpush_async

from app import clock
from app.services.push.keys import vapid

TTL_SECONDS = 24 * 3600  # a phone that is off for a day still gets it
TIMEOUT_SECONDS = 10


@dataclass(slots=True)
class Result:
    status: int | None  # None: no answer (network, timeout)
    retry_after: float | None = None  # seconds, from the push service's Retry-After
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The subscription no longer exists (the browser unsubscribed, or it expired)."""
        return self.status in (404, 410)

    @property
    def retry(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date; None if absent or unreadable)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - clock.now()).total_seconds())
    except (TypeError, ValueError):
        return None


async def send(
    session: aiohttp.ClientSession,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    payload: dict[str, Any],
    private_key: str,
    subject: str,
) -> Result:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        response = await webpush_async(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=data,
            vapid_private_key=vapid(private_key),
            vapid_claims={"sub": subject},  # a new dict each time: pywebpush fills it in
            ttl=TTL_SECONDS,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            aiohttp_session=session,
            headers={"Urgency": "normal"},
        )
    except WebPushException as exc:
        status = exc.status_code
        return Result(status, retry_after_seconds(exc.retry_after), f"HTTP {status}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Result(None, None, type(exc).__name__)
    return Result(int(getattr(response, "status", 201)))
