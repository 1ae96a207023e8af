"""Web Push through real app instances (uvicorn, demo data) and a real push service in this
process: a like reaches the author's subscription within 2 seconds, and two instances (two
drainers, on PostgreSQL woken together by LISTEN/NOTIFY) send each push exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from app.services.push.keys import new_pair
from tests.factories import csrf_from
from tests.livetools import app_server, demo_database
from tests.push_service import PushService

pytestmark = pytest.mark.serial  # real servers and timing: not beside the parallel run

PRIVATE, PUBLIC = new_pair()
PASSWORD = "arigato-demo"


@contextmanager
def instances(tmp_path: Path, count: int) -> Iterator[list[str]]:
    """`count` app instances on one fresh demo database, with Web Push on."""
    env = {
        "VAPID_PRIVATE_KEY": PRIVATE,
        "VAPID_SUBJECT": "mailto:ops@example.com",
        # Without PostgreSQL's NOTIFY, instance 2 hears of nothing: it polls, often.
        "PUSH_POLL_SECONDS": "0.3",
    }
    with ExitStack() as stack:
        url = stack.enter_context(demo_database("push_live", str(tmp_path)))
        yield [stack.enter_context(app_server(url, extra_env=env)) for _ in range(count)]


async def signed_in(base: str, code: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base)
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"code": code, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303, r.text
    return client, csrf_from((await client.get("/")).text)


async def new_post(client: httpx.AsyncClient, csrf: str, title: str) -> int:
    r = await client.post(
        "/api/v1/posts",
        json={
            "kind": "praise",
            "title": title,
            "body": "お客さまの言葉（秘密）",
            "channel": "counter",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def subscribe(client: httpx.AsyncClient, csrf: str, service: PushService) -> None:
    r = await client.post(
        "/api/v1/me/push-subscriptions",
        json=service.new_subscription() | {"device": "test"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text


async def test_a_like_reaches_the_author_within_two_seconds(tmp_path):
    with instances(tmp_path, 1) as [base]:
        async with PushService() as service:
            author, author_csrf = await signed_in(base, "E1005")
            fan, fan_csrf = await signed_in(base, "E1006")
            # 12:00 in Tokyo or not, the test must not sit in the author's quiet hours.
            r = await author.post(
                "/settings/push",
                data={
                    "csrf_token": author_csrf,
                    "like": "on",
                    "quiet_start": "21:00",
                    "quiet_end": "08:00",
                },
            )
            assert r.status_code == 303
            post_id = await new_post(author, author_csrf, "プッシュのテスト")
            await subscribe(author, author_csrf, service)
            assert (await author.get("/api/v1/me/push-subscriptions")).json()[
                "vapid_public_key"
            ] == PUBLIC

            started = time.monotonic()
            r = await fan.put(f"/api/v1/posts/{post_id}/like", headers={"X-CSRF-Token": fan_csrf})
            assert r.status_code == 200, r.text
            message = await service.next_message(within=2)
            assert message.at - started < 2
            assert message.vapid_public_key == PUBLIC
            assert set(message.payload) == {"title", "url", "tag"}
            assert message.payload["url"] == f"/posts/{post_id}"
            assert "伊藤 さくら" in message.payload["title"]
            assert "プッシュのテスト" in message.payload["title"]
            assert "秘密" not in str(message.payload)
            await author.aclose()
            await fan.aclose()


async def test_two_instances_send_each_push_once(tmp_path):
    with instances(tmp_path, 2) as bases:
        async with PushService() as service:
            authors = []
            for code in ("E1005", "E1006", "E1001"):
                client, csrf = await signed_in(bases[0], code)
                r = await client.post(
                    "/settings/push",
                    data={
                        "csrf_token": csrf,
                        "like": "on",
                        "comment": "on",
                        "quiet_end": "08:00",
                        "quiet_start": "21:00",
                    },
                )
                assert r.status_code == 303
                await subscribe(client, csrf, service)
                await subscribe(client, csrf, service)  # a second device
                post_id = await new_post(client, csrf, f"{code} の投稿")
                authors.append((client, post_id))
            fans = [
                await signed_in(bases[i % 2], code) for i, code in enumerate(("E1002", "E1003"))
            ]
            # Comments and likes, half through each instance, all at once.
            calls = []
            for fan, csrf in fans:
                for _client, post_id in authors:
                    headers = {"X-CSRF-Token": csrf}
                    calls.append(fan.put(f"/api/v1/posts/{post_id}/like", headers=headers))
                    calls.append(
                        fan.post(
                            f"/api/v1/posts/{post_id}/comments",
                            json={"body": "いいですね"},
                            headers=headers,
                        )
                    )
            answers = await asyncio.gather(*calls)
            assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers]
            # Each author: 1 like group + 2 comments, on 2 devices = 6 pushes each.
            expected = 3 * 3 * 2
            got = [await service.next_message(within=5) for _ in range(expected)]
            await asyncio.sleep(2)  # anything sent twice would have arrived by now
            assert not service.messages, [m.payload for m in service.messages]
            per_device = Counter((m.token, m.payload["tag"]) for m in got)
            assert set(per_device.values()) == {1}
            for client, _post in authors:
                await client.aclose()
            for fan, _csrf in fans:
                await fan.aclose()
