"""`arigato bulletins ...`: bulletin jobs for cron (requests also publish what is due)."""

from __future__ import annotations

import click


@click.group()
def bulletins() -> None:
    """Bulletins (好取組情報)."""


@bulletins.command("publish-due")
def publish_due() -> None:
    """Publish every scheduled bulletin whose time has come; print what was published."""
    from app.cli.main import run_db  # late: main registers this group at its end
    from app.services.bulletins import publish_due as publish

    done = run_db(publish)
    for b in done:
        click.echo(f"published\t{b.id}\tFY{b.fiscal_year} Vol. {b.volume}\t{b.title}")
    if not done:
        click.echo("nothing due")
