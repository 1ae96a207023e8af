"""The performance benchmark of SPEC §8, as ratios measured alternately in one run.

Starts the product (`arigato serve --workers 1`) and the bare fortunes page (bench/fortunes.py)
on 127.0.0.1, logs a staff user in through the real /login form, then runs `wrk` against each
target in turn, round after round (fortunes, feed, deep feed, ..., fortunes, feed, ...), fires
concurrent likes with distinct users' API tokens, samples the worker's RSS, and prints a
Markdown table. Method and results: docs/benchmarks.md.

    .venv/bin/python bench/run.py --db-url postgresql://postgres@127.0.0.1/arigato_bench \\
        --compare-small-db postgresql://postgres@127.0.0.1/arigato_bench_small \\
        --tokens-file /tmp/bench/tokens.tsv --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import BENCH_PASSWORD, COMMON_TERMS, RARE_TERM  # noqa: E402
from app.services.cursor import encode_cursor  # noqa: E402

HOST = "127.0.0.1"
BENCH_SECRET = secrets.token_urlsafe(48)
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PAGE_SIZE = 20
DEEP_PAGE = 1000

# wrk prints its own summary; this adds p95 and the error counts in one parseable line.
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    "BENCH requests=%d duration_us=%d mean_us=%f p50_us=%d p95_us=%d p99_us=%d "
    .. "status=%d connect=%d read=%d write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency.mean, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


@dataclass
class WrkResult:
    rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass
class Target:
    key: str
    label: str
    server: str  # "app", "fortunes" or "small"
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: str = "ok"  # or why it is not measured
    note: str = ""
    results: list[WrkResult] = field(default_factory=list)


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--db-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/arigato_bench"),
        help="the bench database (seeded by `python bench/seed.py`)",
    )
    p.add_argument("--compare-small-db", metavar="URL", help="a database seeded with 10k posts")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn workers for the product and the fortunes page alike (default 1)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--port", type=int, default=8181, help="app; fortunes +1, small app +2")
    p.add_argument("--tokens-file", type=Path, help="CODE<TAB>TOKEN lines from bench/seed.py")
    p.add_argument("--likes", type=int, default=1000, help="concurrent likes (distinct users)")
    p.add_argument(
        "--likes-concurrency",
        type=int,
        default=1000,
        help="client connections for the likes (default: all at once)",
    )
    p.add_argument("--keep-likes", action="store_true", help="do not remove the benchmark likes")
    p.add_argument("--user", help="staff login (default: the first active staff user)")
    p.add_argument("--password", default=BENCH_PASSWORD)
    p.add_argument("--fy", type=int, help="fiscal year for the KPI (default: the last full one)")
    p.add_argument("--only", help="comma-separated target keys to measure (default: all)")
    p.add_argument("--write", type=Path, metavar="FILE", help="append the results to FILE")
    return p.parse_args()


# ---------------------------------------------------------------------------------------
# Database facts
# ---------------------------------------------------------------------------------------


def pg_conninfo(url: str) -> str:
    _scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep else url


def db_facts(url: str, user: str | None) -> dict[str, Any]:
    with psycopg.connect(pg_conninfo(url)) as conn:
        one = conn.execute
        facts: dict[str, Any] = {}
        for table in ("org_units", "users", "posts", "likes", "comments"):
            facts[table] = one(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
        facts["published"] = one(
            "SELECT count(*) FROM posts WHERE status = 'published'"
        ).fetchone()[0]  # type: ignore[index]
        row = one(
            "SELECT code FROM users WHERE role = 'staff' AND active AND password_hash IS NOT NULL "
            "AND (%s::text IS NULL OR code = %s) ORDER BY id LIMIT 1",
            (user, user),
        ).fetchone()
        facts["login"] = row[0] if row else None
        # The last post of page 999: its cursor opens page 1,000 (posts 19,981-20,000).
        row = one(
            "SELECT created_at, id FROM posts WHERE status = 'published' "
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            ((DEEP_PAGE - 1) * PAGE_SIZE - 1,),
        ).fetchone()
        facts["deep_cursor"] = encode_cursor(row[0], row[1]) if row else None
        row = one(
            "SELECT id FROM posts WHERE status = 'published' AND comment_count = 200 "
            "ORDER BY id LIMIT 1"
        ).fetchone()
        facts["post_200"] = row[0] if row else None
        row = one(
            "SELECT id FROM posts WHERE status = 'published' AND like_count = 0 "
            "ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
        facts["like_post"] = row[0] if row else None
        facts["pg_version"] = one("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return facts


def like_state(url: str, post_id: int) -> tuple[int, int]:
    with psycopg.connect(pg_conninfo(url)) as conn:
        row = conn.execute(
            "SELECT like_count, (SELECT count(*) FROM likes WHERE post_id = %s) "
            "FROM posts WHERE id = %s",
            (post_id, post_id),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def remove_likes(url: str, post_id: int, codes: list[str]) -> int:
    """Put the data set back as seeded: the benchmark likes go, the counter with them."""
    with psycopg.connect(pg_conninfo(url)) as conn:
        cur = conn.execute(
            "DELETE FROM likes WHERE post_id = %s AND user_id IN "
            "(SELECT id FROM users WHERE code = ANY(%s))",
            (post_id, codes),
        )
        removed = cur.rowcount
        conn.execute(
            "UPDATE posts SET like_count = (SELECT count(*) FROM likes WHERE post_id = %s) "
            "WHERE id = %s",
            (post_id, post_id),
        )
    return removed


# ---------------------------------------------------------------------------------------
# Servers, login, RSS
# ---------------------------------------------------------------------------------------


def start_server(name: str, argv: list[str], port: int, db_url: str, workdir: Path) -> Server:
    # The production settings (template caching, no dev relaxations), with a throwaway key.
    env = dict(
        os.environ,
        ARIGATO_ENV="production",
        SECRET_KEY=BENCH_SECRET,
        DATABASE_URL=db_url,
        PYTHONPATH=str(ROOT),
    )
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, port, proc, log)


def wait_ready(server: Server, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            if httpx.get(server.base + path, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise SystemExit(f"{server.name} did not start on port {server.port}:\n{tail}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is not None:
        return
    try:
        os.killpg(server.proc.pid, signal.SIGTERM)  # its own session: the worker goes too
        server.proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.proc.wait(timeout=5)


def login(server: Server, code: str, password: str) -> str:
    with httpx.Client(base_url=server.base, timeout=20) as client:
        form = client.get("/login")
        m = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if form.status_code != 200 or not m:
            raise SystemExit(f"{server.name}: no login form at /login ({form.status_code})")
        r = client.post(
            "/login",
            data={"code": code, "password": password, "csrf_token": m.group(1), "next": "/"},
        )
        session = client.cookies.get("arigato_session")
        if r.status_code != 303 or not session:
            raise SystemExit(f"{server.name}: login as {code} failed ({r.status_code})")
        return session


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return pids


def rss_mb(pid: int) -> float:
    """The largest RSS in the server's process tree: the uvicorn worker."""
    best = 0.0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        if m:
            best = max(best, int(m.group(1)) / 1024)
    return best


