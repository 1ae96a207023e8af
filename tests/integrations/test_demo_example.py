"""The demo shows an outgoing integration as an example, switched off: it sends nothing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from app.demo import load_demo
from app.models import Post, User
from app.models.tables import integration_deliveries, integrations
from app.services import moderation


async def test_the_demo_has_a_switched_off_example_that_queues_nothing(db):
    await load_demo(db)
    rows = (await db.execute(sa.select(integrations.c.kind, integrations.c.enabled))).all()
    assert [(kind, bool(enabled)) for kind, enabled in rows] == [("webhook", False)]
    curator = (await db.exec(select(User).where(User.code == "curator"))).one()
    post = (
        await db.exec(select(Post).where(Post.status == "published", Post.featured == False))  # noqa: E712
    ).first()
    assert post is not None
    await moderation.feature_post(db, curator, post, "よい取組")
    queued = (
        await db.execute(sa.select(sa.func.count()).select_from(integration_deliveries))
    ).scalar()
    assert queued == 0
