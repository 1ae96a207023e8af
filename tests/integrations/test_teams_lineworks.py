"""Teams (a Workflows webhook taking an Adaptive Card) and LINE WORKS (API 2.0: service
account JWT → access token → channel message) against real receivers in this process that
check the requests as each vendor documents them; a withdrawn post is followed by a notice
(neither API lets a webhook or bot delete its channel message)."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.services import moderation
from app.services.errors import InvalidInput
from app.services.integrations import config
from app.services.integrations.lineworks import transport as lineworks
from tests.integrations.receivers import Receiver, Request
from tests.integrations.test_webhook import BODY, _publish

# -- Teams -------------------------------------------------------------------------------------


async def test_teams_gets_an_adaptive_card_and_a_notice_when_the_post_is_hidden(
    db, org, drainer, at
):
    _units, admin, curator, staff = org
    async with Receiver(answers=[(202, {}, {}), (202, {}, {})]) as teams:
        webhook_url = teams.url + "/workflows/abc/triggers/manual/paths/invoke?sig=x"
        made = await config.create_integration(
            db, admin, {"kind": "teams", "name": "Teams", "webhook_url": webhook_url}
        )
        assert made.public()["secrets"] == {"webhook_url": True}
        assert "workflows" not in str(made.public())  # the URL is the credential: never shown
        post = await _publish(db, staff, title="笑顔の接客")
        assert await drainer.drain_once() == 1
        [request] = teams.requests
        assert request.path == "/workflows/abc/triggers/manual/paths/invoke"
        assert request.query == {"sig": "x"}
        assert request.headers["Content-Type"].startswith("application/json")
        message = request.json
        assert message["type"] == "message"
        [attachment] = message["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        assert card["body"][0] == {
            "type": "TextBlock",
            "text": "新しい投稿: 笑顔の接客",
            "weight": "Bolder",
            "wrap": True,
        }
        facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
        assert facts["組織"] == "新宿店" and facts["投稿者"] == "伊藤 さくら"
        [action] = card["actions"]
        assert action["type"] == "Action.OpenUrl" and action["url"].endswith(f"/posts/{post.id}")
        assert BODY not in request.raw.decode()
        await moderation.hide_post(db, curator, post, "非公開の理由")
        assert await drainer.drain_once() == 1
        notice = teams.requests[1].json["attachments"][0]["content"]
        assert "表示されなくなりました" in notice["body"][0]["text"]
        assert "笑顔の接客" not in teams.requests[1].raw.decode()
        assert "非公開の理由" not in teams.requests[1].raw.decode()


async def test_teams_refuses_a_metadata_url(db, org):
    _units, admin, _curator, _staff = org
    with pytest.raises(InvalidInput) as caught:
        await config.create_integration(
            db,
            admin,
            {"kind": "teams", "name": "T", "webhook_url": "http://169.254.169.254/x"},
        )
    assert "webhook_url" in caught.value.by_field()


# -- LINE WORKS --------------------------------------------------------------------------------

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = PRIVATE.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC = RSAKey.import_key(
    PRIVATE.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
)


class FakeLineWorks:
    """The token endpoint and the channel message API, as documented."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.messages: list[dict] = []

    async def __call__(self, request: Request):  # type: ignore[no-untyped-def]
        if request.path == "/oauth2/v2.0/token":
            assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
            form = request.form
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            assert form["client_id"] == "CLIENT" and form["client_secret"] == "CSECRET"
            assert form["scope"] == "bot"
            token = jwt.decode(form["assertion"], PUBLIC, algorithms=["RS256"])
            assert token.header["alg"] == "RS256"
            claims = token.claims
            assert claims["iss"] == "CLIENT" and claims["sub"] == "sa@example.serviceaccount"
            assert claims["iat"] <= time.time() + 5 < claims["exp"] <= claims["iat"] + 3600
            self.tokens_issued += 1
            return (
                200,
                {},
                {
                    "access_token": f"tok{self.tokens_issued}",
                    "refresh_token": "r",
                    "scope": "bot",
                    "token_type": "Bearer",
                    "expires_in": "86400",
                },
            )
        assert request.path == "/v1.0/bots/2000001/channels/ch-1/messages"
        assert request.headers["Authorization"] == f"Bearer tok{self.tokens_issued}"
        self.messages.append(request.json)
        return (201, {}, {})


@pytest.fixture
async def works(allow_local, monkeypatch):  # type: ignore[no-untyped-def]
    fake = FakeLineWorks()
    monkeypatch.setattr(lineworks, "_tokens", {})
    async with Receiver(handler=fake) as receiver:
        monkeypatch.setattr(allow_local, "lineworks_api_url", receiver.url + "/v1.0")
        monkeypatch.setattr(allow_local, "lineworks_auth_url", receiver.url + "/oauth2/v2.0/token")
        yield fake


def _lineworks(**kw: str) -> dict:
    return {
        "kind": "lineworks",
        "name": "LINE WORKS",
        "bot_id": "2000001",
        "channel_id": "ch-1",
        "client_id": "CLIENT",
        "service_account": "sa@example.serviceaccount",
        "client_secret": "CSECRET",
        "private_key": PEM,
        "events": ["post.published", "post.featured"],
    } | kw


async def test_lineworks_gets_a_token_once_and_link_messages(db, org, works, drainer, at):
    _units, admin, curator, staff = org
    made = await config.create_integration(db, admin, _lineworks())
    assert made.public()["secrets"] == {"client_secret": True, "private_key": True}
    assert "PRIVATE KEY" not in str(made.public())
    post = await _publish(db, staff, title="笑顔の接客")
    await moderation.feature_post(db, curator, post, None)
    assert await drainer.drain_once() == 2
    assert works.tokens_issued == 1  # kept for the second message
    first, featured = works.messages
    assert first["content"]["type"] == "link"
    assert first["content"]["contentText"].startswith("新しい投稿: 笑顔の接客")
    assert first["content"]["link"].endswith(f"/posts/{post.id}")
    assert featured["content"]["contentText"].startswith("好取組: 笑顔の接客")
    await moderation.hide_post(db, curator, post, "理由")
    assert await drainer.drain_once() == 1
    assert "表示されなくなりました" in works.messages[2]["content"]["contentText"]
    assert all(BODY not in str(m) for m in works.messages)


@pytest.mark.parametrize(
    ("field", "value"), [("private_key", "not a key"), ("bot_id", ""), ("client_secret", "")]
)
async def test_lineworks_settings_are_checked(db, org, field, value):
    _units, admin, _curator, _staff = org
    with pytest.raises(InvalidInput) as caught:
        await config.create_integration(db, admin, _lineworks(**{field: value}))
    assert field in caught.value.by_field()
