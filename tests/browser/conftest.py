"""A real server (uvicorn in a subprocess, demo data loaded) and Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import IS_PG, _admin_pg, _pg_url, db_name

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_live_server(
    name: str, folder: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """`arigato demo` into a fresh database `name`, then `arigato serve`; yields its URL."""
    name = db_name(name)  # per run and xdist worker
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{folder}/live.db"
    env = {**os.environ, "DATABASE_URL": url, "ARIGATO_ENV": "test", **(extra_env or {})}
    arigato = [sys.executable, "-m", "app.cli"]
    subprocess.run([*arigato, "demo"], env=env, check=True, capture_output=True)
    port = port or _free_port()
    proc = subprocess.Popen(
        [*arigato, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the server did not start")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    with run_live_server("browser", tmp_path_factory.mktemp("live")) as base:
        yield base


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    # Function scope on purpose: sync Playwright runs an event loop in this thread while it
    # is open, which would stop the async tests that come after it.
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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
    # evaluate() goes through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
