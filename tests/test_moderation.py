"""Moderation and curation: who may act, what each action changes, and what it leaves behind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app import i18n
from app.events import Counts, HxEvents
from app.models import AuditEntry, Comment, Post, User
from app.models.tables import audit_log, comments, posts
from app.models.tables import flags as flags_t
from app.services import comments as comment_service
from app.services import flags, likes, moderation
from tests.factories import HX, csrf_from, login_as, make_post, make_unit, make_user, soup

ANON, STAFF, CURATOR, ADMIN = "anonymous", "staff", "curator", "admin"
PHONE = "090-1234-5678"


@dataclass
class Scene:
    author: User
    reporter: User
    setup_curator: User
    post: Post  # published, flagged
    hidden: Post  # hidden
    featured: Post  # published, featured
    comment: Comment  # published, flagged, on `post`
    hidden_comment: Comment  # hidden, on `post`

    def ids(self) -> dict[str, Any]:
        return {
            "P": self.post.id,
            "H": self.hidden.id,
            "F": self.featured.id,
            "C": self.comment.id,
            "HC": self.hidden_comment.id,
        }


async def make_scene(db) -> Scene:
    unit = await make_unit(db)
    author = await make_user(db, unit)
    reporter = await make_user(db, unit)
    setup_curator = await make_user(db, role="curator")
    post = await make_post(db, author, title="窓口の対応", body=f"お客さま {PHONE} からお礼")
    hidden = await make_post(db, author, title="非表示の投稿")
    featured = await make_post(db, author, title="好取組の投稿")
    comment = await comment_service.add_comment(db, reporter, post, "ありがとうございます")
    hidden_comment = await comment_service.add_comment(db, reporter, post, "非表示のコメント")
    await flags.flag(db, reporter, post, None, "personal_info", "電話番号が載っています")
    await flags.flag(db, author, post, comment, "inappropriate", None)
    await moderation.hide_post(db, setup_curator, hidden, "古い情報")
    await moderation.feature_post(db, setup_curator, featured, "全店で共有")
    await moderation.hide_comment(db, setup_curator, hidden_comment, "不適切")
    return Scene(author, reporter, setup_curator, post, hidden, featured, comment, hidden_comment)


async def audit_rows(db) -> list[AuditEntry]:
    rows = await db.execute(sa.select(AuditEntry).order_by(AuditEntry.id))  # type: ignore[arg-type]
    return list(rows.scalars())


async def as_role(client: httpx.AsyncClient, db, role: str) -> tuple[User | None, str]:
    """Log in with a new user of the role (anonymous: a pre-session CSRF token only)."""
    if role == ANON:
        page = await client.get("/login")
        return None, csrf_from(page.text)
    user = await make_user(db, role=role)
    return user, await login_as(client, user)


# -- the role matrix --------------------------------------------------------------------------

# (method, path, body, status for curator/admin). HTML forms post `body` as form fields and
# redirect (303); the API takes JSON. Staff get 403 on every one; anonymous get 303 (pages)
# or 401 (API).
ACTIONS: list[tuple[str, str, dict[str, str] | None, int]] = [
    ("GET", "/moderation", None, 200),
    ("GET", "/moderation?reason=personal_info", None, 200),
    ("GET", "/audit", None, 200),
    ("GET", "/audit.csv", None, 200),
    ("GET", "/posts/{P}/redact", None, 200),
    ("GET", "/comments/{C}/redact", None, 200),
    ("POST", "/posts/{P}/hide", {"reason": "個人情報"}, 303),
    ("POST", "/posts/{H}/restore", {}, 303),
    ("POST", "/posts/{P}/feature", {"note": "好事例"}, 303),
    ("POST", "/posts/{F}/unfeature", {}, 303),
    ("POST", "/posts/{P}/redact", {"title": "窓口の対応", "body": "お客さまからお礼"}, 303),
    ("POST", "/comments/{C}/hide", {"reason": "不適切"}, 303),
    ("POST", "/comments/{HC}/restore", {}, 303),
    ("POST", "/comments/{C}/redact", {"body": "ありがとう"}, 303),
    ("POST", "/moderation/flags/dismiss", {"target": "post:{P}"}, 303),
    ("GET", "/api/v1/moderation/flags", None, 200),
    ("GET", "/api/v1/audit", None, 200),
    ("POST", "/api/v1/posts/{P}/hide", {"reason": "個人情報"}, 200),
    ("POST", "/api/v1/posts/{H}/restore", {}, 200),
    ("POST", "/api/v1/posts/{P}/redact", {"body": "お客さまからお礼"}, 200),
    ("PUT", "/api/v1/posts/{P}/feature", {"note": "好事例"}, 200),
    ("DELETE", "/api/v1/posts/{F}/feature", None, 200),
    ("POST", "/api/v1/comments/{C}/hide", {"reason": "不適切"}, 200),
    ("POST", "/api/v1/comments/{HC}/restore", {}, 200),
    ("POST", "/api/v1/comments/{C}/redact", {"body": "ありがとう"}, 200),
    ("POST", "/api/v1/flags/dismiss", {"target": "post:{P}"}, 200),
]


def _expected(role: str, path: str, ok: int) -> int:
    if role == STAFF:
        return 403
    if role == ANON:
        return 401 if path.startswith("/api/") else 303
    return ok


async def _send(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, str] | None, token: str
) -> httpx.Response:
    if path.startswith("/api/"):
        return await client.request(
            method, path, json=body if method != "DELETE" else None, headers={"X-CSRF-Token": token}
        )
    if method == "GET":
        return await client.get(path)
    return await client.post(path, data={**(body or {}), "csrf_token": token})


@pytest.mark.parametrize("role", [ANON, STAFF, CURATOR, ADMIN])
@pytest.mark.parametrize(("method", "path", "body", "ok"), ACTIONS)
async def test_role_matrix(client, db, role, method, path, body, ok):
    scene = await make_scene(db)
    _user, token = await as_role(client, db, role)
    ids = scene.ids()
    url = path.format(**ids)
    data = {k: v.format(**ids) for k, v in body.items()} if body is not None else None
    before = len(await audit_rows(db))
    r = await _send(client, method, url, data, token)
    assert r.status_code == _expected(role, url, ok), r.text[:300]
    written = len(await audit_rows(db)) - before
    assert written == (1 if method != "GET" and role in (CURATOR, ADMIN) else 0)


# -- hidden posts ------------------------------------------------------------------------------


async def _feed_ids(client: httpx.AsyncClient, query: str = "") -> set[str]:
    r = await client.get(f"/{query}")
    assert r.status_code == 200
    return {a["id"] for a in soup(r).select("article.post-card")}


async def _unit_total(client: httpx.AsyncClient, code: str) -> str:
    r = await client.get(f"/units/{code}")
    return soup(r).select_one(".month-counts tbody td strong").get_text()


async def test_hidden_post_is_gone_for_others_and_back_after_restore(db, make_client):
    unit = await make_unit(db)
    author = await make_user(db, unit)
    other = await make_user(db)
    curator = await make_user(db, role="curator")
    today = i18n.today()
    post = await make_post(
        db, author, title="すずらん通信の感謝", body="丁寧な説明に感謝", received_on=today
    )
    praised = await make_post(db, author, title="別の投稿", body="別の本文", received_on=today)
    await likes.set_like(db, other, post, True)
    await db.execute(
        sa.insert(sa.table("post_praised", sa.column("post_id"), sa.column("user_id"))).values(
            post_id=post.id, user_id=other.id
        )
    )
    await db.commit()
    assert praised.id

    staff = make_client()
    await login_as(staff, other)
    own = make_client("10.0.0.3")
    await login_as(own, author)
    cur = make_client("10.0.0.4")
    cur_token = await login_as(cur, curator)
    card = f"post-{post.id}"
    assert card in await _feed_ids(staff)
    assert await _unit_total(staff, unit.code) == "2"
    praised_count = soup(await staff.get(f"/users/{other.code}")).select_one(
        "[data-testid=praised-count]"
    )
    assert praised_count.get_text() == "1"

    r = await cur.post(
        f"/api/v1/posts/{post.id}/hide",
        json={"reason": "お客さまの個人情報"},
        headers={"X-CSRF-Token": cur_token},
    )
    assert r.status_code == 200 and r.json()["status"] == "hidden"

    # Everyone else: a 404 and no trace in lists, search, likes or counts.
    assert (await staff.get(f"/posts/{post.id}")).status_code == 404
    assert (await staff.get(f"/api/v1/posts/{post.id}")).status_code == 404
    assert (await staff.get(f"/api/v1/posts/{post.id}/likes")).status_code == 404
    token = csrf_from((await staff.get("/")).text)
    headers = {"X-CSRF-Token": token}
    assert (await staff.put(f"/api/v1/posts/{post.id}/like", headers=headers)).status_code == 404
    assert (await staff.delete(f"/api/v1/posts/{post.id}/like", headers=headers)).status_code == 404
    assert card not in await _feed_ids(staff)
    assert card not in await _feed_ids(staff, "?q=すずらん")
    api = (await staff.get("/api/v1/posts", params={"q": "すずらん"})).json()
    assert api["items"] == []
    user_page = soup(await staff.get(f"/users/{author.code}"))
    assert not user_page.select(f"#{card}")
    assert await _unit_total(staff, unit.code) == "1"
    praised_count = soup(await staff.get(f"/users/{other.code}")).select_one(
        "[data-testid=praised-count]"
    )
    assert praised_count.get_text() == "0"

    # The author still sees it, marked hidden, with the reason.
    page = soup(await own.get(f"/posts/{post.id}"))
    assert page.select_one(f"#{card} .badge-status.hidden")
    assert "お客さまの個人情報" in page.select_one(f"#{card} .hidden-reason").get_text()
    assert not page.select("#curator-actions")
    mine = (await own.get(f"/api/v1/posts/{post.id}")).json()
    assert mine["status"] == "hidden" and mine["hidden_reason"] == "お客さまの個人情報"
    assert soup(await own.get(f"/users/{author.code}")).select(f"#{card}")

    # Curators see it with the restore action.
    page = soup(await cur.get(f"/posts/{post.id}"))
    assert page.select_one("#curator-actions form[action$='/restore']")

    r = await cur.post(
        f"/api/v1/posts/{post.id}/restore", json={}, headers={"X-CSRF-Token": cur_token}
    )
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert r.json()["hidden_reason"] is None
    row = (await db.execute(sa.select(posts).where(posts.c.id == post.id))).one()
    assert (row.hidden_reason, row.hidden_by_id, row.hidden_at) == (None, None, None)

    assert (await staff.get(f"/posts/{post.id}")).status_code == 200
    likers = (await staff.get(f"/api/v1/posts/{post.id}/likes")).json()
    assert [p["code"] for p in likers["items"]] == [other.code]
    assert card in await _feed_ids(staff)
    assert card in await _feed_ids(staff, "?q=すずらん")
    assert await _unit_total(staff, unit.code) == "2"


async def test_hide_without_reason_is_422_and_changes_nothing(client, db):
    scene = await make_scene(db)
    _curator, token = await as_role(client, db, CURATOR)
    before = len(await audit_rows(db))
    headers = {"X-CSRF-Token": token}
    url = f"/api/v1/posts/{scene.post.id}/hide"
    for body in ({}, {"reason": ""}, {"reason": "  \u3000 "}, {"reason": "あ" * 1001}):
        r = await client.post(url, json=body, headers=headers)
        assert r.status_code == 422, body
        assert isinstance(r.json()["detail"], list)
    r = await client.post(
        f"/api/v1/comments/{scene.comment.id}/hide", json={"reason": ""}, headers=headers
    )
    assert r.status_code == 422

    # The post page form: the error inline, in Japanese, what was typed kept.
    typed = "理" * 1001
    r = await client.post(
        f"/posts/{scene.post.id}/hide", data={"reason": typed, "from": "post", "csrf_token": token}
    )
    assert r.status_code == 422
    page = soup(r)
    field = page.select_one("#hide-post-reason")
    assert field.get_text() == typed and field["aria-invalid"] == "true"
    assert "理由" in page.select_one("#hide-post-reason-error").get_text()

    # From the queue by HTMX: the group partial comes back with the error.
    r = await client.post(
        f"/posts/{scene.post.id}/hide",
        data={"reason": " ", "from": "queue", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 422
    group = soup(r).select_one(f"#flag-group-post-{scene.post.id}")
    assert group.select_one(".field-error").get_text() == "理由を入力してください。"

    await db.refresh(scene.post)
    assert scene.post.status == "published" and scene.post.hidden_reason is None
    assert len(await audit_rows(db)) == before
    open_flags = await db.execute(
        sa.select(flags_t.c.id).where(
            flags_t.c.target == f"post:{scene.post.id}", flags_t.c.resolved_at.is_(None)
        )
    )
    assert len(open_flags.all()) == 1


async def test_conflicts_and_unknown_targets(client, db):
    scene = await make_scene(db)
    _curator, token = await as_role(client, db, CURATOR)
    headers = {"X-CSRF-Token": token}
    draft = await make_post(db, scene.author, status="draft")
    deleted = await make_post(db, scene.author, status="deleted")
    before = len(await audit_rows(db))
    cases = [
        ("POST", f"/api/v1/posts/{scene.post.id}/restore", {}, 409),
        ("POST", f"/api/v1/posts/{scene.hidden.id}/hide", {"reason": "x"}, 409),
        ("PUT", f"/api/v1/posts/{scene.hidden.id}/feature", {}, 409),
        ("DELETE", f"/api/v1/posts/{scene.post.id}/feature", None, 409),
        ("POST", f"/api/v1/comments/{scene.comment.id}/restore", {}, 409),
        ("POST", f"/api/v1/comments/{scene.hidden_comment.id}/hide", {"reason": "x"}, 409),
        ("POST", f"/api/v1/posts/{scene.post.id}/redact", {}, 422),
        ("POST", "/api/v1/posts/999999/hide", {"reason": "x"}, 404),
        ("POST", f"/api/v1/posts/{draft.id}/hide", {"reason": "x"}, 404),
        ("POST", f"/api/v1/posts/{deleted.id}/restore", {}, 404),
        ("POST", "/api/v1/comments/999999/hide", {"reason": "x"}, 404),
        ("POST", "/api/v1/flags/dismiss", {"target": "post:999999"}, 404),
        ("POST", "/api/v1/flags/dismiss", {"target": "bulletin:1"}, 404),
        ("POST", "/api/v1/flags/dismiss", {"target": f"post:{scene.hidden.id}"}, 409),
    ]
    for method, path, body, expected in cases:
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code == expected, (method, path, r.text)
    r = await client.post(f"/posts/{scene.post.id}/restore", data={"csrf_token": token})
    assert r.status_code == 409
    assert len(await audit_rows(db)) == before


# -- redaction -------------------------------------------------------------------------------


async def test_redaction_replaces_the_text_and_keeps_it_nowhere(client, db):
    scene = await make_scene(db)
    curator, token = await as_role(client, db, CURATOR)
    assert curator is not None
    post = scene.post

    page = soup(await client.get(f"/posts/{post.id}/redact"))
    assert page.select_one("#redact-body").get_text() == post.body
    assert page.select_one(".pii-warning mark").get_text() == PHONE

    # "Mask" fills the form with ●●● but saves nothing.
    r = await client.post(
        f"/posts/{post.id}/redact",
        data={"title": post.title, "body": post.body, "action": "mask", "csrf_token": token},
    )
    assert r.status_code == 200
    masked = soup(r).select_one("#redact-body").get_text()
    assert PHONE not in masked and "●" in masked
    await db.refresh(post)
    assert PHONE in post.body

    # An empty body is refused inline, keeping the title typed.
    r = await client.post(
        f"/posts/{post.id}/redact",
        data={"title": "新しいタイトル", "body": "", "csrf_token": token},
    )
    assert r.status_code == 422
    page = soup(r)
    assert page.select_one("#redact-title")["value"] == "新しいタイトル"
    assert page.select_one("#redact-body-error")

    r = await client.post(
        f"/posts/{post.id}/redact",
        data={
            "title": post.title,
            "body": "お客さま ●●● からお礼",
            "reason": "電話番号を削除",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/posts/{post.id}"
    await db.refresh(post)
    assert post.body == "お客さま ●●● からお礼"
    assert PHONE not in post.body_html and "●●●" in post.body_html
    assert post.edited_at is not None

    # The comment's text too, by the API.
    await comment_service.edit_comment(db, scene.comment, f"連絡先 {PHONE}")
    r = await client.post(
        f"/api/v1/comments/{scene.comment.id}/redact",
        json={"body": "連絡先 ●●●"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and r.json()["body"] == "連絡先 ●●●"
    assert r.json()["edited_at"] is not None

    # Search no longer finds the number; the audit log never held it.
    r = await client.get("/api/v1/posts", params={"q": PHONE})
    assert r.json()["items"] == []
    rows = (await db.execute(sa.select(audit_log))).all()
    redactions = [r for r in rows if r.action in ("post.redact", "comment.redact")]
    assert len(redactions) == 2
    assert redactions[0].actor_id == curator.id and redactions[0].reason == "電話番号を削除"
    for row in rows:
        for value in row:
            assert PHONE not in str(value)
    assert '"redacted"' in redactions[0].changes


# -- good practice ---------------------------------------------------------------------------


async def test_feature_shows_the_badge_and_the_featured_filter(client, db):
    scene = await make_scene(db)
    _curator, token = await as_role(client, db, CURATOR)
    headers = {"X-CSRF-Token": token}
    card = f"#post-{scene.post.id}"
    r = await client.put(
        f"/api/v1/posts/{scene.post.id}/feature", json={"note": "全店で真似したい"}, headers=headers
    )
    assert r.status_code == 200
    assert r.json()["featured"] is True and r.json()["feature_note"] == "全店で真似したい"
    feed = soup(await client.get("/"))
    assert feed.select_one(f"{card} .badge-featured")
    assert f"post-{scene.post.id}" in await _feed_ids(client, "?featured=1")
    listed = (await client.get("/api/v1/posts", params={"featured": "true"})).json()
    assert scene.post.id in {p["id"] for p in listed["items"]}

    # Featuring again replaces the note.
    r = await client.put(
        f"/api/v1/posts/{scene.post.id}/feature", json={"note": "改訂"}, headers=headers
    )
    assert r.json()["feature_note"] == "改訂"

    r = await client.delete(f"/api/v1/posts/{scene.post.id}/feature", headers=headers)
    assert r.status_code == 200 and r.json()["featured"] is False
    assert r.json()["feature_note"] is None
    assert f"post-{scene.post.id}" not in await _feed_ids(client, "?featured=1")
    assert not soup(await client.get("/")).select_one(f"{card} .badge-featured")


async def test_feature_from_the_recent_posts_list_by_htmx(client, db):
    scene = await make_scene(db)
    _curator, token = await as_role(client, db, CURATOR)
    page = soup(await client.get("/moderation"))
    row = page.select_one(f"#mod-post-{scene.post.id}")
    form = row.select_one("form[action$='/feature']")
    assert form["hx-post"] == form["action"] and form["hx-target"] == f"#mod-post-{scene.post.id}"
    r = await client.post(
        form["action"],
        data={"note": "好事例", "from": "recent", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 200
    row = soup(r).select_one(f"li#mod-post-{scene.post.id}")
    assert row.select_one(".badge-featured") and row.select_one(".flash")
    assert row.select_one("form[action$='/unfeature']")


# -- comments --------------------------------------------------------------------------------


async def _visible_comments(db, post_id: int) -> tuple[int, int]:
    count = (
        await db.execute(sa.select(posts.c.comment_count).where(posts.c.id == post_id))
    ).scalar_one()
    visible = (
        await db.execute(
            sa.select(sa.func.count()).where(
                comments.c.post_id == post_id, comments.c.status == "published"
            )
        )
    ).scalar_one()
    return count, visible


async def test_comment_hide_keeps_comment_count_equal_to_visible_comments(client, db):
    scene = await make_scene(db)
    curator, token = await as_role(client, db, CURATOR)
    headers = {"X-CSRF-Token": token}
    post_id = scene.post.id
    extra = await comment_service.add_comment(db, scene.author, scene.post, "三つ目")
    assert await _visible_comments(db, post_id) == (2, 2)

    r = await client.post(
        f"/api/v1/comments/{scene.comment.id}/hide", json={"reason": "不適切"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "hidden"
    assert await _visible_comments(db, post_id) == (1, 1)
    r = await client.post(
        f"/api/v1/comments/{scene.comment.id}/hide", json={"reason": "again"}, headers=headers
    )
    assert r.status_code == 409
    assert await _visible_comments(db, post_id) == (1, 1)

    # On the post page by HTMX: the comment swapped; the count (and the open reports) sent in
    # HX-Trigger for every place the page shows them.
    r = await client.post(
        f"/comments/{extra.id}/hide",
        data={"reason": "重複", "from": "post", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 200
    part = soup(r)
    assert part.select_one(f"li#comment-{extra.id}.status-hidden")
    counts = json.loads(r.headers["HX-Trigger"])[HxEvents.counts]
    assert counts[Counts.comments(post_id)] == 0
    assert counts[Counts.open_flags] == await moderation.open_flag_count(db, curator)
    assert await _visible_comments(db, post_id) == (0, 0)

    r = await client.post(f"/comments/{extra.id}/restore", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith(f"#comment-{extra.id}")
    assert await _visible_comments(db, post_id) == (1, 1)

    # The author deleting a hidden comment leaves the count alone.
    await comment_service.delete_comment(db, scene.comment)
    assert await _visible_comments(db, post_id) == (1, 1)


async def test_curators_see_comment_actions_staff_do_not(client, make_client, db):
    scene = await make_scene(db)
    await as_role(client, db, CURATOR)
    page = soup(await client.get(f"/posts/{scene.post.id}"))
    shown = page.select_one(f"#comment-{scene.comment.id} form[action$='/hide']")
    assert shown is not None and shown.select_one("textarea[name=reason][required]")
    assert page.select_one(f"#comment-{scene.hidden_comment.id} form[action$='/restore']")
    assert page.select_one("#curator-actions form[action$='/hide']")
    assert page.select_one("#curator-actions a[href$='/redact']")

    staff = make_client()
    await login_as(staff, scene.reporter)
    page = soup(await staff.get(f"/posts/{scene.post.id}"))
    assert not page.select("form[action$='/hide']")
    assert not page.select("#curator-actions")
    assert not page.select("a[href='/audit']")


async def test_post_page_actions_by_htmx_swap_main(client, db):
    scene = await make_scene(db)
    _curator, token = await as_role(client, db, CURATOR)
    form = soup(await client.get(f"/posts/{scene.post.id}")).select_one(
        "#curator-actions form[action$='/hide']"
    )
    assert form["hx-target"] == "#main" and form["hx-select"] == "#main"
    r = await client.post(
        form["action"],
        data={"reason": "個人情報のため", "from": "post", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 200
    main = soup(r).select_one("#main")
    assert main.select_one(f"#post-{scene.post.id} .badge-status.hidden")
    # Hidden after a personal-data report: showing it again is asked for (two-person rule).
    assert main.select_one("#curator-actions form[action$='/restore-request']")


# -- flags -------------------------------------------------------------------------------------


async def test_flags_are_resolved_by_hide_and_by_dismiss(client, db):
    scene = await make_scene(db)
    curator, token = await as_role(client, db, CURATOR)
    assert curator is not None
    headers = {"X-CSRF-Token": token}
    other = await make_user(db)
    await flags.flag(db, other, scene.post, None, "wrong_info", "日付が違う")

    r = await client.get("/api/v1/moderation/flags")
    groups = {g["target"]: g for g in r.json()["items"]}
    group = groups[f"post:{scene.post.id}"]
    assert group["count"] == 2 and group["reasons"] == {"personal_info": 1, "wrong_info": 1}
    assert group["post"]["id"] == scene.post.id and group["post"]["title"] == "窓口の対応"
    assert {f["note"] for f in group["flags"]} == {"電話番号が載っています", "日付が違う"}
    assert groups[f"comment:{scene.comment.id}"]["comment"]["id"] == scene.comment.id

    await client.post(
        f"/api/v1/posts/{scene.post.id}/hide", json={"reason": "個人情報"}, headers=headers
    )
    rows = (await db.execute(sa.select(flags_t).where(flags_t.c.post_id == scene.post.id))).all()
    by_target = {}
    for row in rows:
        by_target.setdefault(row.target, []).append(row)
    for row in by_target[f"post:{scene.post.id}"]:
        assert row.resolution == "hidden" and row.resolved_by_id == curator.id
        assert row.resolved_at is not None
    # The comment's flag is its own target and stays open.
    assert by_target[f"comment:{scene.comment.id}"][0].resolved_at is None

    r = await client.post(
        "/api/v1/flags/dismiss", json={"target": f"comment:{scene.comment.id}"}, headers=headers
    )
    assert r.status_code == 200 and r.json() == {
        "target": f"comment:{scene.comment.id}",
        "dismissed": 1,
    }
    flag = (
        await db.execute(
            sa.select(flags_t).where(flags_t.c.target == f"comment:{scene.comment.id}")
        )
    ).one()
    assert flag.resolution == "dismissed" and flag.resolved_by_id == curator.id
    assert (await client.get("/api/v1/moderation/flags")).json()["items"] == []
    r = await client.post(
        "/api/v1/flags/dismiss", json={"target": f"comment:{scene.comment.id}"}, headers=headers
    )
    assert r.status_code == 409


async def test_queue_groups_oldest_first_with_reasons_notes_and_filter(client, db):
    scene = await make_scene(db)
    _curator, _token = await as_role(client, db, CURATOR)
    newer = await make_post(db, scene.author, title="新しい通報先")
    await flags.flag(db, scene.reporter, newer, None, "duplicate", "同じ内容")

    page = soup(await client.get("/moderation"))
    groups = [g["id"] for g in page.select("#flag-queue-list article.flag-group")]
    assert groups == [
        f"flag-group-post-{scene.post.id}",
        f"flag-group-comment-{scene.comment.id}",
        f"flag-group-post-{newer.id}",
    ]
    first = page.select_one(f"#flag-group-post-{scene.post.id}")
    assert first.select_one("[data-reason=personal_info]")
    assert first.select_one(".flag-note").get_text() == "電話番号が載っています"
    assert PHONE in first.select_one(".target-excerpt").get_text()
    assert first.select_one("form[action$='/hide'] textarea[name=reason]")
    assert first.select_one("form[action$='/moderation/flags/dismiss'] input[name=target]")
    assert page.select(f"#recent-posts #mod-post-{newer.id}")

    page = soup(await client.get("/moderation?reason=duplicate"))
    groups = [g["id"] for g in page.select("#flag-queue-list article.flag-group")]
    assert groups == [f"flag-group-post-{newer.id}"]
    assert page.select_one("#reason-filter option[selected]")["value"] == "duplicate"


async def test_queue_actions_by_htmx_return_the_group(client, db):
    scene = await make_scene(db)
    _curator, token = await as_role(client, db, CURATOR)
    r = await client.post(
        f"/posts/{scene.post.id}/hide",
        data={"reason": "個人情報", "from": "queue", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 200
    group = soup(r).select_one(f"article#flag-group-post-{scene.post.id}.resolved")
    assert group.select_one(".badge-status.hidden")
    assert group.select_one("form[action$='/restore']")
    assert not group.select("form[action$='/dismiss']")

    r = await client.post(
        "/moderation/flags/dismiss",
        data={"target": f"comment:{scene.comment.id}", "from": "queue", "csrf_token": token},
        headers=HX,
    )
    assert r.status_code == 200
    assert soup(r).select_one(f"#flag-group-comment-{scene.comment.id} .flash")

    # Without JavaScript: back to the queue.
    await flags.flag(db, scene.reporter, scene.featured, None, "other", None)
    r = await client.post(
        "/moderation/flags/dismiss",
        data={"target": f"post:{scene.featured.id}", "from": "queue", "csrf_token": token},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/moderation#")
    r = await client.post(
        "/moderation/flags/dismiss", data={"target": "post:abc", "csrf_token": token}
    )
    assert r.status_code == 404


# -- the audit trail of each action ----------------------------------------------------------

AUDITED = [
    ("POST", "/api/v1/posts/{P}/hide", {"reason": "理由A"}, "post.hide", "post", "P", "理由A"),
    ("POST", "/api/v1/posts/{H}/restore", {"reason": "誤り"}, "post.restore", "post", "H", "誤り"),
    ("POST", "/api/v1/posts/{P}/redact", {"title": "直した"}, "post.redact", "post", "P", None),
    ("PUT", "/api/v1/posts/{P}/feature", {"note": "好事例"}, "post.feature", "post", "P", None),
    ("DELETE", "/api/v1/posts/{F}/feature", None, "post.unfeature", "post", "F", None),
    ("POST", "/api/v1/comments/{C}/hide", {"reason": "中傷"}, "comment.hide", "comment", "C", "中傷"),
    ("POST", "/api/v1/comments/{HC}/restore", None, "comment.restore", "comment", "HC", None),
    ("POST", "/api/v1/comments/{C}/redact", {"body": "直した"}, "comment.redact", "comment", "C", None),
    ("POST", "/api/v1/flags/dismiss", {"target": "post:{P}", "reason": "問題なし"}, "flags.dismiss", "post", "P", "問題なし"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "action", "target_type", "target", "reason"), AUDITED
)
async def test_every_action_writes_one_audit_row(
    client, db, method, path, body, action, target_type, target, reason
):
    scene = await make_scene(db)
    curator, token = await as_role(client, db, CURATOR)
    assert curator is not None
    ids = scene.ids()
    data = {k: v.format(**ids) for k, v in body.items()} if body else None
    before = await audit_rows(db)
    r = await client.request(method, path.format(**ids), json=data, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    after = await audit_rows(db)
    assert len(after) == len(before) + 1
    row = after[-1]
    assert (row.actor_id, row.action, row.target_type, row.target_id, row.reason) == (
        curator.id,
        action,
        target_type,
        ids[target],
        reason,
    )
    assert row.created_at is not None


async def test_flag_groups_page_by_cursor_oldest_first(client, db):
    scene = await make_scene(db)
    newer = await make_post(db, scene.author, title="三件目")
    await flags.flag(db, scene.reporter, newer, None, "duplicate", None)
    await as_role(client, db, CURATOR)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/moderation/flags", params=params)).json()
        seen += [g["target"] for g in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"post:{scene.post.id}", f"comment:{scene.comment.id}", f"post:{newer.id}"]
    only = (await client.get("/api/v1/moderation/flags", params={"reason": "duplicate"})).json()
    assert [g["target"] for g in only["items"]] == [f"post:{newer.id}"]
    assert (await client.get("/api/v1/moderation/flags?reason=bogus")).status_code == 422
