"""The Slack kind against a fake Slack Web API in this process (tests/integrations/receivers.py):
the methods slack_sdk calls (`chat.postMessage` with the bot token, the channel, text and
blocks; `chat.delete` with the `ts` the post got), rate limits and final errors."""

from __future__ import annotations

import itertools

import pytest

from app.services import moderation, posts
from app.services.integrations import config
from tests.integrations.conftest import NOW
from tests.integrations.receivers import Receiver, Request
from tests.integrations.test_webhook import BODY, _publish, _rows

TOKEN = "xoxb-1234-5678-abcdefghijklmnop"


class FakeSlack:
    """Slack's Web API as documented: POST https://slack.com/api/<method>, bearer token,
    `{"ok": true, "channel", "ts"}`; a ts that was never posted is `message_not_found`."""

    def __init__(self) -> None:
        self.posted: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.ts = (f"1733556000.{n:06d}" for n in itertools.count(1))
        self.script: list[tuple[int, dict, dict]] = []

    async def __call__(self, request: Request):  # type: ignore[no-untyped-def]
        assert request.method == "POST"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.script:
            return self.script.pop(0)
        if request.path == "/api/chat.postMessage":
            assert request.headers["Content-Type"].startswith("application/json")
            body = request.json
            assert body["channel"] == "C0123456789"
            assert body["text"] and body["blocks"][0]["type"] == "section"
            ts = next(self.ts)
            self.posted[ts] = body
            return (200, {}, {"ok": True, "channel": "C0123456789", "ts": ts, "message": {}})
        if request.path == "/api/chat.delete":
            fields = request.form or request.query
            assert fields["channel"] == "C0123456789"
            if fields["ts"] not in self.posted or fields["ts"] in self.deleted:
                return (200, {}, {"ok": False, "error": "message_not_found"})
            self.deleted.append(fields["ts"])
            return (200, {}, {"ok": True, "channel": fields["channel"], "ts": fields["ts"]})
        return (200, {}, {"ok": False, "error": "unknown_method"})


@pytest.fixture
async def slack(allow_local, monkeypatch):  # type: ignore[no-untyped-def]
    fake = FakeSlack()
    async with Receiver(handler=fake) as receiver:
        monkeypatch.setattr(allow_local, "slack_api_url", receiver.url + "/api/")
        fake.receiver = receiver  # type: ignore[attr-defined]
        yield fake


async def _integration(db, admin, **kw):  # type: ignore[no-untyped-def]
    data = {
        "kind": "slack",
        "name": "#thanks",
        "channel": "C0123456789",
        "token": TOKEN,
        "events": ["post.published", "post.featured"],
    } | kw
    return await config.create_integration(db, admin, data)


async def test_a_post_goes_to_the_channel_and_is_deleted_with_its_ts_when_hidden(
    db, org, slack, drainer, at
):
    _units, admin, curator, staff = org
    await _integration(db, admin)
    post = await _publish(db, staff, title="笑顔の接客")
    assert await drainer.drain_once() == 1
    [(ts, body)] = slack.posted.items()
    assert "笑顔の接客" in body["text"] and f"/posts/{post.id}" in body["text"]
    assert f"/posts/{post.id}|" in body["blocks"][0]["text"]["text"]
    facts = " ".join(e["text"] for e in body["blocks"][1]["elements"])
    assert "新宿店" in facts and "伊藤 さくら" in facts
    assert BODY not in str(body)
    await moderation.hide_post(db, curator, post, "理由は書かない")
    assert await drainer.drain_once() == 1
    assert slack.deleted == [ts]
    assert [(r[0], r[1]) for r in await _rows(db)] == [
        ("post.published", "retracted"),
        ("post.withdrawn", "sent"),
    ]


async def test_featured_and_redacted_copies_are_all_deleted_and_the_new_title_sent(
    db, org, slack, drainer, at
):
    _units, admin, curator, staff = org
    await _integration(db, admin)
    post = await _publish(db, staff, title="鈴木さんへの感謝")
    await drainer.drain_once()
    await moderation.feature_post(db, curator, post, None)
    await drainer.drain_once()
    first, featured = list(slack.posted)
    await moderation.redact_post(db, curator, post, title="スタッフへの感謝")
    await drainer.drain_once()
    assert slack.deleted == [first, featured]
    resent = list(slack.posted.values())[-1]
    assert "スタッフへの感謝" in resent["text"] and "鈴木" not in resent["text"]
    await posts.delete_post(db, post)
    await drainer.drain_once()
    assert slack.deleted[-1] == list(slack.posted)[-1]  # the re-sent one goes too
    assert len(slack.deleted) == 3


async def test_a_rate_limit_is_retried_after_its_retry_after(db, org, slack, drainer, at):
    _units, admin, _curator, staff = org
    await _integration(db, admin)
    slack.script = [(429, {"Retry-After": "30"}, {"ok": False, "error": "ratelimited"})]
    await _publish(db, staff)
    assert await drainer.drain_once() == 0
    [(_e, outcome, due, _p, _a)] = await _rows(db)
    assert outcome is None and (due - NOW).total_seconds() == 30
    at(due)
    assert await drainer.drain_once() == 1


async def test_a_channel_not_found_is_given_up_at_once_and_shown(db, org, slack, drainer, at):
    _units, admin, _curator, staff = org
    made = await _integration(db, admin)
    slack.script = [(200, {}, {"ok": False, "error": "channel_not_found"})]
    await _publish(db, staff)
    assert await drainer.drain_once() == 0
    [(_e, outcome, _d, _p, _a)] = await _rows(db)
    assert outcome == "failed"
    assert (await config.get_integration(db, made.id)).failure == "channel_not_found"


@pytest.mark.parametrize(
    ("field", "value"), [("token", "xoxp-user-token"), ("channel", ""), ("channel", "a b")]
)
async def test_bad_slack_settings_are_refused(db, org, field, value):
    from app.services.errors import InvalidInput

    _units, admin, _curator, _staff = org
    with pytest.raises(InvalidInput) as caught:
        await _integration(db, admin, **{field: value})
    assert field in caught.value.by_field()
