"""`arigato audit verify` walks the audit log's hash chain; `arigato audit head` prints the
anchor to write down (docs/compliance.md "The audit chain")."""

from __future__ import annotations

import click


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
def verify() -> None:
    """Recompute every row's hash in id order; exit 1 naming the first row that does not match."""
    from app.cli.main import run_db  # late: main registers this group at its end
    from app.services.audit_chain import verify as walk

    verdict = run_db(walk)
    if verdict.broken is not None:
        click.echo(
            f"error: the audit chain is broken at {verdict.broken.describe()} "
            f"({verdict.checked} rows before it match)",
            err=True,
        )
        raise SystemExit(1)
    if verdict.head is None:
        click.echo("ok: the audit log is empty")
        return
    click.echo(f"ok: {verdict.checked} rows, head {verdict.head.id} {verdict.head.hash}")


@audit.command("head")
def head() -> None:
    """Print the newest row's id and hash (and the row count): write it down somewhere else."""
    from app import clock
    from app.cli.main import run_db
    from app.services.audit_chain import head as newest

    found = run_db(newest)
    if found is None:
        click.echo("the audit log is empty")
        return
    at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{found.id}\t{found.hash}\t{found.count} rows\t{at}")
