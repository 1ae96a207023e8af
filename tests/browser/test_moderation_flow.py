"""A curator works the flags queue, hides a post in place and asks for it to be shown again
(it was reported for personal data: the two-person rule); an administrator approves; the
audit log shows each step."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_curator_hides_and_restores_in_place(live_server, page):
    page.goto(live_server + "/login")
    page.get_by_label("社員番号").fill("curator")
    page.get_by_label("パスワード").fill("arigato-demo")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_test_id("user-name")).to_be_visible()

    page.goto(live_server + "/moderation")
    group = page.locator("article.flag-group").first
    expect(group).to_be_visible()
    assert axe_violations(page) == []
    group.locator("h3 a").click()
    expect(page).to_have_url(re.compile(r"/posts/\d+"))

    panel = page.locator("#curator-actions")
    panel.locator("summary", has_text="非表示にする").click()
    reason = panel.get_by_label("理由（投稿者に表示されます）")
    reason.fill("   ")  # passes the browser's `required`, not the server
    panel.get_by_role("button", name="非表示にする").click()
    expect(page.locator("#hide-post-reason-error")).to_have_text("理由を入力してください。")
    expect(page.locator("#hide-post-reason")).to_have_value("   ")

    page.locator("#hide-post-reason").fill("お客さまのお名前が含まれるため")
    page.locator("#curator-actions").get_by_role("button", name="非表示にする").click()
    expect(page.locator(".post-card .badge-status.hidden")).to_be_visible()
    expect(page.locator(".post-card .hidden-reason")).to_contain_text("お客さまのお名前")
    assert axe_violations(page) == []

    # Reported for personal data: showing it again takes a second person.
    panel = page.locator("#curator-actions")
    expect(panel.get_by_role("button", name="再表示する")).to_have_count(0)
    panel.locator("summary", has_text="再表示を依頼").click()
    panel.get_by_label("理由（任意）").fill("お客さまの同意を確認しました")
    panel.get_by_role("button", name="再表示を依頼").click()
    expect(page.locator("#curator-actions .badge.pending")).to_have_text("承認待ち")
    expect(page.locator(".post-card .badge-status.hidden")).to_be_visible()
    assert axe_violations(page) == []
    post_url = page.url

    page.context.clear_cookies()
    page.goto(live_server + "/login")
    page.get_by_label("社員番号").fill("admin")
    page.get_by_label("パスワード").fill("arigato-demo")
    page.get_by_role("button", name="ログイン").click()
    page.goto(live_server + "/moderation")
    page.locator(".approvals-link a").click()
    item = page.locator(".approval[data-action='post.restore']")
    expect(item).to_contain_text("お客さまの同意を確認しました")
    assert axe_violations(page) == []
    item.get_by_role("button", name="承認").click()
    expect(page.locator("#approval-lists .notice")).to_have_text("承認し、実行しました。")
    page.goto(post_url)
    expect(page.locator(".post-card .badge-status.hidden")).to_have_count(0)
    expect(page.locator("#curator-actions summary", has_text="非表示にする")).to_be_visible()

    page.get_by_role("link", name="監査ログ").click()
    expect(page).to_have_url(live_server + "/audit")
    rows = page.locator("tr.audit-row")
    expect(rows.nth(0).locator(".action")).to_have_text("投稿を再表示")
    expect(rows.nth(1).locator(".action")).to_have_text("依頼を承認")
    expect(rows.nth(2).locator(".action")).to_have_text("2人目の承認を依頼")
    expect(rows.nth(3).locator(".reason")).to_contain_text("お客さまのお名前")
    assert axe_violations(page) == []
