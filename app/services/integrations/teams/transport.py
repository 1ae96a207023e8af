"""Teams through a Workflows webhook (the successor of the retired Office 365 connectors'
incoming webhooks): POST `{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <Adaptive Card>}]}` to the URL the
workflow gives. A webhook cannot delete what it posted, so a withdrawn post is followed by a
card saying that it is no longer shown (the card links back; the board shows nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.i18n import _
from app.services.integrations import guard
from app.services.integrations.kinds import Context, Message, Result, post_json
from app.services.integrations.webhook.transport import check_https_url

CARD_VERSION = "1.4"


def card_of(message: Message) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.headline, "weight": "Bolder", "wrap": True}
    ]
    if message.facts:
        body.append(
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in message.facts]}
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if message.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": _("Open"), "url": message.url}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


class Teams:
    name = "teams"
    label = "Microsoft Teams"
    settings_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ("webhook_url",)  # the URL is the credential

    def check(
        self, settings: Mapping[str, Any], secrets: Mapping[str, Any], allow: list[guard.IPNetwork]
    ) -> dict[str, str]:
        if problem := check_https_url(secrets.get("webhook_url"), allow):
            return {"webhook_url": problem}
        return {}

    async def send(self, ctx: Context, message: Message) -> Result:
        result, _answer = await post_json(
            ctx, str(message.secrets["webhook_url"]), card_of(message)
        )
        return result

    async def retract(self, ctx: Context, message: Message, remote_ids: list[str]) -> Result:
        return await self.send(ctx, message)  # the notice: "no longer shown on the board"


KIND = Teams()
