"""The KPI page in a real Chromium: the chart draws under the CSP, drill-down swaps the table
in place, engagement loads after the matrix, and the pages pass the accessibility check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser


def test_kpi_chart_drill_down_and_engagement(live_server, page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, "curator")
    page.get_by_role("link", name="KPI", exact=True).click()
    expect(page).to_have_url(re.compile(r"/kpi$"))
    expect(page.locator("table.kpi-matrix caption")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-kpi-chart]'))"
    )
    expect(page.locator("table.kpi-engagement-table")).to_be_visible()  # loaded by HTMX
    assert axe_violations(page) == []

    link = page.locator("table.kpi-matrix tbody th a").first
    name = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(r"unit="))
    expect(page.locator(".kpi-breadcrumbs [aria-current=page]")).to_have_text(name)
    # the panel was swapped in place: the chart is drawn again on the new canvas
    page.wait_for_function("() => Chart.getChart(document.querySelector('canvas[data-kpi-chart]'))")
    assert not [e for e in errors if "Content Security Policy" in e], errors

    page.goto(live_server + "/kpi/voices")
    expect(page.get_by_role("heading", level=1)).to_have_text("お客さまの声 受付状況")
    assert axe_violations(page) == []
