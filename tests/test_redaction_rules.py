"""A redaction must leave a post that passes the post's own rules; nothing changes otherwise."""

from __future__ import annotations

import pytest

from app.services import moderation
from app.services.errors import InvalidInput
from tests.factories import make_post, make_user


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "あ" * 121}, "title"),
        ({"body": ""}, "body"),
        ({"body": "あ" * 10_001}, "body"),
    ],
)
async def test_redaction_keeps_the_post_rules(db, changes, field):
    post = await make_post(db, await make_user(db), title="元のタイトル", body="元の本文")
    curator = await make_user(db, role="curator")
    with pytest.raises(InvalidInput) as caught:
        await moderation.redact_post(db, curator, post, **changes)
    assert field in caught.value.by_field()
    await db.refresh(post)
    assert (post.title, post.body) == ("元のタイトル", "元の本文")
