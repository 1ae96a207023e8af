"""`arigato digest send`: the e-mail digest, for cron (e.g. every morning at 7:00)."""

from __future__ import annotations

import click


@click.group()
def digest() -> None:
    """E-mail digest of unread notifications."""


@digest.command("send")
def send() -> None:
    """Send every due digest (daily / weekly per user); running it twice sends nothing twice."""
    from app.cli.main import BadInput, run_db  # late: main registers this group at its end
    from app.config import get_settings
    from app.routes import router as pages
    from app.services.digest import DigestError, send_digests

    settings = get_settings()
    try:
        report = run_db(lambda db: send_digests(db, settings, path_for=pages.url_path_for))
    except DigestError as exc:
        raise BadInput(str(exc)) from exc
    for code in report.sent:
        click.echo(f"sent\t{code}")
    click.echo(f"{len(report.sent)} sent, {report.skipped} skipped, {report.failed} failed")
    if report.failed:
        raise SystemExit(1)
