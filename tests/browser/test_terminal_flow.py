"""The shop's shared terminal in Chromium: a user sets a PIN, an admin registers the shop's
PC, staff sign in with the PIN by picking their name, the idle countdown shows and signs the
terminal out (an unsent post kept as a draft), input keeps it signed in, another shop's
staff are refused; at phone (390×844) and desktop (1280×800) sizes, Japanese and English."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations, run_live_server

pytestmark = pytest.mark.browser

IDLE = 4  # TERMINAL_IDLE_SECONDS of this server: short, so the test sees it happen
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = Path(os.environ.get("TERMINAL_SHOTS", "")) if os.environ.get("TERMINAL_SHOTS") else None


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("terminal")
    with run_live_server(
        "terminal", folder, extra_env={"TERMINAL_IDLE_SECONDS": str(IDLE)}
    ) as base:
        yield base


def shot(page: Page, name: str) -> None:
    """Screenshots for a person to look at (TERMINAL_SHOTS=folder); nothing otherwise."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def password_login(page: Page, base: str, code: str) -> None:
    page.goto(base + "/login")
    page.locator("input[name=code]").first.fill(code)
    page.locator("input[name=password]").fill("arigato-demo")
    page.locator("input[name=password]").press("Enter")
    expect(page).to_have_url(base + "/")


