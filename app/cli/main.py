"""The `arigato` command line (SPEC §5). Bad input: one line on stderr, exit status 2."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import make_async_engine

T = TypeVar("T")


class BadInput(click.ClickException):
    """Printed as one line `error: ...`; exit status 2 like every usage error."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def run_db(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one async unit of work on a fresh engine and dispose of it afterwards."""

    async def go() -> T:
        from app import i18n

        i18n.current_locale.set("en")  # the command line speaks English (see english())
        engine = make_async_engine(get_settings())
        try:
            maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
            async with maker() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def friendly(f: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one-line messages with exit status 2."""
    from app.services.csvimport import ImportRejected
    from app.services.people.users import UserInvalid

    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except ImportRejected as exc:
            bad = len({e.line for e in exc.errors})
            raise BadInput(f"nothing imported, {bad} bad row(s): {exc}") from exc
        except ValidationError as exc:
            raise BadInput(
                "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            ) from exc
        except (UserInvalid, ValueError) as exc:
            raise BadInput(str(exc).replace("\n", " ")) from exc

    return wrapper


@click.group()
def cli() -> None:
    """Arigato Board: the thank-you voices board."""


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Upgrade the database to the newest schema (alembic head)."""
    from app.migrate import upgrade_to_head

    upgrade_to_head()
    click.echo("database is at the newest schema")


@cli.command()
@friendly
def demo() -> None:
    """Load a small Japanese demo company (idempotent) and print the demo logins."""
    from app.demo import DEMO_PASSWORD, DEMO_PIN, load_demo
    from app.migrate import upgrade_to_head

    upgrade_to_head()
    logins = run_db(load_demo)
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for code, name, role in logins:
        click.echo(f"  {code}\t{role}\t{name}")
    click.echo(
        f"staff PIN on a shop's shared terminal: {DEMO_PIN} "
        "(register a browser as a shop's terminal at /admin/devices)"
    )


# Seconds a fresh worker has to import the app and answer uvicorn's health check before it is
# killed and replaced: uvicorn's 5 s is too short on a busy machine, where one worker after
# another was killed while importing and the site went without a worker for 20 s.
WORKER_HEALTHCHECK_S = 30


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@friendly
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with uvicorn."""
    import uvicorn

    settings = get_settings()  # refuse to start on unsafe settings before forking workers
    if workers > 1 and settings.is_sqlite:
        # Several processes on one SQLite file queue for its single write lock and, on a
        # busy machine, time out with "database is locked" (500s): one worker only.
        raise BadInput(
            "--workers > 1 needs PostgreSQL (set DATABASE_URL=postgresql://...); "
            "SQLite serves one worker"
        )
    click.echo(f"Arigato Board on http://{host}:{port}/")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        access_log=False,
        # Open SSE streams would otherwise hold a restart until every browser leaves.
        timeout_graceful_shutdown=5,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


@contextmanager
def english() -> Iterator[None]:
    """The import commands report bad rows in English, like the rest of the command line
    (the services word them in the request's language, Japanese by default)."""
    from app import i18n

    token = i18n.current_locale.set("en")
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


ENCODING_OPTION = click.option(
    "--encoding",
    type=click.Choice(["auto", "utf-8", "cp932", "shift_jis"], case_sensitive=False),
    default="auto",
    show_default=True,
    help="The file's encoding: auto tries UTF-8 (with or without BOM), then CP932 (Shift_JIS).",
)


@cli.group()
def units() -> None:
    """Org units."""


@units.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENCODING_OPTION
@friendly
def units_import(file: Path, encoding: str) -> None:
    """Import units from CSV `code,name,kind,parent` (all or nothing)."""
    from app.services.csvimport import decode_csv
    from app.services.people.units import import_units

    with english():
        text = decode_csv(file.read_bytes(), encoding)
        report = run_db(lambda s: import_units(s, text))
    click.echo(f"imported {report.created} unit(s)")


@cli.group()
def users() -> None:
    """Users."""


@users.command("add")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--unit", "unit_code", required=True)
@click.option("--role", default="staff", show_default=True)
@click.option("--email", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--no-password", is_flag=True, help="No password: the user signs in with single sign-on."
)
@friendly
def users_add(
    code: str,
    name: str,
    unit_code: str,
    role: str,
    email: str,
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Add one user; the password comes from a prompt or --password-stdin.

    Without a password (--no-password, or when PASSWORD_LOGIN=false) the user signs in
    with single sign-on only.
    """
    from app.services.people.users import add_from_cli

    if no_password and password_stdin:
        raise BadInput("--no-password and --password-stdin exclude each other")
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not no_password and get_settings().password_login:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = run_db(
        lambda s: add_from_cli(
            s,
            code=code,
            name=name,
            unit_code=unit_code,
            role=role,
            email=email,
            password=password,
        )
    )
    how = "" if password else ", no password: signs in with single sign-on"
    click.echo(f"added {user.code} ({user.role}{how})")


@users.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENCODING_OPTION
@friendly
def users_import(file: Path, encoding: str) -> None:
    """Import users from CSV `code,name,email,unit,role` (all or nothing)."""
    from app.services.csvimport import decode_csv
    from app.services.people.user_import import import_users

    with english():
        text = decode_csv(file.read_bytes(), encoding)
        report = run_db(lambda s: import_users(s, text))
    click.echo(f"imported {report.created} user(s)")


@cli.group()
def tokens() -> None:
    """Personal API tokens."""


@tokens.command("issue")
@click.argument("codes", nargs=-1, required=True)
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=None)
@click.option("--name", default="cli", show_default=True)
@friendly
def tokens_issue(codes: tuple[str, ...], scope: str, days: int | None, name: str) -> None:
    """Issue a token for each user; prints CODE<TAB>TOKEN lines."""
    from app.services.people.tokens import issue_for_codes

    for code, token in run_db(
        lambda s: issue_for_codes(s, codes, scope=scope, days=days, name=name)
    ):
        click.echo(f"{code}\t{token}")


def main() -> None:
    cli()


from app.cli.bulletins import bulletins  # noqa: E402

cli.add_command(bulletins)

from app.cli.digest import digest  # noqa: E402

cli.add_command(digest)

from app.cli.push import push  # noqa: E402

cli.add_command(push)

from app.cli.scim import scim  # noqa: E402

cli.add_command(scim)

from app.cli.audit import audit  # noqa: E402

cli.add_command(audit)
