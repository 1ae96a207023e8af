"""POST the event's JSON to the admin's URL, with `X-Arigato-Signature: sha256=<hex
HMAC-SHA256 of the raw body>` and `X-Arigato-Delivery: <id>` (a receiver de-duplicates by
it). A withdrawn post is told as its own event: the receiver removes its copy."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from app.i18n import _
from app.services.integrations import guard
from app.services.integrations.kinds import Context, Message, Result, post_json


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def check_https_url(url: Any, allow: list[guard.IPNetwork]) -> str | None:
    """The problem with a receiver's URL as an admin typed it (None: none)."""
    if not isinstance(url, str) or not url.strip():
        return _("Enter the receiver's URL.")
    if len(url) > 1000:
        return _("The URL is too long.")
    try:
        guard.check_url(url.strip(), allow)
    except guard.Refused:
        return _(
            "This URL points to an address the board may not reach (loopback, link-local, "
            "cloud metadata or a private network not allowed)."
        )
    if url.startswith("http://") and not allow:
        return _("Use an https:// URL (plain http only for networks in OUTBOUND_ALLOW_NETWORKS).")
    return None


class Webhook:
    name = "webhook"
    label = "Webhook"
    settings_fields: tuple[str, ...] = ("url",)
    secret_fields: tuple[str, ...] = ("secret",)

    def check(
        self, settings: Mapping[str, Any], secrets: Mapping[str, Any], allow: list[guard.IPNetwork]
    ) -> dict[str, str]:
        problems: dict[str, str] = {}
        if problem := check_https_url(settings.get("url"), allow):
            problems["url"] = problem
        if not secrets.get("secret") or len(str(secrets["secret"])) < 16:
            problems["secret"] = _("The secret must be at least 16 characters.")
        return problems

    async def send(self, ctx: Context, message: Message) -> Result:
        raw = json.dumps(message.data, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "X-Arigato-Signature": signature(str(message.secrets.get("secret", "")), raw),
            "X-Arigato-Delivery": str(message.id),
            "X-Arigato-Event": message.event,
            "User-Agent": "ArigatoBoard-Webhook/1",
        }
        result, _answer = await post_json(ctx, str(message.settings["url"]), raw, headers)
        return result

    async def retract(self, ctx: Context, message: Message, remote_ids: list[str]) -> Result:
        return await self.send(ctx, message)


KIND = Webhook()
