"""Live updates under load: one worker holds N open SSE streams (`/events?feed=1`) and
delivers a new-post event to all of them; measured from the POST to the last stream.

Starts `arigato serve --workers 1` on 127.0.0.1 against a fresh demo database (SQLite by
default, or `--db-url` for PostgreSQL, where events go through LISTEN/NOTIFY), logs the demo
staff in through the real /login form, opens the streams as raw asyncio sockets (the
cheapest client, so the client side does not limit the figure), waits until every stream
has its first `bell` event (it is registered), then posts through the JSON API, round after
round, and reports p50/p95/max of "POST sent → the last stream received `new-posts`" and
the worker's RSS. Results: docs/benchmarks.md, "Live updates (SSE)".

    .venv/bin/python bench/sse_load.py --connections 1000 --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ARIGATO = [sys.executable, "-m", "app.cli"]
LISTENERS = ["E1001", "E1002", "E1003", "E1004", "E1005", "E1006", "E1007", "E1008"]
POSTER = "E1009"
PASSWORD = "arigato-demo"
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def login(base: str, code: str) -> tuple[str, str]:
    """(session cookie header, CSRF token) for a demo user."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/login")
        token = CSRF_RE.search(page.text)
        assert token, "no CSRF token on /login"
        r = await client.post(
            "/login", data={"code": code, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert r.status_code == 303, r.text
        feed = await client.get("/")
        csrf = CSRF_RE.search(feed.text)
        assert csrf
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        return cookie, csrf.group(1)


class Stream:
    """One SSE client on a raw socket: it only looks for event names in the bytes."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.got_post = asyncio.Event()
        self.received_at = 0.0
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, host: str, port: int, cookie: str) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(
            (
                "GET /events?feed=1 HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nCookie: {cookie}\r\n"
                "Accept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer = (buffer + chunk)[-4096:]
            if not self.ready.is_set() and b"event: bell" in buffer:
                self.ready.set()
            if b"event: new-posts" in buffer:
                self.received_at = time.perf_counter()
                self.got_post.set()
                buffer = b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def bench(args: argparse.Namespace, base: str, port: int, pid: int) -> dict[str, object]:
    sessions = [await login(base, code) for code in LISTENERS]
    poster_cookie, poster_csrf = await login(base, POSTER)
    streams = [Stream() for _ in range(args.connections)]
    tasks = []
    opened = time.perf_counter()
    for n, stream in enumerate(streams):
        tasks.append(asyncio.create_task(stream.run("127.0.0.1", port, sessions[n % 8][0])))
        if n % 100 == 99:  # do not overrun the listen backlog
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in streams)), 120)
    open_seconds = time.perf_counter() - opened
    rss_idle = rss_mb(pid)
    rounds = []
    async with httpx.AsyncClient(
        base_url=base,
        timeout=30,
        headers={"Cookie": poster_cookie, "X-CSRF-Token": poster_csrf},
    ) as poster:
        for n in range(args.rounds):
            for s in streams:
                s.got_post.clear()
            sent = time.perf_counter()
            r = await poster.post(
                "/api/v1/posts",
                json={
                    "kind": "praise",
                    "title": f"負荷試験の投稿 {n + 1}",
                    "body": "ご来店のお客さまから丁寧な説明に感謝されました。",
                    "channel": "counter",
                },
            )
            answered = time.perf_counter() - sent
            assert r.status_code == 201, r.text
            await asyncio.wait_for(asyncio.gather(*(s.got_post.wait() for s in streams)), 30)
            delays = sorted(s.received_at - sent for s in streams)
            rounds.append(
                {
                    "post_ms": answered * 1000,
                    "p50_ms": statistics.median(delays) * 1000,
                    "p95_ms": delays[int(len(delays) * 0.95) - 1] * 1000,
                    "max_ms": delays[-1] * 1000,
                    "rss_mb": rss_mb(pid),
                }
            )
            print(
                "round {}: POST answered {:.0f} ms; all {} streams: p50 {:.0f} ms, p95 {:.0f} ms,"
                " max {:.0f} ms; worker RSS {:.0f} MB".format(
                    n + 1,
                    rounds[-1]["post_ms"],
                    len(streams),
                    rounds[-1]["p50_ms"],
                    rounds[-1]["p95_ms"],
                    rounds[-1]["max_ms"],
                    rounds[-1]["rss_mb"],
                ),
                flush=True,
            )
            await asyncio.sleep(args.pause)
    for s in streams:
        s.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"open_seconds": open_seconds, "rss_idle": rss_idle, "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between rounds")
    parser.add_argument("--db-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    limit = raise_fd_limit(args.connections * 2 + 256)  # client and server ends, + slack
    tmp = tempfile.mkdtemp(prefix="arigato-sse-")
    url = args.db_url or f"sqlite:///{tmp}/sse.db"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ARIGATO_ENV": "test",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "sse-benchmark-secret-" + "x" * 32),
        "UPLOAD_DIR": f"{tmp}/uploads",
        "LOG_LEVEL": "WARNING",
        # The demo's 9 users log in once each; no throttling concern, but keep the limit high.
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
    }
    subprocess.run([*ARIGATO, "demo"], env=env, check=True, capture_output=True, cwd=ROOT)  # noqa: S603
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [*ARIGATO, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        scheme = url.split("://")[0]
        print(f"open-file limit {limit}; database {scheme}; {args.connections} streams")
        result = asyncio.run(bench(args, base, port, server.pid))
    finally:
        server.kill()
        server.wait(10)
    rounds = result["rounds"]
    assert isinstance(rounds, list)

    def agg(key: str) -> str:
        values = [r[key] for r in rounds]
        return f"{statistics.median(values):.0f} (worst {max(values):.0f})"

    print()
    print(f"streams opened and registered in {result['open_seconds']:.1f} s")
    print(f"worker RSS with {args.connections} streams idle: {result['rss_idle']:.0f} MB")
    print("over rounds, median (worst):")
    print(f"  POST answered: {agg('post_ms')} ms")
    print(f"  delivery p50: {agg('p50_ms')} ms, p95: {agg('p95_ms')} ms, max: {agg('max_ms')} ms")
    print(f"  worker RSS: {agg('rss_mb')} MB")


if __name__ == "__main__":
    main()
