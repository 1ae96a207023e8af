"""Schemathesis over /api/openapi.json against a real server: no 500, no undocumented status,
no answer outside its documented schema, for a staff, a curator and an admin token.

The server is uvicorn on a free port with a database of its own (the suite's database is
rolled back per test; the fuzzer's writes are real), loaded with the demo company so that
lookups find something. Every phase runs (the schema's examples, coverage of its boundaries,
fuzzing, stateful sequences over the links schemathesis infers; see RUNS), deterministically
and with a bounded number of cases per operation: ARIGATO_FUZZ_EXAMPLES (default 5) trades time for
depth, e.g. ARIGATO_FUZZ_EXAMPLES=100 for a long local run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import make_async_engine
from app.demo import load_demo
from app.models import OrgUnit
from app.services.people.tokens import issue_token
from tests.conftest import IS_PG, RUN_DB, _admin_pg, _pg_url
from tests.factories import make_user
from tests.livetools import free_port

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("staff", "curator", "admin")
# Each run: (the token's role, the phases). The coverage phase (every boundary and wrong type
# of every input, about two thirds of the time) runs once, with the admin token that reaches
# every operation; the other phases run for each role. Each run is a group of its own under
# xdist (scripts/test), so that the runs spread over the workers (each starts its own server).
RUNS = {
    "staff": ("staff", "examples,fuzzing,stateful"),
    "curator": ("curator", "examples,fuzzing,stateful"),
    "admin": ("admin", "examples,fuzzing,stateful"),
    "admin-coverage": ("admin", "coverage"),
}
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MAX_EXAMPLES = int(os.environ.get("ARIGATO_FUZZ_EXAMPLES", "5"))
RUN_TIMEOUT = 300 + 10 * MAX_EXAMPLES  # seconds; a run takes about 40 s at 5


@dataclass
class FuzzServer:
    url: str
    tokens: dict[str, str]
    log: Path
    env: dict[str, str]


async def _seed(url: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The demo company, and per role an account with a write token plus a decoy account
    (tests/fuzz_hooks.py): (token per role, decoys by path parameter)."""
    engine = make_async_engine(get_settings().model_copy(update={"database_url": url}))
    tokens: dict[str, str] = {}
    decoys: dict[str, dict[str, Any]] = {"code": {}, "token_id": {}}
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            await load_demo(db)
            shop = (await db.exec(select(OrgUnit).where(OrgUnit.kind == "shop"))).first()
            for role in ROLES:
                user = await make_user(db, shop, role=role)
                decoy = await make_user(db, shop, role=role)
                row, tokens[role] = await issue_token(db, user, name="fuzz", scope="write", days=1)
                spare, _ = await issue_token(db, decoy, name="decoy", scope="write", days=1)
                decoys["code"][user.code] = decoy.code
                decoys["token_id"][str(row.id)] = spare.id
    finally:
        await engine.dispose()
    return tokens, decoys


@pytest.fixture(scope="module")
async def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FuzzServer]:
    tmp = tmp_path_factory.mktemp("fuzz")
    dbname = f"{RUN_DB}_fuzz"
    url = _pg_url(dbname) if IS_PG else f"sqlite:///{tmp}/fuzz.db"
    if IS_PG:
        _admin_pg(f'CREATE DATABASE "{dbname}"')
    env = {**os.environ, "DATABASE_URL": url, "UPLOAD_DIR": str(tmp / "uploads")}
    migrate = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "app.cli", "db", "upgrade"), env=env, cwd=ROOT
    )
    assert await migrate.wait() == 0
    tokens, decoys = await _seed(url)
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        server = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
            env={**env, "LOG_LEVEL": "ERROR"},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get(f"{base}/api/openapi.json")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.returncode is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                await asyncio.sleep(0.3)
        hooks_env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks",
            "ARIGATO_FUZZ_DECOYS": json.dumps(decoys),
            "PYTHONPATH": str(ROOT),
        }
        yield FuzzServer(base, tokens, log, hooks_env)
    finally:
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@dataclass(frozen=True)
class Finding:
    operation: str
    title: str
    message: str
    request: str
    answer: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.title}\n    {self.request}\n    -> {self.answer}"


def _snippet(content: dict[str, Any] | None, limit: int = 300) -> str:
    if not content:
        return ""
    if "$base64" in content:
        import base64

        raw = base64.b64decode(content["$base64"])
    else:
        raw = str(content.get("string", content)).encode()
    text = raw.decode("utf-8", "backslashreplace")
    return text if len(text) <= limit else text[:limit] + "…"


def findings_of(ndjson: Path) -> list[Finding]:
    """Every distinct failed check and engine error of a run, from its NDJSON report."""
    found: dict[tuple[str, str, str], Finding] = {}
    finished = False
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        finished = finished or "EngineFinished" in event
        for kind in ("NonFatalError", "FatalError"):
            if kind in event:
                info = event[kind]
                key = (str(info.get("label", "")), kind, str(info.get("info", ""))[:200])
                found.setdefault(key, Finding(key[0], kind, json.dumps(info)[:1000], "", ""))
        scenario = event.get("ScenarioFinished")
        if not scenario or scenario.get("status") != "failure":
            continue
        recorder = scenario["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                interaction = recorder.get("interactions", {}).get(case_id) or {}
                req = interaction.get("request") or {}
                resp = interaction.get("response") or {}
                body = _snippet(req.get("body"))
                request = f"{req.get('method')} {unquote(str(req.get('uri')))} {body}".strip()
                answer = f"{resp.get('status_code')} {_snippet(resp.get('content'))}"
                operation = failure.get("operation") or recorder.get("label", "")
                first_line = str(failure.get("message", "")).split("\n")[0]
                key = (operation, str(failure.get("title")), first_line)
                found.setdefault(
                    key,
                    Finding(operation, str(failure["title"]), failure["message"], request, answer),
                )
    if not finished:
        found[("", "", "")] = Finding("", "the run did not finish", "", "", "")
    return list(found.values())


@pytest.mark.parametrize(
    "run", [pytest.param(run, marks=pytest.mark.xdist_group(f"fuzz-{run}")) for run in RUNS]
)
async def test_schemathesis_finds_nothing(fuzz_server: FuzzServer, run: str, tmp_path: Path):
    role, phases = RUNS[run]
    report = tmp_path / "report.ndjson"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{fuzz_server.url}/api/openapi.json"),
        *("--header", f"Authorization: Bearer {fuzz_server.tokens[role]}"),
        *("--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--phases", phases),
        "--generation-deterministic",
        *("--workers", "1", "--request-timeout", "30", "--suppress-health-check", "all"),
        "--continue-on-failure",
        *("--report", "ndjson", "--report-ndjson-path", str(report)),
        *("--no-color", "--warnings", "off"),
    ]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=fuzz_server.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"schemathesis ({run}) took over {RUN_TIMEOUT} s")
    assert report.exists(), output.decode(errors="replace")[-5000:]
    findings = findings_of(report)
    # Kept for a look at a failed run (ARIGATO_FUZZ_FINDINGS_DIR keeps them after the run).
    keep = Path(os.environ.get("ARIGATO_FUZZ_FINDINGS_DIR", tmp_path))
    (keep / f"schemathesis-{run}.txt").write_bytes(output)
    (keep / f"findings-{run}.txt").write_text("\n\n".join(str(f) for f in findings))
    server_log = fuzz_server.log.read_text(errors="replace")[-4000:]
    assert not findings, (
        f"schemathesis ({run}): {len(findings)} findings\n\n"
        + "\n\n".join(str(f) for f in findings)
        + f"\n\nserver log (end):\n{server_log}"
    )
