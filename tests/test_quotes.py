"""Titles in notifications wear the reader's quotation marks once: a post titled
「ありがとう」 reads 「ありがとう」, never 「「ありがとう」」; a bulletin reads 第2号「…」 in
Japanese and Vol. 2 “…” in English."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import i18n
from app.models import Bulletin, BulletinItem
from app.services import notifications
from app.services.people.tokens import issue_token
from tests.factories import make_post, make_user

MARKS = '「」『』“”"'
plain = st.text(st.characters(exclude_characters=MARKS, exclude_categories=["Cs"]), max_size=30)


@contextmanager
def locale(code: str):
    token = i18n.current_locale.set(code)
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


@pytest.mark.nodb
@given(title=plain)
def test_a_title_is_quoted_once_whatever_it_wears(title):
    for opening, closing in (("「", "」"), ("『", "』"), ("“", "”"), ('"', '"')):
        assert i18n.unquoted(f"{opening}{title}{closing}") == title
    assert i18n.unquoted(title) == title
    with locale("ja"):
        assert i18n.quoted(title) == f"「{title}」"
        assert i18n.quoted(f"「{title}」") == f"「{title}」"
    with locale("en"):
        assert i18n.quoted(f"「{title}」") == f"“{title}”"


@pytest.mark.nodb
@pytest.mark.parametrize(
    "title",
    ["「早い」と「丁寧」", "「早い」ありがとう", "ありがとう「丁寧」", "「", "」", '"', "「」」"],
)
def test_marks_that_do_not_wrap_the_whole_title_stay(title):
    assert i18n.unquoted(title) == title


async def test_a_liked_post_titled_in_brackets_is_not_bracketed_twice(client, db):
    author = await make_user(db)
    post = await make_post(db, author, title="「説明が丁寧でした」")
    fan = await make_user(db, name="山田 花子")
    _row, token = await issue_token(db, fan, name="t", scope="write", days=None)
    r = await client.put(
        f"/api/v1/posts/{post.id}/like", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    ((view,), _cursor) = await notifications.list_for(db, author)
    with locale("ja"):
        assert view.message == "山田 花子さんがあなたの投稿「説明が丁寧でした」にいいね！しました"
    with locale("en"):
        assert view.message == "山田 花子 liked your post “説明が丁寧でした”."


async def test_a_bulletin_wears_the_readers_marks(db):
    curator = await make_user(db, role="curator")
    author = await make_user(db)
    post = await make_post(db, author)
    bulletin = Bulletin(
        title="『春の好取組』",
        status="published",
        audience_all=True,
        fiscal_year=2025,
        volume=2,
        created_by_id=curator.id,
    )
    db.add(bulletin)
    await db.flush()
    db.add(BulletinItem(bulletin_id=bulletin.id, post_id=post.id, position=1))
    await db.commit()
    await notifications.notify_bulletin_published(db, bulletin.id, curator)
    ((view,), _cursor) = await notifications.list_for(db, author)
    with locale("ja"):
        assert "好取組情報 第2号「春の好取組」 に掲載" in view.message
        assert "“" not in view.message and "「「" not in view.message
    with locale("en"):
        assert view.message.endswith("the bulletin Vol. 2 “春の好取組”.")
