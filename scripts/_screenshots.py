"""Screenshots of the main pages for the README and docs; run it as ./scripts/screenshots.

A fresh demo company in a temporary SQLite file, served by the app with its clock
(app/clock.py) stopped at FIXED_NOW, so that dates, "this month" and the KPI come out the
same on every run; Playwright with Debian's Chromium photographs each page at a phone size
(390x844) and a desktop size (1280x800), the viewport only, and saves it as a palette PNG:
docs/screenshots/<page>-<phone|desktop>-<ja|en>.png. A full run also removes the PNGs of
pages no longer in SHOTS. `--only feed --only kpi` takes some pages only; `--out DIR`
writes elsewhere; `--list` prints the file names a full run makes.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# A Friday afternoon in Tokyo, in June: the demo's two months fall into one fiscal year.
FIXED_NOW = datetime(2025, 6, 20, 6, 0, tzinfo=UTC)
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
LOCALES = {"ja": "ja-JP", "en": "en-US"}
PASSWORD = "arigato-demo"  # app/demo.py's DEMO_PASSWORD
# Rasterised on one thread, without partial updates: a scrolled page (the composer) came
# out with a few pixels different one run in three without these.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--disable-gpu-rasterization",
    "--disable-zero-copy",
    "--num-raster-threads=1",
    "--disable-partial-raster",
]


@dataclass(frozen=True)
class Ids:
    """Rows the pages need, looked up in the fresh demo database."""

    post: int  # the published post with the most comments (then likes)
    bulletin: int  # the first published bulletin


@dataclass(frozen=True)
class Shot:
    name: str
    login: str | None  # demo login, None: logged out
    path: Callable[[Ids], str]
    languages: tuple[str, ...] = ("ja",)
    ready: str | None = None  # a selector to wait for before the picture
    prepare: Callable[[Any], None] | None = None  # acts on the Playwright page first


def _open_composer(page: Any) -> None:
    page.get_by_test_id("open-praise").click()
    composer = page.locator("form#composer")
    composer.wait_for()
    # Its top 16 px below the top of the window, on a whole pixel.
    composer.evaluate(
        "form => window.scrollTo(0,"
        " Math.floor(form.getBoundingClientRect().top + window.scrollY) - 16)"
    )


SHOTS = [
    Shot("login", None, lambda ids: "/login", ("ja", "en")),
    Shot("feed", "E1001", lambda ids: "/", ("ja", "en")),
    Shot("post", "E1001", lambda ids: f"/posts/{ids.post}", ("ja", "en")),
    Shot("composer", "E1001", lambda ids: "/", prepare=_open_composer),
    # Another reader: opening a bulletin takes its banner off the reader's feed.
    Shot("bulletin", "E1003", lambda ids: f"/bulletins/{ids.bulletin}"),
    Shot("moderation", "curator", lambda ids: "/moderation"),
    Shot("kpi", "curator", lambda ids: "/kpi", ready="#kpi-engagement > *"),
    Shot("admin", "admin", lambda ids: "/admin"),
]


def file_name(shot: Shot, size: str, language: str) -> str:
    return f"{shot.name}-{size}-{language}.png"


def all_files(shots: list[Shot]) -> list[str]:
    return [
        file_name(shot, size, language)
        for shot in shots
        for language in shot.languages
        for size in SIZES
    ]


def serve(port: int) -> None:
    """The child process: the demo at FIXED_NOW, then uvicorn until terminated."""
    sys.path.insert(0, str(ROOT))
    import uvicorn

    from app import clock
    from app.cli.main import run_db
    from app.demo import load_demo
    from app.migrate import upgrade_to_head

    clock.set_clock(lambda: FIXED_NOW)
    upgrade_to_head()
    run_db(load_demo)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server(folder: Path) -> Iterator[tuple[str, Ids]]:
    """Start `serve` in a child process on a database in `folder`; yield its URL and ids."""
    database = folder / "screenshots.db"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "UPLOAD_DIR": str(folder / "uploads"),
        "ARIGATO_ENV": "dev",  # the built-in development secret, like scripts/dev
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(  # noqa: S603 (this very script, by its path)
        [sys.executable, __file__, "serve", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = base + "/healthz"
                with urllib.request.urlopen(health, timeout=2) as answer:  # noqa: S310 (http://)
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("error: the demo server did not start:\n" + log_text(folder))
            time.sleep(0.2)
        with sqlite3.connect(database) as db:
            ids = Ids(
                post=db.execute(
                    "SELECT id FROM posts WHERE status = 'published'"
                    " ORDER BY comment_count DESC, like_count DESC, id LIMIT 1"
                ).fetchone()[0],
                bulletin=db.execute(
                    "SELECT id FROM bulletins WHERE status = 'published' ORDER BY id LIMIT 1"
                ).fetchone()[0],
            )
        yield base, ids
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def log_text(folder: Path) -> str:
    return (folder / "server.log").read_text(errors="replace")[-4000:]


def small_png(data: bytes) -> bytes:
    """The screenshot as a 256-colour palette PNG: a third of the size, text stays sharp,
    shadows stay smooth, and one k-means pass keeps small colourful things (the bell) true."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, kmeans=1)
    out = io.BytesIO()
    palette.save(out, "PNG", optimize=True)
    return out.getvalue()


