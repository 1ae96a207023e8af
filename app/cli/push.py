"""`arigato push keys`: a new VAPID key pair for Web Push."""

from __future__ import annotations

import click


@click.group()
def push() -> None:
    """Web Push notifications."""


@push.command("keys")
def keys() -> None:
    """Print a new VAPID key pair as settings lines (put them in the environment or .env).

    Browsers subscribe against the public key: a new pair makes every existing push
    subscription useless (each browser subscribes again on its next visit to /settings).
    """
    from app.services.push.keys import new_pair

    private, public = new_pair()
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    click.echo("VAPID_SUBJECT=mailto:admin@example.com")
    click.echo(f"# public key (the settings page gives it to browsers): {public}")
