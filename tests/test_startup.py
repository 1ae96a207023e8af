"""A worker's start-up: `arigato serve` gives a fresh worker time to import before uvicorn
replaces it, and the libraries only some routes need are not imported at start."""

from __future__ import annotations

import inspect
import subprocess
import sys

import uvicorn
from click.testing import CliRunner

from app.cli import main as cli_main


def test_serve_gives_a_fresh_worker_thirty_seconds(monkeypatch):
    passed: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: passed.update(app=app, **kw))
    r = CliRunner().invoke(cli_main.cli, ["serve", "--port", "8123"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert passed["timeout_worker_healthcheck"] == 30
    # The installed uvicorn knows every option the command passes.
    assert "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters
    app = passed.pop("app")
    config = uvicorn.Config(app, **passed)  # type: ignore[arg-type]
    assert config.timeout_worker_healthcheck == 30


def test_a_worker_starts_without_the_export_and_sso_libraries():
    code = (
        "import sys; from app.main import create_app; create_app(); "
        "import app.security as s; "
        "print(sorted(m for m in ('openpyxl', 'authlib') if m in sys.modules), "
        "s._dummy_hash.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["[]", "0"]
