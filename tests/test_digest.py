"""The e-mail digest against a real SMTP server (aiosmtpd, started here): what a digest holds,
the cap, no customer text ever, who gets one when, and that running it twice sends nothing
twice."""

from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from app import clock
from app.cli.main import cli
from app.models import Bulletin, BulletinItem, User
from app.routes import router as pages
from app.services import digest as digest_service
from app.services import likes
from app.services.comments import add_comment
from tests.factories import make_post, make_user
from tests.livetools import free_port

SECRET_BODY = "お客さまの山田様は涙を流して喜んでくださいました。"
SECRET_COMMENT = "コメントの本文はメールに載せない"


class Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=default_policy)
        )
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield (
            settings.model_copy(
                update={
                    "smtp_host": "127.0.0.1",
                    "smtp_port": controller.port,
                    "base_url": "https://arigato.example.jp",
                }
            ),
            handler,
        )
    finally:
        controller.stop()


@pytest.fixture
def frozen_clock():
    """Time moves only when the test says so."""
    state = {"now": clock.now() + timedelta(minutes=1)}  # after what the test writes
    clock.set_clock(lambda: state["now"])
    yield state
    clock.set_clock(None)


async def test_digest_contents_titles_and_links_only(db, smtp):
    settings, inbox = smtp
    me = await make_user(db, email="yamada@example.jp", name="山田 花子")
    me_code = me.code  # the digest's rollbacks expire the test's objects
    quiet = await make_user(db, email="quiet@example.jp", digest="off")
    no_mail = await make_user(db)
    post = await make_post(db, me, title="窓口での丁寧なご案内", body=SECRET_BODY)
    fans = [await make_user(db, name=f"佐藤 {i}") for i in range(3)]
    for fan in fans:
        await likes.set_like(db, fan, post, True)
    await add_comment(db, fans[0], post, SECRET_COMMENT)
    await likes.set_like(db, me, await make_post(db, quiet), True)
    await likes.set_like(db, me, await make_post(db, no_mail), True)
    curator = await make_user(db, role="curator")
    bulletin = Bulletin(
        title="今月の好取組",
        status="published",
        audience_all=True,
        fiscal_year=2025,
        volume=7,
        published_at=clock.now(),
        created_by_id=curator.id,
    )
    db.add(bulletin)
    await db.flush()
    db.add(BulletinItem(bulletin_id=bulletin.id, post_id=post.id))
    await db.commit()
    post_id, bulletin_id = post.id, bulletin.id

    report = await digest_service.send_digests(db, settings, path_for=pages.url_path_for)
    assert report.sent == [me_code]
    (msg,) = inbox.messages
    assert inbox.recipients == [["yamada@example.jp"]]
    assert msg["Subject"] == "【ありがとうボード】新しいお知らせ 3件"
    text = msg.get_content()
    assert "山田 花子 さん" in text
    assert "佐藤 2さん他2名があなたの投稿「窓口での丁寧なご案内」にいいね！しました" in text
    assert "佐藤 0さんがあなたの投稿「窓口での丁寧なご案内」にコメントしました" in text
    assert f"https://arigato.example.jp/posts/{post_id}" in text
    assert "新しい好取組情報: 第7号「今月の好取組」" in text
    assert f"https://arigato.example.jp/bulletins/{bulletin_id}" in text
    # Never a customer's words: not the post's text, not a comment's.
    raw = msg.as_string()
    for secret in (SECRET_BODY, SECRET_COMMENT, "涙"):
        assert secret not in text and secret not in raw
    assert msg.get_content_charset() == "utf-8"


async def test_digest_is_capped(db, smtp):
    settings, inbox = smtp
    me = await make_user(db, email="busy@example.jp")
    fan = await make_user(db)
    for i in range(digest_service.DIGEST_MAX_ITEMS + 5):
        await likes.set_like(db, fan, await make_post(db, me, title=f"投稿{i:02d}"), True)
    await digest_service.send_digests(db, settings, path_for=pages.url_path_for)
    (msg,) = inbox.messages
    text = msg.get_content()
    assert text.count("・") == digest_service.DIGEST_MAX_ITEMS
    assert "…ほか5件" in text
    assert "投稿24" in text and "投稿04" not in text  # the newest first
    assert msg["Subject"].endswith(f"{digest_service.DIGEST_MAX_ITEMS + 5}件")


