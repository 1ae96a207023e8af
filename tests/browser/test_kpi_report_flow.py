"""The published report in a real Chromium: reached from the お客さまの声 page, readable on a
phone and a desktop (no sideways scroll of the page, the accessibility check passes), printed
without the site around it, and its PDF and XLSX downloaded from the buttons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser


def test_report_on_a_phone_a_desktop_in_print_and_as_files(live_server, page):
    login(page, live_server, "curator")
    page.goto(live_server + "/kpi/voices")
    page.get_by_role("link", name="お客さま本位の取組 報告書").click()
    expect(page).to_have_url(re.compile(r"/kpi/report\?fy=\d{4}$"))
    expect(page.locator("table.report-voices [data-row=total] th")).to_have_text("合計")
    for width, height in ((390, 844), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        # Wide tables scroll inside their box; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert axe_violations(page) == []
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".report-tools")).to_be_hidden()
    expect(page.locator("table.report-breakdown")).to_be_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as pdf:
        page.get_by_role("button", name="PDF").click()
    assert re.fullmatch(r"お客さま本位の取組 報告書_\d{4}年度\.pdf", pdf.value.suggested_filename)
    with open(pdf.value.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
    with page.expect_download() as xlsx:
        page.get_by_role("button", name="Excel（XLSX）").click()
    assert xlsx.value.suggested_filename.endswith(".xlsx")
