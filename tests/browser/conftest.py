"""A real server (uvicorn in a subprocess, demo data loaded) and Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.livetools import app_server, demo_database

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Path(__file__).resolve().parent.parent / "assets" / "axe.min.js"


@contextmanager
def run_live_server(
    name: str, folder: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """A copy of the demo company in a database `name`, served by `arigato serve` with
    `extra_env`; yields its URL."""
    with (
        demo_database(name, str(folder)) as url,
        app_server(url, extra_env=extra_env, port=port) as base,
    ):
        yield base


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    with run_live_server("browser", tmp_path_factory.mktemp("live")) as base:
        yield base


@pytest.fixture(scope="module")
def playwright():  # type: ignore[no-untyped-def]
    # One Playwright per module, never longer: sync Playwright runs an event loop in this
    # thread while it is open, which would stop the async tests of the modules that come
    # after it. A module runs whole on one xdist worker (conftest: --dist loadgroup) and no
    # browser module has async tests. Fixtures that need a browser of their own (a profile
    # on disk) launch it from this one: a second sync_playwright() in the thread fails.
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):  # type: ignore[no-untyped-def]
    # One Chromium per module (a launch costs 1-4 s here, and there are about 90 browser
    # tests per database); each test opens its own context, so no state is shared.
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="ja-JP")
    pg = context.new_page()
    yield pg
    context.close()


def axe_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """Run axe-core on the page; return serious and critical violations."""
    # Colours half-way through a CSS transition (a button just swapped in, still focused)
    # fail the contrast check on a slow machine: let finite transitions end first (2 s at
    # most; an endless animation, a spinner, does not hold it up).
    try:
        page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running'"
            " || a.effect?.getTiming().iterations === Infinity)",
            timeout=2000,
        )
    except PlaywrightTimeout:
        pass  # still moving after 2 s: check what is there
    # evaluate() goes through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