async def test_running_twice_sends_nothing_twice(db, smtp, frozen_clock):
    settings, inbox = smtp
    me = await make_user(db, email="me@example.jp", digest="daily")
    weekly = await make_user(db, email="weekly@example.jp")
    me_code, weekly_code = me.code, weekly.code
    fan = await make_user(db)
    ids = (me.id, weekly.id, fan.id)
    first = await make_post(db, me, title="一通目")
    await likes.set_like(db, fan, first, True)
    await likes.set_like(db, fan, await make_post(db, weekly, title="週の分"), True)
    assert sorted(
        (await digest_service.send_digests(db, settings, path_for=pages.url_path_for)).sent
    ) == sorted([me_code, weekly_code])
    again = await digest_service.send_digests(db, settings, path_for=pages.url_path_for)
    assert again.sent == [] and len(inbox.messages) == 2

    # The next day: only what is new since the last digest, and only for the daily reader.
    frozen_clock["now"] += timedelta(days=1)
    me, weekly, fan = [await db.get(User, i, populate_existing=True) for i in ids]
    second = await make_post(db, me, title="二通目")
    await add_comment(db, fan, second, "よかったです")
    await add_comment(db, fan, await make_post(db, weekly, title="週の二つ目"), "いいですね")
    report = await digest_service.send_digests(db, settings, path_for=pages.url_path_for)
    assert report.sent == [me_code]
    text = inbox.messages[-1].get_content()
    assert "二通目" in text and "一通目" not in text
    assert (await digest_service.send_digests(db, settings, path_for=pages.url_path_for)).sent == []

    # A week later the weekly reader gets theirs, with only what they have not been sent.
    frozen_clock["now"] += timedelta(days=7)
    report = await digest_service.send_digests(db, settings, path_for=pages.url_path_for)
    assert weekly_code in report.sent
    weekly_text = [m for m in inbox.messages if m["To"].addresses[0].username == "weekly"][-1]
    assert "週の二つ目" in weekly_text.get_content()
    assert "週の分" not in weekly_text.get_content()


async def test_a_refused_mail_is_tried_again(db, smtp):
    settings, inbox = smtp
    me = await make_user(db, email="me@example.jp")
    me_code = me.code
    await likes.set_like(db, await make_user(db), await make_post(db, me), True)

    def refuse(_settings, _message):
        raise ConnectionRefusedError()

    report = await digest_service.send_digests(
        db, settings, path_for=pages.url_path_for, send=refuse
    )
    assert report.failed == 1 and report.sent == []
    await db.refresh(me)
    assert me.digest_sent_at is None  # the claim was rolled back
    assert (await digest_service.send_digests(db, settings, path_for=pages.url_path_for)).sent == [
        me_code
    ]
    assert len(inbox.messages) == 1


def test_is_due_per_tokyo_day_and_week():
    from datetime import UTC, datetime

    monday_9am_tokyo = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    sunday_night = datetime(2025, 6, 1, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    assert digest_service.is_due("daily", None, monday_9am_tokyo)
    assert digest_service.is_due("daily", sunday_night, monday_9am_tokyo)
    assert not digest_service.is_due("daily", monday_9am_tokyo, monday_9am_tokyo)
    assert digest_service.is_due("weekly", sunday_night, monday_9am_tokyo)
    tuesday = monday_9am_tokyo + timedelta(days=1)
    assert not digest_service.is_due("weekly", monday_9am_tokyo, tuesday)
    assert not digest_service.is_due("off", None, tuesday)


def test_cli_without_a_mail_server_is_a_one_line_error(monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    result = CliRunner().invoke(cli, ["digest", "send"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: SMTP_HOST is not set")
