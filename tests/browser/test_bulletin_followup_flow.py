"""The read follow-up in a real browser: a curator sets a confirmation deadline (a past day is
refused and kept), publishes; a shop sees the deadline; the curator finds who has not read it
and reminds them (once: the button is then off); the reminded see it in their notifications."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser
TITLE = "確認期限つきの号（ブラウザ）"


def test_deadline_lists_and_remind(live_server, browser):
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    deadline = today + timedelta(days=3)
    head_office = browser.new_context(locale="ja-JP")
    page = head_office.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    login(page, live_server, "curator")

    page.goto(live_server + "/bulletins/new")
    page.locator("#bulletin-title").fill(TITLE)
    page.get_by_label("確認期限（任意）").fill((today - timedelta(days=1)).isoformat())
    page.locator("#bulletin-meta button[type=submit]").click()
    expect(page.locator("#bulletin-confirm-by-error")).to_have_text(
        "今日以降の日付を選んでください。"
    )
    expect(page.locator("#bulletin-confirm-by")).to_be_focused()
    expect(page.locator("#bulletin-title")).to_have_value(TITLE)
    page.locator("#bulletin-confirm-by").fill(deadline.isoformat())
    page.locator("#bulletin-meta button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/bulletins/\d+/edit$"))
    bulletin_id = page.url.split("/")[-2]
    expect(page.locator("#bulletin-confirm-by")).to_have_value(deadline.isoformat())
    page.locator("#bulletin-search-q").fill("ありがとう")
    page.locator("#bulletin-search-q").press("Enter")
    page.locator("li.search-hit form button").first.click()
    expect(page.locator("#bulletin-items li").first).to_be_visible()
    page.get_by_test_id("publish-now").click()
    expect(page).to_have_url(f"{live_server}/bulletins/{bulletin_id}")

    shop = browser.new_context(locale="ja-JP")
    reader = shop.new_page()
    login(reader, live_server, "E1001")
    reader.goto(f"{live_server}/bulletins/{bulletin_id}")
    shown = f"確認期限：{deadline:%Y/%m/%d}"
    expect(reader.get_by_test_id("confirm-by")).to_have_text(shown)
    shop.close()

    page.goto(f"{live_server}/bulletins/{bulletin_id}/stats")
    unread = page.locator("#unread-people tr[data-user]")
    expect(page.locator("#unread-people tr[data-user=E1002]")).to_be_visible()
    expect(page.locator("#unread-people tr[data-user=E1001]")).to_have_count(0)  # read it
    people = unread.count()
    assert axe_violations(page) == []
    page.get_by_test_id("remind").click()
    expect(page.locator("#remind-panel .flash")).to_have_text(
        f"{people}人にリマインドを送りました。"
    )
    assert dialogs[-1] == f"まだ開いていない{people}人にリマインドを送りますか？"
    expect(page.get_by_test_id("remind")).to_be_disabled()
    page.reload()
    expect(page.get_by_test_id("remind")).to_be_disabled()  # once a day
    head_office.close()

    reminded = browser.new_context(locale="ja-JP")
    other = reminded.new_page()
    login(other, live_server, "E1002")
    other.goto(live_server + "/notifications")
    line = other.locator("[data-testid=notification]", has_text="リマインド").first
    expect(line).to_contain_text(TITLE)
    expect(line).to_contain_text(f"{deadline:%Y/%m/%d}までに確認してください")
    line.locator("a.notification-message").click()
    expect(other).to_have_url(f"{live_server}/bulletins/{bulletin_id}")
    reminded.close()
