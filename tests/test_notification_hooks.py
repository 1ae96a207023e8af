"""Head office actions reach the people concerned: featured, hidden, new bulletin."""

from __future__ import annotations

from app.services import bulletins, moderation
from app.services.people.tokens import issue_token
from tests.factories import make_post, make_user


async def kinds_for(client, db, user):
    _row, token = await issue_token(db, user, name="t", scope="read", days=None)
    r = await client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {token}"})
    return [n["kind"] for n in r.json()["items"]]


async def test_featured_and_hidden_tell_the_author(client, db):
    author = await make_user(db)
    curator = await make_user(db, role="curator")
    good = await make_post(db, author, title="好取組")
    bad = await make_post(db, author, title="要確認")
    await moderation.feature_post(db, curator, good, "全店で共有")
    await moderation.hide_post(db, curator, bad, "個人情報のため")
    assert sorted(await kinds_for(client, db, author)) == ["featured", "hidden"]
    assert await kinds_for(client, db, curator) == []


async def test_a_published_bulletin_tells_its_audience_and_the_authors(client, db):
    author = await make_user(db)
    reader = await make_user(db)
    curator = await make_user(db, role="curator")
    post = await make_post(db, author)
    bulletin = await bulletins.create_bulletin(
        db, curator, {"title": "今月の好取組", "audience": "all"}
    )
    await bulletins.add_item(db, curator, bulletin, post.id, "ぜひ")
    await bulletins.publish_now(db, curator, bulletin)
    assert "bulletin" in await kinds_for(client, db, reader)
    assert "bulletin_item" in await kinds_for(client, db, author)
    assert await kinds_for(client, db, curator) == []
