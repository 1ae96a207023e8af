"""Who may open a post page, by the post's status and the viewer (SPEC §1): a matrix."""

from __future__ import annotations

import pytest

from tests.factories import login_as, make_post, make_user

# status -> (author, other staff, curator) may see it
MATRIX = {
    "published": (True, True, True),
    "draft": (True, False, False),
    "hidden": (True, False, True),
    "deleted": (False, False, False),
}


@pytest.mark.parametrize("status", list(MATRIX))
@pytest.mark.parametrize("viewer", ["author", "staff", "curator"])
async def test_post_page_visibility(db, client, status: str, viewer: str) -> None:
    author = await make_user(db)
    post = await make_post(db, author, status=status, title=f"{status}の投稿")
    who = {
        "author": author,
        "staff": await make_user(db),
        "curator": await make_user(db, role="curator"),
    }[viewer]
    await login_as(client, who)
    allowed = MATRIX[status][["author", "staff", "curator"].index(viewer)]
    page = await client.get(f"/posts/{post.id}")
    api = await client.get(f"/api/v1/posts/{post.id}")
    assert page.status_code == (200 if allowed else 404)
    assert api.status_code == (200 if allowed else 404)
    if allowed:
        assert f"{status}の投稿" in page.text
    else:
        assert f"{status}の投稿" not in page.text + api.text
