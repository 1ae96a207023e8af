"""The unit tree in /admin and /api/v1/admin: add, rename, move, deactivate, all audited."""

from __future__ import annotations

import itertools
import json
import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.models import AuditEntry, OrgUnit
from app.services.errors import Conflict, InvalidInput
from app.services.people import units as unit_service
from tests.factories import HX, login_as, make_post, make_unit, make_units, make_user, soup

_seq = itertools.count(1)


async def as_admin(db, client: httpx.AsyncClient):
    admin_user = await make_user(db, role="admin", locale="en")
    token = await login_as(client, admin_user)
    return admin_user, token


async def org(db):
    """HQ → region → branch → two shops (fresh codes every time)."""
    n = next(_seq)
    units = await make_units(
        db,
        (f"HQ{n}", "本社", "company", None),
        (f"R{n}", "関東地域", "region", f"HQ{n}"),
        (f"B{n}", "東京支店", "branch", f"R{n}"),
        (f"S{n}a", "新宿店", "shop", f"B{n}"),
        (f"S{n}b", "渋谷店", "shop", f"B{n}"),
    )
    hq, region, branch, shop1, shop2 = units.values()
    return hq, region, branch, shop1, shop2


async def audit_rows(db, action: str, target_id: int | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    return list((await db.exec(stmt.order_by(col(AuditEntry.id)))).all())


def changes(entry: AuditEntry) -> dict:
    return json.loads(entry.changes or "{}")


async def unit(db, code: str) -> OrgUnit:
    found = await unit_service.get_unit(db, code)
    assert found is not None
    await db.refresh(found)
    return found


# -- the tree page -------------------------------------------------------------------------


async def test_tree_shows_kind_code_state_and_counts(client, db):
    hq, region, branch, shop1, _shop2 = await org(db)
    staff = await make_user(db, shop1)
    await make_user(db, shop1, active=False)
    await make_post(db, staff)
    await make_post(db, staff, status="deleted")
    await as_admin(db, client)
    page = soup(await client.get("/admin/units"))
    row = page.select_one(f"tr#unit-{shop1.code}")
    assert row is not None
    assert row.select_one("th a").get_text() == "新宿店"
    assert "depth-3" in row.select_one("th")["class"]
    assert row.select_one(".unit-code").get_text() == shop1.code
    assert row.select_one(".unit-state").get_text(strip=True) == "Active"
    assert row.select_one(".unit-users").get_text(strip=True) == "1"  # the active one
    assert row.select_one(".unit-posts").get_text(strip=True) == "1"  # not the deleted post
    # Counts roll up: the branch shows its own and, in brackets, its subtree's.
    branch_row = page.select_one(f"tr#unit-{branch.code}")
    assert branch_row.select_one(".unit-users").get_text(" ", strip=True) == "0 (1)"
    # Parents come before their children.
    codes = [tr["data-code"] for tr in page.select("tr.unit-row")]
    assert codes.index(hq.code) < codes.index(region.code) < codes.index(branch.code)
    assert codes.index(branch.code) < codes.index(shop1.code)
    assert "never deleted" in page.get_text()


# -- adding ----------------------------------------------------------------------------------


async def test_add_a_unit_with_the_plain_form(client, db):
    _hq, _region, branch, _s1, _s2 = await org(db)
    admin_user, token = await as_admin(db, client)
    r = await client.post(
        "/admin/units",
        data={
            "csrf_token": token,
            "code": "TKY-900",
            "name": "新店",
            "kind": "shop",
            "parent": branch.code,
        },
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin/units?done=created")
    page = soup(await client.get(r.headers["location"]))
    assert page.select_one(".flash").get_text() == "The unit was added."
    assert page.select_one("tr#unit-TKY-900.just-added") is not None
    created = await unit(db, "TKY-900")
    assert (created.parent_id, created.kind, created.active) == (branch.id, "shop", True)
    [entry] = await audit_rows(db, "unit.create", created.id)
    assert entry.actor_id == admin_user.id
    assert changes(entry)["after"] == {
        "code": "TKY-900",
        "name": "新店",
        "kind": "shop",
        "parent": branch.code,
        "active": True,
    }


async def test_add_a_unit_with_htmx_swaps_the_panel(client, db):
    _hq, _region, branch, _s1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    r = await client.post(
        "/admin/units",
        data={"code": "TKY-901", "name": "新店", "kind": "shop", "parent": branch.code},
        headers={**HX, "X-CSRF-Token": token},
    )
    assert r.status_code == 201
    panel = soup(r)
    assert panel.select_one("#units-panel .flash").get_text() == "The unit was added."
    assert panel.select_one("tr#unit-TKY-901") is not None
    assert panel.select_one("#unit-code")["value"] == ""  # a fresh form for the next one


async def test_duplicate_code_is_a_409_with_the_typed_values_kept(client, db):
    _hq, _region, branch, shop1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    data = {
        "csrf_token": token,
        "code": shop1.code,
        "name": "二号店",
        "kind": "shop",
        "parent": branch.code,
    }
    r = await client.post("/admin/units", data=data)
    assert r.status_code == 409
    page = soup(r)
    assert page.select_one("#unit-code-error").get_text() == "A unit with this code already exists."
    assert page.select_one("#unit-code")["aria-invalid"] == "true"
    assert page.select_one("#unit-name")["value"] == "二号店"
    assert page.select_one("#unit-kind option[selected]")["value"] == "shop"
    assert page.select_one("details.admin-form-box").has_attr("open")
    # The API says the same.
    r = await client.post(
        "/api/v1/admin/units",
        json={"code": shop1.code, "name": "x", "kind": "shop", "parent": branch.code},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 409
    assert (await unit(db, shop1.code)).name == "新宿店"


async def test_bad_fields_are_shown_inline_and_nothing_is_written(client, db):
    await org(db)
    _admin, token = await as_admin(db, client)
    before = len((await db.exec(select(OrgUnit))).all())
    r = await client.post(
        "/admin/units",
        data={
            "csrf_token": token,
            "code": "bad code!",
            "name": " ",
            "kind": "castle",
            "parent": "NOPE",
        },
    )
    assert r.status_code == 422
    page = soup(r)
    for field in ("code", "name", "kind", "parent"):
        assert page.select_one(f"#unit-{field}-error"), field
    assert page.select_one("#unit-code")["value"] == "bad code!"
    assert len((await db.exec(select(OrgUnit))).all()) == before
    assert await audit_rows(db, "unit.create") == []


async def test_api_create_validates_and_answers_the_unit(client, db):
    _hq, region, _b, _s1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    headers = {"X-CSRF-Token": token}
    r = await client.post(
        "/api/v1/admin/units",
        json={"code": "B-NEW", "name": "新支店", "kind": "branch", "parent": region.code},
        headers=headers,
    )
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("code", "name", "kind", "parent", "active")} == {
        "code": "B-NEW",
        "name": "新支店",
        "kind": "branch",
        "parent": region.code,
        "active": True,
    }
    assert body["users"] == body["posts"] == 0
    r = await client.post(
        "/api/v1/admin/units",
        json={"code": "X1", "name": "x", "kind": "branch", "parent": "NOPE"},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "parent"]
    r = await client.post(
        "/api/v1/admin/units", json={"code": "X2", "name": "x", "kind": "castle"}, headers=headers
    )
    assert r.status_code == 422
    assert (
        await unit_service.get_unit(db, "X1") is None
        and await unit_service.get_unit(db, "X2") is None
    )


async def test_a_new_unit_needs_a_parent_and_an_active_one(client, db):
    _hq, _region, branch, _s1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    headers = {"X-CSRF-Token": token}
    r = await client.post(
        "/api/v1/admin/units",
        json={"code": "ROOT2", "name": "x", "kind": "company"},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "parent"]
    closed = await make_unit(db, kind="branch", parent_id=branch.id, active=False)
    r = await client.post(
        "/api/v1/admin/units",
        json={"code": "UNDER-CLOSED", "name": "x", "kind": "shop", "parent": closed.code},
        headers=headers,
    )
    assert r.status_code == 422
    assert "deactivated" in r.json()["detail"][0]["msg"]


# -- rename and move -------------------------------------------------------------------------


async def test_rename_with_htmx_and_the_audit_keeps_before_and_after(client, db):
    _hq, _region, _branch, shop1, _s2 = await org(db)
    _admin_user, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/units/{shop1.code}/rename",
        data={"name": "新宿西口店", "kind": "shop"},
        headers={**HX, "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    panel = soup(r)
    assert panel.select_one("#admin-unit h1").get_text(" ", strip=True).startswith("新宿西口店")
    assert panel.select_one(".flash").get_text() == "The unit was saved."
    [entry] = await audit_rows(db, "unit.rename", shop1.id)
    assert changes(entry) == {
        "before": {"code": shop1.code, "name": "新宿店"},
        "after": {"code": shop1.code, "name": "新宿西口店"},
    }
    assert await audit_rows(db, "unit.kind", shop1.id) == []  # the kind did not change
    # An empty name is refused; what was typed stays in the field.
    r = await client.post(
        f"/admin/units/{shop1.code}/rename",
        data={"csrf_token": token, "name": "  ", "kind": "shop"},
    )
    assert r.status_code == 422
    assert soup(r).select_one("#unit-name-error")
    assert (await unit(db, shop1.code)).name == "新宿西口店"


async def test_move_with_the_plain_form_and_the_api(client, db):
    _hq, region, branch, shop1, _s2 = await org(db)
    other = await make_unit(db, kind="branch", parent_id=region.id, name="横浜支店")
    _admin_user, token = await as_admin(db, client)
    page = soup(await client.get(f"/admin/units/{shop1.code}"))
    offered = [o["value"] for o in page.select("#unit-parent option") if o["value"]]
    assert other.code in offered and shop1.code not in offered
    r = await client.post(
        f"/admin/units/{shop1.code}/move", data={"csrf_token": token, "parent": other.code}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/units/{shop1.code}?done=moved"
    assert (await unit(db, shop1.code)).parent_id == other.id
    [entry] = await audit_rows(db, "unit.move", shop1.id)
    assert changes(entry)["before"]["parent"] == branch.code
    assert changes(entry)["after"]["parent"] == other.code
    r = await client.patch(
        f"/api/v1/admin/units/{shop1.code}",
        json={"parent": branch.code},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert r.json()["parent"] == branch.code


async def test_moving_under_itself_or_a_descendant_is_refused_and_changes_nothing(client, db):
    hq, region, branch, shop1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    for target in (region.code, branch.code, shop1.code):
        r = await client.patch(
            f"/api/v1/admin/units/{region.code}",
            json={"parent": target},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 422, target
        assert r.json()["detail"][0]["loc"] == ["body", "parent"]
    r = await client.post(
        f"/admin/units/{region.code}/move", data={"csrf_token": token, "parent": shop1.code}
    )
    assert r.status_code == 422
    page = soup(r)
    assert "under itself" in page.select_one("#unit-parent-error").get_text()
    assert (await unit(db, region.code)).parent_id == hq.id
    assert await audit_rows(db, "unit.move") == []


async def test_a_patch_is_all_or_nothing(client, db):
    _hq, _region, branch, shop1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    r = await client.patch(
        f"/api/v1/admin/units/{branch.code}",
        json={"name": "新しい名前", "parent": shop1.code},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422
    assert (await unit(db, branch.code)).name == "東京支店"
    assert await audit_rows(db, "unit.rename") == []


# -- deactivating ----------------------------------------------------------------------------


async def test_deactivation_is_refused_while_the_unit_is_in_use(client, db):
    _hq, _region, branch, shop1, _shop2 = await org(db)
    await make_user(db, shop1)
    _admin, token = await as_admin(db, client)
    r = await client.post(f"/admin/units/{shop1.code}/deactivate", data={"csrf_token": token})
    assert r.status_code == 409
    assert "1 active users" in soup(r).select_one("#unit-active-error").get_text()
    r = await client.patch(
        f"/api/v1/admin/units/{branch.code}",
        json={"active": False},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 409
    assert "active units are below" in r.json()["detail"]
    assert (await unit(db, shop1.code)).active and (await unit(db, branch.code)).active
    assert await audit_rows(db, "unit.deactivate") == []


async def test_deactivate_and_reactivate(client, db):
    _hq, _region, _branch, shop1, shop2 = await org(db)
    author = await make_user(db, shop2, active=False)  # left the company: does not block
    post = await make_post(db, author)
    _admin_user, token = await as_admin(db, client)
    r = await client.post(
        f"/admin/units/{shop2.code}/deactivate", data={}, headers={**HX, "X-CSRF-Token": token}
    )
    assert r.status_code == 200
    panel = soup(r)
    assert panel.select_one(".flash").get_text() == "The unit was deactivated."
    assert panel.select_one("h1 .badge-status").get_text() == "Deactivated"
    assert not (await unit(db, shop2.code)).active
    [entry] = await audit_rows(db, "unit.deactivate", shop2.id)
    assert changes(entry)["before"]["active"] is True and changes(entry)["after"]["active"] is False
    # Still in the tree (marked), its page and its post are still there...
    tree = soup(await client.get("/admin/units"))
    assert "inactive" in tree.select_one(f"tr#unit-{shop2.code}")["class"]
    assert (await client.get(f"/units/{shop2.code}")).status_code == 200
    assert (await client.get(f"/posts/{post.id}")).status_code == 200
    # ...but it is offered for nothing new: not as a parent, not for users, not in the directory.
    users_page = soup(await client.get("/admin/users"))
    assert shop2.code not in [o["value"] for o in users_page.select("#user-unit option")]
    assert shop2.code in [o["value"] for o in users_page.select("#filter-unit option")]
    unit_page = soup(await client.get(f"/admin/units/{shop1.code}"))
    assert shop2.code not in [o["value"] for o in unit_page.select("#unit-parent option")]
    directory = (await client.get("/api/v1/units")).json()["items"]
    assert shop2.code not in [u["code"] for u in directory]
    r = await client.post(
        "/api/v1/admin/users",
        json={"code": "NEWBIE", "name": "新人", "unit": shop2.code},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422
    # A deactivated parent blocks reactivating below it; reactivating it works.
    r = await client.patch(
        f"/api/v1/admin/units/{shop2.code}", json={"active": True}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200 and r.json()["active"] is True
    assert len(await audit_rows(db, "unit.reactivate", shop2.id)) == 1


async def test_reactivating_under_a_deactivated_parent_is_refused(client, db):
    _hq, _region, branch, _s1, _s2 = await org(db)
    closed = await make_unit(db, kind="branch", parent_id=branch.id, active=False)
    below = await make_unit(db, kind="shop", parent_id=closed.id, active=False)
    _admin, token = await as_admin(db, client)
    r = await client.post(f"/admin/units/{below.code}/reactivate", data={"csrf_token": token})
    assert r.status_code == 409
    assert (
        soup(r).select_one("#unit-active-error").get_text() == "Reactivate the unit above it first."
    )
    assert not (await unit(db, below.code)).active


async def test_there_is_no_way_to_delete_a_unit(client, db):
    _hq, _region, _branch, shop1, _s2 = await org(db)
    _admin, token = await as_admin(db, client)
    r = await client.delete(f"/api/v1/admin/units/{shop1.code}", headers={"X-CSRF-Token": token})
    assert r.status_code == 405
    assert await unit_service.get_unit(db, shop1.code) is not None


async def test_unknown_unit_is_404(client, db):
    _admin, token = await as_admin(db, client)
    assert (await client.get("/admin/units/NOPE-404")).status_code == 404
    r = await client.patch(
        "/api/v1/admin/units/NOPE-404", json={"name": "x"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 404


async def test_api_lists_every_unit_in_tree_order(client, db):
    _hq, _region, branch, shop1, _shop2 = await org(db)
    closed = await make_unit(db, kind="shop", parent_id=branch.id, active=False)
    await as_admin(db, client)
    items = (await client.get("/api/v1/admin/units")).json()["items"]
    codes = [i["code"] for i in items]
    assert closed.code in codes
    by_code = {i["code"]: i for i in items}
    assert by_code[shop1.code]["depth"] == by_code[branch.code]["depth"] + 1
    assert codes.index(branch.code) < codes.index(shop1.code)
    assert by_code[closed.code]["active"] is False


# -- properties ------------------------------------------------------------------------------


def _parents_of(units: list[OrgUnit]) -> dict[int, int | None]:
    return {u.id: u.parent_id for u in units}  # type: ignore[misc]


def _acyclic(parents: dict[int, int | None]) -> bool:
    for start in parents:
        seen, node = set(), start
        while node is not None:
            if node in seen:
                return False
            seen.add(node)
            node = parents.get(node)
    return True


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=12))
async def test_random_moves_never_make_a_cycle(db, moves):
    n = next(_seq)
    actor = await make_user(db, role="admin")
    made: list[OrgUnit] = []
    for i, parent in enumerate([None, 0, 0, 1, 1, 2, 3]):
        made.append(
            await make_unit(
                db,
                code=f"M{n}-{i}",
                kind="branch",
                parent_id=made[parent].id if parent is not None else None,
            )
        )
    ids = [u.id for u in made]
    for child, parent in moves:
        if child == 0:
            continue  # the root has no parent to move under
        before = _parents_of(made)
        try:
            await unit_service.update_unit(db, actor, made[child], parent=made[parent].code)
        except InvalidInput:
            for u in made:
                await db.refresh(u)
            assert _parents_of(made) == before  # a refused move changes nothing
        rows = (await db.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))).all()
        assert _acyclic(_parents_of(list(rows)))
        assert sum(1 for u in rows if u.parent_id is None) == 1  # still one tree


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(code=st.text(min_size=0, max_size=40))
async def test_any_unit_code_is_created_or_refused_with_a_reason(db, code):
    actor = await make_user(db, role="admin")
    parent = await make_unit(db, kind="company")
    valid = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", code.strip()) is not None
    try:
        created = await unit_service.create_unit(
            db, actor, code=code, name="店", kind="shop", parent=parent.code
        )
    except InvalidInput as exc:
        assert not valid
        assert list(exc.by_field()) == ["code"]
        return
    except Conflict:
        assert valid  # made by an earlier example: the code is taken
        return
    assert valid and created.code == code.strip()


@pytest.mark.parametrize("kind", ["company", "region", "branch", "shop", "department"])
async def test_every_kind_can_be_added(db, kind):
    actor = await make_user(db, role="admin")
    parent = await make_unit(db, kind="company")
    created = await unit_service.create_unit(
        db, actor, code=f"K{next(_seq)}", name="部署", kind=kind, parent=parent.code
    )
    assert created.kind == kind
