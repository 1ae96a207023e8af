"""Web Push through a real push service in-process (tests/push_service.py checks the VAPID
JWT and decrypts the aes128gcm payload with the browser's keys). The drainer is run step by
step here, with the app's clock set where quiet hours matter; tests/test_push_live.py runs
it in real app instances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.models import ReactionKind
from app.models.tables import push_outbox, push_subscriptions
from app.routes import router as pages
from app.services import comments, likes, moderation, reactions
from app.services import notifications as notification_service
from app.services.push import preferences, subscriptions
from app.services.push.drainer import Drainer
from app.services.push.keys import new_pair
from tests.factories import make_post, make_user, stopped_clock
from tests.push_service import PushService

PRIVATE, PUBLIC = new_pair()
# 12:00 in Tokyo (03:00 UTC), outside the default quiet hours 21:00–8:00.
NOON_JST = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture
def at():  # type: ignore[no-untyped-def]
    """Set the app's clock: at(datetime)."""
    with stopped_clock(NOON_JST) as set_to:
        yield set_to


@pytest.fixture
async def service():  # type: ignore[no-untyped-def]
    async with PushService() as s:
        yield s


@pytest.fixture
def drainer(db, settings):  # type: ignore[no-untyped-def]
    configured = settings.model_copy(
        update={"vapid_private_key": PRIVATE, "vapid_subject": "mailto:ops@example.com"}
    )

    def session() -> AsyncSession:
        return AsyncSession(
            bind=db.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return Drainer(session, configured, pages.url_path_for)


async def _subscribe(db, service, user, answers=None):  # type: ignore[no-untyped-def]
    data = subscriptions.read_input(service.new_subscription(answers) | {"device": "Pixel"})
    return await subscriptions.subscribe(db, user, data)


async def _pending(db) -> list[tuple[str | None, datetime]]:  # type: ignore[no-untyped-def]
    rows = await db.execute(sa.select(push_outbox.c.outcome, push_outbox.c.due_at))
    return [(r[0], r[1]) for r in rows]


async def test_a_like_reaches_the_author_with_title_and_link_only(db, service, drainer, at):
    author = await make_user(db, name="山田 花子", locale="ja")
    fan = await make_user(db, name="佐藤 一郎")
    post = await make_post(db, author, title="笑顔のお礼", body="お客さまの声: 電話番号は…")
    await _subscribe(db, service, author)
    await likes.set_like(db, fan, post, True)

    assert await drainer.drain_once() == 1
    message = await service.next_message(within=2)
    assert message.vapid_public_key == PUBLIC
    assert message.claims["sub"] == "mailto:ops@example.com"
    assert set(message.payload) == {"title", "url", "tag"}
    assert message.payload["url"] == f"/posts/{post.id}"
    assert "佐藤 一郎" in message.payload["title"] and "笑顔のお礼" in message.payload["title"]
    assert "お客さまの声" not in str(message.payload)
    assert await drainer.drain_once() == 0  # sent once


async def test_likes_are_grouped_into_one_push_while_unread(db, service, drainer, at):
    author = await make_user(db, locale="en")
    post = await make_post(db, author, title="Smiles")
    await _subscribe(db, service, author)
    for name in ("A", "B"):
        await likes.set_like(db, await make_user(db, name=name), post, True)
    assert await drainer.drain_once() == 1
    message = await service.next_message(within=2)
    assert message.payload["title"] == "B and 1 others liked your post “Smiles”."
    # Another like while the group is still unread: the bell counts it, no second push.
    await likes.set_like(db, await make_user(db, name="C"), post, True)
    assert await drainer.drain_once() == 0


async def test_a_reaction_is_pushed_as_its_own_group_beside_likes(db, service, drainer, at):
    """A スタンプ is news like a like (the same setting): its group pushes once, and a like
    group already pushed does not swallow it."""
    author = await make_user(db, locale="en")
    post = await make_post(db, author, title="Smiles")
    await _subscribe(db, service, author)
    await likes.set_like(db, await make_user(db, name="A"), post, True)
    assert await drainer.drain_once() == 1
    await service.next_message(within=2)
    fan = await make_user(db, name="B")
    await reactions.set_reaction(db, fan, post, ReactionKind.great, True)
    assert await drainer.drain_once() == 1
    message = await service.next_message(within=2)
    assert "B" in message.payload["title"] and "Smiles" in message.payload["title"]
    assert message.payload["url"] == f"/posts/{post.id}"
    await reactions.set_reaction(db, fan, post, ReactionKind.thanks, True)
    assert await drainer.drain_once() == 0  # the group is still unread: no second push


async def test_comments_and_hiding_push_no_words_of_theirs(db, service, drainer, at):
    author = await make_user(db)
    colleague = await make_user(db, name="同僚")
    mentioned = await make_user(db, code="E7001")
    curator = await make_user(db, role="curator")
    post = await make_post(db, author, title="お礼の投稿")
    await _subscribe(db, service, author)
    await _subscribe(db, service, mentioned)
    await comments.add_comment(db, colleague, post, "秘密のコメント本文 @E7001")
    await moderation.hide_post(db, curator, post, "非表示の理由は個人情報")
    assert await drainer.drain_once() == 3
    payloads = [(await service.next_message(within=2)).payload for _ in range(3)]
    text = str(payloads)
    assert "秘密のコメント本文" not in text and "非表示の理由" not in text
    assert all(set(p) == {"title", "url", "tag"} for p in payloads)


async def test_quiet_hours_hold_the_push_until_they_end(db, service, drainer, at):
    author = await make_user(db)
    post = await make_post(db, author)
    await _subscribe(db, service, author)
    at(datetime(2026, 12, 7, 13, 30, tzinfo=UTC))  # 22:30 in Tokyo
    await likes.set_like(db, await make_user(db), post, True)
    assert await drainer.drain_once() == 0
    assert service.requests == 0
    morning = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # 8:00 in Tokyo
    assert await _pending(db) == [(None, morning)]
    at(morning - timedelta(minutes=1))
    assert await drainer.drain_once() == 0
    at(morning)
    assert await drainer.drain_once() == 1
    assert (await service.next_message(within=2)).payload["url"] == f"/posts/{post.id}"


async def test_a_kind_switched_off_or_read_first_is_not_pushed(db, service, drainer, at):
    author = await make_user(db)
    post = await make_post(db, author)
    await _subscribe(db, service, author)
    form = {name: "on" for name in preferences.SETTING_NAMES if name != "like"}
    await preferences.save_settings(db, author.id, form)  # likes off, no quiet hours
    await likes.set_like(db, await make_user(db), post, True)
    await comments.add_comment(db, await make_user(db), post, "いいですね")
    assert await drainer.drain_once() == 1  # the comment
    assert sorted(o for o, _due in await _pending(db)) == ["off", "sent"]
    # Read on another device before the push went out: not pushed any more.
    await comments.add_comment(db, await make_user(db), post, "私もそう思います")
    await notification_service.mark_read(db, author, None)
    assert await drainer.drain_once() == 0
    assert sorted(o for o, _due in await _pending(db)) == ["off", "sent", "skipped"]


async def test_410_removes_the_subscription(db, service, drainer, at):
    author = await make_user(db)
    post = await make_post(db, author)
    gone = await _subscribe(db, service, author, answers=[410])
    kept = await _subscribe(db, service, author)
    await likes.set_like(db, await make_user(db), post, True)
    assert await drainer.drain_once() == 1
    left = (await db.execute(sa.select(push_subscriptions.c.id))).scalars().all()
    assert left == [kept.id] and gone.id not in left


async def test_429_and_5xx_are_retried_with_backoff(db, service, drainer, at):
    author = await make_user(db)
    post = await make_post(db, author)
    await _subscribe(db, service, author, answers=[503, 429])
    await likes.set_like(db, await make_user(db), post, True)
    assert await drainer.drain_once() == 0  # 503: again in 30 s
    [(outcome, due)] = await _pending(db)
    assert outcome is None and due == NOON_JST + timedelta(seconds=30)
    at(due)
    assert await drainer.drain_once() == 0  # 429 with Retry-After: 2
    [(outcome, due2)] = await _pending(db)
    assert due2 == due + timedelta(seconds=2)
    at(due2)
    assert await drainer.drain_once() == 1
    assert service.requests == 3


def test_quiet_hours_across_midnight_and_within_a_day():
    s = preferences.PushSettings(user_id=1)  # 21:00–8:00
    tokyo = lambda h, m=0: datetime(2026, 12, 7, h, m, tzinfo=UTC) - timedelta(hours=9)  # noqa: E731
    assert preferences.quiet_until(s, tokyo(20, 59)) is None
    assert preferences.quiet_until(s, tokyo(21)) == tokyo(8) + timedelta(days=1)
    assert preferences.quiet_until(s, tokyo(7, 59)) == tokyo(8)
    assert preferences.quiet_until(s, tokyo(8)) is None
    lunch = preferences.PushSettings(user_id=1, quiet_start=12 * 60, quiet_end=13 * 60)
    assert preferences.quiet_until(lunch, tokyo(12, 30)) == tokyo(13)
    assert preferences.quiet_until(lunch, tokyo(13)) is None
    off = preferences.PushSettings(user_id=1, quiet=False)
    assert preferences.quiet_until(off, tokyo(23)) is None


@given(
    start=st.integers(0, 1439),
    end=st.integers(0, 1439),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
def test_quiet_hours_end_within_a_day_at_their_end_time(start, end, now):
    s = preferences.PushSettings(user_id=1, quiet_start=start, quiet_end=end)
    until = preferences.quiet_until(s, now)
    local = i18n.local_datetime(now)
    minute = local.hour * 60 + local.minute
    inside = start != end and (
        start <= minute < end if start < end else (minute >= start or minute < end)
    )
    assert (until is not None) == inside
    if until is not None:
        assert now < until <= now + timedelta(days=1)
        ends = i18n.local_datetime(until)
        assert (ends.hour * 60 + ends.minute, ends.second) == (end, 0)


async def test_a_browser_taken_over_by_a_colleague_gets_none_of_the_previous_owners_pushes(
    db, service, drainer, at
):
    first, second = await make_user(db), await make_user(db)
    post = await make_post(db, first, title="前の人の投稿")
    shared_pc = service.new_subscription()
    await subscriptions.subscribe(db, first, subscriptions.read_input(shared_pc))
    await likes.set_like(db, await make_user(db), post, True)  # waiting for the drainer
    await subscriptions.subscribe(db, second, subscriptions.read_input(shared_pc))
    assert await drainer.drain_once() == 0
    assert service.requests == 0
    assert await _pending(db) == []


async def test_a_deactivated_user_gets_no_pushes(db, service, drainer, at):
    author = await make_user(db)
    post = await make_post(db, author)
    await _subscribe(db, service, author)
    await likes.set_like(db, await make_user(db), post, True)
    author.active = False
    db.add(author)
    await db.commit()
    assert await drainer.drain_once() == 0
    assert [o for o, _due in await _pending(db)] == ["skipped"]


async def test_an_unreachable_push_service_is_retried(db, service, drainer, at):
    author = await make_user(db)
    post = await make_post(db, author)
    await _subscribe(db, service, author)
    service_base = service.base
    await service.__aexit__(None, None, None)  # the push service goes away
    await likes.set_like(db, await make_user(db), post, True)
    assert await drainer.drain_once() == 0
    [(outcome, due)] = await _pending(db)
    assert outcome is None and due == NOON_JST + timedelta(seconds=30)
    error = (await db.execute(sa.select(push_outbox.c.last_error))).scalar_one()
    assert error and "Error" in error and service_base not in error
