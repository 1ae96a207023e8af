"""What every kind of integration provides (app/services/integrations/<kind>/), and the
result of one request to the outside service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from app.config import Settings
from app.services.integrations import guard
from app.services.push.transport import retry_after_seconds

TIMEOUT = aiohttp.ClientTimeout(total=5)


@dataclass(slots=True)
class Result:
    status: int | None  # None: no answer (network, timeout, refused by the guard)
    retry_after: float | None = None
    error: str | None = None
    remote_id: str | None = None
    final: bool = False  # no point retrying (refused address, bad settings)

    @property
    def sent(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error

    @property
    def retry(self) -> bool:
        if self.final:
            return False
        return self.status is None or self.status in (408, 429) or self.status >= 500


@dataclass(slots=True)
class Context:
    """What a transport needs besides the row: the HTTP pool, settings, allowed networks."""

    http: aiohttp.ClientSession
    settings: Settings
    allow: list[guard.IPNetwork]


@dataclass(slots=True)
class Message:
    """One delivery, ready to send: the event (with links), the text lines for people."""

    id: int
    event: str
    data: dict[str, Any]  # the webhook's JSON: id, event, occurred_at, post | bulletin
    headline: str  # "新しい投稿: …" in the site's language
    facts: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, Any] = field(default_factory=dict)


class Kind(Protocol):
    name: str
    label: str
    settings_fields: tuple[str, ...]
    secret_fields: tuple[str, ...]

    def check(
        self, settings: Mapping[str, Any], secrets: Mapping[str, Any], allow: list[guard.IPNetwork]
    ) -> dict[str, str]:
        """Problems with the settings, by field (saving is refused with them)."""
        ...

    async def send(self, ctx: Context, message: Message) -> Result: ...

    async def retract(self, ctx: Context, message: Message, remote_ids: list[str]) -> Result:
        """Remove the copies sent (or, where the tool cannot, post a notice)."""
        ...


async def post_json(
    ctx: Context,
    url: str,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    guarded: bool = True,
) -> tuple[Result, Any]:
    """POST JSON (exactly these bytes), through the SSRF guard; the result and the answer's
    JSON (None when it is not JSON)."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return await request(
        ctx,
        "POST",
        url,
        raw,
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        guarded=guarded,
    )


async def request(
    ctx: Context,
    method: str,
    url: str,
    raw: bytes | None,
    headers: Mapping[str, str],
    *,
    guarded: bool = True,
) -> tuple[Result, Any]:
    if guarded:
        try:
            await guard.check_target(url, ctx.allow)
        except guard.Refused as exc:
            return Result(None, error=str(exc), final=True), None
    try:
        async with ctx.http.request(
            method, url, data=raw, headers=dict(headers), timeout=TIMEOUT, allow_redirects=False
        ) as response:
            text = await response.text()
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Result(None, error=type(exc).__name__), None
    try:
        answer = json.loads(text) if text else None
    except ValueError:
        answer = None
    error = None if 200 <= status < 300 else f"HTTP {status}"
    return Result(status, retry_after, error), answer
