"""Small hardening of answers (issue 12, item 8): HSTS on an https site, the no-JS like form's
redirect stays on this site, spreadsheet cells that would run as formulas, and errors of HTMX
requests go to the toast region instead of a whole page inside a fragment."""

from __future__ import annotations

import csv
import io
import unicodedata

import httpx
import pytest
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.config import get_settings
from app.main import create_app
from app.models import RolloutResponse
from app.services import audit_log
from app.services.audit_log import AuditRow
from app.services.kpi import export as kpi_export
from app.services.spreadsheet import FORMULA_START, safe_cell
from tests.factories import login_as, make_post, make_user
from tests.test_audit import EARLY
from tests.test_bulletins import as_user, now, org, published  # noqa: F401 (fixtures)
from tests.test_bulletins import service as bulletin_service

# Strict-Transport-Security ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://arigato.example.co.jp", "max-age=31536000; includeSubDomains"),
        ("http://127.0.0.1:8000", None),
    ],
)
async def test_hsts_only_when_the_site_is_https(monkeypatch, base_url, expected):
    monkeypatch.setenv("BASE_URL", base_url)
    get_settings.cache_clear()
    try:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for path in ("/healthz", "/login", "/api/v1/me"):
                r = await c.get(path)
                assert r.headers.get("Strict-Transport-Security") == expected, path
                assert r.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


# The no-JS like form goes back to the page it was on, never off the site -------------------------

HOSTILE_REFERERS = [
    "http://testserver//evil.example/x",  # this host, but `//evil.example/x` as the path
    "http://testserver/\\evil.example/x",
    "http://testserver/\\/evil.example",
    "//evil.example/x",
    "/\\evil.example/x",
    "https://evil.example/x",
    "http://testserver.evil.example/x",
    "javascript:alert(1)",
    "",
]


@pytest.mark.parametrize("referer", HOSTILE_REFERERS)
async def test_like_without_js_never_redirects_off_site(client, db, referer):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/like",
        data={"liked": "1", "csrf_token": csrf},
        headers={"Referer": referer},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/posts/{post.id}"


