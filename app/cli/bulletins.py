"""`arigato bulletins ...`: bulletin jobs for cron (requests also publish what is due and send
the reminders before a confirmation deadline)."""

from __future__ import annotations

from typing import Any

import click


@click.group()
def bulletins() -> None:
    """Bulletins (好取組情報)."""


@bulletins.command("publish-due")
def publish_due() -> None:
    """Publish every scheduled bulletin whose time has come, then send the automatic reminders
    whose time has come (the day before a confirmation deadline); print what was done."""
    from app.cli.main import run_db  # late: main registers this group at its end
    from app.services.bulletins import publish_due as publish
    from app.services.bulletins import remind_due

    async def both(db: Any) -> tuple[Any, dict[int, int]]:
        return await publish(db), await remind_due(db)

    done, reminded = run_db(both)
    for b in done:
        click.echo(f"published\t{b.id}\tFY{b.fiscal_year} Vol. {b.volume}\t{b.title}")
    for bulletin_id, people in reminded.items():
        click.echo(f"reminded\t{bulletin_id}\t{people} people")
    if not done and not reminded:
        click.echo("nothing due")
