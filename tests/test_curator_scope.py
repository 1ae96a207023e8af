"""Curators with a scope (docs/compliance.md "Curators with a scope"): every curator route ×
inside / outside the scope, found in the app's own routes (a curator route added later fails
`test_every_curator_route_is_in_the_matrix` until it is given its case here).

The scene: a company with two regions (RA: SA1, RB: SB1) and head office (HQ). The scoped
curator works at HQ with the scope RA; head office's curator has no scope. Inside the scope
means RA's posts, comments, reports, complaints and bulletins; outside, RB's. Something
outside the scope is a 404 (as if it did not exist), a new thing for a unit outside it is a
422, and what covers the whole company at once is a 403; lists show the inside only.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import i18n
from app.main import create_app
from app.models import Attachment, Bulletin, BulletinItem, Notification, Post, User
from app.models.tables import units
from app.services import approvals, feed, flags, moderation, org, scope
from app.services import attachments as attachment_service
from app.services import bulletins as bulletin_service
from app.services import comments as comment_service
from app.services import complaints as complaint_service
from app.services import notifications as notification_service
from app.services.errors import NotFound
from tests.factories import login_as, make_post, make_unit, make_units, make_user

SCOPED, HEAD = "scoped", "head_office"
INSIDE, OUTSIDE = "inside", "outside"
PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass
class Scene:
    units: dict[str, Any]
    scoped: User
    head: User
    post: dict[str, Post]  # published, with an open report and a comment
    hidden: dict[str, Post]  # hidden by head office (an audit entry each)
    spare: dict[str, Post]  # published, in no bulletin
    comment: dict[str, int]
    hidden_comment: dict[str, int]
    complaint: dict[str, int]
    bulletin: dict[str, int]  # drafts for RA (inside) and RB (outside), one item each
    item: dict[str, int]
    request: dict[str, int]  # head office's request to show the hidden post again
    attachment: dict[str, int]  # a photo on the post, held until a curator looks at it


async def make_scene(db) -> Scene:
    units = await make_units(
        db,
        ("CO", "スコープ保険", "company", None),
        ("RA", "関東地域", "region", "CO"),
        ("RB", "関西地域", "region", "CO"),
        ("SA1", "新宿店", "shop", "RA"),
        ("SB1", "梅田店", "shop", "RB"),
        ("HQ", "品質管理部", "department", "CO"),
    )
    head = await make_user(db, units["HQ"], role="curator")
    scoped = await make_user(db, units["HQ"], role="curator", scope_unit_id=units["RA"].id)
    asker = await make_user(db, units["HQ"], role="curator")  # another head office curator
    shop = {INSIDE: units["SA1"], OUTSIDE: units["SB1"]}
    post, hidden, spare, comment, hidden_comment, complaint, bulletin, item = (
        {},
        {},
        {},
        {},
        {},
        {},
        {},
        {},
    )
    request: dict[str, int] = {}
    attachment: dict[str, int] = {}
    for side, unit in shop.items():
        tag = side.upper()
        author = await make_user(db, unit)
        post[side] = await make_post(db, author, title=f"{tag}-post", featured=True)
        spare[side] = await make_post(db, author, title=f"{tag}-spare")
        hidden[side] = await make_post(db, author, title=f"{tag}-hidden")
        # Hidden on a report of personal data: showing it again takes two people.
        reporter = await make_user(db, unit)
        await flags.flag(db, reporter, hidden[side], None, "personal_info", f"{tag}-pii")
        await moderation.hide_post(db, head, hidden[side], f"{tag}-reason")
        asked = await approvals.request_restore(db, asker, hidden[side], f"{tag}-reason")
        request[side] = asked.id
        photo = Attachment(
            post_id=post[side].id,
            uploader_id=author.id,
            filename=f"{tag}.jpg",
            content_type="image/jpeg",
            size=1,
            storage_key=f"scope-{tag}-{post[side].id}.jpg",
            image_check="unchecked",
        )
        db.add(photo)
        await db.flush()
        attachment[side] = photo.id
        await flags.flag(db, await make_user(db, unit), post[side], None, "other", f"{tag}-flag")
        c = await comment_service.add_comment(db, author, post[side], f"{tag}-comment")
        comment[side] = c.id
        h = await comment_service.add_comment(db, author, post[side], f"{tag}-hidden-comment")
        await moderation.hide_comment(db, head, h, f"{tag}-comment-reason")
        hidden_comment[side] = h.id
        voice = await complaint_service.create_complaint(
            db,
            head,
            {
                "received_on": i18n.today().isoformat(),
                "unit": unit.code,
                "category": "other",
                "summary": f"{tag}-complaint",
            },
        )
        complaint[side] = voice.id
        region = "RA" if side == INSIDE else "RB"
        b = await bulletin_service.create_bulletin(
            db, head, {"title": f"{tag}-bulletin", "lead": "", "audience": [region]}
        )
        added = await bulletin_service.add_item(db, head, b, post[side].id, "")
        bulletin[side], item[side] = b.id, added.id
    return Scene(
        units,
        scoped,
        head,
        post,
        hidden,
        spare,
        comment,
        hidden_comment,
        complaint,
        bulletin,
        item,
        request,
        attachment,
    )


# The cases --------------------------------------------------------------------------------

OBJECT, CREATE, LIST, HEAD_OFFICE, FREE = "object", "create", "list", "head_office", "free"
Body = Callable[[Scene, str], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    kind: str  # OBJECT: 404 outside; CREATE: 422 outside; LIST: only the inside shown;
    # HEAD_OFFICE: 403 for a scoped curator; FREE: no object (the same for both sides)
    form: Body | None = None  # a form body
    json: Body | None = None  # a JSON body
    csv: Callable[[Scene, str], str] | None = None  # a text/csv body
    query: Callable[[Scene, str], str] = lambda s, side: ""
    hidden_target: bool = False  # {post_id}/{comment_id}: the hidden one (to restore)
    spare_post: bool = False  # {post_id} in the body: a post in no bulletin


def _region(side: str) -> str:
    return "RA" if side == INSIDE else "RB"


def _shop(side: str) -> str:
    return "SA1" if side == INSIDE else "SB1"


def _complaint_form(s: Scene, side: str) -> dict[str, Any]:
    today = i18n.today().isoformat()
    return {
        "received_on": today,
        "unit": _shop(side),
        "category": "other",
        "status": "received",
        "summary": "x",
    }


def _complaint_csv(s: Scene, side: str) -> str:
    return f"received_on,unit,category,status,summary\n{i18n.today()},{_shop(side)},other,,x\n"


def _target(s: Scene, side: str) -> dict[str, Any]:
    return {"target": f"post:{s.post[side].id}"}


REASON: Body = lambda s, side: {"reason": "確認のため"}  # noqa: E731
NOTHING: Body = lambda s, side: {}  # noqa: E731
REDACT: Body = lambda s, side: {"title": "タイトル", "body": "本文"}  # noqa: E731

CASES: dict[str, Case] = {
    "GET /moderation": Case(LIST),
    "POST /posts/{post_id}/hide": Case(OBJECT, form=REASON),
    "POST /posts/{post_id}/restore": Case(OBJECT, form=NOTHING, hidden_target=True),
    "POST /posts/{post_id}/feature": Case(OBJECT, form=lambda s, side: {"note": "良い"}),
    "POST /posts/{post_id}/unfeature": Case(OBJECT, form=NOTHING),
    "POST /comments/{comment_id}/hide": Case(OBJECT, form=REASON),
    "POST /comments/{comment_id}/restore": Case(OBJECT, form=NOTHING, hidden_target=True),
    "POST /moderation/flags/dismiss": Case(OBJECT, form=_target),
    "GET /posts/{post_id}/redact": Case(OBJECT),
    "POST /posts/{post_id}/redact": Case(OBJECT, form=REDACT),
    "GET /comments/{comment_id}/redact": Case(OBJECT),
    "POST /comments/{comment_id}/redact": Case(OBJECT, form=lambda s, side: {"body": "本文"}),
    "GET /bulletins/new": Case(FREE),
    "POST /bulletins/new": Case(
        CREATE,
        form=lambda s, side: {
            "title": "号外",
            "lead": "",
            "audience_mode": "units",
            "other_units": _region(side),
        },
    ),
    "GET /bulletins/{bulletin_id}/stats": Case(OBJECT),
    "GET /bulletins/{bulletin_id}/edit": Case(OBJECT),
    "POST /bulletins/{bulletin_id}/edit": Case(
        OBJECT,
        form=lambda s, side: {
            "title": "改題",
            "lead": "",
            "audience_mode": "units",
            "other_units": _region(side),
        },
    ),
    "GET /bulletins/{bulletin_id}/search": Case(OBJECT, query=lambda s, side: "q=spare"),
    "POST /bulletins/{bulletin_id}/items": Case(
        OBJECT, form=lambda s, side: {"post_id": s.spare[side].id}
    ),
    "POST /bulletins/{bulletin_id}/items/{item_id}/remove": Case(OBJECT, form=NOTHING),
    "POST /bulletins/{bulletin_id}/items/{item_id}/move": Case(
        OBJECT, form=lambda s, side: {"direction": "up"}
    ),
    "POST /bulletins/{bulletin_id}/items/{item_id}/comment": Case(
        OBJECT, form=lambda s, side: {"comment": "ぜひ"}
    ),
    "POST /bulletins/{bulletin_id}/schedule": Case(
        OBJECT, form=lambda s, side: {"publish_at": "2099-01-01T09:00"}
    ),
    "POST /bulletins/{bulletin_id}/unschedule": Case(OBJECT, form=NOTHING),
    "POST /bulletins/{bulletin_id}/publish": Case(OBJECT, form=NOTHING),
    "GET /kpi/engagement": Case(OBJECT, query=lambda s, side: f"unit={_region(side)}"),
    "POST /kpi/months/{month}/close": Case(HEAD_OFFICE, form=NOTHING),
    "GET /kpi/voices": Case(LIST),
    "GET /kpi/voices/export": Case(FREE, query=lambda s, side: "format=csv"),
    "POST /kpi/complaints": Case(CREATE, form=_complaint_form),
    "POST /kpi/complaints/{complaint_id}/status": Case(
        OBJECT, form=lambda s, side: {"status": "resolved"}
    ),
    "POST /kpi/complaints/import": Case(CREATE, csv=_complaint_csv),
    "GET /audit": Case(LIST),
    "GET /audit.csv": Case(LIST),
    "GET /api/v1/moderation/flags": Case(LIST),
    "POST /api/v1/posts/{post_id}/hide": Case(OBJECT, json=REASON),
    "POST /api/v1/posts/{post_id}/restore": Case(OBJECT, json=NOTHING, hidden_target=True),
    "POST /api/v1/posts/{post_id}/redact": Case(OBJECT, json=REDACT),
    "PUT /api/v1/posts/{post_id}/feature": Case(OBJECT, json=lambda s, side: {"note": "良い"}),
    "DELETE /api/v1/posts/{post_id}/feature": Case(OBJECT),
    "POST /api/v1/comments/{comment_id}/hide": Case(OBJECT, json=REASON),
    "POST /api/v1/comments/{comment_id}/restore": Case(OBJECT, json=NOTHING, hidden_target=True),
    "POST /api/v1/comments/{comment_id}/redact": Case(
        OBJECT, json=lambda s, side: {"body": "本文"}
    ),
    "POST /api/v1/flags/dismiss": Case(OBJECT, json=_target),
    "GET /api/v1/audit": Case(LIST),
    "POST /api/v1/bulletins": Case(
        CREATE, json=lambda s, side: {"title": "号外", "audience": [_region(side)]}
    ),
    "PATCH /api/v1/bulletins/{bulletin_id}": Case(OBJECT, json=lambda s, side: {"title": "改題"}),
    "POST /api/v1/bulletins/{bulletin_id}/publish": Case(OBJECT, json=NOTHING),
    "GET /api/v1/bulletins/{bulletin_id}/stats": Case(OBJECT),
    "GET /api/v1/kpi/voices": Case(FREE),
    "POST /api/v1/kpi/months/{month}/close": Case(HEAD_OFFICE, json=NOTHING),
    "POST /api/v1/complaints": Case(CREATE, json=_complaint_form),
    "GET /api/v1/complaints/{complaint_id}": Case(OBJECT),
    "PATCH /api/v1/complaints/{complaint_id}": Case(
        OBJECT, json=lambda s, side: {"status": "resolved"}
    ),
    "POST /api/v1/complaints/import": Case(CREATE, csv=_complaint_csv),
    "GET /api/v1/changes/posts": Case(HEAD_OFFICE),
    "GET /api/v1/changes/comments": Case(HEAD_OFFICE),
    "GET /api/v1/changes/likes": Case(HEAD_OFFICE),
    "GET /api/v1/changes/reactions": Case(HEAD_OFFICE),
    "GET /api/v1/changes/audit": Case(HEAD_OFFICE),
    # the same export under the spelling (a 307 to the above)
    "GET /api/v1/comments": Case(HEAD_OFFICE),
    "GET /api/v1/likes": Case(HEAD_OFFICE),
    "GET /api/v1/reactions": Case(HEAD_OFFICE),
    # The read follow-up (of the part of the audience inside the scope; reminding, only for a
    # bulletin the curator manages: a draft is a 409 inside)
    "GET /bulletins/{bulletin_id}/unread-people.csv": Case(OBJECT),
    "GET /bulletins/{bulletin_id}/shops.csv": Case(OBJECT),
    "GET /api/v1/bulletins/{bulletin_id}/followup": Case(OBJECT),
    "POST /bulletins/{bulletin_id}/remind": Case(OBJECT, form=NOTHING),
    "POST /api/v1/bulletins/{bulletin_id}/remind": Case(OBJECT, json=NOTHING),
    # The published report is the whole company's
    "GET /kpi/report": Case(HEAD_OFFICE),
    "GET /kpi/report.pdf": Case(HEAD_OFFICE),
    "GET /kpi/report.xlsx": Case(HEAD_OFFICE),
    # The two-person rule: a month is head office's; a post's request within the scope
    "POST /kpi/months/{month}/reopen": Case(HEAD_OFFICE, form=NOTHING),
    "POST /api/v1/kpi/months/{month}/reopen": Case(HEAD_OFFICE, json=NOTHING),
    "GET /approvals": Case(LIST),
    "GET /api/v1/approvals": Case(LIST),
    "POST /api/v1/approvals": Case(
        OBJECT, json=lambda s, side: {"action": "post.restore", "post_id": s.hidden[side].id}
    ),
    "POST /posts/{post_id}/restore-request": Case(OBJECT, form=REASON, hidden_target=True),
    "POST /approvals/{request_id}/approve": Case(OBJECT, form=NOTHING),
    "POST /approvals/{request_id}/reject": Case(OBJECT, form=NOTHING),
    "POST /api/v1/approvals/{request_id}/approve": Case(OBJECT, json=NOTHING),
    "POST /api/v1/approvals/{request_id}/reject": Case(OBJECT, json=NOTHING),
    # A photo held for a curator's look
    "POST /attachments/{attachment_id}/release": Case(OBJECT, form=NOTHING),
}
# What a list shows of each side: its posts' titles, reports, complaints, audit reasons.
MARKERS = ("{side}-post", "{side}-complaint", "{side}-reason", "{side}-flag", "{side}-hidden")


def _dependencies(dependant: Any) -> set[str]:
    names = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            names.add(getattr(sub.call, "__name__", ""))
        names |= _dependencies(sub)
    return names


def _walk(routes: Any, prefix: str = "") -> list[str]:
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if inner is not None:
            context = getattr(route, "include_context", None)
            out.extend(_walk(inner.routes, prefix + (getattr(context, "prefix", "") or "")))
            continue
        dependant = getattr(route, "dependant", None)
        path = prefix + getattr(route, "path", "")
        if dependant is None or path.startswith(("/admin", "/api/v1/admin")):
            continue  # the admin routes are tests/test_admin_permissions.py's
        if not {"require_curator", "require_head_office"} & _dependencies(dependant):
            continue
        out.extend(f"{m} {path}" for m in sorted(route.methods or ()) if m != "HEAD")
    return out


CURATOR_ROUTES = sorted(set(_walk(create_app().routes)))


def test_every_curator_route_is_in_the_matrix():
    assert CURATOR_ROUTES, "no curator route found"
    assert sorted(CASES) == CURATOR_ROUTES


def _path(scene: Scene, route: str, case: Case, side: str) -> str:
    path = route.partition(" ")[2]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "post_id":
            return str((scene.hidden if case.hidden_target else scene.post)[side].id)
        if name == "comment_id":
            return str((scene.hidden_comment if case.hidden_target else scene.comment)[side])
        if name == "month":
            return "2020-04"
        return str(getattr(scene, name.removesuffix("_id"))[side])

    path = PARAM.sub(value, path)
    query = case.query(scene, side)
    return f"{path}?{query}" if query else path


async def _call(
    client: httpx.AsyncClient, scene: Scene, route: str, side: str, token: str
) -> httpx.Response:
    case = CASES[route]
    method = route.partition(" ")[0]
    path = _path(scene, route, case, side)
    headers = {"X-CSRF-Token": token}
    if case.csv is not None:
        text = case.csv(scene, side)
        if path.startswith("/api/"):
            headers["Content-Type"] = "text/csv"
            return await client.request(method, path, content=text.encode(), headers=headers)
        files = {"file": ("voices.csv", text.encode(), "text/csv")}
        return await client.request(method, f"{path}?csrf_token={token}", files=files)
    if case.json is not None:
        return await client.request(method, path, json=case.json(scene, side), headers=headers)
    if case.form is not None:
        return await client.request(method, path, data=case.form(scene, side), headers=headers)
    return await client.request(method, path, headers=headers)


def _reached(r: httpx.Response) -> bool:
    """The route let the caller through: no 401/403/404, no error of ours."""
    return r.status_code not in (401, 403, 404) and r.status_code < 500


@pytest.mark.parametrize("route", CURATOR_ROUTES)
@pytest.mark.parametrize(("who", "side"), [(SCOPED, INSIDE), (SCOPED, OUTSIDE), (HEAD, OUTSIDE)])
async def test_curator_route_by_scope(client, db, route, who, side):
    scene = await make_scene(db)
    case = CASES[route]
    token = await login_as(client, scene.scoped if who == SCOPED else scene.head)
    r = await _call(client, scene, route, side, token)
    text = r.text
    where = f"{route} as {who}, {side}: {r.status_code} {text[:200]}"
    if who == HEAD:  # head office reaches everything, what lies outside the scope included
        assert _reached(r) and r.status_code != 422, where
        if case.kind == LIST:
            assert any(m.format(side=OUTSIDE.upper()) in text for m in MARKERS), where
        return
    if case.kind == HEAD_OFFICE:
        assert r.status_code == 403, where
    elif case.kind == FREE:
        assert r.status_code == 200, where
    elif case.kind == LIST:
        assert r.status_code == 200, where
        if side == INSIDE:
            assert any(m.format(side=INSIDE.upper()) in text for m in MARKERS), where
        else:
            assert not any(m.format(side=OUTSIDE.upper()) in text for m in MARKERS), where
    elif side == INSIDE:
        assert _reached(r) and r.status_code != 422, where
    elif case.kind == CREATE:
        assert r.status_code == 422, where
    else:
        assert r.status_code == 404, where


# The rule's forms agree --------------------------------------------------------------------

_example = itertools.count(1)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    parents=st.lists(st.integers(0, 30), min_size=1, max_size=12),
    top=st.integers(0, 12),
    audience=st.lists(st.integers(0, 12), min_size=1, max_size=3),
)
async def test_the_scope_in_python_and_in_sql_is_one_subtree(db, parents, top, audience):
    """`overseen_unit_ids`, the `overseen` clause, the loaded tree's `in_tree` and
    `audience_within` name the same units, whatever the tree's shape."""
    n = next(_example)
    made = [await make_unit(db, code=f"SX{n}-0", kind="company")]
    for i, p in enumerate(parents, start=1):
        made.append(await make_unit(db, code=f"SX{n}-{i}", parent_id=made[p % i].id))
    ids = {u.id for u in made}
    chosen = made[top % len(made)]
    curator = await make_user(db, made[0], role="curator", scope_unit_id=chosen.id)
    head = await make_user(db, made[0], role="curator")

    overseen = await scope.overseen_unit_ids(db, curator)
    assert overseen is not None and await scope.overseen_unit_ids(db, head) is None
    in_sql = set(
        (
            await db.execute(
                sa.select(units.c.id).where(
                    units.c.id.in_(ids), scope.overseen(curator, units.c.id)
                )
            )
        ).scalars()
    )
    tree = await org.load_tree(db)
    in_python = {u.id for u in made if scope.in_tree(tree, curator, tree.by_id[u.id])}
    expected = {u.id for u in made if u is chosen or _below(made, u, chosen)}
    assert overseen == in_sql == in_python == expected
    picked = [made[a % len(made)].id for a in audience]
    assert await scope.audience_within(db, curator, picked) == all(i in expected for i in picked)
    assert not await scope.audience_within(db, curator, None)  # everyone is never inside


