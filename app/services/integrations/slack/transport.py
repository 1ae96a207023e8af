"""Slack through its Web API with slack_sdk's AsyncWebClient (bot token `xoxb-…`, scope
`chat:write`; the bot invited to the channel). `chat.postMessage` answers the message's
`ts`, kept as the remote id ("<channel> <ts>"); a withdrawn post's copies are removed with
`chat.delete`. The Web API's base URL is SLACK_API_URL (tests and proxies)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.i18n import _
from app.services.integrations import guard
from app.services.integrations.kinds import Context, Message, Result
from app.services.push.transport import retry_after_seconds

# Slack's errors that another try will not mend: the settings are wrong.
FINAL = {
    "channel_not_found",
    "not_in_channel",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "is_archived",
    "msg_too_long",
    "no_text",
}
GONE = {"message_not_found"}  # deleting what is already gone is done


def blocks_of(message: Message) -> list[dict[str, Any]]:
    """A section with the headline as a link, then the facts as context."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"<{message.url}|{_escape(message.headline)}>"},
        }
    ]
    if message.facts:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{_escape(k)}: {_escape(v)}"}
                    for k, v in message.facts
                ],
            }
        )
    return blocks


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters (its documented escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Slack:
    name = "slack"
    label = "Slack"
    settings_fields: tuple[str, ...] = ("channel",)
    secret_fields: tuple[str, ...] = ("token",)

    def check(
        self, settings: Mapping[str, Any], secrets: Mapping[str, Any], allow: list[guard.IPNetwork]
    ) -> dict[str, str]:
        problems: dict[str, str] = {}
        channel = str(settings.get("channel") or "")
        if not channel or len(channel) > 80 or " " in channel:
            problems["channel"] = _("Enter the channel's ID (e.g. C0123456789).")
        token = str(secrets.get("token") or "")
        if not token.startswith("xoxb-"):
            problems["token"] = _("Enter the bot's token (it starts with xoxb-).")
        return problems

    def client(self, ctx: Context, message: Message) -> AsyncWebClient:
        return AsyncWebClient(
            token=str(message.secrets.get("token", "")),
            base_url=ctx.settings.slack_api_url,
            timeout=5,
            session=ctx.http,
            retry_handlers=[],  # the outbox retries, with its own backoff
        )

    async def send(self, ctx: Context, message: Message) -> Result:
        channel = str(message.settings.get("channel", ""))
        try:
            answer = await self.client(ctx, message).chat_postMessage(
                channel=channel,
                text=f"{message.headline} {message.url}",  # notifications and screen readers
                blocks=blocks_of(message),
                unfurl_links=False,
            )
        except SlackApiError as exc:
            return _failure(exc)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Result(None, error=type(exc).__name__)
        return Result(200, remote_id=f"{answer.get('channel') or channel} {answer.get('ts')}")

    async def retract(self, ctx: Context, message: Message, remote_ids: list[str]) -> Result:
        client = self.client(ctx, message)
        for remote_id in remote_ids:
            channel, _sep, ts = remote_id.partition(" ")
            try:
                await client.chat_delete(channel=channel, ts=ts)
            except SlackApiError as exc:
                if exc.response.get("error") not in GONE:
                    return _failure(exc)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                return Result(None, error=type(exc).__name__)
        return Result(200)


def _failure(exc: SlackApiError) -> Result:
    status = exc.response.status_code
    error = str(exc.response.get("error") or f"HTTP {status}")
    retry_after = retry_after_seconds(exc.response.headers.get("Retry-After"))
    if status == 200:  # ok: false; an error not known to be final may pass (internal_error)
        return Result(200 if error in FINAL else None, error=error, final=error in FINAL)
    return Result(status, retry_after, error)


KIND = Slack()