async def test_like_without_js_goes_back_to_the_feed_it_came_from(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login_as(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/like",
        data={"liked": "1", "csrf_token": csrf},
        headers={"Referer": "http://testserver/?kind=praise&tag=%E6%8E%A5%E5%AE%A2"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/?kind=praise&tag=%E6%8E%A5%E5%AE%A2"


# Spreadsheet cells that would run as a formula -----------------------------------------------------

# Text that NFKC turns into a formula start: full-width ＝＋－＠, the small and superscript
# forms, and the other characters that fold to them.
FOLDS_TO_FORMULA = sorted(
    c
    for c in map(chr, range(0x80, 0x30000))
    if unicodedata.normalize("NFKC", c)[:1] in FORMULA_START
)


def test_full_width_formula_starts_are_known():
    assert {"＝", "＋", "－", "＠", "﹦", "﹢", "﹣", "﹫", "⁼", "⁺"} <= set(FOLDS_TO_FORMULA)


@given(
    st.sampled_from([*FORMULA_START, *FOLDS_TO_FORMULA]),
    st.text(max_size=30),
)
def test_every_writer_defuses_a_formula_start(first, rest):
    text = first + rest
    assert safe_cell(text) == "'" + text
    # The KPI export (CSV and XLSX) and the audit log CSV use the same guard.
    sheet = kpi_export.Sheet(title="t", header=[text], rows=[[text, 1]])
    parsed = list(csv.reader(io.StringIO(kpi_export.to_csv(sheet).decode("utf-8-sig"))))
    assert parsed[0][0] == parsed[1][0] == "'" + text
    row = AuditRow(1, EARLY, text, text, "post.hide", "post", 1, text, None)
    out = list(csv.reader(io.StringIO(audit_log.to_csv([row]).decode("utf-8-sig"))))[1]
    assert out[1][:1] == out[2][:1] == out[6][:1] == "'"


@given(st.text(max_size=30))
def test_other_text_is_left_alone(text):
    folded = unicodedata.normalize("NFKC", text[:1])
    if not folded.startswith(FORMULA_START):
        assert safe_cell(text) == text


def test_xlsx_cells_are_guarded_too():
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    sheet = kpi_export.Sheet(title="t", header=["unit"], rows=[['＝HYPERLINK("http://x")']])
    wb = load_workbook(io.BytesIO(kpi_export.to_xlsx(sheet)))
    assert wb.active["A2"].value == '\'＝HYPERLINK("http://x")'


# Errors of HTMX requests: a toast, never a page inside the fragment ------------------------------

HX = {"HX-Request": "true"}


def _toast(r: httpx.Response) -> str:
    """The toast an HTMX error answer carries, checked to be only that; its text."""
    assert r.headers["HX-Retarget"] == "#toasts"
    assert r.headers["HX-Reswap"] == "beforeend"
    assert r.headers["HX-Push-Url"] == "false"
    html = BeautifulSoup(r.text, "html.parser")
    assert not html.select("html, body, header, nav, main, footer")
    (toast,) = html.select(".toast")
    assert toast["role"] == "alert"
    assert toast.select_one("button[data-dismiss-toast]")["type"] == "button"
    return toast.select_one(".toast-text").get_text(strip=True)


async def test_a_bad_rollout_answer_by_htmx_is_a_toast(make_client, db, org, now):  # noqa: F811
    bulletin = await published(db, org)
    (item,) = await bulletin_service.items_of(db, bulletin.id)
    shop, _token = await as_user(make_client, org.staff_a1)
    url = f"/bulletins/{bulletin.id}/items/{item.id}/rollout"
    r = await shop.post(url, data={"answer": "maybe"}, headers=HX)
    assert r.status_code == 422
    assert _toast(r) == "選択肢の中から選んでください。"
    close = BeautifulSoup(r.text, "html.parser").select_one("[data-dismiss-toast]")
    assert close["aria-label"] == "閉じる"
    assert (await db.exec(select(RolloutResponse))).all() == []
    # Without JavaScript the same answer is the error page, site header and all.
    r = await shop.post(url, data={"answer": "maybe"})
    assert r.status_code == 422
    page = BeautifulSoup(r.text, "html.parser")
    assert len(page.select("header.site-header")) == 1 and "HX-Retarget" not in r.headers
    assert "選択肢の中から選んでください。" in page.select_one("main").get_text()


async def test_liking_a_post_hidden_meanwhile_by_htmx_says_why(make_client, db):
    author = await make_user(db, locale="en")
    post = await make_post(db, author, status="hidden", hidden_reason="個人情報")
    colleague = make_client()
    headers = {**HX, "X-CSRF-Token": await login_as(colleague, await make_user(db))}
    r = await colleague.post(f"/posts/{post.id}/like", data={"liked": "1"}, headers=headers)
    assert r.status_code == 404
    assert _toast(r) == "この投稿は存在しないか、閲覧する権限がありません。"
    # The author sees it (marked hidden) but cannot like it: a 409, in the author's language.
    own = make_client("10.0.0.3")
    headers = {**HX, "X-CSRF-Token": await login_as(own, author)}
    r = await own.post(f"/posts/{post.id}/like", data={"liked": "1"}, headers=headers)
    assert r.status_code == 409
    assert _toast(r) == "Only published posts can be liked or commented on."
    await db.refresh(post)
    assert post.like_count == 0


async def test_every_page_has_the_toast_region_and_its_template(client, db):
    await login_as(client, await make_user(db))
    page = BeautifulSoup((await client.get("/")).text, "html.parser")
    region = page.select_one("body > #toasts")
    assert region is not None and region.get_text(strip=True) == ""
    assert region["data-error-text"] == "エラーが発生しました。もう一度お試しください。"
    template = page.select_one("body > template#toast-template")
    assert template.select_one(".toast[role=alert] .toast-text").get_text() == ""


async def test_a_page_query_fastapi_refuses_is_a_page_or_a_toast_never_json(client, db):
    await login_as(client, await make_user(db))
    r = await client.get("/kpi?depth=deep", headers=HX)
    assert r.status_code == 422
    assert _toast(r) == "正しい値を入力してください。"
    r = await client.get("/kpi?depth=deep")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    page = BeautifulSoup(r.text, "html.parser")
    assert len(page.select("header.site-header")) == 1
    assert "正しい値を入力してください。" in page.select_one("main").get_text()


async def test_text_the_input_guard_refuses_by_htmx_is_a_toast(client, db):
    csrf = await login_as(client, await make_user(db))
    headers = {**HX, "X-CSRF-Token": csrf}
    r = await client.post("/posts", data={"kind": "praise", "title": "a\x00b"}, headers=headers)
    assert r.status_code == 422
    assert _toast(r) == "制御文字（NUL など）や壊れた文字は入力できません。"
    r = await client.post(
        "/posts", data={"kind": "praise", "title": "x" * (2 * 1024 * 1024)}, headers=headers
    )
    assert r.status_code == 413
    assert _toast(r) == "リクエストが大きすぎます。"