def _below(made: list[Any], unit: Any, top: Any) -> bool:
    by_id = {u.id: u for u in made}
    node = by_id.get(unit.parent_id)
    while node is not None:
        if node is top:
            return True
        node = by_id.get(node.parent_id)
    return False


# A photo held for personal data reaches the curators who oversee its post -----------------


async def test_a_held_photo_reaches_a_scoped_curator_inside_the_scope_only(client, db):
    """The held image of the post inside the scope: on its card and as a file; outside: on
    neither (a 404, as if it did not exist). Head office sees both."""
    scene = await make_scene(db)
    await db.commit()
    for who, sides in ((scene.scoped, (INSIDE,)), (scene.head, (INSIDE, OUTSIDE))):
        cards = await feed.get_cards(db, who, [scene.post[s].id for s in (INSIDE, OUTSIDE)])
        for side in (INSIDE, OUTSIDE):
            shown = [a.id for a in cards[scene.post[side].id].attachments]
            assert shown == ([scene.attachment[side]] if side in sides else []), (who.id, side)
            found = await _attachment_for(db, who, scene.attachment[side])
            assert found == (side in sides), (who.id, side)


async def _attachment_for(db, who: User, attachment_id: int) -> bool:
    try:
        await attachment_service.get_attachment_for_view(db, who, attachment_id)
    except NotFound:
        return False
    return True


