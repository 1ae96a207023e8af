"""Start the real OpenID provider of tests/oidc (Node's oidc-provider) for the SSO tests.

`npm ci` runs when node_modules is missing or older than package-lock.json. Without node or
npm the tests that need the provider are skipped locally, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "arigato-board"
CLIENT_SECRET = "test-client-secret-of-arigato-board"


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def env(self, **more: str) -> dict[str, str]:
        """The app's settings that point single sign-on at this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            **more,
        }


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the OpenID provider tests need Node.js: {reason}")
    pytest.skip(f"the OpenID provider tests need Node.js: {reason}")


def ensure_node_modules() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("node or npm is not installed (apt-get install nodejs npm)")
    marker = OIDC_DIR / "node_modules" / ".package-lock.json"
    lock = OIDC_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(
        [npm or "npm", "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in tests/oidc failed:\n{done.stdout}\n{done.stderr}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_provider(
    redirect_uris: list[str],
    *,
    id_token_claims: bool = False,
    accounts: dict[str, dict[str, str | None]] | None = None,
) -> Iterator[Provider]:
    """Run `node provider.mjs` on a free port until the block ends; yields its issuer."""
    ensure_node_modules()
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": ",".join(redirect_uris),
        "ID_TOKEN_CLAIMS": "1" if id_token_claims else "0",
        "ACCOUNTS": json.dumps(accounts or {}),
    }
    log = (OIDC_DIR.parent.parent / "test-results").resolve()
    log.mkdir(exist_ok=True)
    out = (log / f"oidc-provider-{port}.log").open("wb")
    proc = subprocess.Popen(
        [shutil.which("node") or "node", "provider.mjs"],
        cwd=OIDC_DIR,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the OpenID provider exited at start; see {out.name}")
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the OpenID provider did not start; see {out.name}")
            time.sleep(0.1)
        yield Provider(issuer)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
