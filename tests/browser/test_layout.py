"""The layout on a phone (390×844) and a desktop (1280×800), in Japanese and English: the
compact header and its keyboard menu, words kept whole, the skip link, the filter grid and
the unit picker, the KPI tables' totals and sticky unit column, the bulletin stats tables, attachments without bullets,
the bulletin editor's first action, and the site icon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login, set_language

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
CASES = [(lang, size) for lang in ("ja", "en") for size in SIZES]

# How many lines each element's text takes: the distinct tops of its text's boxes (text
# nodes only: a checkbox or an icon beside the words is not a line of its own).
LINES = """els => els.map(el => {
  const tops = new Set();
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
  }
  return [el.textContent.trim(), tops.size];
})"""


@contextmanager
def signed_in(
    browser, base: str, code: str, lang: str, size: str
) -> Iterator[tuple[Page, list[str]]]:  # type: ignore[no-untyped-def]
    """A page at `size` signed in as `code` in the language `lang` (saved on the account and
    put back to Japanese afterwards: the other tests expect the demo as it was), and the
    console errors and page errors it collects."""
    context = browser.new_context(locale="ja-JP", viewport=SIZES[size])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, code)
    try:
        set_language(page, lang)
        yield page, errors
    finally:
        set_language(page, "ja")
        context.close()


def _broken(page: Page, selector: str) -> list[list]:
    """The elements under `selector` (visible ones) whose text takes more than one line."""
    lines = page.locator(selector).evaluate_all(
        LINES.replace("els.map", "els.filter(e => e.offsetParent !== null).map")
    )
    assert lines, f"nothing visible at {selector}"
    return [item for item in lines if item[1] != 1]


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_header_fits_and_keeps_every_word_whole(live_server, browser, lang, size):
    with signed_in(browser, live_server, "admin", lang, size) as (page, errors):  # the most links
        header = page.locator("header.site-header")
        menu = page.get_by_test_id("menu-button")
        links = page.locator(".site-nav a")
        # Nothing makes the page wider than the screen (no sideways scrolling).
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
        if size == "phone":
            assert header.bounding_box()["height"] <= 120
            expect(menu).to_be_visible()
            expect(links.first).to_be_hidden()
            # The keyboard opens it (Enter, Space), Escape or the button again closes it.
            menu.focus()
            page.keyboard.press("Enter")
            expect(links.first).to_be_visible()
            page.keyboard.press("Tab")
            expect(links.first).to_be_focused()  # the menu's first link comes next
            page.keyboard.press("Escape")
            expect(links.first).to_be_hidden()
            expect(menu).to_be_focused()
            page.keyboard.press(" ")
            expect(links.first).to_be_visible()
            assert header.bounding_box()["height"] <= 120  # the menu opens over the page
        else:
            expect(menu).to_be_hidden()
            expect(links.first).to_be_visible()
        assert _broken(page, ".site-nav a") == []
        assert _broken(page, ".locale-switch button, .site-header .whoami > *") == []
        assert _broken(page, ".account-panel a, .account-panel button, .brand") == []
        if size == "phone":
            page.keyboard.press(" ")  # re-activation closes
            expect(links.first).to_be_hidden()
        if (lang, size) == ("ja", "desktop"):
            # One line: every item of the bar sits in the same row.
            boxes = [
                page.locator(s).bounding_box()
                for s in (".brand", ".site-nav li:last-child", ".locale-switch", ".account-button")
            ] + [page.locator(".bell").bounding_box()]
            boxes += [links.nth(i).bounding_box() for i in range(links.count())]
            assert max(b["y"] for b in boxes) < min(b["y"] + b["height"] for b in boxes)
            assert header.bounding_box()["height"] <= 80
        if size == "desktop":
            # The account menu: Enter opens it, Escape closes it and gives focus back.
            account = page.locator(".account-button")
            account.focus()
            page.keyboard.press("Enter")
            expect(page.locator(".account-panel .user-unit")).to_be_visible()
            page.keyboard.press("Escape")
            expect(page.locator(".account-panel .user-unit")).to_be_hidden()
            expect(account).to_be_focused()
        assert errors == []
        assert axe_violations(page) == []


@pytest.mark.parametrize("size", SIZES)
def test_the_skip_link_is_not_drawn_over_the_logo(live_server, browser, size):
    with signed_in(browser, live_server, "E1007", "ja", size) as (page, errors):
        page.keyboard.press("Tab")
        skip = page.locator(".skip-link")
        expect(skip).to_be_focused()
        a, b = skip.bounding_box(), page.locator(".brand").bounding_box()
        overlaps = a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
        overlaps = overlaps and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]
        assert not overlaps, (a, b)
        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()
        assert errors == []


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_filter_fields_keep_a_readable_width(live_server, browser, lang, size):
    with signed_in(browser, live_server, "E1008", lang, size) as (page, errors):
        page.goto(live_server + "/?q=" + "%E5%BA%97")  # a filter on: the form is open
        fields = page.locator(".filter-grid input, .filter-grid select")
        assert fields.count() == 7
        widths = [fields.nth(i).bounding_box()["width"] for i in range(fields.count())]
        if size == "desktop":
            assert min(widths) >= 120, widths
        else:
            assert min(widths) >= 120 and max(widths) <= PHONE["width"], widths
        assert _broken(page, ".filter-actions > *") == []
        assert page.locator(".filter-actions a").is_visible()  # 絞り込みを解除, on one line
        assert errors == []


def test_the_unit_picker_types_ahead_and_names_an_unknown_unit(live_server, browser):
    with signed_in(browser, live_server, "E1009", "ja", "desktop") as (page, _errors):
        page.locator(".filters summary").click()
        field = page.locator("input[name=unit]")
        field.press_sequentially("新宿")
        option = page.locator("#unit-options option[value='新宿店 (TKY-001)']")
        expect(option).to_have_count(1)  # filled by HTMX as one types
        field.fill("新宿店 (TKY-001)")
        field.press("Enter")
        expect(page).to_have_url(re.compile(r"unit="))
        expect(page.locator("input[name=unit]")).to_have_value("新宿店 (TKY-001)")
        units = page.locator(".post-card a[href^='/units/']")
        assert set(units.all_inner_texts()) == {"新宿店"}

        page.locator("input[name=unit]").fill("TKY-999")
        page.locator("input[name=unit]").press("Enter")
        message = page.get_by_test_id("unit-error")
        expect(message).to_contain_text("「TKY-999」")
        expect(page.locator("input[name=unit]")).to_have_value("TKY-999")
        expect(page.locator("input[name=unit]")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(".post-card")).to_have_count(0)


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_kpi_totals_show_and_the_unit_column_stays(live_server, browser, lang, size):
    with signed_in(browser, live_server, "curator", lang, size) as (page, errors):
        page.goto(live_server + "/kpi")
        expect(page.locator("table.kpi-engagement-table")).to_be_visible()  # loaded by HTMX
        for table in ("table.kpi-matrix", "table.kpi-engagement-table"):
            region = page.locator(f".table-scroll:has({table})")
            overflow = region.evaluate("r => r.scrollWidth - r.clientWidth")
            last = page.locator(f"{table} thead th:last-child").bounding_box()
            edge = region.bounding_box()
            unit = page.locator(f"{table} tbody tr:first-child th")
            assert unit.evaluate("th => getComputedStyle(th).position") == "sticky"
            if size == "desktop":
                assert overflow <= 1, (table, overflow)  # 合計・前年・前年比 in view
                assert last["x"] + last["width"] <= edge["x"] + edge["width"] + 1
                total = page.locator(
                    "table.kpi-matrix thead th", has_text="合計" if lang == "ja" else "Total"
                )
                expect(total).to_be_in_viewport()
            else:
                assert overflow > 0
                before = unit.bounding_box()["x"]
                region.evaluate("r => { r.scrollLeft = 200; }")
                assert abs(unit.bounding_box()["x"] - before) <= 1  # the months slid under it
                cell = page.locator(f"{table} tbody tr:first-child td").first
                assert cell.bounding_box()["x"] < before + unit.bounding_box()["width"]
        assert errors == []


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_bulletin_stats_keep_headings_whole_and_the_unit_column_stays(
    live_server, browser, lang, size
):
    """Read rates and rollout: no heading stacked letter by letter (在/籍/者/数), the unit
    column stays while a phone scrolls the numbers sideways."""
    with signed_in(browser, live_server, "curator", lang, size) as (page, errors):
        page.goto(live_server + "/bulletins/1/stats")
        assert _broken(page, ".stats-table thead th") == []
        assert _broken(page, ".stats-table tbody th small") == []  # unit codes whole
        unit = page.locator("#read-rates tbody tr:first-child th")
        assert unit.evaluate("th => getComputedStyle(th).position") == "sticky"
        region = page.locator(".table-scroll:has(#read-rates)")
        if size == "phone":
            before = unit.bounding_box()["x"]
            region.evaluate("r => { r.scrollLeft = 200; }")
            assert abs(unit.bounding_box()["x"] - before) <= 1
        else:
            assert region.evaluate("r => r.scrollWidth - r.clientWidth") <= 1
        assert errors == []


def test_attachments_have_no_bullet(live_server, browser, tmp_path: Path):
    photo = tmp_path / "counter.jpg"
    Image.new("RGB", (320, 240), (60, 140, 200)).save(photo, "JPEG")
    # Not E1014, whose password test_settings_flow changes.
    with signed_in(browser, live_server, "E1007", "ja", "phone") as (page, errors):
        page.get_by_test_id("open-praise").click()
        composer = page.locator("form#composer")
        composer.locator("#title").fill("レイアウト確認の写真")
        composer.locator("#body").fill("窓口の写真です。")
        composer.locator("#files").set_input_files([str(photo), str(photo)])
        composer.locator("button[name=status][value=published]").click()
        expect(page.locator(".post-card", has_text="レイアウト確認の写真")).to_be_visible()
        page.reload()
        card = page.locator(".post-card", has_text="レイアウト確認の写真").first
        expect(card.locator(".attachments img")).to_have_count(2)
        styles = card.locator(".attachments li").evaluate_all(
            "lis => lis.map(li => getComputedStyle(li).listStyleType)"
        )
        assert styles == ["none", "none"]
        card.locator(".post-title a").click()
        items = page.locator(".attachments li")
        expect(items).to_have_count(2)
        assert items.evaluate_all("lis => lis.map(li => getComputedStyle(li).listStyleType)") == [
            "none",
            "none",
        ]
        assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_publish_now_comes_first_and_largest(live_server, browser, size):
    with signed_in(browser, live_server, "curator", "ja", size) as (page, errors):
        page.goto(live_server + "/bulletins/new")
        hint = page.locator("#bulletin-other-units")
        assert hint.get_attribute("value") in (None, "")
        assert hint.get_attribute("placeholder").startswith("例：")
        page.locator("#bulletin-title").fill(f"レイアウト確認の号 {size}")
        page.locator("#bulletin-meta button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/edit$"))
        now = page.get_by_test_id("publish-now").bounding_box()
        later = page.locator(".schedule-form button[type=submit]").bounding_box()
        assert now["y"] < later["y"] and now["width"] > later["width"] * 2
        assert now["height"] >= later["height"]
        assert errors == []


def test_the_site_icon_is_there(live_server, page):
    icon = httpx.get(live_server + "/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    page.goto(live_server + "/login")
    href = page.locator("link[rel=icon][type='image/svg+xml']").get_attribute("href")
    svg = httpx.get(live_server + href)
    assert svg.status_code == 200 and svg.text.startswith("<svg")


def test_a_japanese_heading_wraps_between_phrases(live_server, browser):
    """On a phone the login heading wraps as 「ありがとうボードに / ログイン」, never inside
    ログイン (Chromium's auto-phrase line breaking for Japanese headings)."""
    context = browser.new_context(locale="ja-JP", viewport=PHONE)
    page = context.new_page()
    page.goto(live_server + "/login")
    lines_of_word = page.locator("h1").evaluate(
        """h1 => {
          const node = [...h1.childNodes].find(n => n.textContent.includes('ログイン'));
          const at = node.textContent.indexOf('ログイン');
          const range = document.createRange();
          range.setStart(node, at); range.setEnd(node, at + 4);
          return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        }"""
    )
    heading_lines = page.locator("h1").evaluate_all(LINES)[0][1]
    context.close()
    assert heading_lines == 2  # the phone does wrap it
    assert lines_of_word == 1


def test_a_long_switch_label_wraps_beside_its_switch(live_server, browser):
    """On a phone the push settings' longest label takes two lines; both start right of the
    switch instead of the second hanging under it."""
    with signed_in(browser, live_server, "E1001", "ja", "phone") as (page, errors):
        page.goto(live_server + "/settings")
        lefts = page.locator("#push-settings label:has(> input[role=switch])").evaluate_all(
            """labels => labels.map(label => {
              const box = label.querySelector('input').getBoundingClientRect();
              const range = document.createRange();
              range.selectNodeContents(label);
              const lines = [...range.getClientRects()].filter(r => r.left >= 0 && r.width > 0
                && r.left !== box.left);
              return [lines.length, Math.min(...lines.map(r => r.left)) - box.right];
            })"""
        )
        assert any(count > 1 for count, _gap in lefts)  # a label that wraps is there
        assert all(gap >= 0 for _count, gap in lefts), lefts
        assert errors == []
