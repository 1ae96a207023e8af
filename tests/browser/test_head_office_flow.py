"""Head office's week in a real browser: hide a flagged post, feature another, build a
bulletin of two posts and publish it; a shop sees the banner, opens it and answers 横展開;
the audit log shows each step."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.session import login

pytestmark = pytest.mark.browser
TITLE = "朝礼用 今週の好取組（ブラウザ）"


def test_curator_week_and_a_shop_reads_the_bulletin(live_server, browser):
    # 0. A shop reports a post (its own flag, so other tests keep the demo's).
    reporter_context = browser.new_context(locale="ja-JP")
    reporter = reporter_context.new_page()
    login(reporter, live_server, "E1005")
    reporter.goto(live_server + "/?kind=knowhow")
    reporter.locator(".post-card .post-title a").nth(1).click()
    hidden_title = reporter.locator(".post-card .post-title").first.inner_text()
    flag_box = reporter.locator("details.flag-box").last
    flag_box.locator("summary").click()
    flag_box.locator("select[name=reason]").select_option("wrong_info")
    flag_box.locator("textarea[name=note]").fill("内容が古いようです")
    flag_box.locator("button[type=submit]").click()
    expect(reporter.locator(".flag-result")).to_be_visible()
    reporter_context.close()

    head_office = browser.new_context(locale="ja-JP")
    page = head_office.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, live_server, "curator")

    # 1. Hide the flagged post from the moderation queue, in place.
    page.goto(live_server + "/moderation")
    group = page.locator("article.flag-group", has_text=hidden_title).first
    expect(group).to_be_visible()
    group_id = group.get_attribute("id")
    group.locator("details.mod-details summary").first.click()
    group.locator("textarea[name=reason]").fill("お客さまのお名前が含まれるため")
    group.locator("form.mod-form button[type=submit]").first.click()
    expect(page.locator(f"#{group_id} .badge-status.hidden")).to_be_visible()

    # 2. Feature another post from its page.
    page.goto(live_server + "/?kind=praise")
    card = page.locator(".post-card:not(.featured)").first
    featured_title = card.locator(".post-title").inner_text()
    card.locator(".post-title a").click()
    expect(page).to_have_url(re.compile(r"/posts/\d+$"))
    page.locator("form[action$='/feature']").locator("xpath=..").locator("summary").first.click()
    page.locator("form[action$='/feature'] textarea[name=note]").fill("全店で参考にしたい対応です")
    page.locator("form[action$='/feature'] button[type=submit]").click()
    expect(page.locator(".post-card .badge-featured")).to_be_visible()

    # 3. A bulletin of two posts, published.
    page.goto(live_server + "/bulletins/new")
    page.locator("#bulletin-title").fill(TITLE)
    page.locator("#bulletin-lead").fill("今週の朝礼で共有してください。")
    page.locator("#bulletin-meta button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/bulletins/\d+/edit$"))
    page.locator("#bulletin-search-q").fill("ありがとう")
    page.locator("#bulletin-search-q").press("Enter")
    hits = page.locator("li.search-hit form button")
    expect(hits.first).to_be_visible()
    addable = hits.count()
    hits.first.click()
    # Wait until that hit says "added" (its form is gone) before adding the next one.
    expect(page.locator("#bulletin-items form[action$='/remove']")).to_have_count(1)
    expect(page.locator("li.search-hit form button")).to_have_count(addable - 1)
    page.locator("li.search-hit form button").first.click()
    expect(page.locator("#bulletin-items form[action$='/remove']")).to_have_count(2)
    page.get_by_test_id("publish-now").click()
    expect(page.get_by_test_id("bulletin-volume")).to_be_visible()
    assert axe_violations(page) == []

    # 4. A shop: the banner, the bulletin (read receipt), a 横展開 answer.
    shop = browser.new_context(locale="ja-JP")
    staff = shop.new_page()
    login(staff, live_server, "E1001")
    banner = staff.get_by_test_id("bulletin-banner").filter(has_text=TITLE)
    expect(banner).to_be_visible()
    expect(staff.locator(".post-card", has_text=hidden_title)).to_have_count(0)
    banner.locator("a").click()
    expect(staff.locator("h1")).to_contain_text(TITLE)
    rollout = staff.get_by_test_id("rollout").first
    rollout.locator("button[value=adopted]").click()
    expect(
        staff.get_by_test_id("rollout").first.locator("button[value=adopted]")
    ).to_have_attribute("aria-pressed", "true")
    staff.goto(live_server + "/")
    expect(staff.get_by_test_id("bulletin-banner").filter(has_text=TITLE)).to_have_count(0)
    shop.close()

    # 5. The audit log shows each step.
    page.goto(live_server + "/audit")
    actions = {row.get_attribute("data-action") for row in page.locator("tr.audit-row").all()}
    assert {
        "post.hide",
        "post.feature",
        "bulletin.create",
        "bulletin.item_add",
        "bulletin.publish",
    } <= actions
    assert featured_title
    head_office.close()
