"""An administrator imports users from a CSV file in a real browser: the dry run lists the bad
rows, the fixed file checks clean and imports, and the page passes axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser
HEADER = "code,name,email,unit,role\n"


def test_admin_checks_a_bad_file_fixes_it_and_imports(live_server, page, tmp_path):
    bad = tmp_path / "users-bad.csv"
    bad.write_text(
        "\ufeff" + HEADER + "B7001,取込 一郎,,TKY-001,staff\r\n"
        "B7002,取込 二郎,,NOWHERE,staff\r\n"  # line 3: unknown unit
        "E1001,取込 三郎,,TKY-001,staff\r\n",  # line 4: the demo already has E1001
        encoding="utf-8",
    )
    fixed = tmp_path / "users-fixed.csv"
    fixed.write_text(
        HEADER
        + "B7001,取込 一郎,,TKY-001,staff\nB7002,取込 二郎,b7002@example.jp,TKY-002,curator\n",
        encoding="utf-8",
    )
    login(page, live_server, "admin")
    page.goto(live_server + "/admin/import")
    assert axe_violations(page) == []

    section = page.locator("#import-users")
    # The file input is found by its label, as a screen reader user finds it.
    section.get_by_label("CSVファイル").set_input_files(bad)
    section.locator("form.import-form button[type=submit]").click()
    errors = page.locator("#import-users-report table.import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(page).to_have_url(live_server + "/admin/import")  # swapped in place by HTMX
    expect(errors.nth(0).locator("th")).to_have_text("3")
    expect(errors.nth(0)).to_contain_text("NOWHERE")
    expect(errors.nth(1).locator("th")).to_have_text("4")
    expect(errors.nth(1)).to_contain_text("E1001")
    expect(page.locator("#import-users-report form.import-run")).to_have_count(0)
    assert axe_violations(page) == []

    section.locator("#import-users-file").set_input_files(fixed)
    section.locator("form.import-form button[type=submit]").click()
    preview = page.locator("#import-users-report table.import-preview tbody tr")
    expect(preview).to_have_count(2)
    expect(page.locator("#import-users-report table.import-errors")).to_have_count(0)
    assert axe_violations(page) == []

    page.get_by_test_id("import-users-run").click()
    result = page.locator("#import-users-result")
    expect(result).to_contain_text("2")
    created = page.locator("#import-users-report .import-created a")
    expect(created).to_have_count(2)
    created.first.click()
    expect(page).to_have_url(live_server + "/users/B7001")
    expect(page.locator("h1")).to_contain_text("取込 一郎")
