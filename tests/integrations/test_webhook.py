"""Outgoing integrations, the webhook kind, through a real HTTP receiver in this process
(tests/integrations/receivers.py): the exact JSON and its signature, retries after a 500 and a 429 with
Retry-After, giving up after a day, retraction after hide/redact/delete, scope, the SSRF
guard, and the admin API (secrets write-only, audited). The drainer runs step by step."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.models.tables import audit_log, integration_deliveries
from app.services import bulletins, moderation, posts
from app.services.integrations import config
from tests.factories import bearer_for, make_user
from tests.integrations.conftest import NOW
from tests.integrations.receivers import Receiver

SECRET = "s3cret-s3cret-s3cret"
BODY = "お客さまの言葉そのもの（外に出してはいけない）"


async def _webhook(db, admin, receiver, **kw):  # type: ignore[no-untyped-def]
    data = {
        "kind": "webhook",
        "name": "社内ポータル",
        "url": receiver.url + "/hook",
        "secret": SECRET,
        "events": ["post.published", "post.featured", "bulletin.published"],
    } | kw
    return await config.create_integration(db, admin, data)


async def _publish(db, staff, title="丁寧な説明に感謝", kind="praise"):  # type: ignore[no-untyped-def]
    data = {"kind": kind, "title": title, "body": BODY, "status": "published"}
    if kind == "praise":
        data["channel"] = "counter"
    else:
        data["category"] = "skill"
    return await posts.create_post(db, staff, data)


async def _rows(db):  # type: ignore[no-untyped-def]
    d = integration_deliveries
    rows = await db.execute(
        sa.select(d.c.event, d.c.outcome, d.c.due_at, d.c.payload, d.c.attempts).order_by(d.c.id)
    )
    return rows.all()


def _verify(request) -> dict:  # type: ignore[no-untyped-def]
    expected = "sha256=" + hmac.new(SECRET.encode(), request.raw, hashlib.sha256).hexdigest()
    assert request.headers["X-Arigato-Signature"] == expected
    data = json.loads(request.raw)
    assert request.headers["X-Arigato-Delivery"] == str(data["id"])
    assert request.headers["Content-Type"].startswith("application/json")
    return data


async def test_a_published_post_is_posted_signed_with_titles_and_link_only(
    db, org, receiver, drainer, at
):
    _units, admin, _curator, staff = org
    await _webhook(db, admin, receiver)
    post = await _publish(db, staff)
    assert receiver.requests == []  # never in the request: the drainer sends it
    assert await drainer.drain_once() == 1
    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hook"
    data = _verify(request)
    assert data == {
        "id": data["id"],
        "event": "post.published",
        "occurred_at": "2026-12-07T03:00:00+00:00",
        "post": {
            "id": post.id,
            "kind": "praise",
            "title": "丁寧な説明に感謝",
            "url": f"{drainer.settings.base_url.rstrip('/')}/posts/{post.id}",
            "unit": {"code": "S1", "name": "新宿店"},
            "author": {"code": staff.code, "name": "伊藤 さくら"},
            "featured": False,
        },
    }
    assert datetime.fromisoformat(data["occurred_at"]).utcoffset() is not None
    assert [(r[0], r[1]) for r in await _rows(db)] == [("post.published", "sent")]
    assert await drainer.drain_once() == 0  # once


async def test_feature_and_bulletin_events_follow_their_choice_and_scope(
    db, org, receiver, drainer, at
):
    units, admin, curator, staff = org
    await _webhook(db, admin, receiver, units=["RA"], post_kinds=["praise"])
    other = await make_user(db, units["S2"])
    inside = await _publish(db, staff)
    await _publish(db, other)  # 関西: outside the scope
    await _publish(db, staff, kind="knowhow")  # not chosen
    await moderation.feature_post(db, curator, inside, "全店で参考に")
    b_all = await bulletins.create_bulletin(
        db, curator, {"title": "好取組情報 6月号", "lead": "", "audience": "all"}
    )
    await bulletins.add_item(db, curator, b_all, inside.id, "")
    await bulletins.publish_now(db, curator, b_all)
    b_west = await bulletins.create_bulletin(
        db, curator, {"title": "関西だより", "lead": "", "audience": ["RB"]}
    )
    await bulletins.add_item(db, curator, b_west, inside.id, "")
    await bulletins.publish_now(db, curator, b_west)
    assert await drainer.drain_once() == 3
    got = [_verify(r) for r in receiver.requests]
    assert [d["event"] for d in got] == ["post.published", "post.featured", "bulletin.published"]
    assert got[1]["post"]["featured"] is True
    bulletin = got[2]["bulletin"]
    assert bulletin["title"] == "好取組情報 6月号" and bulletin["url"].endswith(f"/{b_all.id}")
    assert set(bulletin) == {"id", "volume", "title", "url"}
    for d in got:
        assert "全店で参考に" not in json.dumps(d, ensure_ascii=False)


async def test_500_and_429_with_retry_after_are_retried_then_sent(db, org, drainer, at):
    _units, admin, _curator, staff = org
    async with Receiver(answers=[(500, {}, {}), (429, {"Retry-After": "7"}, {})]) as receiver:
        await _webhook(db, admin, receiver)
        await _publish(db, staff)
        assert await drainer.drain_once() == 0  # 500: backoff, about 10 s with jitter
        [(_e, outcome, due, _p, attempts)] = await _rows(db)
        assert outcome is None and attempts == 1
        assert NOW + timedelta(seconds=7) < due <= NOW + timedelta(seconds=10)
        assert await drainer.drain_once() == 0  # not due yet
        at(due)
        assert await drainer.drain_once() == 0  # 429 with Retry-After: 7
        [(_e, outcome, due2, _p, _a)] = await _rows(db)
        assert due2 == due + timedelta(seconds=7)
        at(due2)
        assert await drainer.drain_once() == 1
        ids = {r.headers["X-Arigato-Delivery"] for r in receiver.requests}
        assert len(receiver.requests) == 3 and len(ids) == 1  # the same delivery id each time


async def test_given_up_after_a_day_and_shown_to_the_admin(db, org, drainer, at, client):
    _units, admin, _curator, staff = org
    async with Receiver(handler=lambda _r: _always(503)) as receiver:
        integration = await _webhook(db, admin, receiver)
        await _publish(db, staff)
        when = NOW
        for _ in range(40):
            await drainer.drain_once()
            [(_e, outcome, due, _p, _a)] = await _rows(db)
            if outcome is not None:
                break
            when = max(due, when + timedelta(hours=1))
            at(when)
        assert outcome == "failed"
        assert when - NOW >= timedelta(days=1)
        r = await client.get(
            f"/api/v1/admin/integrations/{integration.id}", headers=await bearer_for(db, admin)
        )
        assert r.json()["failure"]["error"] == "HTTP 503"


async def _always(status: int):  # type: ignore[no-untyped-def]
    return (status, {}, {})


@pytest.mark.parametrize("action", ["hide", "redact", "delete"])
async def test_a_sent_post_is_withdrawn_when_hidden_redacted_or_deleted(
    db, org, receiver, drainer, at, action
):
    _units, admin, curator, staff = org
    await _webhook(db, admin, receiver)
    post = await _publish(db, staff, title="常連さまのご来店")
    assert await drainer.drain_once() == 1
    if action == "hide":
        await moderation.hide_post(db, curator, post, "個人名のため")
    elif action == "redact":
        await moderation.redact_post(db, curator, post, title="お客さまのご来店")
    else:
        await posts.delete_post(db, post)
    sent = await drainer.drain_once()
    got = [_verify(r) for r in receiver.requests[1:]]
    assert got[0]["event"] == "post.withdrawn"
    assert got[0]["post"] == {"id": post.id, "url": got[0]["post"]["url"]}
    if action == "redact":  # the redacted title goes out again
        assert sent == 2 and got[1]["event"] == "post.published"
        assert got[1]["post"]["title"] == "お客さまのご来店"
    else:
        assert sent == 1 and len(got) == 1
    for r in receiver.requests:
        assert "個人名のため" not in r.raw.decode()


async def test_a_post_hidden_before_it_went_out_is_never_sent(db, org, receiver, drainer, at):
    _units, admin, curator, staff = org
    await _webhook(db, admin, receiver)
    post = await _publish(db, staff)
    await moderation.hide_post(db, curator, post, "誤投稿")
    assert await drainer.drain_once() == 0
    assert receiver.requests == []
    assert [(r[0], r[1]) for r in await _rows(db)] == [("post.published", "skipped")]


async def test_no_payload_ever_holds_a_body_a_comment_or_a_reason(db, org, receiver, drainer, at):
    _units, admin, curator, staff = org
    await _webhook(db, admin, receiver)
    post = await _publish(db, staff)
    await drainer.drain_once()
    await moderation.feature_post(db, curator, post, "メモ")
    await drainer.drain_once()
    await moderation.redact_post(db, curator, post, title="題名だけ直しました")
    await drainer.drain_once()
    await moderation.hide_post(db, curator, post, "秘密の理由")
    await drainer.drain_once()
    stored = " ".join(r[3] for r in await _rows(db))
    sent = " ".join(r.raw.decode() for r in receiver.requests)
    for text in (stored, sent):
        assert BODY not in text and "秘密の理由" not in text and "メモ" not in text
    assert len(receiver.requests) >= 3


async def test_a_disabled_integration_sends_nothing(db, org, receiver, drainer, at):
    _units, admin, _curator, staff = org
    hook = await _webhook(db, admin, receiver)
    await config.update_integration(db, admin, hook.id, {"enabled": False})
    await _publish(db, staff)
    assert await drainer.drain_once() == 0 and receiver.requests == []


async def test_at_send_time_a_name_resolving_to_a_refused_address_is_not_reached(
    db, org, receiver, drainer, at, settings, monkeypatch
):
    _units, admin, _curator, staff = org
    # Saved with a name (allowed then), sent with no network allowed: localhost is refused.
    port = receiver.url.rsplit(":", 1)[1]
    await _webhook(db, admin, receiver, url=f"https://localhost:{port}/hook")
    drainer.allow = []
    await _publish(db, staff)
    assert await drainer.drain_once() == 0
    [(_e, outcome, _d, _p, _a)] = await _rows(db)
    assert outcome == "failed" and receiver.requests == []


# -- the admin API -----------------------------------------------------------------------------


async def test_the_api_keeps_secrets_write_only_and_audits_changes(
    db, org, client, receiver, allow_local
):
    _units, admin, _curator, _staff = org
    auth = await bearer_for(db, admin)
    r = await client.post(
        "/api/v1/admin/integrations",
        json={"kind": "webhook", "name": "ポータル", "url": receiver.url, "secret": SECRET},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert SECRET not in r.text and made["secrets"] == {"secret": True}
    assert made["url"] == receiver.url and made["events"] == ["post.published"]
    assert made["units"] == [] and made["failure"] is None
    path = f"/api/v1/admin/integrations/{made['id']}"
    r = await client.patch(path, json={"name": "新ポータル", "units": ["RA"]}, headers=auth)
    assert r.status_code == 200 and r.json()["name"] == "新ポータル"
    assert r.json()["secrets"] == {"secret": True}  # kept
    listed = await client.get("/api/v1/admin/integrations", headers=auth)
    assert SECRET not in listed.text and [i["name"] for i in listed.json()["items"]] == [
        "新ポータル"
    ]
    assert (await client.delete(path, headers=auth)).status_code == 204
    assert (await client.get(path, headers=auth)).status_code == 404
    audited = (
        await db.execute(
            sa.select(audit_log.c.action, audit_log.c.changes).where(
                audit_log.c.target_type == "integration"
            )
        )
    ).all()
    assert [a for a, _c in audited] == [
        "integration.create",
        "integration.update",
        "integration.delete",
    ]
    assert all(SECRET not in (c or "") for _a, c in audited)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.10.1/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
        "http://example.com/hook",
    ],
)
async def test_a_refused_address_is_refused_when_saved(db, org, client, url):
    _units, admin, _curator, _staff = org
    r = await client.post(
        "/api/v1/admin/integrations",
        json={"kind": "webhook", "name": "x", "url": url, "secret": SECRET},
        headers=await bearer_for(db, admin),
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "url"]


async def test_the_metadata_address_is_refused_even_when_its_network_is_allowed(
    db, org, client, settings, monkeypatch
):
    _units, admin, _curator, _staff = org
    monkeypatch.setattr(settings, "outbound_allow_networks", "169.254.0.0/16,127.0.0.0/8")
    auth = await bearer_for(db, admin)
    body = {"kind": "webhook", "name": "x", "secret": SECRET}
    r = await client.post(
        "/api/v1/admin/integrations", json=body | {"url": "http://169.254.169.254/"}, headers=auth
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/admin/integrations", json=body | {"url": "http://127.0.0.1:9/"}, headers=auth
    )
    assert r.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "webhook", "name": "x", "url": "https://example.com/h"},  # no secret
        {"kind": "webhook", "name": "x", "url": "https://example.com/h", "secret": "short"},
        {"kind": "fax", "name": "x"},
        {"kind": "webhook", "name": "", "url": "https://example.com/h", "secret": SECRET},
        {"kind": "webhook", "name": "  ", "url": "https://example.com/h", "secret": SECRET},
        {
            "kind": "webhook",
            "name": "x",
            "url": "https://e.com/",
            "secret": SECRET,
            "units": ["NO"],
        },
        {
            "kind": "webhook",
            "name": "x",
            "url": "https://e.com/",
            "secret": SECRET,
            "events": ["x"],
        },
        {"kind": "webhook", "name": "x", "url": "https://e.com/", "secret": SECRET, "channel": "c"},
    ],
)
async def test_bad_settings_are_a_422_and_nothing_is_written(db, org, client, body):
    _units, admin, _curator, _staff = org
    auth = await bearer_for(db, admin)
    r = await client.post("/api/v1/admin/integrations", json=body, headers=auth)
    assert r.status_code == 422, r.text
    assert (await client.get("/api/v1/admin/integrations", headers=auth)).json()["items"] == []


@pytest.mark.parametrize("role", ["staff", "curator"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/admin/integrations"),
        ("POST", "/api/v1/admin/integrations"),
        ("GET", "/api/v1/admin/integrations/1"),
        ("PATCH", "/api/v1/admin/integrations/1"),
        ("DELETE", "/api/v1/admin/integrations/1"),
    ],
)
async def test_only_admins_reach_the_integrations(db, org, client, role, method, path):
    units, _admin, _curator, _staff = org
    user = await make_user(db, units["HQ"], role=role)
    kw = {"json": {}} if method in ("POST", "PATCH") else {}
    r = await client.request(method, path, headers=await bearer_for(db, user), **kw)
    assert r.status_code == 403
