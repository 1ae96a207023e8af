"""Through a real app instance (uvicorn, demo data): an admin sets up a webhook over the API,
a post published over HTTP reaches the receiver within 2 seconds without the request
waiting for it, and hiding it sends the retraction."""

from __future__ import annotations

import json

import pytest

from tests.integrations.receivers import Receiver
from tests.test_push_live import instances, signed_in

pytestmark = pytest.mark.serial


async def test_a_published_post_reaches_the_webhook_and_its_hiding_follows(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8")
    async with Receiver() as receiver:
        with instances(tmp_path, 1) as (base,):
            admin, admin_csrf = await signed_in(base, "admin")
            r = await admin.post(
                "/api/v1/admin/integrations",
                json={
                    "kind": "webhook",
                    "name": "live",
                    "url": receiver.url + "/hook",
                    "secret": "x" * 20,
                },
                headers={"X-CSRF-Token": admin_csrf},
            )
            assert r.status_code == 201, r.text
            author, csrf = await signed_in(base, "E1005")
            r = await author.post(
                "/api/v1/posts",
                json={
                    "kind": "praise",
                    "title": "ライブの確認",
                    "body": "お客さまの言葉（秘密）",
                    "channel": "counter",
                },
                headers={"X-CSRF-Token": csrf},
            )
            assert r.status_code == 201, r.text
            post_id = r.json()["id"]
            published = json.loads((await receiver.next_request(within=2)).raw)
            assert published["event"] == "post.published"
            assert published["post"]["id"] == post_id
            assert published["post"]["url"].endswith(f"/posts/{post_id}")
            curator, curator_csrf = await signed_in(base, "curator")
            r = await curator.post(
                f"/api/v1/posts/{post_id}/hide",
                json={"reason": "確認のため"},
                headers={"X-CSRF-Token": curator_csrf},
            )
            assert r.status_code == 200, r.text
            withdrawn = json.loads((await receiver.next_request(within=3)).raw)
            assert withdrawn["event"] == "post.withdrawn"
            assert withdrawn["post"]["id"] == post_id
            assert all("秘密" not in r.raw.decode() for r in receiver.requests)
            for client in (admin, author, curator):
                await client.aclose()