def settle(page: Any, ready: str | None) -> None:
    """Wait until the page and its HTMX requests are done and the fonts are drawn."""
    if ready:
        page.locator(ready).first.wait_for()
    page.wait_for_function(
        "() => document.readyState === 'complete' && !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    page.evaluate(
        "() => document.fonts.ready.then(() => new Promise("
        "r => requestAnimationFrame(() => requestAnimationFrame(r))))"
    )


def log_in(browser: Any, base: str, code: str, language: str) -> dict[str, Any]:
    """The real login form and language switch once per user and language; the cookies
    for every context (the user's own language setting outranks the browser's)."""
    context = browser.new_context(locale=LOCALES[language])
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=code]", code)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    try:
        page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    except Exception:  # Playwright's TimeoutError
        sys.exit(f"error: could not log in as {code}")
    with page.expect_navigation():
        page.click(f"form[action='/locale'] button[value={language}]")
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


def picture(
    browser: Any, url: str, shot: Shot, size: str, language: str, state: dict[str, Any] | None
) -> bytes:
    """The viewport of `url` in a fresh context of that size, language and login."""
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        locale=LOCALES[language],
        timezone_id="Asia/Tokyo",
        reduced_motion="reduce",
        storage_state=state,
    )
    page = context.new_page()
    page.goto(url)
    settle(page, shot.ready)
    if shot.prepare:
        shot.prepare(page)
        settle(page, shot.ready)
    data: bytes = page.screenshot(animations="disabled", caret="hide")
    context.close()
    return data


def take(shots: list[Shot], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(
            f"error: Chromium not found at {CHROMIUM}: apt-get install chromium fonts-noto-cjk"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with (
        tempfile.TemporaryDirectory(prefix="arigato-screenshots-") as tmp,
        demo_server(Path(tmp)) as (base, ids),
        sync_playwright() as playwright,
    ):
        states: dict[tuple[str, str], dict[str, Any]] = {}
        for language in LOCALES:  # all of one language first: a switch is stored per user
            # One browser per language: on Linux its LANGUAGE (not --lang) says how
            # Chromium draws dates in inputs (2025/06/20 in Japanese).
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                env={**os.environ, "LANGUAGE": language},
            )
            for shot in (shot for shot in shots if language in shot.languages):
                if shot.login and (shot.login, language) not in states:
                    states[shot.login, language] = log_in(browser, base, shot.login, language)
                state = states[shot.login, language] if shot.login else None
                for size in SIZES:
                    path = out / file_name(shot, size, language)
                    path.write_bytes(
                        small_png(
                            picture(browser, base + shot.path(ids), shot, size, language, state)
                        )
                    )
                    written.append(path)
                    print(f"  {path.relative_to(out.parent)}  {path.stat().st_size // 1024} KB")
            browser.close()
    return written


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__.split("\n")[0])
    names = [shot.name for shot in SHOTS]
    parser.add_argument("--only", action="append", choices=names, help="this page only")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument("--list", action="store_true", help="print the file names and stop")
    args = parser.parse_args(argv)
    shots = [shot for shot in SHOTS if not args.only or shot.name in args.only]
    if args.list:
        print("\n".join(all_files(shots)))
        return
    print(f"==> screenshots of {len(shots)} page(s) into {args.out}")
    started = time.monotonic()
    written = take(shots, args.out)
    if not args.only:  # pages taken out of SHOTS leave no stale pictures behind
        for stale in set(args.out.glob("*.png")) - set(written):
            stale.unlink()
    total = sum(path.stat().st_size for path in written)
    print(
        f"==> {len(written)} screenshots, {total / 1024:.0f} KB in all "
        f"({time.monotonic() - started:.0f} s)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    else:
        main(sys.argv[1:])
