"""The admin page /admin/integrations: list with empty state and failures, add / edit /
remove through plain forms, secrets never in the HTML (only "set"), errors by the field with
what was typed kept, in Japanese and English; admins only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models.tables import integrations
from tests.factories import login_as, make_user, soup

SECRET = "a-very-secret-signing-key"


@pytest.fixture
async def admin_client(db, client, org, allow_local):  # type: ignore[no-untyped-def]
    _units, admin, _curator, _staff = org
    csrf = await login_as(client, admin)
    return client, csrf


def _form(csrf: str, **kw: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "kind": "webhook",
        "name": "社内ポータル",
        "url": "http://127.0.0.1:9/hook",
        "secret": SECRET,
        "event_post.published": "on",
        "kind_praise": "on",
        "enabled": "on",
        "units": "RA",
    } | kw


async def test_empty_then_added_then_edited_then_removed(db, admin_client):
    client, csrf = admin_client
    page = soup(await client.get("/admin/integrations"))
    assert page.select_one("[data-testid=no-integrations]")
    assert page.select_one("nav.admin-nav [aria-current=page]").get_text() == "外部連携"
    r = await client.post("/admin/integrations", data=_form(csrf))
    assert r.status_code == 303 and r.headers["location"].endswith("?done=created")
    listed = await client.get("/admin/integrations")
    assert SECRET not in listed.text
    item = soup(listed).select_one("#integrations li")
    assert "社内ポータル" in item.get_text() and "RA" in item.get_text()
    integration_id = item["data-integration"]
    edit = await client.get(f"/admin/integrations/{integration_id}")
    assert SECRET not in edit.text
    html = soup(edit)
    assert html.select_one("[data-secret=secret]").get_text() == "設定済み"
    assert html.select_one("input[name=secret]")["value"] == ""
    # Saved with the secret left empty: it is kept.
    r = await client.post(
        f"/admin/integrations/{integration_id}", data=_form(csrf, name="新ポータル", secret="")
    )
    assert r.status_code == 303
    row = (await db.execute(sa.select(integrations.c.name, integrations.c.secrets))).one()
    assert row.name == "新ポータル" and SECRET in row.secrets
    r = await client.post(f"/admin/integrations/{integration_id}/delete", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert (await db.execute(sa.select(sa.func.count()).select_from(integrations))).scalar() == 0


@pytest.mark.parametrize(
    ("locale", "message"),
    [("ja", "接続できないアドレス"), ("en", "may not reach")],
)
async def test_a_refused_url_is_an_error_by_the_field_with_the_typed_text_kept(
    db, admin_client, org, locale, message
):
    client, csrf = admin_client
    admin = org[1]
    admin.locale = locale  # the admin's own language
    db.add(admin)
    await db.commit()
    r = await client.post(
        "/admin/integrations", data=_form(csrf, url="http://169.254.169.254/latest/")
    )
    assert r.status_code == 422
    html = soup(r)
    field = html.select_one("#f-webhook-url")
    assert field["aria-invalid"] == "true" and field["value"] == "http://169.254.169.254/latest/"
    assert message in html.select_one("#f-webhook-url-error").get_text()
    assert html.select_one("#integration-name")["value"] == "社内ポータル"
    assert SECRET not in r.text  # a typed secret is not echoed either


async def test_a_failure_is_shown_on_the_page(db, admin_client):
    client, csrf = admin_client
    await client.post("/admin/integrations", data=_form(csrf))
    await db.execute(sa.update(integrations).values(failure="HTTP 503", failed_at=sa.func.now()))
    await db.commit()
    failure = soup(await client.get("/admin/integrations")).select_one("[data-testid=failure]")
    assert "HTTP 503" in failure.get_text()


@pytest.mark.parametrize("role", ["staff", "curator"])
async def test_only_admins_see_the_page(db, client, org, role):
    units, *_rest = org
    await login_as(client, await make_user(db, units["HQ"], role=role))
    assert (await client.get("/admin/integrations")).status_code == 403