def no_overflow(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def set_pin(browser, base: str, code: str, pin: str) -> None:
    """Set (or, for a demo staff member, who has the demo PIN, change) `code`'s PIN."""
    context = browser.new_context(locale="ja-JP", viewport=PHONE)
    page = context.new_page()
    password_login(page, base, code)
    page.goto(base + "/settings")
    section = page.locator("#pin-settings")
    section.get_by_label("新しいPIN", exact=True).fill("1234")
    section.get_by_label("新しいPIN（確認）").fill("1234")
    section.get_by_role("button", name=re.compile("^PINを(設定|変更)$")).click()
    expect(section.locator("#pin-error")).to_contain_text("推測されやすい")
    shot(page, f"settings-pin-{code}")
    section = page.locator("#pin-settings")
    section.get_by_label("新しいPIN", exact=True).fill(pin)
    section.get_by_label("新しいPIN（確認）").fill(pin)
    section.get_by_role("button", name=re.compile("^PINを(設定|変更)$")).click()
    expect(page.get_by_test_id("pin-state")).to_have_text("PINは設定済みです。")
    context.close()


@pytest.fixture(scope="module")
def shop_pc(server, playwright, tmp_path_factory) -> Iterator[Path]:
    """The storage state of a browser an admin registered as 新宿店's terminal."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    state = tmp_path_factory.mktemp("pc") / "state.json"
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    set_pin(browser, server, "E1001", "2580")
    context = browser.new_context(locale="ja-JP", viewport=DESKTOP)
    page = context.new_page()
    password_login(page, server, "admin")
    page.goto(server + "/admin/devices")
    page.get_by_label("端末名").fill("新宿店 店頭PC")
    page.get_by_label("店舗", exact=True).select_option("TKY-001")
    page.get_by_role("button", name="この端末を登録").click()
    expect(page.get_by_test_id("this-device")).to_contain_text("新宿店")
    expect(page.locator("#devices")).to_contain_text("新宿店 店頭PC")
    shot(page, "admin-devices-desktop-ja")
    # The admin's own session here is a terminal one now: it ends when left idle.
    expect(page).to_have_url(re.compile(r"/login\?signed_out=idle"), timeout=(IDLE + 6) * 1000)
    context.storage_state(path=str(state))
    context.close()
    browser.close()
    yield state


def terminal(browser, state: Path, viewport: dict[str, int], errors: list[str]) -> Page:
    context = browser.new_context(locale="ja-JP", viewport=viewport, storage_state=str(state))
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def pin_sign_in(page: Page, base: str, name: str, pin: str) -> None:
    page.goto(base + "/login")
    page.locator(".staff-choice", has_text=name).click()
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="サインイン", exact=True).click()


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_terminal_login_idle_countdown_and_draft(server, shop_pc, browser, size, viewport):
    errors: list[str] = []
    page = terminal(browser, shop_pc, viewport, errors)
    page.goto(server + "/login")
    expect(page.get_by_test_id("terminal-shop")).to_have_text("新宿店")
    expect(page.locator(".staff-choice", has_text="山田 太郎")).to_be_visible()
    expect(page.locator(".staff-choice", has_text="佐藤 美咲")).to_be_visible()
    expect(page.locator(".staff-choice", has_text="鈴木 一郎")).to_have_count(0)  # 渋谷店
    assert page.locator("body").get_attribute("data-terminal") is not None
    no_overflow(page)
    assert axe_violations(page) == []
    shot(page, f"terminal-login-{size}-ja")

    pin_sign_in(page, server, "山田 太郎", "9999")
    expect(page.get_by_role("alert")).to_contain_text("PINが正しくありません")
    errors.clear()  # the refused sign-in's own 400
    pin_sign_in(page, server, "山田 太郎", "2580")
    expect(page).to_have_url(server + "/")
    expect(page.get_by_test_id("terminal-bar")).to_contain_text("山田 太郎")
    no_overflow(page)

    # Input keeps the terminal signed in well past the idle time...
    page.goto(server + "/posts/new")
    title = page.locator("#title")
    for n in range(IDLE * 2):
        title.press_sequentially(str(n % 10))
        time.sleep(0.7)
    expect(page).to_have_url(server + "/posts/new")
    # ...and without it the countdown shows, then signs out, keeping the text as a draft.
    page.locator("#body").fill("窓口での丁寧なご説明に感謝します。")
    countdown = page.locator("#idle-countdown")
    expect(countdown).to_be_visible(timeout=3000)
    expect(countdown).to_contain_text("サインアウト")
    shot(page, f"terminal-countdown-{size}-ja")
    expect(page).to_have_url(re.compile(r"/login\?signed_out=draft"), timeout=(IDLE + 4) * 1000)
    expect(page.get_by_test_id("signed-out-notice")).to_contain_text("下書きに保存")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    pin_sign_in(page, server, "山田 太郎", "2580")
    page.goto(server + "/drafts")
    expect(page.locator("main")).to_contain_text("窓口での丁寧なご説明に感謝します。")
    assert errors == []
    page.context.close()


def test_the_server_signs_out_without_the_script(server, shop_pc, browser):
    """Without JavaScript nothing counts down; the server's own expiry still ends it."""
    context = browser.new_context(
        locale="ja-JP", viewport=PHONE, storage_state=str(shop_pc), java_script_enabled=False
    )
    page = context.new_page()
    pin_sign_in(page, server, "山田 太郎", "2580")
    expect(page).to_have_url(server + "/")
    time.sleep(IDLE + 3.5)  # the idle time and the server's grace
    page.goto(server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_test_id("terminal-shop")).to_have_text("新宿店")
    context.close()


def test_other_shops_staff_are_refused_and_english_login(server, shop_pc, browser):
    errors: list[str] = []
    page = terminal(browser, shop_pc, PHONE, errors)
    page.goto(server + "/login")
    page.locator("details.password-signin summary").click()
    page.locator("#pw-code").fill("E1003")  # 鈴木 一郎, 渋谷店
    page.locator("#pw-password").fill("arigato-demo")
    page.get_by_role("button", name="パスワードでサインイン").click()
    expect(page.get_by_role("alert")).to_contain_text("新宿店用です")
    errors.clear()  # the refusal's own 403
    # English, at both sizes (the language switch is on the page for everyone).
    page.evaluate("document.querySelector('.locale-switch button[value=en]').click()")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    no_overflow(page)
    shot(page, "terminal-login-phone-en")
    page.set_viewport_size(DESKTOP)
    no_overflow(page)
    shot(page, "terminal-login-desktop-en")
    page.evaluate("document.querySelector('.locale-switch button[value=ja]').click()")
    assert errors == []
    page.context.close()


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_morning_meeting_on_the_terminal(server, shop_pc, browser, size, viewport):
    errors: list[str] = []
    page = terminal(browser, shop_pc, viewport, errors)
    pin_sign_in(page, server, "山田 太郎", "2580")
    expect(page).to_have_url(server + "/")
    page.goto(server + "/bulletins")
    page.locator("main a[href^='/bulletins/']").first.click()
    page.get_by_test_id("meeting-link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("朝礼")
    page.get_by_label("佐藤 美咲").check()
    page.locator("select[name^=answer-]").first.select_option("trialling")
    page.get_by_role("button", name="朝礼の記録を保存").click()
    expect(page.get_by_test_id("meeting-done")).to_be_visible()
    expect(page.locator("[data-read=meeting]")).to_have_count(1)
    no_overflow(page)
    assert axe_violations(page) == []
    shot(page, f"meeting-{size}-ja")
    assert errors == []
    page.context.close()