async def test_a_hidden_posts_title_reaches_a_scoped_curator_inside_the_scope_only(db):
    """In their notifications and in a bulletin's items, as on the post page: the title of a
    post hidden by head office inside the scope; outside, no title and no card. Head office
    sees both."""
    scene = await make_scene(db)
    bulletin = await db.get(Bulletin, scene.bulletin[INSIDE])
    for who in (scene.scoped, scene.head):
        for side in (INSIDE, OUTSIDE):
            db.add(Notification(user_id=who.id, kind="comment", post_id=scene.hidden[side].id))
    for n, side in enumerate((INSIDE, OUTSIDE), start=1):
        db.add(BulletinItem(bulletin_id=bulletin.id, post_id=scene.hidden[side].id, position=n))
    await db.commit()
    for who, sides in ((scene.scoped, {INSIDE}), (scene.head, {INSIDE, OUTSIDE})):
        listed, _next = await notification_service.list_for(db, who)
        titles = {n.post_id: n.post_title for n in listed}
        for side in (INSIDE, OUTSIDE):
            expected = f"{side.upper()}-hidden" if side in sides else None
            assert titles[scene.hidden[side].id] == expected, (who.id, side)
        items = (await bulletin_service.view(db, who, bulletin)).items
        cards = {i.post_id: i.card for i in items}
        for side in (INSIDE, OUTSIDE):
            card = cards[scene.hidden[side].id]
            assert (card.title if card else None) == (
                f"{side.upper()}-hidden" if side in sides else None
            ), (who.id, side)
