"""The installable app's fixed addresses: the service worker from the root (a script, not
cached by HTTP, under the same strict CSP), the manifest in Japanese, the offline page
without anybody's data, and every page linking them."""

from __future__ import annotations

from tests.factories import login_as, make_user, soup


async def test_service_worker_is_a_script_from_the_root(client):
    r = await client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert 'addEventListener("push"' in r.text and 'addEventListener("notificationclick"' in r.text


async def test_manifest_names_the_app_in_japanese_with_installable_icons(client):
    r = await client.get("/manifest.webmanifest", headers={"Accept-Language": "en"})
    assert r.headers["content-type"] == "application/manifest+json"
    manifest = r.json()
    assert (manifest["name"], manifest["short_name"]) == ("ありがとうボード", "ありがとう")
    assert manifest["lang"] == "ja" and manifest["display"] == "standalone"
    assert manifest["start_url"] == manifest["scope"] == "/"
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert sizes == {(s, p) for s in ("192x192", "512x512") for p in ("any", "maskable")}
    for icon in manifest["icons"]:
        png = await client.get(icon["src"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


async def test_offline_page_has_nobodys_data(client, db):
    user = await make_user(db, name="山田花子")
    await login_as(client, user)
    page = await client.get("/offline")
    assert page.status_code == 200
    html = soup(page)
    assert html.select_one("[data-testid=offline-page] h1").get_text() == "オフラインです"
    assert "山田花子" not in page.text and not html.select("[sse-connect]")


async def test_pages_link_the_manifest_and_the_worker(client, db):
    await login_as(client, await make_user(db))
    html = soup(await client.get("/"))
    assert html.select_one("link[rel=manifest]")["href"] == "/manifest.webmanifest"
    assert html.select_one("body")["data-sw"] == "/sw.js"
    assert html.select_one("meta[name=theme-color]")["content"] == "#0172ad"