@contextmanager
def rss_sampler(pid: int, peaks: list[float]) -> Iterator[None]:
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peaks.append(rss_mb(pid))
            stop.wait(0.25)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# ---------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------


def wrk_argv(args: argparse.Namespace, url: str, headers: dict[str, str], seconds: int,
             lua: Path) -> list[str]:  # fmt: skip
    argv = [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    argv += ["--timeout", "10s", "-s", str(lua)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    return [*argv, url]


def run_wrk(argv: list[str], seconds: int) -> WrkResult:
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False
    ).stdout
    m = re.search(r"^BENCH (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    v = {k: float(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    errors = int(v["status"] + v["connect"] + v["read"] + v["write"] + v["timeout"])
    if not v["requests"]:  # nothing answered within the run: infinitely slow, not free
        inf = float("inf")
        return WrkResult(0.0, inf, inf, inf, inf, 0, errors)
    return WrkResult(
        rps=v["requests"] / (v["duration_us"] / 1e6),
        mean_ms=v["mean_us"] / 1000,
        p50_ms=v["p50_us"] / 1000,
        p95_ms=v["p95_us"] / 1000,
        p99_ms=v["p99_us"] / 1000,
        requests=int(v["requests"]),
        errors=errors,
    )


def redact(argv: list[str]) -> str:
    text = shlex.join(argv)
    text = re.sub(r"arigato_session=[\w-]+", "arigato_session=…", text)
    return re.sub(r"Bearer [\w-]+", "Bearer …", text)


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------


def probe(target: Target, servers: dict[str, Server], expect: str | None = None) -> None:
    """One request first: a missing route is reported, not measured."""
    try:
        r = httpx.get(servers[target.server].base + target.path, headers=target.headers, timeout=60)
    except httpx.HTTPError as exc:
        target.status = f"not available ({type(exc).__name__})"
        return
    if r.status_code in (404, 405):
        target.status = "not available"
    elif r.status_code in (301, 302, 303, 307):
        target.status = f"not available (redirect to {r.headers.get('location')})"
    elif r.status_code != 200:
        target.status = f"error {r.status_code}"
    elif expect and expect not in r.text:
        target.note = f"'{expect}' not in the page: is it implemented?"


def concurrent_likes(
    base: str, post_id: int, tokens: list[tuple[str, str]], concurrency: int
) -> tuple[Counter[str], float]:
    async def go() -> tuple[Counter[str], float]:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=90) as client:

            async def one(token: str) -> str:
                try:
                    r = await client.put(
                        f"/api/v1/posts/{post_id}/like",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    return str(r.status_code)
                except httpx.HTTPError as exc:
                    return type(exc).__name__

            started = time.perf_counter()
            statuses = await asyncio.gather(*(one(t) for _c, t in tokens))
            return Counter(statuses), time.perf_counter() - started

    return asyncio.run(asyncio.wait_for(go(), timeout=180))


def median(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]  # drop NaN (a run where nothing was answered)
    return statistics.median(xs) if xs else float("nan")


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    ram = f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "?"
    return f"{os.cpu_count()} CPUs ({cpu}), {ram} RAM, {platform.platform()}"


def fmt_ratio(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"  # NaN check


def main() -> int:
    args = parse_args()
    started_at = datetime.now(UTC)
    facts = db_facts(args.db_url, args.user)
    if not facts["login"]:
        raise SystemExit("no active staff user with a password: run `python bench/seed.py` first")
    small = db_facts(args.compare_small_db, args.user) if args.compare_small_db else None
    fy = args.fy or (started_at.year - (2 if started_at.month < 4 else 1))
    tokens = []
    if args.tokens_file and args.tokens_file.exists():
        tokens = [
            tuple(line.split("\t", 1))
            for line in args.tokens_file.read_text(encoding="utf-8").splitlines()
            if "\t" in line
        ]
    workdir = Path(tempfile.mkdtemp(prefix="arigato-bench-"))
    lua = workdir / "stats.lua"
    lua.write_text(WRK_LUA)
    arigato = str(Path(sys.executable).parent / "arigato")
    servers: dict[str, Server] = {}
    rss_peaks: list[float] = []
    rows: list[tuple[str, str, str, str]] = []
    commands: list[str] = []
    likes_line = ("1,000 concurrent likes: count exactly +N", "not run", "exact", "—")
    workers = str(args.workers)  # the same for the product and the fortunes page
    try:
        servers["app"] = start_server(
            "app",
            [arigato, "serve", "--host", HOST, "--port", str(args.port), "--workers", workers],
            args.port,
            args.db_url,
            workdir,
        )
        servers["fortunes"] = start_server(
            "fortunes",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.fortunes:app",
                "--host",
                HOST,
                "--port",
                str(args.port + 1),
                "--workers",
                workers,
                "--proxy-headers",
                "--no-access-log",
            ],
            args.port + 1,
            args.db_url,
            workdir,
        )
        if small:
            servers["small"] = start_server(
                "small",
                [
                    arigato,
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(args.port + 2),
                    "--workers",
                    workers,
                ],
                args.port + 2,
                args.compare_small_db,
                workdir,
            )
        wait_ready(servers["app"], "/healthz")
        wait_ready(servers["fortunes"], "/fortunes")
        if small:
            wait_ready(servers["small"], "/healthz")
        cookie = {
            "Cookie": f"arigato_session={login(servers['app'], facts['login'], args.password)}"
        }
        bearer = {"Authorization": f"Bearer {tokens[0][1]}"} if tokens else {}

        targets = [
            Target("fortunes", "fortunes page", "fortunes", "/fortunes"),
            Target("feed", "feed page 1 (HTML)", "app", "/", cookie),
        ]
        if facts["deep_cursor"]:
            targets.append(
                Target(
                    "deep",
                    f"feed page {DEEP_PAGE:,} by cursor",
                    "app",
                    f"/?cursor={facts['deep_cursor']}",
                    cookie,
                )
            )
        if small:
            small_session = login(servers["small"], small["login"], args.password)
            small_cookie = {"Cookie": f"arigato_session={small_session}"}
            targets.append(
                Target("small", "feed page 1 on the small DB", "small", "/", small_cookie)
            )
        for term in (*COMMON_TERMS, RARE_TERM):
            targets.append(
                Target(f"q:{term}", f"search 「{term}」", "app", f"/?q={quote(term)}", cookie)
            )
        if facts["post_200"]:
            targets.append(
                Target(
                    "post",
                    "post page with 200 comments",
                    "app",
                    f"/posts/{facts['post_200']}",
                    cookie,
                )
            )
        targets.append(
            Target(
                "kpi", f"KPI praise FY{fy}", "app", f"/api/v1/kpi/praise?fy={fy}", bearer or cookie
            )
        )
        if args.only:
            keep = set(args.only.split(",")) | {"fortunes", "feed"}
            targets = [t for t in targets if t.key in keep]

        for t in targets:
            probe(t, servers, expect=t.key[2:] if t.key.startswith("q:") else None)
            if t.key == "kpi" and t.status != "ok" and bearer:
                t.headers = cookie  # perhaps the API takes the session too
                probe(t, servers)
            print(f"probe {t.key:10} {t.status} {t.note}", flush=True)
        live = [t for t in targets if t.status == "ok"]

        for t in live:  # warm-up: caches, JIT-free Python paths, PostgreSQL buffers
            url = servers[t.server].base + t.path
            run_wrk(wrk_argv(args, url, t.headers, args.warmup, lua), args.warmup)
        with rss_sampler(servers["app"].proc.pid, rss_peaks):
            for r in range(1, args.rounds + 1):
                for t in live:
                    url = servers[t.server].base + t.path
                    argv = wrk_argv(args, url, t.headers, args.duration, lua)
                    if r == 1:
                        commands.append(redact(argv))
                    res = run_wrk(argv, args.duration)
                    t.results.append(res)
                    print(
                        f"round {r} {t.key:10} {res.rps:8.1f} req/s  mean {res.mean_ms:7.1f} ms"
                        f"  p95 {res.p95_ms:7.1f} ms  errors {res.errors}",
                        flush=True,
                    )

            # Concurrent likes by distinct users on one post.
            post_id = facts["like_post"]
            if len(tokens) < args.likes or not post_id:
                likes_line = (
                    f"{args.likes:,} concurrent likes",
                    "not run (tokens file or post missing)",
                    "exact",
                    "—",
                )
            else:
                use = tokens[: args.likes]
                before = like_state(args.db_url, post_id)
                statuses, took = concurrent_likes(
                    servers["app"].base, post_id, use, args.likes_concurrency
                )
                after = like_state(args.db_url, post_id)
                d_count, d_rows = after[0] - before[0], after[1] - before[1]
                ok = d_count == d_rows == args.likes and after[0] == after[1]
                codes = ", ".join(
                    f"{'HTTP ' if k.isdigit() else ''}{k} ×{v}" for k, v in sorted(statuses.items())
                )
                print(f"likes: {codes} in {took:.1f} s; counter +{d_count}, rows +{d_rows}")
                if set(statuses) <= {"404", "405"}:
                    value = "not available"
                else:
                    value = f"counter +{d_count}, rows +{d_rows} ({codes}; {took:.1f} s)"
                likes_line = (
                    f"{args.likes:,} concurrent likes on post {post_id} "
                    f"({args.likes_concurrency} connections)",
                    value,
                    f"+{args.likes} exactly",
                    "—" if value == "not available" else ("yes" if ok else "**NO**"),
                )
                if not args.keep_likes:
                    remove_likes(args.db_url, post_id, [c for c, _t in use])
        rss_after = rss_mb(servers["app"].proc.pid)

        # -- the table ------------------------------------------------------------------
        by = {t.key: t for t in targets}

        def paired(a: str, b: str, fn: str) -> float:
            ta, tb = by.get(a), by.get(b)
            if not ta or not tb or not ta.results or not tb.results:
                return float("nan")
            pairs = list(zip(ta.results, tb.results, strict=True))
            if fn == "rps":
                return median([x.rps / y.rps if y.rps else float("nan") for x, y in pairs])
            return median([x.mean_ms / y.mean_ms for x, y in pairs])

        def status(key: str) -> str | None:
            t = by.get(key)
            return "not available" if t is None else (None if t.status == "ok" else t.status)

        def ratio_row(label: str, value: float, target: str, ok: bool, why: str | None) -> None:
            if why:
                rows.append((label, why, target, "—"))
            else:
                rows.append((label, fmt_ratio(value), target, "yes" if ok else "**NO**"))

        feed_ratio = paired("feed", "fortunes", "rps")
        fr = by["fortunes"].results
        fd = by["feed"].results
        detail = (
            f" ({median([x.rps for x in fd]):.0f} vs {median([x.rps for x in fr]):.0f} req/s)"
            if fr and fd
            else ""
        )
        ratio_row(
            "feed page 1 throughput ÷ fortunes" + detail,
            feed_ratio,
            "≥ 0.5",
            feed_ratio >= 0.5,
            status("feed"),
        )
        deep = paired("deep", "feed", "latency")
        ratio_row(
            f"feed page {DEEP_PAGE:,} latency ÷ page 1", deep, "≤ 1.2", deep <= 1.2, status("deep")
        )
        if small:
            big_small = paired("feed", "small", "latency")
            ratio_row(
                f"feed page 1 latency: {facts['posts']:,} ÷ {small['posts']:,} posts",
                big_small,
                "≤ 1.5",
                big_small <= 1.5,
                status("small"),
            )
        else:
            rows.append(
                ("feed latency 1M ÷ 10k posts", "not run (--compare-small-db)", "≤ 1.5", "—")
            )
        for key in [*(f"q:{x}" for x in (*COMMON_TERMS, RARE_TERM)), "post", "kpi"]:
            found = by.get(key)
            if found is None or found.status != "ok":
                label, why = (found.label, found.status) if found else (key, "not available")
                rows.append((f"{label} p95", why, "≤ 100 ms", "—"))
                continue
            t = found
            label = t.label
            p95 = median([x.p95_ms for x in t.results])
            errs = sum(x.errors for x in t.results)
            extra = f" ({errs} errors)" if errs else ""
            extra += f" — {t.note}" if t.note else ""
            rows.append(
                (
                    f"{label} p95",
                    f"{p95:.1f} ms{extra}",
                    "≤ 100 ms",
                    "yes" if p95 <= 100 and not errs else "**NO**",
                )
            )
        rows.append(likes_line)
        peak = max(rss_peaks, default=0.0)
        rows.append(
            (
                "worker RSS under load (peak) / after",
                f"{peak:.0f} MB / {rss_after:.0f} MB",
                "≤ 200 MB",
                "yes" if peak <= 200 else "**NO**",
            )
        )
    finally:
        for server in servers.values():
            stop_server(server)
        print(f"server logs: {workdir}", flush=True)

    table = ["| metric | value | target | met? |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    raw = ["| target | round | req/s | mean ms | p50 ms | p95 ms | p99 ms | errors |",
           "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for t in targets:
        for i, x in enumerate(t.results, start=1):
            raw.append(
                f"| {t.label} | {i} | {x.rps:.1f} | {x.mean_ms:.1f} | {x.p50_ms:.1f} "
                f"| {x.p95_ms:.1f} | {x.p99_ms:.1f} | {x.errors} |"
            )
    print()
    print("\n".join(table))
    if args.write:
        write_report(args, facts, small, table, raw, commands, started_at)
        print(f"\nwritten to {args.write}")
    return 0


def write_report(
    args: argparse.Namespace,
    facts: dict[str, Any],
    small: dict[str, Any] | None,
    table: list[str],
    raw: list[str],
    commands: list[str],
    started_at: datetime,
) -> None:
    wrk_version = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [WRK, "-v"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()[:1]
    data = (
        f"{facts['org_units']:,} units, {facts['users']:,} users, {facts['posts']:,} posts "
        f"({facts['published']:,} published), {facts['likes']:,} likes, "
        f"{facts['comments']:,} comments"
    )
    lines = [
        "",
        f"## Run of {started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine()}",
        f"- PostgreSQL {facts['pg_version']}, Python {platform.python_version()}, "
        f"{wrk_version[0] if wrk_version else 'wrk'}",
        f"- Data: {data}",
    ]
    if small:
        lines.append(f"- Small data set: {small['posts']:,} posts, {small['likes']:,} likes")
    cmd = ["bench/run.py", *sys.argv[1:]]
    lines += [
        f"- {args.rounds} rounds × {args.duration} s per target, {args.warmup} s warm-up, "
        f"{args.workers} worker(s) for the product and the fortunes page alike",
        "",
        "Command:",
        "",
        f"    .venv/bin/python {shlex.join(cmd)}",
        "",
        "wrk command lines (round 1; the session cookie and token elided):",
        "",
        *[f"    {c}" for c in commands],
        "",
        *table,
        "",
        "<details><summary>Every wrk run</summary>",
        "",
        *raw,
        "",
        "</details>",
        "",
    ]
    with args.write.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
