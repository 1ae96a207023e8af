"""LINE WORKS API 2.0 with service-account authentication: a JWT (RS256; iss = client ID,
sub = service account, iat, exp) is exchanged at the token endpoint (grant type
`urn:ietf:params:oauth:grant-type:jwt-bearer`, scope `bot`) for an access token, kept until
shortly before it expires; then `POST /bots/{botId}/channels/{channelId}/messages` with a
link message. The API offers a bot no way to delete a channel message, so a withdrawn post
is followed by a notice. Base URLs: LINEWORKS_API_URL and LINEWORKS_AUTH_URL."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from app.i18n import _
from app.services.integrations import guard
from app.services.integrations.kinds import Context, Message, Result, post_json, request

JWT_SECONDS = 600
SCOPE = "bot"
TEXT_MAX = 1000
_tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (client, account) → (token, until)


def assertion(client_id: str, service_account: str, private_key: str, now: float) -> str:
    key = RSAKey.import_key(private_key)
    claims = {
        "iss": client_id,
        "sub": service_account,
        "iat": int(now),
        "exp": int(now) + JWT_SECONDS,
    }
    return jwt.encode({"alg": "RS256", "typ": "JWT"}, claims, key)


def message_body(message: Message) -> dict[str, Any]:
    lines = [message.headline, *(f"{k}: {v}" for k, v in message.facts)]
    text = "\n".join(lines)[:TEXT_MAX]
    if not message.url:
        return {"content": {"type": "text", "text": text}}
    return {
        "content": {
            "type": "link",
            "contentText": text,
            "linkText": _("Open on the board"),
            "link": message.url,
        }
    }


class LineWorks:
    name = "lineworks"
    label = "LINE WORKS"
    settings_fields: tuple[str, ...] = ("bot_id", "channel_id", "client_id", "service_account")
    secret_fields: tuple[str, ...] = ("client_secret", "private_key")

    def check(
        self, settings: Mapping[str, Any], secrets: Mapping[str, Any], allow: list[guard.IPNetwork]
    ) -> dict[str, str]:
        problems = {
            name: _("This field is required.")
            for name in self.settings_fields
            if not str(settings.get(name) or "").strip() or len(str(settings[name])) > 200
        }
        if not secrets.get("client_secret"):
            problems["client_secret"] = _("This field is required.")
        try:
            RSAKey.import_key(str(secrets.get("private_key") or ""))
        except Exception:  # any unreadable key, whatever the parser raises
            problems["private_key"] = _("Paste the service account's private key (PEM).")
        return problems

    async def _token(self, ctx: Context, message: Message) -> tuple[str | None, Result | None]:
        s, k = message.settings, message.secrets
        cache_key = (str(s["client_id"]), str(s["service_account"]))
        cached = _tokens.get(cache_key)
        now = time.time()
        if cached and cached[1] > now:
            return cached[0], None
        form = urlencode(
            {
                "assertion": assertion(
                    str(s["client_id"]), str(s["service_account"]), str(k["private_key"]), now
                ),
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "client_id": str(s["client_id"]),
                "client_secret": str(k["client_secret"]),
                "scope": SCOPE,
            }
        ).encode()
        result, answer = await request(
            ctx,
            "POST",
            ctx.settings.lineworks_auth_url,
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
            guarded=False,  # the operator's setting, not an admin's typing
        )
        if not result.sent or not isinstance(answer, dict) or "access_token" not in answer:
            if result.status in (400, 401, 403):
                result.final = True  # wrong credentials: another try will not mend them
            return None, result
        expires = float(answer.get("expires_in") or 3600)
        _tokens[cache_key] = (str(answer["access_token"]), now + max(expires - 300, 60))
        return str(answer["access_token"]), None

    async def send(self, ctx: Context, message: Message) -> Result:
        token, failed = await self._token(ctx, message)
        if token is None:
            assert failed is not None
            return failed
        s = message.settings
        url = (
            ctx.settings.lineworks_api_url.rstrip("/")
            + f"/bots/{quote(str(s['bot_id']), safe='')}"
            + f"/channels/{quote(str(s['channel_id']), safe='')}/messages"
        )
        result, _answer = await post_json(
            ctx, url, message_body(message), {"Authorization": f"Bearer {token}"}, guarded=False
        )
        if result.status == 401:
            _tokens.pop((str(s["client_id"]), str(s["service_account"])), None)
        return result

    async def retract(self, ctx: Context, message: Message, remote_ids: list[str]) -> Result:
        return await self.send(ctx, message)  # the notice: "no longer shown on the board"


KIND = LineWorks()
