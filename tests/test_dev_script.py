"""scripts/dev as a newcomer runs it: progress while installing, a busy port, --reset.

The install step runs against a stand-in venv whose `python -m pip` only notes its
arguments (no network, no minutes of pip); everything else is the real app.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.livetools import free_port

pytestmark = pytest.mark.nodb  # scripts/dev makes its own SQLite file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def venv(tmp_path) -> Path:
    """A venv stand-in: pip notes its arguments in pip-calls; python and arigato are real."""
    folder = tmp_path / "venv"
    (folder / "bin").mkdir(parents=True)
    scripts = {
        "python": (
            f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "$*" >> "{folder}/pip-calls"; '
            f'exit 0; fi\nexec "{sys.executable}" "$@"\n'
        ),
        "arigato": f'#!/bin/sh\nexec "{sys.executable}" -m app.cli "$@"\n',
    }
    for name, text in scripts.items():
        (folder / "bin" / name).write_text(text)
        (folder / "bin" / name).chmod(0o755)
    return folder


def _env(venv: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "UPLOAD_DIR", "HOST", "PORT", "ARIGATO_"))
    }
    return {
        **env,
        "VENV": str(venv),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path}/dev.db",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "ARIGATO_ENV": "test",  # the cheap password hash profile
        **extra,
    }


def _pip_calls(venv: Path) -> list[str]:
    calls = venv / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_a_busy_port_is_named_with_what_to_do_before_anything_is_installed(venv, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        r = subprocess.run(
            [ROOT / "scripts" / "dev"],
            env=_env(venv, tmp_path, PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2
    assert time.monotonic() - started < 10
    [line] = r.stderr.splitlines()  # one clear line
    assert f"port {port} is already in use on 127.0.0.1" in line
    spare = re.search(r"start on a free port with: PORT=(\d+) \./scripts/dev$", line)
    assert spare is not None, line
    with socket.socket() as s:  # the port it offers is free
        s.bind(("127.0.0.1", int(spare.group(1))))
    assert "open http" not in r.stdout
    assert _pip_calls(venv) == []  # it said so before the install
    assert not (tmp_path / "dev.db").exists()


@pytest.mark.parametrize(
    ("host", "port", "said"),
    [
        ("127.0.0.1", "80a", "PORT=80a is not a port number"),
        ("127.0.0.1", "70000", "PORT=70000 is not a port number"),
        ("10.255.255.254", "8000", "HOST=10.255.255.254 is not an address of this machine"),
    ],
)
def test_a_port_or_host_it_cannot_listen_on_is_one_line(venv, tmp_path, host, port, said):
    r = subprocess.run(
        [ROOT / "scripts" / "dev"],
        env=_env(venv, tmp_path, HOST=host, PORT=port),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    [line] = r.stderr.splitlines()
    assert line.startswith(f"error: {said}")


def test_reset_removes_the_database_and_uploads_then_loads_a_fresh_demo(venv, tmp_path):
    (tmp_path / "dev.db").write_text("not a database: arigato demo fails on it unless removed")
    (tmp_path / "dev.db-wal").write_text("")
    (tmp_path / "uploads" / "2024").mkdir(parents=True)
    (tmp_path / "uploads" / "2024" / "old.jpg").write_bytes(b"old")
    port = free_port()
    proc = subprocess.Popen(
        [ROOT / "scripts" / "dev", "--reset"],
        env=_env(venv, tmp_path, PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        assert proc.stdout is not None
        # Up to the line before the server starts (starting it is uvicorn's business).
        while not (lines and lines[-1].startswith("==> open")):
            line = proc.stdout.readline()
            assert line, "scripts/dev stopped:\n" + "".join(lines)
            lines.append(line)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    output = "".join(lines)
    assert f"==> --reset: removed {tmp_path}/dev.db, {tmp_path}/dev.db-wal, " in output
    assert f"{tmp_path}/uploads/; the demo is loaded afresh" in output
    assert "E1016\tstaff\t清水 美穂" in output  # the demo loaded into a new database
    assert (
        lines[-1]
        == f"==> open http://127.0.0.1:{port}/ and log in with one of the demo logins above\n"
    )
    assert not (tmp_path / "uploads" / "2024").exists()


def test_reset_leaves_a_postgresql_database_alone_and_says_so(venv, tmp_path):
    r = subprocess.run(
        [ROOT / "scripts" / "dev", "--reset"],
        env=_env(
            venv,
            tmp_path,
            PORT=str(free_port()),
            DATABASE_URL="postgresql://nobody@127.0.0.1:1/precious",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        .splitlines()[-1]
        .startswith("error: --reset removes a SQLite database only")
    )
    assert "loading the demo" not in r.stdout


def test_an_unknown_option_is_a_usage_error(venv, tmp_path):
    r = subprocess.run(
        [ROOT / "scripts" / "dev", "--rest"],
        env=_env(venv, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: unknown option --rest; usage:")
    assert "--reset" in r.stderr


def _source_venv(venv: Path, tmp_path: Path, *, terminal: bool) -> str:
    """Source scripts/_venv.sh as scripts/dev does; its output, read from a pty or a pipe."""
    command = ["bash", "-c", f"source {ROOT}/scripts/_venv.sh"]
    env = _env(venv, tmp_path)
    if not terminal:
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, env=env, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(60) == 0
    return b"".join(chunks).decode()


def test_the_install_says_each_step_with_its_time_and_pip_is_quiet_in_a_log(venv, tmp_path):
    out = _source_venv(venv, tmp_path, terminal=False)
    lines = out.splitlines()
    assert lines[0].startswith(f"==> installing into {venv} from requirements.lock")
    assert re.fullmatch(r"    installed the dependencies \(\d+ s\)", lines[1])
    assert re.fullmatch(r"    installed the app \(\d+ s\)", lines[2])
    calls = _pip_calls(venv)
    assert len(calls) == 2 and all(" -q " in f" {c} " for c in calls)
    # installed: the next run says nothing
    assert _source_venv(venv, tmp_path, terminal=False) == ""
    assert len(_pip_calls(venv)) == 2


def test_on_a_terminal_pip_shows_its_progress(venv, tmp_path):
    out = _source_venv(venv, tmp_path, terminal=True)
    assert "installed the dependencies" in out
    calls = _pip_calls(venv)
    assert len(calls) == 2
    assert all(" -q " not in f" {c} " and "--progress-bar on" in c for c in calls)
