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

from app.config import get_settings
from app.main import create_app
from app.services import audit_log, kpi_export
from app.services.audit_log import AuditRow
from app.services.spreadsheet import FORMULA_START, safe_cell
from tests.factories import login, make_post, make_user
from tests.test_audit import EARLY

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
    csrf = await login(client, await make_user(db))
    r = await client.post(
        f"/posts/{post.id}/like",
        data={"liked": "1", "csrf_token": csrf},
        headers={"Referer": referer},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/posts/{post.id}"


async def test_like_without_js_goes_back_to_the_feed_it_came_from(client, db):
    post = await make_post(db, await make_user(db))
    csrf = await login(client, await make_user(db))
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

    sheet = kpi_export.Sheet(title="t", header=["unit"], rows=[["＝HYPERLINK(\"http://x\")"]])
    wb = load_workbook(io.BytesIO(kpi_export.to_xlsx(sheet)))
    assert wb.active["A2"].value == "'＝HYPERLINK(\"http://x\")"
