"""The two checks of scripts/dev that need more than the shell: a busy port and --reset.

`python3 scripts/_dev.py port HOST PORT` runs with any Python 3 before anything is installed
(standard library only); `python scripts/_dev.py reset` runs in the app's venv and asks the
app's own settings (environment and `.env`) where the database and the uploads are.
Each problem is one line on stderr and exit status 2, like the `arigato` command.
"""

from __future__ import annotations

import errno
import shutil
import socket
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def bind_error(host: str, port: int) -> OSError | None:
    """What binding HOST:PORT the way uvicorn does would raise (None: it would work)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror:
            raise
        except OSError as exc:
            return exc
    return None


def check_port(host: str, text: str) -> None:
    """Exit with one line saying what to do when the app could not listen on HOST:PORT."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        fail(f"PORT={text} is not a port number: use one from 1024 to 65535, e.g. PORT=8001")
    port = int(text)
    try:
        problem = bind_error(host, port)
    except socket.gaierror:
        fail(f"HOST={host} is not an address of this machine: use 127.0.0.1 (or 0.0.0.0)")
    if problem is None:
        return
    if problem.errno == errno.EADDRINUSE:
        spare = next((p for p in range(port + 1, port + 100) if not bind_error(host, p)), None)
        fail(
            f"port {port} is already in use on {host} (another scripts/dev or another program); "
            f"start on a free port with: PORT={spare or port + 1} ./scripts/dev"
        )
    if problem.errno == errno.EACCES:
        fail(f"port {port} needs administrator rights; use a port from 1024 up, e.g. PORT=8000")
    if problem.errno == errno.EADDRNOTAVAIL:
        fail(f"HOST={host} is not an address of this machine: use 127.0.0.1 (or 0.0.0.0)")
    fail(f"cannot listen on {host}:{port}: {problem.strerror}")


def reset() -> None:
    """Remove the SQLite database and the uploads, so that the demo is loaded afresh."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's app
    from sqlalchemy.engine import make_url

    from app.config import get_settings

    settings = get_settings()
    if not settings.is_sqlite:
        fail(
            "--reset removes a SQLite database only; DATABASE_URL is not SQLite: "
            "drop and create that database yourself, then run ./scripts/dev"
        )
    removed = []
    database = make_url(settings.sync_database_url).database
    if database and database != ":memory:":
        for path in (Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")):
            if path.exists():
                path.unlink()
                removed.append(str(path))
    if settings.upload_dir.exists():
        shutil.rmtree(settings.upload_dir)
        removed.append(f"{settings.upload_dir}/")
    done = ", ".join(removed) if removed else "nothing (no database or uploads yet)"
    print(f"==> --reset: removed {done}; the demo is loaded afresh")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "port":
        check_port(args[1], args[2])
    elif args == ["reset"]:
        reset()
    else:
        fail("usage: _dev.py port HOST PORT | _dev.py reset")
